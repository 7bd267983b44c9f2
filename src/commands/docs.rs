//! `coregen completions` and `coregen man`: coregen describing itself, from
//! the one definition of its command line in `cli.rs`, so that the shell's
//! completions and the man pages never drift from `--help`.

use std::path::Path;

use clap::CommandFactory;
use coregen::error::{Error, Result};
use coregen::output::{self, Access};

use crate::cli::Cli;

pub(super) fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "coregen", &mut script);
    super::write_stdout(format_args!("{}", String::from_utf8_lossy(&script)))
}

/// One page for coregen and one for each command and subcommand, named as
/// git names its own (`coregen-host-reset.1`).
pub(super) fn man(dir: &Path) -> Result<()> {
    let mut cli = Cli::command();
    cli.build();
    let mut pages = Vec::new();
    collect(&cli, "coregen", &mut pages)?;
    output::ensure_dir(dir)?;
    let staged = pages
        .into_iter()
        .map(|(name, page)| output::stage(dir.join(format!("{name}.1")), &page, Access::Public))
        .collect::<Result<Vec<_>>>()?;
    super::report(output::commit(staged)?)
}

fn collect(cmd: &clap::Command, name: &str, pages: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_string()))
        .render(&mut page)
        .map_err(|e| Error::new(format!("cannot make the man page of {name}")).with_source(e))?;
    pages.push((name.to_string(), page));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}
