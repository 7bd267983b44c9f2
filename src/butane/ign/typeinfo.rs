//! The Go description of every config struct (config/v3_5/types/schema.go
//! and the `Key`, `IgnoreDuplicates` and `MergedKeys` methods beside it),
//! for the reflection stand-in in `reflect`. Field order is Go's; a field
//! is marked with the first spec that has it.

use super::Spec;
use super::reflect::{
    FieldInfo, FieldValue, KeyFields, Kind, Struct, StructInfo, Val, field_kind, reflect_struct,
};
use super::types::*;

fn str_field(s: &dyn KeyFields, json: &str, out: &mut String) {
    out.push_str(s.string(json).unwrap_or_default());
}

fn key_name(s: &dyn KeyFields, out: &mut String) {
    str_field(s, "name", out)
}
fn key_path(s: &dyn KeyFields, out: &mut String) {
    str_field(s, "path", out)
}
fn key_device(s: &dyn KeyFields, out: &mut String) {
    str_field(s, "device", out)
}
fn key_source(s: &dyn KeyFields, out: &mut String) {
    str_field(s, "source", out)
}
fn key_url(s: &dyn KeyFields, out: &mut String) {
    str_field(s, "url", out)
}
/// `Partition.Key`: by number, else by label.
fn key_partition(s: &dyn KeyFields, out: &mut String) {
    use std::fmt::Write;
    match (s.int("number"), s.string("label")) {
        (Some(n), _) if n != 0 => {
            let _ = write!(out, "number:{n}");
        }
        (_, Some(label)) => {
            out.push_str("label:");
            out.push_str(label);
        }
        _ => {}
    }
}

reflect_struct!(Config, "Config", None, [], [], {
    ignition: "Ignition" "ignition" "types.Ignition" V3_3;
    kernel_arguments: "KernelArguments" "kernelArguments" "types.KernelArguments" V3_3;
    passwd: "Passwd" "passwd" "types.Passwd" V3_3;
    storage: "Storage" "storage" "types.Storage" V3_3;
    systemd: "Systemd" "systemd" "types.Systemd" V3_3;
});

reflect_struct!(Ignition, "Ignition", None, [], [], {
    config: "Config" "config" "types.IgnitionConfig" V3_3;
    proxy: "Proxy" "proxy" "types.Proxy" V3_3;
    security: "Security" "security" "types.Security" V3_3;
    timeouts: "Timeouts" "timeouts" "types.Timeouts" V3_3;
    version: "Version" "version" "string" V3_3;
});

reflect_struct!(IgnitionConfig, "IgnitionConfig", None, [], [], {
    merge: "Merge" "merge" "[]types.Resource" V3_3;
    replace: "Replace" "replace" "types.Resource" V3_3;
});

reflect_struct!(Proxy, "Proxy", None, [], [], {
    http_proxy: "HTTPProxy" "httpProxy" "string" V3_3;
    https_proxy: "HTTPSProxy" "httpsProxy" "string" V3_3;
    no_proxy: "NoProxy" "noProxy" "[]types.NoProxyItem" V3_3;
});

reflect_struct!(Security, "Security", None, [], [], {
    tls: "TLS" "tls" "types.TLS" V3_3;
});

reflect_struct!(Tls, "TLS", None, [], [], {
    certificate_authorities: "CertificateAuthorities" "certificateAuthorities" "[]types.Resource" V3_3;
});

reflect_struct!(Timeouts, "Timeouts", None, [], [], {
    http_response_headers: "HTTPResponseHeaders" "httpResponseHeaders" "int" V3_3;
    http_total: "HTTPTotal" "httpTotal" "int" V3_3;
});

reflect_struct!(KernelArguments, "KernelArguments", None, [],
    [("ShouldExist", "KernelArgument"), ("ShouldNotExist", "KernelArgument")], {
    should_exist: "ShouldExist" "shouldExist" "[]types.KernelArgument" V3_3;
    should_not_exist: "ShouldNotExist" "shouldNotExist" "[]types.KernelArgument" V3_3;
});

reflect_struct!(Passwd, "Passwd", None, [], [], {
    groups: "Groups" "groups" "[]types.PasswdGroup" V3_3;
    users: "Users" "users" "[]types.PasswdUser" V3_3;
});

reflect_struct!(PasswdGroup, "PasswdGroup", Some(key_name), [], [], {
    gid: "Gid" "gid" "int" V3_3;
    name: "Name" "name" "string" V3_3;
    password_hash: "PasswordHash" "passwordHash" "string" V3_3;
    should_exist: "ShouldExist" "shouldExist" "bool" V3_3;
    system: "System" "system" "bool" V3_3;
});

