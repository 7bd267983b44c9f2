//! `boot_device`: the boot disk's encryption (LUKS with TPM2, Tang or IBM
//! CEX) and mirroring (RAID 1 over whole disks), expanded into the disks,
//! partitions, RAID arrays, LUKS volumes and filesystems that Fedora
//! CoreOS's image layout needs, as upstream expands them.
//!
//! The layout replicates the OS image's partitions (coreos-assembler's
//! create_disk.sh); its sizes are part of the on-disk format and must not
//! change.

use super::super::ign;
use super::super::report::{Path, Report, path};
use super::super::schema::{Config, Version};
use super::copy::tang;
use super::{TranslationSet, merge_translated};

const RESERVED_TYPE_GUID: &str = "8DA63339-0007-60C0-C436-083AC8230908";
const BIOS_TYPE_GUID: &str = "21686148-6449-6E6F-744E-656564454649";
const PREP_TYPE_GUID: &str = "9E1A2D38-C612-4316-AA26-8B49521E5A8B";
const ESP_TYPE_GUID: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

const RESERVED_SIZE_MIB: i64 = 1;
const BIOS_SIZE_MIB: i64 = 1;
const PREP_SIZE_MIB: i64 = 4;
const ESP_SIZE_MIB: i64 = 127;
const BOOT_SIZE_MIB: i64 = 384;

