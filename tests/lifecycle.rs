//! Certificate lifecycle: `host retire`, `revoke`, `crl`, `serve`'s
//! `/crl/`, `host list`'s certificates and `certs --expiring`, checked
//! with the real `openssl` (CRL signatures, `verify -crl_check`) and curl.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    P256, Serve, coregen, enroll_body, error_of, fresh_project, needs, openssl, openssl_csr,
    openssl_x509, path_str, run_err, run_ok,
};

/// The example project with its CAs made.
fn project_with_cas() -> tempfile::TempDir {
    let project = fresh_project();
    run_ok(coregen(project.path()).args(["ca", "init"]));
    project
}

/// Signs a fresh P-256 CSR for `host`'s `profile`; returns the certificate.
fn sign(project: &Path, work: &Path, host: &str, profile: &str) -> PathBuf {
    let name = format!("{host}-{profile}");
    let csr = openssl_csr(work, &name, P256, "/O=coregen tests", &[]);
    let cert = work.join(format!("{name}.crt"));
    run_ok(
        coregen(project)
            .args(["sign", "--host", host, "--profile", profile, "--csr"])
            .arg(&csr.path)
            .arg("--out")
            .arg(&cert),
    );
    cert
}

/// A certificate's serial as openssl shows it (upper-case hex).
fn serial_of(cert: &Path) -> String {
    openssl_x509(cert, &["-serial"])
        .trim()
        .strip_prefix("serial=")
        .unwrap()
        .to_string()
}

