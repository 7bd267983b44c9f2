//! `coregen sign`, `audit`, `ca list|show` and `certs`, with keys and CSRs
//! made by the real `openssl` command and every certificate checked by
//! `openssl verify` and `openssl x509`.

mod common;

use std::fs;
use std::path::Path;

use common::{
    Csr, ED25519, P256, P384, RSA1024, RSA2048, RSA3072, RSA4096, audit, coregen, edit_file,
    fresh_project, needs, openssl, openssl_csr, openssl_verify, openssl_x509, path_str, run_err,
    run_ok,
};

/// The example project with freshly made CAs (the fixture has no keys).
fn project_with_cas() -> tempfile::TempDir {
    let project = fresh_project();
    run_ok(coregen(project.path()).args(["ca", "init"]));
    project
}

/// A key and CSR made by openssl in `dir`, asking for no name (the
/// certificate's names come from the profile), with `extra` arguments to
/// `openssl req`.
fn make_csr(dir: &Path, name: &str, key: &[&str], extra: &[&str]) -> Csr {
    openssl_csr(dir, name, key, "/O=coregen tests", extra)
}

fn sign(project: &Path, host: &str, profile: &str, csr: &Path, out: &Path) -> std::process::Output {
    run_ok(
        coregen(project)
            .args(["sign", "--host", host, "--profile", profile, "--csr"])
            .arg(csr)
            .arg("--out")
            .arg(out),
    )
}

fn text(cert: &Path) -> String {
    openssl_x509(cert, &["-text"])
}

/// The names policy (src/pki/issue.rs), as `coregen sign` applies it: a
/// CSR may ask for the host's own names, but not for another.
#[test]
fn a_csr_asking_for_a_name_the_host_lacks_is_refused() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = tempfile::tempdir().unwrap();
    let own = make_csr(
        dir.path(),
        "own",
        P256,
        &[
            "-addext",
            "subjectAltName=DNS:node1.cluster.internal,IP:10.0.0.11",
        ],
    )
    .path;
    sign(
        project.path(),
        "node1",
        "etcd-peer",
        &own,
        &dir.path().join("own.crt"),
    );

    let evil = make_csr(
        dir.path(),
        "evil",
        P256,
        &["-addext", "subjectAltName=DNS:evil.example"],
    )
    .path;
    let cert = dir.path().join("evil.crt");
    let err = run_err(
        coregen(project.path())
            .args(["sign", "--host", "node1", "--profile", "etcd-peer", "--csr"])
            .arg(&evil)
            .arg("--out")
            .arg(&cert),
    );
    assert!(
        err.contains("asks for the name \"evil.example\", which host node1 does not have"),
        "{err}"
    );
    assert!(!cert.exists(), "nothing is written for a refused CSR");
    let audit = run_ok(coregen(project.path()).args(["audit", "--host", "node1"]));
    assert_eq!(
        String::from_utf8_lossy(&audit.stdout).lines().count(),
        1,
        "only the accepted certificate is recorded"
    );
}

#[test]
fn every_key_type_is_signed_with_the_profiles_names() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = tempfile::tempdir().unwrap();
    let etcd_ca = project.path().join("pki/etcd/ca.crt");
    let kinds = [
        ("p256", P256),
        ("p384", P384),
        ("rsa2048", RSA2048),
        ("rsa4096", RSA4096),
        ("ed25519", ED25519),
    ];
    let mut serials = Vec::new();
    for (name, key) in kinds {
        let csr = make_csr(
            dir.path(),
            name,
            key,
            &["-addext", "subjectAltName=DNS:node1"],
        )
        .path;
        let cert = dir.path().join(format!("{name}.crt"));
        sign(project.path(), "node1", "etcd-peer", &csr, &cert);

        assert!(
            openssl_verify(&etcd_ca, &cert),
            "{name}: openssl verify fails"
        );
        let t = text(&cert);
        assert!(t.contains("Subject: CN = node1\n"), "{name}:\n{t}");
        assert!(
            t.contains("DNS:node1, DNS:node1.cluster.internal, IP Address:10.0.0.11"),
            "{name}:\n{t}"
        );
        assert!(
            !t.contains("evil"),
            "{name}: the CSR's names leaked in:\n{t}"
        );
        assert!(
            t.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
            "{name}:\n{t}"
        );
        assert!(t.contains("CA:FALSE"), "{name}:\n{t}");
        assert!(
            t.contains("X509v3 Authority Key Identifier"),
            "{name}:\n{t}"
        );
        assert!(t.contains("X509v3 Subject Key Identifier"), "{name}:\n{t}");
        assert!(
            t.contains("Issuer: O = corebernetes, CN = corebernetes etcd CA"),
            "{name}"
        );

        // The certificate carries exactly the CSR's public key.
        let csr_key = openssl(&["req", "-noout", "-pubkey", "-in", path_str(&csr)]).stdout;
        let cert_key = openssl_x509(&cert, &["-pubkey"]);
        assert_eq!(
            String::from_utf8(csr_key).unwrap(),
            cert_key,
            "{name}: public key differs"
        );

        serials.push(openssl_x509(&cert, &["-serial"]));
    }
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 5, "serials repeat");

    let records = audit(project.path());
    assert_eq!(records.len(), 5);
    for record in &records {
        assert_eq!(record["host"], "node1");
        assert_eq!(record["profile"], "etcd-peer");
        assert_eq!(record["ca"], "etcd");
        for key in ["issued_at", "serial", "not_after", "sha256"] {
            assert!(record[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
        }
    }
    // The recorded fingerprint is the certificate's.
    let last = dir.path().join("ed25519.crt");
    let fp = openssl_x509(&last, &["-fingerprint", "-sha256"])
        .replace(':', "")
        .to_lowercase();
    assert!(fp.contains(records[4]["sha256"].as_str().unwrap()), "{fp}");
}

#[test]
fn chain_and_stdout() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = tempfile::tempdir().unwrap();
    let csr = make_csr(dir.path(), "k", P256, &[]).path;
    let out = run_ok(
        coregen(project.path())
            .args([
                "sign",
                "--host",
                "node4",
                "--profile",
                "https",
                "--chain",
                "--csr",
            ])
            .arg(&csr),
    );
    let pem = String::from_utf8(out.stdout).unwrap();
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2);
    let ca = fs::read_to_string(project.path().join("pki/http/ca.crt")).unwrap();
    assert!(pem.ends_with(&ca));
    let cert = dir.path().join("chain.pem");
    fs::write(&cert, &pem).unwrap();
    let t = text(&cert);
    assert!(t.contains("Subject: CN = node4.cluster.internal"), "{t}");
    assert!(t.contains("TLS Web Server Authentication"), "{t}");
    assert!(!t.contains("Client Authentication"), "{t}");
}

