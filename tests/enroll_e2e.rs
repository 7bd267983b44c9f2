//! End to end, with real parts only: `coregen serve` on loopback, the real
//! Ignition engine fetching node1's config from it over HTTPS, and the
//! `coregen-enroll` script that config wrote, run against the scratch root
//! with the real openssl and curl. Then the script's retries: a server that
//! starts late, a run that gave up and one after it, a refusal, and a busy
//! answer; every attempt sends the same request.

mod common;

use std::fs;
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use common::{
    IGNITION, ScratchRoot, Serve, coregen, edit_file, fresh_project, needs, openssl,
    openssl_verify, openssl_x509, path_str, render_and_apply, run_ok, snapshot_tree,
};
use coregen::contract::{ENROLL_MARKER, ENROLL_PENDING};

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
    fake_curl(bin, capture, "");
}

/// [`capturing_curl`], except that its first request is answered here,
/// without reaching the server: 503 with `Retry-After: 3`, as a busy
/// server answers.
fn busy_once_curl(bin: &Path, capture: &Path) {
    let once = bin.join("answered-busy");
    let busy = format!(
        "if [ ! -e '{once}' ]; then\n\
         \x20 : >'{once}'\n\
         \x20 printf 'HTTP/1.1 503 Service Unavailable\\r\\nRetry-After: 3\\r\\n\\r\\n' >\"$headers\"\n\
         \x20 printf '{{\"error\":\"busy\"}}' >\"$output\"\n\
         \x20 printf 503\n\
         \x20 exit 0\n\
         fi\n",
        once = once.display()
    );
    fake_curl(bin, capture, &busy);
}

/// A `curl` first on PATH that copies each request body into `capture`,
/// notes its `--output` and `--dump-header` files, runs `before` (shell
/// that may answer instead), then the real curl.
fn fake_curl(bin: &Path, capture: &Path, before: &str) {
    fs::create_dir_all(bin).unwrap();
    fs::create_dir_all(capture).unwrap();
    let script = format!(
        "#!/bin/sh\n\
         prev= output= headers=\n\
         for a in \"$@\"; do\n\
         \x20 case $prev in\n\
         \x20   --data-binary) cp \"${{a#@}}\" \"{capture}/body.$$\" ;;\n\
         \x20   --output) output=$a ;;\n\
         \x20   --dump-header) headers=$a ;;\n\
         \x20 esac\n\
         \x20 prev=$a\n\
         done\n\
         {before}\
         exec /usr/bin/curl \"$@\"\n",
        capture = capture.display()
    );
    let path = bin.join("curl");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The request bodies `capture` holds, in no order.
fn bodies(capture: &Path) -> Vec<String> {
    fs::read_dir(capture)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// The enrollment script that Ignition wrote into `root`, with `bin` first
/// on PATH.
fn enroll_command(root: &Path, bin: &Path) -> Command {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.arg(root.join("usr/local/bin/coregen-enroll"))
        .env("COREGEN_ROOT", root)
        .env("PATH", path);
    cmd
}

/// One attempt, as the first test wants.
fn run_enroll(root: &Path, bin: &Path) -> std::process::Output {
    enroll_command(root, bin)
        .env("COREGEN_ENROLL_ATTEMPTS", "1")
        .output()
        .unwrap()
}

/// Reads `stream` line by line: each line as it comes, and all of them
/// when the stream ends.
fn watch(stream: impl std::io::Read + Send + 'static) -> (Receiver<String>, JoinHandle<String>) {
    let (tx, rx) = channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    (rx, reader)
}

/// Waits for a line of `lines` that holds `text`: a generous bound, for
/// what takes well under a second.
fn wait_for(lines: &Receiver<String>, text: &str) {
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(text) => return,
            Ok(_) => {}
            Err(e) => panic!("no line with {text:?}: {e}"),
        }
    }
}

/// A port that nothing listens on (the OS just gave it out and took it
/// back), for a URL that must be known before its server starts.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `coregen serve` on a port chosen beforehand, which `common::Serve`
/// (port 0, then the port it got) cannot give. Stopped when dropped.
struct LateServe {
    child: Child,
    log: Option<JoinHandle<String>>,
}

impl LateServe {
    fn start(dir: &Path, port: u16) -> LateServe {
        let listen = format!("127.0.0.1:{port}");
        let mut child = coregen(dir)
            .args(["serve", "--listen", &listen])
            .args(["--url", &format!("https://{listen}")])
            .env("COREGEN_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("coregen serve starts");
        let (lines, log) = watch(child.stderr.take().unwrap());
        wait_for(&lines, &format!("coregen: serving https://{listen}"));
        LateServe {
            child,
            log: Some(log),
        }
    }

    /// Stops it, and gives its log.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log.take().unwrap().join().unwrap()
    }
}

