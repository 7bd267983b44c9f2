//! The declarative inventory under `hosts/`, loaded into resolved hosts.
//!
//! ```text
//! hosts/cluster.toml        cluster-wide settings, SSH keys, vars, the CAs
//! hosts/groups/all.toml     optional: what every host gets
//! hosts/groups/<group>.toml what the hosts of a group share
//! hosts/<host>.toml         one host; the file stem is its name
//! ```
//!
//! Loading parses every file (`raw.rs`), checks each value as it is read
//! (`layer.rs`), and merges cluster, then `all`, then the host's groups in the
//! order it lists them, then the host (`load.rs`); the same merge, traced,
//! says where each of a host's entries came from ([`Inventory::trace`]). What comes out is a list of
//! [`Host`]s that need no further checking: rendering only looks things up.
//! Each item remembers where it was declared ([`Origin`]), so that a problem
//! found later (a missing template, an undefined variable) still points at
//! the right line.

mod layer;
mod load;
mod raw;
mod server;
mod source;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::values::{
    AbsPath, Domain, DropinName, HostName, MacAddr, Mode, SmbiosUuid, UnitName,
};
pub use layer::{Declaration, Declared, Effect, LayerName};
pub use server::{Boot, BootArgument, BootUrl, Server, ServerUrl, Ttl, UrlHost, release_of};
pub use source::did_you_mean;

use crate::error::{Error, Place, Result};
use crate::ignition::SpecVersion;
use crate::pki::{CaSpec, Profile};

#[derive(Debug)]
pub struct Inventory {
    /// The folder that holds `hosts/` (and usually `templates/`).
    pub root: PathBuf,
    pub cluster: Cluster,
    /// Sorted by name.
    pub hosts: Vec<Host>,
    /// Index into `hosts` by MAC address and SMBIOS UUID, for boot-time
    /// lookups.
    by_machine: HashMap<MachineId, usize>,
    /// What an operator should hear before first boot but that does not
    /// stop a render, each naming its file.
    pub warnings: Vec<String>,
    /// The cluster's and the groups' layers, for [`Inventory::trace`].
    layers: Layers,
}

/// What the cluster and each group contribute, as loaded.
#[derive(Debug)]
struct Layers {
    cluster: layer::Layer,
    groups: BTreeMap<String, layer::Layer>,
}

impl Inventory {
    /// Loads and checks `root/hosts/`.
    pub fn load(root: &Path) -> Result<Inventory> {
        load::load(root)
    }

    /// The host called `name`, or an error that suggests a close name.
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.find_host(name).ok_or_else(|| {
            let mut msg = format!("no host `{name}` in {}", self.hosts_dir().display());
            if let Some(best) = did_you_mean(name, self.hosts.iter().map(|h| h.name.as_str())) {
                msg.push_str(&format!(" (did you mean `{best}`?)"));
            }
            Error::new(msg)
        })
    }

    /// The host called `name`, found by binary search (hosts are sorted),
    /// without [`Inventory::host`]'s suggestion, which costs a comparison
    /// with every host.
    pub fn find_host(&self, name: &str) -> Option<&Host> {
        let i = self
            .hosts
            .binary_search_by(|h| h.name.as_str().cmp(name))
            .ok()?;
        Some(&self.hosts[i])
    }

    /// The host with this MAC address or SMBIOS UUID.
    pub fn host_by_machine(&self, id: MachineId) -> Option<&Host> {
        self.by_machine.get(&id).map(|&i| &self.hosts[i])
    }

    /// Every unit, file, directory and kernel argument that `host`'s
    /// layers (cluster, groups in order, its own file) declare, in merge
    /// order, each with its layer and what the merge did with it: where the
    /// host's entries came from, and what they replaced. The host's file
    /// is read again; the rest was kept when loading.
    pub fn trace(&self, host: &Host) -> Result<Vec<Declaration>> {
        load::trace_host(self, host)
    }

    pub fn hosts_dir(&self) -> PathBuf {
        self.root.join("hosts")
    }
}

/// What a machine says of itself at boot, before it has a config: one of
/// its MACs (iPXE's `${net0/mac}`) or its SMBIOS UUID (`${uuid}`). Each is
/// unique across hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MachineId {
    Mac(MacAddr),
    Uuid(SmbiosUuid),
}

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineId::Mac(mac) => mac.fmt(f),
            MachineId::Uuid(uuid) => uuid.fmt(f),
        }
    }
}

