//! The messages of Ignition's `config/shared/errors` package (v2.23.0) that
//! validation of specs 3.3.0 to 3.5.0 can report, word for word.
//!
//! Only messages are kept here; which check reports which message, and at
//! which path, is the business of `validate`, `dups` and `parse`.

pub const INVALID: &str = "config is not valid";
pub const DUPLICATE: &str = "duplicate entry defined";

pub const INVALID_VERSION: &str = "invalid config version (couldn't parse)";
pub const UNKNOWN_VERSION: &str = "unsupported config version";

pub const COMPRESSION_INVALID: &str = "invalid compression method";

pub const FILE_USED_SYMLINK: &str = "file path includes link in config";
pub const DIRECTORY_USED_SYMLINK: &str = "directory path includes link in config";
pub const LINK_USED_SYMLINK: &str = "link path includes link in config";
pub const LINK_TARGET_REQUIRED: &str = "link target is required";
pub const HARD_LINK_TO_DIRECTORY: &str = "hard link target is a directory";
pub const HARD_LINK_SPECIFIES_OWNER: &str = "user/group ignored for hard link";
pub const DISK_DEVICE_REQUIRED: &str = "disk device is required";
pub const PARTITION_NUMBERS_COLLIDE: &str = "partition numbers collide";
pub const PARTITIONS_OVERLAP: &str = "partitions overlap";
pub const OVERWRITE_AND_NIL_SOURCE: &str = "overwrite must be false if source is unspecified";
pub const VERIFICATION_AND_NIL_SOURCE: &str =
    "source must be specified if verification is specified";
pub const FILESYSTEM_INVALID_FORMAT: &str = "invalid filesystem format";
pub const LABEL_NEEDS_FORMAT: &str = "filesystem must specify format if label is specified";
pub const FORMAT_NIL_WITH_OTHERS: &str = "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified";
pub const EXT4_LABEL_TOO_LONG: &str =
    "filesystem labels cannot be longer than 16 characters when using ext4";
pub const BTRFS_LABEL_TOO_LONG: &str =
    "filesystem labels cannot be longer than 256 characters when using btrfs";
pub const XFS_LABEL_TOO_LONG: &str =
    "filesystem labels cannot be longer than 12 characters when using xfs";
pub const SWAP_LABEL_TOO_LONG: &str =
    "filesystem labels cannot be longer than 15 characters when using swap";
pub const VFAT_LABEL_TOO_LONG: &str =
    "filesystem labels cannot be longer than 11 characters when using vfat";
pub const LUKS_LABEL_TOO_LONG: &str = "luks device labels cannot be longer than 47 characters";
pub const LUKS_NAME_CONTAINS_SLASH: &str = "device names cannot contain slashes";
pub const INVALID_LUKS_KEY_FILE: &str = "invalid key-file source";
pub const CLEVIS_PIN_REQUIRED: &str = "missing required custom clevis pin";
pub const UNKNOWN_CLEVIS_PIN: &str = "unsupported clevis pin";
pub const CLEVIS_CONFIG_REQUIRED: &str = "missing required custom clevis config";
pub const CLEVIS_CUSTOM_WITH_OTHERS: &str =
    "cannot use custom clevis config with tpm2, tang, or threshold";
pub const TANG_THUMBPRINT_REQUIRED: &str = "thumbprint is required";
pub const INVALID_TANG_ADVERTISEMENT: &str = "advertisement is not valid JSON";
/// Not found in the stored sources; see the crate report.
pub const CEX_WITH_CLEVIS: &str = "cannot use cex with clevis";
/// Not found in the stored sources; see the crate report.
pub const CEX_WITH_KEY_FILE: &str = "cannot use key file with cex";
pub const FILE_ILLEGAL_MODE: &str = "illegal file mode";
/// v2.23.0's wording (coreos/ignition#2042), as the corpus shows it.
pub const MODE_SPECIAL_BITS: &str =
    "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0";
pub const BOTH_ID_AND_NAME_SET: &str = "cannot set both id and name";
pub const LABEL_TOO_LONG: &str = "partition labels may not exceed 36 characters";
pub const DOESNT_MATCH_GUID_REGEX: &str =
    "doesn't match the form \"01234567-89AB-CDEF-EDCB-A98765432101\"";
pub const LABEL_CONTAINS_COLON: &str = "partition label will be truncated to text before the colon";
pub const NO_PATH: &str = "path not specified";
pub const PATH_RELATIVE: &str = "path not absolute";
pub const DIRTY_PATH: &str = "path is not fully simplified";
pub const PARTITIONS_OVERWRITTEN: &str = "filesystem overwrites partitioned device";
pub const FILESYSTEM_IMPLICIT_WIPE: &str =
    "device matches disk with wipeTable enabled; filesystem will be wiped";
pub const RAID_LEVEL_REQUIRED: &str = "raid level is required";
pub const SPARES_UNSUPPORTED_FOR_LEVEL: &str = "spares unsupported for linear and raid0 arrays";
pub const UNRECOGNIZED_RAID_LEVEL: &str = "unrecognized raid level";
pub const RAID_DEVICES_REQUIRED: &str = "raid devices required";
pub const SHOULD_NOT_EXIST_WITH_OTHERS: &str =
    "shouldExist specified false with other options also specified";
pub const ZEROES_WITH_SHOULD_NOT_EXIST: &str =
    "shouldExist is false for a partition and other partition(s) has start or size 0";
pub const NEED_LABEL_OR_NUMBER: &str = "a partition number >= 1 or a label must be specified";
pub const DUPLICATE_LABELS: &str = "cannot use the same partition label twice";
pub const INVALID_PROXY: &str = "proxies must be http(s)";
pub const INSECURE_PROXY: &str = "insecure plaintext HTTP proxy specified for HTTPS resources";
pub const PATH_CONFLICTS_SYSTEMD: &str = "path conflicts with systemd unit or dropin";

pub const INVALID_SYSTEMD_EXT: &str = "invalid systemd unit extension";
pub const INVALID_SYSTEMD_DROPIN_EXT: &str = "invalid systemd drop-in extension";

pub const SOURCE_REQUIRED: &str = "source is required";
pub const INVALID_SCHEME: &str = "invalid url scheme";
pub const INVALID_URL: &str = "unable to parse url";
pub const INVALID_HTTP_HEADER: &str = "unable to parse HTTP header";
pub const EMPTY_HTTP_HEADER_NAME: &str = "HTTP header name can't be empty";
pub const UNSUPPORTED_SCHEME_FOR_HTTP_HEADERS: &str =
    "cannot use HTTP headers with this source scheme";
pub const HASH_MALFORMED: &str = "malformed hash specifier";
pub const HASH_WRONG_SIZE: &str = "incorrect size for hash sum";
pub const HASH_UNRECOGNIZED: &str = "unrecognized hash function";

pub const INVALID_S3_ARN: &str = "invalid S3 ARN format";
pub const INVALID_S3_OBJECT_VERSION_ID: &str = "invalid S3 object VersionId";

/// `NewNoInstallSectionError`.
pub fn no_install_section(name: &str) -> String {
    format!(
        "unit {} is enabled, but has no install section so enable does nothing",
        super::gostr::quote(name)
    )
}

/// `NewNoInstallSectionForInstantiableUnitError`.
pub fn no_install_section_for_template(template: &str, instance: &str) -> String {
    format!(
        "template unit {} for {} doesn't have Install section",
        super::gostr::quote(template),
        super::gostr::quote(instance)
    )
}
