//! Ignition's own validation of a config: what
//! `vcontext/validate.Validate(cfg, "json")` reports for the types of
//! `config/v3_3`, `v3_4` or `v3_5` in Ignition v2.23.0.
//!
//! vcontext walks the config by reflection: a value's `Validate` method
//! first, then its fields in declaration order (embedded structs such as
//! `Node` flattened), list items by index. The functions here follow that
//! walk by hand, one per Go type; each says which Go file it mirrors.
//! Paths are Ignition (json) paths from the root of the config.
//!
//! This module owns `Config.Validate` (config.go); the rest is split by
//! area: `ignition` (ignition.go, proxy.go, tls.go, resource.go,
//! headers.go, verification.go, url.go), `storage` (storage.go, node.go,
//! file.go, directory.go, mode.go, path.go), `disk` (disk.go,
//! partition.go, filesystem.go, raid.go), `luks` (luks.go, clevis.go,
//! tang.go, cex.go) and `systemd` (systemd.go, unit.go).

mod disk;
mod ignition;
mod luks;
mod storage;
mod systemd;

use std::collections::HashSet;

use super::Spec;
use super::errors as msg;
use super::types::Config;
use crate::butane::report::{Path, Report};

pub(crate) use ignition::version_error;

/// The report of `validate.Validate(cfg, "json")` for `spec`'s types.
/// Fields that `spec` lacks are neither read nor reported on.
pub fn validate(cfg: &Config, spec: Spec) -> Report {
    let mut r = Report::new();
    let root = Path::json();
    config_checks(cfg, &root, &mut r);
    ignition::ignition(&cfg.ignition, &root.with("ignition"), spec, &mut r);
    // kernelArguments and passwd have no checks.
    storage::storage(&cfg.storage, &root.with("storage"), spec, &mut r);
    systemd::systemd(&cfg.systemd, &root.with("systemd"), &mut r);
    r
}

/// `Config.Validate`: files, directories and links must not sit where a
/// unit or drop-in with contents will be written.
fn config_checks(cfg: &Config, p: &Path, r: &mut Report) {
    const SYSTEMD: &str = "/etc/systemd/system/";
    let mut unit_paths = HashSet::new();
    for unit in &cfg.systemd.units {
        if unit.contents.as_deref().is_some_and(|c| !c.is_empty()) {
            unit_paths.insert(format!("{SYSTEMD}{}", unit.name));
        }
        for dropin in &unit.dropins {
            if dropin.contents.as_deref().is_some_and(|c| !c.is_empty()) {
                unit_paths.insert(format!("{SYSTEMD}{}.d/{}", unit.name, dropin.name));
            }
        }
    }
    let storage = p.with("storage");
    let mut conflicts = |list: &'static str, paths: Vec<&String>| {
        for (i, path) in paths.into_iter().enumerate() {
            if unit_paths.contains(path.as_str()) {
                r.error(
                    storage.with(list).with(i).with("path"),
                    msg::PATH_CONFLICTS_SYSTEMD,
                );
            }
        }
    };
    conflicts("files", cfg.storage.files.iter().map(|f| &f.path).collect());
    conflicts(
        "directories",
        cfg.storage.directories.iter().map(|d| &d.path).collect(),
    );
    conflicts("links", cfg.storage.links.iter().map(|l| &l.path).collect());
}

/// `util.NotEmpty`.
fn not_empty(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

/// `util.IsTrue`.
fn is_true(b: Option<bool>) -> bool {
    b == Some(true)
}

#[cfg(test)]
mod tests;
