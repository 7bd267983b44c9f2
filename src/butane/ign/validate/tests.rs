//! One test per message (kind, path and text), and for each spec
//! difference. Expected strings are `Entry`'s display: `kind at path: msg`.

use super::*;
use crate::butane::ign::types::*;

fn base(spec: Spec) -> Config {
    let mut c = Config::default();
    c.ignition.version = spec.version().to_string();
    c
}

fn check(c: &Config, spec: Spec) -> Vec<String> {
    validate(c, spec)
        .entries
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn src(url: &str) -> Resource {
    Resource {
        source: s(url),
        ..Default::default()
    }
}

#[test]
fn valid_configs_are_quiet() {
    for spec in [Spec::V3_3, Spec::V3_4, Spec::V3_5] {
        assert!(check(&base(spec), spec).is_empty());
    }
}

#[test]
fn versions() {
    let mut c = base(Spec::V3_4);
    assert!(check(&c, Spec::V3_4).is_empty());
    assert_eq!(
        check(&c, Spec::V3_5),
        ["error at $.ignition.version: unsupported config version"]
    );
    for v in ["3.4.0-experimental", "3.4.1", "3.4.0+meta"] {
        c.ignition.version = v.into();
        assert_eq!(
            check(&c, Spec::V3_4),
            ["error at $.ignition.version: unsupported config version"],
            "{v}"
        );
    }
    // go-semver accepts leading zeros (a sign would be split off as
    // build metadata or pre-release first).
    c.ignition.version = "03.04.00".into();
    assert!(check(&c, Spec::V3_4).is_empty());
    for v in [
        "",
        "3.4",
        "v3.4.0",
        "+3.4.0",
        "3.4.x",
        "3.4.0-a..b",
        "3.4.0+a_b",
    ] {
        c.ignition.version = v.into();
        assert_eq!(
            check(&c, Spec::V3_4),
            ["error at $.ignition.version: invalid config version (couldn't parse)"],
            "{v}"
        );
    }
}

#[test]
fn merge_and_replace_sources() {
    let mut c = base(Spec::V3_3);
    c.ignition.config.merge = vec![Resource::default(), src(""), src("ftp://x")];
    c.ignition.config.replace = Resource {
        verification: Verification {
            hash: s("sha256-00"),
        },
        ..Default::default()
    };
    assert_eq!(
        check(&c, Spec::V3_3),
        [
            "error at $.ignition.config.merge.0: source is required",
            "error at $.ignition.config.merge.1: source is required",
            "error at $.ignition.config.merge.2: invalid url scheme",
            "error at $.ignition.config.merge.2.source: invalid url scheme",
            "error at $.ignition.config.replace.verification.hash: source must be specified if verification is specified",
            "error at $.ignition.config.replace.verification.hash: incorrect size for hash sum",
        ]
    );
}

#[test]
fn certificate_authorities_need_sources() {
    let mut c = base(Spec::V3_4);
    c.ignition.security.tls.certificate_authorities = vec![Resource::default(), src("data:,x")];
    assert_eq!(
        check(&c, Spec::V3_4),
        ["error at $.ignition.security.tls.certificateAuthorities.0: source is required"]
    );
}

#[test]
fn proxies() {
    let mut c = base(Spec::V3_5);
    c.ignition.proxy = Proxy {
        http_proxy: s("http://p"),
        https_proxy: s("http://q"),
        no_proxy: vec![],
    };
    assert_eq!(
        check(&c, Spec::V3_5),
        [
            "warning at $.ignition.proxy.httpsProxy: insecure plaintext HTTP proxy specified for HTTPS resources"
        ]
    );
    c.ignition.proxy = Proxy {
        http_proxy: s("socks5://p"),
        https_proxy: s("http://[::1]a"),
        no_proxy: vec![],
    };
    assert_eq!(
        check(&c, Spec::V3_5),
        [
            "error at $.ignition.proxy.httpProxy: proxies must be http(s)",
            "error at $.ignition.proxy.httpsProxy: unable to parse url",
        ]
    );
}

#[test]
fn resource_fields() {
    let mut c = base(Spec::V3_3);
    c.storage.files.push(File {
        path: "/f".into(),
        contents: Resource {
            compression: s("xz"),
            source: s("tftp://t/x"),
            http_headers: vec![
                HttpHeader {
                    name: "".into(),
                    value: s("v"),
                },
                HttpHeader {
                    name: "A".into(),
                    value: s(""),
                },
                HttpHeader {
                    name: "B".into(),
                    value: None,
                },
            ],
            verification: Verification { hash: s("md5-abc") },
        },
        append: vec![Resource {
            http_headers: vec![HttpHeader {
                name: "A".into(),
                value: s("v"),
            }],
            verification: Verification { hash: s("sha512") },
            ..Default::default()
        }],
        ..Default::default()
    });
    assert_eq!(
        check(&c, Spec::V3_3),
        [
            "error at $.storage.files.0.append.0.verification.hash: source must be specified if verification is specified",
            "error at $.storage.files.0.append.0.httpHeaders: unable to parse url",
            "error at $.storage.files.0.append.0.verification.hash: malformed hash specifier",
            "error at $.storage.files.0.contents.compression: invalid compression method",
            "error at $.storage.files.0.contents.httpHeaders: cannot use HTTP headers with this source scheme",
            "error at $.storage.files.0.contents.httpHeaders.0.name: HTTP header name can't be empty",
            "error at $.storage.files.0.contents.httpHeaders.1.value: unable to parse HTTP header",
            "error at $.storage.files.0.contents.verification.hash: unrecognized hash function",
        ]
    );
}

#[test]
fn hashes() {
    let mut c = base(Spec::V3_4);
    let good512 = format!("sha512-{}", "0".repeat(128));
    let good256 = format!("sha256-{}", "a".repeat(64));
    for (h, e) in [
        (good512.as_str(), None),
        (good256.as_str(), None),
        ("sha256-abc", Some("incorrect size for hash sum")),
        ("sha1-abc", Some("unrecognized hash function")),
        ("sha256:abc", Some("malformed hash specifier")),
    ] {
        c.storage.files = vec![File {
            path: "/f".into(),
            contents: Resource {
                source: s("https://x"),
                verification: Verification { hash: s(h) },
                ..Default::default()
            },
            ..Default::default()
        }];
        let want: Vec<String> = e
            .map(|m| format!("error at $.storage.files.0.contents.verification.hash: {m}"))
            .into_iter()
            .collect();
        assert_eq!(check(&c, Spec::V3_4), want, "{h}");
    }
}

#[test]
fn url_schemes_per_spec() {
    let arn = "arn:aws:s3:::bucket/key";
    for (spec, want) in [
        (
            Spec::V3_3,
            vec!["error at $.storage.files.0.contents.source: invalid url scheme"],
        ),
        (Spec::V3_4, vec![]),
        (Spec::V3_5, vec![]),
    ] {
        let mut c = base(spec);
        c.storage.files.push(File {
            path: "/f".into(),
            contents: src(arn),
            ..Default::default()
        });
        assert_eq!(check(&c, spec), want, "{spec:?}");
    }
    let mut c = base(Spec::V3_5);
    for (u, m) in [
        ("arn:aws:s3:::bucket", "invalid S3 ARN format"),
        ("s3://b/k?versionId=", "invalid S3 object VersionId"),
        ("data:x", "missing media type slash"),
        ("data:;base64,YQ", "illegal base64 data at input byte 0"),
        ("http://%zz", "unable to parse url"),
        ("ftp://x", "invalid url scheme"),
    ] {
        c.storage.files = vec![File {
            path: "/f".into(),
            contents: src(u),
            ..Default::default()
        }];
        assert_eq!(
            check(&c, Spec::V3_5),
            [format!("error at $.storage.files.0.contents.source: {m}")],
            "{u}"
        );
    }
}

#[test]
fn node_paths_owners_and_modes() {
    let mut c = base(Spec::V3_3);
    let both = NodeOwner {
        id: Some(0),
        name: s("core"),
    };
    c.storage.directories.push(Directory {
        path: "".into(),
        mode: Some(0o1755),
        ..Default::default()
    });
    c.storage.files.push(File {
        path: "rel".into(),
        mode: Some(0o10000),
        overwrite: Some(true),
        user: both.clone(),
        group: both.clone(),
        ..Default::default()
    });
    c.storage.links.push(Link {
        path: "/a/../b".into(),
        target: s("/x"),
        user: both,
        ..Default::default()
    });
    c.storage.files.push(File {
        path: "/ok".into(),
        user: NodeOwner {
            id: Some(1),
            name: s(""),
        },
        overwrite: Some(true),
        contents: src("https://x"),
        mode: Some(-1),
        ..Default::default()
    });
    assert_eq!(
        check(&c, Spec::V3_3),
        [
            "error at $.storage.directories.0.path: path not specified",
            "warning at $.storage.directories.0.mode: setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
            "error at $.storage.files.0.path: path not absolute",
            "error at $.storage.files.0.mode: illegal file mode",
            "error at $.storage.files.0.overwrite: overwrite must be false if source is unspecified",
            "error at $.storage.files.0.group: cannot set both id and name",
            "error at $.storage.files.0.user: cannot set both id and name",
            "error at $.storage.files.1.mode: illegal file mode",
            "warning at $.storage.files.1.mode: setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
            "error at $.storage.links.0.path: path is not fully simplified",
            "error at $.storage.links.0.user: cannot set both id and name",
        ]
    );
}

#[test]
fn special_bits_warn_in_every_spec() {
    for spec in [Spec::V3_3, Spec::V3_4, Spec::V3_5] {
        let mut c = base(spec);
        for m in [0o4755, 0o2755, 0o1777, 0o755] {
            c.storage.files.push(File {
                path: format!("/f{m}"),
                mode: Some(m),
                ..Default::default()
            });
        }
        let w: Vec<String> = check(&c, spec);
        assert_eq!(w.len(), 3, "{spec:?}");
        assert!(w[0].starts_with("warning at $.storage.files.0.mode: setuid/setgid/sticky bits"));
    }
}

#[test]
fn links_under_links_and_hard_links() {
    let mut c = base(Spec::V3_4);
    c.storage.links = vec![
        Link {
            path: "/l".into(),
            target: s("/t"),
            ..Default::default()
        },
        Link {
            path: "/l/m".into(),
            target: None,
            ..Default::default()
        },
        Link {
            path: "/h".into(),
            target: s("../d"),
            hard: Some(true),
            user: NodeOwner {
                id: Some(1),
                name: s("u"),
            },
            group: NodeOwner {
                id: None,
                name: s(""),
            },
            ..Default::default()
        },
        Link {
            path: "/h2".into(),
            target: s("/d"),
            hard: Some(true),
            ..Default::default()
        },
    ];
    c.storage.directories = vec![
        Directory {
            path: "/l/d".into(),
            ..Default::default()
        },
        Directory {
            path: "/d".into(),
            ..Default::default()
        },
    ];
    c.storage.files = vec![File {
        path: "/l/f".into(),
        ..Default::default()
    }];
    assert_eq!(
        check(&c, Spec::V3_4),
        [
            "error at $.storage.directories.0: directory path includes link in config",
            "error at $.storage.files.0: file path includes link in config",
            "error at $.storage.links.1: link path includes link in config",
            "error at $.storage.links.1.target: link target is required",
            // "../d" is joined to the link's own path: /h/../d = /d.
            "error at $.storage.links.2: hard link target is a directory",
            "warning at $.storage.links.2.user.id: user/group ignored for hard link",
            "warning at $.storage.links.2.user.name: user/group ignored for hard link",
            "warning at $.storage.links.2.group.name: user/group ignored for hard link",
            "error at $.storage.links.3: hard link target is a directory",
            "error at $.storage.links.2.user: cannot set both id and name",
        ]
    );
}

#[test]
fn filesystems_over_disks() {
    let mut c = base(Spec::V3_5);
    c.storage.disks = vec![
        Disk {
            device: "/dev/a".into(),
            partitions: vec![Partition {
                number: 1,
                ..Default::default()
            }],
            ..Default::default()
        },
        Disk {
            device: "/dev/b".into(),
            wipe_table: Some(true),
            ..Default::default()
        },
    ];
    c.storage.filesystems = vec![
        Filesystem {
            device: "/dev/a".into(),
            ..Default::default()
        },
        Filesystem {
            device: "/dev/b".into(),
            ..Default::default()
        },
        Filesystem {
            device: "/dev/b".into(),
            wipe_filesystem: Some(true),
            format: s("xfs"),
            ..Default::default()
        },
    ];
    assert_eq!(
        check(&c, Spec::V3_5),
        [
            "warning at $.storage.filesystems.0.device: filesystem overwrites partitioned device",
            "warning at $.storage.filesystems.1.device: device matches disk with wipeTable enabled; filesystem will be wiped",
        ]
    );
}

#[test]
fn disks() {
    let mut c = base(Spec::V3_4);
    let part = |n: i64, label: Option<&str>, start: Option<i64>, size: Option<i64>| Partition {
        number: n,
        label: label.map(String::from),
        start_mib: start,
        size_mib: size,
        ..Default::default()
    };
    c.storage.disks = vec![
        Disk {
            device: "".into(),
            partitions: vec![part(0, None, None, None)],
            ..Default::default()
        },
        Disk {
            device: "dev/x".into(),
            partitions: vec![
                part(1, s("a").as_deref(), Some(10), Some(10)),
                part(2, s("a").as_deref(), Some(15), Some(0)),
                part(1, None, Some(100), Some(1)),
                Partition {
                    should_exist: Some(false),
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
    ];
    assert_eq!(
        check(&c, Spec::V3_4),
        [
            "error at $.storage.disks.0.device: disk device is required",
            "error at $.storage.disks.0.partitions.0: a partition number >= 1 or a label must be specified",
            "error at $.storage.disks.1.device: path not absolute",
            "error at $.storage.disks.1.partitions.2: partition numbers collide",
            "error at $.storage.disks.1.partitions.1: partitions overlap",
            "error at $.storage.disks.1.partitions: shouldExist is false for a partition and other partition(s) has start or size 0",
            "error at $.storage.disks.1.partitions.1: cannot use the same partition label twice",
            "error at $.storage.disks.1.partitions.3: a partition number >= 1 or a label must be specified",
        ]
    );
}

#[test]
fn partitions() {
    let mut c = base(Spec::V3_3);
    c.storage.disks = vec![Disk {
        device: "/dev/sda".into(),
        partitions: vec![
            Partition {
                number: 1,
                should_exist: Some(false),
                label: s("x"),
                ..Default::default()
            },
            Partition {
                number: 2,
                label: s(&"x".repeat(37)),
                guid: s("nope"),
                type_guid: s(""),
                ..Default::default()
            },
            Partition {
                number: 3,
                label: s("a:b"),
                type_guid: s("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
                ..Default::default()
            },
            Partition {
                number: 4,
                type_guid: s("0fc63daf-8483-4772-8e79-3d69d8477de"),
                ..Default::default()
            },
        ],
        ..Default::default()
    }];
    assert_eq!(
        check(&c, Spec::V3_3),
        [
            "error at $.storage.disks.0.partitions.0: shouldExist specified false with other options also specified",
            "error at $.storage.disks.0.partitions.1.label: partition labels may not exceed 36 characters",
            "error at $.storage.disks.0.partitions.1.guid: doesn't match the form \"01234567-89AB-CDEF-EDCB-A98765432101\"",
            "error at $.storage.disks.0.partitions.2.label: partition label will be truncated to text before the colon",
            "error at $.storage.disks.0.partitions.3.typeGuid: doesn't match the form \"01234567-89AB-CDEF-EDCB-A98765432101\"",
        ]
    );
}

#[test]
fn filesystems() {
    let mut c = base(Spec::V3_3);
    let fs = |format: Option<&str>, label: Option<&str>| Filesystem {
        device: "/dev/x".into(),
        format: format.map(String::from),
        label: label.map(String::from),
        ..Default::default()
    };
    c.storage.filesystems = vec![
        Filesystem {
            device: "x".into(),
            path: s("var"),
            mount_options: vec!["ro".into()],
            ..Default::default()
        },
        fs(Some("zfs"), None),
        fs(None, Some("l")),
        fs(Some("none"), Some("any label at all, however long")),
        fs(Some("ext4"), Some(&"e".repeat(17))),
        fs(Some("btrfs"), Some(&"b".repeat(257))),
        fs(Some("xfs"), Some(&"x".repeat(13))),
        fs(Some("swap"), Some(&"s".repeat(16))),
        fs(Some("vfat"), Some(&"v".repeat(12))),
        fs(Some("vfat"), Some(&"v".repeat(11))),
        Filesystem {
            device: "".into(),
            path: s(""),
            ..Default::default()
        },
    ];
    assert_eq!(
        check(&c, Spec::V3_3),
        [
            "error at $.storage.filesystems.0.path: path not absolute",
            "error at $.storage.filesystems.0.device: path not absolute",
            "error at $.storage.filesystems.0.format: format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified",
            "error at $.storage.filesystems.1.format: invalid filesystem format",
            "error at $.storage.filesystems.2.format: format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified",
            "error at $.storage.filesystems.2.label: filesystem must specify format if label is specified",
            "error at $.storage.filesystems.4.label: filesystem labels cannot be longer than 16 characters when using ext4",
            "error at $.storage.filesystems.5.label: filesystem labels cannot be longer than 256 characters when using btrfs",
            "error at $.storage.filesystems.6.label: filesystem labels cannot be longer than 12 characters when using xfs",
            "error at $.storage.filesystems.7.label: filesystem labels cannot be longer than 15 characters when using swap",
            "error at $.storage.filesystems.8.label: filesystem labels cannot be longer than 11 characters when using vfat",
            "error at $.storage.filesystems.10.device: path not specified",
        ]
    );
}

#[test]
fn raid() {
    let mut c = base(Spec::V3_5);
    let raid = |level: Option<&str>, spares: Option<i64>, devices: usize| Raid {
        name: "md".into(),
        level: level.map(String::from),
        spares,
        devices: vec!["/dev/a".into(); devices],
        ..Default::default()
    };
    c.storage.raid = vec![
        raid(None, None, 0),
        raid(Some("stripe"), Some(1), 1),
        raid(Some("raid7"), None, 1),
        raid(Some("mirror"), Some(1), 1),
        raid(Some("linear"), Some(0), 1),
    ];
    assert_eq!(
        check(&c, Spec::V3_5),
        [
            "error at $.storage.raid.0.level: raid level is required",
            "error at $.storage.raid.0.devices: raid devices required",
            "error at $.storage.raid.1.level: spares unsupported for linear and raid0 arrays",
            "error at $.storage.raid.2.level: unrecognized raid level",
        ]
    );
}

fn luks(name: &str) -> Luks {
    Luks {
        name: name.into(),
        device: s("/dev/sda"),
        ..Default::default()
    }
}

#[test]
fn luks_volumes() {
    let mut c = base(Spec::V3_3);
    let mut custom = luks("a/b");
    custom.label = s(&"l".repeat(48));
    custom.device = None;
    custom.clevis.custom = ClevisCustom {
        pin: s("tpm2"),
        config: s("{}"),
        needs_network: None,
    };
    custom.clevis.threshold = Some(2);
    custom.key_file = src("ftp://k");
    let mut bad_custom = luks("c");
    bad_custom.device = s("sda");
    bad_custom.clevis.custom = ClevisCustom {
        pin: s("yubikey"),
        config: None,
        needs_network: None,
    };
    let mut no_pin = luks("d");
    no_pin.clevis.custom = ClevisCustom {
        pin: None,
        config: None,
        needs_network: Some(true),
    };
    c.storage.luks = vec![custom, bad_custom, no_pin];
    assert_eq!(
        check(&c, Spec::V3_3),
        [
            "error at $.storage.luks.0.name: device names cannot contain slashes",
            "error at $.storage.luks.0.label: luks device labels cannot be longer than 47 characters",
            "error at $.storage.luks.0.device: disk device is required",
            "error at $.storage.luks.0.clevis: cannot use custom clevis config with tpm2, tang, or threshold",
            "error at $.storage.luks.0.keys: invalid key-file source",
            "error at $.storage.luks.0.keyFile.source: invalid url scheme",
            "error at $.storage.luks.1.device: path not absolute",
            "error at $.storage.luks.1.clevis.custom.pin: unsupported clevis pin",
            "error at $.storage.luks.1.clevis.custom.config: missing required custom clevis config",
            "error at $.storage.luks.2.clevis.custom.pin: missing required custom clevis pin",
            "error at $.storage.luks.2.clevis.custom.config: missing required custom clevis config",
        ]
    );
}

#[test]
fn tang_servers_and_advertisements() {
    let tang = |url: &str, thumb: Option<&str>, adv: Option<&str>| Tang {
        url: url.into(),
        thumbprint: thumb.map(String::from),
        advertisement: adv.map(String::from),
    };
    for spec in [Spec::V3_3, Spec::V3_4, Spec::V3_5] {
        let mut c = base(spec);
        let mut l = luks("t");
        l.clevis.tang = vec![
            tang("", Some("x"), None),
            tang("http://t", None, Some("{{")),
            tang("http://t", Some("x"), Some("")),
            tang("http://t", Some("x"), Some("[1e999]")),
            tang("http://t", Some("x"), Some(" {\"payload\": 1} ")),
        ];
        c.storage.luks = vec![l];
        let mut want = vec![
            "error at $.storage.luks.0.clevis.tang.0.url: invalid url scheme",
            "error at $.storage.luks.0.clevis.tang.1.thumbprint: thumbprint is required",
        ];
        if spec >= Spec::V3_4 {
            want.push("error at $.storage.luks.0.clevis.tang.1.advertisement: advertisement is not valid JSON");
            want.push("error at $.storage.luks.0.clevis.tang.3.advertisement: advertisement is not valid JSON");
        }
        assert_eq!(check(&c, spec), want, "{spec:?}");
    }
}

#[test]
fn cex_only_in_3_5() {
    let mut l = luks("c");
    l.cex.enabled = Some(true);
    l.clevis.tpm2 = Some(true);
    l.key_file = src("data:,k");
    let mut plain = luks("p");
    plain.cex.enabled = Some(true);
    let mut off = luks("o");
    off.cex.enabled = Some(false);
    off.clevis.tpm2 = Some(true);
    for spec in [Spec::V3_3, Spec::V3_4, Spec::V3_5] {
        let mut c = base(spec);
        c.storage.luks = vec![l.clone(), plain.clone(), off.clone()];
        let want: Vec<&str> = if spec == Spec::V3_5 {
            vec![
                "error at $.storage.luks.0.cex: cannot use cex with clevis",
                "error at $.storage.luks.0.cex: cannot use key file with cex",
            ]
        } else {
            vec![]
        };
        assert_eq!(check(&c, spec), want, "{spec:?}");
    }
}

#[test]
fn units_and_dropins() {
    let mut c = base(Spec::V3_4);
    c.systemd.units = vec![
        Unit {
            name: "noext".into(),
            contents: s("[Unit]\nDescription=x\n"),
            enabled: Some(true),
            dropins: vec![Dropin {
                name: "a.txt".into(),
                contents: s("[Service"),
            }],
            ..Default::default()
        },
        Unit {
            name: "b.service".into(),
            contents: s("[Install] x\n"),
            enabled: Some(true),
            ..Default::default()
        },
        Unit {
            name: "c.service".into(),
            contents: s(""),
            enabled: Some(true),
            ..Default::default()
        },
        Unit {
            name: "d.target".into(),
            contents: s("[Install]\nWantedBy=x\n"),
            enabled: Some(true),
            ..Default::default()
        },
    ];
    assert_eq!(
        check(&c, Spec::V3_4),
        [
            "error at $.systemd.units.0.name: invalid systemd unit extension",
            "warning at $.systemd.units.0.contents: unit \"noext\" is enabled, but has no install section so enable does nothing",
            "error at $.systemd.units.0.dropins.0.contents: invalid unit content: unable to find end of section",
            "error at $.systemd.units.0.dropins.0.name: invalid systemd drop-in extension",
            "error at $.systemd.units.1.contents: invalid unit content: found garbage after section name : \"x\"",
        ]
    );
}

#[test]
fn templates_of_enabled_instances() {
    let mut c = base(Spec::V3_5);
    c.systemd.units = vec![
        Unit {
            name: "harbor-probe@.service".into(),
            contents: s("[Unit]\nDescription=Harbor probe %i\n\n[Service]\nExecStart=/x %i\n"),
            ..Default::default()
        },
        Unit {
            name: "harbor-probe@north.service".into(),
            enabled: Some(true),
            ..Default::default()
        },
        Unit {
            name: "harbor-probe@south.service".into(),
            enabled: Some(false),
            ..Default::default()
        },
        Unit {
            name: "ok@.service".into(),
            contents: s("[Install]\nWantedBy=multi-user.target\n"),
            ..Default::default()
        },
        Unit {
            name: "ok@x.service".into(),
            enabled: Some(true),
            ..Default::default()
        },
        Unit {
            name: "missing@x.service".into(),
            enabled: Some(true),
            ..Default::default()
        },
    ];
    assert_eq!(
        check(&c, Spec::V3_5),
        [
            "warning at $.systemd.units.1.contents: template unit \"harbor-probe@.service\" for \"harbor-probe@north.service\" doesn't have Install section"
        ]
    );
}

#[test]
fn paths_conflicting_with_units() {
    let mut c = base(Spec::V3_3);
    c.systemd.units = vec![
        Unit {
            name: "a.service".into(),
            contents: s("[Unit]\n"),
            dropins: vec![
                Dropin {
                    name: "x.conf".into(),
                    contents: s(""),
                },
                Dropin {
                    name: "y.conf".into(),
                    contents: s("[Unit]\n"),
                },
            ],
            ..Default::default()
        },
        Unit {
            name: "b.service".into(),
            mask: Some(true),
            ..Default::default()
        },
    ];
    c.storage.files = vec![
        File {
            path: "/etc/systemd/system/a.service".into(),
            ..Default::default()
        },
        File {
            path: "/etc/systemd/system/b.service".into(),
            ..Default::default()
        },
    ];
    c.storage.directories = vec![Directory {
        path: "/etc/systemd/system/a.service.d/x.conf".into(),
        ..Default::default()
    }];
    c.storage.links = vec![Link {
        path: "/etc/systemd/system/a.service.d/y.conf".into(),
        target: s("/x"),
        ..Default::default()
    }];
    assert_eq!(
        check(&c, Spec::V3_3),
        [
            "error at $.storage.files.0.path: path conflicts with systemd unit or dropin",
            "error at $.storage.links.0.path: path conflicts with systemd unit or dropin",
        ]
    );
}

#[test]
fn entries_follow_the_go_walk() {
    let mut c = base(Spec::V3_5);
    c.ignition.version = "3.5".into();
    c.systemd.units = vec![Unit {
        name: "x".into(),
        ..Default::default()
    }];
    c.storage.files = vec![File {
        path: "/etc/systemd/system/y.service".into(),
        mode: Some(0o4000),
        ..Default::default()
    }];
    c.systemd.units.push(Unit {
        name: "y.service".into(),
        contents: s("[Unit]\n"),
        ..Default::default()
    });
    c.storage.raid = vec![Raid {
        name: "r".into(),
        ..Default::default()
    }];
    c.storage.directories = vec![Directory {
        path: "d".into(),
        ..Default::default()
    }];
    c.ignition.proxy.https_proxy = s("http://p");
    assert_eq!(
        check(&c, Spec::V3_5),
        [
            "error at $.storage.files.0.path: path conflicts with systemd unit or dropin",
            "error at $.ignition.version: invalid config version (couldn't parse)",
            "warning at $.ignition.proxy.httpsProxy: insecure plaintext HTTP proxy specified for HTTPS resources",
            "error at $.storage.directories.0.path: path not absolute",
            "warning at $.storage.files.0.mode: setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
            "error at $.storage.raid.0.level: raid level is required",
            "error at $.storage.raid.0.devices: raid devices required",
            "error at $.systemd.units.0.name: invalid systemd unit extension",
        ]
    );
}

/// Arbitrary configs: whatever the values, validation returns.
#[test]
fn never_panics() {
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let strs = [
        "",
        "/",
        "a",
        "/a",
        "/a/..",
        "::",
        "data:",
        "http://x",
        "é@.service",
        "a@b.service",
        "[Install]\nA=b",
        "[",
        "0",
        "-1",
        "x:y",
        "arn:aws:s3:::b/k",
    ];
    let pick = move |n: u64| strs[(n % strs.len() as u64) as usize].to_string();
    for _ in 0..2000 {
        let mut c = Config::default();
        c.ignition.version = pick(next());
        let n = next();
        let int = |n: u64| [0i64, -1, 1, i64::MAX, i64::MIN, 0o7777, 0o10000][(n % 7) as usize];
        c.storage.disks.push(Disk {
            device: pick(n),
            partitions: (0..n % 4)
                .map(|i| Partition {
                    number: int(n >> i),
                    start_mib: Some(int(n >> (i + 3))),
                    size_mib: Some(int(n >> (i + 5))),
                    label: Some(pick(n >> i)),
                    should_exist: Some(n & (1 << i) == 0),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        });
        c.storage.files.push(File {
            path: pick(next()),
            mode: Some(int(next())),
            contents: src(&pick(next())),
            ..Default::default()
        });
        c.storage.links.push(Link {
            path: pick(next()),
            target: Some(pick(next())),
            hard: Some(true),
            ..Default::default()
        });
        c.storage.luks.push(Luks {
            name: pick(next()),
            key_file: src(&pick(next())),
            ..Default::default()
        });
        c.systemd.units.push(Unit {
            name: pick(next()),
            contents: Some(pick(next())),
            enabled: Some(true),
            ..Default::default()
        });
        for spec in [Spec::V3_3, Spec::V3_4, Spec::V3_5] {
            let _ = validate(&c, spec);
        }
    }
}

/// The Ignition errors of the corpus's failing cases 85, 87 and 89 (there
/// at Butane paths, here at the Ignition paths they map from).
#[test]
fn corpus_error_cases() {
    use crate::butane::ign::parse::parse_config;
    let cases = [
        (
            Spec::V3_4,
            r#"{"ignition":{"version":"3.4.0"},"storage":{"disks":[
                {"device":"/dev/disk/by-id/coreos-boot-disk","wipeTable":false,"partitions":[
                    {"number":4,"label":"root","sizeMiB":16384,"resize":true},
                    {"label":"var-ledger","sizeMiB":0},
                    {"number":7,"shouldExist":false,"wipePartitionEntry":true}]},
                {"device":"/dev/disk/by-id/nvme-harbor-scratch-0001","wipeTable":true,"partitions":[
                    {"number":1,"label":"scratch-a","startMiB":1,"sizeMiB":20480,
                     "typeGuid":"0FC63DAF-8483-4772-8E79-3D69D8477DE4","guid":"4A6E3C1B-9D2F-4E8A-B7C5-1F0D2E3A4B5C"},
                    {"number":2,"label":"scratch-swap","sizeMiB":4096,"typeGuid":"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"},
                    {"number":3,"label":"scratch-b","startMiB":0,"sizeMiB":0,"wipePartitionEntry":true}]}]}}"#,
            vec![
                "error at $.storage.disks.0.partitions: shouldExist is false for a partition and other partition(s) has start or size 0",
            ],
        ),
        (
            Spec::V3_4,
            r#"{"ignition":{"version":"3.4.0"},"systemd":{"units":[
                {"name":"tidewatch","contents":"[Service]\nExecStart=/bin/true\n"},
                {"name":"tidewatch.service","dropins":[{"name":"override","contents":"[Service]\nNice=1\n"}]}]}}"#,
            vec![
                "error at $.systemd.units.0.name: invalid systemd unit extension",
                "error at $.systemd.units.1.dropins.0.name: invalid systemd drop-in extension",
            ],
        ),
        (
            Spec::V3_3,
            r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[
                {"path":"/etc/harbor/bad-hash","contents":{"source":"https://artifacts.harbor-lab.example/bad",
                 "verification":{"hash":"md5-0123456789abcdef0123456789abcdef"}}},
                {"path":"/etc/harbor/bad-scheme","contents":{"source":"ftp://artifacts.harbor-lab.example/file"}}]}}"#,
            vec![
                "error at $.storage.files.0.contents.verification.hash: unrecognized hash function",
                "error at $.storage.files.1.contents.source: invalid url scheme",
            ],
        ),
    ];
    for (spec, json, want) in cases {
        let c = parse_config(spec, json.as_bytes()).unwrap();
        assert_eq!(check(&c, spec), want);
    }
}
