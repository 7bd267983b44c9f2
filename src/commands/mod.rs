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

mod assets;
mod boot;
mod butane;
mod docs;
mod hosts;
mod pki;
mod progress;
mod review;
mod settings;

use crate::cli::{
    AssetsCommand, CaCommand, Cli, Command, HostCommand, RenderArgs, TemplateCommand,
};
use coregen::error::{Error, Result};
use coregen::output::{self, Access};
use coregen::project::{Minted, Tokens};
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
        Command::Certs {
            host,
            expiring: None,
        } => pki::certs(s, host.as_deref().unwrap_or_default()),
        Command::Certs {
            host,
            expiring: Some(window),
        } => pki::expiring(s, host.as_deref(), window),
        Command::Revoke { serial, reason } => pki::revoke(s, &serial, reason),
        Command::Crl { ca, pem, out } => pki::crl(s, &ca, pem, out.as_deref()),
        Command::Serve(args) => hosts::serve(s, &args),
        Command::Host(HostCommand::List { unknown }) => hosts::list(s, unknown),
        Command::Host(HostCommand::Reset { hosts }) => hosts::reset(s, &hosts),
        Command::Host(HostCommand::Retire { hosts }) => hosts::retire(s, &hosts),
        Command::Host(HostCommand::Token { host, ttl }) => host_token(s, &host, ttl),
        Command::Show(args) => review::show(s, &args),
        Command::Pxe(_) => boot::pxe(s),
        Command::Diff(_) => review::diff(s),
        Command::Butane(args) => butane::butane(&args),
        Command::Template(TemplateCommand::List) => review::template_list(s),
        Command::Template(TemplateCommand::Show { name, built_in }) => {
            review::template_show(s, &name, built_in)
        }
        Command::Assets(AssetsCommand::Fetch(args)) => assets::fetch(s, &args),
        Command::Assets(AssetsCommand::Verify { assets_dir }) => {
            assets::verify(s, assets_dir.as_deref())
        }
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { dir } => docs::man(&dir),
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
    // Everything the command line and the inventory must say, before a
    // CA, a token or a file is made.
    let hosts = settings.hosts(&project)?;
    if args.stdout && hosts.len() != 1 {
        return Err(Error::new("--stdout takes exactly one --host"));
    }
    if args.pxe {
        boot::check(&project)?;
    }
    let spec = settings.spec(&project);
    let pretty = !args.compact;
    validate_before_creating_cas(settings, &project, &hosts, spec)?;
    if !args.stdout {
        return write_out(
            settings,
            &project,
            hosts,
            &OutRun {
                spec,
                now: coregen::state::unix_now(),
                ttl: args.token_ttl,
                redact: args.redact,
                pretty,
                pxe: args.pxe,
            },
        );
    }
    let cas = project.ca_certs(settings.missing_ca, &mut |msg| note(msg))?;
    let minted = if args.redact {
        Minted::default()
    } else {
        project.mint_tokens(&hosts, coregen::state::unix_now(), args.token_ttl)?
    };
    let mut bytes = project.render_each(&hosts, &cas, spec, &minted.tokens, |_, c| {
        Ok(c.to_bytes(pretty))
    })?;
    let bytes = bytes.pop().expect("one host rendered");
    project.store_tokens(&minted)?;
    std::io::stdout()
        .write_all(&bytes)
        .map_err(|e| Error::new("cannot write to standard output").with_source(e))
}

/// A first run creates the CAs it lacks; a render that fails must not
/// leave them behind. So when one is missing, the hosts are rendered once
/// in memory without it (as `validate` does) before anything is created.
fn validate_before_creating_cas(
    settings: &Settings,
    project: &coregen::project::Project,
    hosts: &[&coregen::inventory::Host],
    spec: coregen::ignition::SpecVersion,
) -> Result<()> {
    let cluster = &project.inventory.cluster;
    let creates = settings.missing_ca == coregen::project::MissingCa::Create
        && cluster.cas.keys().any(|name| !project.pki.exists(name));
    if !creates {
        return Ok(());
    }
    let existing = project.ca_certs(coregen::project::MissingCa::Skip, &mut |_| {})?;
    project.render_each(hosts, &existing, spec, &Tokens::new(), |_, _| Ok(()))?;
    Ok(())
}

/// How [`write_out`] renders: for `render`, and for `host token`.
struct OutRun {
    spec: coregen::ignition::SpecVersion,
    /// When the tokens are minted.
    now: i64,
    ttl: Option<coregen::inventory::Ttl>,
    redact: bool,
    pretty: bool,
    pxe: bool,
}