reflect_struct!(PasswdUser, "PasswdUser", Some(key_name), [], [], {
    gecos: "Gecos" "gecos" "string" V3_3;
    groups: "Groups" "groups" "[]types.Group" V3_3;
    home_dir: "HomeDir" "homeDir" "string" V3_3;
    name: "Name" "name" "string" V3_3;
    no_create_home: "NoCreateHome" "noCreateHome" "bool" V3_3;
    no_log_init: "NoLogInit" "noLogInit" "bool" V3_3;
    no_user_group: "NoUserGroup" "noUserGroup" "bool" V3_3;
    password_hash: "PasswordHash" "passwordHash" "string" V3_3;
    primary_group: "PrimaryGroup" "primaryGroup" "string" V3_3;
    ssh_authorized_keys: "SSHAuthorizedKeys" "sshAuthorizedKeys" "[]types.SSHAuthorizedKey" V3_3;
    shell: "Shell" "shell" "string" V3_3;
    should_exist: "ShouldExist" "shouldExist" "bool" V3_3;
    system: "System" "system" "bool" V3_3;
    uid: "UID" "uid" "int" V3_3;
});

reflect_struct!(Storage, "Storage", None, [],
    [("Directories", "Node"), ("Files", "Node"), ("Links", "Node")], {
    directories: "Directories" "directories" "[]types.Directory" V3_3;
    disks: "Disks" "disks" "[]types.Disk" V3_3;
    files: "Files" "files" "[]types.File" V3_3;
    filesystems: "Filesystems" "filesystems" "[]types.Filesystem" V3_3;
    links: "Links" "links" "[]types.Link" V3_3;
    luks: "Luks" "luks" "[]types.Luks" V3_3;
    raid: "Raid" "raid" "[]types.Raid" V3_3;
});

// NodeUser and NodeGroup share one Rust type; fields say which one they
// are through their Go type.
reflect_struct!(NodeOwner, "NodeUser", None, [], [], {
    id: "ID" "id" "int" V3_3;
    name: "Name" "name" "string" V3_3;
});

reflect_struct!(File, "File", Some(key_path), ["Append"], [], {
    group: "Group" "group" "types.NodeGroup" V3_3;
    overwrite: "Overwrite" "overwrite" "bool" V3_3;
    path: "Path" "path" "string" V3_3;
    user: "User" "user" "types.NodeUser" V3_3;
    append: "Append" "append" "[]types.Resource" V3_3;
    contents: "Contents" "contents" "types.Resource" V3_3;
    mode: "Mode" "mode" "int" V3_3;
});

reflect_struct!(Directory, "Directory", Some(key_path), [], [], {
    group: "Group" "group" "types.NodeGroup" V3_3;
    overwrite: "Overwrite" "overwrite" "bool" V3_3;
    path: "Path" "path" "string" V3_3;
    user: "User" "user" "types.NodeUser" V3_3;
    mode: "Mode" "mode" "int" V3_3;
});

reflect_struct!(Link, "Link", Some(key_path), [], [], {
    group: "Group" "group" "types.NodeGroup" V3_3;
    overwrite: "Overwrite" "overwrite" "bool" V3_3;
    path: "Path" "path" "string" V3_3;
    user: "User" "user" "types.NodeUser" V3_3;
    hard: "Hard" "hard" "bool" V3_3;
    target: "Target" "target" "string" V3_3;
});

reflect_struct!(Resource, "Resource", Some(key_source), [], [], {
    compression: "Compression" "compression" "string" V3_3;
    http_headers: "HTTPHeaders" "httpHeaders" "types.HTTPHeaders" V3_3;
    source: "Source" "source" "string" V3_3;
    verification: "Verification" "verification" "types.Verification" V3_3;
});

reflect_struct!(HttpHeader, "HTTPHeader", Some(key_name), [], [], {
    name: "Name" "name" "string" V3_3;
    value: "Value" "value" "string" V3_3;
});

reflect_struct!(Verification, "Verification", None, [], [], {
    hash: "Hash" "hash" "string" V3_3;
});

reflect_struct!(Disk, "Disk", Some(key_device), [], [], {
    device: "Device" "device" "string" V3_3;
    partitions: "Partitions" "partitions" "[]types.Partition" V3_3;
    wipe_table: "WipeTable" "wipeTable" "bool" V3_3;
});

reflect_struct!(Partition, "Partition", Some(key_partition), [], [], {
    guid: "GUID" "guid" "string" V3_3;
    label: "Label" "label" "string" V3_3;
    number: "Number" "number" "int" V3_3;
    resize: "Resize" "resize" "bool" V3_3;
    should_exist: "ShouldExist" "shouldExist" "bool" V3_3;
    size_mib: "SizeMiB" "sizeMiB" "int" V3_3;
    start_mib: "StartMiB" "startMiB" "int" V3_3;
    type_guid: "TypeGUID" "typeGuid" "string" V3_3;
    wipe_partition_entry: "WipePartitionEntry" "wipePartitionEntry" "bool" V3_3;
});

