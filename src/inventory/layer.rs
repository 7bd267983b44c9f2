//! One inventory file (cluster.toml, a group, a host) resolved into a
//! [`Layer`]: what it contributes to a host, checked. And the merge of
//! layers, in the order cluster, groups, host.
//!
//! Merge rules: tables (`vars`) merge deeply and later scalars win; name
//! lists (`groups`, SSH keys, kernel arguments) union in order; units are
//! keyed by name and files and directories by path, and a later layer's
//! entry replaces an earlier one where it stood.
//!
//! The merge can also say what it did with each unit, file, directory and
//! kernel argument ([`Layer::merge_traced`]): which layer declared it, and
//! whether it was new, replaced an earlier entry, or repeated one. That is
//! the record `coregen show --why` reads; loading passes a trace that
//! records nothing, so the rules are written once.

use std::collections::HashSet;
use std::sync::Arc;

use toml::Spanned;

use super::raw::{RawDropin, RawFile, RawLayer, RawUnit};
use super::source::{SourceFile, did_you_mean};
use super::{Cluster, Contents, Directory, Dropin, FileEntry, Mode, Origin, Snippet, Unit};
use crate::error::Result;

/// Which layer of the inventory declared an entry (`hosts/cluster.toml`
/// declares no unit, file, directory or kernel argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerName {
    /// `hosts/groups/<name>.toml`.
    Group(String),
    /// The host's own file.
    Host,
}

/// One entry of a layer as the merge met it.
#[derive(Clone, Debug)]
pub enum Declared {
    Unit(Arc<Unit>),
    File(Arc<FileEntry>),
    Directory(Arc<Directory>),
    /// A kernel argument, to add or (`remove`) to remove.
    KernelArgument {
        value: String,
        remove: bool,
    },
}

