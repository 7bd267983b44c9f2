//! The PKI commands: `ca init|list|show`, `sign`, `audit`, `certs`
//! (with `--expiring`), `revoke` and `crl`.

use std::io::{Read, Write};
use std::path::Path;

use super::note;
use super::settings::Settings;
use crate::cli::SignArgs;
use coregen::context::HostContext;
use coregen::error::{Error, Result};
use coregen::inventory::Host;
use coregen::inventory::Ttl;
use coregen::output::Access;
use coregen::pki::{Holder, LeafRequest, Profile, Reason, check_csr};
use coregen::project::Project;
use coregen::state::{DEFAULT_RENEW_AT, Revocation, renewal_due, rfc3339, unix_now};
use coregen::values::parse_rfc3339;

pub(super) fn ca_init(settings: &Settings, names: &[String]) -> Result<()> {
    let project = settings.project()?;
    let cluster = &project.inventory.cluster;
    let selected: Vec<&String> = if names.is_empty() {
        cluster.cas.keys().collect()
    } else {
        names
            .iter()
            .map(|n| {
                cluster.cas.get_key_value(n).map(|(k, _)| k).ok_or_else(|| {
                    Error::new(format!(
                        "no CA `{n}` in hosts/cluster.toml (declare it as [ca.{n}])"
                    ))
                })
            })
            .collect::<Result<_>>()?
    };
    if selected.is_empty() {
        return Err(Error::new(
            "hosts/cluster.toml declares no CA ([ca.<name>])",
        ));
    }
    let mut failed = None;
    for name in selected {
        let spec = &cluster.cas[name];
        match project.pki.init(name, spec, cluster.name.as_str()) {
            Ok(_) => sayln!(
                "created CA `{name}` ({}) in {}",
                spec.key_type,
                project.pki.ca_dir(name).display()
            ),
            Err(e) => {
                eprintln!("coregen: error: {e}");
                failed.get_or_insert(e);
            }
        }
    }
    match failed {
        Some(_) => Err(Error::new("some CAs were not created; see above")),
        None => Ok(()),
    }
}

pub(super) fn ca_list(settings: &Settings) -> Result<()> {
    let project = settings.project()?;
    let cluster = &project.inventory.cluster;
    for name in cluster.cas.keys() {
        let profiles: Vec<&str> = cluster
            .profiles
            .values()
            .filter(|p| &p.ca == name)
            .map(|p| p.name.as_str())
            .collect();
        let profiles = if profiles.is_empty() {
            "-".to_string()
        } else {
            profiles.join(",")
        };
        if !project.pki.exists(name) {
            sayln!("{name}\tnot created\tprofiles={profiles}");
            continue;
        }
        let info = project.pki.load_cert(name)?.info()?;
        sayln!(
            "{name}\t{}\t{}\tnot-after={}\tsha256={}\tprofiles={profiles}",
            info.key_type,
            info.subject,
            info.not_after,
            info.sha256
        );
    }
    Ok(())
}

pub(super) fn ca_show(settings: &Settings, name: &str) -> Result<()> {
    let project = settings.project()?;
    if !project.inventory.cluster.cas.contains_key(name) {
        return Err(Error::new(format!("no CA `{name}` in hosts/cluster.toml")));
    }
    say!("{}", project.pki.load_cert(name)?.pem);
    Ok(())
}

/// The profile `name` of `host`, or an error saying why not.
fn host_profile<'a>(project: &'a Project, host: &Host, name: &str) -> Result<&'a Profile> {
    let profile = project
        .inventory
        .cluster
        .profiles
        .get(name)
        .ok_or_else(|| Error::new(format!("no profile `{name}` in hosts/cluster.toml")))?;
    if !host.profiles.iter().any(|p| p == name) {
        let has = if host.profiles.is_empty() {
            "none".to_string()
        } else {
            host.profiles.join(", ")
        };
        return Err(Error::new(format!(
            "host `{}` does not get profile `{name}` (its profiles: {has})",
            host.name
        )));
    }
    Ok(profile)
}

