//! Reading the inventory folder: cluster.toml with its CAs, profiles and
//! server, the groups, and each host, whose layers (see [`super::layer`])
//! merge into a [`Host`]; then the checks across hosts. The cluster's and
//! the groups' layers are kept, so that one host's merge can be walked
//! again with a trace ([`trace_host`]) by the same code.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::layer::{
    Declaration, Effect, Entry, Kind, Layer, LayerName, resolve_layer, resolve_layer_with, ssh_keys,
};
use super::raw::{RawBoot, RawCluster, RawLayer, RawProfile};
use super::source::{SourceFile, did_you_mean};
use super::{
    Boot, BootUrl, Cluster, Host, HostName, Inventory, Layers, MachineId, Origin, Server, Ttl,
};
use crate::error::{Error, Place, Result};
use crate::pki::{CaSpec, KeyType, Profile, RenewAt, Usage};
use crate::values::{format_duration, parse_duration};

/// The longest `validity` a profile may write (its CA's is the real bound).
const MAX_VALIDITY: Duration = Duration::from_secs(100 * 365 * 86400);

/// The group that every host is in, when `hosts/groups/all.toml` exists.
const ALL_GROUP: &str = "all";

pub(super) fn load(root: &Path) -> Result<Inventory> {
    // `hosts` may be a symlink that a deploy swaps for another: it is
    // followed once, so that one load reads one folder throughout, even
    // when the link changes meanwhile (`serve` reloads on such a swap).
    let hosts_dir = match std::fs::read_link(root.join("hosts")) {
        Ok(target) => root.join(target),
        Err(_) => root.join("hosts"),
    };
    let cluster_path = hosts_dir.join("cluster.toml");
    if !cluster_path.is_file() {
        return Err(Error::new(format!(
            "no inventory here: {} is missing (run `coregen init DIR` to start one)",
            cluster_path.display()
        )));
    }
    let cluster_src = SourceFile::read(&cluster_path)?;
    let (cluster, cluster_layer) = resolve_cluster(&cluster_src)?;

    let mut groups = BTreeMap::new();
    for path in crate::files::with_extension(&hosts_dir.join("groups"), "toml")? {
        let name = file_stem(&path)?;
        let src = SourceFile::read(&path)?;
        groups.insert(name, resolve_layer(&src, Kind::Group, &cluster)?);
    }

    let mut loaded = Vec::new();
    for path in crate::files::with_extension(&hosts_dir, "toml")? {
        if path == cluster_path {
            continue;
        }
        loaded.push(load_host(
            &path,
            &cluster,
            &cluster_layer,
            &groups,
            &mut |_, _, _, _| {},
        )?);
    }
    loaded.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let (hosts, addresses): (Vec<Host>, Vec<Addresses>) = loaded.into_iter().unzip();
    let by_machine = check_unique_addresses(&hosts, &addresses)?;

    // What an operator put in hosts/ and coregen will not read is most
    // likely a host or group that silently does not exist.
    let mut warnings = Vec::new();
    for (dir, folders) in [
        (hosts_dir.clone(), &["groups"][..]),
        (hosts_dir.join("groups"), &[]),
    ] {
        for path in crate::files::others(&dir, "toml", folders)? {
            let what = if path.is_dir() { "folder" } else { "file" };
            warnings.push(format!(
                "{}: this {what} is not loaded: coregen reads hosts/*.toml and \
                 hosts/groups/*.toml only",
                path.display()
            ));
        }
    }

    Ok(Inventory {
        root: root.to_path_buf(),
        cluster,
        hosts,
        by_machine,
        warnings,
        layers: Layers {
            cluster: cluster_layer,
            groups,
        },
    })
}

