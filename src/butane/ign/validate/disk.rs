//! Block devices: Ignition's `disk.go`, `partition.go`, `filesystem.go`
//! and `raid.go` of `config/v3_X/types` (identical in 3.3.0 to 3.5.0).

use std::collections::{BTreeMap, HashSet};

use super::not_empty;
use super::storage::path_error;
use crate::butane::ign::errors as msg;
use crate::butane::ign::types::{Disk, Filesystem, Partition, Raid};
use crate::butane::report::{Path, Report};

/// `Disk.Validate`, then its partitions.
pub(super) fn disk(d: &Disk, p: &Path, r: &mut Report) {
    disk_checks(d, p, r);
    for (i, part) in d.partitions.iter().enumerate() {
        partition(part, &p.with("partitions").with(i), r);
    }
}

fn disk_checks(d: &Disk, p: &Path, r: &mut Report) {
    if d.device.is_empty() {
        r.error(p.with("device"), msg::DISK_DEVICE_REQUIRED);
        return;
    }
    if let Some(e) = path_error(&d.device) {
        r.error(p.with("device"), e);
    }
    let parts = p.with("partitions");
    if let Some(i) = numbers_collide(&d.partitions) {
        r.error(parts.with(i), msg::PARTITION_NUMBERS_COLLIDE);
    }
    if let Some(i) = partitions_overlap(&d.partitions) {
        r.error(parts.with(i), msg::PARTITIONS_OVERLAP);
    }
    if mix_zeroes_and_nonexistence(&d.partitions) {
        r.error(parts.clone(), msg::ZEROES_WITH_SHOULD_NOT_EXIST);
    }
    if let Some(i) = labels_collide(&d.partitions) {
        r.error(parts.with(i), msg::DUPLICATE_LABELS);
    }
}

/// `partitionNumbersCollide`: the index of the second partition with a
/// repeated non-zero number. Upstream picks the colliding number by Go map
/// order, which is random when several numbers collide; this takes the
/// smallest number, so the result is at least stable.
fn numbers_collide(parts: &[Partition]) -> Option<usize> {
    let mut by_number: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, p) in parts.iter().enumerate() {
        if p.number != 0 {
            by_number.entry(p.number).or_default().push(i);
        }
    }
    by_number.values().find(|v| v.len() > 1).map(|v| v[1])
}

/// `partitionLabelsCollide`: the index of the first repeated label.
fn labels_collide(parts: &[Partition]) -> Option<usize> {
    let mut seen = HashSet::new();
    parts
        .iter()
        .enumerate()
        .find(|(_, p)| p.label.as_ref().is_some_and(|l| !seen.insert(l)))
        .map(|(i, _)| i)
}

/// `Partition.end`: the last MiB of a sized partition (Go int arithmetic).
fn end(start: i64, size: i64) -> i64 {
    if size == 0 {
        start
    } else {
        start.wrapping_add(size).wrapping_sub(1)
    }
}

/// `partitionsOverlap`: for the first explicitly placed partition that
/// overlaps another, the index of that other one.
fn partitions_overlap(parts: &[Partition]) -> Option<usize> {
    let placed = |p: &Partition| match (p.start_mib, p.size_mib) {
        (Some(start), Some(size)) if start != 0 => Some((start, size)),
        _ => None,
    };
    for (pi, p) in parts.iter().enumerate() {
        let Some((ps, psz)) = placed(p) else {
            continue;
        };
        let pe = end(ps, psz);
        for (oi, o) in parts.iter().enumerate() {
            // Go compares the structs, pointers included, so a partition
            // only ever equals itself.
            if oi == pi {
                continue;
            }
            let Some((os, osz)) = placed(o) else {
                continue;
            };
            let oe = end(os, osz);
            if (ps >= os && ps <= oe) || (pe >= os && pe <= oe) || (ps < os && pe > oe) {
                return Some(oi);
            }
        }
    }
    None
}

/// `partitionsMixZeroesAndNonexistence`.
fn mix_zeroes_and_nonexistence(parts: &[Partition]) -> bool {
    parts.iter().any(|p| p.should_exist == Some(false)) && parts.iter().any(|p| p.number == 0)
}