#[test]
fn duties_stay_separate() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = tempfile::tempdir().unwrap();
    let csr = make_csr(dir.path(), "k", P256, &[]).path;
    let etcd_cert = dir.path().join("etcd.crt");
    let https_cert = dir.path().join("https.crt");
    sign(project.path(), "node1", "etcd-client", &csr, &etcd_cert);
    sign(project.path(), "node1", "https", &csr, &https_cert);
    let etcd_ca = project.path().join("pki/etcd/ca.crt");
    let http_ca = project.path().join("pki/http/ca.crt");
    assert!(openssl_verify(&etcd_ca, &etcd_cert));
    assert!(
        !openssl_verify(&http_ca, &etcd_cert),
        "an etcd certificate verifies against the http CA"
    );
    assert!(openssl_verify(&http_ca, &https_cert));
    assert!(
        !openssl_verify(&etcd_ca, &https_cert),
        "an https certificate verifies against the etcd CA"
    );
    let t = text(&etcd_cert);
    assert!(t.contains("TLS Web Client Authentication") && !t.contains("Server Authentication"));

    // The http CA's duty is server certificates: a profile that asks it for
    // client certificates does not load, so nothing can be signed with it.
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        "ca = \"http\"\nusages = [\"server-auth\"]",
        "ca = \"http\"\nusages = [\"server-auth\", \"client-auth\"]",
    );
    let err = run_err(
        coregen(project.path())
            .args(["sign", "--host", "node1", "--profile", "https", "--csr"])
            .arg(&csr),
    );
    assert!(
        err.contains("CA `http` may not sign client-auth certificates"),
        "{err}"
    );
}

/// Signing `csr` (or the given arguments) fails with `expected`, writes no
/// certificate and records nothing.
fn assert_refused(project: &Path, host: &str, profile: &str, csr: &Path, expected: &str) {
    let out = project.join("refused.crt");
    let err = run_err(
        coregen(project)
            .args(["sign", "--host", host, "--profile", profile, "--csr"])
            .arg(csr)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains(expected), "expected {expected:?}, got:\n{err}");
    assert!(!out.exists(), "a certificate was written");
    assert!(audit(project).is_empty(), "something was recorded");
}

