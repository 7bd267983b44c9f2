//! How long `coregen crl` takes for a CA that revoked many certificates:
//! `cargo build --release && cargo run --release --example crl-scale -- [N]`
//! (N revoked serials, default 100,000).
//!
//! It makes a copy of the example project with a fresh `etcd` CA, records
//! N certificates of one host through the state's own interface (one
//! enrollment carrying them all), retires the host (which revokes them in
//! one transaction), then times, best of five: the CRL made in process
//! (`State::crl` and `Signer::sign_crl`, what the command does), and the
//! real `coregen crl etcd --out FILE` beside this example in target/.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use coregen::pki::{CaSpec, IssuedRecord, KeyType, Pki, Usage, mint_token, parse_token};
use coregen::state::{Delivered, Enrollment, Minter, Op, Revocation, SqliteStore, State, unix_now};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("usage: crl-scale [N]"))
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&repo.join("hosts"), &project.join("hosts"));
    copy_tree(&repo.join("templates"), &project.join("templates"));
    let pki = Pki::new(project.join("pki"));
    let spec = CaSpec {
        key_type: KeyType::EcdsaP256,
        validity_days: 3650,
        usages: Usage::ALL.to_vec(),
    };
    pki.init("etcd", &spec, "corebernetes").unwrap();

    let started = Instant::now();
    let state = State::new(SqliteStore::open(&pki.state_db_path()).unwrap());
    let now = unix_now();
    let token = mint_token("node1", 3600, now).unwrap();
    let _ = state
        .apply(&[Op::Mint(vec![token.clone()], Minter::Render)])
        .unwrap();
    let issued: Vec<Delivered> = (0..n)
        .map(|i| Delivered {
            record: IssuedRecord {
                issued_at: "2026-01-01T00:00:00Z".into(),
                // 16 bytes, the top bit clear, as coregen's serials are.
                serial: format!("{:016x}{:016x}", (i as u64) << 8 | 0x11, spread(i as u64)),
                host: "node1".into(),
                profile: "etcd-peer".into(),
                ca: "etcd".into(),
                not_after: "2099-01-01T00:00:00Z".into(),
                sha256: "00".into(),
                renews: None,
            },
            key_sha256: String::new(),
            certificate: String::new(),
        })
        .collect();
    let _ = state
        .apply(&[Op::Enroll(Enrollment {
            token: parse_token(&token.text).unwrap(),
            host: "node1".into(),
            now,
            from: "127.0.0.1".into(),
            issued,
        })])
        .unwrap();
    let retired = state.retire_host("node1", now).unwrap();
    assert_eq!(retired.revoked.len(), n);
    eprintln!(
        "crl-scale: {n} certificates recorded and revoked in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let signer = pki.signer("etcd").unwrap();
    let in_process = best_of(5, || {
        let (number, revoked) = state.crl("etcd").unwrap();
        let crl = signer
            .sign_crl(
                number,
                revoked.iter().map(Revocation::entry),
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
        assert!(crl.der.len() > n * 30);
    });
    println!(
        "in process (read {n} revocations, sign the CRL): {:.0} ms",
        in_process.as_secs_f64() * 1e3
    );

    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("coregen"))
        .filter(|b| b.is_file());
    let Some(binary) = binary else {
        println!("no coregen binary beside this example: run `cargo build --release` first");
        return;
    };
    let out: PathBuf = project.join("etcd.crl");
    let command = best_of(5, || {
        let status = std::process::Command::new(&binary)
            .arg("-C")
            .arg(project)
            .args(["crl", "etcd", "--out"])
            .arg(&out)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    });
    println!(
        "`coregen crl etcd --out FILE`, {n} revoked: {:.0} ms wall ({} bytes)",
        command.as_secs_f64() * 1e3,
        std::fs::metadata(&out).unwrap().len()
    );
}

/// The low 64 bits of a serial: `i` spread over them.
fn spread(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
