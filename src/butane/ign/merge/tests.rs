//! Merge results and transcripts, checked against upstream's merge.go run
//! on the same inputs (the transcripts below are its `Transcript.String()`).

use super::*;
use crate::butane::ign::Spec;
use crate::butane::ign::parse::parse_config;
use crate::butane::ign::types::*;
use crate::butane::report::path;

fn cfg(json: &str) -> Config {
    parse_config(Spec::V3_5, json.as_bytes()).unwrap()
}

fn lines(t: &Transcript) -> Vec<String> {
    t.to_string().lines().map(String::from).collect()
}

#[test]
fn files_directories_and_links_share_keys() {
    let parent = cfg(r#"{"ignition":{"version":"3.4.0"},"storage":{
        "files":[{"path":"/a","mode":420,"contents":{"source":"data:,p"}},{"path":"/b","overwrite":true}],
        "directories":[{"path":"/c"}]}}"#);
    let child = cfg(r#"{"ignition":{"version":"3.4.0"},"storage":{
        "directories":[{"path":"/a","mode":493}],
        "files":[{"path":"/b","append":[{"source":"data:,x"}]},{"path":"/d"}]}}"#);
    let (m, t) = merge(&parent, &child);
    let dirs: Vec<&str> = m
        .storage
        .directories
        .iter()
        .map(|d| d.path.as_str())
        .collect();
    let files: Vec<&str> = m.storage.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(dirs, ["/c", "/a"]);
    assert_eq!(files, ["/b", "/d"]);
    assert_eq!(m.storage.files[0].overwrite, Some(true));
    assert_eq!(m.storage.files[0].append.len(), 1);
    assert_eq!(
        lines(&t),
        [
            "child:$.ignition.version → $.ignition.version",
            "parent:$.storage.directories.0.path → $.storage.directories.0.path",
            "parent:$.storage.directories.0 → $.storage.directories.0",
            "child:$.storage.directories.0.path → $.storage.directories.1.path",
            "child:$.storage.directories.0.mode → $.storage.directories.1.mode",
            "child:$.storage.directories.0 → $.storage.directories.1",
            "parent:$.storage.files.1.overwrite → $.storage.files.0.overwrite",
            "child:$.storage.files.0.path → $.storage.files.0.path",
            "child:$.storage.files.0.append.0.source → $.storage.files.0.append.0.source",
            "child:$.storage.files.0.append.0 → $.storage.files.0.append.0",
            "child:$.storage.files.1.path → $.storage.files.1.path",
            "child:$.storage.files.1 → $.storage.files.1",
        ]
    );
    assert_eq!(
        t.mappings[1],
        Mapping {
            from_child: false,
            from: path!(json; "storage", "directories", 0usize, "path"),
            to: path!(json; "storage", "directories", 0usize, "path"),
        }
    );
}

#[test]
fn headers_without_value_remove_the_parents() {
    let parent = cfg(
        r#"{"ignition":{"version":"3.4.0","config":{"replace":{"source":"http://x",
        "httpHeaders":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}}}}"#,
    );
    let child = cfg(r#"{"ignition":{"version":"3.5.0","config":{"replace":{
        "httpHeaders":[{"name":"B"},{"name":"A","value":"3"},{"name":"C","value":""}]}}}}"#);
    let (m, t) = merge(&parent, &child);
    assert_eq!(
        m.ignition.config.replace.http_headers,
        [
            HttpHeader {
                name: "A".into(),
                value: Some("3".into())
            },
            HttpHeader {
                name: "C".into(),
                value: Some("".into())
            },
        ]
    );
    assert_eq!(
        lines(&t),
        [
            "child:$.ignition.config.replace.httpHeaders.1.name → $.ignition.config.replace.httpHeaders.0.name",
            "child:$.ignition.config.replace.httpHeaders.1.value → $.ignition.config.replace.httpHeaders.0.value",
            "child:$.ignition.config.replace.httpHeaders.2.name → $.ignition.config.replace.httpHeaders.1.name",
            "child:$.ignition.config.replace.httpHeaders.2.value → $.ignition.config.replace.httpHeaders.1.value",
            "child:$.ignition.config.replace.httpHeaders.2 → $.ignition.config.replace.httpHeaders.1",
            "parent:$.ignition.config.replace.source → $.ignition.config.replace.source",
            "child:$.ignition.version → $.ignition.version",
        ]
    );
}

