//! Reading the inventory folder, resolving each file into a [`Layer`], and
//! merging layers into hosts.
//!
//! Merge rules: tables (`vars`) merge deeply and later scalars win; name
//! lists (`groups`, SSH keys, kernel arguments) union in order; units are
//! keyed by name and files and directories by path, and a later layer's
//! entry replaces an earlier one where it stood.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::raw::{RawCluster, RawDropin, RawFile, RawLayer, RawProfile, RawUnit};
use super::source::{SourceFile, did_you_mean};
use super::{
    Cluster, Contents, Directory, Dropin, FileEntry, Host, HostName, Inventory, KernelArguments,
    MacAddr, Mode, Server, Snippet, Ttl, Unit,
};
use crate::error::{Error, Place, Result};
use crate::pki::{CaSpec, KeyType, Profile, Usage};

/// The group that every host is in, when `hosts/groups/all.toml` exists.
const ALL_GROUP: &str = "all";

pub(super) fn load(root: &Path) -> Result<Inventory> {
    let hosts_dir = root.join("hosts");
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

    let mut hosts = Vec::new();
    for path in crate::files::with_extension(&hosts_dir, "toml")? {
        if path == cluster_path {
            continue;
        }
        hosts.push(load_host(&path, &cluster, &cluster_layer, &groups)?);
    }
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    let by_mac = check_unique_addresses(&hosts)?;

    Ok(Inventory {
        root: root.to_path_buf(),
        cluster,
        hosts,
        by_mac,
    })
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
    for (name, ca) in raw.ca {
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
        boot: raw.boot,
    };
    Ok((cluster, layer))
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
    let validity_days = match raw.validity_days {
        Some(days) if *days.get_ref() == 0 => {
            return Err(src.error(days.span(), "validity_days must be at least 1"));
        }
        Some(days) => days.into_inner(),
        None => Profile::DEFAULT_VALIDITY_DAYS,
    };
    let mut usages = raw.usages.into_inner();
    usages.dedup();
    Ok(Profile {
        name: name.to_string(),
        ca: raw.ca.into_inner(),
        usages,
        common_name: raw.common_name,
        dns_names: raw.dns_names,
        ip_addresses: raw.ip_addresses,
        key_types: raw.key_types.unwrap_or_else(|| KeyType::ALL.to_vec()),
        validity_days,
        key_path: raw.key_path,
        cert_path: raw.cert_path,
        ca_path: raw.ca_path,
    })
}

