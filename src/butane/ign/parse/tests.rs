//! Inline configs: Go's decoding errors (texts checked against Go's
//! `encoding/json` on Ignition's 3.5.0 types), the unknown-version case,
//! and `ValidateWithContext`'s three reports in order.

use super::*;
use crate::butane::report::{Elem, Kind};

fn lines(r: &Report) -> Vec<String> {
    r.entries.iter().map(|e| e.to_string()).collect()
}

fn parse_error(spec: Spec, raw: &str) -> String {
    let r = validate_ignition_config(spec, raw.as_bytes());
    assert_eq!(r.error.as_deref(), Some("config is not valid"));
    assert_eq!(r.report.entries.len(), 1);
    assert_eq!(r.report.entries[0].kind, Kind::Error);
    assert!(r.report.entries[0].path.is_empty());
    r.report.entries[0].message.clone()
}

#[test]
fn syntax_errors() {
    assert_eq!(parse_error(Spec::V3_3, ""), "unexpected end of JSON input");
    assert_eq!(
        parse_error(Spec::V3_3, "{\"ignition\": }"),
        "invalid character '}' looking for beginning of value"
    );
    assert_eq!(
        parse_error(Spec::V3_3, "{} {}"),
        "invalid character '{' after top-level value"
    );
}

#[test]
fn type_errors_read_as_go() {
    for (raw, msg) in [
        (
            r#"{"ignition":{"version":5}}"#,
            "json: cannot unmarshal number into Go struct field Ignition.ignition.version of type string",
        ),
        (
            r#"{"storage":{"files":[{"path":"/a","mode":"0644"}]}}"#,
            "json: cannot unmarshal string into Go struct field File.storage.files.mode of type int",
        ),
        (
            r#"{"storage":{"files":[{"path":"/a","mode":1.5}]}}"#,
            "json: cannot unmarshal number 1.5 into Go struct field File.storage.files.mode of type int",
        ),
        (
            r#"{"storage":{"disks":[{"partitions":{"number":1}}]}}"#,
            "json: cannot unmarshal object into Go struct field Disk.storage.disks.partitions of type []types.Partition",
        ),
        (
            "[]",
            "json: cannot unmarshal array into Go value of type types.Config",
        ),
        (
            r#"{"ignition":"x"}"#,
            "json: cannot unmarshal string into Go struct field Config.ignition of type types.Ignition",
        ),
        (
            r#"{"storage":{"files":[{"path":"/a","user":{"id":true}}]}}"#,
            "json: cannot unmarshal bool into Go struct field NodeUser.storage.files.user.id of type int",
        ),
        (
            r#"{"ignition":{"config":{"replace":{"httpHeaders":"x"}}}}"#,
            "json: cannot unmarshal string into Go struct field Resource.ignition.config.replace.httpHeaders of type types.HTTPHeaders",
        ),
        (
            r#"{"ignition":{"config":{"merge":[5]}}}"#,
            "json: cannot unmarshal number into Go struct field IgnitionConfig.ignition.config.merge of type types.Resource",
        ),
        (
            r#"{"kernelArguments":{"shouldExist":[1]}}"#,
            "json: cannot unmarshal number into Go struct field KernelArguments.kernelArguments.shouldExist of type types.KernelArgument",
        ),
        (
            r#"{"storage":{"luks":[{"openOptions":[{}]}]}}"#,
            "json: cannot unmarshal object into Go struct field Luks.storage.luks.openOptions of type types.OpenOption",
        ),
        (
            r#"{"storage":{"luks":[{"cex":[]}]}}"#,
            "json: cannot unmarshal array into Go struct field Luks.storage.luks.cex of type types.Cex",
        ),
        (
            r#"{"storage":{"disks":[{"partitions":[{"number":99999999999999999999}]}]}}"#,
            "json: cannot unmarshal number 99999999999999999999 into Go struct field Partition.storage.disks.partitions.number of type int",
        ),
    ] {
        assert_eq!(parse_error(Spec::V3_5, raw), msg, "{raw}");
    }
}

#[test]
fn fields_a_spec_lacks_are_unknown_keys() {
    let raw = r#"{"ignition":{"version":"3.4.0"},"storage":{"luks":[{"name":"l","device":"/dev/a","cex":[]}]}}"#;
    let r = validate_ignition_config(Spec::V3_4, raw.as_bytes());
    assert_eq!(r.error, None);
    assert_eq!(
        lines(&r.report),
        ["warning at $.storage.luks.0.cex: unused key cex"]
    );
    assert_eq!(
        r.report.entries[0].path.elems.last(),
        Some(&Elem::Key("cex".into()))
    );
}

