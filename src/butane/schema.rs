//! The Butane documents coregen reads: variant `fcos`, versions 1.4.0,
//! 1.5.0 and 1.6.0, as typed structs.
//!
//! One set of structs serves all three versions; each field names the
//! first version that has it, and a key that the document's version lacks
//! is not decoded (upstream reports it as an unused key). Fields mirror
//! upstream's Go structs one for one, in the same order, with `Option` for
//! Go pointers: the order decides the order of validation messages, and
//! whether a value was given at all matters to the translation.
//!
//! Decoding from YAML lives in `decode.rs`; this file only declares.

use super::decode::{self, Walk};
use super::report::{Elem, Path};
use super::yaml::{self, Node};

/// A supported Butane spec version of variant `fcos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1_4,
    V1_5,
    V1_6,
}

impl Version {
    pub const ALL: [Version; 3] = [Version::V1_4, Version::V1_5, Version::V1_6];

    /// The version as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_4 => "1.4.0",
            Version::V1_5 => "1.5.0",
            Version::V1_6 => "1.6.0",
        }
    }

    /// The Ignition spec version this Butane version translates to.
    pub fn ignition(self) -> &'static str {
        match self {
            Version::V1_4 => "3.3.0",
            Version::V1_5 => "3.4.0",
            Version::V1_6 => "3.5.0",
        }
    }

    /// The Ignition spec whose rules check this version's output.
    pub fn spec(self) -> super::ign::Spec {
        match self {
            Version::V1_4 => super::ign::Spec::V3_3,
            Version::V1_5 => super::ign::Spec::V3_4,
            Version::V1_6 => super::ign::Spec::V3_5,
        }
    }

    /// The Go package of upstream's base structs for this version, which
    /// YAML type errors name (`cannot unmarshal !!str into v0_6.Storage`).
    pub(crate) fn base_package(self) -> &'static str {
        match self {
            Version::V1_4 => "v0_4",
            Version::V1_5 => "v0_5",
            Version::V1_6 => "v0_6",
        }
    }

    /// The Go package of upstream's fcos structs for this version.
    pub(crate) fn fcos_package(self) -> &'static str {
        match self {
            Version::V1_4 => "v1_4",
            Version::V1_5 => "v1_5",
            Version::V1_6 => "v1_6",
        }
    }

    /// Reads a document's `version`, which must be exactly one of ours.
    pub fn parse(s: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Which Go package a struct lives in upstream: the base spec or fcos.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Package {
    Base,
    Fcos,
    /// Upstream's `config` package, whose `commonFields` reads the variant
    /// and version before anything else.
    Config,
}

/// Declares a Butane struct: its fields with their YAML keys and the first
/// version that has each, and the `Decode` and `Fields` impls that follow
/// from that table.
macro_rules! butane_struct {
    (
        $(#[$meta:meta])*
        $name:ident ($pkg:ident, $go:literal) {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal $(@ $since:ident)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Fields for $name {
            const GO_NAME: &'static str = $go;
            const PACKAGE: Package = Package::$pkg;

            fn keys(version: Version) -> &'static [&'static str] {
                // Made once per version: every struct in every document
                // asks.
                static KEYS: std::sync::OnceLock<[Vec<&'static str>; 3]> =
                    std::sync::OnceLock::new();
                let all = KEYS.get_or_init(|| {
                    Version::ALL.map(|version| {
                        let mut keys = Vec::new();
                        $(
                            if butane_struct!(@since version $($since)?) {
                                keys.push($key);
                            }
                        )*
                        keys
                    })
                });
                &all[version as usize]
            }
        }

        impl yaml::Decode for $name {
            fn go_type_name() -> String {
                decode::go_name::<$name>()
            }

            fn decode(&mut self, d: &mut yaml::Decoder, node: &Node) -> Result<bool, yaml::Error> {
                let version = decode::version();
                let keys = <$name as Fields>::keys(version);
                // Named once per version, like the keys.
                static NAMES: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
                let go_type = &NAMES
                    .get_or_init(|| Version::ALL.map(decode::go_name_in::<$name>))
                    [version as usize];
                d.decode_struct(node, go_type, keys, |d, field| {
                    match keys[field.index] {
                        $( $key => { d.unmarshal(field.value, &mut self.$field)?; } )*
                        _ => {}
                    }
                    Ok(())
                })
            }
        }

        impl Walk for $name {
            fn walk(
                &self,
                path: &mut Path,
                version: Version,
                visit: &mut dyn FnMut(&Path, &[&'static str]),
            ) {
                visit(path, <$name as Fields>::keys(version));
                $(
                    if butane_struct!(@since version $($since)?) {
                        path.elems.push(Elem::from($key));
                        self.$field.walk(path, version, visit);
                        path.elems.pop();
                    }
                )*
            }
        }
    };
    (@since $version:ident) => {{ let _ = $version; true }};
    (@since $version:ident $since:ident) => { $version >= Version::$since };
}

/// What the decoder and the unused-key check need to know of a struct.
pub(crate) trait Fields {
    /// The Go type's name without its package.
    const GO_NAME: &'static str;
    const PACKAGE: Package;
    /// The YAML keys this struct has in `version`.
    fn keys(version: Version) -> &'static [&'static str];
}

/// Declares a string of one of upstream's named Go string types (`type
/// Group string`): the same value, under the name yaml.v3's type errors
/// give it. `$since_named` is the first version that names it so; older
/// versions see a plain `string`.
macro_rules! named_string {
    ($(#[$meta:meta])* $name:ident, $go:literal $(, until $until:ident)?) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name(pub String);

        impl yaml::Decode for $name {
            fn go_type_name() -> String {
                let version = decode::version();
                $( if version > Version::$until { return "string".to_string(); } )?
                format!("{}.{}", version.base_package(), $go)
            }

            fn decode(&mut self, d: &mut yaml::Decoder, node: &Node) -> Result<bool, yaml::Error> {
                decode::named_string(d, node, &mut self.0, &Self::go_type_name())
            }
        }

        impl Walk for $name {
            fn walk(&self, _: &mut Path, _: Version, _: &mut dyn FnMut(&Path, &[&'static str])) {}
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

named_string!(KernelArgument, "KernelArgument");
named_string!(
    /// A user's supplementary group.
    Group,
    "Group"
);
named_string!(SSHAuthorizedKey, "SSHAuthorizedKey");
named_string!(
    /// A RAID member device.
    Device,
    "Device"
);
named_string!(
    /// An option to `cryptsetup luksFormat`; a named type in 1.4.0 only.
    LuksOption,
    "LuksOption",
    until V1_4
);
named_string!(
    /// An option to mdadm; a named type in 1.4.0 only.
    RaidOption,
    "RaidOption",
    until V1_4
);

/// `HTTPHeaders`, upstream's named slice type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpHeaders(pub Vec<HttpHeader>);

impl yaml::Decode for HttpHeaders {
    fn go_type_name() -> String {
        format!("{}.HTTPHeaders", decode::version().base_package())
    }

    fn decode(&mut self, d: &mut yaml::Decoder, node: &Node) -> Result<bool, yaml::Error> {
        d.decode_slice(node, &mut self.0, &Self::go_type_name())
    }
}

impl Walk for HttpHeaders {
    fn walk(
        &self,
        path: &mut Path,
        version: Version,
        visit: &mut dyn FnMut(&Path, &[&'static str]),
    ) {
        self.0.walk(path, version, visit);
    }
}

butane_struct! {
    /// What upstream reads first, to pick a translator.
    CommonFields (Config, "commonFields") {
        version: String = "version",
        variant: String = "variant",
    }
}

butane_struct! {
    /// The root of an fcos document: upstream's base `Config` embedded in
    /// the fcos `Config`, flattened.
    Config (Fcos, "Config") {
        version: String = "version",
        variant: String = "variant",
        ignition: Ignition = "ignition",
        kernel_arguments: KernelArguments = "kernel_arguments",
        passwd: Passwd = "passwd",
        storage: Storage = "storage",
        systemd: Systemd = "systemd",
        boot_device: BootDevice = "boot_device",
        grub: Grub = "grub" @ V1_5,
    }
}

butane_struct! {
    Ignition (Base, "Ignition") {
        config: IgnitionConfig = "config",
        proxy: Proxy = "proxy",
        security: Security = "security",
        timeouts: Timeouts = "timeouts",
    }
}

butane_struct! {
    IgnitionConfig (Base, "IgnitionConfig") {
        merge: Vec<Resource> = "merge",
        replace: Resource = "replace",
    }
}

butane_struct! {
    Proxy (Base, "Proxy") {
        http_proxy: Option<String> = "http_proxy",
        https_proxy: Option<String> = "https_proxy",
        no_proxy: Vec<String> = "no_proxy",
    }
}

butane_struct! {
    Security (Base, "Security") {
        tls: Tls = "tls",
    }
}

butane_struct! {
    Tls (Base, "TLS") {
        certificate_authorities: Vec<Resource> = "certificate_authorities",
    }
}

butane_struct! {
    Timeouts (Base, "Timeouts") {
        http_response_headers: Option<i64> = "http_response_headers",
        http_total: Option<i64> = "http_total",
    }
}

butane_struct! {
    KernelArguments (Base, "KernelArguments") {
        should_exist: Vec<KernelArgument> = "should_exist",
        should_not_exist: Vec<KernelArgument> = "should_not_exist",
    }
}

butane_struct! {
    Passwd (Base, "Passwd") {
        groups: Vec<PasswdGroup> = "groups",
        users: Vec<PasswdUser> = "users",
    }
}

butane_struct! {
    PasswdGroup (Base, "PasswdGroup") {
        gid: Option<i64> = "gid",
        name: String = "name",
        password_hash: Option<String> = "password_hash",
        should_exist: Option<bool> = "should_exist",
        system: Option<bool> = "system",
    }
}

butane_struct! {
    PasswdUser (Base, "PasswdUser") {
        gecos: Option<String> = "gecos",
        groups: Vec<Group> = "groups",
        home_dir: Option<String> = "home_dir",
        name: String = "name",
        no_create_home: Option<bool> = "no_create_home",
        no_log_init: Option<bool> = "no_log_init",
        no_user_group: Option<bool> = "no_user_group",
        password_hash: Option<String> = "password_hash",
        primary_group: Option<String> = "primary_group",
        should_exist: Option<bool> = "should_exist",
        ssh_authorized_keys: Vec<SSHAuthorizedKey> = "ssh_authorized_keys",
        ssh_authorized_keys_local: Vec<String> = "ssh_authorized_keys_local" @ V1_5,
        shell: Option<String> = "shell",
        system: Option<bool> = "system",
        uid: Option<i64> = "uid",
    }
}

butane_struct! {
    Storage (Base, "Storage") {
        directories: Vec<Directory> = "directories",
        disks: Vec<Disk> = "disks",
        files: Vec<File> = "files",
        filesystems: Vec<Filesystem> = "filesystems",
        links: Vec<Link> = "links",
        luks: Vec<Luks> = "luks",
        raid: Vec<Raid> = "raid",
        trees: Vec<Tree> = "trees",
    }
}

butane_struct! {
    NodeUser (Base, "NodeUser") {
        id: Option<i64> = "id",
        name: Option<String> = "name",
    }
}

butane_struct! {
    NodeGroup (Base, "NodeGroup") {
        id: Option<i64> = "id",
        name: Option<String> = "name",
    }
}

butane_struct! {
    Directory (Base, "Directory") {
        group: NodeGroup = "group",
        overwrite: Option<bool> = "overwrite",
        path: String = "path",
        user: NodeUser = "user",
        mode: Option<i64> = "mode",
    }
}

butane_struct! {
    File (Base, "File") {
        group: NodeGroup = "group",
        overwrite: Option<bool> = "overwrite",
        path: String = "path",
        user: NodeUser = "user",
        append: Vec<Resource> = "append",
        contents: Resource = "contents",
        mode: Option<i64> = "mode",
    }
}

butane_struct! {
    Link (Base, "Link") {
        group: NodeGroup = "group",
        overwrite: Option<bool> = "overwrite",
        path: String = "path",
        user: NodeUser = "user",
        hard: Option<bool> = "hard",
        target: Option<String> = "target",
    }
}

butane_struct! {
    /// File contents, configs, CA bundles and key files: from a URL
    /// (`source`), from the document (`inline`) or from the files-dir
    /// (`local`).
    Resource (Base, "Resource") {
        compression: Option<String> = "compression",
        http_headers: HttpHeaders = "http_headers",
        source: Option<String> = "source",
        inline: Option<String> = "inline",
        local: Option<String> = "local",
        verification: Verification = "verification",
    }
}

butane_struct! {
    HttpHeader (Base, "HTTPHeader") {
        name: String = "name",
        value: Option<String> = "value",
    }
}

butane_struct! {
    Verification (Base, "Verification") {
        hash: Option<String> = "hash",
    }
}

butane_struct! {
    Disk (Base, "Disk") {
        device: String = "device",
        partitions: Vec<Partition> = "partitions",
        wipe_table: Option<bool> = "wipe_table",
    }
}

butane_struct! {
    Partition (Base, "Partition") {
        guid: Option<String> = "guid",
        label: Option<String> = "label",
        number: i64 = "number",
        resize: Option<bool> = "resize",
        should_exist: Option<bool> = "should_exist",
        size_mib: Option<i64> = "size_mib",
        start_mib: Option<i64> = "start_mib",
        type_guid: Option<String> = "type_guid",
        wipe_partition_entry: Option<bool> = "wipe_partition_entry",
    }
}

butane_struct! {
    Filesystem (Base, "Filesystem") {
        device: String = "device",
        format: Option<String> = "format",
        label: Option<String> = "label",
        mount_options: Vec<String> = "mount_options",
        options: Vec<String> = "options",
        path: Option<String> = "path",
        uuid: Option<String> = "uuid",
        wipe_filesystem: Option<bool> = "wipe_filesystem",
        /// Butane's own: also write a mount (or swap) unit.
        with_mount_unit: Option<bool> = "with_mount_unit",
    }
}

butane_struct! {
    Luks (Base, "Luks") {
        cex: Cex = "cex" @ V1_6,
        clevis: Clevis = "clevis",
        device: Option<String> = "device",
        discard: Option<bool> = "discard" @ V1_5,
        key_file: Resource = "key_file",
        label: Option<String> = "label",
        name: String = "name",
        open_options: Vec<String> = "open_options" @ V1_5,
        options: Vec<LuksOption> = "options",
        uuid: Option<String> = "uuid",
        wipe_volume: Option<bool> = "wipe_volume",
    }
}

butane_struct! {
    Cex (Base, "Cex") {
        enabled: Option<bool> = "enabled",
    }
}

butane_struct! {
    Clevis (Base, "Clevis") {
        custom: ClevisCustom = "custom",
        tang: Vec<Tang> = "tang",
        threshold: Option<i64> = "threshold",
        tpm2: Option<bool> = "tpm2",
    }
}

butane_struct! {
    ClevisCustom (Base, "ClevisCustom") {
        config: Option<String> = "config",
        needs_network: Option<bool> = "needs_network",
        pin: Option<String> = "pin",
    }
}

butane_struct! {
    Tang (Base, "Tang") {
        thumbprint: Option<String> = "thumbprint",
        url: String = "url",
        advertisement: Option<String> = "advertisement" @ V1_5,
    }
}

butane_struct! {
    Raid (Base, "Raid") {
        devices: Vec<Device> = "devices",
        level: Option<String> = "level",
        name: String = "name",
        options: Vec<RaidOption> = "options",
        spares: Option<i64> = "spares",
    }
}

butane_struct! {
    /// Butane's own: a directory of the files-dir, embedded file by file.
    Tree (Base, "Tree") {
        local: String = "local",
        path: Option<String> = "path",
    }
}

butane_struct! {
    Systemd (Base, "Systemd") {
        units: Vec<Unit> = "units",
    }
}

butane_struct! {
    Unit (Base, "Unit") {
        contents: Option<String> = "contents",
        contents_local: Option<String> = "contents_local" @ V1_5,
        dropins: Vec<Dropin> = "dropins",
        enabled: Option<bool> = "enabled",
        mask: Option<bool> = "mask",
        name: String = "name",
    }
}

butane_struct! {
    Dropin (Base, "Dropin") {
        contents: Option<String> = "contents",
        contents_local: Option<String> = "contents_local" @ V1_5,
        name: String = "name",
    }
}

butane_struct! {
    /// fcos's own: encryption and mirroring of the boot disk.
    BootDevice (Fcos, "BootDevice") {
        layout: Option<String> = "layout",
        luks: BootDeviceLuks = "luks",
        mirror: BootDeviceMirror = "mirror",
    }
}

butane_struct! {
    BootDeviceLuks (Fcos, "BootDeviceLuks") {
        cex: Cex = "cex" @ V1_6,
        device: Option<String> = "device" @ V1_6,
        discard: Option<bool> = "discard" @ V1_5,
        tang: Vec<Tang> = "tang",
        threshold: Option<i64> = "threshold",
        tpm2: Option<bool> = "tpm2",
    }
}

butane_struct! {
    BootDeviceMirror (Fcos, "BootDeviceMirror") {
        devices: Vec<String> = "devices",
    }
}

butane_struct! {
    /// fcos 1.5.0 and later: GRUB superusers.
    Grub (Fcos, "Grub") {
        users: Vec<GrubUser> = "users",
    }
}

butane_struct! {
    GrubUser (Fcos, "GrubUser") {
        name: String = "name",
        password_hash: Option<String> = "password_hash",
    }
}
