//! `coregen serve` against real clients (curl, openssl's CSRs): each kind
//! of bad enrollment refused with its status and reason, the public
//! endpoints, source-address checks, rate limiting, many hosts at once,
//! and state that survives a restart.

mod common;

use std::collections::HashSet;
use std::fs;
use std::process::Stdio;

use common::{
    ED25519, P256, RSA1024, Serve, coregen, curl, edit_file, enroll_body, error_of, fresh_project,
    generated_project, needs, openssl_csr, run_ok, status_and_body, token_in_config,
};

/// What every test here runs: the server's clients.
const CLIENTS: &[&str] = &["curl", "openssl"];

/// node4 (a worker) has one profile, `https`; this is a good request for it.
fn node4_request(dir: &std::path::Path) -> String {
    let csr = openssl_csr(dir, "node4", P256, "/CN=node4", &[]);
    enroll_body(&[("https", &csr.pem)])
}

#[test]
fn public_endpoints_and_config_lookups() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &["--http-listen", "127.0.0.1:0"]);
    let (status, health) = serve.curl("/healthz", &[]);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "hosts": 4, "generation": 1})
    );

    // Plain HTTP serves CA certificates, never a config.
    let (status, ca) = serve.http("/ca/http.crt");
    assert!(
        status == 200 && ca.starts_with("-----BEGIN CERTIFICATE-----"),
        "{status} {ca}"
    );
    assert_eq!(serve.http("/ignition/node1").0, 404);
    assert_eq!(serve.http("/ignition?mac=52:54:00:c0:4e:11").0, 404);
    let (status, pem) = serve.curl("/ca/etcd.crt", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        pem,
        fs::read_to_string(project.path().join("pki/etcd/ca.crt")).unwrap()
    );
    let (status, body) = serve.curl("/ca/nope.crt", &[]);
    assert_eq!(
        (status, error_of(&body).as_str()),
        (404, "no such CA certificate")
    );

    let (status, by_mac) = serve.curl("/ignition?mac=52-54-00-C0-4E-12", &[]);
    assert_eq!(status, 200, "{by_mac}");
    assert_eq!(
        common::file_in_config(&by_mac, "/etc/hostname").unwrap(),
        b"node2\n"
    );
    let config: serde_json::Value = serde_json::from_str(&by_mac).unwrap();
    assert_eq!(config["ignition"]["version"], "3.4.0");
    let (_, old) = serve.curl("/ignition/node2?spec=3.3.0", &[]);
    let config: serde_json::Value = serde_json::from_str(&old).unwrap();
    assert_eq!(config["ignition"]["version"], "3.3.0");
    // Each fetch carries a fresh token.
    assert_ne!(token_in_config(&by_mac), token_in_config(&old));

    for (path, status, reason) in [
        ("/ignition/node9", 404, "no such host"),
        (
            "/ignition?mac=52:54:00:00:00:99",
            404,
            "no host has this MAC address",
        ),
        (
            "/ignition?mac=banana",
            400,
            "\"banana\" is not a MAC address",
        ),
        (
            "/ignition/node1?spec=2.0.0",
            400,
            "unsupported Ignition spec version",
        ),
        ("/ignition/node1?token=x", 400, "unknown field"),
        ("/nowhere", 404, "no such endpoint"),
        ("/ignition/%ff", 400, "Invalid UTF-8"),
        ("/pointer/%ff.ign", 400, "Invalid UTF-8"),
        ("/ca/%ff.crt", 404, "no such CA certificate"),
    ] {
        let (got, body) = serve.curl(path, &[]);
        assert_eq!(got, status, "{path}: {body}");
        assert!(error_of(&body).contains(reason), "{path}: {body}");
    }
    let (status, body) = serve.curl("/healthz", &["-X", "POST"]);
    assert_eq!(
        (status, error_of(&body).as_str()),
        (405, "method not allowed here")
    );
    // Plain HTTP is not spoken on the HTTPS port.
    let (_, body) = curl(
        &(serve.url.replace("https://", "http://") + "/healthz"),
        &["--max-time", "5"],
    );
    assert!(!body.contains("ok"), "{body}");
}

