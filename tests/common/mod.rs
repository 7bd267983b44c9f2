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
