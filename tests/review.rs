//! `coregen show`, `coregen diff` and `render --check`: the readable form
//! decodes contents as Ignition does (checked against what the real
//! Ignition engine writes, and against gzip, base64 and sha256sum), and
//! the comparisons catch a changed template, a changed var and a new host
//! but not a freshly minted token.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{
    IGNITION, coregen, edit_file, example_project, needs, openssl_x509, render_and_apply, run_err,
    run_ok,
};

fn stdout(out: std::process::Output) -> String {
    String::from_utf8(out.stdout).unwrap()
}

fn sh(script: &str) -> String {
    stdout(run_ok(Command::new("sh").args(["-c", script])))
}

#[test]
fn show_decodes_every_file_as_ignition_writes_it() {
    if !needs(&[IGNITION, "openssl"]) {
        return;
    }
    let project = example_project();
    let (config_path, scratch) = render_and_apply(project.path(), "node1", &["--redact"]);
    let shown = stdout(run_ok(
        coregen(project.path()).arg("show").arg(&config_path),
    ));

    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(&config_path).unwrap()).unwrap();
    let mut checked = 0;
    for file in config["storage"]["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        let on_disk = scratch.root().join(path.trim_start_matches('/'));
        let text = fs::read_to_string(&on_disk).unwrap();
        if text.starts_with("-----BEGIN CERTIFICATE-----") {
            let fingerprint = openssl_x509(&on_disk, &["-fingerprint", "-sha256"]);
            let hex = fingerprint
                .trim()
                .rsplit('=')
                .next()
                .unwrap()
                .replace(':', "");
            assert!(
                shown.contains(&format!("sha256 {}", hex.to_lowercase())),
                "{path}"
            );
        } else {
            for line in text.lines() {
                let expected = format!("| {line}");
                assert!(
                    shown.lines().any(|l| l.trim_start() == expected.trim_end()),
                    "{path}: {line:?} not shown"
                );
            }
        }
        assert!(shown.contains(&format!("  {path}  0")), "{path} listed");
        checked += 1;
    }
    assert_eq!(
        checked, 9,
        "hostname, two CAs, library, two scripts, settings, zincati, prompt"
    );
    assert!(shown.contains("\nunits\n  coregen-enroll.service  enabled\n"));
    assert!(shown.contains("COREGEN_TOKEN='<redacted>'"));
}