/// `openssl crl` of a DER CRL, with `options`; stdout and stderr.
fn openssl_crl(crl: &Path, options: &[&str]) -> (String, String) {
    let mut args = vec!["crl", "-inform", "DER", "-in", path_str(crl), "-noout"];
    args.extend_from_slice(options);
    let out = openssl(&args);
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The CRL's number and revoked serials, as openssl reads them.
fn crl_contents(crl: &Path, ca: &Path) -> (String, Vec<String>) {
    let (_, verified) = openssl_crl(crl, &["-CAfile", path_str(ca)]);
    assert!(verified.contains("verify OK"), "{verified}");
    let (number, _) = openssl_crl(crl, &["-crlnumber"]);
    let (text, _) = openssl_crl(crl, &["-text"]);
    assert!(text.contains("Version 2"), "{text}");
    assert!(text.contains("Next Update: "), "{text}");
    let mut serials: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(str::to_string)
        .collect();
    serials.sort();
    (
        number
            .trim()
            .strip_prefix("crlNumber=")
            .unwrap()
            .to_string(),
        serials,
    )
}

/// `openssl verify -crl_check` of `cert` against the CA and the CRL
/// (PEM): whether it passes, and what it said.
fn verify_with_crl(ca: &Path, crl_pem: &Path, cert: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["verify", "-crl_check", "-CAfile", path_str(ca)])
        .args(["-CRLfile", path_str(crl_pem), path_str(cert)])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The CRL of `ca` from `coregen crl`, as DER in `work`.
fn cli_crl(project: &Path, work: &Path, ca: &str, file: &str) -> PathBuf {
    let path = work.join(file);
    run_ok(coregen(project).args(["crl", ca, "--out"]).arg(&path));
    path
}

/// GETs `url` into `file` with curl; the status and the content type.
fn fetch(url: &str, file: &Path, args: &[&str]) -> (u16, String) {
    let out = run_ok(
        Command::new("curl")
            .args(["--silent", "--show-error", "--output", path_str(file)])
            .args(["--write-out", "%{http_code} %{content_type}"])
            .args(args)
            .arg(url),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (status, kind) = text.split_once(' ').unwrap();
    (status.parse().unwrap(), kind.to_string())
}

#[test]
fn a_retired_host_is_refused_and_its_certificates_fail_a_crl_check() {
    if !needs(&["openssl", "curl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = project.path();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let etcd_ca = dir.join("pki/etcd/ca.crt");
    let node1 = [
        sign(dir, work, "node1", "etcd-peer"),
        sign(dir, work, "node1", "etcd-client"),
    ];
    let node2 = sign(dir, work, "node2", "etcd-peer");
    let node1_https = sign(dir, work, "node1", "https");

    let serve = Serve::start(dir, &["--http-listen", "127.0.0.1:0"]);
    let plain = serve.plain.clone().unwrap();
    let served = work.join("served-0.crl");
    let (status, kind) = fetch(&format!("http://{plain}/crl/etcd.crl"), &served, &[]);
    assert_eq!((status, kind.as_str()), (200, "application/pkix-crl"));
    assert_eq!(crl_contents(&served, &etcd_ca), ("0x00".into(), vec![]));
    let before = serve.token("node1");

    // Retired while serve runs.
    let out = run_ok(coregen(dir).args(["host", "retire", "node1"]));
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.contains("retired node1") && said.contains("revoked its 3 unexpired certificates"),
        "{said}"
    );

    // Its enrollment is refused at once, with a token from before or after.
    let body = enroll_body(&[("etcd-peer", "-")]);
    for token in [before, serve.token("node1")] {
        let (status, answer) = serve.enroll(&token, &body);
        assert_eq!(status, 403, "{answer}");
        assert!(error_of(&answer).contains("retired"), "{answer}");
    }

    // The CRL verifies and lists node1's serials, its certificates fail a
    // CRL check and node2's passes.
    let crl = cli_crl(dir, work, "etcd", "etcd.crl");
    let mut expected: Vec<String> = node1.iter().map(|c| serial_of(c)).collect();
    expected.sort();
    assert_eq!(
        crl_contents(&crl, &etcd_ca),
        ("0x01".into(), expected.clone())
    );
    let pem = work.join("etcd.crl.pem");
    run_ok(
        coregen(dir)
            .args(["crl", "etcd", "--pem", "--out"])
            .arg(&pem),
    );
    assert!(
        fs::read_to_string(&pem)
            .unwrap()
            .starts_with("-----BEGIN X509 CRL-----")
    );
    for cert in &node1 {
        let (ok, said) = verify_with_crl(&etcd_ca, &pem, cert);
        assert!(!ok && said.contains("certificate revoked"), "{said}");
    }
    let (ok, said) = verify_with_crl(&etcd_ca, &pem, &node2);
    assert!(ok, "{said}");

    // The http CA's CRL lists node1's https certificate alone.
    let http_crl = cli_crl(dir, work, "http", "http.crl");
    assert_eq!(
        crl_contents(&http_crl, &dir.join("pki/http/ca.crt")),
        ("0x01".into(), vec![serial_of(&node1_https)])
    );

    // serve's CRL has changed with the number, over HTTPS and plain HTTP.
    for (url, args) in [
        (
            format!("{}/crl/etcd.crl", serve.url),
            vec!["--cacert", path_str(&serve.ca)],
        ),
        (format!("http://{plain}/crl/etcd.crl"), vec![]),
    ] {
        let served = work.join("served.crl");
        assert_eq!(fetch(&url, &served, &args).0, 200);
        assert_eq!(
            crl_contents(&served, &etcd_ca),
            ("0x01".into(), expected.clone())
        );
    }

    // One more revocation: the number grows, serve follows.
    let out =
        run_ok(coregen(dir).args(["revoke", &serial_of(&node2), "--reason", "keyCompromise"]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CRL number 2 of CA etcd"),
        "{out:?}"
    );
    let served = work.join("served-2.crl");
    assert_eq!(
        fetch(&format!("http://{plain}/crl/etcd.crl"), &served, &[]).0,
        200
    );
    let (number, serials) = crl_contents(&served, &etcd_ca);
    assert_eq!((number.as_str(), serials.len()), ("0x02", 3));
    let (text, _) = openssl_crl(&served, &["-text"]);
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("Cessation Of Operation"), "{text}");

    let (status, body) = serve.http("/crl/nope.crl");
    assert_eq!(status, 404, "{body}");
    assert_eq!(serve.http("/crl/etcd.pem").0, 404);

    // host list: node1 retired, each certificate with its state.
    let list = run_ok(coregen(dir).args(["host", "list"]));
    let list = String::from_utf8(list.stdout).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("node1 ")).unwrap();
    assert!(lines[at].contains("retired"), "{list}");
    let peer = lines[at + 1..]
        .iter()
        .find(|l| l.trim_start().starts_with("etcd-peer"))
        .unwrap();
    assert!(
        peer.contains("not-after ")
            && peer.contains("renewed -")
            && peer.contains("(cessationOfOperation)"),
        "{list}"
    );
    let node3 = lines.iter().find(|l| l.starts_with("node3 ")).unwrap();
    assert!(node3.contains("never booted"), "{list}");
    serve.stop();
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = project.path();
    let work = tempfile::tempdir().unwrap();
    let cert = sign(dir, work.path(), "node2", "etcd-peer");
    let serial = serial_of(&cert);

    let err = run_err(coregen(dir).args(["revoke", "not-hex", "--reason", "keyCompromise"]));
    assert!(err.contains("is not a certificate serial"), "{err}");
    let err = run_err(coregen(dir).args(["revoke", "0abc", "--reason", "keyCompromise"]));
    assert!(err.contains("no certificate with serial 0abc"), "{err}");
    let err = run_err(coregen(dir).args(["revoke", &serial, "--reason", "stolen"]));
    assert!(err.contains("keyCompromise, cACompromise"), "{err}");
    let err = run_err(coregen(dir).args(["crl", "nope"]));
    assert!(
        err.contains("no CA `nope`") && err.contains("etcd, http"),
        "{err}"
    );
    let err = run_err(coregen(dir).args(["host", "retire", "node1", "nosuch"]));
    assert!(err.contains("nosuch"), "{err}");
    let err = run_err(coregen(dir).args(["certs", "--expiring", "7x"]));
    assert!(err.contains("7x"), "{err}");
    let crl = work.path().join("etcd.crl");
    run_ok(coregen(dir).args(["crl", "etcd", "--out"]).arg(&crl));
    assert_eq!(
        crl_contents(&crl, &dir.join("pki/etcd/ca.crt")).0,
        "0x00",
        "no change"
    );
    assert_eq!(
        run_ok(coregen(dir).args(["host", "list"])).status.code(),
        Some(0)
    );

    // A serial in any spelling; revoked twice says when.
    let colons: String = serial
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    run_ok(coregen(dir).args(["revoke", &colons, "--reason", "superseded"]));
    let err = run_err(coregen(dir).args([
        "revoke",
        &serial.to_lowercase(),
        "--reason",
        "keyCompromise",
    ]));
    assert!(
        err.contains("revoked already, at ") && err.contains("(superseded)"),
        "{err}"
    );
    run_ok(coregen(dir).args(["crl", "etcd", "--out"]).arg(&crl));
    assert_eq!(crl_contents(&crl, &dir.join("pki/etcd/ca.crt")).0, "0x01");

    // Retirement is final: no reset, no certificate by hand; retiring
    // again is no error.
    run_ok(coregen(dir).args(["host", "retire", "node1"]));
    let err = run_err(coregen(dir).args(["host", "reset", "node1"]));
    assert!(err.contains("retirement is final"), "{err}");
    let csr = openssl_csr(work.path(), "late", P256, "/O=coregen tests", &[]);
    let err = run_err(
        coregen(dir)
            .args(["sign", "--host", "node1", "--profile", "etcd-peer", "--csr"])
            .arg(&csr.path),
    );
    assert!(err.contains("was retired"), "{err}");
    let again = run_ok(coregen(dir).args(["host", "retire", "node1"]));
    assert!(String::from_utf8_lossy(&again.stdout).contains("retired already"));
}

#[test]
fn certs_expiring_lists_what_expires_and_fails_when_a_renewal_is_overdue() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = project.path();
    let work = tempfile::tempdir().unwrap();
    sign(dir, work.path(), "node2", "etcd-peer");
    sign(dir, work.path(), "node3", "etcd-peer");

    let quiet = run_ok(coregen(dir).args(["certs", "--expiring", "7d"]));
    assert!(quiet.stdout.is_empty());
    let all = run_ok(coregen(dir).args(["certs", "--expiring", "365d"]));
    let all = String::from_utf8(all.stdout).unwrap();
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(
        // The example's leaves live 30 days.
        all.contains("node2  etcd-peer")
            && (all.contains("expires in 30d") || all.contains("expires in 29d")),
        "{all}"
    );
    let one = run_ok(coregen(dir).args(["certs", "--expiring", "365d", "--host", "node3"]));
    assert_eq!(String::from_utf8(one.stdout).unwrap().lines().count(), 2);

    // A certificate 300 days into a 365-day life is past its renewal
    // point (two thirds): listed, and exit 1.
    let db = coregen::state::State::new(
        coregen::state::SqliteStore::open(&dir.join("pki/state.db")).unwrap(),
    );
    let day = 86400;
    let now = coregen::state::unix_now();
    let at = |secs: i64| {
        coregen::state::rfc3339(time::OffsetDateTime::from_unix_timestamp(secs).unwrap())
    };
    db.record_issued(&coregen::pki::IssuedRecord {
        issued_at: at(now - 300 * day),
        serial: "7e57".into(),
        host: "node2".into(),
        profile: "etcd-client".into(),
        ca: "etcd".into(),
        not_after: at(now + 65 * day),
        sha256: "00".into(),
        renews: None,
    })
    .unwrap();
    drop(db);
    let out = coregen(dir)
        .args(["certs", "--expiring", "7d"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains("7e57") && listed.contains("RENEWAL OVERDUE by 56d"),
        "{listed}"
    );
    assert!(!listed.contains("node3"), "{listed}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("should have been renewed"));
    let other = run_ok(coregen(dir).args(["certs", "--expiring", "7d", "--host", "node3"]));
    assert!(other.stdout.is_empty());

    // Revoked, or its host retired: no longer current, no longer due.
    run_ok(coregen(dir).args(["revoke", "7e57", "--reason", "superseded"]));
    run_ok(coregen(dir).args(["certs", "--expiring", "7d"]));
}
