//! Renewal on the host, end to end with real parts: `coregen serve` on
//! loopback, the real Ignition engine applying node1's config to a scratch
//! root, `coregen-enroll`, then `coregen-renew` from that config with the
//! real openssl and curl. Stand-ins (`common::HostBin`) record what curl
//! sends and what systemctl is asked, since systemd does not run here, and
//! make certificates look older to `date -d` for the timer's runs.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{
    HostBin, IGNITION, ScratchRoot, Serve, audit, edit_file, fresh_project, needs, openssl,
    openssl_verify, openssl_x509, path_str, render_and_apply, snapshot_tree,
};
use coregen::contract::{CRL_DIR, RENEW_PENDING};

const RENEW: &str = "usr/local/bin/coregen-renew";
const ENROLL: &str = "usr/local/bin/coregen-enroll";
const DAY: u64 = 24 * 3600;

/// node1 enrolled: the project, its server, the scratch root and the
/// stand-ins.
struct Host {
    project: tempfile::TempDir,
    serve: Option<Serve>,
    port: u16,
    scratch: ScratchRoot,
    bin: HostBin,
}

impl Host {
    /// `serve`, the real Ignition engine applying node1's config (rendered
    /// for that server), then `coregen-enroll`.
    fn enrolled() -> Host {
        Host::enrolled_with(|_| {})
    }

    /// [`Host::enrolled`], with `edit` applied to the project first.
    fn enrolled_with(edit: impl FnOnce(&Path)) -> Host {
        let project = fresh_project();
        edit(project.path());
        let port = common::free_port();
        edit_file(
            project.path(),
            "hosts/cluster.toml",
            "https://10.0.0.2:8443",
            &format!("https://127.0.0.1:{port}"),
        );
        let (_, scratch) = render_and_apply(project.path(), "node1", &[]);
        let serve = Serve::start_at(project.path(), &format!("127.0.0.1:{port}"), &[], &[]);
        let bin = HostBin::new(scratch.dir.path());
        let host = Host {
            project,
            serve: Some(serve),
            port,
            scratch,
            bin,
        };
        // Not enrolled yet: nothing to renew, and no failure.
        let early = host.renew(&[], &[]);
        assert!(early.status.success(), "{}", stderr(&early));
        assert!(stderr(&early).contains("not enrolled yet"));
        let out = host
            .bin
            .script(&host.root(), ENROLL)
            .env("COREGEN_ENROLL_ATTEMPTS", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}\n{}", stderr(&out), host.log());
        host
    }

    fn root(&self) -> PathBuf {
        self.scratch.root()
    }

    fn log(&self) -> String {
        self.serve.as_ref().map(Serve::log).unwrap_or_default()
    }

    fn renew(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.bin
            .script(&self.root(), RENEW)
            .args(args)
            .envs(env.iter().copied())
            .env("COREGEN_RENEW_DELAY", "1")
            .output()
            .unwrap()
    }

