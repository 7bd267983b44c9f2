//! The messages upstream Butane gives, word for word: users and scripts
//! match on them, so they are kept exactly as upstream writes them (typos
//! included) in one place.

// The outcome of a translation.
pub(crate) const NO_VARIANT: &str = "error parsing variant; must be specified";
pub(crate) const INVALID_VERSION: &str = "error parsing version; must be a valid semver";
pub(crate) const INVALID_SOURCE_CONFIG: &str = "source config is invalid";
pub(crate) const INVALID_GENERATED_CONFIG: &str = "config generated was invalid";
pub(crate) const RHCOS_VARIANT_UNSUPPORTED: &str = "rhcos variant has been removed; use openshift variant instead: https://coreos.github.io/butane/upgrading-openshift/";

// Resources and trees.
pub(crate) const TOO_MANY_RESOURCE_SOURCES: &str =
    "only one of the following can be set: inline, local, source";
pub(crate) const FILES_DIR_ESCAPE: &str = "local file path traverses outside the files directory";
pub(crate) const FILE_TYPE: &str = "trees may only contain files, directories, and symlinks";
pub(crate) const NODE_EXISTS: &str =
    "matching filesystem node has existing contents or different type";
pub(crate) const NO_FILES_DIR: &str =
    "local file paths are relative to a files directory that must be specified with -d/--files-dir";
pub(crate) const TREE_NOT_DIRECTORY: &str = "root of tree must be a directory";
pub(crate) const TREE_NO_LOCAL: &str = "local is required";

// Filesystem nodes.
pub(crate) const DECIMAL_MODE: &str =
    "unreasonable mode would be reasonable if specified in octal; remember to add a leading zero";

// Systemd.
pub(crate) const TOO_MANY_SYSTEMD_SOURCES: &str =
    "only one of the following can be set: contents, contents_local";

// Mount units.
pub(crate) const MOUNT_UNIT_NO_PATH: &str =
    "path is required if with_mount_unit is true and format is not swap";
pub(crate) const MOUNT_UNIT_NO_FORMAT: &str = "format is required if with_mount_unit is true";
pub(crate) const MOUNT_POINT_FORBIDDEN: &str =
    "path must be under /etc or /var if with_mount_unit is true";

// Boot device.
pub(crate) const UNKNOWN_BOOT_DEVICE_LAYOUT: &str =
    "layout must be one of: aarch64, ppc64le, s390x-eckd, s390x-virt, s390x-zfcp, x86_64";
pub(crate) const TOO_FEW_MIRROR_DEVICES: &str = "mirroring requires at least two devices";
pub(crate) const NO_LUKS_BOOT_DEVICE: &str =
    "device is required for layouts: s390x-eckd, s390x-zfcp";
pub(crate) const MIRROR_NOT_SUPPORTED: &str =
    "mirroring not supported on layouts: s390x-eckd, s390x-zfcp, s390x-virt";
pub(crate) const LUKS_BOOT_DEVICE_BAD_NAME: &str =
    "device name must start with /dev/dasd on s390x-eckd layout or /dev/sd on s390x-zfcp layout";
pub(crate) const CEX_ARCHITECTURE_MISMATCH: &str =
    "when using cex the targeted architecture must match s390x";
/// Ignition's `ErrCexWithClevis`, which butane reports on `boot_device`.
pub(crate) const CEX_WITH_CLEVIS: &str = "cannot use cex with clevis";

// Partitions.
pub(crate) const REUSE_BY_LABEL: &str = "partitions cannot be reused by label; number must be specified except on boot disk (/dev/disk/by-id/coreos-boot-disk) or when wipe_table is true";
pub(crate) const WRONG_PARTITION_NUMBER: &str =
    "incorrect partition number; a new partition will be created using reserved label";

// Grub.
pub(crate) const GRUB_USER_NAME_REQUIRED: &str = "field \"name\" is required";
pub(crate) const GRUB_PASSWORD_REQUIRED: &str = "field \"password_hash\" is required";

// Merged and replacing configs given inline.
pub(crate) const UNKNOWN_IGNITION_VERSION: &str =
    "skipping validation for the merge/replace ignition config due to an unkown version";

/// What `main` prints when warnings fail a `--strict` run.
pub const STRICT_WARNINGS: &str = "Config produced warnings and --strict was specified";

/// vcontext's warning for a mapping key no struct field reads; the same
/// text in a document and in an inline Ignition config.
pub(crate) fn unused_key(key: &str) -> String {
    format!("unused key {key}")
}

/// vcontext's warning when a struct meets a document node that is not a
/// mapping (`storage: ~`, say).
pub(crate) fn context_mismatch(path: &impl std::fmt::Display) -> String {
    format!(
        "context tree does not match content tree at {path}. Line and column reporting may be \
         inconsistent. Unused keys may not be reported."
    )
}
