//! Checks of a Butane document before translation: what upstream's
//! `Validate` methods on its Butane structs report, in the order its
//! reflection walk calls them (a struct before its fields, fields in
//! declaration order, lists by index).
//!
//! Checks of the Ignition config that results are `ign::validate`'s; the
//! messages shared with upstream are in `messages.rs`.

use super::ign;
use super::messages as msg;
use super::report::{Path, Report};
use super::schema::*;

/// The report of all source checks.
pub(crate) fn validate(c: &Config, version: Version) -> Report {
    let mut r = Report::new();
    let root = Path::yaml();
    if version >= Version::V1_6 {
        config_checks(c, &root, &mut r);
    }
    let ignition = root.with("ignition");
    for (i, res) in c.ignition.config.merge.iter().enumerate() {
        resource(
            res,
            &ignition.with("config").with("merge").with(i),
            version,
            &mut r,
        );
    }
    resource(
        &c.ignition.config.replace,
        &ignition.with("config").with("replace"),
        version,
        &mut r,
    );
    let cas = ignition
        .with("security")
        .with("tls")
        .with("certificate_authorities");
    for (i, res) in c
        .ignition
        .security
        .tls
        .certificate_authorities
        .iter()
        .enumerate()
    {
        resource(res, &cas.with(i), version, &mut r);
    }
    storage(&c.storage, &root.with("storage"), version, &mut r);
    let units = root.with("systemd").with("units");
    for (i, u) in c.systemd.units.iter().enumerate() {
        let p = units.with(i);
        sources(u.contents.is_some(), u.contents_local.is_some(), &p, &mut r);
        for (j, d) in u.dropins.iter().enumerate() {
            let p = p.with("dropins").with(j);
            sources(d.contents.is_some(), d.contents_local.is_some(), &p, &mut r);
        }
    }
    boot_device(&c.boot_device, &root.with("boot_device"), version, &mut r);
    if version >= Version::V1_5 {
        for (i, user) in c.grub.users.iter().enumerate() {
            let p = root.with("grub").with("users").with(i);
            if user.name.is_empty() {
                r.error(p.with("name"), msg::GRUB_USER_NAME_REQUIRED);
            }
            if user.password_hash.as_deref().unwrap_or("").is_empty() {
                r.error(p.with("password_hash"), msg::GRUB_PASSWORD_REQUIRED);
            }
        }
    }
    r
}

/// fcos 1.6.0's checks of the whole config.
fn config_checks(c: &Config, root: &Path, r: &mut Report) {
    const BOOT_DISK: &str = "/dev/disk/by-id/coreos-boot-disk";
    for (i, disk) in c.storage.disks.iter().enumerate() {
        if disk.device != BOOT_DISK && disk.wipe_table != Some(true) {
            for (j, p) in disk.partitions.iter().enumerate() {
                if p.number == 0 && p.label.is_some() {
                    let at = root.with("storage").with("disks").with(i);
                    r.warn(
                        at.with("partitions").with(j).with("number"),
                        msg::REUSE_BY_LABEL,
                    );
                }
            }
        }
    }
    for (i, fs) in c.storage.filesystems.iter().enumerate() {
        if let Some(path) = &fs.path
            && fs.with_mount_unit == Some(true)
            && !under_etc_or_var(path)
        {
            let at = root.with("storage").with("filesystems").with(i);
            r.error(at.with("path"), msg::MOUNT_POINT_FORBIDDEN);
        }
    }
}

