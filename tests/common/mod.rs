//! Helpers shared by the integration tests: a scratch copy of the example
//! project, running the real `coregen` binary, and finding the real tools
//! (Ignition, openssl) that tests check our output with.
#![allow(dead_code)] // each test binary uses a different part of this

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The `coregen` binary built for these tests.
pub fn coregen(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coregen"));
    cmd.arg("-C").arg(dir);
    cmd
}

/// Runs `cmd`, panicking with its output unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, expecting it to fail; returns its stderr.
pub fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the command starts");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{cmd:?} succeeded but should have failed\nstdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout),
    );
    stderr
}

/// A temporary copy of the example project (hosts/ and templates/) with the
/// fixed test CA certificates of tests/fixtures/pki, so that rendered output
/// is the same on every machine. The CA keys are not in the fixture:
/// rendering never reads them.
pub fn example_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&Path::new(REPO).join("hosts"), &dir.path().join("hosts"));
    copy_tree(
        &Path::new(REPO).join("templates"),
        &dir.path().join("templates"),
    );
    copy_tree(
        &Path::new(REPO).join("tests/fixtures/pki"),
        &dir.path().join("pki"),
    );
    dir
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file below `dir` with its contents, for "nothing changed" checks.
pub fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    if dir.exists() {
        collect(dir, &mut files);
    }
    files.sort();
    files
}

fn collect(dir: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
}

/// The path of an external tool, or `None` when it is missing and the test
/// should be skipped. With `COREGEN_REQUIRE_TOOLS=1` (as in CI) a missing
/// tool fails the test instead.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = if name.contains('/') {
        Some(PathBuf::from(name)).filter(|p| p.is_file())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    };
    if found.is_none() {
        let required = std::env::var("COREGEN_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{name} is required (COREGEN_REQUIRE_TOOLS=1) but not installed; \
             install Debian's package for it (see .ci/run)"
        );
        eprintln!("skipped: {name} is not installed (set COREGEN_REQUIRE_TOOLS=1 to fail instead)");
    }
    found
}

/// The Ignition engine from Debian's `ignition` package.
pub const IGNITION: &str = "/usr/lib/dracut/modules.d/30ignition/ignition";

/// A scratch root that the real Ignition engine can apply a config to: the
/// files it needs (passwd and group databases, an SELinux config) and a
/// no-op `setfiles`. Kept inside a temporary folder of its own.
pub struct ScratchRoot {
    pub dir: tempfile::TempDir,
}

