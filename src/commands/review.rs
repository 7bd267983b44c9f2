//! `coregen show`, `coregen diff` and `coregen render --check`: configs in
//! their readable form ([`coregen::review`]), where a host's entries come
//! from (`show --why`, [`coregen::provenance`]), and how `out/` compares
//! with a fresh render. Nothing here writes a file or mints a token: fresh
//! renders are redacted, and so is what is read from `out/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cli::ShowArgs;
use coregen::error::{Error, Kind, Place, Result};
use coregen::inventory::Host;
use coregen::project::{Project, Tokens};
use coregen::{provenance, review};

use super::settings::Settings;

/// Configs larger than this are not Ignition configs anyone wrote by hand
/// or with coregen; refuse rather than read them whole.
const MAX_CONFIG_BYTES: u64 = 64 * 1024 * 1024;

pub(super) fn show(settings: &Settings, args: &ShowArgs) -> Result<()> {
    let text = match (&args.host, &args.file) {
        (Some(host), _) if args.why => {
            let project = settings.project()?;
            let host = project.inventory.host(host)?;
            let cas = project.ca_certs(settings.missing_ca, &mut |_| {})?;
            let spec = settings.spec(&project);
            provenance::explain(&project.inventory, &project.templates, &cas, spec, host)?.text()
        }
        (Some(host), _) => {
            let project = settings.project()?;
            let host = project.inventory.host(host)?;
            fresh(settings, &project, &[host])?
                .pop()
                .expect("one host")
                .1
        }
        (None, Some(file)) => {
            let bytes = read_config(file)?;
            review::show(&bytes).map_err(|e| e.at(Place::file(file)))?
        }
        (None, None) => unreachable!("clap requires --host or FILE"),
    };
    say!("{text}");
    Ok(())
}

pub(super) fn diff(settings: &Settings) -> Result<()> {
    let out_dir = &settings.out;
    let project = settings.project()?;
    let stale = compare(settings, &project, &mut |d| {
        say!("{d}");
        Ok(())
    })?;
    let mixed = mixed_generations(out_dir)?;
    if stale.is_empty() && mixed.is_none() {
        return Ok(());
    }
    let mut error = Error::new(format!(
        "{} config(s) in {} differ from a fresh render: {}",
        stale.len(),
        out_dir.display(),
        names(&stale)
    ))
    .with_kind(Kind::Differs);
    if let Some(mixed) = mixed {
        error = error.note(mixed);
    }
    Err(error)
}

/// What to say when a killed render left `out_dir` with files of two
/// runs, if one did.
fn mixed_generations(out_dir: &std::path::Path) -> Result<Option<String>> {
    Ok(coregen::output::interrupted(out_dir)?.map(|files| {
        format!(
            "{} holds files of two runs: a render was killed while writing {} file(s); \
             `coregen render` completes it",
            out_dir.display(),
            files.len()
        )
    }))
}

/// `render --check`: the stale hosts, as an error, or nothing.
pub(super) fn check(settings: &Settings, project: &Project) -> Result<()> {
    let out_dir = &settings.out;
    let stale = compare(settings, project, &mut |_| Ok(()))?;
    let mixed = mixed_generations(out_dir)?;
    if stale.is_empty() && mixed.is_none() {
        return Ok(());
    }
    let mut list: Vec<String> = stale
        .iter()
        .map(|(h, why)| format!("{h} ({why})"))
        .collect();
    list.extend(mixed);
    Err(Error::new(format!(
        "{} is stale: {}; run `coregen render` (or `coregen diff` to see why)",
        out_dir.display(),
        list.join(", ")
    ))
    .with_kind(Kind::Differs)
    .note("--check wrote nothing"))
}