#[test]
fn bad_enrollments_are_refused_with_a_reason() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &["--max-token-failures", "1000"]);
    let work = tempfile::tempdir().unwrap();
    let good = node4_request(work.path());
    let token = serve.token("node4");

    // No token, a malformed one, a tampered one.
    let (status, body) = serve.curl("/v1/enroll", &["--data-binary", &good]);
    assert_eq!(status, 401, "{body}");
    assert!(error_of(&body).contains("Bearer"));
    for bad in ["", "cgt1.abc", &format!("{token}x")] {
        let (status, body) = serve.enroll(bad, &good);
        assert_eq!(status, 401, "{bad:?}: {body}");
    }
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let (status, body) = serve.enroll(&String::from_utf8(tampered).unwrap(), &good);
    assert_eq!(
        (status, error_of(&body).as_str()),
        (401, "the bootstrap token is not valid")
    );

    // Garbage and oversized bodies, with a good token: refused, and the
    // token is not spent by them.
    let too_big = "x".repeat(100 * 1024);
    let node1_csr = openssl_csr(work.path(), "node1-peer", P256, "/CN=node1", &[]).pem;
    let rsa1024 = openssl_csr(work.path(), "weak", RSA1024, "/CN=node4", &[]).pem;
    let ed25519_for_node2 = openssl_csr(work.path(), "other", ED25519, "/CN=node2", &[]).pem;
    for (body, status, reason) in [
        ("not json", 400, "not an enrollment request"),
        ("{\"csrs\": \"x\"}", 400, "not an enrollment request"),
        ("{\"csrs\": [], \"key\": \"x\"}", 400, "unknown field `key`"),
        ("{\"csrs\": []}", 400, "no CSR for profile `https`"),
        (
            &enroll_body(&[("https", "garbage")]),
            400,
            "profile `https`",
        ),
        (&enroll_body(&[("https", &rsa1024)]), 400, "2048"),
        (
            &enroll_body(&[("https", &node1_csr), ("https", &node1_csr)]),
            400,
            "two CSRs for profile `https`",
        ),
        // A CSR for a profile node4 lacks.
        (
            &enroll_body(&[("https", &node1_csr), ("etcd-peer", &node1_csr)]),
            403,
            "host node4 has no certificate profile `etcd-peer`",
        ),
        // node2's CSR with node4's token: the names give it away.
        (
            &enroll_body(&[("https", &ed25519_for_node2)]),
            403,
            "asks for the name \"node2\", which host node4 does not have",
        ),
        (&too_big, 413, "at most 65536 bytes"),
    ] {
        let (got, answer) = serve.enroll(&token, body);
        assert_eq!(got, status, "{}: {answer}", &body[..body.len().min(60)]);
        assert!(error_of(&answer).contains(reason), "{answer}");
    }

    // The good request works. Sent again (its answer lost), it gets the
    // same certificate and issues nothing new; with another key, nothing.
    let (status, first) = serve.enroll(&token, &good);
    assert_eq!(status, 200, "{first}");
    let (status, again) = serve.enroll(&token, &good);
    assert_eq!((status, &again), (200, &first));
    let other_key = enroll_body(&[(
        "https",
        &openssl_csr(work.path(), "node4-other", P256, "/CN=node4", &[]).pem,
    )]);
    let (status, body) = serve.enroll(&token, &other_key);
    assert_eq!(
        (status, error_of(&body).as_str()),
        (401, "the bootstrap token has been used already")
    );

    // A fresh token for an enrolled host: refused until `host reset`,
    // which a running server sees at once. The reset retires every token
    // minted before it, so the host needs a config fetched after it.
    let before = serve.token("node4");
    let (status, body) = serve.enroll(&before, &good);
    assert_eq!(status, 409, "{body}");
    assert!(error_of(&body).contains("coregen host reset"));
    let out = run_ok(coregen(project.path()).args(["host", "reset", "node4"]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "reset node4: it may enroll again; retired its 2 tokens\n"
    );
    for retired in [&before, &token] {
        let (status, body) = serve.enroll(retired, &good);
        assert_eq!(status, 401, "{body}");
        assert!(error_of(&body).contains("retired"), "{body}");
    }
    let after = serve.token("node4");
    let (status, body) = serve.enroll(&after, &good);
    assert_eq!(status, 200, "{body}");

    // Audit: the two enrollments and the server's own certificate, no more.
    let audit = run_ok(coregen(project.path()).arg("audit"));
    let lines = String::from_utf8(audit.stdout).unwrap();
    assert_eq!(
        lines
            .lines()
            .filter(|l| l.contains("\"host\":\"node4\""))
            .count(),
        2
    );
    assert!(!serve.log().contains("cgt1."), "a token was logged");
}

