//! The `storage` section's own checks and its filesystem nodes:
//! Ignition's `storage.go` (links under links, hard links, filesystems over
//! disks), `node.go`, `path.go`, `mode.go`, `file.go` and `directory.go`
//! of `config/v3_X/types`. Disks, filesystems and RAID are in `disk`,
//! LUKS in `luks`.

use std::collections::HashMap;

use super::ignition::resource;
use super::{disk, is_true, luks};
use crate::butane::ign::Spec;
use crate::butane::ign::errors as msg;
use crate::butane::ign::gostr;
use crate::butane::ign::types::{Directory, File, Link, NodeOwner, Storage};
use crate::butane::report::{Path, Report};

/// `Storage.Validate`, then its fields in Go order.
pub(super) fn storage(s: &Storage, p: &Path, spec: Spec, r: &mut Report) {
    storage_checks(s, p, r);
    for (i, d) in s.directories.iter().enumerate() {
        directory(d, &p.with("directories").with(i), r);
    }
    for (i, d) in s.disks.iter().enumerate() {
        disk::disk(d, &p.with("disks").with(i), r);
    }
    for (i, f) in s.files.iter().enumerate() {
        file(f, &p.with("files").with(i), spec, r);
    }
    for (i, f) in s.filesystems.iter().enumerate() {
        disk::filesystem(f, &p.with("filesystems").with(i), r);
    }
    for (i, l) in s.links.iter().enumerate() {
        link(l, &p.with("links").with(i), r);
    }
    for (i, l) in s.luks.iter().enumerate() {
        luks::luks(l, &p.with("luks").with(i), spec, r);
    }
    for (i, raid) in s.raid.iter().enumerate() {
        disk::raid(raid, &p.with("raid").with(i), r);
    }
}

/// `Storage.Validate`: `validateDirectories`, `validateFiles`,
/// `validateLinks`, `validateFilesystems`, in that order.
fn storage_checks(s: &Storage, p: &Path, r: &mut Report) {
    // One error per link the path lies under.
    let links_above = |path: &str| {
        s.links
            .iter()
            .filter(|l| path.starts_with(&format!("{}/", l.path)))
            .count()
    };
    for (i, d) in s.directories.iter().enumerate() {
        for _ in 0..links_above(&d.path) {
            r.error(p.with("directories").with(i), msg::DIRECTORY_USED_SYMLINK);
        }
    }
    for (i, f) in s.files.iter().enumerate() {
        for _ in 0..links_above(&f.path) {
            r.error(p.with("files").with(i), msg::FILE_USED_SYMLINK);
        }
    }
    for (i, l) in s.links.iter().enumerate() {
        link_checks(s, l, &p.with("links").with(i), r);
    }
    filesystem_checks(s, p, r);
}

/// One link of `validateLinks`.
fn link_checks(s: &Storage, l: &Link, p: &Path, r: &mut Report) {
    for l2 in &s.links {
        if l.path.starts_with(&format!("{}/", l2.path)) {
            r.error(p.clone(), msg::LINK_USED_SYMLINK);
        }
    }
    let target = match l.target.as_deref() {
        None | Some("") => {
            r.error(p.with("target"), msg::LINK_TARGET_REQUIRED);
            return;
        }
        Some(t) => t,
    };
    if !is_true(l.hard) {
        return;
    }
    // Upstream resolves a relative target against the link's own path.
    let mut resolved = gostr::clean(target);
    if !gostr::is_abs(&resolved) {
        resolved = gostr::join(&[&l.path, target]);
    }
    for d in &s.directories {
        if resolved == d.path {
            r.error(p.clone(), msg::HARD_LINK_TO_DIRECTORY);
        }
    }
    let owner_fields = [
        (l.user.id.is_some(), "user", "id"),
        (l.user.name.is_some(), "user", "name"),
        (l.group.id.is_some(), "group", "id"),
        (l.group.name.is_some(), "group", "name"),
    ];
    for (set, owner, field) in owner_fields {
        if set {
            r.warn(p.with(owner).with(field), msg::HARD_LINK_SPECIFIES_OWNER);
        }
    }
}