/// An entry of a layer as the merge meets it, borrowed: a trace that
/// records nothing copies nothing.
#[derive(Clone, Copy)]
pub(super) enum Entry<'a> {
    Unit(&'a Arc<Unit>),
    File(&'a Arc<FileEntry>),
    Directory(&'a Arc<Directory>),
    KernelArgument { value: &'a str, remove: bool },
}

impl Entry<'_> {
    pub(super) fn to_owned(self) -> Declared {
        match self {
            Entry::Unit(u) => Declared::Unit(u.clone()),
            Entry::File(f) => Declared::File(f.clone()),
            Entry::Directory(d) => Declared::Directory(d.clone()),
            Entry::KernelArgument { value, remove } => Declared::KernelArgument {
                value: value.to_string(),
                remove,
            },
        }
    }
}

/// What the merge did with a declared entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing of its key came before.
    Added,
    /// It replaced the entry of an earlier layer with its key, where that
    /// stood.
    Replaced,
    /// A kernel argument already in the same list: the union kept the
    /// earlier one.
    Repeated,
}

/// One declaration, in merge order: the layer, where in its file, the
/// entry, and what the merge did with it.
#[derive(Clone, Debug)]
pub struct Declaration {
    pub layer: LayerName,
    pub origin: Origin,
    pub declared: Declared,
    pub effect: Effect,
}

/// A kernel argument of one layer, with where it is declared.
#[derive(Clone, Debug)]
pub(super) struct KernelArgument {
    pub(super) value: String,
    pub(super) origin: Origin,
}

/// `kernel_arguments` of one layer, or of layers merged.
#[derive(Clone, Debug, Default)]
pub(super) struct KernelArguments {
    pub(super) should_exist: Vec<KernelArgument>,
    pub(super) should_not_exist: Vec<KernelArgument>,
}

impl KernelArguments {
    /// The values, as a host keeps them.
    pub(super) fn values(&self) -> super::KernelArguments {
        let values = |list: &[KernelArgument]| list.iter().map(|a| a.value.clone()).collect();
        super::KernelArguments {
            should_exist: values(&self.should_exist),
            should_not_exist: values(&self.should_not_exist),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Group,
    Host,
}

/// What one file contributes to a host.
#[derive(Clone, Debug, Default)]
pub(super) struct Layer {
    pub(super) profiles: Vec<String>,
    pub(super) ssh_authorized_keys: Vec<String>,
    pub(super) vars: toml::Table,
    pub(super) kernel_arguments: KernelArguments,
    pub(super) units: Vec<Arc<Unit>>,
    pub(super) files: Vec<Arc<FileEntry>>,
    pub(super) directories: Vec<Arc<super::Directory>>,
    pub(super) butane: Vec<Arc<Snippet>>,
}

impl Layer {
    /// Merges `later` over this layer, telling `trace` what became of each
    /// unit, file, directory and kernel argument of `later`, in order.
    /// Loading passes a `trace` that does nothing.
    pub(super) fn merge_traced(
        &mut self,
        later: &Layer,
        trace: &mut impl FnMut(&Origin, Entry<'_>, Effect),
    ) {
        union(&mut self.profiles, &later.profiles);
        union(&mut self.ssh_authorized_keys, &later.ssh_authorized_keys);
        merge_tables(&mut self.vars, &later.vars);
        for (list, later_list, remove) in [
            (
                &mut self.kernel_arguments.should_exist,
                &later.kernel_arguments.should_exist,
                false,
            ),
            (
                &mut self.kernel_arguments.should_not_exist,
                &later.kernel_arguments.should_not_exist,
                true,
            ),
        ] {
            for arg in later_list {
                let effect = if list.iter().any(|a| a.value == arg.value) {
                    Effect::Repeated
                } else {
                    list.push(arg.clone());
                    Effect::Added
                };
                let value = &arg.value;
                trace(&arg.origin, Entry::KernelArgument { value, remove }, effect);
            }
        }
        replace_or_push(
            &mut self.units,
            &later.units,
            |u| u.name.as_str(),
            |u, effect| trace(&u.origin, Entry::Unit(u), effect),
        );
        replace_or_push(
            &mut self.files,
            &later.files,
            |f| f.path.as_str(),
            |f, effect| trace(&f.origin, Entry::File(f), effect),
        );
        replace_or_push(
            &mut self.directories,
            &later.directories,
            |d| d.path.as_str(),
            |d, effect| trace(&d.origin, Entry::Directory(d), effect),
        );
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

fn replace_or_push<T: Clone>(
    list: &mut Vec<T>,
    later: &[T],
    key: impl Fn(&T) -> &str,
    mut trace: impl FnMut(&T, Effect),
) {
    for item in later {
        match list.iter_mut().find(|old| key(old) == key(item)) {
            Some(old) => {
                *old = item.clone();
                trace(item, Effect::Replaced);
            }
            None => {
                list.push(item.clone());
                trace(item, Effect::Added);
            }
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

pub(super) fn resolve_layer(src: &SourceFile, kind: Kind, cluster: &Cluster) -> Result<Layer> {
    let raw: RawLayer = src.parse()?;
    resolve_layer_with(src, raw, kind, cluster)
}

pub(super) fn resolve_layer_with(
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
            raw.macs.as_ref().map(Spanned::span),
            raw.uuid.as_ref().map(Spanned::span),
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
        if !cluster.cas.contains_key(crate::contract::HTTP_CA) {
            return Err(src.error(
                profile.span(),
                "certificate profiles need the `http` CA ([ca.http] in hosts/cluster.toml): \
                 hosts enroll with `coregen serve` over HTTPS, trusting that CA",
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
            should_exist: kernel_arguments(src, raw.kernel_arguments.should_exist, "should_exist"),
            should_not_exist: kernel_arguments(
                src,
                raw.kernel_arguments.should_not_exist,
                "should_not_exist",
            ),
        },
        units,
        files,
        directories,
    })
}

fn kernel_arguments(
    src: &SourceFile,
    raw: Vec<Spanned<String>>,
    list: &str,
) -> Vec<KernelArgument> {
    (0..)
        .zip(raw)
        .map(|(i, arg)| KernelArgument {
            origin: src.origin(arg.span(), format!("kernel_arguments.{list}[{i}]")),
            value: arg.into_inner(),
        })
        .collect()
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

pub(super) fn ssh_keys(src: &SourceFile, keys: Vec<Spanned<String>>) -> Result<Vec<String>> {
    keys.into_iter()
        .map(|key| match public_key_problem(key.get_ref()) {
            None => Ok(key.into_inner()),
            Some(problem) => Err(src.error(key.span(), problem)),
        })
        .collect()
}

/// The key types OpenSSH writes in an `authorized_keys` line.
const SSH_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
];

/// Why `line` is not an SSH public key line (`TYPE BASE64 [COMMENT]`, the
/// base64 holding a blob that starts with TYPE), or None when it is one.
fn public_key_problem(line: &str) -> Option<String> {
    use base64::Engine;
    if line.contains("PRIVATE KEY") {
        return Some(
            "this is a private key: give the public key (the .pub file's line), and keep the \
             private one off the inventory"
                .into(),
        );
    }
    if line.contains('\n') {
        return Some("an SSH public key is one line".into());
    }
    let mut words = line.split_whitespace();
    let (Some(kind), Some(blob)) = (words.next(), words.next()) else {
        return Some("not an SSH public key line (expected \"TYPE BASE64 [COMMENT]\")".into());
    };
    if !SSH_KEY_TYPES.contains(&kind) {
        return Some(format!(
            "`{}` is not an SSH public key type (expected one of {})",
            crate::values::printable(kind),
            SSH_KEY_TYPES[..5].join(", ")
        ));
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(blob) else {
        return Some("the key's base64 does not decode".into());
    };
    // The blob starts with the type again, as a length-prefixed string.
    let named = bytes
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .and_then(|n| bytes.get(4..4 + n));
    if named != Some(kind.as_bytes()) {
        return Some(format!("the key's data is not a {kind} key"));
    }
    None
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    fn layer(file: &str, text: &str) -> Layer {
        let cluster = Cluster {
            name: "c".parse().unwrap(),
            domain: None,
            spec: Default::default(),
            ssh_authorized_keys: Vec::new(),
            vars: toml::Table::new(),
            cas: BTreeMap::new(),
            profiles: BTreeMap::new(),
            server: None,
            boot: None,
        };
        let src = SourceFile::new(PathBuf::from(file), text.to_string());
        resolve_layer(&src, Kind::Group, &cluster).unwrap()
    }

    /// What the trace hears: each entry of the later layer, in order, with
    /// its place and what the merge did with it.
    #[test]
    fn merge_traced_says_what_became_of_each_entry() {
        let mut merged = layer(
            "hosts/groups/a.toml",
            "kernel_arguments.should_exist = [\"quiet\"]\n\n\
             [[files]]\npath = \"/etc/motd\"\n\n\
             [[units]]\nname = \"a.service\"\n",
        );
        let later = layer(
            "hosts/groups/b.toml",
            "kernel_arguments.should_exist = [\"quiet\", \"rw\"]\n\
             kernel_arguments.should_not_exist = [\"quiet\"]\n\n\
             [[files]]\npath = \"/etc/motd\"\n\n\
             [[files]]\npath = \"/etc/issue\"\n\n\
             [[units]]\nname = \"a.service\"\n",
        );
        let mut heard = Vec::new();
        merged.merge_traced(&later, &mut |origin, entry, effect| {
            let what = match entry {
                Entry::Unit(u) => format!("unit {}", u.name),
                Entry::File(f) => format!("file {}", f.path),
                Entry::Directory(d) => format!("directory {}", d.path),
                Entry::KernelArgument { value, remove } => {
                    format!("{} {value}", if remove { '-' } else { '+' })
                }
            };
            heard.push(format!("{what} {effect:?} {}", origin.place()));
        });
        assert_eq!(
            heard,
            [
                "+ quiet Repeated hosts/groups/b.toml:1:34",
                "+ rw Added hosts/groups/b.toml:1:43",
                "- quiet Added hosts/groups/b.toml:2:38",
                "unit a.service Replaced hosts/groups/b.toml:11:8",
                "file /etc/motd Replaced hosts/groups/b.toml:4:1",
                "file /etc/issue Added hosts/groups/b.toml:7:1",
            ]
        );
        // The merge itself is what it was: the union, the replacements.
        let values = merged.kernel_arguments.values();
        assert_eq!(values.should_exist, ["quiet", "rw"]);
        assert_eq!(values.should_not_exist, ["quiet"]);
        assert_eq!(merged.files.len(), 2);
        assert_eq!(
            merged.files[0].origin.place().file,
            PathBuf::from("hosts/groups/b.toml")
        );
    }
}