    /// `coregen-renew` that must succeed; its log.
    fn renew_ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.renew(args, env);
        let log = stderr(&out);
        assert!(
            out.status.success(),
            "coregen-renew failed:\n{log}\nserver:\n{}",
            self.log()
        );
        log
    }

    /// Profile number of each profile name in enroll.env.
    fn profiles(&self) -> BTreeMap<String, usize> {
        let env = fs::read_to_string(self.root().join("etc/coregen/enroll.env")).unwrap();
        env.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("COREGEN_PROFILE_")?;
                let (i, value) = rest.split_once("_NAME=")?;
                Some((value.trim_matches('\'').to_string(), i.parse().ok()?))
            })
            .collect()
    }

    /// Adds settings to enroll.env, as a newer coregen writes them.
    fn set(&self, lines: &str) {
        let path = self.root().join("etc/coregen/enroll.env");
        let mut env = fs::read_to_string(&path).unwrap();
        env.push_str(lines);
        fs::write(&path, env).unwrap();
    }

    /// Each certificate's serial and key, by profile (`identity` too).
    fn installed(&self) -> BTreeMap<&'static str, (String, Vec<u8>)> {
        CERTS
            .iter()
            .map(|(profile, cert, key, _)| {
                let serial = openssl_x509(&self.root().join(cert), &["-serial"]);
                (*profile, (serial, fs::read(self.root().join(key)).unwrap()))
            })
            .collect()
    }

    /// Every certificate verifies against its CA and carries the key
    /// installed beside it, mode 0600.
    fn check_installed(&self) {
        for (profile, cert, key, ca) in CERTS {
            let cert = self.root().join(cert);
            let key = self.root().join(key);
            let ca = self.project.path().join(ca);
            assert!(
                openssl_verify(&ca, &cert),
                "{profile}: openssl verify fails"
            );
            assert_eq!(
                openssl_x509(&cert, &["-pubkey"]).as_bytes(),
                openssl(&["pkey", "-pubout", "-in", path_str(&key)]).stdout,
                "{profile}: the key does not match"
            );
            assert_eq!(
                fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    /// Every file of the root but the lock of runs, whose only content is
    /// being there.
    fn tree(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut tree = snapshot_tree(&self.root());
        tree.retain(|(path, _)| !path.ends_with("var/lib/coregen/renew.lock"));
        tree
    }

    fn pending(&self) -> PathBuf {
        self.root().join(RENEW_PENDING.trim_start_matches('/'))
    }
}

/// node1's certificates: profile, certificate, key and the CA (in the
/// project) that signs it.
const CERTS: [(&str, &str, &str, &str); 5] = [
    (
        "etcd-peer",
        "etc/etcd/pki/peer.crt",
        "etc/etcd/pki/peer.key",
        "pki/etcd/ca.crt",
    ),
    (
        "etcd-server",
        "etc/etcd/pki/server.crt",
        "etc/etcd/pki/server.key",
        "pki/etcd/ca.crt",
    ),
    (
        "etcd-client",
        "etc/etcd/pki/client.crt",
        "etc/etcd/pki/client.key",
        "pki/etcd/ca.crt",
    ),
    (
        "https",
        "etc/pki/coregen/https.crt",
        "etc/pki/coregen/https.key",
        "pki/http/ca.crt",
    ),
    (
        "identity",
        "var/lib/coregen/identity.crt",
        "var/lib/coregen/identity.key",
        "pki/identity/ca.crt",
    ),
];

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The profiles of a renewal request body, after checking its shape.
fn renewed_profiles(body: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    let nonce = json["nonce"].as_str().unwrap();
    assert!(
        nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit()),
        "{nonce}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((json["time"].as_i64().unwrap() - now).abs() < 120);
    assert!(!body.contains("PRIVATE KEY"));
    json["csrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert!(
                c["csr"]
                    .as_str()
                    .unwrap()
                    .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
            );
            c["profile"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_forced_renewal_replaces_every_key_and_certificate_and_reloads_their_units() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let host = Host::enrolled();
    let profiles = host.profiles();
    host.set(&format!(
        "COREGEN_PROFILE_{}_RELOAD='etcd-member.service'\n\
         COREGEN_PROFILE_{}_RELOAD='etcd-member.service kubelet.service'\n\
         COREGEN_PROFILE_{}_RELOAD=''\n",
        profiles["etcd-peer"], profiles["etcd-server"], profiles["https"]
    ));
    // A CRL of the etcd CA, and one of the http CA signed by another key,
    // which does not verify and is not installed.
    let crls = tempfile::tempdir().unwrap();
    host.bin.serve_crl(
        "etcd",
        &make_crl(crls.path(), &host.project.path().join("pki/etcd")),
    );
    let other = crls.path().join("other");
    fs::create_dir_all(&other).unwrap();
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=not the http CA",
        "-keyout",
        path_str(&other.join("ca.key")),
        "-out",
        path_str(&other.join("ca.crt")),
    ]);
    host.bin.serve_crl("http", &make_crl(crls.path(), &other));

    let before = host.installed();
    let sent = host.bin.bodies().len();
    let audited = audit(host.project.path()).len();
    let log = host.renew_ok(&["--force"], &[]);

    // Each certificate is new (serial and key), and checks out.
    let after = host.installed();
    for (profile, (serial, key)) in &before {
        assert_ne!(&after[profile].0, serial, "{profile}: same serial\n{log}");
        assert_ne!(&after[profile].1, key, "{profile}: same key\n{log}");
    }
    host.check_installed();
    assert!(!host.pending().exists());

    // One request, with CSRs only, for every profile and the identity.
    let bodies = host.bin.bodies();
    assert_eq!(bodies.len(), sent + 1, "{log}");
    let mut asked = renewed_profiles(&bodies[sent]);
    asked.sort();
    assert_eq!(
        asked,
        [
            "etcd-client",
            "etcd-peer",
            "etcd-server",
            "https",
            "identity"
        ]
    );

    // The reload units, each once.
    assert_eq!(
        host.bin.systemctl_calls(),
        [
            "try-reload-or-restart etcd-member.service",
            "try-reload-or-restart kubelet.service"
        ],
        "{log}"
    );

    // The etcd CA's CRL is installed; the http one, which does not verify,
    // is not.
    let crl_dir = host.root().join(CRL_DIR.trim_start_matches('/'));
    assert!(crl_dir.join("etcd.crl").is_file(), "{log}");
    for (path, want) in [(crl_dir.clone(), 0o755), (crl_dir.join("etcd.crl"), 0o644)] {
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "{}", path.display());
    }
    assert!(!crl_dir.join("http.crl").exists(), "{log}");
    assert!(log.contains("the CRL of CA http does not verify"), "{log}");

    // coregen recorded the renewals.
    assert_eq!(audit(host.project.path()).len(), audited + 5);

    // A run of the timer: nothing is due, and nothing changes.
    let tree = host.tree();
    let log = host.renew_ok(&[], &[]);
    assert!(log.contains("nothing due"), "{log}");
    assert!(tree == host.tree(), "a run with nothing due changed files");
    assert_eq!(host.bin.bodies().len(), sent + 1);
    assert_eq!(host.bin.systemctl_calls().len(), 2);
}