/// Upstream's `^/(etc|var)(/|$)`.
fn under_etc_or_var(path: &str) -> bool {
    ["/etc", "/var"].iter().any(|dir| {
        path.strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

fn storage(s: &Storage, at: &Path, version: Version, r: &mut Report) {
    for (i, d) in s.directories.iter().enumerate() {
        if let Some(mode) = d.mode
            && decimal_mode(mode, true)
        {
            r.warn(
                at.with("directories").with(i).with("mode"),
                msg::DECIMAL_MODE,
            );
        }
    }
    for (i, f) in s.files.iter().enumerate() {
        let p = at.with("files").with(i);
        if let Some(mode) = f.mode
            && decimal_mode(mode, false)
        {
            r.warn(p.with("mode"), msg::DECIMAL_MODE);
        }
        for (j, res) in f.append.iter().enumerate() {
            resource(res, &p.with("append").with(j), version, r);
        }
        resource(&f.contents, &p.with("contents"), version, r);
    }
    for (i, fs) in s.filesystems.iter().enumerate() {
        if fs.with_mount_unit == Some(true) {
            let p = at.with("filesystems").with(i);
            match fs.format.as_deref() {
                None | Some("") => r.error(p.with("format"), msg::MOUNT_UNIT_NO_FORMAT),
                Some(format) => {
                    if format != "swap" && fs.path.as_deref().unwrap_or("").is_empty() {
                        r.error(p.with("path"), msg::MOUNT_UNIT_NO_PATH);
                    }
                }
            }
        }
    }
    for (i, l) in s.luks.iter().enumerate() {
        resource(
            &l.key_file,
            &at.with("luks").with(i).with("key_file"),
            version,
            r,
        );
    }
    for (i, t) in s.trees.iter().enumerate() {
        if t.local.is_empty() {
            r.error(at.with("trees").with(i), msg::TREE_NO_LOCAL);
        }
    }
}

/// A unit or drop-in may take its contents from the document or from a
/// local file, not both.
fn sources(contents: bool, contents_local: bool, at: &Path, r: &mut Report) {
    if contents && contents_local {
        r.error(at.with("contents_local"), msg::TOO_MANY_SYSTEMD_SOURCES);
    }
}

/// Upstream's `Resource.Validate`: one source at most, and an inline
/// Ignition config to merge or replace with must itself be valid.
fn resource(res: &Resource, at: &Path, version: Version, r: &mut Report) {
    let mut field = "";
    let mut sources = 0;
    if res.local.is_some() {
        sources += 1;
        field = "local";
    }
    if res.inline.is_some() {
        sources += 1;
        field = "inline";
    }
    if res.source.is_some() {
        sources += 1;
        field = "source";
    }
    if sources > 1 {
        r.error(at.with(field), msg::TOO_MANY_RESOURCE_SOURCES);
        return;
    }
    if field == "inline" && at.to_string().starts_with("$.ignition.config") {
        let inline = res.inline.as_deref().unwrap_or_default();
        child_config(inline.as_bytes(), at, version, r);
    }
}

/// Upstream's `ValidateIgnitionConfig` for a config given inline to merge
/// or replace with. Its entries keep their paths within that config, as
/// upstream's do. (Upstream means to check `local` configs too, but its
/// check never matches them, so neither does this one.)
fn child_config(raw: &[u8], at: &Path, version: Version, r: &mut Report) {
    let inline = ign::parse::validate_ignition_config(version.spec(), raw);
    r.merge(inline.report);
    if let Some(error) = inline.error {
        r.error(at.with("inline"), error);
    } else if inline.unknown_version {
        r.warn(at.with("version"), msg::UNKNOWN_IGNITION_VERSION);
    }
}

fn boot_device(d: &BootDevice, at: &Path, version: Version, r: &mut Report) {
    if let Some(layout) = &d.layout {
        let known = match version {
            Version::V1_4 | Version::V1_5 => {
                matches!(layout.as_str(), "aarch64" | "ppc64le" | "x86_64")
            }
            Version::V1_6 => {
                let device = d.luks.device.as_deref().unwrap_or("");
                match layout.as_str() {
                    "s390x-eckd" if device.is_empty() => {
                        r.error(at.with("layout"), msg::NO_LUKS_BOOT_DEVICE);
                    }
                    "s390x-eckd" if !whole_disk(device, "/dev/dasd") => {
                        r.error(at.with("layout"), msg::LUKS_BOOT_DEVICE_BAD_NAME);
                    }
                    "s390x-zfcp" if device.is_empty() => {
                        r.error(at.with("layout"), msg::NO_LUKS_BOOT_DEVICE);
                    }
                    "s390x-zfcp" if !whole_disk(device, "/dev/sd") => {
                        r.error(at.with("layout"), msg::LUKS_BOOT_DEVICE_BAD_NAME);
                    }
                    _ => {}
                }
                matches!(
                    layout.as_str(),
                    "aarch64" | "ppc64le" | "x86_64" | "s390x-eckd" | "s390x-zfcp" | "s390x-virt"
                )
            }
        };
        if !known {
            r.error(at.with("layout"), msg::UNKNOWN_BOOT_DEVICE_LAYOUT);
        }
        if version >= Version::V1_6 && layout.starts_with("s390x") && !d.mirror.devices.is_empty() {
            r.error(at.with("layout"), msg::MIRROR_NOT_SUPPORTED);
        }
    }
    if version >= Version::V1_6 && d.luks.cex.enabled == Some(true) {
        match &d.layout {
            None => r.error(at.with("luks").with("cex"), msg::CEX_ARCHITECTURE_MISMATCH),
            Some(l) if !l.starts_with("s390x") => {
                r.error(at.with("layout"), msg::CEX_ARCHITECTURE_MISMATCH)
            }
            Some(_) => {}
        }
        if !d.luks.tang.is_empty() || d.luks.tpm2 == Some(true) {
            r.error(at.with("luks"), msg::CEX_WITH_CLEVIS);
        }
    }
    // Upstream checks the mirror twice: once from the boot device's own
    // check, and again when its walk reaches the mirror.
    for _ in 0..2 {
        if d.mirror.devices.len() == 1 {
            r.error(
                at.with("mirror").with("devices"),
                msg::TOO_FEW_MIRROR_DEVICES,
            );
        }
    }
}

/// Upstream's `(/dev/dasd[a-z]$)` and `(/dev/sd[a-z]$)`: unanchored at
/// the start, so any prefix may come before.
fn whole_disk(device: &str, prefix: &str) -> bool {
    let b = device.as_bytes();
    b.len() > prefix.len()
        && b[b.len() - 1].is_ascii_lowercase()
        && device[..device.len() - 1].ends_with(prefix)
}

/// Whether `mode`, as written, looks like an octal mode written in
/// decimal (`644` for `0644`), as upstream's `CheckForDecimalMode` judges.
pub(crate) fn decimal_mode(mode: i64, directory: bool) -> bool {
    match decimal_as_octal(mode) {
        Some(octal) => !typical_mode(mode, directory) && typical_mode(octal, directory),
        None => false,
    }
}

/// Reads the decimal digits of `mode` as octal ones, if they all are.
fn decimal_as_octal(mode: i64) -> Option<i64> {
    if !(0..=7777).contains(&mode) {
        return None;
    }
    let mut octal = 0;
    let mut divisor = 1000;
    while divisor > 0 {
        let digit = (mode / divisor) % 10;
        if digit > 7 {
            return None;
        }
        octal = (octal << 3) | digit;
        divisor /= 10;
    }
    Some(octal)
}

/// Whether a mode is unsurprising for a file or directory.
fn typical_mode(mode: i64, directory: bool) -> bool {
    if mode == 0 {
        return true;
    }
    let (mut had_r, mut had_w, mut had_x) = (false, false, false);
    // other, group, user: a more specific class must have every bit of a
    // less specific one.
    for perm in [mode & 0o7, (mode & 0o70) >> 3, (mode & 0o700) >> 6] {
        let (r, w, x) = (perm & 4 != 0, perm & 2 != 0, perm & 1 != 0);
        if (!r && had_r) || (!w && had_w) || (!x && had_x) {
            return false;
        }
        if x && had_r && !had_x {
            return false;
        }
        if (w || x) && !r {
            return false;
        }
        had_r |= r;
        had_w |= w;
        had_x |= x;
    }
    if !had_r {
        return false;
    }
    if directory {
        had_x && mode & 0o4000 == 0 && (mode & 0o3000 == 0 || had_w)
    } else {
        if mode & 0o6000 != 0 && (!had_x || mode & 2 != 0) {
            return false;
        }
        mode & 0o1000 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_modes_are_caught_only_when_octal_makes_sense() {
        assert!(decimal_mode(644, false));
        assert!(decimal_mode(755, true));
        assert!(decimal_mode(700, true));
        assert!(!decimal_mode(0o644, false));
        assert!(!decimal_mode(0o755, true));
        assert!(!decimal_mode(888, false));
        assert!(!decimal_mode(0, false));
    }

    #[test]
    fn mount_points_must_be_under_etc_or_var() {
        assert!(under_etc_or_var("/var"));
        assert!(under_etc_or_var("/etc/x"));
        assert!(!under_etc_or_var("/variable"));
        assert!(!under_etc_or_var("/srv"));
    }

    #[test]
    fn whole_disk_names() {
        assert!(whole_disk("/dev/dasda", "/dev/dasd"));
        assert!(!whole_disk("/dev/dasda1", "/dev/dasd"));
        assert!(whole_disk("/dev/sdb", "/dev/sd"));
        assert!(!whole_disk("/dev/sd", "/dev/sd"));
    }
}