fn names(stale: &[(String, &str)]) -> String {
    stale
        .iter()
        .map(|(h, _)| h.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares the configs in `out/` of the hosts named (every host, and
/// configs of hosts that are gone, when none is) with a fresh render,
/// handing each diff to `report`. Returns the hosts that differ, with how.
fn compare(
    settings: &Settings,
    project: &Project,
    report: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<Vec<(String, &'static str)>> {
    let out_dir = &settings.out;
    let hosts = settings.hosts(project)?;
    let mut stale = Vec::new();
    for (name, new) in fresh(settings, project, &hosts)? {
        let path = out_dir.join(format!("{name}.ign"));
        let (old, why) = match std::fs::read(&path) {
            Ok(bytes) => match review::show(&bytes) {
                Ok(text) => (text, "changed"),
                Err(e) => (format!("({e})\n"), "unreadable"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), "missing"),
            Err(e) => return Err(Error::io(&path, "read", e)),
        };
        let d = review::diff(
            &old,
            &new,
            &path.display().to_string(),
            &format!("{name} (fresh render)"),
        );
        if !d.is_empty() {
            report(&d)?;
            stale.push((name, why));
        }
    }
    if settings.host_names().is_empty() {
        let known: BTreeSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        for path in configs_in(out_dir)? {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if known.contains(stem) {
                continue;
            }
            let old = std::fs::read(&path)
                .ok()
                .and_then(|b| review::show(&b).ok())
                .unwrap_or_else(|| "(unreadable)\n".to_string());
            report(&review::diff(
                &old,
                "",
                &path.display().to_string(),
                "(no such host)",
            ))?;
            stale.push((stem.to_string(), "no such host"));
        }
    }
    Ok(stale)
}

/// Each host's fresh render in readable form, redacted.
fn fresh(settings: &Settings, project: &Project, hosts: &[&Host]) -> Result<Vec<(String, String)>> {
    let cas = project.ca_certs(settings.missing_ca, &mut |_| {})?;
    let spec = settings.spec(project);
    project.render_each(hosts, &cas, spec, &Tokens::new(), |host, config| {
        let text = review::show(&config.to_bytes(false))?;
        Ok((host.name.to_string(), text))
    })
}

/// The host configs in `dir`: not pointer configs, not temporary files.
fn configs_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = coregen::files::with_extension(dir, "ign")?;
    paths.retain(|path| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        !name.starts_with('.') && !name.ends_with(".pointer.ign")
    });
    Ok(paths)
}

/// A config file, or standard input for `-`, read up to a bound.
fn read_config(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| Error::io(path, "read", e))?)
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, "read", e))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Error::new(format!(
            "{} is larger than {MAX_CONFIG_BYTES} bytes; not an Ignition config",
            path.display()
        )));
    }
    Ok(bytes)
}

/// `coregen template list`.
pub(super) fn template_list(settings: &Settings) -> Result<()> {
    let project = settings.project()?;
    let templates = &project.templates;
    let mut rows = vec![["TEMPLATE".to_string(), "FROM".to_string()]];
    for name in templates.names() {
        let built_in = coregen::template::built_in_text(name);
        let from = match templates.origin(name) {
            Some(coregen::template::Origin::File(path)) if built_in.is_some() => {
                let same = templates.source(name)?.as_deref() == built_in;
                let how = if same {
                    "the built-in's text"
                } else {
                    "overrides the built-in"
                };
                format!("{} ({how})", path.display())
            }
            Some(coregen::template::Origin::File(path)) => path.display().to_string(),
            _ => "built-in".to_string(),
        };
        rows.push([name.to_string(), from]);
    }
    let width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    for [name, from] in rows {
        sayln!("{name:width$}  {from}");
    }
    Ok(())
}

/// `coregen template show`.
pub(super) fn template_show(settings: &Settings, name: &str, built_in: bool) -> Result<()> {
    let text = if built_in {
        coregen::template::built_in_text(name)
            .map(str::to_string)
            .ok_or_else(|| {
                Error::new(format!(
                    "no built-in template `{name}`; the built-ins are {}",
                    coregen::template::built_in_names()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?
    } else {
        let project = settings.project()?;
        project.templates.source(name)?.ok_or_else(|| {
            let mut msg = format!("no template `{name}` (`coregen template list` names them)");
            if let Some(best) = coregen::inventory::did_you_mean(name, project.templates.names()) {
                msg.push_str(&format!("; did you mean `{best}`?"));
            }
            Error::new(msg)
        })?
    };
    say!("{text}");
    Ok(())
}