/// `validateFilesystems`: a filesystem on a whole disk that is also
/// partitioned, or whose table is wiped.
fn filesystem_checks(s: &Storage, p: &Path, r: &mut Report) {
    // Like Go's map, a later disk with the same device wins.
    let disks: HashMap<&str, _> = s.disks.iter().map(|d| (d.device.as_str(), d)).collect();
    for (i, f) in s.filesystems.iter().enumerate() {
        let Some(disk) = disks.get(f.device.as_str()) else {
            continue;
        };
        let at = p.with("filesystems").with(i).with("device");
        if !disk.partitions.is_empty() {
            r.warn(at, msg::PARTITIONS_OVERWRITTEN);
        } else if !is_true(f.wipe_filesystem) && is_true(disk.wipe_table) {
            r.warn(at, msg::FILESYSTEM_IMPLICIT_WIPE);
        }
    }
}

/// `validatePath` (path.go).
pub(super) fn path_error(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        Some(msg::NO_PATH)
    } else if !gostr::is_abs(p) {
        Some(msg::PATH_RELATIVE)
    } else if gostr::clean(p) != p {
        Some(msg::DIRTY_PATH)
    } else {
        None
    }
}

/// `Node.Validate`: the path.
fn node(path: &str, p: &Path, r: &mut Report) {
    if let Some(e) = path_error(path) {
        r.error(p.with("path"), e);
    }
}

/// `NodeUser.Validate` / `NodeGroup.Validate`.
fn owner(o: &NodeOwner, p: &Path, r: &mut Report) {
    if o.id.is_some() && o.name.as_deref().is_some_and(|n| !n.is_empty()) {
        r.error(p.clone(), msg::BOTH_ID_AND_NAME_SET);
    }
}

/// The walk of `Node`'s fields: `group`, `overwrite`, `path`, `user`.
fn node_fields(group: &NodeOwner, user: &NodeOwner, p: &Path, r: &mut Report) {
    owner(group, &p.with("group"), r);
    owner(user, &p.with("user"), r);
}

/// `validateMode` and `validateModeSpecialBits` (mode.go); every spec from
/// 3.3.0 to 3.5.0 warns about special bits.
fn mode(m: Option<i64>, p: &Path, r: &mut Report) {
    let Some(m) = m else {
        return;
    };
    if !(0..=0o7777).contains(&m) {
        r.error(p.with("mode"), msg::FILE_ILLEGAL_MODE);
    }
    if m & 0o7000 != 0 {
        r.warn(p.with("mode"), msg::MODE_SPECIAL_BITS);
    }
}

/// `Directory.Validate`, then its fields.
fn directory(d: &Directory, p: &Path, r: &mut Report) {
    node(&d.path, p, r);
    mode(d.mode, p, r);
    node_fields(&d.group, &d.user, p, r);
}

/// `File.Validate`, then its fields.
fn file(f: &File, p: &Path, spec: Spec, r: &mut Report) {
    node(&f.path, p, r);
    mode(f.mode, p, r);
    if is_true(f.overwrite) && f.contents.source.is_none() {
        r.error(p.with("overwrite"), msg::OVERWRITE_AND_NIL_SOURCE);
    }
    node_fields(&f.group, &f.user, p, r);
    for (i, a) in f.append.iter().enumerate() {
        resource(a, &p.with("append").with(i), spec, r);
    }
    resource(&f.contents, &p.with("contents"), spec, r);
}

/// `Link`'s promoted `Node.Validate`, then its fields; the link-specific
/// checks are `Storage.Validate`'s.
fn link(l: &Link, p: &Path, r: &mut Report) {
    node(&l.path, p, r);
    node_fields(&l.group, &l.user, p, r);
}
