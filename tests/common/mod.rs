//! Helpers shared by the integration tests: scratch copies of the example
//! project, running the real `coregen` binary and `coregen serve`, and the
//! real tools (Ignition, openssl, curl) that tests check our output with.
//!
//! A test that runs an external tool first asks [`needs`] for it; the
//! Ignition engine runs only through [`ScratchRoot`], openssl only through
//! [`openssl`] and the helpers built on it, and servers bind port 0 and
//! say which port they got.
#![allow(dead_code)] // each test binary uses a different part of this

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

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

// ---- External tools ----

/// The Ignition engine from Debian's `ignition` package.
pub const IGNITION: &str = "/usr/lib/dracut/modules.d/30ignition/ignition";

/// Whether every one of `tools` (a name looked up on PATH, or a path such
/// as [`IGNITION`]) is installed. When some are not, prints one line that
/// names the test and what is missing and returns false, and the test
/// returns (or leaves out what needs them); with `COREGEN_REQUIRE_TOOLS=1`
/// (as in CI) it panics instead.
#[must_use]
pub fn needs(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|name| !installed(name))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let packages = packages_of(&missing);
    let missing = missing.join(", ");
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    let required = std::env::var("COREGEN_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test} needs {missing}, not installed (COREGEN_REQUIRE_TOOLS=1 requires them); \
         install them with `apt-get install {packages}`, or run `bash .ci/run`"
    );
    eprintln!(
        "skipped in {test}: what needs {missing} (not installed: `apt-get install {packages}`; \
         set COREGEN_REQUIRE_TOOLS=1 to fail instead)"
    );
    false
}

/// The Debian packages that hold `tools`, from `.ci/packages`, the one
/// list of them.
fn packages_of(tools: &[&str]) -> String {
    const LIST: &str = include_str!("../../.ci/packages");
    let mut packages: Vec<&str> = Vec::new();
    for tool in tools {
        let package = LIST
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                let mut words = l.split_whitespace();
                let package = words.next()?;
                words.any(|t| t == *tool).then_some(package)
            })
            .unwrap_or(tool);
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    packages.join(" ")
}