/// Every unit, file, directory and kernel argument that the layers of
/// `host` declare, in merge order, with what the merge did with each: the
/// host's file read and merged again, by the code that loaded it.
pub(super) fn trace_host(inventory: &Inventory, host: &Host) -> Result<Vec<Declaration>> {
    let mut declarations = Vec::new();
    let layers = &inventory.layers;
    let cluster = &layers.cluster;
    debug_assert!(
        cluster.units.is_empty()
            && cluster.files.is_empty()
            && cluster.directories.is_empty()
            && cluster.kernel_arguments.should_exist.is_empty()
            && cluster.kernel_arguments.should_not_exist.is_empty(),
        "the cluster's entries would need tracing too"
    );
    load_host(
        &host.file,
        &inventory.cluster,
        &layers.cluster,
        &layers.groups,
        &mut |layer: Step<'_>, origin: &Origin, entry: Entry<'_>, effect: Effect| {
            declarations.push(Declaration {
                layer: match layer {
                    Step::Group(name) => LayerName::Group(name.to_string()),
                    Step::Host => LayerName::Host,
                },
                origin: origin.clone(),
                declared: entry.to_owned(),
                effect,
            })
        },
    )?;
    Ok(declarations)
}

/// A host or group name from its file name, checked like a host name.
fn file_stem(path: &Path) -> Result<String> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    stem.parse::<HostName>()
        .map(|n| n.as_str().to_string())
        .map_err(|msg| Error::new(format!("file name: {msg}")).at(Place::file(path)))
}

fn resolve_cluster(src: &SourceFile) -> Result<(Cluster, Layer)> {
    let raw: RawCluster = src.parse()?;
    let mut cas = BTreeMap::new();
    let reserved = crate::pki::identity::IDENTITY;
    for (name, ca) in raw.ca {
        if name.as_str() == reserved {
            return Err(Error::new(format!(
                "the CA name `{reserved}` is reserved: coregen keeps a CA of that name for \
                 hosts' identity certificates, which signs nothing else; choose another name"
            ))
            .at(Place::file(&src.path))
            .key(format!("ca.{reserved}")));
        }
        let validity_days = match ca.validity_days {
            Some(days) if *days.get_ref() == 0 => {
                return Err(src.error(days.span(), "validity_days must be at least 1"));
            }
            Some(days) => days.into_inner(),
            None => CaSpec::DEFAULT_VALIDITY_DAYS,
        };
        let spec = CaSpec {
            key_type: ca.key_type.unwrap_or_default(),
            validity_days,
            usages: ca.usages.unwrap_or_else(|| Usage::ALL.to_vec()),
        };
        cas.insert(name.as_str().to_string(), spec);
    }
    let mut profiles = BTreeMap::new();
    for (name, raw) in raw.profiles {
        if name.as_str() == reserved {
            return Err(src.error(
                raw.span(),
                format!(
                    "the profile name `{reserved}` is reserved for hosts' identity \
                     certificates; choose another name"
                ),
            ));
        }
        let profile = resolve_profile(src, name.as_str(), raw, &cas)?;
        profiles.insert(profile.name.clone(), profile);
    }
    let layer = Layer {
        ssh_authorized_keys: ssh_keys(src, raw.ssh_authorized_keys)?,
        vars: raw.vars.clone(),
        ..Layer::default()
    };
    let cluster = Cluster {
        name: raw.name,
        domain: raw.domain,
        spec: raw.spec.unwrap_or_default(),
        ssh_authorized_keys: layer.ssh_authorized_keys.clone(),
        vars: raw.vars,
        cas,
        profiles,
        server: raw.server.map(|s| Server {
            url: s.url,
            token_ttl: s.token_ttl.unwrap_or(Ttl::DEFAULT),
        }),
        boot: raw.boot.map(|b| resolve_boot(src, b)).transpose()?,
    };
    Ok((cluster, layer))
}

/// `[boot]`: each image a URL, or a file name in serve's assets folder,
/// which becomes `<public_url>/assets/<name>`; and the three of one
/// release, as far as their names tell.
fn resolve_boot(src: &SourceFile, raw: RawBoot) -> Result<Boot> {
    let image = |value: &Spanned<String>| -> Result<BootUrl> {
        let text = value.get_ref();
        let resolved = if text.contains("://") {
            text.parse::<BootUrl>()
        } else {
            BootUrl::asset(&raw.public_url, text)
        };
        resolved.map_err(|msg| src.error(value.span(), msg))
    };
    let boot = Boot {
        kernel: image(&raw.kernel)?,
        initramfs: image(&raw.initramfs)?,
        rootfs: image(&raw.rootfs)?,
        public_url: raw.public_url,
        kernel_arguments: raw.kernel_arguments,
    };
    if let Err(msg) = boot.check_releases(|_| None) {
        // Pointed at the first image of another release than the first.
        let releases = boot
            .images()
            .map(|(_, url)| super::release_of(url.file_name()));
        let first = releases.iter().flatten().next().copied();
        let odd = releases
            .iter()
            .position(|r| r.is_some() && *r != first)
            .unwrap_or(0);
        let spans = [&raw.kernel, &raw.initramfs, &raw.rootfs];
        return Err(src.error(spans[odd].span(), msg));
    }
    Ok(boot)
}