#[test]
fn keyed_lists_pointers_and_concatenated_lists() {
    let parent = cfg(r#"{"ignition":{"version":""},"storage":{
        "disks":[{"device":"/dev/sda","wipeTable":true,"partitions":[{"label":"root","number":4,"sizeMiB":0},{"label":"var"}]}],
        "filesystems":[{"device":"/dev/sda4","options":["a"],"format":"xfs"}]},
        "kernelArguments":{"shouldExist":["x","y"]}}"#);
    let child = cfg(r#"{"ignition":{"version":"3.5.0"},"storage":{
        "disks":[{"device":"/dev/sda","partitions":[{"number":4,"sizeMiB":8192},{"label":"var","number":5}]}],
        "filesystems":[{"device":"/dev/sda4","options":["a","b"]}]},
        "kernelArguments":{"shouldExist":["y"],"shouldNotExist":["x"]}}"#);
    let (m, t) = merge(&parent, &child);
    // "x" moved to the other list of the same handle, so the parent's goes.
    assert_eq!(m.kernel_arguments.should_exist, ["y"]);
    assert_eq!(m.kernel_arguments.should_not_exist, ["x"]);
    assert_eq!(m.storage.disks[0].partitions.len(), 3);
    assert_eq!(m.storage.disks[0].partitions[0].size_mib, Some(8192));
    assert_eq!(
        m.storage.disks[0].partitions[0].label.as_deref(),
        Some("root")
    );
    assert_eq!(m.storage.filesystems[0].options, ["a", "a", "b"]);
    assert_eq!(
        lines(&t),
        [
            "child:$.ignition.version → $.ignition.version",
            "child:$.kernelArguments.shouldExist.0 → $.kernelArguments.shouldExist.0",
            "child:$.kernelArguments.shouldNotExist.0 → $.kernelArguments.shouldNotExist.0",
            "child:$.storage.disks.0.device → $.storage.disks.0.device",
            "parent:$.storage.disks.0.partitions.0.label → $.storage.disks.0.partitions.0.label",
            "child:$.storage.disks.0.partitions.0.number → $.storage.disks.0.partitions.0.number",
            "child:$.storage.disks.0.partitions.0.sizeMiB → $.storage.disks.0.partitions.0.sizeMiB",
            "parent:$.storage.disks.0.partitions.1.label → $.storage.disks.0.partitions.1.label",
            "parent:$.storage.disks.0.partitions.1 → $.storage.disks.0.partitions.1",
            "child:$.storage.disks.0.partitions.1.label → $.storage.disks.0.partitions.2.label",
            "child:$.storage.disks.0.partitions.1.number → $.storage.disks.0.partitions.2.number",
            "child:$.storage.disks.0.partitions.1 → $.storage.disks.0.partitions.2",
            "parent:$.storage.disks.0.wipeTable → $.storage.disks.0.wipeTable",
            "child:$.storage.filesystems.0.device → $.storage.filesystems.0.device",
            "parent:$.storage.filesystems.0.format → $.storage.filesystems.0.format",
            "parent:$.storage.filesystems.0.options.0 → $.storage.filesystems.0.options.0",
            "child:$.storage.filesystems.0.options.0 → $.storage.filesystems.0.options.1",
            "child:$.storage.filesystems.0.options.1 → $.storage.filesystems.0.options.2",
        ]
    );
}

#[test]
fn primitives_always_come_from_the_child() {
    let mut parent = Config::default();
    parent.ignition.version = "3.5.0".into();
    parent.storage.luks.push(Luks {
        name: "l".into(),
        clevis: Clevis {
            tpm2: Some(true),
            ..Default::default()
        },
        ..Default::default()
    });
    let (m, t) = merge(&parent, &Config::default());
    assert_eq!(m.ignition.version, "");
    assert_eq!(m.storage.luks, parent.storage.luks);
    assert_eq!(
        lines(&t),
        [
            "parent:$.storage.luks.0.clevis.tpm2 → $.storage.luks.0.clevis.tpm2",
            "parent:$.storage.luks.0.clevis → $.storage.luks.0.clevis",
            "parent:$.storage.luks.0.name → $.storage.luks.0.name",
            "parent:$.storage.luks.0 → $.storage.luks.0",
        ]
    );
    let (m, t) = merge(&Config::default(), &Config::default());
    assert_eq!(m, Config::default());
    assert!(t.mappings.is_empty());
}

/// Merging never panics and is reproducible, whatever the inputs: here
/// every pair of the corpus outputs, both ways.
#[test]
fn corpus_pairs_merge() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/butane-corpus");
    let configs: Vec<Config> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ign"))
        .map(|p| parse_config(Spec::V3_5, &std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert!(configs.len() > 30);
    for a in &configs {
        for b in &configs {
            let (m, t) = merge(a, b);
            assert_eq!(merge(a, b), (m.clone(), t));
            // Merging a config into nothing gives it back.
            if std::ptr::eq(a, b) {
                assert_eq!(merge(&Config::default(), a).0, *a);
            }
        }
    }
}