pub(super) fn sign(settings: &Settings, args: &SignArgs) -> Result<()> {
    let project = settings.project()?;
    let host = project.inventory.host(&args.host)?;
    let profile = host_profile(&project, host, &args.profile)?;
    if let Some(out) = &args.out
        && out.exists()
    {
        return Err(Error::new(format!(
            "{} exists already; coregen never overwrites a certificate",
            out.display()
        )));
    }

    if project.has_state()
        && let Some(at) = project.state()?.is_retired(host.name.as_str())?
    {
        return Err(Error::refused(format!(
            "host {} was retired at {}; a retired host gets no certificate",
            host.name,
            time_text(at)
        )));
    }

    let csr_bytes = read_csr(&args.csr)?;
    let csr = check_csr(&csr_bytes).map_err(|e| e.at(coregen::error::Place::file(&args.csr)))?;
    let names = HostContext::new(
        &project.inventory,
        &project.templates,
        project.inventory.cluster.spec,
    )
    .cert_names(host, profile)?;
    let leaf = LeafRequest {
        holder: Holder {
            name: host.name.as_str(),
            fqdn: &host.fqdn,
        },
        profile,
        names,
        csr: &csr,
    }
    .check()
    .map_err(|e| e.at(coregen::error::Place::file(&args.csr)))?;
    let signer = project.pki.signer(&profile.ca)?;
    let issued = leaf.issue(&signer)?;
    let mut pem = issued.pem;
    if args.chain {
        pem.push_str(signer.cert_pem());
    }
    // Staged first, so that a folder that cannot take it fails before the
    // record; the record is durable before the certificate leaves coregen.
    let staged = match &args.out {
        Some(out) => {
            let dir = out.parent().filter(|d| !d.as_os_str().is_empty());
            let dir = dir.unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return Err(Error::new(format!(
                    "cannot write {}: no folder {}",
                    out.display(),
                    dir.display()
                )));
            }
            Some(coregen::output::stage(
                out.clone(),
                pem.as_bytes(),
                Access::Public,
            )?)
        }
        None => None,
    };
    project.state()?.record_issued(&issued.record)?;
    match (&args.out, staged) {
        (Some(out), Some(staged)) => {
            coregen::output::commit(vec![staged])?;
            note(&format!(
                "issued {} for {} (profile {}, CA {}, serial {}) to {}",
                leaf.names().common_name,
                host.name,
                profile.name,
                profile.ca,
                issued.record.serial,
                out.display()
            ));
        }
        _ => std::io::stdout()
            .write_all(pem.as_bytes())
            .map_err(|e| Error::new("cannot write to standard output").with_source(e))?,
    }
    Ok(())
}

fn read_csr(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = coregen::pki::MAX_CSR_BYTES as u64 + 1;
    let result = if path == Path::new("-") {
        std::io::stdin().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    result.map_err(|e| Error::io(path, "read", e))?;
    Ok(bytes)
}

pub(super) fn audit(settings: &Settings, host: Option<&str>) -> Result<()> {
    let project = settings.project()?;
    if let Some(host) = host {
        project.inventory.host(host)?;
    }
    if !project.has_state() {
        return Ok(());
    }
    let db = project.state()?;
    let mut out = std::io::stdout().lock();
    for record in db.issued(host)? {
        let line = serde_json::to_string(&record).expect("records serialize");
        writeln!(out, "{line}")
            .map_err(|e| Error::new("cannot write to standard output").with_source(e))?;
    }
    Ok(())
}

pub(super) fn certs(settings: &Settings, host: &str) -> Result<()> {
    let project = settings.project()?;
    let host = project.inventory.host(host)?;
    let mut context = HostContext::new(
        &project.inventory,
        &project.templates,
        project.inventory.cluster.spec,
    );
    for name in &host.profiles {
        let profile = &project.inventory.cluster.profiles[name];
        let names = context.cert_names(host, profile)?;
        let usages: Vec<&str> = profile.usages.iter().map(|u| u.as_str()).collect();
        let ips: Vec<String> = names.ip_addresses.iter().map(|ip| ip.to_string()).collect();
        sayln!("{name}\tCA {}\t{}", profile.ca, usages.join(","));
        sayln!("  CN   {}", names.common_name);
        sayln!("  DNS  {}", names.dns_names.join(", "));
        sayln!("  IP   {}", ips.join(", "));
        if !names.organization.is_empty() {
            sayln!("  O    {}", names.organization.join(", "));
        }
        if !names.organizational_unit.is_empty() {
            sayln!("  OU   {}", names.organizational_unit.join(", "));
        }
        let reload: Vec<&str> = profile.reload.iter().map(|u| u.as_str()).collect();
        sayln!(
            "  valid {}  renew at {}%{}",
            coregen::values::format_duration(profile.validity),
            profile.renew_at.percent(),
            if reload.is_empty() {
                String::new()
            } else {
                format!("  reload {}", reload.join(" "))
            }
        );
        sayln!(
            "  key  {}  cert {}  ca {}",
            profile.key_path,
            profile.cert_path,
            profile.ca_path
        );
    }
    Ok(())
}

fn time_text(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs).map_or_else(|_| secs.to_string(), rfc3339)
}

/// A span of time as a person reads it: `5d 3h`, `7h 10m`, `42m`.
fn span(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86400, secs % 86400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m")
    }
}