#[test]
fn bad_requests_are_refused() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let p = project.path();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = make_csr(d, "good", P256, &[]).path;

    let malformed = d.join("malformed.csr");
    fs::write(
        &malformed,
        "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n",
    )
    .unwrap();
    assert_refused(p, "node1", "etcd-peer", &malformed, "malformed PEM");

    let garbage = d.join("garbage.der");
    fs::write(&garbage, [0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef]).unwrap();
    assert_refused(
        p,
        "node1",
        "etcd-peer",
        &garbage,
        "not a valid certificate signing request",
    );

    let text_garbage = d.join("text.csr");
    fs::write(&text_garbage, "hello\n").unwrap();
    assert_refused(
        p,
        "node1",
        "etcd-peer",
        &text_garbage,
        "expected PEM or DER",
    );

    let cert = p.join("pki/etcd/ca.crt");
    assert_refused(
        p,
        "node1",
        "etcd-peer",
        &cert,
        "this is a certificate, not a certificate signing request",
    );

    let key = d.join("good.key");
    assert_refused(p, "node1", "etcd-peer", &key, "this is a private key");

    // Flip a bit in the signature of a DER CSR (its last byte).
    let der = d.join("tampered.der");
    openssl(&[
        "req",
        "-in",
        path_str(&good),
        "-outform",
        "DER",
        "-out",
        path_str(&der),
    ]);
    let mut bytes = fs::read(&der).unwrap();
    *bytes.last_mut().unwrap() ^= 0x01;
    fs::write(&der, bytes).unwrap();
    assert_refused(p, "node1", "etcd-peer", &der, "signature does not verify");

    let weak = make_csr(d, "weak", RSA1024, &[]).path;
    assert_refused(
        p,
        "node1",
        "etcd-peer",
        &weak,
        "RSA key of 1024 bits is too weak",
    );

    let rsa3072 = make_csr(d, "rsa3072", RSA3072, &[]).path;
    assert_refused(
        p,
        "node1",
        "etcd-peer",
        &rsa3072,
        "profile `etcd-peer` does not allow rsa-3072 keys",
    );

    let ca_csr = make_csr(
        d,
        "ca",
        P256,
        &["-addext", "basicConstraints=critical,CA:TRUE"],
    )
    .path;
    assert_refused(p, "node1", "etcd-peer", &ca_csr, "the CSR asks for CA:TRUE");

    assert_refused(p, "node9", "etcd-peer", &good, "no host `node9`");
    assert_refused(
        p,
        "node4",
        "etcd-peer",
        &good,
        "host `node4` does not get profile `etcd-peer` (its profiles: https)",
    );
    assert_refused(p, "node1", "nope", &good, "no profile `nope`");

    fs::remove_dir_all(p.join("pki/etcd")).unwrap();
    assert_refused(p, "node1", "etcd-peer", &good, "CA `etcd` does not exist");
}

#[test]
fn refuses_to_overwrite_a_certificate() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with_cas();
    let dir = tempfile::tempdir().unwrap();
    let csr = make_csr(dir.path(), "k", ED25519, &[]).path;
    let out = dir.path().join("k.crt");
    fs::write(&out, "keep me").unwrap();
    let err = run_err(
        coregen(project.path())
            .args([
                "sign",
                "--host",
                "node2",
                "--profile",
                "etcd-server",
                "--csr",
            ])
            .arg(&csr)
            .arg("--out")
            .arg(&out),
    );
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "keep me");
}

#[test]
fn ca_list_show_and_certs() {
    let project = project_with_cas();
    let list =
        String::from_utf8(run_ok(coregen(project.path()).args(["ca", "list"])).stdout).unwrap();
    let etcd = list
        .lines()
        .find(|l| l.starts_with("etcd\t"))
        .expect("etcd listed");
    assert!(
        etcd.contains("ecdsa-p256\tO=corebernetes, CN=corebernetes etcd CA"),
        "{etcd}"
    );
    assert!(
        etcd.contains("profiles=etcd-client,etcd-peer,etcd-server"),
        "{etcd}"
    );
    let http = list
        .lines()
        .find(|l| l.starts_with("http\t"))
        .expect("http listed");
    assert!(http.contains("profiles=https"), "{http}");

    let show = run_ok(coregen(project.path()).args(["ca", "show", "http"])).stdout;
    assert_eq!(
        show,
        fs::read(project.path().join("pki/http/ca.crt")).unwrap()
    );

    let certs = String::from_utf8(
        run_ok(coregen(project.path()).args(["certs", "--host", "node2"])).stdout,
    )
    .unwrap();
    assert!(
        certs.contains("etcd-server\tCA etcd\tserver-auth\n"),
        "{certs}"
    );
    assert!(
        certs.contains("  DNS  node2, node2.cluster.internal, localhost\n"),
        "{certs}"
    );
    assert!(certs.contains("  IP   10.0.0.12, 127.0.0.1\n"), "{certs}");
}

#[test]
fn every_ca_key_type_makes_a_valid_ca() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = fresh_project();
    let cluster = project.path().join("hosts/cluster.toml");
    let mut toml = fs::read_to_string(&cluster).unwrap();
    for kt in ["ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"] {
        toml.push_str(&format!("\n[ca.t-{kt}]\nkey_type = \"{kt}\"\n"));
    }
    fs::write(&cluster, toml).unwrap();
    run_ok(coregen(project.path()).args(["ca", "init"]));
    for kt in ["ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"] {
        let crt = project.path().join(format!("pki/t-{kt}/ca.crt"));
        let t = text(&crt);
        assert!(t.contains("CA:TRUE, pathlen:0"), "{kt}:\n{t}");
        assert!(t.contains("Certificate Sign, CRL Sign"), "{kt}:\n{t}");
        assert!(t.contains("X509v3 Subject Key Identifier"), "{kt}:\n{t}");
        // Self-signed: it verifies against itself.
        assert!(openssl_verify(&crt, &crt), "{kt}");
    }
}