pub(super) fn process_boot_device(
    c: &Config,
    version: Version,
    out: &mut ign::Config,
    ts: &mut TranslationSet,
) -> Report {
    let r = Report::new();
    let bd = &c.boot_device;
    let cex = version >= Version::V1_6 && bd.luks.cex.enabled == Some(true);
    let want_luks = bd.luks.tpm2 == Some(true) || !bd.luks.tang.is_empty() || cex;
    let want_mirror = !bd.mirror.devices.is_empty();
    if !want_luks && !want_mirror {
        return r;
    }
    let layout = bd.layout.as_deref().unwrap_or("x86_64");
    // Validation refused any other layout.
    let (bios, efi, prep) = match layout {
        "x86_64" => (true, true, false),
        "aarch64" => (false, true, false),
        "ppc64le" => (false, false, true),
        _ => (false, false, false),
    };

    let mut rendered = ign::Config::default();
    let mut rts = TranslationSet::new();
    let storage = &mut rendered.storage;
    if want_mirror {
        for (i, device) in bd.mirror.devices.iter().enumerate() {
            let n = storage.disks.len() + 1;
            let part = |label: String, size: i64, type_guid: Option<&str>| ign::Partition {
                label: Some(label),
                size_mib: Some(size),
                type_guid: type_guid.map(String::from),
                ..Default::default()
            };
            let mut disk = ign::Disk {
                device: device.clone(),
                wipe_table: Some(true),
                ..Default::default()
            };
            disk.partitions.push(if bios {
                part(format!("bios-{n}"), BIOS_SIZE_MIB, Some(BIOS_TYPE_GUID))
            } else if prep {
                part(format!("prep-{n}"), PREP_SIZE_MIB, Some(PREP_TYPE_GUID))
            } else {
                part(
                    format!("reserved-{n}"),
                    RESERVED_SIZE_MIB,
                    Some(RESERVED_TYPE_GUID),
                )
            });
            disk.partitions.push(if efi {
                part(format!("esp-{n}"), ESP_SIZE_MIB, Some(ESP_TYPE_GUID))
            } else {
                part(
                    format!("reserved-{n}"),
                    RESERVED_SIZE_MIB,
                    Some(RESERVED_TYPE_GUID),
                )
            });
            disk.partitions
                .push(part(format!("boot-{n}"), BOOT_SIZE_MIB, None));
            disk.partitions.push(ign::Partition {
                label: Some(format!("root-{n}")),
                ..Default::default()
            });
            let from = path!(yaml; "boot_device", "mirror", "devices", i);
            rts.add_from_common_source(
                &from,
                &path!(json; "storage", "disks", storage.disks.len()),
                &disk,
            );
            storage.disks.push(disk);
            if efi {
                let esp = ign::Filesystem {
                    device: format!("/dev/disk/by-partlabel/esp-{n}"),
                    format: Some("vfat".into()),
                    label: Some(format!("esp-{n}")),
                    wipe_filesystem: Some(true),
                    ..Default::default()
                };
                let at = path!(json; "storage", "filesystems", storage.filesystems.len());
                rts.add_from_common_source(&from, &at, &esp);
                storage.filesystems.push(esp);
            }
        }
        rts.add(
            path!(yaml; "boot_device", "mirror", "devices"),
            path!(json; "storage", "disks"),
        );
        let count = storage.disks.len();
        let devices = |prefix: &str| -> Vec<String> {
            (1..=count)
                .map(|i| format!("/dev/disk/by-partlabel/{prefix}-{i}"))
                .collect()
        };
        storage.raid = vec![
            ign::Raid {
                devices: devices("boot"),
                level: Some("raid1".into()),
                name: "md-boot".into(),
                // The superblock at the end of the partition, so that BIOS
                // GRUB needs no RAID support.
                options: vec!["--metadata=1.0".into()],
                ..Default::default()
            },
            ign::Raid {
                devices: devices("root"),
                level: Some("raid1".into()),
                name: "md-root".into(),
                ..Default::default()
            },
        ];
        let mirror = path!(yaml; "boot_device", "mirror");
        rts.add_from_common_source(&mirror, &path!(json; "storage", "raid"), &storage.raid);
        let boot = ign::Filesystem {
            device: "/dev/md/md-boot".into(),
            format: Some("ext4".into()),
            label: Some("boot".into()),
            wipe_filesystem: Some(true),
            ..Default::default()
        };
        let at = path!(json; "storage", "filesystems", storage.filesystems.len());
        rts.add_from_common_source(&mirror, &at, &boot);
        storage.filesystems.push(boot);
    }

    if want_luks {
        let device = match layout {
            "s390x-eckd" => format!("{}2", bd.luks.device.as_deref().unwrap_or("")),
            "s390x-zfcp" => format!("{}4", bd.luks.device.as_deref().unwrap_or("")),
            _ if want_mirror => "/dev/md/md-root".to_string(),
            _ => "/dev/disk/by-partlabel/root".to_string(),
        };
        let lpath = path!(yaml; "boot_device", "luks");
        let rpath = path!(json; "storage", "luks", 0usize);
        let mut luks = ign::Luks {
            device: Some(device),
            discard: bd.luks.discard,
            label: Some("luks-root".into()),
            name: "root".into(),
            wipe_volume: Some(true),
            ..Default::default()
        };
        if cex {
            luks.cex.enabled = bd.luks.cex.enabled;
            // Upstream records the CEX switch as if it sat at
            // `boot_device.luks.enabled`.
            rts.add(lpath.with("enabled"), rpath.with("cex").with("enabled"));
            rts.add(lpath.clone(), rpath.with("cex"));
        } else {
            luks.clevis = ign::Clevis {
                tang: bd.luks.tang.iter().map(tang).collect(),
                threshold: bd.luks.threshold,
                tpm2: bd.luks.tpm2,
                ..Default::default()
            };
            let mut clevis_ts = TranslationSet::new();
            clevis_ts.add_copied(&Path::yaml(), &Path::json(), &luks.clevis);
            clevis_ts.add(Path::yaml(), Path::json());
            rts.merge(clevis_ts.prefixed(&lpath, &rpath.with("clevis")));
        }
        if version >= Version::V1_5 {
            rts.add(lpath.with("discard"), rpath.with("discard"));
        }
        for f in ["device", "label", "name", "wipeVolume"] {
            rts.add(lpath.clone(), rpath.with(f));
        }
        rts.add(lpath.clone(), rpath.clone());
        rts.add(lpath, path!(json; "storage", "luks"));
        rendered.storage.luks = vec![luks];
    }

    let root = ign::Filesystem {
        device: if want_luks {
            "/dev/mapper/root"
        } else {
            "/dev/md/md-root"
        }
        .into(),
        format: Some("xfs".into()),
        label: Some("root".into()),
        wipe_filesystem: Some(true),
        ..Default::default()
    };
    let boot_device = path!(yaml; "boot_device");
    let at = path!(json; "storage", "filesystems", rendered.storage.filesystems.len());
    rts.add_from_common_source(&boot_device, &at, &root);
    rts.add(boot_device.clone(), path!(json; "storage", "filesystems"));
    rendered.storage.filesystems.push(root);
    rts.add(boot_device, path!(json; "storage"));

    let (merged, merged_ts) = merge_translated(&rendered, &rts, out, ts);
    *out = merged;
    *ts = merged_ts;
    r
}