/// `Partition.Validate`.
fn partition(part: &Partition, p: &Path, r: &mut Report) {
    if part.should_exist == Some(false)
        && (part.label.is_some()
            || not_empty(&part.type_guid)
            || not_empty(&part.guid)
            || part.start_mib.is_some()
            || part.size_mib.is_some())
    {
        r.error(p.clone(), msg::SHOULD_NOT_EXIST_WITH_OTHERS);
    }
    if part.number == 0 && part.label.is_none() {
        r.error(p.clone(), msg::NEED_LABEL_OR_NUMBER);
    }
    if let Some(label) = &part.label {
        // GPT names hold 36 UTF-16 code units; upstream counts bytes.
        if label.len() > 36 {
            r.error(p.with("label"), msg::LABEL_TOO_LONG);
        } else if label.contains(':') {
            r.error(p.with("label"), msg::LABEL_CONTAINS_COLON);
        }
    }
    if part.guid.as_deref().is_some_and(|g| !is_guid(g)) {
        r.error(p.with("guid"), msg::DOESNT_MATCH_GUID_REGEX);
    }
    if part.type_guid.as_deref().is_some_and(|g| !is_guid(g)) {
        r.error(p.with("typeGuid"), msg::DOESNT_MATCH_GUID_REGEX);
    }
}

/// `^(|[[:xdigit:]]{8}-[[:xdigit:]]{4}-[[:xdigit:]]{4}-[[:xdigit:]]{4}-[[:xdigit:]]{12})$`
fn is_guid(g: &str) -> bool {
    if g.is_empty() {
        return true;
    }
    let groups: Vec<&str> = g.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(s, n)| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Filesystem.Validate`.
pub(super) fn filesystem(f: &Filesystem, p: &Path, r: &mut Report) {
    if let Some(e) = f
        .path
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(path_error)
    {
        r.error(p.with("path"), e);
    }
    if let Some(e) = path_error(&f.device) {
        r.error(p.with("device"), e);
    }
    if let Some(e) = format_error(f) {
        r.error(p.with("format"), e);
    }
    if let Some(e) = filesystem_label_error(f) {
        r.error(p.with("label"), e);
    }
}

/// `Filesystem.validateFormat`.
fn format_error(f: &Filesystem) -> Option<&'static str> {
    match f.format.as_deref() {
        None | Some("") => {
            let others = not_empty(&f.path)
                || not_empty(&f.label)
                || not_empty(&f.uuid)
                || f.wipe_filesystem == Some(true)
                || !f.mount_options.is_empty()
                || !f.options.is_empty();
            others.then_some(msg::FORMAT_NIL_WITH_OTHERS)
        }
        Some("ext4" | "btrfs" | "xfs" | "swap" | "vfat" | "none") => None,
        Some(_) => Some(msg::FILESYSTEM_INVALID_FORMAT),
    }
}

/// `Filesystem.validateLabel`: per-format limits, in bytes.
fn filesystem_label_error(f: &Filesystem) -> Option<&'static str> {
    let label = f.label.as_deref().filter(|l| !l.is_empty())?;
    let (limit, e) = match f.format.as_deref() {
        None | Some("") => return Some(msg::LABEL_NEEDS_FORMAT),
        Some("ext4") => (16, msg::EXT4_LABEL_TOO_LONG),
        Some("btrfs") => (256, msg::BTRFS_LABEL_TOO_LONG),
        Some("xfs") => (12, msg::XFS_LABEL_TOO_LONG),
        Some("swap") => (15, msg::SWAP_LABEL_TOO_LONG),
        Some("vfat") => (11, msg::VFAT_LABEL_TOO_LONG),
        Some(_) => return None,
    };
    (label.len() > limit).then_some(e)
}

/// `Raid.Validate`.
pub(super) fn raid(ra: &Raid, p: &Path, r: &mut Report) {
    let level = match ra.level.as_deref() {
        None | Some("") => Some(msg::RAID_LEVEL_REQUIRED),
        Some("linear" | "raid0" | "0" | "stripe") if ra.spares.is_some_and(|s| s != 0) => {
            Some(msg::SPARES_UNSUPPORTED_FOR_LEVEL)
        }
        Some(
            "linear" | "raid0" | "0" | "stripe" | "raid1" | "1" | "mirror" | "raid4" | "4"
            | "raid5" | "5" | "raid6" | "6" | "raid10" | "10",
        ) => None,
        Some(_) => Some(msg::UNRECOGNIZED_RAID_LEVEL),
    };
    if let Some(e) = level {
        r.error(p.with("level"), e);
    }
    if ra.devices.is_empty() {
        r.error(p.with("devices"), msg::RAID_DEVICES_REQUIRED);
    }
}
