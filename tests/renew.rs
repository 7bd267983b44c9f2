//! `POST /v1/renew` against real clients: identities from enrollment,
//! renewals over mutual TLS with curl's `--cert`, keys and CSRs from
//! openssl, and each kind of bad renewal refused with its status and
//! reason, issuing nothing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{
    P256, RSA1024, Serve, audit, coregen, enroll_body, error_of, fresh_project, needs, openssl,
    openssl_csr, path_str, run_ok,
};

const CLIENTS: &[&str] = &["curl", "openssl"];

/// node4 (a worker, profile `https`) enrolled with an identity: the
/// identity's key and certificate, and the https certificate's serial.
struct Enrolled {
    identity_key: PathBuf,
    identity_cert: PathBuf,
    https_cert: PathBuf,
    https_serial: String,
}

fn enroll_with_identity(serve: &Serve, dir: &Path) -> Enrolled {
    let https = openssl_csr(dir, "https", P256, "/CN=node4", &[]);
    let identity = openssl_csr(dir, "identity", P256, "/CN=node4", &[]);
    let token = serve.token("node4");
    let body = enroll_body(&[("https", &https.pem), ("identity", &identity.pem)]);
    let (status, answer) = serve.enroll(&token, &body);
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let cert = |profile: &str| {
        answer["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["profile"] == profile)
            .unwrap_or_else(|| panic!("no {profile} certificate in {answer}"))
            .clone()
    };
    let identity_cert = dir.join("identity.crt");
    fs::write(
        &identity_cert,
        cert("identity")["certificate"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(cert("identity")["ca"], "identity");
    let https_cert = dir.join("https.crt");
    fs::write(&https_cert, cert("https")["certificate"].as_str().unwrap()).unwrap();
    Enrolled {
        identity_key: dir.join("identity.key"),
        identity_cert,
        https_cert,
        https_serial: cert("https")["serial"].as_str().unwrap().to_string(),
    }
}

fn nonce() -> String {
    let out = openssl(&["rand", "-hex", "16"]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn renew_body(nonce: &str, time: i64, csrs: &[(&str, &str)]) -> String {
    let items: Vec<serde_json::Value> = csrs
        .iter()
        .map(|(profile, csr)| serde_json::json!({ "profile": profile, "csr": csr }))
        .collect();
    serde_json::json!({ "nonce": nonce, "time": time, "csrs": items }).to_string()
}

/// POSTs `body` to /v1/renew presenting `cert` and `key` (when given).
fn renew(serve: &Serve, client: Option<(&Path, &Path)>, body: &str) -> (u16, String) {
    let mut args = vec![
        "--header",
        "Content-Type: application/json",
        "--data-binary",
        body,
    ];
    if let Some((cert, key)) = client {
        args.extend_from_slice(&["--cert", path_str(cert), "--key", path_str(key)]);
    }
    serve.curl("/v1/renew", &args)
}

#[test]
fn a_host_renews_with_its_identity_and_the_audit_says_what_it_renews() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &[]);
    let keys = tempfile::tempdir().unwrap();
    let enrolled = enroll_with_identity(&serve, keys.path());
    let client = Some((
        enrolled.identity_cert.as_path(),
        enrolled.identity_key.as_path(),
    ));

    // The identity verifies against the identity CA and allows client-auth
    // only.
    let identity_ca = project.path().join("pki/identity/ca.crt");
    let verify = openssl(&[
        "verify",
        "-CAfile",
        path_str(&identity_ca),
        "-purpose",
        "sslclient",
        path_str(&enrolled.identity_cert),
    ]);
    assert!(verify.status.success(), "{verify:?}");
    let text = String::from_utf8(
        openssl(&[
            "x509",
            "-noout",
            "-text",
            "-in",
            path_str(&enrolled.identity_cert),
        ])
        .stdout,
    )
    .unwrap();
    assert!(
        text.contains("TLS Web Client Authentication")
            && !text.contains("TLS Web Server Authentication"),
        "{text}"
    );

    // A new key for the https profile, and one for the identity itself.
    let https = openssl_csr(keys.path(), "https2", P256, "/CN=node4", &[]);
    let identity = openssl_csr(keys.path(), "identity2", P256, "/CN=node4", &[]);
    let body = renew_body(
        &nonce(),
        now(),
        &[("https", &https.pem), ("identity", &identity.pem)],
    );
    let (status, answer) = renew(&serve, client, &body);
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let certs = answer["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2, "{answer}");
    let new_https = certs.iter().find(|c| c["profile"] == "https").unwrap();
    assert_ne!(new_https["serial"], enrolled.https_serial.as_str());
    let pem = keys.path().join("https2.crt");
    fs::write(&pem, new_https["certificate"].as_str().unwrap()).unwrap();
    assert!(common::openssl_verify(
        &project.path().join("pki/http/ca.crt"),
        &pem
    ));
    // The certificate is for the new key.
    let cert_key = openssl(&["x509", "-noout", "-pubkey", "-in", path_str(&pem)]).stdout;
    let csr_key = openssl(&["req", "-noout", "-pubkey", "-in", path_str(&https.path)]).stdout;
    assert_eq!(cert_key, csr_key);

    // The audit records the renewal with the serial it replaces.
    let records = audit(project.path());
    let renewed = records
        .iter()
        .find(|r| r["serial"] == new_https["serial"])
        .unwrap();
    assert_eq!(
        renewed["renews"],
        enrolled.https_serial.as_str(),
        "{renewed}"
    );
    assert_eq!(renewed["host"], "node4");

    // The identity renewed, the old one renews nothing more (a copy of its
    // key is worth nothing now); the new one does.
    let new_identity = certs.iter().find(|c| c["profile"] == "identity").unwrap();
    let new_cert = keys.path().join("identity2.crt");
    fs::write(&new_cert, new_identity["certificate"].as_str().unwrap()).unwrap();
    let new_key = keys.path().join("identity2.key");
    let new_client = Some((new_cert.as_path(), new_key.as_path()));
    let https3 = openssl_csr(keys.path(), "https3", P256, "/CN=node4", &[]);
    let body = |n: &str| renew_body(n, now(), &[("https", &https3.pem)]);
    let (status, answer) = renew(&serve, client, &body(&nonce()));
    assert_eq!(status, 401, "{answer}");
    assert!(
        error_of(&answer).contains("no longer the host's"),
        "{answer}"
    );
    let (status, answer) = renew(&serve, new_client, &body(&nonce()));
    assert_eq!(status, 200, "{answer}");

    // After a reset, the identity from before it renews nothing.
    run_ok(coregen(project.path()).args(["host", "reset", "node4"]));
    let (status, answer) = renew(&serve, new_client, &body(&nonce()));
    assert_eq!(status, 401, "{answer}");
    let log = serve.stop();
    assert!(log.contains("renewed"), "{log}");
    assert!(!log.contains("PRIVATE KEY"), "{log}");
}

#[test]
fn bad_renewals_are_refused_each_with_its_reason_and_nothing_issued() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let dir = project.path();
    let serve = Serve::start(dir, &[]);
    let keys = tempfile::tempdir().unwrap();
    let enrolled = enroll_with_identity(&serve, keys.path());
    let client = Some((
        enrolled.identity_cert.as_path(),
        enrolled.identity_key.as_path(),
    ));
    let https = openssl_csr(keys.path(), "https2", P256, "/CN=node4", &[]);
    let good = |n: &str| renew_body(n, now(), &[("https", &https.pem)]);
    let issued_before = audit(dir).len();

    // No client certificate at all.
    let (status, body) = renew(&serve, None, &good(&nonce()));
    assert_eq!(status, 401, "{body}");
    assert!(error_of(&body).contains("presented none"), "{body}");

    // A certificate of another CA: node4's own https certificate, with its
    // key (the http CA's, server-auth).
    let (status, body) = renew(
        &serve,
        Some((&enrolled.https_cert, &keys.path().join("https.key"))),
        &good(&nonce()),
    );
    assert_eq!(status, 401, "{body}");
    assert!(error_of(&body).contains("not a host identity"), "{body}");

    // An expired identity, signed by the identity CA itself.
    let (expired_cert, expired_key) = expired_identity(dir, keys.path(), "node4");
    let (status, body) = renew(&serve, Some((&expired_cert, &expired_key)), &good(&nonce()));
    assert_eq!(status, 401, "{body}");
    assert!(error_of(&body).contains("expired"), "{body}");

    // A profile the host does not have (node4 is no etcd member).
    let peer = openssl_csr(keys.path(), "peer", P256, "/CN=node4", &[]);
    let (status, body) = renew(
        &serve,
        client,
        &renew_body(&nonce(), now(), &[("etcd-peer", &peer.pem)]),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        error_of(&body).contains("has no certificate profile `etcd-peer`"),
        "{body}"
    );

    // A weak key.
    let weak = openssl_csr(keys.path(), "weak", RSA1024, "/CN=node4", &[]);
    let (status, body) = renew(
        &serve,
        client,
        &renew_body(&nonce(), now(), &[("https", &weak.pem)]),
    );
    assert_eq!(status / 100, 4, "{body}");
    assert!(
        error_of(&body).contains("RSA-1024") || error_of(&body).contains("key"),
        "{body}"
    );

    // A CSR whose signature does not match its key.
    let mut tampered = https.pem.clone();
    let at = tampered.len() / 2;
    tampered.replace_range(at..at + 4, "AAAA");
    let (status, body) = renew(
        &serve,
        client,
        &renew_body(&nonce(), now(), &[("https", &tampered)]),
    );
    assert_eq!(status, 400, "{body}");

    // A time far from the server's, and a nonce that is no nonce.
    let (status, body) = renew(
        &serve,
        client,
        &renew_body(&nonce(), now() - 3600, &[("https", &https.pem)]),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        error_of(&body).contains("from the server's clock"),
        "{body}"
    );
    let (status, body) = renew(&serve, client, &good("not-hex"));
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("`nonce` must be"), "{body}");
    let (status, body) = renew(&serve, client, &renew_body(&nonce(), now(), &[]));
    assert_eq!(status, 400, "{body}");

    assert_eq!(
        audit(dir).len(),
        issued_before,
        "a refused renewal issues nothing"
    );

    // A replay: the same request twice. The first renews; the second is
    // refused, and only one certificate is recorded.
    let once = good(&nonce());
    let (status, body) = renew(&serve, client, &once);
    assert_eq!(status, 200, "{body}");
    let (status, body) = renew(&serve, client, &once);
    assert_eq!(status, 409, "{body}");
    assert!(error_of(&body).contains("sent before"), "{body}");
    assert_eq!(audit(dir).len(), issued_before + 1);

    // A revoked identity: refused at once by the running serve.
    let serial = openssl_x509_serial(&enrolled.identity_cert);
    run_ok(coregen(dir).args(["revoke", &serial, "--reason", "keyCompromise"]));
    let (status, body) = renew(&serve, client, &good(&nonce()));
    assert_eq!(status, 401, "{body}");
    assert!(error_of(&body).contains("revoked"), "{body}");

    // A retired host: refused, whatever its identity.
    run_ok(coregen(dir).args(["host", "retire", "node4"]));
    let (status, body) = renew(&serve, client, &good(&nonce()));
    assert_eq!(status, 403, "{body}");
    assert!(error_of(&body).contains("retired"), "{body}");
    assert_eq!(audit(dir).len(), issued_before + 1);
    serve.stop();
}

/// A certificate's serial as openssl prints it.
fn openssl_x509_serial(cert: &Path) -> String {
    let out = openssl(&["x509", "-noout", "-serial", "-in", path_str(cert)]);
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().trim_start_matches("serial=").to_string()
}

/// An identity certificate for `host` that expired yesterday, signed with
/// the identity CA's key from `project`'s pki/ (as only the provisioning
/// machine could), with its key.
fn expired_identity(project: &Path, dir: &Path, host: &str) -> (PathBuf, PathBuf) {
    let ca_key = fs::read_to_string(project.join("pki/identity/ca.key")).unwrap();
    let ca_cert = fs::read_to_string(project.join("pki/identity/ca.crt")).unwrap();
    let ca_key = rcgen::KeyPair::from_pem(&ca_key).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_cert, ca_key).unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let day = time::Duration::days(1);
    params.not_before = time::OffsetDateTime::now_utc() - day * 30;
    params.not_after = time::OffsetDateTime::now_utc() - day;
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (cert_path, key_path) = (dir.join("expired.crt"), dir.join("expired.key"));
    fs::write(&cert_path, cert.pem()).unwrap();
    fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}
