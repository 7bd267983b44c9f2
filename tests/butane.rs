//! `coregen butane` against upstream butane v0.25.1: the 45 documents of
//! tests/fixtures/butane-corpus, each with upstream's output, messages and
//! exit status, run through the real binary as a user would; and our own
//! documents in tests/fixtures/butane-own for what the corpus leaves out,
//! in the same form, each expected output checked against upstream's
//! source.
//!
//! Outputs are compared as JSON values once data URLs are decoded (and
//! gunzipped): two gzip implementations write different bytes, and whether
//! gzip wins depends on them. Everything else must match exactly,
//! including the order of messages.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use coregen::ignition::decode_data_url;
use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(common::REPO).join("tests/fixtures/butane-corpus")
}

/// Runs `coregen butane` in a corpus folder, as upstream's outputs were
/// made: `butane [--strict] --files-dir files NN.bu`.
fn butane(dir: &Path, doc: &str, strict: bool) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coregen"));
    cmd.current_dir(dir).arg("butane");
    if strict {
        cmd.arg("--strict");
    }
    cmd.args(["--files-dir", "files", doc]);
    let out = cmd.output().expect("coregen starts");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("output is UTF-8"),
        String::from_utf8(out.stderr).expect("messages are UTF-8"),
    )
}

/// A config with data URLs decoded and gunzipped, and nulls dropped, so
/// that two encoders' choices compare equal when the contents are.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut map: serde_json::Map<String, Value> = map
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, normalize(v)))
                .collect();
            let source = map.get("source").and_then(Value::as_str).map(String::from);
            if let Some(source) = source.filter(|s| s.starts_with("data:")) {
                let compression = map
                    .get("compression")
                    .and_then(Value::as_str)
                    .map(String::from);
                let compression = compression.as_deref();
                // A source that does not decode (a user's `compression:
                // gzip` over plain data) is compared as it is.
                if let Ok(decoded) = decode_data_url(&source, compression) {
                    map.insert(
                        "source".into(),
                        Value::String(String::from_utf8_lossy(&decoded).into_owned()),
                    );
                    if matches!(compression, Some("gzip") | Some("")) {
                        map.insert("compression".into(), Value::String(String::new()));
                    }
                }
            }
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// Compares one run with upstream's files `<stem>.{rc,stderr,ign}`.
fn check(dir: &Path, doc: &str, stem: &str, strict: bool, failures: &mut Vec<String>) {
    let want_rc: i32 = read(&dir.join(format!("{stem}.rc")))
        .expect("every run has an exit status")
        .trim()
        .parse()
        .unwrap();
    let want_err = read(&dir.join(format!("{stem}.stderr"))).unwrap_or_default();
    let (rc, out, err) = butane(dir, doc, strict);
    let mode = if strict {
        "--strict"
    } else {
        "without --strict"
    };
    if rc != want_rc {
        failures.push(format!(
            "{doc} {mode}: exit {rc}, upstream {want_rc}\n{err}"
        ));
        return;
    }
    if err != want_err {
        failures.push(format!(
            "{doc} {mode}: messages differ\n--- upstream\n{want_err}--- coregen\n{err}"
        ));
    }
    if rc != 0 {
        if !out.is_empty() {
            failures.push(format!("{doc} {mode}: failed but wrote output"));
        }
        return;
    }
    let Some(want) = read(&dir.join(format!("{stem}.ign"))) else {
        return;
    };
    let want: Value = serde_json::from_str(&want).unwrap();
    let got: Value = match serde_json::from_str(&out) {
        Ok(v) => v,
        Err(e) => {
            failures.push(format!(
                "{doc} {mode}: output is not JSON ({e}): {out:.200}"
            ));
            return;
        }
    };
    if normalize(got.clone()) != normalize(want.clone()) {
        failures.push(format!(
            "{doc} {mode}: output differs\n--- upstream\n{}\n--- coregen\n{}",
            serde_json::to_string_pretty(&normalize(want)).unwrap(),
            serde_json::to_string_pretty(&normalize(got)).unwrap()
        ));
    }
    if !out.ends_with("}\n") || out.trim_end().contains('\n') {
        failures.push(format!(
            "{doc} {mode}: output is not compact JSON and a newline"
        ));
    }
}

