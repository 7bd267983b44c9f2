//! Boot files with the real tools: the Ignition engine follows a pointer
//! config from `coregen pxe` to a running `coregen serve` over HTTPS,
//! trusting only the CA the pointer carries; `ignition-validate` accepts
//! every pointer; the pointer initrd lists and extracts with `cpio`.

mod common;

use std::fs;
use std::process::Command;

use common::{IGNITION, ScratchRoot, Serve, coregen, example_project, fresh_project, run_ok, tool};

const HOSTS: [&str; 4] = ["node1", "node2", "node3", "node4"];

#[test]
fn ignition_follows_the_pointer_trusting_only_its_ca() {
    if tool(IGNITION).is_none() || tool("curl").is_none() {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &[]);
    let cluster = project.path().join("hosts/cluster.toml");
    let text = fs::read_to_string(&cluster).unwrap();
    fs::write(&cluster, text.replace("https://10.0.0.2:8443", &serve.url)).unwrap();
    run_ok(coregen(project.path()).args(["pxe", "--host", "node1", "--spec", "3.3.0"]));
    let pointer = project.path().join("out/node1.pointer.ign");

    let scratch = ScratchRoot::new();
    for stage in ["fetch", "files"] {
        let out = scratch.ignition(stage, &pointer);
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !log.contains("CRITICAL"),
            "ignition -stage {stage}:\n{log}\nserver:\n{}",
            serve.log()
        );
    }
    let root = scratch.root();
    assert_eq!(
        fs::read_to_string(root.join("etc/hostname")).unwrap(),
        "node1\n"
    );
    assert!(root.join("etc/coregen/enroll.env").is_file());

    // The same pointer with another CA: the fetch must fail.
    let other_ca = fs::read_to_string(project.path().join("pki/etcd/ca.crt")).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_slice(&fs::read(&pointer).unwrap()).unwrap();
    let url = coregen::ignition::encode_contents(other_ca.as_bytes());
    config["ignition"]["security"]["tls"]["certificateAuthorities"][0] =
        serde_json::json!({ "source": url.source, "compression": url.compression });
    // Ignition retries a failing fetch until httpTotal seconds are over
    // (forever by default).
    config["ignition"]["timeouts"] = serde_json::json!({ "httpTotal": 3 });
    let wrong = scratch.dir.path().join("wrong-ca.ign");
    fs::write(&wrong, config.to_string()).unwrap();
    let other = ScratchRoot::new();
    let out = other.ignition("fetch", &wrong);
    assert!(!out.status.success(), "fetched despite the wrong CA");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("x509: certificate signed by unknown authority"),
        "{log}"
    );
    assert!(!other.root().join("etc/hostname").exists());
}

#[test]
fn every_pointer_validates_and_its_initrd_holds_it_byte_for_byte() {
    if tool("ignition-validate").is_none() || tool("cpio").is_none() || tool("gzip").is_none() {
        return;
    }
    let project = example_project();
    let out = run_ok(coregen(project.path()).args(["pxe", "--all", "--spec", "3.3.0"]));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 8);
    for host in HOSTS {
        let pointer = project.path().join(format!("out/{host}.pointer.ign"));
        run_ok(Command::new("ignition-validate").arg(&pointer));
        let text = fs::read_to_string(&pointer).unwrap();
        assert!(text.contains(&format!(
            "\"source\": \"https://10.0.0.2:8443/ignition/{host}?spec=3.3.0\""
        )));
        assert!(!text.contains("cgt1."), "no token in a pointer");

        let img = project.path().join(format!("out/{host}.pointer.img"));
        let listing = run_ok(
            Command::new("sh")
                .arg("-c")
                .arg(format!("gzip -dc '{}' | cpio -it --quiet", img.display())),
        );
        assert_eq!(String::from_utf8(listing.stdout).unwrap(), "config.ign\n");
        let dir = tempfile::tempdir().unwrap();
        run_ok(
            Command::new("sh")
                .arg("-c")
                .arg(format!("gzip -dc '{}' | cpio -id --quiet", img.display()))
                .current_dir(dir.path()),
        );
        assert_eq!(
            fs::read(dir.path().join("config.ign")).unwrap(),
            fs::read(&pointer).unwrap()
        );
    }
}

#[test]
fn render_pxe_writes_the_boot_files_beside_the_configs() {
    let project = example_project();
    run_ok(coregen(project.path()).args(["render", "--all", "--redact", "--pxe"]));
    for host in HOSTS {
        for file in ["ign", "pointer.ign", "pointer.img"] {
            assert!(project.path().join(format!("out/{host}.{file}")).is_file());
        }
    }
    // Pointers are not host configs: review leaves them alone.
    let check = coregen(project.path())
        .args(["render", "--all", "--check"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