#[test]
fn the_timer_renews_what_has_used_its_share_of_its_lifetime() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let host = Host::enrolled();
    let sent = host.bin.bodies().len();
    let shift = |days: u64| (days * DAY).to_string();

    // 5 days into the example's 30-day certificates (and the identity's
    // 90 days): nothing is due.
    let before = host.installed();
    let five = shift(5);
    // The first run installs the CRLs that serve publishes; the next, with
    // nothing due and the same CRLs, changes nothing at all.
    let log = host.renew_ok(&[], &[("COREGEN_TEST_DATE_SHIFT", &five)]);
    assert!(log.contains("nothing due"), "{log}");
    let tree = host.tree();
    let log = host.renew_ok(&[], &[("COREGEN_TEST_DATE_SHIFT", &five)]);
    assert!(log.contains("nothing due"), "{log}");
    assert!(tree == host.tree(), "a run with nothing due changed files");
    assert_eq!(host.bin.bodies().len(), sent);

    // With RENEW_AT=5 for etcd-peer, 5 days (16 %) are enough for it alone.
    let profiles = host.profiles();
    host.set(&format!(
        "COREGEN_PROFILE_{}_RENEW_AT='5'\nCOREGEN_PROFILE_{}_RELOAD='etcd-member.service'\n",
        profiles["etcd-peer"], profiles["etcd-peer"]
    ));
    let log = host.renew_ok(&[], &[("COREGEN_TEST_DATE_SHIFT", &five)]);
    assert!(log.contains("etcd-peer: 16% of its lifetime used"), "{log}");
    let bodies = host.bin.bodies();
    assert_eq!(renewed_profiles(&bodies[sent]), ["etcd-peer"]);
    let after = host.installed();
    for (profile, old) in &before {
        assert_eq!(
            after[profile] != *old,
            *profile == "etcd-peer",
            "{profile}\n{log}"
        );
    }
    assert_eq!(
        host.bin.systemctl_calls(),
        ["try-reload-or-restart etcd-member.service"]
    );

    // 61 days in: every certificate is due (the 30-day ones past their
    // end, the identity at 67 % of its 90 days), and renews.
    let log = host.renew_ok(&[], &[("COREGEN_TEST_DATE_SHIFT", &shift(61))]);
    let bodies = host.bin.bodies();
    assert_eq!(bodies.len(), sent + 2, "{log}");
    assert_eq!(renewed_profiles(&bodies[sent + 1]).len(), 5, "{log}");
    let renewed = host.installed();
    for (profile, old) in &after {
        assert_ne!(renewed[profile].0, old.0, "{profile}\n{log}");
    }
    host.check_installed();
}