/// Checks a profile against the CAs: the CA must exist and may sign every
/// usage the profile asks for. This is where the CAs' separate duties are
/// enforced, before anything is signed.
fn resolve_profile(
    src: &SourceFile,
    name: &str,
    raw: Spanned<RawProfile>,
    cas: &BTreeMap<String, CaSpec>,
) -> Result<Profile> {
    let raw = raw.into_inner();
    let ca_name = raw.ca.get_ref();
    let Some(ca) = cas.get(ca_name) else {
        let mut msg = format!("no CA `{ca_name}` in this file (declare it as [ca.{ca_name}])");
        if let Some(best) = did_you_mean(ca_name, cas.keys().map(String::as_str)) {
            msg.push_str(&format!("; did you mean `{best}`?"));
        }
        return Err(src.error(raw.ca.span(), msg));
    };
    if raw.usages.get_ref().is_empty() {
        return Err(src.error(raw.usages.span(), "a profile needs at least one usage"));
    }
    if let Some(usage) = raw.usages.get_ref().iter().find(|u| !ca.usages.contains(u)) {
        return Err(src.error(
            raw.usages.span(),
            format!(
                "CA `{ca_name}` may not sign {usage} certificates (its usages are {})",
                list(&ca.usages)
            ),
        ));
    }
    let validity = profile_validity(src, &raw, ca_name, ca)?;
    let renew_at = match &raw.renew_at {
        Some(value) => RenewAt::new(*value.get_ref()).ok_or_else(|| {
            src.error(
                value.span(),
                format!(
                    "renew_at must be a fraction strictly between 0 and 1, such as 0.75, \
                     not {}",
                    value.get_ref()
                ),
            )
        })?,
        None => RenewAt::DEFAULT,
    };
    let mut usages = raw.usages.into_inner();
    usages.dedup();
    let mut reload = raw.reload;
    reload.dedup();
    Ok(Profile {
        name: name.to_string(),
        ca: raw.ca.into_inner(),
        usages,
        common_name: raw.common_name,
        dns_names: raw.dns_names,
        ip_addresses: raw.ip_addresses,
        organization: raw.organization,
        organizational_unit: raw.organizational_unit,
        key_types: raw.key_types.unwrap_or_else(|| KeyType::ALL.to_vec()),
        validity,
        renew_at,
        reload,
        key_path: raw.key_path,
        cert_path: raw.cert_path,
        ca_path: raw.ca_path,
    })
}

/// A profile's lifetime: `validity` (`"30d"`) or the older `validity_days`,
/// not both; at least a minute and no longer than its CA's. Without
/// either, a year, or the CA's lifetime when that is shorter.
fn profile_validity(
    src: &SourceFile,
    raw: &RawProfile,
    ca_name: &str,
    ca: &CaSpec,
) -> Result<Duration> {
    let (validity, span) = match (&raw.validity, &raw.validity_days) {
        (Some(_), Some(days)) => {
            return Err(src.error(
                days.span(),
                "validity and validity_days both set: keep one (validity = \"30d\" is the \
                 newer form of validity_days = 30)",
            ));
        }
        (Some(text), None) => {
            let validity = parse_duration(text.get_ref(), MAX_VALIDITY, "100 years")
                .map_err(|msg| src.error(text.span(), msg))?;
            (validity, text.span())
        }
        (None, Some(days)) if *days.get_ref() == 0 => {
            return Err(src.error(days.span(), "validity_days must be at least 1"));
        }
        (None, Some(days)) => (
            Duration::from_secs(u64::from(*days.get_ref()) * 86400),
            days.span(),
        ),
        (None, None) => return Ok(Profile::DEFAULT_VALIDITY.min(ca.validity())),
    };
    if validity < Profile::MIN_VALIDITY {
        return Err(src.error(
            span,
            format!(
                "a certificate must live at least {}, not {}",
                format_duration(Profile::MIN_VALIDITY),
                format_duration(validity)
            ),
        ));
    }
    if validity > ca.validity() {
        return Err(src.error(
            span,
            format!(
                "a certificate of CA `{ca_name}` may not outlive it: {} is longer than the \
                 CA's {} (its validity_days)",
                format_duration(validity),
                format_duration(ca.validity())
            ),
        ));
    }
    Ok(validity)
}

