//! `coregen butane` against upstream butane v0.25.1: the 45 documents of
//! tests/fixtures/butane-corpus, each with upstream's output, messages and
//! exit status, run through the real binary as a user would.
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

/// Runs `coregen butane` in the corpus folder, as upstream's outputs were
/// made: `butane [--strict] --files-dir files NN.bu`.
fn butane(doc: &str, strict: bool) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coregen"));
    cmd.current_dir(corpus()).arg("butane");
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
                let decoded = decode_data_url(&source, compression)
                    .unwrap_or_else(|e| panic!("bad data URL {source:.60}: {e}"));
                map.insert(
                    "source".into(),
                    Value::String(String::from_utf8_lossy(&decoded).into_owned()),
                );
                if matches!(compression, Some("gzip") | Some("")) {
                    map.insert("compression".into(), Value::String(String::new()));
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
fn check(doc: &str, stem: &str, strict: bool, failures: &mut Vec<String>) {
    let dir = corpus();
    let want_rc: i32 = read(&dir.join(format!("{stem}.rc")))
        .expect("every run has an exit status")
        .trim()
        .parse()
        .unwrap();
    let want_err = read(&dir.join(format!("{stem}.stderr"))).unwrap_or_default();
    let (rc, out, err) = butane(doc, strict);
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

#[test]
fn every_corpus_document_matches_upstream() {
    let mut docs: Vec<String> = fs::read_dir(corpus())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".bu").then_some(name)
        })
        .collect();
    docs.sort();
    assert_eq!(docs.len(), 45, "the corpus has 45 documents");
    let mut failures = Vec::new();
    for doc in &docs {
        let stem = doc.trim_end_matches(".bu");
        check(doc, stem, true, &mut failures);
        if corpus().join(format!("{stem}.nonstrict.rc")).exists() {
            check(doc, &format!("{stem}.nonstrict"), false, &mut failures);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents differ from upstream:\n\n{}",
        failures.len(),
        docs.len(),
        failures.join("\n\n")
    );
}
