//! `coregen render`, `validate`, `init` and `ca init` on the example
//! inventory, through the real binary.

mod common;

use std::fs;

use common::{
    coregen, edit_file, example_project, fresh_project, run_err, run_ok, snapshot_tree, write_file,
};
use ignition_config::Config;

const HOSTS: [&str; 4] = ["node1", "node2", "node3", "node4"];

fn render_all(dir: &std::path::Path, extra: &[&str]) {
    run_ok(coregen(dir).args(["render", "--all"]).args(extra));
}

#[test]
fn every_host_renders_in_every_spec_and_parses_without_warnings() {
    let project = example_project();
    for spec in ["3.3.0", "3.4.0", "3.5.0"] {
        render_all(project.path(), &["--spec", spec]);
        for host in HOSTS {
            let bytes = fs::read(project.path().join(format!("out/{host}.ign"))).unwrap();
            let (config, warnings) = Config::parse_slice(&bytes).unwrap();
            assert!(warnings.is_empty(), "{host} {spec}: {warnings:?}");
            let version = match config {
                Config::V3_3(_) => "3.3.0",
                Config::V3_4(_) => "3.4.0",
                Config::V3_5(_) => "3.5.0",
                other => panic!("unexpected version {other:?}"),
            };
            assert_eq!(version, spec);
        }
    }
}

#[test]
fn output_is_deterministic_pretty_and_ends_with_a_newline() {
    let project = example_project();
    render_all(project.path(), &["--redact"]);
    let first = snapshot_tree(&project.path().join("out"));
    fs::remove_dir_all(project.path().join("out")).unwrap();
    render_all(project.path(), &["--redact"]);
    assert_eq!(first, snapshot_tree(&project.path().join("out")));

    let text = fs::read_to_string(project.path().join("out/node1.ign")).unwrap();
    assert!(text.starts_with("{\n  \"ignition\": {"), "{text:.40}");
    assert!(text.ends_with("}\n"));

    render_all(project.path(), &["--compact", "--redact"]);
    let compact = fs::read_to_string(project.path().join("out/node1.ign")).unwrap();
    assert_eq!(compact.lines().count(), 1);
    let a: serde_json::Value = serde_json::from_str(&text).unwrap();
    let b: serde_json::Value = serde_json::from_str(&compact).unwrap();
    assert_eq!(a, b);
}

#[test]
fn stdout_prints_the_same_config_and_writes_nothing() {
    let project = example_project();
    let out =
        run_ok(coregen(project.path()).args(["render", "--host", "node2", "--stdout", "--redact"]));
    assert!(!project.path().join("out").exists());
    run_ok(coregen(project.path()).args(["render", "--host", "node2", "--redact"]));
    assert_eq!(
        out.stdout,
        fs::read(project.path().join("out/node2.ign")).unwrap()
    );
}

#[test]
fn out_dir_can_be_chosen() {
    let project = example_project();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("ign");
    run_ok(
        coregen(project.path())
            .args(["render", "--host", "node4", "--out"])
            .arg(&target),
    );
    assert!(target.join("node4.ign").is_file());
    assert!(!project.path().join("out").exists());
}

#[test]
fn the_etcd_unit_lists_all_three_peers() {
    let project = example_project();
    let out = run_ok(coregen(project.path()).args(["render", "--host", "node2", "--stdout"]));
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unit = config["systemd"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "etcd-member.service")
        .expect("node2 has the etcd unit");
    let contents = unit["contents"].as_str().unwrap();
    assert!(
        contents.contains(
            "--initial-cluster node1=https://10.0.0.11:2380,node2=https://10.0.0.12:2380,node3=https://10.0.0.13:2380 "
        ),
        "{contents}"
    );
    assert!(contents.contains("--name node2 "));
    assert_eq!(unit["enabled"], true);
}

#[test]
fn missing_cas_are_created_on_render_and_said_on_stderr() {
    let project = fresh_project();

    let err =
        run_err(coregen(project.path()).args(["render", "--host", "node1", "--no-create-ca"]));
    assert!(err.contains("CA `etcd` is missing"), "{err}");
    assert!(!project.path().join("pki/etcd").exists());
    assert!(!project.path().join("out/node1.ign").exists());

    let out = run_ok(coregen(project.path()).args(["render", "--host", "node1"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("created CA `etcd`"), "{stderr}");
    assert!(stderr.contains("created CA `http`"), "{stderr}");
    let http = fs::read_to_string(project.path().join("pki/http/ca.crt")).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(project.path().join("out/node1.ign")).unwrap()).unwrap();
    let ca_url = config["ignition"]["security"]["tls"]["certificateAuthorities"][0]["source"]
        .as_str()
        .unwrap();
    let compression =
        config["ignition"]["security"]["tls"]["certificateAuthorities"][0]["compression"].as_str();
    assert_eq!(
        coregen::ignition::decode_data_url(ca_url, compression).unwrap(),
        http.as_bytes()
    );

    // A second render finds them and creates nothing.
    let out = run_ok(coregen(project.path()).args(["render", "--host", "node1"]));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("created CA"));
}

#[test]
fn no_private_key_is_rendered() {
    let project = fresh_project();
    render_all(project.path(), &[]);
    for host in HOSTS {
        let text = fs::read_to_string(project.path().join(format!("out/{host}.ign"))).unwrap();
        let config: serde_json::Value = serde_json::from_str(&text).unwrap();
        for file in config["storage"]["files"].as_array().unwrap() {
            let source = file["contents"]["source"].as_str().unwrap_or("data:,");
            let compression = file["contents"]["compression"].as_str();
            let data = coregen::ignition::decode_data_url(source, compression).unwrap();
            assert!(
                !String::from_utf8_lossy(&data).contains("PRIVATE KEY"),
                "{host}: {} holds a private key",
                file["path"]
            );
        }
    }
}