reflect_struct!(Filesystem, "Filesystem", Some(key_device), ["Options", "MountOptions"], [], {
    device: "Device" "device" "string" V3_3;
    format: "Format" "format" "string" V3_3;
    label: "Label" "label" "string" V3_3;
    mount_options: "MountOptions" "mountOptions" "[]types.MountOption" V3_3;
    options: "Options" "options" "[]types.FilesystemOption" V3_3;
    path: "Path" "path" "string" V3_3;
    uuid: "UUID" "uuid" "string" V3_3;
    wipe_filesystem: "WipeFilesystem" "wipeFilesystem" "bool" V3_3;
});

reflect_struct!(Luks, "Luks", Some(key_name), ["Options", "OpenOptions"], [], {
    cex: "Cex" "cex" "types.Cex" V3_5;
    clevis: "Clevis" "clevis" "types.Clevis" V3_3;
    device: "Device" "device" "string" V3_3;
    discard: "Discard" "discard" "bool" V3_4;
    key_file: "KeyFile" "keyFile" "types.Resource" V3_3;
    label: "Label" "label" "string" V3_3;
    name: "Name" "name" "string" V3_3;
    open_options: "OpenOptions" "openOptions" "[]types.OpenOption" V3_4;
    options: "Options" "options" "[]types.LuksOption" V3_3;
    uuid: "UUID" "uuid" "string" V3_3;
    wipe_volume: "WipeVolume" "wipeVolume" "bool" V3_3;
});

reflect_struct!(Cex, "Cex", None, [], [], {
    enabled: "Enabled" "enabled" "bool" V3_5;
});

reflect_struct!(Clevis, "Clevis", None, [], [], {
    custom: "Custom" "custom" "types.ClevisCustom" V3_3;
    tang: "Tang" "tang" "[]types.Tang" V3_3;
    threshold: "Threshold" "threshold" "int" V3_3;
    tpm2: "Tpm2" "tpm2" "bool" V3_3;
});

reflect_struct!(ClevisCustom, "ClevisCustom", None, [], [], {
    config: "Config" "config" "string" V3_3;
    needs_network: "NeedsNetwork" "needsNetwork" "bool" V3_3;
    pin: "Pin" "pin" "string" V3_3;
});

reflect_struct!(Tang, "Tang", Some(key_url), [], [], {
    advertisement: "Advertisement" "advertisement" "string" V3_4;
    thumbprint: "Thumbprint" "thumbprint" "string" V3_3;
    url: "URL" "url" "string" V3_3;
});

reflect_struct!(Raid, "Raid", Some(key_name), ["Options"], [], {
    devices: "Devices" "devices" "[]types.Device" V3_3;
    level: "Level" "level" "string" V3_3;
    name: "Name" "name" "string" V3_3;
    options: "Options" "options" "[]types.RaidOption" V3_3;
    spares: "Spares" "spares" "int" V3_3;
});

reflect_struct!(Systemd, "Systemd", None, [], [], {
    units: "Units" "units" "[]types.Unit" V3_3;
});

reflect_struct!(Unit, "Unit", Some(key_name), [], [], {
    contents: "Contents" "contents" "string" V3_3;
    dropins: "Dropins" "dropins" "[]types.Dropin" V3_3;
    enabled: "Enabled" "enabled" "bool" V3_3;
    mask: "Mask" "mask" "bool" V3_3;
    name: "Name" "name" "string" V3_3;
});

reflect_struct!(Dropin, "Dropin", Some(key_name), [], [], {
    contents: "Contents" "contents" "string" V3_3;
    name: "Name" "name" "string" V3_3;
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_vals() {
        let mut c = Config::default();
        c.ignition.version = "3.4.0".into();
        c.storage.files.push(File {
            path: "/a".into(),
            mode: Some(0o644),
            ..Default::default()
        });
        c.storage.luks.push(Luks {
            discard: Some(true),
            open_options: vec!["x".into()],
            ..Default::default()
        });
        let v = c.to_val();
        assert_eq!(Config::from_val(v), c);
    }

    #[test]
    fn keys() {
        let p = Partition {
            number: 3,
            label: Some("x".into()),
            ..Default::default()
        }
        .to_val();
        assert_eq!(super::super::reflect::call_key(&p), "number:3");
        let p = Partition {
            label: Some("x".into()),
            ..Default::default()
        }
        .to_val();
        assert_eq!(super::super::reflect::call_key(&p), "label:x");
        let p = Partition::default().to_val();
        assert_eq!(super::super::reflect::call_key(&p), "");
    }
}