#[test]
fn unknown_versions_skip_validation() {
    let raw = r#"{"ignition":{"version":"7.1.0"},"storage":{"files":[{"path":"/etc/x"}]}}"#;
    let r = validate_ignition_config(Spec::V3_4, raw.as_bytes());
    assert!(r.unknown_version);
    assert_eq!(r.error, None);
    assert!(r.report.is_empty());
    // A version that does not parse is not "unknown": validation runs.
    let r = validate_ignition_config(Spec::V3_4, br#"{"ignition":{"version":"seven"},"x":1}"#);
    assert!(!r.unknown_version);
    assert_eq!(
        lines(&r.report),
        [
            "error at $.ignition.version: invalid config version (couldn't parse)",
            "warning at $.x: unused key x",
        ]
    );
}

#[test]
fn corpus_inline_configs_are_clean() {
    let merge = r#"{
  "ignition": {"version": "3.3.0"},
  "storage": {"files": [{"path": "/etc/harbor/merged-inline", "contents": {"source": "data:,from%20inline%20merge%0A"}}]}
}
"#;
    let r = validate_ignition_config(Spec::V3_3, merge.as_bytes());
    assert_eq!(
        (r.error, r.unknown_version, r.report.is_empty()),
        (None, false, true)
    );
    assert_eq!(
        r.config.unwrap().storage.files[0].path,
        "/etc/harbor/merged-inline"
    );
}

#[test]
fn validation_then_duplicates_then_unused_keys() {
    let raw = r#"{
        "Ignition": {"version": "3.5.0"},
        "ignition": {"version": "3.5.0", "proxy": null},
        "storage": {"files": [{"path": "/a", "mode": 2541, "extra": 1}, {"path": "/a"}, null]},
        "systemd": {"units": [{"name": "x.service", "nAme": "y.service"}]}
    }"#;
    let r = validate_ignition_config(Spec::V3_5, raw.as_bytes());
    assert_eq!(
        lines(&r.report),
        [
            "warning at $.storage.files.0.mode: setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
            "error at $.storage.files.2.path: path not specified",
            "error at $.storage.files.1: duplicate entry defined",
            "warning at $.Ignition: unused key Ignition",
            "warning at $.ignition.proxy: context tree does not match content tree at $.ignition.proxy. Line and column reporting may be inconsistent. Unused keys may not be reported.",
            "warning at $.storage.files.0.extra: unused key extra",
            "warning at $.storage.files.2: context tree does not match content tree at $.storage.files.2. Line and column reporting may be inconsistent. Unused keys may not be reported.",
            "warning at $.systemd.units.0.nAme: unused key nAme",
        ]
    );
    // Keys match case-insensitively when decoding: the unit is "y.service".
    assert_eq!(r.config.unwrap().systemd.units[0].name, "y.service");
}

#[test]
fn duplicate_keys_decode_in_turn() {
    let raw = br#"{"ignition":{"version":"3.3.0"},"ignition":{"config":{"replace":{"source":"http://x"}}},
        "storage":{"files":[{"path":"/a","mode":420}],"files":[{"overwrite":true}]}}"#;
    let c = parse_config(Spec::V3_3, raw).unwrap();
    assert_eq!(c.ignition.version, "3.3.0");
    assert_eq!(
        c.ignition.config.replace.source.as_deref(),
        Some("http://x")
    );
    assert_eq!(c.storage.files.len(), 1);
    assert_eq!(
        (
            c.storage.files[0].path.as_str(),
            c.storage.files[0].mode,
            c.storage.files[0].overwrite
        ),
        ("/a", Some(420), Some(true))
    );
}

#[test]
fn never_panics_on_bytes() {
    let mut seed: u64 = 12345;
    let pieces: [&[u8]; 16] = [
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"ignition\"",
        b":",
        b",",
        b"\"version\"",
        b"\"3.5.0\"",
        b"null",
        b"1e999",
        b"\"\\ud800\"",
        b"\xff",
        b" ",
        b"\"storage\":{\"files\":[",
        b"true",
    ];
    for _ in 0..5000 {
        let mut raw = Vec::new();
        for _ in 0..(seed % 20) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            raw.extend_from_slice(pieces[(seed % 16) as usize]);
        }
        for spec in [Spec::V3_3, Spec::V3_4, Spec::V3_5] {
            let _ = validate_ignition_config(spec, &raw);
        }
        seed = seed.wrapping_add(0x9e3779b97f4a7c15);
    }
}
