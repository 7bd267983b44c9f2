//! What each command of the CLI does, in terms of the library. Commands
//! print results on stdout and progress notes on stderr; errors go back to
//! `main`, which prints them and picks the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

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

use crate::cli::{CaCommand, Cli, Command, HostCommand, RenderArgs, SpecArg};
use coregen::error::{Error, Result};
use coregen::ignition::SpecVersion;
use coregen::output::{self, Access};
use coregen::project::{MissingCa, Project, Tokens};
use coregen::scaffold;

pub fn run(cli: Cli) -> Result<()> {
    let pki_dir = cli.pki.clone().unwrap_or_else(|| under(&cli.dir, "pki"));
    match cli.command {
        Command::Render(args) => render(&cli.dir, pki_dir, &args),
        Command::Validate(spec) => validate(&cli.dir, pki_dir, &spec),
        Command::Init { dir } => init(&dir),
        Command::Ca(CaCommand::Init { names }) => pki::ca_init(&cli.dir, pki_dir, &names),
        Command::Ca(CaCommand::List) => pki::ca_list(&cli.dir, pki_dir),
        Command::Ca(CaCommand::Show { name }) => pki::ca_show(&cli.dir, pki_dir, &name),
        Command::Sign(args) => pki::sign(&cli.dir, pki_dir, &args),
        Command::Audit { host } => pki::audit(&cli.dir, pki_dir, host.as_deref()),
        Command::Certs { host } => pki::certs(&cli.dir, pki_dir, &host),
        Command::Serve(args) => hosts::serve(&cli.dir, pki_dir, &args),
        Command::Host(HostCommand::List) => hosts::list(&cli.dir, pki_dir),
        Command::Host(HostCommand::Reset { hosts }) => hosts::reset(&cli.dir, pki_dir, &hosts),
        Command::Show(args) => review::show(&cli.dir, pki_dir, &args),
        Command::Pxe(args) => boot::pxe(&cli.dir, pki_dir, &args),
        Command::Diff(args) => review::diff(&cli.dir, pki_dir, &args),
        Command::Butane(args) => butane::butane(&args),
    }
}

/// `root/rel`, without the `./` that reads badly in messages.
fn under(root: &Path, rel: &str) -> PathBuf {
    if root == Path::new(".") {
        PathBuf::from(rel)
    } else {
        root.join(rel)
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

fn spec_of(project: &Project, arg: &SpecArg) -> SpecVersion {
    arg.spec.unwrap_or(project.inventory.cluster.spec)
}

fn render(root: &Path, pki_dir: PathBuf, args: &RenderArgs) -> Result<()> {
    let project = Project::load(root, pki_dir)?;
    if args.check {
        let out_dir = args.out.clone().unwrap_or_else(|| under(root, "out"));
        let names = if args.all { &[][..] } else { &args.hosts[..] };
        review::check(&project, names, &out_dir, &args.spec)?;
        note(&format!("{} is up to date", out_dir.display()));
        return Ok(());
    }
    let hosts = project.select_hosts(if args.all { &[] } else { &args.hosts })?;
    let missing = if args.no_create_ca {
        MissingCa::Refuse
    } else {
        MissingCa::Create
    };
    let cas = project.ca_certs(missing, &mut |msg| note(msg))?;
    let spec = spec_of(&project, &args.spec);
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

    let out_dir = args.out.clone().unwrap_or_else(|| under(root, "out"));
    output::ensure_dir(&out_dir)?;
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
        staged.extend(boot::stage(&project, &hosts, &cas, spec, &out_dir)?);
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

fn validate(root: &Path, pki_dir: PathBuf, spec: &SpecArg) -> Result<()> {
    let project = Project::load(root, pki_dir)?;
    let cas = project.ca_certs(MissingCa::Skip, &mut |_| {})?;
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
    let spec = spec_of(&project, spec);
    let hosts = project.select_hosts(&[])?;
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