#[test]
fn the_answer_has_the_documented_shape() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let (status, body) = serve.enroll(&serve.token("node4"), &node4_request(work.path()));
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["host"], "node4");
    let cert = &answer["certificates"][0];
    assert_eq!(cert["profile"], "https");
    assert_eq!(cert["ca"], "http");
    assert!(
        cert["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----\n")
    );
    assert_eq!(cert["serial"].as_str().unwrap().len(), 32);
    assert_eq!(answer["ca_certificates"][0]["name"], "http");
    // What lets the shell script read it without a JSON parser.
    let strings = body.replace("\\n", "");
    for c in [',', '[', ']', '{', '}'] {
        for value in strings.split('"').skip(1).step_by(2) {
            assert!(!value.contains(c), "{value:?} holds {c:?}");
        }
    }
}

#[test]
fn failed_tokens_are_limited_per_address_and_per_token_but_a_valid_one_is_not() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &["--max-token-failures", "3"]);
    let work = tempfile::tempdir().unwrap();
    let good = node4_request(work.path());
    let token = serve.token("node4");
    // A scanner on this address: its failures earn it 429s, with the
    // time to wait. (The failures are counted over a minute: far longer
    // than these requests take.)
    for _ in 0..3 {
        assert_eq!(serve.enroll("cgt1.wrong", &good).0, 401);
    }
    let (status, response) = serve.enroll_with("cgt1.wrong", &good, &["--include"]);
    let response = response.to_lowercase();
    assert_eq!(status, 429, "{response}");
    assert!(response.starts_with("http/1.1 429"), "{response}");
    assert!(response.contains("\nretry-after: "), "{response}");
    // A host behind the same address, with a valid token, enrolls.
    let (status, answer) = serve.enroll(&token, &good);
    assert_eq!(status, 200, "{answer}");

    // Failures of one token count against it from any address: here the
    // spent token with another key, from 127.0.0.2.
    let other = enroll_body(&[(
        "https",
        &openssl_csr(work.path(), "other", P256, "/CN=node4", &[]).pem,
    )]);
    let from_elsewhere = ["--interface", "127.0.0.2"];
    let statuses: Vec<u16> = (0..4)
        .map(|_| serve.enroll_with(&token, &other, &from_elsewhere).0)
        .collect();
    assert_eq!(statuses, [401, 401, 401, 429]);
    // The host's own retry, with its keys, still gets its answer.
    assert_eq!(
        serve.enroll_with(&token, &good, &from_elsewhere),
        (200, answer)
    );
}

#[test]
fn require_source_ip_serves_hosts_only_to_their_own_address() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    // node4 lives on loopback for this test; node1 keeps 10.0.0.11.
    edit_file(project.path(), "hosts/node4.toml", "10.0.0.14", "127.0.0.1");
    let serve = Serve::start(project.path(), &["--require-source-ip"]);
    let (status, body) = serve.curl("/ignition/node1", &[]);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        error_of(&body),
        "host node1 is served only to its own address"
    );
    let token = serve.token("node4");
    let work = tempfile::tempdir().unwrap();
    assert_eq!(serve.enroll(&token, &node4_request(work.path())).0, 200);
}