#[test]
fn show_decodes_percent_base64_gzip_and_binary_contents() {
    if !needs(&["gzip", "base64", "sha256sum"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = "line one\nline two, with 100% of \"quotes\" & ü\n";
    fs::write(dir.path().join("text"), text).unwrap();
    let gzip_b64 = sh(&format!(
        "gzip -c -n {}/text | base64 -w0",
        dir.path().display()
    ));
    let plain_b64 = sh(&format!("base64 -w0 {}/text", dir.path().display()));
    let binary: Vec<u8> = (0u8..=255).rev().collect();
    fs::write(dir.path().join("bin"), &binary).unwrap();
    let bin_b64 = sh(&format!("base64 -w0 {}/bin", dir.path().display()));
    let bin_sum = sh(&format!("sha256sum {}/bin", dir.path().display()));
    let percent =
        "line%20one%0Aline%20two%2C%20with%20100%25%20of%20%22quotes%22%20%26%20%C3%BC%0A";
    let config = serde_json::json!({
        "ignition": { "version": "3.3.0" },
        "storage": { "files": [
            { "path": "/a", "contents": { "source": format!("data:,{percent}") } },
            { "path": "/b", "contents": { "source": format!("data:;base64,{plain_b64}") } },
            { "path": "/c", "mode": 384, "user": { "name": "etcd" },
              "contents": { "source": format!("data:;base64,{gzip_b64}"), "compression": "gzip" } },
            { "path": "/d", "contents": { "source": format!("data:;base64,{bin_b64}") } },
            { "path": "/e", "contents": { "source": "https://example.com/x",
              "verification": { "hash": "sha512-00" } } },
        ] },
        "systemd": { "units": [ { "name": "x.service", "mask": true } ] }
    });
    let path = dir.path().join("config.ign");
    fs::write(&path, config.to_string()).unwrap();
    let shown = stdout(run_ok(coregen(dir.path()).arg("show").arg(&path)));
    let body = "    | line one\n    | line two, with 100% of \"quotes\" & ü\n";
    for file in ["/a  0644", "/b  0644", "/c  0600  etcd:root"] {
        assert!(
            shown.contains(&format!("  {file}\n{body}")),
            "{file}:\n{shown}"
        );
    }
    let sum = bin_sum.split_whitespace().next().unwrap();
    assert!(
        shown.contains(&format!(
            "  /d  0644\n    binary, 256 bytes, sha256 {sum}\n"
        )),
        "{shown}"
    );
    assert!(shown.contains("  /e  0644\n    https://example.com/x (verified by sha512-00)\n"));
    assert!(shown.contains("  x.service  masked\n"));

    fs::write(&path, "{\"ignition\": {}}").unwrap();
    let err = run_err(coregen(dir.path()).arg("show").arg(&path));
    assert!(err.contains("config.ign: not an Ignition config"), "{err}");
}

fn check(project: &Path) -> (bool, String) {
    let out = coregen(project)
        .args(["render", "--all", "--check"])
        .output()
        .unwrap();
    // 0 up to date, 1 stale; 2 would be trouble.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn diff_and_check_catch_templates_vars_and_new_hosts_but_not_tokens() {
    let project = example_project();
    let dir = project.path();
    // Rendered with live tokens: a fresh (redacted) render is no different.
    run_ok(coregen(dir).args(["render", "--all"]));
    let out_before = common::snapshot_tree(&dir.join("out"));
    let (ok, note) = check(dir);
    assert!(ok && note.ends_with("out is up to date\n"), "{note}");
    assert!(stdout(run_ok(coregen(dir).arg("diff"))).is_empty());

    // A template change.
    let template = "templates/zincati-updates.toml.hbs";
    let original = fs::read_to_string(dir.join(template)).unwrap();
    edit_file(
        dir,
        template,
        "strategy = \"periodic\"",
        "strategy = \"immediate\"",
    );
    let (ok, err) = check(dir);
    assert!(!ok);
    assert!(
        err.contains("node1 (changed), node2 (changed), node3 (changed), node4 (changed)"),
        "{err}"
    );
    let out = coregen(dir)
        .args(["diff", "--host", "node2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8(out.stdout).unwrap();
    assert!(diff.starts_with("--- "), "{diff}");
    assert!(
        diff.contains("/out/node2.ign\n+++ node2 (fresh render)\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-    | strategy = \"periodic\"\n+    | strategy = \"immediate\"\n"),
        "{diff}"
    );
    // Trouble is not a difference: diff(1)'s exit code 2.
    fs::write(dir.join(template), "{{#if}}").unwrap();
    for args in [&["diff"][..], &["render", "--all", "--check"]] {
        let out = coregen(dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    fs::write(dir.join(template), original).unwrap();
    assert!(check(dir).0);
    let out = coregen(dir)
        .args(["render", "--all", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    // A var of one host.
    let node3 = "hosts/node3.toml";
    let text = fs::read_to_string(dir.join(node3)).unwrap();
    edit_file(dir, node3, "\"00:30\"", "\"03:00\"");
    let (ok, err) = check(dir);
    assert!(!ok && err.contains("stale: node3 (changed);"), "{err}");
    let diff = stdout(coregen(dir).arg("diff").output().unwrap());
    assert!(
        diff.contains("-    | start_time = \"00:30\"\n+    | start_time = \"03:00\"\n"),
        "{diff}"
    );
    fs::write(dir.join(node3), text).unwrap();

    // A new host, and one that is gone.
    let node4 = fs::read_to_string(dir.join("hosts/node4.toml")).unwrap();
    let node5 = node4
        .replace("10.0.0.14", "10.0.0.15")
        .replace("4e:14", "4e:15");
    fs::write(dir.join("hosts/node5.toml"), node5).unwrap();
    fs::remove_file(dir.join("hosts/node1.toml")).unwrap();
    let (ok, err) = check(dir);
    // node2 and node3 change too: their etcd unit lists the etcd group; so
    // does node4: its load balancer snippet lists the etcd members.
    assert!(
        !ok && err.contains(
            "node2 (changed), node3 (changed), node4 (changed), node5 (missing), \
             node1 (no such host);"
        ),
        "{err}"
    );

    // None of this wrote anything.
    assert_eq!(out_before, common::snapshot_tree(&dir.join("out")));
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    // As in `coregen show --host node1 | head -1`: the reader is gone
    // before the first write, which then fails with EPIPE.
    let project = example_project();
    let mut child = coregen(project.path())
        .args(["show", "--host", "node1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `show -` reads the config from standard input; a FILE is relative to
/// the working directory, not to `-C`.
#[test]
fn show_reads_stdin_and_files_relative_to_the_working_directory() {
    use std::io::Write;
    let project = common::example_project();
    let dir = project.path();
    let out = common::run_ok(
        common::coregen(dir).args(["render", "--host", "node1", "--stdout", "--redact"]),
    );
    let config = out.stdout;

    let mut child = common::coregen(dir)
        .args(["show", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&config).unwrap();
    let shown = child.wait_with_output().unwrap();
    assert!(shown.status.success(), "{shown:?}");
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.starts_with("Ignition config, spec"), "{text}");

    // The working directory holds the file; -C names another folder.
    let elsewhere = tempfile::tempdir().unwrap();
    fs::write(elsewhere.path().join("node1.ign"), &config).unwrap();
    let shown = common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_coregen"))
            .current_dir(elsewhere.path())
            .args(["-C", dir.to_str().unwrap(), "show", "node1.ign"]),
    );
    assert_eq!(String::from_utf8(shown.stdout).unwrap(), text);
}
