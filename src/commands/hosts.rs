//! `coregen serve` and `coregen host list|reset`: the commands around
//! hosts booting and enrolling.

use time::OffsetDateTime;

use super::note;
use super::settings::Settings;
use crate::cli::ServeArgs;
use coregen::error::Result;
use coregen::inventory::MachineId;
use coregen::project::Project;
use coregen::serve::{self, Options};
use coregen::state::{HostState, Sighting, rfc3339, unix_now};

pub(super) fn serve(settings: &Settings, args: &ServeArgs) -> Result<()> {
    serve::hold_hangups();
    let project = settings.project()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("COREGEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    serve::run(
        project,
        note,
        Options {
            listen: args.listen,
            http_listen: args.http_listen,
            url: args.url.clone(),
            require_source_ip: args.require_source_ip,
            max_token_failures: args.max_token_failures,
            max_connections_per_address: args.max_connections_per_address as usize,
            assets: args.assets.clone(),
        },
    )
}

pub(super) fn list(settings: &Settings, unknown: bool) -> Result<()> {
    let project = settings.project()?;
    if unknown {
        return list_unknown(&project);
    }
    let states = if project.has_state() {
        project.state()?.host_states()?
    } else {
        Vec::new()
    };
    let now = unix_now();
    let mut rows = vec![
        ["HOST", "STATE", "SINCE", "DETAIL"]
            .map(String::from)
            .to_vec(),
    ];
    for host in &project.inventory.hosts {
        let state = states.iter().find(|s| s.name == host.name.as_str());
        rows.push(row(host.name.as_str(), !host.profiles.is_empty(), state, now).to_vec());
    }
    print_table(&rows)
}

/// `host list --unknown`: the machines that asked `serve` for boot files
/// by a MAC or UUID that no host had, the last seen first, leaving out
/// those the inventory has since been given.
fn list_unknown(project: &Project) -> Result<()> {
    let seen = if project.has_state() {
        project.state()?.unknown_machines()?
    } else {
        Vec::new()
    };
    let known = |seen: &Sighting| {
        let inventory = &project.inventory;
        let mac = seen.mac.as_deref().and_then(|m| m.parse().ok());
        let uuid = seen.uuid.as_deref().and_then(|u| u.parse().ok());
        mac.and_then(|m| inventory.host_by_machine(MachineId::Mac(m)))
            .or_else(|| uuid.and_then(|u| inventory.host_by_machine(MachineId::Uuid(u))))
            .is_some()
    };
    let time = |secs: i64| {
        OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| secs.to_string(), rfc3339)
    };
    let mut rows = vec![
        [
            "MAC",
            "UUID",
            "ADDRESS",
            "FIRST SEEN",
            "LAST SEEN",
            "REQUESTS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for seen in seen.iter().filter(|s| !known(s)) {
        rows.push(vec![
            seen.mac.clone().unwrap_or_else(|| "-".into()),
            seen.uuid.clone().unwrap_or_else(|| "-".into()),
            seen.address.clone(),
            time(seen.first_seen),
            time(seen.last_seen),
            seen.requests.to_string(),
        ]);
    }
    if rows.len() == 1 {
        note("no unknown machine has asked coregen serve for its boot files");
        return Ok(());
    }
    print_table(&rows)?;
    note("to add one, write hosts/NAME.toml with its `mac = \"...\"` or `uuid = \"...\"`");
    Ok(())
}

/// `rows` in columns two spaces apart, the first row a header.
fn print_table(rows: &[Vec<String>]) -> Result<()> {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:width$}"))
            .collect();
        sayln!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}

fn row(name: &str, enrolls: bool, state: Option<&HostState>, now: i64) -> [String; 4] {
    let time = |secs: i64| {
        OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| secs.to_string(), rfc3339)
    };
    let (what, since, detail) = match state {
        _ if !enrolls => ("no profiles".to_string(), String::new(), String::new()),
        Some(HostState {
            enrolled_at: Some(at),
            enrolled_from,
            ..
        }) => (
            "enrolled".into(),
            time(*at),
            format!("from {}", enrolled_from.as_deref().unwrap_or("?")),
        ),
        Some(HostState {
            token_issued_at: Some(at),
            token_expires_at,
            reset_at,
            ..
        }) => {
            let expires = token_expires_at.unwrap_or(*at);
            let mut detail = if expires <= now {
                format!("token expired {}", time(expires))
            } else {
                format!("token expires {}", time(expires))
            };
            if let Some(reset) = reset_at {
                detail.push_str(&format!("; reset {}", time(*reset)));
            }
            ("token issued".into(), time(*at), detail)
        }
        Some(HostState {
            reset_at: Some(at), ..
        }) => (
            "reset".into(),
            time(*at),
            "may enroll again with a config fetched or rendered since".into(),
        ),
        _ => ("never booted".into(), String::new(), String::new()),
    };
    [name.to_string(), what, since, detail]
}

pub(super) fn reset(settings: &Settings, hosts: &[String]) -> Result<()> {
    let project = settings.project()?;
    for name in hosts {
        project.inventory.host(name)?;
    }
    if !project.has_state() {
        for name in hosts {
            note(&format!(
                "{name} was never served a token; nothing to reset"
            ));
        }
        return Ok(());
    }
    let db = project.state()?;
    let now = unix_now();
    for name in hosts {
        let reset = db.reset_host(name, now)?;
        let retired = match reset.tokens_retired {
            0 => String::new(),
            1 => "; retired its 1 token".to_string(),
            n => format!("; retired its {n} tokens"),
        };
        if reset.was_enrolled {
            sayln!("reset {name}: it may enroll again{retired}");
        } else if reset.tokens_retired > 0 {
            sayln!("reset {name}: it was not enrolled{retired}");
        } else {
            note(&format!(
                "{name} was not enrolled and has no token; nothing to reset"
            ));
        }
    }
    Ok(())
}
