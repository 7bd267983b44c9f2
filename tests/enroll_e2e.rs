//! End to end, with real parts only: `coregen serve` on loopback, the real
//! Ignition engine fetching node1's config from it over HTTPS, and the
//! `coregen-enroll` script that config wrote, run against the scratch root
//! with the real openssl and curl.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::{
    IGNITION, ScratchRoot, Serve, coregen, fresh_project, needs, openssl, openssl_verify,
    openssl_x509, path_str, run_ok, snapshot_tree,
};

/// A pointer config: it trusts the http CA and replaces itself with the
/// config that the server renders for `host`.
fn pointer_config(serve: &Serve, host: &str) -> String {
    let ca = fs::read(&serve.ca).unwrap();
    let ca = base64::engine::general_purpose::STANDARD.encode(ca);
    serde_json::json!({
        "ignition": {
            "version": "3.3.0",
            "config": { "replace": { "source": format!("{}/ignition/{host}?spec=3.3.0", serve.url) } },
            "security": { "tls": { "certificateAuthorities": [
                { "source": format!("data:;base64,{ca}") }
            ] } }
        }
    })
    .to_string()
}

/// A `curl` first on PATH that keeps a copy of each request body it sends
/// (`--data-binary @FILE`) in `capture`, then runs the real curl.
fn capturing_curl(bin: &Path, capture: &Path) {
    fs::create_dir_all(bin).unwrap();
    fs::create_dir_all(capture).unwrap();
    let script = format!(
        "#!/bin/sh\n\
         prev=\n\
         for a in \"$@\"; do\n\
         \x20 if [ \"$prev\" = --data-binary ]; then cp \"${{a#@}}\" \"{capture}/body.$$\"; fi\n\
         \x20 prev=$a\n\
         done\n\
         exec /usr/bin/curl \"$@\"\n",
        capture = capture.display()
    );
    let path = bin.join("curl");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn run_enroll(root: &Path, bin: &Path) -> std::process::Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg(root.join("usr/local/bin/coregen-enroll"))
        .env("COREGEN_ROOT", root)
        .env("COREGEN_ENROLL_ATTEMPTS", "1")
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn ignition_fetches_node1_over_https_and_the_script_enrolls_it() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &[]);

    // 1. The real Ignition engine: fetch through the pointer, then files.
    let pointer = project.path().join("node1.pointer.ign");
    fs::write(&pointer, pointer_config(&serve, "node1")).unwrap();
    let scratch = ScratchRoot::fetched(&pointer, &serve);
    let root = scratch.root();
    assert_eq!(
        fs::read_to_string(root.join("etc/hostname")).unwrap(),
        "node1\n"
    );
    let env_file = root.join("etc/coregen/enroll.env");
    let env = fs::read_to_string(&env_file).unwrap();
    assert!(
        env.contains(&format!("\nCOREGEN_URL='{}'\n", serve.url)),
        "{env}"
    );
    assert!(env.contains("\nCOREGEN_TOKEN='cgt1."), "{env}");

    // 2. The enrollment script, with the real openssl and curl.
    let bin = scratch.dir.path().join("capture-bin");
    let capture = scratch.dir.path().join("bodies");
    capturing_curl(&bin, &capture);
    let out = run_enroll(&root, &bin);
    assert!(
        out.status.success(),
        "coregen-enroll failed:\n{}\nserver:\n{}",
        String::from_utf8_lossy(&out.stderr),
        serve.log()
    );

    // 3. Every certificate is in place, verifies against its CA, carries
    //    the inventory's names, and matches the key made on the host.
    let pki = root.join("etc/etcd/pki");
    let etcd_ca = project.path().join("pki/etcd/ca.crt");
    for (name, sans) in [
        (
            "peer",
            "DNS:node1, DNS:node1.cluster.internal, IP Address:10.0.0.11",
        ),
        (
            "server",
            "DNS:node1, DNS:node1.cluster.internal, DNS:localhost, IP Address:10.0.0.11, IP Address:127.0.0.1",
        ),
        ("client", ""),
    ] {
        let cert = pki.join(format!("{name}.crt"));
        let key = pki.join(format!("{name}.key"));
        assert!(
            openssl_verify(&etcd_ca, &cert),
            "{name}: openssl verify fails"
        );
        let text = openssl_x509(&cert, &["-subject", "-ext", "subjectAltName"]);
        assert!(
            text.contains("CN = node1") || text.contains("CN=node1"),
            "{text}"
        );
        assert!(text.contains(sans), "{name}: {text}");
        assert_eq!(
            openssl_x509(&cert, &["-pubkey"]).as_bytes(),
            openssl(&["pkey", "-pubout", "-in", path_str(&key)]).stdout,
        );
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&cert).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }
    assert_eq!(
        fs::read(pki.join("ca.crt")).unwrap(),
        fs::read(&etcd_ca).unwrap()
    );
    let https = root.join("etc/pki/coregen/https.crt");
    let http_ca = project.path().join("pki/http/ca.crt");
    assert!(openssl_verify(&http_ca, &https));

    // 4. What travelled: one request, CSRs only, no private key.
    let bodies: Vec<String> = fs::read_dir(&capture)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(bodies.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    let csrs = body["csrs"].as_array().unwrap();
    assert_eq!(csrs.len(), 4);
    for csr in csrs {
        assert!(
            csr["csr"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
        );
    }
    assert!(!bodies[0].contains("PRIVATE KEY"));
    for key in ["peer", "server", "client"] {
        let pem = fs::read_to_string(pki.join(format!("{key}.key"))).unwrap();
        let line = pem.lines().nth(1).unwrap();
        assert!(
            !bodies[0].contains(line),
            "key material of {key}.key was sent"
        );
    }
    assert!(!serve.log().contains("PRIVATE KEY"));

    // 5. Done once: the token is wiped, the state says enrolled, and a
    //    second run changes nothing.
    let env = fs::read_to_string(&env_file).unwrap();
    assert!(env.contains("\nCOREGEN_TOKEN=''\n"), "{env}");
    assert!(!env.contains("cgt1."));
    assert!(root.join("var/lib/coregen/enrolled").is_file());
    let before = snapshot_tree(&root);
    let again = run_enroll(&root, &bin);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("enrolled already"));
    assert_eq!(before, snapshot_tree(&root));
    assert_eq!(
        fs::read_dir(&capture).unwrap().count(),
        1,
        "no second request"
    );

    let list = run_ok(coregen(project.path()).args(["host", "list"]));
    let list = String::from_utf8(list.stdout).unwrap();
    let node1 = list.lines().find(|l| l.starts_with("node1")).unwrap();
    assert!(
        node1.contains("enrolled") && node1.contains("from 127.0.0.1"),
        "{list}"
    );
    let audit = run_ok(coregen(project.path()).args(["audit", "--host", "node1"]));
    assert_eq!(String::from_utf8(audit.stdout).unwrap().lines().count(), 4);
    serve.stop();
}
