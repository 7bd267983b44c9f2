//! `coregen serve` and `coregen host list|reset`: the commands around
//! hosts booting and enrolling.

use time::OffsetDateTime;

use super::note;
use super::settings::Settings;
use crate::cli::ServeArgs;
use coregen::error::Result;
use coregen::serve::{self, Options};
use coregen::state::{HostState, rfc3339, unix_now};

pub(super) fn serve(settings: &Settings, args: &ServeArgs) -> Result<()> {
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

pub(super) fn list(settings: &Settings) -> Result<()> {
    let project = settings.project()?;
    let states = if project.has_state() {
        project.state()?.host_states()?
    } else {
        Vec::new()
    };
    let now = unix_now();
    let mut rows = vec![[
        "HOST".to_string(),
        "STATE".into(),
        "SINCE".into(),
        "DETAIL".into(),
    ]];
    for host in &project.inventory.hosts {
        let state = states.iter().find(|s| s.name == host.name.as_str());
        rows.push(row(
            host.name.as_str(),
            !host.profiles.is_empty(),
            state,
            now,
        ));
    }
    let width = |col: usize| rows.iter().map(|r| r[col].len()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for r in &rows {
        let line = format!("{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3]);
        sayln!("{}", line.trim_end());
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