#[test]
fn validate_writes_nothing() {
    let project = fresh_project();
    let before = snapshot_tree(project.path());
    let out = run_ok(coregen(project.path()).arg("validate"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: 4 host(s)"));
    assert_eq!(before, snapshot_tree(project.path()));
}

#[test]
fn init_scaffolds_an_inventory_that_renders_at_once() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("cluster");
    run_ok(coregen(parent.path()).arg("init").arg(&dir));
    run_ok(coregen(&dir).args(["render", "--all"]));
    let text = fs::read_to_string(dir.join("out/node1.ign")).unwrap();
    assert!(text.contains("/etc/motd.d/10-coregen.motd"));

    // A second init refuses and changes nothing.
    let before = snapshot_tree(&dir);
    let err = run_err(coregen(parent.path()).arg("init").arg(&dir));
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(before, snapshot_tree(&dir));
}

#[test]
fn ca_init_never_overwrites() {
    let project = fresh_project();
    run_ok(coregen(project.path()).args(["ca", "init", "etcd"]));
    assert!(!project.path().join("pki/http").exists());
    let key = project.path().join("pki/etcd/ca.key");
    let before = fs::read(&key).unwrap();

    let err = run_err(coregen(project.path()).args(["ca", "init", "etcd"]));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs::read(&key).unwrap(), before);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let err = run_err(coregen(project.path()).args(["ca", "init", "nope"]));
    assert!(err.contains("no CA `nope`"), "{err}");
}

/// Replaces the example's Butane snippets: `group` for the worker group
/// (templates/worker.bu), `host` for node4 alone (templates/lb.bu.hbs).
fn write_snippets(dir: &std::path::Path, group: &str, host: &str) {
    write_file(dir, "templates/worker.bu", group);
    write_file(dir, "templates/lb.bu.hbs", host);
}

/// Snippets merge by Ignition's rules: the host's own snippet over its
/// group's, units by name with their drop-ins by name, and over the
/// inventory's own entries; identical snippet text renders identically.
#[test]
fn snippets_merge_in_order_over_the_inventory() {
    let project = example_project();
    let dir = project.path();
    write_snippets(
        dir,
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/who\n      contents:\n        \
         inline: group\n    - path: /etc/modules-load.d/coregen-worker.conf\n      contents:\n        \
         inline: overlay\nsystemd:\n  units:\n    - name: app.service\n      dropins:\n        \
         - name: 10-group.conf\n          contents: \"[Service]\\nNice=1\\n\"\n",
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/who\n      contents:\n        \
         inline: \"{{host.name}}\"\nsystemd:\n  units:\n    - name: app.service\n      dropins:\n        \
         - name: 20-host.conf\n          contents: \"[Service]\\nNice=2\\n\"\n",
    );
    let out = run_ok(coregen(dir).args(["render", "--host", "node4", "--stdout", "--redact"]));
    let config = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        common::file_in_config(&config, "/etc/who").unwrap(),
        b"node4"
    );
    // The group snippet's file replaces the group file's entry of the same path.
    assert_eq!(
        common::file_in_config(&config, "/etc/modules-load.d/coregen-worker.conf").unwrap(),
        b"overlay"
    );
    let value: serde_json::Value = serde_json::from_str(&config).unwrap();
    let units = value["systemd"]["units"].as_array().unwrap();
    let app: Vec<_> = units
        .iter()
        .filter(|u| u["name"] == "app.service")
        .collect();
    assert_eq!(app.len(), 1, "one unit, merged by name");
    let dropins: Vec<_> = app[0]["dropins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(dropins, ["10-group.conf", "20-host.conf"]);
    let paths: Vec<_> = value["storage"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "/etc/who")
        .collect();
    assert_eq!(paths.len(), 1, "one file per path");
    // Rendering again gives the same bytes.
    let again = run_ok(coregen(dir).args(["render", "--host", "node4", "--stdout", "--redact"]));
    assert_eq!(again.stdout, config.as_bytes());
}

/// A snippet that a host names again after its group applies once, at the
/// host's place: its appended lists (a file's `append` here) are not
/// repeated, and it now comes after the host's other snippet.
#[test]
fn a_snippet_named_twice_applies_once_at_its_later_place() {
    let project = example_project();
    let dir = project.path();
    write_snippets(
        dir,
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/who\n      \
         contents:\n        inline: group\n    - path: /etc/issue.d/worker.issue\n      \
         append:\n        - inline: worker\n",
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/who\n      \
         contents:\n        inline: host\n",
    );
    edit_file(
        dir,
        "hosts/node4.toml",
        r#"butane = ["lb.bu.hbs"]"#,
        r#"butane = ["lb.bu.hbs", "worker.bu"]"#,
    );
    let out = run_ok(coregen(dir).args(["render", "--host", "node4", "--stdout", "--redact"]));
    let config = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        common::file_in_config(&config, "/etc/who").unwrap(),
        b"group"
    );
    let value: serde_json::Value = serde_json::from_str(&config).unwrap();
    let issue: Vec<_> = value["storage"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "/etc/issue.d/worker.issue")
        .collect();
    assert_eq!(issue.len(), 1, "{config}");
    assert_eq!(issue[0]["append"].as_array().unwrap().len(), 1, "{config}");
}