impl Drop for LateServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process, killed if the test ends before it does.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh project whose `[server] url` is `https://127.0.0.1:PORT` (a
/// port from [`free_port`], nothing serving yet), and a scratch root that
/// node1's config, token included, was applied to: the host at its first
/// boot, before its enrollment runs.
fn first_boot() -> (tempfile::TempDir, u16, ScratchRoot) {
    let project = fresh_project();
    let port = free_port();
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        "https://10.0.0.2:8443",
        &format!("https://127.0.0.1:{port}"),
    );
    let (_, scratch) = render_and_apply(project.path(), "node1", &[]);
    (project, port, scratch)
}

/// Where node1 keeps its keys.
const NODE1_KEYS: [&str; 4] = [
    "etc/etcd/pki/peer.key",
    "etc/etcd/pki/server.key",
    "etc/etcd/pki/client.key",
    "etc/pki/coregen/https.key",
];

/// The keys of the request under way in `root`, sorted.
fn pending_keys(root: &Path) -> Vec<Vec<u8>> {
    let pending = root.join(ENROLL_PENDING.trim_start_matches('/'));
    let mut keys: Vec<Vec<u8>> = (1..=4)
        .map(|i| fs::read(pending.join(format!("{i}.key"))).unwrap())
        .collect();
    keys.sort();
    keys
}

/// The keys installed in `root`, sorted.
fn installed_keys(root: &Path) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = NODE1_KEYS
        .iter()
        .map(|k| fs::read(root.join(k)).unwrap())
        .collect();
    keys.sort();
    keys
}

fn marker(root: &Path) -> PathBuf {
    root.join(ENROLL_MARKER.trim_start_matches('/'))
}

/// Every body in `capture` is the first one; how many there are.
fn all_the_same(capture: &Path) -> usize {
    let bodies = bodies(capture);
    assert!(!bodies.is_empty());
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the attempts sent different requests"
    );
    bodies.len()
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

    // The identity too: its CA's certificate came with the answer.
    let identity_ca = project.path().join("pki/identity/ca.crt");
    let identity = root.join("var/lib/coregen/identity.crt");
    let identity_key = root.join("var/lib/coregen/identity.key");
    assert!(openssl_verify(&identity_ca, &identity));
    assert_eq!(
        fs::read(root.join("var/lib/coregen/identity-ca.crt")).unwrap(),
        fs::read(&identity_ca).unwrap()
    );
    assert_eq!(
        openssl_x509(&identity, &["-pubkey"]).as_bytes(),
        openssl(&["pkey", "-pubout", "-in", path_str(&identity_key)]).stdout,
    );
    assert_eq!(
        fs::metadata(&identity_key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // 4. What travelled: one request, CSRs only, no private key.
    let bodies: Vec<String> = fs::read_dir(&capture)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(bodies.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    let csrs = body["csrs"].as_array().unwrap();
    assert_eq!(csrs.len(), 5, "four profiles and the identity");
    assert_eq!(csrs[4]["profile"], "identity");
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
    assert_eq!(
        String::from_utf8(audit.stdout).unwrap().lines().count(),
        5,
        "four profiles and the identity"
    );
    serve.stop();
}

#[test]
fn the_script_keeps_trying_until_a_server_that_starts_late_answers() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let (project, port, scratch) = first_boot();
    let root = scratch.root();
    let bin = scratch.dir.path().join("capture-bin");
    let capture = scratch.dir.path().join("bodies");
    capturing_curl(&bin, &capture);

    // The script starts while nothing listens on the server's port.
    let mut script = Running(
        enroll_command(&root, &bin)
            .env("COREGEN_ENROLL_DELAY", "1")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines, log) = watch(script.0.stderr.take().unwrap());
    wait_for(&lines, "attempt 1: no answer");
    // Then the server starts, while the script waits to try again.
    let serve = LateServe::start(project.path(), port);
    let status = script.0.wait().unwrap();
    let log = log.join().unwrap();
    assert!(status.success(), "{log}\nserver:\n{}", serve.stop());
    assert!(log.contains("trying again in 1s"), "{log}");

    // Every attempt sent the same request; the certificates are for the
    // keys made once, before the first.
    let attempts = all_the_same(&capture);
    assert!(attempts >= 2, "{log}");
    assert!(marker(&root).is_file());
    let etcd_ca = project.path().join("pki/etcd/ca.crt");
    for name in ["peer", "server", "client"] {
        let cert = root.join(format!("etc/etcd/pki/{name}.crt"));
        assert!(openssl_verify(&etcd_ca, &cert), "{name}");
        let key = root.join(format!("etc/etcd/pki/{name}.key"));
        assert_eq!(
            openssl_x509(&cert, &["-pubkey"]).as_bytes(),
            openssl(&["pkey", "-pubout", "-in", path_str(&key)]).stdout,
        );
    }
    assert!(!root.join(ENROLL_PENDING.trim_start_matches('/')).exists());
}

#[test]
fn a_run_after_one_that_gave_up_sends_the_same_keys_csrs_and_token() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let (project, port, scratch) = first_boot();
    let root = scratch.root();
    let bin = scratch.dir.path().join("capture-bin");
    let capture = scratch.dir.path().join("bodies");
    capturing_curl(&bin, &capture);

    // The first run gives up (status 1: systemd runs it again later) and
    // keeps its request.
    let first = run_enroll(&root, &bin);
    let log = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{log}");
    assert!(log.contains("giving up after 1 attempt(s)"), "{log}");
    assert!(!marker(&root).exists());
    let pending = root.join(ENROLL_PENDING.trim_start_matches('/'));
    assert_eq!(
        fs::metadata(&pending).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let keys = pending_keys(&root);
    let env = fs::read_to_string(root.join("etc/coregen/enroll.env")).unwrap();
    assert!(env.contains("\nCOREGEN_TOKEN='cgt1."), "the token is kept");

    // The next run (a restart, or after a reboot) sends that request again,
    // and installs the keys made by the first.
    let serve = LateServe::start(project.path(), port);
    let second = run_enroll(&root, &bin);
    let log = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{log}\nserver:\n{}", serve.stop());
    assert!(log.contains("sending the request made before"), "{log}");
    assert_eq!(installed_keys(&root), keys);
    assert_eq!(all_the_same(&capture), 2);
    assert!(marker(&root).is_file());
    assert!(!pending.exists(), "the request goes once it is answered");
}

#[test]
fn a_refusal_is_not_retried() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let (project, port, scratch) = first_boot();
    let root = scratch.root();
    let bin = scratch.dir.path().join("capture-bin");
    let capture = scratch.dir.path().join("bodies");
    capturing_curl(&bin, &capture);
    let _serve = LateServe::start(project.path(), port);
    // A token the server does not know: 401.
    edit_file(
        &root,
        "etc/coregen/enroll.env",
        "COREGEN_TOKEN='cgt1.",
        "COREGEN_TOKEN='cgt1.AAAA",
    );

    let out = enroll_command(&root, &bin)
        .env("COREGEN_ENROLL_DELAY", "1")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    // Status 2: coregen-enroll.service does not run it again either.
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("coregen refused the enrollment: HTTP 401"),
        "{log}"
    );
    assert!(!log.contains("trying again"), "{log}");
    assert_eq!(bodies(&capture).len(), 1);
    assert!(!marker(&root).exists());
}

