//! Translating a checked Butane document into an Ignition config, with the
//! translation set that maps each part of the config back to the document.
//!
//! The steps and their order are upstream's: the base sections field by
//! field (with `inline` and `local` contents becoming data URLs), then the
//! mount units of filesystems, then the trees of the files-dir, then
//! fcos's own sugar (`boot_device`, `grub`). Generated configs are merged
//! into the user's with Ignition's merge rules, so that what the user
//! wrote wins.

mod boot;
mod copy;
mod grub;
pub(crate) mod local;
mod mount;
mod resource;
pub(crate) mod set;
mod tree;

use std::path::PathBuf;

use super::ign;
use super::messages as msg;
use super::report::{Report, path};
use super::schema::{Config, Version};
pub(crate) use set::{TranslationSet, untracked};

/// What the translation may use beyond the document.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where `local` paths, `contents_local`, `ssh_authorized_keys_local`
    /// and trees are read from; without it they are errors.
    pub files_dir: Option<PathBuf>,
}

/// The config, its translation set and the report of the translation.
pub(crate) struct Translated {
    pub config: ign::Config,
    pub set: TranslationSet,
    pub report: Report,
}

/// Upstream's `ToIgn3_xUnvalidated`: no checks beyond what translating
/// itself finds (unreadable local files, tree conflicts).
pub(crate) fn translate(c: &Config, version: Version, opts: &Options) -> Translated {
    let mut out = ign::Config::default();
    let mut ts = TranslationSet::new();
    let mut r = Report::new();

    copy::ignition(c, version, opts, &mut out, &mut ts, &mut r);
    copy::kernel_arguments(c, &mut out, &mut ts);
    copy::passwd(c, opts, &mut out, &mut ts, &mut r);
    copy::storage(c, opts, &mut out, &mut ts, &mut r);
    copy::systemd(c, opts, &mut out, &mut ts, &mut r);

    mount::add_mount_units(c, &mut out, &mut ts);
    tree::process_trees(c, opts, &mut out, &mut ts, &mut r);
    if r.is_fatal() {
        return Translated {
            config: ign::Config::default(),
            set: TranslationSet::new(),
            report: r,
        };
    }

    r.merge(boot::process_boot_device(c, version, &mut out, &mut ts));
    r.merge(reserved_label_warnings(&out));
    if version >= Version::V1_5 {
        grub::add_grub_config(c, &mut out, &mut ts);
    }
    Translated {
        config: out,
        set: ts,
        report: r,
    }
}

/// fcos warns about a partition that takes one of the OS's reserved labels
/// at another number, on a disk that keeps its partition table: Ignition
/// would create a new partition under that label.
fn reserved_label_warnings(c: &ign::Config) -> Report {
    let mut r = Report::new();
    for (i, disk) in c.storage.disks.iter().enumerate() {
        if disk.wipe_table == Some(true) {
            continue;
        }
        for (j, p) in disk.partitions.iter().enumerate() {
            let Some(label) = &p.label else { continue };
            let expected = match label.as_str() {
                "BIOS-BOOT" | "PowerPC-PReP-boot" => 1,
                "EFI-SYSTEM" => 2,
                "boot" => 3,
                "root" => 4,
                _ => continue,
            };
            if p.number != expected {
                r.warn(
                    path!(json; "storage", "disks", i, "partitions", j, "label"),
                    msg::WRONG_PARTITION_NUMBER,
                );
            }
        }
    }
    r
}

/// Merges a generated config (`parent`) into the translated one
/// (`child`) with Ignition's rules, and carries both translation sets
/// through the merge (upstream's `MergeTranslatedConfigs`).
pub(crate) fn merge_translated(
    parent: &ign::Config,
    parent_ts: &TranslationSet,
    child: &ign::Config,
    child_ts: &TranslationSet,
) -> (ign::Config, TranslationSet) {
    if !set::tracking() {
        return (
            ign::merge::merge_configs(parent, child),
            TranslationSet::new(),
        );
    }
    let (merged, transcript) = ign::merge::merge(parent, child);
    let mut ts = TranslationSet::new();
    for m in &transcript.mappings {
        let left = if m.from_child { child_ts } else { parent_ts };
        if let Some(from) = left.get(&m.from) {
            ts.add(from.clone(), m.to.clone());
        }
    }
    (merged, ts)
}
