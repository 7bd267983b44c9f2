//! `coregen serve` and `coregen host list|reset|retire`: the commands
//! around hosts booting, enrolling and being retired.

use time::OffsetDateTime;

use super::note;
use super::settings::Settings;
use crate::cli::ServeArgs;
use coregen::error::Result;
use coregen::inventory::MachineId;
use coregen::project::Project;
use coregen::serve::{self, Options};
use coregen::state::{CertStatus, HostState, Sighting, rfc3339, unix_now};

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
    let (states, certs) = if project.has_state() {
        let db = project.state()?;
        (db.host_states()?, db.current_certificates(None)?)
    } else {
        (Vec::new(), Vec::new())
    };
    let now = unix_now();
    let mut rows = vec![
        ["HOST", "STATE", "SINCE", "DETAIL"]
            .map(String::from)
            .to_vec(),
    ];
    // Under each host, a line per current certificate, in columns of
    // their own.
    let mut lines: Vec<Vec<Vec<String>>> = vec![Vec::new()];
    for host in &project.inventory.hosts {
        let state = states.iter().find(|s| s.name == host.name.as_str());
        rows.push(row(host.name.as_str(), !host.profiles.is_empty(), state, now).to_vec());
        lines.push(
            certs
                .iter()
                .filter(|c| c.record.host == host.name.as_str())
                .map(cert_line)
                .collect(),
        );
    }
    print_table_with(&rows, &lines)
}

/// A certificate line of `host list`: profile, serial, not-after, last
/// renewal, and revoked or not.
fn cert_line(cert: &CertStatus) -> Vec<String> {
    let time = |secs: i64| {
        OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| secs.to_string(), rfc3339)
    };
    let record = &cert.record;
    let renewed = if cert.renewed {
        format!("renewed {}", record.issued_at)
    } else {
        "renewed -".to_string()
    };
    let revoked = match &cert.revocation {
        Some(r) => format!("revoked {} ({})", time(r.revoked_at), r.reason),
        None => String::new(),
    };
    vec![
        format!("  {}", record.profile),
        format!("serial {}", record.serial),
        format!("not-after {}", record.not_after),
        renewed,
        revoked,
    ]
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
pub(super) fn print_table(rows: &[Vec<String>]) -> Result<()> {
    print_table_with(rows, &[])
}

/// [`print_table`], with under row `i` the lines `under[i]`, in columns
/// of their own shared by all of them.
fn print_table_with(rows: &[Vec<String>], under: &[Vec<Vec<String>>]) -> Result<()> {
    let widths = |rows: &mut dyn Iterator<Item = &Vec<String>>| {
        let mut widths: Vec<usize> = Vec::new();
        for r in rows {
            widths.resize(widths.len().max(r.len()), 0);
            for (c, cell) in r.iter().enumerate() {
                widths[c] = widths[c].max(cell.chars().count());
            }
        }
        widths
    };
    let main = widths(&mut rows.iter());
    let sub = widths(&mut under.iter().flatten());
    let line = |r: &[String], widths: &[usize]| {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(cell, &width)| format!("{cell:width$}"))
            .collect();
        cells.join("  ").trim_end().to_string()
    };
    for (i, r) in rows.iter().enumerate() {
        sayln!("{}", line(r, &main));
        for l in under.get(i).into_iter().flatten() {
            sayln!("{}", line(l, &sub));
        }
    }
    Ok(())
}

fn row(name: &str, enrolls: bool, state: Option<&HostState>, now: i64) -> [String; 4] {
    let time = |secs: i64| {
        OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| secs.to_string(), rfc3339)
    };
    let (what, since, detail) = match state {
        Some(HostState {
            retired_at: Some(at),
            ..
        }) => (
            "retired".into(),
            time(*at),
            "enrollment and renewal refused; its certificates revoked".into(),
        ),
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

/// `coregen host retire HOST...`: every name is checked before any host
/// is retired.
pub(super) fn retire(settings: &Settings, hosts: &[String]) -> Result<()> {
    let project = settings.project()?;
    let db = project.state()?;
    for name in hosts {
        // A host gone from the inventory may still hold certificates.
        if project.inventory.find_host(name).is_none() {
            let known = !db.issued(Some(name))?.is_empty()
                || db.host_states()?.iter().any(|h| &h.name == name);
            if !known {
                project.inventory.host(name)?;
            }
        }
    }
    let now = unix_now();
    let mut cas: Vec<String> = Vec::new();
    for name in hosts {
        let done = db.retire_host(name, now)?;
        let revoked = match done.revoked.len() {
            0 => "no certificate to revoke".to_string(),
            1 => "revoked its 1 unexpired certificate".to_string(),
            n => format!("revoked its {n} unexpired certificates"),
        };
        let tokens = match done.tokens_retired {
            0 => String::new(),
            1 => "; retired its 1 token".to_string(),
            n => format!("; retired its {n} tokens"),
        };
        if done.already {
            let at = OffsetDateTime::from_unix_timestamp(done.retired_at)
                .map_or_else(|_| done.retired_at.to_string(), rfc3339);
            sayln!("{name} was retired already, at {at}; {revoked}{tokens}");
        } else {
            sayln!("retired {name}: enrollment and renewal refused from now on; {revoked}{tokens}");
        }
        for r in &done.revoked {
            sayln!("  revoked {} (CA {})", r.serial, r.ca);
            if !cas.contains(&r.ca) {
                cas.push(r.ca.clone());
            }
        }
    }
    for ca in &cas {
        note(&format!(
            "publish CA {ca}'s new CRL: `coregen crl {ca} --out FILE`, or fetch /crl/{ca}.crl \
             from `coregen serve`, which has it at once"
        ));
    }
    Ok(())
}