/// Renders `hosts` into out/ (their boot files too with `pxe`), all or
/// nothing, holding out/'s lock: first it cleans up after a run that died
/// (and takes on the hosts that run was writing); then every file is
/// staged, the tokens they hold are stored, and the files are renamed into
/// place.
fn write_out<'p>(
    settings: &Settings,
    project: &'p coregen::project::Project,
    mut hosts: Vec<&'p coregen::inventory::Host>,
    run: &OutRun,
) -> Result<()> {
    let out_dir = &settings.out;
    let lock = output::lock(out_dir, &mut |m| note(m))?;
    complete_interrupted(project, out_dir, &lock, &mut hosts)?;
    let cas = project.ca_certs(settings.missing_ca, &mut |msg| note(msg))?;
    let minted = if run.redact {
        Minted::default()
    } else {
        project.mint_tokens(&hosts, run.now, run.ttl)?
    };
    let tokens = &minted.tokens;
    let progress = progress::Progress::new(hosts.len(), "hosts");
    let mut staged = project.render_each(&hosts, &cas, run.spec, tokens, |host, config| {
        progress.tick();
        // A config that holds a live token is a secret until it is used.
        let token = tokens.get(host.name.as_str());
        let access = if token.is_some() {
            Access::Private
        } else {
            Access::Public
        };
        output::stage_holding(
            out_dir.join(format!("{}.ign", host.name)),
            &config.to_bytes(run.pretty),
            access,
            token.and_then(|t| coregen::pki::token_id(t)),
        )
    })?;
    drop(progress);
    if run.pxe {
        staged.extend(boot::stage(project, &hosts, &cas, run.spec, out_dir)?);
    }
    project.store_tokens(&minted)?;
    coregen::fault::point("render-staged");
    report(output::commit_run(staged, out_dir, &lock)?)
}

/// `coregen host token`: a fresh token for one host, in its config.
fn host_token(settings: &Settings, name: &str, ttl: Option<coregen::inventory::Ttl>) -> Result<()> {
    let project = settings.project()?;
    let host = project.inventory.host(name)?;
    let Some(server) = &project.inventory.cluster.server else {
        return Err(Error::new(
            "no [server] in hosts/cluster.toml: a token is for enrolling with `coregen serve`, \
             which configs find by [server] url",
        ));
    };
    if host.profiles.is_empty() {
        return Err(Error::new(format!(
            "host {name} has no certificate profiles, so its config needs no token"
        )));
    }
    let spec = settings.spec(&project);
    validate_before_creating_cas(settings, &project, &[host], spec)?;
    let now = coregen::state::unix_now();
    write_out(
        settings,
        &project,
        vec![host],
        &OutRun {
            spec,
            now,
            ttl,
            redact: false,
            pretty: true,
            pxe: false,
        },
    )?;
    let ttl = ttl.unwrap_or(server.token_ttl);
    let expires = time::OffsetDateTime::from_unix_timestamp(now + ttl.duration().as_secs() as i64)
        .map(coregen::state::rfc3339)
        .unwrap_or_default();
    note(&format!(
        "the token in {name}'s config is good for {ttl} (until {expires}), and for one enrollment"
    ));
    Ok(())
}

/// Cleans up after a run of `render` that was killed: removes its
/// temporary files and retires the tokens in them, and when it was killed
/// while renaming, adds the hosts it was writing to `hosts`, so that this
/// run leaves `out/` of one generation again.
fn complete_interrupted<'p>(
    project: &'p coregen::project::Project,
    out_dir: &std::path::Path,
    lock: &output::DirLock,
    hosts: &mut Vec<&'p coregen::inventory::Host>,
) -> Result<()> {
    sweep_leftovers(project, out_dir, lock)?;
    let Some(pending) = output::interrupted(out_dir)? else {
        return Ok(());
    };
    let mut added = Vec::new();
    for name in pending.iter().filter_map(|f| f.strip_suffix(".ign")) {
        if let Some(host) = project.inventory.find_host(name)
            && !hosts.iter().any(|h| h.name == host.name)
        {
            hosts.push(host);
            added.push(name);
        }
    }
    note(&format!(
        "a run was killed while writing {}; completing it{}",
        out_dir.display(),
        if added.is_empty() {
            String::new()
        } else {
            format!(" (also rendering {})", added.join(", "))
        }
    ));
    Ok(())
}

/// Removes the temporary files a killed run left in `out_dir` and
/// retires the tokens they held.
pub(crate) fn sweep_leftovers(
    project: &coregen::project::Project,
    out_dir: &std::path::Path,
    lock: &output::DirLock,
) -> Result<()> {
    let stale = output::sweep(out_dir, lock)?;
    if !stale.is_empty() {
        let retired = project
            .state()?
            .retire_tokens(&stale, coregen::state::unix_now())?;
        note(&format!(
            "removed the temporary files of a killed run in {} and retired the {retired} \
             unused token(s) they held",
            out_dir.display()
        ));
    }
    Ok(())
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
    let owners = project.render_each(&hosts, &cas, spec, &Tokens::new(), |host, config| {
        Ok((host.name.to_string(), config.unknown_owners()))
    })?;
    warn_of_owners(&owners);
    sayln!(
        "ok: {} host(s), {} template(s), spec {spec}",
        hosts.len(),
        project.templates.names().count()
    );
    Ok(())
}

/// Warns of owners that nothing creates on the host: Ignition would fail
/// at first boot.
fn warn_of_owners(owners: &[(String, Vec<coregen::ignition::UnknownOwner>)]) {
    for (host, unknown) in owners {
        for coregen::ignition::UnknownOwner { path, what, name } in unknown {
            eprintln!(
                "coregen: warning: host {host}: {path} belongs to {what} `{name}`, which neither \
                 Fedora CoreOS (root, core) nor the config's passwd (a Butane snippet's) creates; \
                 Ignition fails at first boot"
            );
        }
    }
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