#[test]
fn an_expired_token_is_refused() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        "token_ttl = \"1h\"",
        "token_ttl = \"1s\"",
    );
    let serve = Serve::start(project.path(), &[]);
    // The server mints tokens with the inventory's TTL...
    serve.token("node4");
    let db = || {
        let store = coregen::state::SqliteStore::open(&project.path().join("pki/state.db"));
        coregen::state::State::new(store.unwrap())
    };
    let node4 = db()
        .host_states()
        .unwrap()
        .into_iter()
        .find(|h| h.name == "node4")
        .expect("node4's token is recorded");
    assert_eq!(
        node4.token_expires_at.unwrap() - node4.token_issued_at.unwrap(),
        1
    );
    // ...and refuses one past it. Rather than wait for that, a token for
    // node4 that expired an hour ago goes into the running server's
    // database, as `render` would have put it there.
    let an_hour_ago = coregen::state::unix_now() - 3600;
    let token = coregen::pki::mint_token("node4", 1, an_hour_ago).unwrap();
    let done = db()
        .apply(&[coregen::state::Op::Mint(
            vec![token.clone()],
            coregen::state::Minter::Render,
        )])
        .unwrap();
    assert_eq!(done, [coregen::state::Verdict::Allowed(())]);
    let work = tempfile::tempdir().unwrap();
    let (status, body) = serve.enroll(&token.text, &node4_request(work.path()));
    assert_eq!(status, 401, "{body}");
    assert!(error_of(&body).contains("expired"), "{body}");
}

#[test]
fn tokens_and_enrollments_survive_a_restart() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let work = tempfile::tempdir().unwrap();
    let request = node4_request(work.path());
    let serve = Serve::start(project.path(), &[]);
    let unused = serve.token("node4");
    let used = serve.token("node4");
    let (status, answer) = serve.enroll(&used, &request);
    assert_eq!(status, 200, "{answer}");
    serve.stop();

    let serve = Serve::start(project.path(), &[]);
    assert!(
        serve.log().contains("server certificate"),
        "{}",
        serve.log()
    );
    // The enrollment, and its answer for a retry, survive; the unused
    // token still meets an enrolled host.
    assert_eq!(serve.enroll(&used, &request), (200, answer));
    assert_eq!(serve.enroll(&unused, &request).0, 409);
}

#[test]
fn render_mints_tokens_that_serve_accepts_and_redact_mints_none() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    run_ok(coregen(project.path()).args(["render", "--host", "node4", "--redact"]));
    let redacted = fs::read_to_string(project.path().join("out/node4.ign")).unwrap();
    assert_eq!(token_in_config(&redacted), "<redacted>");
    let list = run_ok(coregen(project.path()).args(["host", "list"]));
    assert!(String::from_utf8_lossy(&list.stdout).contains("node4  never booted"));

    run_ok(coregen(project.path()).args(["render", "--host", "node4"]));
    let config = fs::read_to_string(project.path().join("out/node4.ign")).unwrap();
    let token = token_in_config(&config);
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(project.path().join("out/node4.ign"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "a config with a token is private");

    let serve = Serve::start(project.path(), &[]);
    let work = tempfile::tempdir().unwrap();
    let (status, body) = serve.enroll(&token, &node4_request(work.path()));
    assert_eq!(status, 200, "{body}");
}