fn installed(name: &str) -> bool {
    if name.contains('/') {
        return Path::new(name).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

// ---- Projects ----

/// A temporary copy of the example project (hosts/ and templates/) with the
/// fixed test CA certificates of tests/fixtures/pki, so that rendered output
/// is the same on every machine. The CA keys are not in the fixture:
/// rendering never reads them.
pub fn example_project() -> tempfile::TempDir {
    copy_example(true)
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An inventory of `hosts` generated hosts (`host00000`...) in
/// `dir/cluster`, by the `gen-inventory` example.
pub fn generated_project(dir: &Path, hosts: usize) -> PathBuf {
    let project = dir.join("cluster");
    let mut generate = Command::new(env!("CARGO"));
    generate.args(["run", "--quiet", "--example", "gen-inventory"]);
    // In the profile these tests were built in, so that the library is
    // not built twice.
    if !cfg!(debug_assertions) {
        generate.arg("--release");
    }
    run_ok(
        generate
            .arg("--")
            .arg(hosts.to_string())
            .arg(&project)
            .current_dir(REPO),
    );
    project
}

/// A copy of the example project with no pki/: `coregen serve`, `render`
/// and `ca init` create the CAs, keys included, as on a real first run.
pub fn fresh_project() -> tempfile::TempDir {
    copy_example(false)
}

fn copy_example(fixture_pki: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(REPO);
    copy_tree(&repo.join("hosts"), &dir.path().join("hosts"));
    copy_tree(&repo.join("templates"), &dir.path().join("templates"));
    if fixture_pki {
        copy_tree(&repo.join("tests/fixtures/pki"), &dir.path().join("pki"));
    }
    dir
}

/// A temporary project of just `files` (each a path in the project and
/// its text), with the fixed certificates of tests/fixtures/pki for the
/// CAs named in `cas`, so that its output is the same on every machine.
pub fn project_of(files: &[(&str, &str)], cas: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        write_file(dir.path(), rel, text);
    }
    for ca in cas {
        copy_tree(
            &Path::new(REPO).join("tests/fixtures/pki").join(ca),
            &dir.path().join("pki").join(ca),
        );
    }
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

/// Writes `text` to `dir/rel`, making its folders.
pub fn write_file(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Replaces the first `from` (which must be there) by `to` in `dir/rel`.
pub fn edit_file(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
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

// ---- The Ignition engine ----

/// A scratch root that the real Ignition engine can apply a config to: the
/// files it needs (passwd and group databases, an SELinux config) and a
/// no-op `setfiles`. Kept inside a temporary folder of its own. The one
/// way the tests run the engine.
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

    /// Runs `stages` in turn, each of which must succeed without a
    /// CRITICAL line; `context` (a server's log, say) goes into the
    /// message of a failure.
    pub fn stages(&self, stages: &[&str], config: &Path, context: &dyn Fn() -> String) {
        for stage in stages {
            let out = self.ignition(stage, config);
            let log = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && !log.contains("CRITICAL"),
                "ignition -stage {stage} failed:\n{log}{}\n{}",
                String::from_utf8_lossy(&out.stderr),
                context()
            );
        }
    }

    /// A new scratch root that boots from `pointer` as a first boot does
    /// with a config from the network: fetch (from `serve`, whose log
    /// goes into the message of a failure), then files.
    pub fn fetched(pointer: &Path, serve: &Serve) -> ScratchRoot {
        let scratch = ScratchRoot::new();
        scratch.stages(&["fetch", "files"], pointer, &|| {
            format!("server:\n{}", serve.log())
        });
        scratch
    }

    /// fetch-offline, then files: what a first boot does with a config
    /// that needs no network.
    pub fn apply(&self, config: &Path) {
        self.stages(&["fetch-offline", "files"], config, &String::new);
    }
}

/// Debian's `ignition-validate` (which knows specs up to 3.3.0) on `config`.
pub fn ignition_validate(config: &Path) -> Output {
    Command::new("ignition-validate")
        .arg(config)
        .output()
        .expect("ignition-validate starts")
}

/// Renders `host` of `project` in spec 3.3.0 (which Debian's Ignition
/// reads) with `extra` arguments, and applies it to a new scratch root.
/// Returns the config's path and the root.
pub fn render_and_apply(project: &Path, host: &str, extra: &[&str]) -> (PathBuf, ScratchRoot) {
    run_ok(
        coregen(project)
            .args(["render", "--host", host, "--spec", "3.3.0"])
            .args(extra),
    );
    let config = project.join(format!("out/{host}.ign"));
    let scratch = ScratchRoot::new();
    scratch.apply(&config);
    (config, scratch)
}

// ---- openssl ----

/// The real openssl with `args`: its output, panicking unless it succeeds.
pub fn openssl(args: &[&str]) -> Output {
    run_ok(Command::new("openssl").args(args))
}

/// `openssl x509 -noout OPTIONS -in cert`: what it prints.
pub fn openssl_x509(cert: &Path, options: &[&str]) -> String {
    let mut args = vec!["x509", "-noout"];
    args.extend_from_slice(options);
    args.extend_from_slice(&["-in", path_str(cert)]);
    String::from_utf8(openssl(&args).stdout).unwrap()
}

/// Whether `openssl verify` accepts `cert` against the CA certificate `ca`.
pub fn openssl_verify(ca: &Path, cert: &Path) -> bool {
    Command::new("openssl")
        .args(["verify", "-CAfile", path_str(ca), path_str(cert)])
        .output()
        .expect("openssl starts")
        .status
        .success()
}

/// Whether `cert` is still valid `secs` seconds from now, as
/// `openssl x509 -checkend` tells.
pub fn openssl_valid_in(cert: &Path, secs: u64) -> bool {
    Command::new("openssl")
        .args(["x509", "-noout", "-checkend", &secs.to_string(), "-in"])
        .arg(cert)
        .output()
        .expect("openssl starts")
        .status
        .success()
}

/// `openssl genpkey` arguments for each kind of key.
pub const P256: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
pub const P384: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"];
pub const ED25519: &[&str] = &["-algorithm", "ED25519"];
pub const RSA1024: &[&str] = &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"];
pub const RSA2048: &[&str] = &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
pub const RSA3072: &[&str] = &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"];
pub const RSA4096: &[&str] = &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"];

/// A CSR made by the real openssl.
pub struct Csr {
    pub path: PathBuf,
    pub pem: String,
}

/// A new key (`openssl genpkey` with `key`, one of [`P256`] and the like)
/// and a CSR for it (`openssl req -new -subj SUBJECT`, then `extra`), in
/// `dir` as NAME.key and NAME.csr.
pub fn openssl_csr(dir: &Path, name: &str, key: &[&str], subject: &str, extra: &[&str]) -> Csr {
    let key_path = dir.join(format!("{name}.key"));
    let path = dir.join(format!("{name}.csr"));
    let mut args = vec!["genpkey", "-quiet"];
    args.extend_from_slice(key);
    args.extend_from_slice(&["-out", path_str(&key_path)]);
    openssl(&args);
    let mut args = vec!["req", "-new", "-subj", subject, "-key", path_str(&key_path)];
    args.extend_from_slice(&["-out", path_str(&path)]);
    args.extend_from_slice(extra);
    openssl(&args);
    let pem = fs::read_to_string(&path).unwrap();
    Csr { path, pem }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

// ---- curl and `coregen serve` ----

/// curl with `args` against `url` (status written last); returns the HTTP
/// status (0 when there was no answer) and the body.
pub fn curl(url: &str, args: &[&str]) -> (u16, String) {
    let out = curl_command(url, args).output().expect("curl starts");
    status_and_body(&out.stdout)
}

/// The command [`curl`] runs, for a test that starts many at once; read
/// its output with [`status_and_body`].
pub fn curl_command(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--write-out", "\n%{http_code}"])
        .args(args)
        .arg(url);
    cmd
}

pub fn status_and_body(stdout: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(stdout);
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// A running `coregen serve` on 127.0.0.1, on the ports the OS gave it
/// (it binds port 0 and says which ports it got), stopped (and its log
/// kept) when dropped.
pub struct Serve {
    child: std::process::Child,
    log: Arc<Mutex<String>>,
    /// `https://127.0.0.1:PORT`, as the server said.
    pub url: String,
    /// `127.0.0.1:PORT` of the plain-HTTP endpoints, when `--http-listen
    /// 127.0.0.1:0` was among the arguments.
    pub plain: Option<String>,
    pub ca: PathBuf,
}

const SERVING: &str = "coregen: serving https://";
const SERVING_PLAIN: &str = "coregen: serving CA certificates over plain HTTP on ";

impl Serve {
    pub fn start(dir: &Path, extra: &[&str]) -> Serve {
        Serve::start_at(dir, "127.0.0.1:0", extra, &[])
    }

    /// [`Serve::start`] listening on `listen` (a fixed port, so that a
    /// test can restart it where its clients expect it), with `env` set.
    pub fn start_at(dir: &Path, listen: &str, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        use std::io::BufRead;
        let with_plain = extra.contains(&"--http-listen");
        let mut child = coregen(dir)
            .args(["serve", "--listen", listen])
            .args(["--url", &format!("https://{listen}")])
            .args(extra)
            .env("COREGEN_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("coregen serve starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let (mut url, mut plain) = (None, None);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(SERVING) {
                    let authority = rest.split(' ').next().unwrap_or_default();
                    url = Some(format!("https://{authority}"));
                } else if let Some(addr) = line.strip_prefix(SERVING_PLAIN) {
                    plain = Some(addr.trim().to_string());
                }
                if url.is_some() && (plain.is_some() || !with_plain) {
                    let _ = ready_tx.send((url.take().unwrap(), plain.take()));
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        // A generous bound for a start that takes well under a second: a
        // server that has not started by then is stuck.
        let Ok((url, plain)) = ready.recv_timeout(std::time::Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("coregen serve did not start:\n{}", log.lock().unwrap());
        };
        Serve {
            child,
            log,
            url,
            plain,
            ca: dir.join("pki/http/ca.crt"),
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server's process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM, as an operator or systemd would.
    pub fn stop(mut self) -> String {
        // The shell's own `kill`: std only sends SIGKILL.
        run_ok(Command::new("sh").args([
            "-c",
            "kill -TERM \"$1\"",
            "sh",
            &self.child.id().to_string(),
        ]));
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "serve exited with {status}:\n{}",
            self.log()
        );
        self.log()
    }

    /// Kills the server with SIGKILL, as a crash would stop it, and
    /// returns its log.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log()
    }

    /// Waits up to `secs` for the server to exit by itself; its status and
    /// log.
    pub fn exited(mut self, secs: u64) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.log());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// curl against this server, trusting only the http CA. Returns the
    /// HTTP status and the body.
    pub fn curl(&self, path: &str, args: &[&str]) -> (u16, String) {
        let out = self.curl_command(path, args).output().expect("curl starts");
        status_and_body(&out.stdout)
    }

    /// The command [`Serve::curl`] runs.
    pub fn curl_command(&self, path: &str, args: &[&str]) -> Command {
        let mut all = vec!["--cacert", path_str(&self.ca)];
        all.extend_from_slice(args);
        curl_command(&format!("{}{path}", self.url), &all)
    }

    /// curl against the plain-HTTP endpoints: the status and the body.
    pub fn http(&self, path: &str) -> (u16, String) {
        let plain = self
            .plain
            .as_ref()
            .expect("serve started with --http-listen");
        curl(&format!("http://{plain}{path}"), &[])
    }

    /// POSTs `body` to /v1/enroll with `token`, and `extra` curl arguments.
    pub fn enroll_with(&self, token: &str, body: &str, extra: &[&str]) -> (u16, String) {
        let auth = format!("Authorization: Bearer {token}");
        let mut args = vec![
            "--header",
            &auth,
            "--header",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ];
        args.extend_from_slice(extra);
        self.curl("/v1/enroll", &args)
    }

    /// POSTs `body` to /v1/enroll with `token`.
    pub fn enroll(&self, token: &str, body: &str) -> (u16, String) {
        self.enroll_with(token, body, &[])
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

// ---- Configs and requests ----

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

/// The `error` of a JSON error answer.
pub fn error_of(body: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    json["error"]
        .as_str()
        .expect("an error message")
        .to_string()
}

/// `coregen audit` of `project`: each issued certificate's record.
pub fn audit(project: &Path) -> Vec<serde_json::Value> {
    let out = run_ok(coregen(project).arg("audit"));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
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

/// An enrollment request body with these (profile, CSR PEM) pairs.
pub fn enroll_body(csrs: &[(&str, &str)]) -> String {
    let items: Vec<serde_json::Value> = csrs
        .iter()
        .map(|(profile, csr)| serde_json::json!({ "profile": profile, "csr": csr }))
        .collect();
    serde_json::json!({ "csrs": items }).to_string()
}

// ---- Stand-ins for a host's commands ----

/// A folder of stand-ins that a host-side script finds first on PATH,
/// each running the real command unless it has something to record or
/// fake:
/// - `curl` copies each request body (`--data-binary @FILE`) into
///   `bodies/`, and answers a GET of `.../crl/CA.crl` itself with
///   `crl/CA.crl` when that file exists (the server has no CRLs);
/// - `systemctl` only appends its arguments to `systemctl.log` (systemd
///   does not run here);
/// - `date -d TIME +%s` answers `COREGEN_TEST_DATE_SHIFT` seconds (0
///   unless set) earlier than the real one: every certificate looks that
///   much older, while `date +%s` (the request's time) stays true.
pub struct HostBin {
    pub dir: PathBuf,
}

impl HostBin {
    pub fn new(dir: &Path) -> HostBin {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("host-bin");
        for sub in ["bodies", "crl"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        fs::create_dir_all(&bin).unwrap();
        let real = |name: &str| {
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let scripts = [
            (
                "curl",
                format!(
                    "#!/bin/sh\n\
                     prev= output= url=\n\
                     for a in \"$@\"; do\n\
                     \x20 case $prev in\n\
                     \x20   --data-binary) cp \"${{a#@}}\" \"{dir}/bodies/body.$$.$({date} +%s%N)\" ;;\n\
                     \x20   --output) output=$a ;;\n\
                     \x20 esac\n\
                     \x20 prev=$a url=$a\n\
                     done\n\
                     case $url in\n\
                     \x20 */crl/*.crl)\n\
                     \x20   crl=\"{dir}/crl/${{url##*/}}\"\n\
                     \x20   if [ -e \"$crl\" ]; then cp \"$crl\" \"$output\"; printf 200; exit 0; fi ;;\n\
                     esac\n\
                     exec {curl} \"$@\"\n",
                    dir = dir.display(),
                    curl = real("curl"),
                    date = real("date"),
                ),
            ),
            (
                "systemctl",
                format!(
                    "#!/bin/sh\nprintf '%s\\n' \"$*\" >>'{}'\n",
                    dir.join("systemctl.log").display()
                ),
            ),
            (
                "date",
                format!(
                    "#!/bin/sh\n\
                     if [ \"$#\" -eq 3 ] && [ \"$1\" = -d ] && [ \"$3\" = +%s ]; then\n\
                     \x20 s=$({date} -d \"$2\" +%s) || exit 1\n\
                     \x20 echo $((s - ${{COREGEN_TEST_DATE_SHIFT:-0}}))\n\
                     \x20 exit 0\n\
                     fi\n\
                     exec {date} \"$@\"\n",
                    date = real("date"),
                ),
            ),
        ];
        for (name, text) in scripts {
            let path = bin.join(name);
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        HostBin {
            dir: dir.to_path_buf(),
        }
    }

    /// PATH with the stand-ins first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.join("host-bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The script at `script` (a path in `root`, such as
    /// `usr/local/bin/coregen-renew`), run against `root` with the
    /// stand-ins.
    pub fn script(&self, root: &Path, script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg(root.join(script))
            .env("COREGEN_ROOT", root)
            .env("PATH", self.path());
        cmd
    }

    /// The request bodies sent so far, oldest first.
    pub fn bodies(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = fs::read_dir(self.dir.join("bodies"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        // body.PID.NANOSECONDS
        names.sort_by_key(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.rsplit('.')
                .next()
                .unwrap()
                .parse::<u128>()
                .unwrap_or(0)
        });
        names
            .iter()
            .map(|p| fs::read_to_string(p).unwrap())
            .collect()
    }

    /// What `systemctl` was asked, a line a call.
    pub fn systemctl_calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("systemctl.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Serves `der` as the CRL of CA `ca`.
    pub fn serve_crl(&self, ca: &str, der: &[u8]) {
        fs::write(self.dir.join("crl").join(format!("{ca}.crl")), der).unwrap();
    }
}