/// `certs --expiring DURATION`: the current certificates (the newest of
/// each host's profile, not revoked, the host not retired) that expire
/// within `window` or are past their renewal point; an error (exit 1)
/// after the list when any is past its renewal point.
pub(super) fn expiring(settings: &Settings, host: Option<&str>, window: Ttl) -> Result<()> {
    let project = settings.project()?;
    if let Some(host) = host {
        project.inventory.host(host)?;
    }
    if !project.has_state() {
        note("no certificate has been issued yet");
        return Ok(());
    }
    let now = unix_now();
    let horizon = now.saturating_add(window.duration().as_secs() as i64);
    let mut rows = vec![
        [
            "HOST",
            "PROFILE",
            "CA",
            "SERIAL",
            "NOT AFTER",
            "RENEW BY",
            "STATUS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut overdue = 0;
    for cert in project.state()?.current_certificates(host)? {
        if !cert.live() {
            continue;
        }
        let record = &cert.record;
        let Some(not_after) = parse_rfc3339(&record.not_after) else {
            continue;
        };
        // The profile's share, as the host's timer applies it; the default
        // for the identity, the server's own certificate, and a profile
        // gone from the inventory.
        let renew_at = project
            .inventory
            .cluster
            .profiles
            .get(&record.profile)
            .map_or(DEFAULT_RENEW_AT, |p| p.renew_at.fraction());
        let due = renewal_due(record, renew_at).unwrap_or(not_after);
        let late = now > due;
        if !late && not_after > horizon {
            continue;
        }
        let status = if not_after <= now {
            format!("EXPIRED {} ago", span(now - not_after))
        } else if late {
            format!(
                "RENEWAL OVERDUE by {}; expires in {}",
                span(now - due),
                span(not_after - now)
            )
        } else {
            format!("expires in {}", span(not_after - now))
        };
        overdue += usize::from(late);
        rows.push(vec![
            record.host.clone(),
            record.profile.clone(),
            record.ca.clone(),
            record.serial.clone(),
            record.not_after.clone(),
            time_text(due),
            status,
        ]);
    }
    if rows.len() == 1 {
        note(&format!(
            "no current certificate expires within {window} or is past its renewal point"
        ));
        return Ok(());
    }
    super::hosts::print_table(&rows)?;
    if overdue > 0 {
        eprintln!("coregen: error: {overdue} certificate(s) should have been renewed and were not");
        return Err(Error::reported());
    }
    Ok(())
}

/// `coregen revoke SERIAL --reason REASON`.
pub(super) fn revoke(settings: &Settings, serial: &str, reason: Reason) -> Result<()> {
    let project = settings.project()?;
    if !project.has_state() {
        coregen::pki::parse_serial(serial).map_err(Error::invalid)?;
        return Err(Error::invalid(format!(
            "no certificate with serial {serial} was issued by coregen: {} does not exist yet",
            project.pki.state_db_path().display()
        )));
    }
    let db = project.state()?;
    let done = db.revoke(serial, reason, unix_now())?;
    let number = db.crl_number(&done.ca)?;
    sayln!(
        "revoked {} (host {}, CA {}) for {}; CRL number {} of CA {}",
        done.serial,
        done.host,
        done.ca,
        done.reason,
        number,
        done.ca
    );
    note(&format!(
        "publish it: `coregen crl {ca} --out FILE`, or fetch /crl/{ca}.crl from `coregen serve`, \
         which has it at once",
        ca = done.ca
    ));
    Ok(())
}

/// `coregen crl CA [--pem] [--out FILE]`.
pub(super) fn crl(settings: &Settings, ca: &str, pem: bool, out: Option<&Path>) -> Result<()> {
    let project = settings.project()?;
    let cas = &project.inventory.cluster.cas;
    if !cas.contains_key(ca) {
        let declared: Vec<&str> = cas.keys().map(String::as_str).collect();
        return Err(Error::new(format!(
            "no CA `{}` in hosts/cluster.toml; it declares {}",
            coregen::values::printable(ca),
            if declared.is_empty() {
                "none".to_string()
            } else {
                declared.join(", ")
            }
        )));
    }
    if let Some(out) = out {
        let dir = out.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(Error::new(format!(
                "cannot write {}: no folder {}",
                out.display(),
                dir.display()
            )));
        }
    }
    let signer = project.pki.signer(ca)?;
    let (number, revoked) = if project.has_state() {
        project.state()?.crl(ca)?
    } else {
        (0, Vec::new())
    };
    let crl = signer.sign_crl(
        number,
        revoked.iter().map(Revocation::entry),
        time::OffsetDateTime::now_utc(),
    )?;
    let bytes = if pem { crl.pem().into_bytes() } else { crl.der };
    match out {
        // A CRL is meant to be refreshed: replaced whole, atomically, so
        // that whoever reads it sees the old one or the new one.
        Some(out) => {
            let staged = coregen::output::stage(out.to_path_buf(), &bytes, Access::Public)?;
            coregen::output::commit(vec![staged])?;
            note(&format!(
                "wrote CRL number {number} of CA {ca} ({} revoked) to {}; next update {}",
                revoked.len(),
                out.display(),
                rfc3339(crl.next_update)
            ));
        }
        None => std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| Error::new("cannot write to standard output").with_source(e))?,
    }
    Ok(())
}
