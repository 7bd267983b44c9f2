//! Duplicate checks: what `validate.ValidateCustom(cfg, "json",
//! validate.ValidateDups)` reports (Ignition's config/validate/validate.go).
//!
//! For every struct in the walk, each list field not in
//! `IgnoreDuplicates()` is checked for repeated `Key()`s; lists named in
//! `MergedKeys()` share one set of keys (files, directories and links share
//! "Node", so a directory and a file may not have one path), checked in
//! field order. The types of specs 3.3.0 to 3.5.0 have no `KeyPrefix()`,
//! so upstream's prefix check never fires here.

use std::collections::{HashMap, HashSet};

use super::Spec;
use super::errors as msg;
use super::reflect::{Struct, Val, call_key, walk_structs};
use super::types::Config;
use crate::butane::report::{Path, Report};

/// The duplicate report for a config of spec 3.5.0's fields (a config of an
/// older spec leaves the newer fields empty, so they never report).
pub fn validate_dups(cfg: &Config) -> Report {
    validate_dups_for(cfg, Spec::V3_5)
}

/// The duplicate report, walking only the fields `spec` has.
pub fn validate_dups_for(cfg: &Config, spec: Spec) -> Report {
    use super::reflect::FieldValue;
    let mut r = Report::new();
    walk_structs(&cfg.to_val(), &mut Path::json(), spec, &mut |s, p| {
        dups_of(s, p, spec, &mut r)
    });
    r
}

/// `ValidateDups` for one struct.
fn dups_of(s: &Struct, p: &Path, spec: Spec, r: &mut Report) {
    let mut lists: HashMap<&str, HashSet<String>> = HashMap::new();
    for (f, v) in s.info.fields.iter().zip(&s.fields) {
        let Val::List(items) = v else {
            continue;
        };
        // Most lists are empty: they need no set.
        if items.is_empty() || !f.in_spec(spec) || s.info.ignores(f.go_name) {
            continue;
        }
        let seen = lists.entry(s.info.handle(f.go_name)).or_default();
        for (i, item) in items.iter().enumerate() {
            if !seen.insert(call_key(item)) {
                r.error(p.with(f.json).with(i), msg::DUPLICATE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::butane::ign::types::*;
    use crate::butane::report::path;

    fn entries(r: &Report) -> Vec<String> {
        r.entries.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn nodes_share_one_namespace() {
        let mut c = Config::default();
        c.storage.directories.push(Directory {
            path: "/a".into(),
            ..Default::default()
        });
        c.storage.files.push(File {
            path: "/a".into(),
            ..Default::default()
        });
        c.storage.files.push(File {
            path: "/b".into(),
            ..Default::default()
        });
        c.storage.links.push(Link {
            path: "/b".into(),
            ..Default::default()
        });
        c.storage.links.push(Link {
            path: "/b".into(),
            ..Default::default()
        });
        assert_eq!(
            entries(&validate_dups(&c)),
            [
                "error at $.storage.files.0: duplicate entry defined",
                "error at $.storage.links.0: duplicate entry defined",
                "error at $.storage.links.1: duplicate entry defined",
            ]
        );
        assert_eq!(
            validate_dups(&c).entries[0].path,
            path!(json; "storage", "files", 0usize)
        );
    }

    #[test]
    fn keys_and_ignored_lists() {
        let mut c = Config::default();
        c.kernel_arguments.should_exist = vec!["a".into()];
        c.kernel_arguments.should_not_exist = vec!["a".into()];
        c.storage.files.push(File {
            path: "/f".into(),
            append: vec![Resource::default(), Resource::default()],
            ..Default::default()
        });
        c.storage.filesystems.push(Filesystem {
            device: "/dev/x".into(),
            options: vec!["o".into(), "o".into()],
            mount_options: vec!["m".into(), "m".into()],
            ..Default::default()
        });
        c.storage.disks.push(Disk {
            device: "/dev/x".into(),
            partitions: vec![
                Partition::default(),
                Partition::default(),
                Partition {
                    number: 1,
                    ..Default::default()
                },
                Partition {
                    label: Some("number:1".into()),
                    ..Default::default()
                },
                Partition {
                    number: 1,
                    label: Some("y".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        });
        c.passwd.users.push(PasswdUser {
            name: "u".into(),
            ssh_authorized_keys: vec!["k".into(), "k".into()],
            ..Default::default()
        });
        c.systemd.units.push(Unit {
            name: "a.service".into(),
            dropins: vec![
                Dropin {
                    name: "x.conf".into(),
                    ..Default::default()
                };
                2
            ],
            ..Default::default()
        });
        c.systemd.units.push(Unit {
            name: "a.service".into(),
            ..Default::default()
        });
        assert_eq!(
            entries(&validate_dups(&c)),
            [
                "error at $.kernelArguments.shouldNotExist.0: duplicate entry defined",
                "error at $.passwd.users.0.sshAuthorizedKeys.1: duplicate entry defined",
                "error at $.storage.disks.0.partitions.1: duplicate entry defined",
                "error at $.storage.disks.0.partitions.4: duplicate entry defined",
                "error at $.systemd.units.1: duplicate entry defined",
                "error at $.systemd.units.0.dropins.1: duplicate entry defined",
            ]
        );
    }

    #[test]
    fn resources_are_keyed_by_source() {
        let mut c = Config::default();
        let res = |s: Option<&str>| Resource {
            source: s.map(String::from),
            ..Default::default()
        };
        c.ignition.config.merge = vec![res(None), res(Some("")), res(Some("http://x"))];
        c.ignition.security.tls.certificate_authorities =
            vec![res(Some("http://x")), res(Some("http://x"))];
        c.ignition.config.replace.http_headers = vec![
            HttpHeader {
                name: "A".into(),
                ..Default::default()
            },
            HttpHeader {
                name: "A".into(),
                ..Default::default()
            },
        ];
        assert_eq!(
            entries(&validate_dups(&c)),
            [
                "error at $.ignition.config.merge.1: duplicate entry defined",
                "error at $.ignition.config.replace.httpHeaders.1: duplicate entry defined",
                "error at $.ignition.security.tls.certificateAuthorities.1: duplicate entry defined",
            ]
        );
    }

    #[test]
    fn open_options_only_exist_from_3_4() {
        let mut c = Config::default();
        c.storage.luks.push(Luks {
            name: "l".into(),
            open_options: vec!["a".into(), "a".into()],
            ..Default::default()
        });
        assert!(validate_dups_for(&c, Spec::V3_3).is_empty());
        assert!(validate_dups_for(&c, Spec::V3_4).is_empty());
    }
}