/// Runs every document of a corpus folder, with and without `--strict`
/// where it has outputs for both; returns how many there were.
fn check_folder(dir: &Path, failures: &mut Vec<String>) -> usize {
    let mut docs: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".bu").then_some(name)
        })
        .collect();
    docs.sort();
    for doc in &docs {
        let stem = doc.trim_end_matches(".bu");
        check(dir, doc, stem, true, failures);
        if dir.join(format!("{stem}.nonstrict.rc")).exists() {
            check(dir, doc, &format!("{stem}.nonstrict"), false, failures);
        }
    }
    docs.len()
}

#[test]
fn every_corpus_document_matches_upstream() {
    let mut failures = Vec::new();
    let count = check_folder(&corpus(), &mut failures);
    assert_eq!(count, 45, "the corpus has 45 documents");
    assert!(
        failures.is_empty(),
        "{} of {count} documents differ from upstream:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Our own documents, one folder per part of the spec: what upstream
/// gives for them was read off its source, section by section.
#[test]
fn own_documents_match_upstreams_rules() {
    let own = Path::new(common::REPO).join("tests/fixtures/butane-own");
    let mut failures = Vec::new();
    let mut count = 0;
    for part in ["storage", "config"] {
        count += check_folder(&own.join(part), &mut failures);
    }
    assert!(count >= 40, "only {count} own documents");
    assert!(
        failures.is_empty(),
        "{} runs of {count} documents differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Runs `coregen butane` on `doc` in a scratch folder that holds `files`
/// (paths relative to it; the files-dir is `files/`).
fn translate(doc: &str, files: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    fs::write(dir.path().join("doc.bu"), doc).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_coregen"))
        .current_dir(dir.path())
        .arg("butane")
        .args(args)
        .arg("doc.bu")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A document that fails: exit 1, nothing on stdout, exactly `stderr`.
fn assert_fails(doc: &str, files: &[(&str, &str)], args: &[&str], stderr: &str) {
    let (rc, out, err) = translate(doc, files, args);
    assert_eq!((rc, out.as_str()), (1, ""), "{err}");
    assert_eq!(err, stderr);
}

#[test]
fn relative_unclean_and_duplicate_paths() {
    let doc = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: etc/relative\n    \
               - path: /etc/unclean/../x\n    - path: /etc/dup\n  directories:\n    - path: /etc/dup\n";
    assert_fails(
        doc,
        &[],
        &[],
        "error at $.storage.files.2, line 7 col 7: duplicate entry defined\n\
         error at $.storage.files.0.path, line 5 col 13: path not absolute\n\
         error at $.storage.files.1.path, line 6 col 13: path is not fully simplified\n\
         Error translating config: config generated was invalid\n",
    );
}

#[test]
fn a_mode_must_be_a_number_and_a_decimal_one_warns() {
    assert_fails(
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /a\n      mode: \"0644\"\n",
        &[],
        &[],
        "Error translating config: yaml: unmarshal errors:\n  line 6: cannot unmarshal !!str `0644` into int\n",
    );
    // 644 is 0o1204: the sticky bit warns too.
    let doc =
        "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /a\n      mode: 644\n";
    let warnings = "warning at $.storage.files.0.mode, line 6 col 13: unreasonable mode would be \
                    reasonable if specified in octal; remember to add a leading zero\n\
                    warning at $.storage.files.0.mode, line 6 col 13: setuid/setgid/sticky bits \
                    are not supported or functional in spec versions older than 3.6.0\n";
    let (rc, out, err) = translate(doc, &[], &[]);
    assert_eq!(rc, 0);
    assert!(out.contains(r#""mode":644"#), "{out}");
    assert_eq!(err, warnings);
    assert_fails(
        doc,
        &[],
        &["--strict"],
        &format!("{warnings}Config produced warnings and --strict was specified\n"),
    );
    assert_fails(
        "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /a\n      mode: 0o70000\n",
        &[],
        &[],
        "error at $.storage.files.0.mode, line 6 col 13: illegal file mode\n\
         Error translating config: config generated was invalid\n",
    );
}

#[test]
fn unknown_keys_and_newer_features_warn_at_the_key() {
    let doc = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /a\n      moed: 0644\n\
               grub:\n  users: []\n";
    let (rc, _, err) = translate(doc, &[], &[]);
    assert_eq!(rc, 0);
    // The root's keys first: upstream walks a struct before its fields.
    assert_eq!(
        err,
        "warning at $.grub, line 7 col 1: unused key grub\n\
         warning at $.storage.files.0.moed, line 6 col 7: unused key moed\n"
    );
}

#[test]
fn versions_and_variants() {
    for (doc, message) in [
        (
            "version: 1.4.0\n",
            "error parsing variant; must be specified",
        ),
        (
            "variant: fcos\nversion: 1.4\n",
            "error parsing version; must be a valid semver",
        ),
        (
            "variant: fcos\nversion: 9.9.0\n",
            "No translator exists for variant fcos with version 9.9.0",
        ),
        (
            "variant: banana\nversion: 1.0.0\n",
            "No translator exists for variant banana with version 1.0.0",
        ),
        (
            "variant: fcos\nversion: 1.3.0\n",
            "coregen translates variant fcos versions 1.4.0, 1.5.0 and 1.6.0; variant fcos \
             version 1.3.0 needs upstream butane",
        ),
        ("", "error parsing variant; must be specified"),
    ] {
        assert_fails(
            doc,
            &[],
            &[],
            &format!("Error translating config: {message}\n"),
        );
    }
}

#[test]
fn yaml_syntax_errors_name_their_line() {
    assert_fails(
        "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n  - path: /a\n   bad: indent\n",
        &[],
        &[],
        // yaml.v3's own line (the enclosing mapping's), checked against Go.
        "Error translating config: Error unmarshaling yaml: yaml: line 3: did not find \
         expected key\n",
    );
    assert_fails(
        "variant: fcos\nversion: 1.5.0\nversion: 1.5.0\n",
        &[],
        &[],
        "Error translating config: Error unmarshaling yaml: yaml: unmarshal errors:\n  \
         line 3: mapping key \"version\" already defined at line 2\n",
    );
}

#[test]
fn local_files_stay_inside_the_files_dir() {
    let doc = |local: &str| {
        format!(
            "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /a\n      contents:\n        \
             local: {local}\n"
        )
    };
    let files = [("files/in.txt", "inside\n"), ("secret.txt", "outside\n")];
    let (rc, out, _) = translate(&doc("in.txt"), &files, &["-d", "files"]);
    assert_eq!(rc, 0);
    assert!(out.contains("data:,inside%0A"), "{out}");
    let escape = "error at $.storage.files.0.contents.local, line 7 col 16: local file path \
                  traverses outside the files directory\n\
                  Error translating config: source config is invalid\n";
    assert_fails(&doc("../secret.txt"), &files, &["-d", "files"], escape);
    // A symlink that leads out is refused too (upstream follows it).
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("files")).unwrap();
    fs::write(dir.path().join("secret.txt"), "outside\n").unwrap();
    std::os::unix::fs::symlink("../secret.txt", dir.path().join("files/link")).unwrap();
    fs::write(dir.path().join("doc.bu"), doc("link")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_coregen"))
        .current_dir(dir.path())
        .args(["butane", "-d", "files", "doc.bu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), escape);
    assert!(out.stdout.is_empty());
    assert_fails(
        &doc("missing.txt"),
        &files,
        &["-d", "files"],
        "error at $.storage.files.0.contents.local, line 7 col 16: open files/missing.txt: no \
         such file or directory\nError translating config: source config is invalid\n",
    );
    assert_fails(
        &doc("in.txt"),
        &files,
        &[],
        "error at $.storage.files.0.contents.local, line 7 col 16: local file paths are \
         relative to a files directory that must be specified with -d/--files-dir\n\
         Error translating config: source config is invalid\n",
    );
}

#[test]
fn trees_conflicting_with_a_file_are_refused() {
    let doc = "variant: fcos\nversion: 1.5.0\nstorage:\n  trees:\n    - local: tree\n  files:\n    \
               - path: /etc/app.conf\n      contents:\n        inline: mine\n";
    assert_fails(
        doc,
        &[("files/tree/etc/app.conf", "theirs\n")],
        &["-d", "files"],
        "error at $.storage.trees.0, line 5 col 7: matching filesystem node has existing \
         contents or different type\nError translating config: source config is invalid\n",
    );
}

#[test]
fn mount_units_outside_etc_and_var_and_single_mirrors() {
    let doc = "variant: fcos\nversion: 1.6.0\nstorage:\n  filesystems:\n    - device: /dev/vdb\n      \
               path: /srv/data\n      format: xfs\n      with_mount_unit: true\nboot_device:\n  \
               mirror:\n    devices: [/dev/vda]\n";
    // Upstream checks the mirror twice (the boot device's check, then its
    // walk reaching the mirror), so its message comes twice.
    assert_fails(
        doc,
        &[],
        &[],
        "error at $.storage.filesystems.0.path, line 6 col 13: path must be under /etc or /var \
         if with_mount_unit is true\n\
         error at $.boot_device.mirror.devices, line 11 col 14: mirroring requires at least two \
         devices\n\
         error at $.boot_device.mirror.devices, line 11 col 14: mirroring requires at least two \
         devices\n\
         Error translating config: source config is invalid\n",
    );
}

#[test]
fn output_files_are_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.bu");
    fs::write(&good, "variant: fcos\nversion: 1.6.0\n").unwrap();
    let bad = dir.path().join("bad.bu");
    fs::write(
        &bad,
        "variant: fcos\nversion: 1.6.0\nstorage: {files: [{path: x}]}\n",
    )
    .unwrap();
    let out = dir.path().join("out.ign");
    let run = |input: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_coregen"))
            .arg("butane")
            .args(extra)
            .arg("--output")
            .arg(&out)
            .arg(input)
            .output()
            .unwrap()
    };
    assert!(run(&bad, &[]).status.code() == Some(1));
    assert!(!out.exists(), "a failed translation writes no file");
    assert!(run(&good, &["--pretty"]).status.success());
    let written = fs::read_to_string(&out).unwrap();
    assert_eq!(
        written,
        "{\n  \"ignition\": {\n    \"version\": \"3.5.0\"\n  }\n}\n"
    );
    assert!(run(&bad, &[]).status.code() == Some(1));
    assert_eq!(fs::read_to_string(&out).unwrap(), written, "left as it was");
    // Standard input, and --check.
    let mut child = Command::new(env!("CARGO_BIN_EXE_coregen"))
        .args(["butane", "--check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"variant: fcos\nversion: 1.4.0\n")
        .unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(done.status.success() && done.stdout.is_empty());
}

/// Every config coregen writes for the corpus parses with CoreOS's own
/// `ignition-config` crate without a warning, and Debian's
/// `ignition-validate` (which knows specs up to 3.3.0) accepts the 3.3.0
/// ones.
#[test]
fn outputs_pass_ignition_config_and_ignition_validate() {
    let validate = common::needs(&["ignition-validate"]);
    let scratch = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in fs::read_dir(corpus()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".bu") else {
            continue;
        };
        let (rc, out, _) = butane(&corpus(), &name, false);
        if rc != 0 {
            continue;
        }
        let (_, warnings) = ignition_config::Config::parse_slice(out.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        if validate && out.contains(r#""version":"3.3.0""#) {
            let file = scratch.path().join(format!("{stem}.ign"));
            fs::write(&file, &out).unwrap();
            let result = common::ignition_validate(&file);
            assert!(
                result.status.success(),
                "ignition-validate refused {name}:\n{}{}",
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} outputs checked");
}

#[path = "../examples/support/mutate.rs"]
mod mutate;

/// A short run of `examples/butane-fuzz.rs`: mutated corpus documents never
/// panic and never take long (each is refused or translated at once).
#[test]
fn mutated_documents_never_panic_or_hang() {
    let opts = coregen::butane::Options {
        files_dir: Some(corpus().join("files")),
    };
    let mut docs: Vec<Vec<u8>> = fs::read_dir(corpus())
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "bu").then(|| fs::read(path).unwrap())
        })
        .collect();
    docs.sort();
    let mut rng = mutate::Rng::new(7);
    for _ in 0..2_000 {
        let input = mutate::mutate(&docs[rng.below(docs.len())], &mut rng);
        let started = std::time::Instant::now();
        let outcome = coregen::butane::translate_document(&input, &opts);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "slow on {:?}",
            String::from_utf8_lossy(&input)
        );
        // Every failure says why.
        if let Err(message) = outcome.result {
            assert!(!message.is_empty());
        }
    }
}

/// yaml.v3's type errors name upstream's Go types, named string and slice
/// types included, with each version's package.
#[test]
fn type_errors_name_upstreams_go_types() {
    let doc = "variant: fcos\nversion: 1.6.0\nkernel_arguments:\n  should_exist: mitigations=auto\n\
               passwd:\n  users:\n    - name: core\n      groups: wheel\n      \
               ssh_authorized_keys: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample core@example\n\
               storage:\n  raid:\n    - name: md0\n      devices: /dev/sda\n  files:\n    - path: /etc/motd\n      \
               contents:\n        source: https://example.com/motd\n        http_headers:\n          \
               name: Authorization\n      group: root\n";
    assert_fails(
        doc,
        &[],
        &[],
        "Error translating config: yaml: unmarshal errors:\n  \
         line 4: cannot unmarshal !!str `mitigat...` into []v0_6.KernelArgument\n  \
         line 8: cannot unmarshal !!str `wheel` into []v0_6.Group\n  \
         line 9: cannot unmarshal !!str `ssh-ed2...` into []v0_6.SSHAuthorizedKey\n  \
         line 13: cannot unmarshal !!str `/dev/sda` into []v0_6.Device\n  \
         line 19: cannot unmarshal !!map into v0_6.HTTPHeaders\n  \
         line 20: cannot unmarshal !!str `root` into v0_6.NodeGroup\n",
    );
    let doc = "variant: fcos\nversion: 1.4.0\nstorage:\n  raid:\n    - name: md0\n      level: raid1\n      \
               devices: [/dev/sda, /dev/sdb]\n      options: --assume-clean\n  luks:\n    - name: data\n      \
               device: /dev/sdc\n      options: --iter-time=1000\n  directories:\n    - path: /var/data\n      \
               group: [root]\n";
    assert_fails(
        doc,
        &[],
        &[],
        "Error translating config: yaml: unmarshal errors:\n  \
         line 8: cannot unmarshal !!str `--assum...` into []v0_4.RaidOption\n  \
         line 12: cannot unmarshal !!str `--iter-...` into []v0_4.LuksOption\n  \
         line 15: cannot unmarshal !!seq into v0_4.NodeGroup\n",
    );
}

/// An inline config to merge is checked as upstream checks it, unused keys
/// included; its entries keep their paths within that config.
#[test]
fn inline_child_configs_are_validated() {
    let doc = "variant: fcos\nversion: 1.5.0\nignition:\n  config:\n    merge:\n      - inline: |\n          \
               {\"ignition\": {\"version\": \"3.4.0\"},\n           \"passwd\": {\"users\": [{\"name\": \
               \"core\", \"sshKeys\": [\"ssh-ed25519 AAAA\"]}]}}\n";
    assert_fails(
        doc,
        &[],
        &["--strict"],
        "warning at $.passwd.users.0.sshKeys, line 1 col 1: unused key sshKeys\n\
         Config produced warnings and --strict was specified\n",
    );
}
