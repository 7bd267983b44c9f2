//! The PKI commands: `ca init|list|show`, `sign`, `audit` and `certs`.

use std::io::{Read, Write};
use std::path::Path;

use super::note;
use super::settings::Settings;
use crate::cli::SignArgs;
use coregen::context::HostContext;
use coregen::error::{Error, Result};
use coregen::inventory::Host;
use coregen::output::Access;
use coregen::pki::{Holder, LeafRequest, Profile, check_csr};
use coregen::project::Project;

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