fn list(items: &[impl std::fmt::Display]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn load_host(
    path: &Path,
    cluster: &Cluster,
    cluster_layer: &Layer,
    groups: &BTreeMap<String, Layer>,
) -> Result<Host> {
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

    let ip = raw.ip.as_ref().map(|ip| *ip.get_ref());
    let mac = raw.mac.as_ref().map(|mac| *mac.get_ref());
    let install_disk = raw.install_disk.as_ref().map(|d| d.get_ref().clone());
    let own = resolve_layer_with(&src, raw, Kind::Host, cluster)?;

    let mut merged = cluster_layer.clone();
    for group in &group_names {
        merged.merge(&groups[group]);
    }
    merged.merge(&own);

    let fqdn = match &cluster.domain {
        Some(domain) => format!("{}.{}", name, domain.as_str()),
        None => name.to_string(),
    };
    Ok(Host {
        name,
        fqdn,
        ip,
        mac,
        install_disk,
        groups: group_names,
        profiles: merged.profiles,
        ssh_authorized_keys: merged.ssh_authorized_keys,
        vars: merged.vars,
        kernel_arguments: merged.kernel_arguments,
        units: merged.units,
        files: merged.files,
        directories: merged.directories,
        butane: merged.butane,
        file: src.path.clone(),
    })
}

/// Two hosts with one MAC or one IP would make boot-time lookups ambiguous.
/// Returns the index of `hosts` by MAC.
fn check_unique_addresses(hosts: &[Host]) -> Result<HashMap<MacAddr, usize>> {
    let mut macs: HashMap<MacAddr, usize> = HashMap::new();
    let mut ips: HashMap<IpAddr, &Host> = HashMap::new();
    for (i, host) in hosts.iter().enumerate() {
        let clash = |what: &str, value: String, other: &Host| {
            Error::new(format!(
                "{what} {value} is also the {what} of host `{}` ({})",
                other.name,
                other.file.display()
            ))
            .at(Place::file(&host.file))
            .key(what)
        };
        if let Some(mac) = host.mac
            && let Some(other) = macs.insert(mac, i)
        {
            return Err(clash("mac", mac.to_string(), &hosts[other]));
        }
        if let Some(ip) = host.ip
            && let Some(other) = ips.insert(ip, host)
        {
            return Err(clash("ip", ip.to_string(), other));
        }
    }
    Ok(macs)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    Host,
}

/// What one file contributes to a host.
#[derive(Clone, Debug, Default)]
struct Layer {
    profiles: Vec<String>,
    ssh_authorized_keys: Vec<String>,
    vars: toml::Table,
    kernel_arguments: KernelArguments,
    units: Vec<Arc<Unit>>,
    files: Vec<Arc<FileEntry>>,
    directories: Vec<Arc<super::Directory>>,
    butane: Vec<Arc<Snippet>>,
}

impl Layer {
    fn merge(&mut self, later: &Layer) {
        union(&mut self.profiles, &later.profiles);
        union(&mut self.ssh_authorized_keys, &later.ssh_authorized_keys);
        merge_tables(&mut self.vars, &later.vars);
        union(
            &mut self.kernel_arguments.should_exist,
            &later.kernel_arguments.should_exist,
        );
        union(
            &mut self.kernel_arguments.should_not_exist,
            &later.kernel_arguments.should_not_exist,
        );
        replace_or_push(&mut self.units, &later.units, |u| u.name.as_str());
        replace_or_push(&mut self.files, &later.files, |f| f.path.as_str());
        replace_or_push(&mut self.directories, &later.directories, |d| {
            d.path.as_str()
        });
        // Snippets apply in order, each over the ones before, and each
        // once: one named again (by a host, say, after its group) applies
        // at its later place, since applying it twice would repeat its
        // appended lists (kernel arguments, `append`).
        for snippet in &later.butane {
            self.butane.retain(|s| s.name != snippet.name);
            self.butane.push(snippet.clone());
        }
    }
}

fn union(list: &mut Vec<String>, later: &[String]) {
    for item in later {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
}

fn replace_or_push<T: Clone>(list: &mut Vec<T>, later: &[T], key: impl Fn(&T) -> &str) {
    for item in later {
        match list.iter_mut().find(|old| key(old) == key(item)) {
            Some(old) => *old = item.clone(),
            None => list.push(item.clone()),
        }
    }
}

fn merge_tables(base: &mut toml::Table, later: &toml::Table) {
    for (key, value) in later {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => merge_tables(old, new),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

fn resolve_layer(src: &SourceFile, kind: Kind, cluster: &Cluster) -> Result<Layer> {
    let raw: RawLayer = src.parse()?;
    resolve_layer_with(src, raw, kind, cluster)
}

fn resolve_layer_with(
    src: &SourceFile,
    raw: RawLayer,
    kind: Kind,
    cluster: &Cluster,
) -> Result<Layer> {
    if kind == Kind::Group {
        let host_only = [
            raw.groups.as_ref().map(Spanned::span),
            raw.ip.as_ref().map(Spanned::span),
            raw.mac.as_ref().map(Spanned::span),
            raw.install_disk.as_ref().map(Spanned::span),
        ];
        if let Some(span) = host_only.into_iter().flatten().next() {
            return Err(src.error(span, "this key belongs in a host file, not in a group file"));
        }
    }
    let mut profiles = Vec::with_capacity(raw.profiles.len());
    for profile in raw.profiles {
        let name = profile.get_ref();
        if !cluster.profiles.contains_key(name) {
            let mut msg = format!("no profile `{name}` in hosts/cluster.toml ([profiles.{name}])");
            if let Some(best) = did_you_mean(name, cluster.profiles.keys().map(String::as_str)) {
                msg.push_str(&format!("; did you mean `{best}`?"));
            }
            return Err(src.error(profile.span(), msg));
        }
        if cluster.server.is_none() {
            return Err(src.error(
                profile.span(),
                "certificate profiles need a [server] table in hosts/cluster.toml, with the \
                 `url` at which hosts reach `coregen serve` to enroll",
            ));
        }
        if !profiles.contains(name) {
            profiles.push(profile.into_inner());
        }
    }

    let mut units = Vec::with_capacity(raw.units.len());
    let mut seen = HashSet::new();
    for (i, unit) in raw.units.into_iter().enumerate() {
        let span = unit.span();
        let unit = resolve_unit(src, unit.into_inner(), i)?;
        if !seen.insert(unit.name.clone()) {
            return Err(src.error(
                span,
                format!("unit `{}` is declared twice in this file", unit.name),
            ));
        }
        units.push(Arc::new(unit));
    }

    let mut files = Vec::with_capacity(raw.files.len());
    let mut seen = HashSet::new();
    for (i, file) in raw.files.into_iter().enumerate() {
        let file = resolve_file(src, file, i)?;
        if !seen.insert(file.path.clone()) {
            return Err(file
                .origin
                .error(format!("file {} is declared twice in this file", file.path)));
        }
        files.push(Arc::new(file));
    }

    let mut directories = Vec::with_capacity(raw.directories.len());
    let mut seen = HashSet::new();
    for (i, dir) in raw.directories.into_iter().enumerate() {
        let origin = src.origin(dir.span(), format!("directories[{i}]"));
        let dir = dir.into_inner();
        let path = dir.path.into_inner();
        if !seen.insert(path.clone()) {
            return Err(origin.error(format!("directory {path} is declared twice in this file")));
        }
        directories.push(Arc::new(Directory {
            path,
            mode: dir.mode.map_or(Mode::new(0o755), Spanned::into_inner),
            user: dir.user,
            group: dir.group,
            origin,
        }));
    }

    let mut butane = Vec::with_capacity(raw.butane.len());
    for (i, name) in raw.butane.into_iter().enumerate() {
        let origin = src.origin(name.span(), format!("butane[{i}]"));
        let name = name.into_inner();
        check_snippet_name(&name).map_err(|msg| origin.error(msg))?;
        butane.push(Arc::new(Snippet { name, origin }));
    }

    Ok(Layer {
        profiles,
        butane,
        ssh_authorized_keys: ssh_keys(src, raw.ssh_authorized_keys)?,
        vars: raw.vars,
        kernel_arguments: KernelArguments {
            should_exist: raw.kernel_arguments.should_exist,
            should_not_exist: raw.kernel_arguments.should_not_exist,
        },
        units,
        files,
        directories,
    })
}

/// A snippet names a file inside `templates/`: a relative path without
/// `..`, so that it cannot point anywhere else.
fn check_snippet_name(name: &str) -> std::result::Result<(), String> {
    let inside = !name.is_empty()
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if inside {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a file name in templates/ (a relative path without `..`)"
        ))
    }
}

fn ssh_keys(src: &SourceFile, keys: Vec<Spanned<String>>) -> Result<Vec<String>> {
    keys.into_iter()
        .map(|key| {
            let looks_like_key =
                key.get_ref().split_whitespace().count() >= 2 && !key.get_ref().contains('\n');
            if looks_like_key {
                Ok(key.into_inner())
            } else {
                Err(src.error(
                    key.span(),
                    "not an SSH public key line (expected \"TYPE BASE64 [COMMENT]\")",
                ))
            }
        })
        .collect()
}

/// `template` or `contents`, at most one of them.
fn contents(
    src: &SourceFile,
    template: Option<Spanned<String>>,
    inline: Option<Spanned<String>>,
    key: &str,
) -> Result<Option<Contents>> {
    match (template, inline) {
        (Some(_), Some(inline)) => Err(src.error(
            inline.span(),
            "give either `template` or `contents`, not both",
        )),
        (Some(template), None) => Ok(Some(Contents::Template {
            origin: src.origin(template.span(), format!("{key}.template")),
            name: template.into_inner(),
        })),
        (None, Some(inline)) => Ok(Some(Contents::Inline(inline.into_inner()))),
        (None, None) => Ok(None),
    }
}

fn resolve_unit(src: &SourceFile, raw: RawUnit, index: usize) -> Result<Unit> {
    let key = format!("units[{index}]");
    let origin = src.origin(raw.name.span(), key.clone());
    let unit_contents = contents(src, raw.template, raw.contents, &key)?;
    let mut dropins = Vec::with_capacity(raw.dropins.len());
    for (i, dropin) in raw.dropins.into_iter().enumerate() {
        let span = dropin.span();
        let RawDropin {
            name,
            template,
            contents: inline,
        } = dropin.into_inner();
        let key = format!("{key}.dropins[{i}]");
        let Some(dropin_contents) = contents(src, template, inline, &key)? else {
            return Err(src.error(span, "a drop-in needs `template` or `contents`"));
        };
        if dropins.iter().any(|d: &Dropin| &d.name == name.get_ref()) {
            return Err(src.error(name.span(), "this drop-in is declared twice for the unit"));
        }
        dropins.push(Dropin {
            origin: src.origin(span, key),
            name: name.into_inner(),
            contents: dropin_contents,
        });
    }
    Ok(Unit {
        name: raw.name.into_inner(),
        enabled: raw.enabled,
        mask: raw.mask,
        contents: unit_contents,
        dropins,
        origin,
    })
}

fn resolve_file(src: &SourceFile, file: Spanned<RawFile>, index: usize) -> Result<FileEntry> {
    let key = format!("files[{index}]");
    let origin = src.origin(file.span(), key.clone());
    let raw = file.into_inner();
    Ok(FileEntry {
        contents: contents(src, raw.template, raw.contents, &key)?,
        path: raw.path.into_inner(),
        mode: raw.mode.map_or(Mode::new(0o644), Spanned::into_inner),
        user: raw.user,
        group: raw.group,
        overwrite: raw.overwrite.unwrap_or(true),
        origin,
    })
}
