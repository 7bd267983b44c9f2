//! The inventory files exactly as written: serde structs that mirror the
//! TOML, with spans kept wherever a later check may need to point back.
//!
//! Unknown keys are refused here (`deny_unknown_fields`); checks that span
//! several keys or files happen when these are resolved in `load.rs`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;

use super::server::{BootArgument, BootUrl, ServerUrl, Ttl};
use crate::ignition::SpecVersion;
use crate::pki::{KeyType, Usage};
use crate::values::{AbsPath, Domain, DropinName, HostName, MacAddr, Mode, SmbiosUuid, UnitName};

/// `hosts/cluster.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub name: HostName,
    pub domain: Option<Domain>,
    pub spec: Option<SpecVersion>,
    #[serde(default)]
    pub ssh_authorized_keys: Vec<Spanned<String>>,
    #[serde(default)]
    pub vars: toml::Table,
    #[serde(default)]
    pub ca: BTreeMap<HostName, RawCa>,
    #[serde(default)]
    pub profiles: BTreeMap<HostName, Spanned<RawProfile>>,
    pub server: Option<RawServer>,
    pub boot: Option<RawBoot>,
}

/// `[server]` in cluster.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub url: ServerUrl,
    pub token_ttl: Option<Ttl>,
}

/// `[boot]` in cluster.toml. Each image is a URL or the name of a file in
/// serve's assets folder, resolved against `public_url` in `load.rs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBoot {
    pub kernel: Spanned<String>,
    pub initramfs: Spanned<String>,
    pub rootfs: Spanned<String>,
    pub public_url: BootUrl,
    #[serde(default)]
    pub kernel_arguments: Vec<BootArgument>,
}

/// `[ca.<name>]` in cluster.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCa {
    pub key_type: Option<KeyType>,
    pub validity_days: Option<Spanned<u32>>,
    pub usages: Option<Vec<Usage>>,
}

/// `[profiles.<name>]` in cluster.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub ca: Spanned<String>,
    pub usages: Spanned<Vec<Usage>>,
    pub common_name: String,
    #[serde(default)]
    pub dns_names: Vec<String>,
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    #[serde(default)]
    pub organization: Vec<String>,
    #[serde(default)]
    pub organizational_unit: Vec<String>,
    pub key_types: Option<Vec<KeyType>>,
    /// `"30d"`; `validity_days` is the older form of it. Not both.
    pub validity: Option<Spanned<String>>,
    pub validity_days: Option<Spanned<u32>>,
    pub renew_at: Option<Spanned<f64>>,
    #[serde(default)]
    pub reload: Vec<UnitName>,
    pub key_path: AbsPath,
    pub cert_path: AbsPath,
    pub ca_path: AbsPath,
}

/// A group file (`hosts/groups/<group>.toml`) or a host file
/// (`hosts/<host>.toml`). The host-only keys are refused in group files
/// when the layer is resolved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    pub groups: Option<Spanned<Vec<Spanned<String>>>>,
    pub ip: Option<Spanned<IpAddr>>,
    pub mac: Option<Spanned<MacAddr>>,
    /// More MACs of the same machine (bonded NICs); with `mac` or alone.
    pub macs: Option<Spanned<Vec<Spanned<MacAddr>>>>,
    pub uuid: Option<Spanned<SmbiosUuid>>,
    pub install_disk: Option<Spanned<AbsPath>>,
    #[serde(default)]
    pub profiles: Vec<Spanned<String>>,
    #[serde(default)]
    pub ssh_authorized_keys: Vec<Spanned<String>>,
    #[serde(default)]
    pub vars: toml::Table,
    #[serde(default)]
    pub kernel_arguments: RawKernelArguments,
    #[serde(default)]
    pub units: Vec<Spanned<RawUnit>>,
    #[serde(default)]
    pub files: Vec<Spanned<RawFile>>,
    #[serde(default)]
    pub directories: Vec<Spanned<RawDirectory>>,
    /// Butane snippets, by file name in `templates/`.
    #[serde(default)]
    pub butane: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKernelArguments {
    #[serde(default)]
    pub should_exist: Vec<Spanned<String>>,
    #[serde(default)]
    pub should_not_exist: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUnit {
    pub name: Spanned<UnitName>,
    pub enabled: Option<bool>,
    #[serde(default)]
    pub mask: bool,
    pub template: Option<Spanned<String>>,
    pub contents: Option<Spanned<String>>,
    #[serde(default)]
    pub dropins: Vec<Spanned<RawDropin>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDropin {
    pub name: Spanned<DropinName>,
    pub template: Option<Spanned<String>>,
    pub contents: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub path: Spanned<AbsPath>,
    pub mode: Option<Spanned<Mode>>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub overwrite: Option<bool>,
    pub template: Option<Spanned<String>>,
    pub contents: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDirectory {
    pub path: Spanned<AbsPath>,
    pub mode: Option<Spanned<Mode>>,
    pub user: Option<String>,
    pub group: Option<String>,
}