impl ScratchRoot {
    pub fn new() -> ScratchRoot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("etc/selinux")).unwrap();
        for db in ["passwd", "group", "shadow", "gshadow"] {
            fs::copy(Path::new("/etc").join(db), root.join("etc").join(db)).unwrap();
        }
        fs::write(
            root.join("etc/selinux/config"),
            "SELINUX=disabled\nSELINUXTYPE=targeted\n",
        )
        .unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        fs::write(bin.join("setfiles"), "#!/bin/sh\nexit 0\n").unwrap();
        fs::create_dir_all(dir.path().join("state")).unwrap();
        // Ignition writes SSH keys as the user they belong to, who must be
        // able to reach the root: mktemp's 0700 would stop it.
        use std::os::unix::fs::PermissionsExt;
        for p in [dir.path(), &root, &bin] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::set_permissions(bin.join("setfiles"), fs::Permissions::from_mode(0o755)).unwrap();
        ScratchRoot { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Runs one Ignition stage with `config` as the platform's config.
    pub fn ignition(&self, stage: &str, config: &Path) -> Output {
        let state = self.dir.path().join("state");
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(IGNITION)
            .args(["-platform", "file", "-stage", stage, "-log-to-stdout"])
            .arg("-root")
            .arg(self.root())
            .arg("-state-file")
            .arg(state.join("state"))
            .arg("-neednet")
            .arg(state.join("neednet"))
            .arg("-config-cache")
            .arg(state.join("config.json"))
            .env("IGNITION_CONFIG_FILE", config)
            .env("PATH", path)
            .output()
            .expect("ignition starts")
    }

    /// fetch-offline, then files: what a first boot does with a config
    /// that needs no network.
    pub fn apply(&self, config: &Path) {
        for stage in ["fetch-offline", "files"] {
            let out = self.ignition(stage, config);
            let log = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && !log.contains("CRITICAL"),
                "ignition -stage {stage} failed:\n{log}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A copy of the example project with an empty pki/: `coregen serve` and
/// `render` create the CAs, keys included, as on a real first run.
pub fn fresh_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&Path::new(REPO).join("hosts"), &dir.path().join("hosts"));
    copy_tree(
        &Path::new(REPO).join("templates"),
        &dir.path().join("templates"),
    );
    dir
}

/// A loopback address whose port is free now (the OS picked it), for a
/// server a test starts.
pub fn free_local_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A running `coregen serve` on 127.0.0.1 and a free port, stopped (and
/// its log kept) when dropped.
pub struct Serve {
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    pub url: String,
    pub ca: PathBuf,
}

impl Serve {
    pub fn start(dir: &Path, extra: &[&str]) -> Serve {
        use std::io::BufRead;
        let port = free_local_addr().port();
        let url = format!("https://127.0.0.1:{port}");
        let mut child = coregen(dir)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--url",
                &url,
            ])
            .args(extra)
            .env("COREGEN_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("coregen serve starts");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("coregen: serving https://") {
                    let _ = ready_tx.send(());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        if ready
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_err()
        {
            let _ = child.kill();
            panic!("coregen serve did not start:\n{}", log.lock().unwrap());
        }
        Serve {
            child,
            log,
            url,
            ca: dir.join("pki/http/ca.crt"),
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops the server with SIGTERM, as an operator or systemd would.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "serve exited with {status}:\n{}",
            self.log()
        );
        self.log()
    }

    /// curl against this server, trusting only the http CA. Returns the
    /// HTTP status and the body.
    pub fn curl(&self, path: &str, args: &[&str]) -> (u16, String) {
        let out = Command::new("curl")
            .args(["--silent", "--show-error", "--cacert"])
            .arg(&self.ca)
            .args(["--write-out", "\n%{http_code}"])
            .args(args)
            .arg(format!("{}{path}", self.url))
            .output()
            .expect("curl starts");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }

    /// POSTs `body` to /v1/enroll with `token`.
    pub fn enroll(&self, token: &str, body: &str) -> (u16, String) {
        let auth = format!("Authorization: Bearer {token}");
        self.curl(
            "/v1/enroll",
            &[
                "--header",
                &auth,
                "--header",
                "Content-Type: application/json",
                "--data-binary",
                body,
            ],
        )
    }

    /// Fetches `host`'s config and returns its bootstrap token.
    pub fn token(&self, host: &str) -> String {
        let (status, body) = self.curl(&format!("/ignition/{host}"), &[]);
        assert_eq!(status, 200, "{body}");
        token_in_config(&body)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The contents of the file at `path` in an Ignition config.
pub fn file_in_config(config: &str, path: &str) -> Option<Vec<u8>> {
    let config: serde_json::Value = serde_json::from_str(config).unwrap();
    let file = config["storage"]["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)?;
    let contents = &file["contents"];
    Some(
        coregen::ignition::decode_data_url(
            contents["source"].as_str().unwrap(),
            contents["compression"].as_str(),
        )
        .unwrap(),
    )
}

/// The bootstrap token in a config's /etc/coregen/enroll.env.
pub fn token_in_config(config: &str) -> String {
    let env = file_in_config(config, "/etc/coregen/enroll.env").expect("enroll.env in the config");
    let env = String::from_utf8(env).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("COREGEN_TOKEN='"))
        .and_then(|v| v.strip_suffix('\''))
        .expect("a token line")
        .to_string()
}

/// A new key and a CSR for it from the real openssl, in `dir`: returns the
/// CSR's PEM.
pub fn openssl_csr(dir: &Path, name: &str, key_args: &[&str], subject: &str) -> String {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    run_ok(
        Command::new("openssl")
            .args(["genpkey", "-quiet"])
            .args(key_args)
            .arg("-out")
            .arg(&key),
    );
    run_ok(
        Command::new("openssl")
            .args(["req", "-new", "-subj", subject, "-key"])
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    fs::read_to_string(csr).unwrap()
}

pub const P256: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// An enrollment request body with these (profile, CSR PEM) pairs.
pub fn enroll_body(csrs: &[(&str, &str)]) -> String {
    let items: Vec<serde_json::Value> = csrs
        .iter()
        .map(|(profile, csr)| serde_json::json!({ "profile": profile, "csr": csr }))
        .collect();
    serde_json::json!({ "csrs": items }).to_string()
}