/// 200 hosts of a generated inventory enroll at once.
#[test]
fn two_hundred_hosts_enroll_at_once() {
    if !needs(CLIENTS) {
        return;
    }
    const HOSTS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let project = generated_project(dir.path(), HOSTS);
    // One render mints every host's token in one transaction.
    run_ok(coregen(&project).args(["render", "--all", "--compact"]));
    let serve = Serve::start(&project, &[]);
    let work = dir.path().join("work");
    fs::create_dir_all(&work).unwrap();

    let mut clients = Vec::new();
    for i in 0..HOSTS {
        let host = format!("host{i:05}");
        let config = fs::read_to_string(project.join(format!("out/{host}.ign"))).unwrap();
        let token = token_in_config(&config);
        let csr = openssl_csr(&work, &host, P256, &format!("/CN={host}"), &[]);
        let body = work.join(format!("{host}.json"));
        fs::write(&body, enroll_body(&[("node", &csr.pem)])).unwrap();
        clients.push((host, token, body));
    }
    // From four addresses, as hosts come from their own: no one address
    // may hold more than 64 connections.
    let running: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, (host, token, body))| {
            let auth = format!("Authorization: Bearer {token}");
            let data = format!("@{}", body.display());
            let from = format!("127.0.0.{}", 1 + i % 4);
            let child = serve
                .curl_command(
                    "/v1/enroll",
                    &[
                        "--interface",
                        &from,
                        "--header",
                        &auth,
                        "--header",
                        "Content-Type: application/json",
                        "--data-binary",
                        &data,
                    ],
                )
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            (host, child)
        })
        .collect();
    let mut serials = HashSet::new();
    for (host, child) in running {
        let out = child.wait_with_output().unwrap();
        let (status, body) = status_and_body(&out.stdout);
        assert_eq!(status, 200, "{host}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["host"], host.as_str());
        serials.insert(
            answer["certificates"][0]["serial"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(serials.len(), HOSTS, "distinct serials");

    let audit = run_ok(coregen(&project).arg("audit"));
    let records: Vec<serde_json::Value> = String::from_utf8(audit.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["profile"] == "node")
        .collect();
    assert_eq!(records.len(), HOSTS);
    let audited: HashSet<String> = records
        .iter()
        .map(|r| r["serial"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(audited, serials);
    let list = run_ok(coregen(&project).args(["host", "list"]));
    let enrolled = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains(" enrolled "))
        .count();
    assert_eq!(enrolled, HOSTS);
}

/// serve resolves the `http` CA when it starts: with `[ca.http]` gone from
/// cluster.toml it refuses to start, even though `pki/http/` is still
/// there, instead of panicking on the first pointer config it serves.
#[test]
fn serve_refuses_to_start_without_the_http_ca() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    fs::create_dir_all(&hosts).unwrap();
    let cluster = |with_http: bool| {
        let http = if with_http {
            "[ca.http]\nusages = [\"server-auth\"]\n"
        } else {
            ""
        };
        format!(
            "name = \"small\"\n[server]\nurl = \"https://127.0.0.1:8443\"\n{http}\
             [ca.etcd]\nusages = [\"server-auth\", \"client-auth\"]\n"
        )
    };
    fs::write(hosts.join("cluster.toml"), cluster(true)).unwrap();
    fs::write(hosts.join("node1.toml"), "ip = \"10.0.0.11\"\n").unwrap();
    run_ok(coregen(dir.path()).args(["ca", "init"]));
    assert!(dir.path().join("pki/http/ca.crt").exists());

    fs::write(hosts.join("cluster.toml"), cluster(false)).unwrap();
    let err = common::run_err(coregen(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--url",
        "https://127.0.0.1:0",
    ]));
    assert!(
        err.contains("coregen serve needs the `http` CA: declare [ca.http]"),
        "{err}"
    );
}

/// Every request is logged at info, one line each: client, method, path
/// (values of unknown query keys redacted), status, bytes, time, and the
/// host it resolved to; the iPXE and pointer requests of a boot included.
#[test]
fn every_request_is_in_the_access_log() {
    if !needs(CLIENTS) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &["--http-listen", "127.0.0.1:0"]);
    assert_eq!(serve.http("/ipxe?mac=52:54:00:c0:4e:11").0, 200);
    assert_eq!(serve.http("/pointer/node1.ign").0, 200);
    assert_eq!(
        serve
            .curl("/ignition/node1?spec=3.4.0&secret=hunter2", &[])
            .0,
        400
    );
    let token = serve.token("node4");
    assert_eq!(serve.http("/healthz").0, 200);
    let log = serve.stop();
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"))
            .to_string()
    };
    let ipxe = line("GET /ipxe?mac=52:54:00:c0:4e:11 200");
    assert!(
        ipxe.contains("127.0.0.1 ") && ipxe.ends_with("host=node1"),
        "{ipxe}"
    );
    assert!(line("GET /pointer/node1.ign 200").ends_with("host=node1"));
    let refused = line("GET /ignition/node1?spec=3.4.0&secret=<redacted> 400");
    assert!(!refused.contains("hunter2"), "{refused}");
    let config = line("GET /ignition/node4 200");
    assert!(config.ends_with("host=node4"), "{config}");
    assert!(line("GET /healthz 200").ends_with("host=-"));
    assert!(!log.contains(&token), "a token was logged");
}
