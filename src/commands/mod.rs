//! What each command of the CLI does, in terms of the library. Commands
//! print results on stdout and progress notes on stderr; errors go back to
//! `main`, which prints them and picks the exit code.

use std::io::Write;
use std::path::Path;

/// `print!` that returns an error instead of panicking when stdout is
/// closed; `main` ends quietly on that error.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::commands::write_stdout(format_args!($($arg)*))?
    };
}

/// `println!`, likewise.
macro_rules! sayln {
    ($($arg:tt)*) => {
        $crate::commands::write_stdout(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

mod boot;
mod butane;
mod hosts;
mod pki;
mod review;
mod settings;

use crate::cli::{CaCommand, Cli, Command, HostCommand, RenderArgs};
use coregen::error::{Error, Result};
use coregen::output::{self, Access};
use coregen::project::Tokens;
use coregen::scaffold;
use settings::Settings;

pub fn run(cli: Cli) -> Result<()> {
    let settings = Settings::resolve(&cli);
    let s = &settings;
    match cli.command {
        Command::Render(args) => render(s, &args),
        Command::Validate(_) => validate(s),
        Command::Init { dir } => init(&dir),
        Command::Ca(CaCommand::Init { names }) => pki::ca_init(s, &names),
        Command::Ca(CaCommand::List) => pki::ca_list(s),
        Command::Ca(CaCommand::Show { name }) => pki::ca_show(s, &name),
        Command::Sign(args) => pki::sign(s, &args),
        Command::Audit { host } => pki::audit(s, host.as_deref()),
        Command::Certs { host } => pki::certs(s, &host),
        Command::Serve(args) => hosts::serve(s, &args),
        Command::Host(HostCommand::List) => hosts::list(s),
        Command::Host(HostCommand::Reset { hosts }) => hosts::reset(s, &hosts),
        Command::Show(args) => review::show(s, &args),
        Command::Pxe(_) => boot::pxe(s),
        Command::Diff(_) => review::diff(s),
        Command::Butane(args) => butane::butane(&args),
    }
}

pub(crate) fn write_stdout(text: std::fmt::Arguments<'_>) -> Result<()> {
    std::io::stdout()
        .lock()
        .write_fmt(text)
        .map_err(|e| Error::new("cannot write to stdout").with_source(e))
}

pub(crate) fn note(message: &str) {
    eprintln!("coregen: {message}");
}

fn render(settings: &Settings, args: &RenderArgs) -> Result<()> {
    let project = settings.project()?;
    if args.check {
        review::check(settings, &project)?;
        note(&format!("{} is up to date", settings.out.display()));
        return Ok(());
    }
    let hosts = settings.hosts(&project)?;
    let cas = project.ca_certs(settings.missing_ca, &mut |msg| note(msg))?;
    let spec = settings.spec(&project);
    let pretty = !args.compact;
    let tokens = if args.redact {
        Tokens::new()
    } else {
        project.mint_tokens(&hosts, coregen::state::unix_now())?
    };

    if args.stdout {
        let [host] = hosts.as_slice() else {
            return Err(Error::new("--stdout takes exactly one --host"));
        };
        let mut bytes =
            project.render_each(&[host], &cas, spec, &tokens, |_, c| Ok(c.to_bytes(pretty)))?;
        let bytes = bytes.pop().expect("one host rendered");
        return std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| Error::new("cannot write to standard output").with_source(e));
    }

    let out_dir = &settings.out;
    output::ensure_dir(out_dir)?;
    let mut staged = project.render_each(&hosts, &cas, spec, &tokens, |host, config| {
        // A config that holds a live token is a secret until it is used.
        let access = if tokens.contains_key(host.name.as_str()) {
            Access::Private
        } else {
            Access::Public
        };
        output::stage(
            out_dir.join(format!("{}.ign", host.name)),
            &config.to_bytes(pretty),
            access,
        )
    })?;
    if args.pxe {
        staged.extend(boot::stage(&project, &hosts, &cas, spec, out_dir)?);
    }
    report(output::commit(staged)?)
}

/// Says what a write changed.
fn report(written: output::Written) -> Result<()> {
    for path in &written.changed {
        sayln!("wrote {}", path.display());
    }
    if !written.unchanged.is_empty() {
        note(&format!("{} file(s) unchanged", written.unchanged.len()));
    }
    Ok(())
}

fn validate(settings: &Settings) -> Result<()> {
    let project = settings.project()?;
    let cas = project.ca_certs(settings.missing_ca, &mut |_| {})?;
    let missing: Vec<&str> = project
        .inventory
        .cluster
        .cas
        .keys()
        .filter(|name| !cas.iter().any(|c| &&c.name == name))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        note(&format!(
            "CA(s) {} not created yet; `coregen render` or `coregen ca init` creates them",
            missing.join(", ")
        ));
    }
    let spec = settings.spec(&project);
    let hosts = settings.hosts(&project)?;
    project.render_each(&hosts, &cas, spec, &Tokens::new(), |_, _| Ok(()))?;
    sayln!(
        "ok: {} host(s), {} template(s), spec {spec}",
        hosts.len(),
        project.templates.names().count()
    );
    Ok(())
}

fn init(dir: &Path) -> Result<()> {
    let created = scaffold::create(dir)?;
    for path in &created {
        sayln!("created {}", path.display());
    }
    note(&format!(
        "render it with: coregen -C {} render --all",
        dir.display()
    ));
    Ok(())
}