#[test]
fn a_failed_renewal_leaves_the_old_files_and_the_next_run_sends_the_same_keys() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    let mut host = Host::enrolled();
    let sent = host.bin.bodies().len();
    let installed = host.tree();

    // coregen is gone: the run gives up (status 1), and every installed
    // file is as it was; the new keys wait, in a folder of mode 0700.
    host.serve.take().unwrap().stop();
    let out = host.renew(&["--force"], &[("COREGEN_RENEW_ATTEMPTS", "2")]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("giving up after 2 attempt(s)"), "{log}");
    let pending = host.pending();
    let mut now = host.tree();
    now.retain(|(path, _)| !path.starts_with(&pending));
    assert!(installed == now, "a failed renewal changed files");
    assert_eq!(
        fs::metadata(&pending).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let keys = snapshot_tree(&pending);
    assert!(host.bin.systemctl_calls().is_empty());

    // A profile the host does not have is refused, status 2.
    let out = host.renew(&["--force", "nosuch"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // The next run, with coregen back: the same keys' CSRs, a new nonce.
    host.serve = Some(Serve::start_at(
        host.project.path(),
        &format!("127.0.0.1:{}", host.port),
        &[],
        &[],
    ));
    host.renew_ok(&["--force"], &[]);
    let bodies = host.bin.bodies();
    let json = |b: &str| serde_json::from_str::<serde_json::Value>(b).unwrap();
    let (first, last) = (json(&bodies[sent]), json(bodies.last().unwrap()));
    assert_eq!(first["csrs"], last["csrs"]);
    assert_ne!(first["nonce"], last["nonce"]);
    let key_of = |profile: &str| -> Vec<u8> {
        keys.iter()
            .find(|(p, _)| p.ends_with(format!("{profile}.key")))
            .unwrap()
            .1
            .clone()
    };
    for (profile, (_, key)) in host.installed() {
        assert_eq!(key, key_of(profile), "{profile}");
    }
    host.check_installed();
    assert!(!pending.exists());

    // An identity that is not one (here the https certificate, from
    // another CA): coregen refuses, 401, and running again cannot help.
    let root = host.root();
    for (from, to) in [("https.crt", "identity.crt"), ("https.key", "identity.key")] {
        fs::copy(
            root.join("etc/pki/coregen").join(from),
            root.join("var/lib/coregen").join(to),
        )
        .unwrap();
    }
    let tree = host.tree();
    let out = host.renew(&["--force", "https"], &[]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("coregen refused the renewal: HTTP 401"),
        "{log}"
    );
    let mut now = host.tree();
    now.retain(|(path, _)| !path.starts_with(&pending));
    assert!(tree == now, "a refused renewal changed files");
}

/// A CRL (DER) of the CA in `ca` (`ca.crt`, `ca.key`), revoking nothing,
/// made with `openssl ca -gencrl` in `dir`.
fn make_crl(dir: &Path, ca: &Path) -> Vec<u8> {
    let work = tempfile::tempdir_in(dir).unwrap();
    let w = work.path();
    fs::write(w.join("index.txt"), "").unwrap();
    fs::write(w.join("crlnumber"), "01\n").unwrap();
    fs::write(
        w.join("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = c\n[c]\ndatabase = {}\ncrlnumber = {}\n\
             default_md = sha256\ndefault_crl_days = 7\n",
            w.join("index.txt").display(),
            w.join("crlnumber").display()
        ),
    )
    .unwrap();
    let pem = w.join("crl.pem");
    let der = w.join("crl.der");
    openssl(&[
        "ca",
        "-gencrl",
        "-config",
        path_str(&w.join("ca.cnf")),
        "-keyfile",
        path_str(&ca.join("ca.key")),
        "-cert",
        path_str(&ca.join("ca.crt")),
        "-out",
        path_str(&pem),
    ]);
    openssl(&[
        "crl",
        "-in",
        path_str(&pem),
        "-outform",
        "DER",
        "-out",
        path_str(&der),
    ]);
    fs::read(der).unwrap()
}

#[test]
fn a_90_second_certificate_is_due_a_minute_later_and_a_30_day_one_is_not() {
    if !needs(&[IGNITION, "openssl", "curl"]) {
        return;
    }
    // The https profile lives 90 s; the etcd ones keep the example's 30 d.
    let host = Host::enrolled_with(|dir| {
        let path = dir.join("hosts/cluster.toml");
        let text = fs::read_to_string(&path).unwrap();
        let (head, tail) = text.split_at(text.find("[profiles.https]").unwrap());
        let tail = tail.replacen("validity = \"30d\"", "validity = \"90s\"", 1);
        fs::write(&path, format!("{head}{tail}")).unwrap();
    });
    let https = openssl_x509(
        &host.root().join("etc/pki/coregen/https.crt"),
        &["-enddate", "-startdate"],
    );
    let before = host.installed();

    // The timer's run a minute on (the host's clock moved; the certificates
    // are the real ones): the 90 s certificate has used two thirds, the
    // others almost nothing.
    let log = host.renew_ok(&[], &[("COREGEN_TEST_DATE_SHIFT", "61")]);
    assert!(
        log.contains("https: ") && log.contains("renewing"),
        "{https}\n{log}"
    );
    let after = host.installed();
    for (profile, old) in &before {
        assert_eq!(
            after[profile] != *old,
            *profile == "https",
            "{profile}\n{log}"
        );
    }
    host.check_installed();
}