impl Host {
    /// Every MAC and the UUID, as boot-time lookups find the host.
    pub fn machine_ids(&self) -> impl Iterator<Item = MachineId> + '_ {
        let macs = self.macs.iter().map(|&mac| MachineId::Mac(mac));
        macs.chain(self.uuid.map(MachineId::Uuid))
    }
}

/// `hosts/cluster.toml`, resolved.
#[derive(Debug)]
pub struct Cluster {
    pub name: HostName,
    pub domain: Option<Domain>,
    pub spec: SpecVersion,
    pub ssh_authorized_keys: Vec<String>,
    pub vars: toml::Table,
    /// The CAs by name; every host trusts all of them.
    pub cas: BTreeMap<String, CaSpec>,
    /// Certificate profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Where hosts reach `coregen serve`; needed once any host has profiles.
    pub server: Option<Server>,
    /// The live images and pointer URL for PXE boots (`coregen pxe`).
    pub boot: Option<Boot>,
}

/// One host with cluster, groups and its own file merged.
#[derive(Clone, Debug)]
pub struct Host {
    pub name: HostName,
    /// `name.domain`, or the name when the cluster has no domain.
    pub fqdn: String,
    pub ip: Option<IpAddr>,
    /// `mac` first, then `macs`: every MAC the machine may boot from.
    pub macs: Vec<MacAddr>,
    pub uuid: Option<SmbiosUuid>,
    pub install_disk: Option<AbsPath>,
    /// Every group the host is in, `all` first when it exists, in merge order.
    pub groups: Vec<String>,
    /// Certificate profiles the host gets, by name.
    pub profiles: Vec<String>,
    pub ssh_authorized_keys: Vec<String>,
    pub vars: toml::Table,
    pub kernel_arguments: KernelArguments,
    /// Entries that come from a group are shared by its hosts, not copied.
    pub units: Vec<Arc<Unit>>,
    pub files: Vec<Arc<FileEntry>>,
    pub directories: Vec<Arc<Directory>>,
    /// Butane snippets merged into the config, group snippets first (in
    /// the host's group order), then the host's own; a later one wins.
    pub butane: Vec<Arc<Snippet>>,
    /// The host's own inventory file.
    pub file: PathBuf,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelArguments {
    pub should_exist: Vec<String>,
    pub should_not_exist: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Unit {
    pub name: UnitName,
    /// `None` leaves the unit's enablement to its preset.
    pub enabled: Option<bool>,
    pub mask: bool,
    /// `None` configures a unit the OS already ships (enable, mask, drop-ins).
    pub contents: Option<Contents>,
    pub dropins: Vec<Dropin>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Dropin {
    pub name: DropinName,
    pub contents: Contents,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct FileEntry {
    pub path: AbsPath,
    pub mode: Mode,
    pub user: Option<String>,
    pub group: Option<String>,
    pub overwrite: bool,
    /// `None` makes an empty file.
    pub contents: Option<Contents>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Directory {
    pub path: AbsPath,
    pub mode: Mode,
    pub user: Option<String>,
    pub group: Option<String>,
    pub origin: Origin,
}

/// A Butane snippet: a file in `templates/` (rendered first when its name
/// ends in `.hbs`) whose translation is merged into a host's config.
#[derive(Clone, Debug)]
pub struct Snippet {
    /// The file name in `templates/`, such as `lb.bu` or `lb.bu.hbs`.
    pub name: String,
    /// Where the inventory lists it.
    pub origin: Origin,
}

impl Snippet {
    /// Whether the snippet is a handlebars template (`.hbs`), rendered for
    /// each host before translation.
    pub fn is_template(&self) -> bool {
        self.name.ends_with(".hbs")
    }
}

/// Where the text of a file, unit or drop-in comes from.
#[derive(Clone, Debug)]
pub enum Contents {
    /// A template by name; the origin is the `template` key, for errors.
    Template { name: String, origin: Origin },
    /// Text taken literally from the inventory.
    Inline(String),
}

/// Where in the inventory an item or a key was declared. Cheap to clone,
/// since items of a group are copied into each of its hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(Arc<(Place, String)>);

impl Origin {
    pub fn new(place: Place, key: String) -> Origin {
        Origin(Arc::new((place, key)))
    }

    pub fn place(&self) -> &Place {
        &self.0.0
    }

    pub fn key(&self) -> &str {
        &self.0.1
    }

    /// An error about this item, pointing at its declaration.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::new(message).at(self.place().clone()).key(self.key())
    }

    /// An error about one key of this item, such as its `mode`.
    pub fn error_in(&self, key: &str, message: impl Into<String>) -> Error {
        Error::new(message)
            .at(self.place().clone())
            .key(format!("{}.{key}", self.key()))
    }
}