#[test]
fn a_busy_answer_is_retried_after_its_retry_after() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let (project, port, scratch) = first_boot();
    let root = scratch.root();
    let bin = scratch.dir.path().join("capture-bin");
    let capture = scratch.dir.path().join("bodies");
    busy_once_curl(&bin, &capture);
    let serve = LateServe::start(project.path(), port);

    let out = enroll_command(&root, &bin)
        .env("COREGEN_ENROLL_DELAY", "1")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}\nserver:\n{}", serve.stop());
    assert!(log.contains("attempt 1: HTTP 503"), "{log}");
    // Retry-After: 3 over its own pause of 1 s.
    assert!(log.contains("trying again in 3s"), "{log}");
    assert_eq!(all_the_same(&capture), 2);
    assert!(marker(&root).is_file());
}

/// A `curl` first on PATH that takes the identity (its certificate and its
/// CA's) out of each answer, as a coregen from before identities answers.
fn no_identity_curl(bin: &Path) {
    fs::create_dir_all(bin).unwrap();
    let script = "#!/bin/sh\n\
        prev= output=\n\
        for a in \"$@\"; do\n\
        \x20 [ \"$prev\" != --output ] || output=$a\n\
        \x20 prev=$a\n\
        done\n\
        code=0\n\
        /usr/bin/curl \"$@\" || code=$?\n\
        if [ -n \"$output\" ] && [ -f \"$output\" ]; then\n\
        \x20 sed -e 's/,{\"profile\":\"identity\"[^}]*}//' -e 's/{\"profile\":\"identity\"[^}]*},//' \\\n\
        \x20     -e 's/,{\"name\":\"identity\"[^}]*}//' -e 's/{\"name\":\"identity\"[^}]*},//' \\\n\
        \x20     \"$output\" >\"$output.new\" && mv \"$output.new\" \"$output\"\n\
        fi\n\
        exit $code\n";
    let path = bin.join("curl");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_answer_without_an_identity_still_enrolls() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let (project, port, scratch) = first_boot();
    let root = scratch.root();
    let bin = scratch.dir.path().join("old-server-bin");
    no_identity_curl(&bin);
    let serve = LateServe::start(project.path(), port);

    let out = run_enroll(&root, &bin);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}\nserver:\n{}", serve.stop());
    assert!(
        log.contains("the answer holds no identity certificate"),
        "{log}"
    );
    assert!(marker(&root).is_file());
    for name in ["peer", "server", "client"] {
        assert!(root.join(format!("etc/etcd/pki/{name}.crt")).is_file());
    }
    for file in ["identity.key", "identity.crt", "identity-ca.crt"] {
        assert!(!root.join("var/lib/coregen").join(file).exists(), "{file}");
    }

    // Renewal needs the identity: it says so, and is no failure.
    let renew = Command::new("sh")
        .arg(root.join("usr/local/bin/coregen-renew"))
        .env("COREGEN_ROOT", &root)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&renew.stderr);
    assert!(renew.status.success(), "{log}");
    assert!(log.contains("no identity certificate"), "{log}");
}