fn list(items: &[impl std::fmt::Display]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The layer being merged, as a trace hears of it ([`LayerName`],
/// borrowed).
#[derive(Clone, Copy)]
enum Step<'a> {
    Group(&'a str),
    Host,
}

/// The host of file `path`: cluster, groups and its own file merged, each
/// step told to `trace` with the layer it came from.
fn load_host(
    path: &Path,
    cluster: &Cluster,
    cluster_layer: &Layer,
    groups: &BTreeMap<String, Layer>,
    trace: &mut impl FnMut(Step<'_>, &Origin, Entry<'_>, Effect),
) -> Result<(Host, Addresses)> {
    let name: HostName = file_stem(path)?.parse().expect("checked by file_stem");
    let src = SourceFile::read(path)?;
    let raw: RawLayer = src.parse()?;

    let mut group_names: Vec<String> = Vec::new();
    if groups.contains_key(ALL_GROUP) {
        group_names.push(ALL_GROUP.to_string());
    }
    for group in raw.groups.iter().flat_map(|g| g.get_ref()) {
        let group_name = group.get_ref();
        if !groups.contains_key(group_name.as_str()) {
            let mut msg =
                format!("no group `{group_name}` (looked for hosts/groups/{group_name}.toml)");
            if let Some(best) = did_you_mean(group_name, groups.keys().map(String::as_str)) {
                msg.push_str(&format!("; did you mean `{best}`?"));
            }
            return Err(src.error(group.span(), msg));
        }
        if !group_names.contains(group_name) {
            group_names.push(group_name.clone());
        }
    }

    let addresses = addresses(&src, &raw)?;
    let ip = raw.ip.as_ref().map(|ip| *ip.get_ref());
    let macs = addresses
        .machines
        .iter()
        .filter_map(|(id, _)| match id {
            MachineId::Mac(mac) => Some(*mac),
            MachineId::Uuid(_) => None,
        })
        .collect();
    let uuid = raw.uuid.as_ref().map(|uuid| *uuid.get_ref());
    let install_disk = raw.install_disk.as_ref().map(|d| d.get_ref().clone());
    let own = resolve_layer_with(&src, raw, Kind::Host, cluster)?;

    // The cluster declares no unit, file, directory or kernel argument
    // (`resolve_cluster`), so there is nothing of it to trace, and it is
    // the base as it is.
    let mut merged = cluster_layer.clone();
    let mut merge = |layer: Step<'_>, later: &Layer| {
        merged.merge_traced(later, &mut |origin, entry, effect| {
            trace(layer, origin, entry, effect)
        })
    };
    for group in &group_names {
        merge(Step::Group(group), &groups[group]);
    }
    merge(Step::Host, &own);

    let fqdn = match &cluster.domain {
        Some(domain) => format!("{}.{}", name, domain.as_str()),
        None => name.to_string(),
    };
    let host = Host {
        name,
        fqdn,
        ip,
        macs,
        uuid,
        install_disk,
        groups: group_names,
        profiles: merged.profiles,
        ssh_authorized_keys: merged.ssh_authorized_keys,
        vars: merged.vars,
        kernel_arguments: merged.kernel_arguments.values(),
        units: merged.units,
        files: merged.files,
        directories: merged.directories,
        butane: merged.butane,
        file: src.path.clone(),
    };
    Ok((host, addresses))
}

/// Where a host file declares each address that must be unique across
/// hosts, for an error that names both places. Kept small (no path, no
/// key text): there is one per host, and the place is spelled out only for
/// an error.
#[derive(Debug, Default)]
struct Addresses {
    machines: Vec<(MachineId, Spot)>,
    ip: Option<Spot>,
}

/// A key's line and column in its host file, and which key it is.
#[derive(Clone, Copy, Debug)]
struct Spot {
    line: u32,
    column: u32,
    /// `None` for `mac`, `uuid` and `ip`; the index in `macs` otherwise.
    index: Option<u32>,
}

impl Spot {
    fn of(src: &SourceFile, span: std::ops::Range<usize>, index: Option<usize>) -> Spot {
        let place = src.place(span.start);
        let narrow = |n: Option<usize>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        Spot {
            line: narrow(place.line),
            column: narrow(place.column),
            index: index.and_then(|i| u32::try_from(i).ok()),
        }
    }

    fn place(self, file: &std::path::Path) -> Place {
        Place::at(file, self.line as usize, self.column as usize)
    }

    fn key(self, id: Option<MachineId>) -> String {
        match (id, self.index) {
            (Some(MachineId::Mac(_)), Some(i)) => format!("macs[{i}]"),
            (Some(MachineId::Mac(_)), None) => "mac".into(),
            (Some(MachineId::Uuid(_)), _) => "uuid".into(),
            (None, _) => "ip".into(),
        }
    }
}

/// A host's `mac`, `macs`, `uuid` and `ip`, with their places; a MAC given
/// twice in one file is an error here, one shared with another host is
/// found by [`check_unique_addresses`].
fn addresses(src: &SourceFile, raw: &RawLayer) -> Result<Addresses> {
    let mut machines: Vec<(MachineId, Spot)> = Vec::new();
    let listed = raw.macs.iter().flat_map(|m| m.get_ref()).enumerate();
    let macs = raw.mac.iter().map(|mac| (mac, None));
    let macs = macs.chain(listed.map(|(i, mac)| (mac, Some(i))));
    for (mac, index) in macs {
        let id = MachineId::Mac(*mac.get_ref());
        if let Some((_, first)) = machines.iter().find(|(seen, _)| *seen == id) {
            return Err(src.error(
                mac.span(),
                format!(
                    "{id} is listed twice in this file (first at {})",
                    first.place(&src.path)
                ),
            ));
        }
        machines.push((id, Spot::of(src, mac.span(), index)));
    }
    if let Some(uuid) = &raw.uuid {
        machines.push((
            MachineId::Uuid(*uuid.get_ref()),
            Spot::of(src, uuid.span(), None),
        ));
    }
    let ip = raw.ip.as_ref().map(|ip| Spot::of(src, ip.span(), None));
    Ok(Addresses { machines, ip })
}

/// Two hosts with one MAC, UUID or IP would make boot-time lookups
/// ambiguous: the error names both files and lines. Returns the index of
/// `hosts` by MAC and UUID.
fn check_unique_addresses(
    hosts: &[Host],
    addresses: &[Addresses],
) -> Result<HashMap<MachineId, usize>> {
    let clash = |id: Option<MachineId>,
                 value: String,
                 (i, here): (usize, Spot),
                 (j, there): (usize, Spot)| {
        let what = match id {
            Some(MachineId::Mac(_)) => "a MAC address",
            Some(MachineId::Uuid(_)) => "the UUID",
            None => "the IP address",
        };
        Error::new(format!(
            "{value} is also {what} of host `{}` ({})",
            hosts[j].name,
            there.place(&hosts[j].file)
        ))
        .at(here.place(&hosts[i].file))
        .key(here.key(id))
    };
    let mut machines: HashMap<MachineId, (usize, Spot)> = HashMap::new();
    let mut ips: HashMap<IpAddr, (usize, Spot)> = HashMap::new();
    for (i, (host, declared)) in hosts.iter().zip(addresses).enumerate() {
        for &(id, here) in &declared.machines {
            if let Some(&there) = machines.get(&id) {
                return Err(clash(Some(id), id.to_string(), (i, here), there));
            }
            machines.insert(id, (i, here));
        }
        if let (Some(ip), Some(here)) = (host.ip, declared.ip) {
            if let Some(&there) = ips.get(&ip) {
                return Err(clash(None, ip.to_string(), (i, here), there));
            }
            ips.insert(ip, (i, here));
        }
    }
    Ok(machines.into_iter().map(|(id, (i, _))| (id, i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"name = "demo"

[ca.etcd]
validity_days = 30

[profiles.p]
ca = "etcd"
usages = ["client-auth"]
common_name = "{{host.name}}"
key_path = "/k"
cert_path = "/c"
ca_path = "/a"
"#;

    /// cluster.toml of [`HEAD`] with `extra` keys in profile `p`.
    fn load(extra: &str) -> Result<Profile> {
        let src = SourceFile::new("hosts/cluster.toml".into(), format!("{HEAD}{extra}\n"));
        let (cluster, _) = resolve_cluster(&src)?;
        Ok(cluster.profiles["p"].clone())
    }

    fn error(extra: &str) -> String {
        load(extra).unwrap_err().to_string()
    }

    const DAY: u64 = 86400;

    #[test]
    fn validity_is_a_duration_or_the_older_validity_days() {
        let secs = |extra: &str| load(extra).unwrap().validity.as_secs();
        assert_eq!(secs(r#"validity = "30d""#), 30 * DAY);
        assert_eq!(secs(r#"validity = "24h""#), DAY);
        assert_eq!(secs(r#"validity = "10m""#), 600);
        assert_eq!(secs(r#"validity = "60s""#), 60);
        assert_eq!(secs("validity_days = 7"), 7 * DAY);
        // Without either, a year, cut to the CA's 30 days.
        assert_eq!(secs(""), 30 * DAY);
    }

    #[test]
    fn validity_errors_name_the_place_and_key() {
        assert_eq!(
            error("validity = \"30d\"\nvalidity_days = 30"),
            "hosts/cluster.toml:14:17: profiles.p.validity_days: validity and validity_days \
             both set: keep one (validity = \"30d\" is the newer form of validity_days = 30)"
        );
        assert_eq!(
            error(r#"validity = "59s""#),
            "hosts/cluster.toml:13:12: profiles.p.validity: a certificate must live at least \
             1m, not 59s"
        );
        let err = error(r#"validity = "31d""#);
        assert!(
            err.starts_with("hosts/cluster.toml:13:12: profiles.p.validity: "),
            "{err}"
        );
        assert!(
            err.contains("may not outlive it: 31d is longer than the CA's 30d"),
            "{err}"
        );
        let err = error("validity_days = 31");
        assert!(
            err.starts_with("hosts/cluster.toml:13:17: profiles.p.validity_days: "),
            "{err}"
        );
        for bad in [
            r#""30""#,
            r#""d""#,
            r#""0d""#,
            r#""1w""#,
            r#""-1d""#,
            r#""1.5d""#,
        ] {
            let err = error(&format!("validity = {bad}"));
            assert!(err.contains("profiles.p.validity: "), "{err}");
            assert!(err.contains("is not a lifetime"), "{err}");
        }
    }

    #[test]
    fn renew_at_is_a_fraction_strictly_between_0_and_1() {
        assert_eq!(load("").unwrap().renew_at, RenewAt::DEFAULT);
        assert_eq!(load("renew_at = 0.75").unwrap().renew_at.percent(), 75);
        for bad in ["0.0", "1.0", "1", "0", "-0.5", "1.5", "nan", "inf"] {
            let err = error(&format!("renew_at = {bad}"));
            assert!(
                err.starts_with("hosts/cluster.toml:13:12: profiles.p.renew_at: renew_at must be"),
                "{bad}: {err}"
            );
        }
        let err = error(r#"renew_at = "0.5""#);
        assert!(err.contains("profiles.p.renew_at"), "{err}");
    }

    #[test]
    fn reload_is_a_list_of_unit_names_and_subjects_are_templates() {
        let profile = load(
            "reload = [\"etcd-member.service\", \"kubelet.service\"]\n\
             organization = [\"system:nodes\", \"{{host.name}}\"]\n\
             organizational_unit = [\"ops\"]",
        )
        .unwrap();
        let reload: Vec<&str> = profile.reload.iter().map(|u| u.as_str()).collect();
        assert_eq!(reload, ["etcd-member.service", "kubelet.service"]);
        assert_eq!(profile.organization, ["system:nodes", "{{host.name}}"]);
        assert_eq!(profile.organizational_unit, ["ops"]);
        assert!(load("").unwrap().reload.is_empty());
        let err = error(r#"reload = ["etcd member"]"#);
        assert!(err.starts_with("hosts/cluster.toml:13:"), "{err}");
        assert!(err.contains("profiles.p.reload"), "{err}");
    }
}
