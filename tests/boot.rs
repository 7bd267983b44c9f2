//! Boot files with the real tools: the Ignition engine follows a pointer
//! config from `coregen pxe` to a running `coregen serve` over HTTPS,
//! trusting only the CA the pointer carries; `ignition-validate` accepts
//! every pointer; the pointer initrd lists and extracts with `cpio`; the
//! iPXE scripts carry each argument once, give an installing host's live
//! system no config and its installer the pointer, and serve gives the
//! same files over plain HTTP; the installed system's first boot, through
//! that pointer, gates etcd on the enrollment; and `pxe` checks the
//! inventory before it creates or writes anything.

mod common;

use std::fs;
use std::process::Command;

use common::{
    IGNITION, ScratchRoot, Serve, coregen, curl, edit_file, example_project, fresh_project,
    ignition_validate, needs, run_ok,
};
use coregen::contract::{ENROLL_MARKER, ENROLL_UNIT};

const HOSTS: [&str; 4] = ["node1", "node2", "node3", "node4"];

#[test]
fn ignition_follows_the_pointer_trusting_only_its_ca() {
    if !needs(&[IGNITION, "curl"]) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &[]);
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        "https://10.0.0.2:8443",
        &serve.url,
    );
    run_ok(coregen(project.path()).args(["pxe", "--host", "node1", "--spec", "3.3.0"]));
    let pointer = project.path().join("out/node1.pointer.ign");

    let scratch = ScratchRoot::fetched(&pointer, &serve);
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
    if !needs(&["ignition-validate", "cpio", "gzip"]) {
        return;
    }
    let project = example_project();
    let out = run_ok(coregen(project.path()).args(["pxe", "--all", "--spec", "3.3.0"]));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 12);
    for host in HOSTS {
        let pointer = project.path().join(format!("out/{host}.pointer.ign"));
        let validated = ignition_validate(&pointer);
        assert!(
            validated.status.success(),
            "{host}: {}",
            String::from_utf8_lossy(&validated.stderr)
        );
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
        for file in ["ign", "ipxe", "pointer.ign", "pointer.img"] {
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

/// The arguments of the `kernel` line of an iPXE script.
fn kernel_args(script: &str) -> Vec<String> {
    let line = script
        .lines()
        .find(|l| l.starts_with("kernel "))
        .expect("a kernel line");
    line.split_whitespace()
        .skip(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_ipxe_script_of_an_installing_host_gives_the_live_system_no_config() {
    let project = example_project();
    run_ok(coregen(project.path()).args(["pxe", "--all"]));
    let base = "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/42.20250901.3.0/x86_64/fedora-coreos-42.20250901.3.0";
    for host in HOSTS {
        let script = fs::read_to_string(project.path().join(format!("out/{host}.ipxe"))).unwrap();
        assert!(script.starts_with("#!ipxe\n"));
        assert!(script.contains(&format!("\nkernel {base}-live-kernel.x86_64 ")));
        assert!(script.contains(&format!(
            "\ninitrd --name main {base}-live-initramfs.x86_64.img\n"
        )));
        assert!(script.ends_with("\nboot\n"));
        let args = kernel_args(&script);
        // The live system only installs: no config of its own (it would
        // mint a token for nothing and start units without certificates),
        // and the installer embeds the secret-free pointer, not the config.
        assert!(
            !args.iter().any(|a| a.starts_with("ignition.config.url")),
            "{host}: {args:?}"
        );
        for expected in [
            "initrd=main".to_string(),
            format!("coreos.live.rootfs_url={base}-live-rootfs.x86_64.img"),
            "ignition.firstboot".into(),
            "ignition.platform.id=metal".into(),
            "console=tty0".into(),
            "console=ttyS0,115200n8".into(),
            "coreos.inst.install_dev=/dev/vda".into(),
            format!("coreos.inst.ignition_url=http://10.0.0.2:8080/pointer/{host}.ign?spec=3.4.0"),
        ] {
            let count = args.iter().filter(|a| **a == expected).count();
            assert_eq!(count, 1, "{host}: {expected} in {args:?}");
        }
        assert_eq!(args.len(), 8, "{host}: {args:?}");
    }
}

#[test]
fn the_ipxe_script_of_a_live_only_host_gives_the_live_system_the_pointer() {
    let project = example_project();
    edit_file(
        project.path(),
        "hosts/node2.toml",
        "install_disk = \"/dev/vda\"\n",
        "",
    );
    run_ok(coregen(project.path()).args(["pxe", "--host", "node2"]));
    let script = fs::read_to_string(project.path().join("out/node2.ipxe")).unwrap();
    let args = kernel_args(&script);
    assert!(
        args.contains(
            &"ignition.config.url=http://10.0.0.2:8080/pointer/node2.ign?spec=3.4.0".into()
        ),
        "{args:?}"
    );
    assert!(
        !args.iter().any(|a| a.starts_with("coreos.inst.")),
        "{args:?}"
    );
    assert_eq!(args.len(), 7, "{args:?}");

    // The live system is where it enrolls: its enrollment unit neither
    // skips nor refuses the live system.
    let out =
        run_ok(coregen(project.path()).args(["render", "--host", "node2", "--redact", "--stdout"]));
    let unit = unit_in_config(&String::from_utf8(out.stdout).unwrap(), ENROLL_UNIT);
    assert!(!unit.contains("KernelCommandLine"), "{unit}");
}

/// The contents of unit `name` in an Ignition config.
fn unit_in_config(config: &str, name: &str) -> String {
    let config: serde_json::Value = serde_json::from_str(config).unwrap();
    config["systemd"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
        .and_then(|u| u["contents"].as_str())
        .unwrap_or_else(|| panic!("no unit {name} with contents"))
        .to_string()
}

#[test]
fn serve_gives_the_same_boot_files_over_plain_http() {
    if !needs(&["curl"]) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &["--http-listen", "127.0.0.1:0"]);
    let http = |path: &str| {
        let (status, body) = serve.http(path);
        assert_eq!(status, 200, "{path}: {body}");
        body
    };

    // The chain script names the plain-HTTP URL of cluster.toml's [boot],
    // where hosts reach this endpoint.
    let chain = http("/boot.ipxe");
    assert!(chain.starts_with("#!ipxe\n"), "{chain}");
    assert!(
        chain.contains("\nchain http://10.0.0.2:8080/ipxe?mac=${net0/mac}&uuid=${uuid}\n"),
        "{chain}"
    );

    // Written with the same URL as serve answers on.
    edit_file(
        project.path(),
        "hosts/cluster.toml",
        "https://10.0.0.2:8443",
        &serve.url,
    );
    run_ok(coregen(project.path()).args(["pxe", "--host", "node2"]));
    let script = http("/ipxe?mac=52:54:00:c0:4e:12");
    assert_eq!(
        script,
        fs::read_to_string(project.path().join("out/node2.ipxe")).unwrap()
    );

    let served: serde_json::Value = serde_json::from_str(&http("/pointer/node2.ign")).unwrap();
    let written: serde_json::Value =
        serde_json::from_slice(&fs::read(project.path().join("out/node2.pointer.ign")).unwrap())
            .unwrap();
    assert_eq!(served, written);
    assert!(!serde_json::to_string(&served).unwrap().contains("cgt1."));
}

#[test]
fn the_installed_system_fetches_its_config_through_the_pointer_and_etcd_waits_for_enrollment() {
    if !needs(&[IGNITION, "curl"]) {
        return;
    }
    let project = fresh_project();
    let serve = Serve::start(project.path(), &["--http-listen", "127.0.0.1:0"]);
    let plain = serve.plain.clone().unwrap();
    let cluster = "hosts/cluster.toml";
    edit_file(project.path(), cluster, "https://10.0.0.2:8443", &serve.url);
    edit_file(
        project.path(),
        cluster,
        "http://10.0.0.2:8080",
        &format!("http://{plain}"),
    );
    run_ok(coregen(project.path()).args(["pxe", "--host", "node1", "--spec", "3.3.0"]));
    let script = fs::read_to_string(project.path().join("out/node1.ipxe")).unwrap();
    let args = kernel_args(&script);
    assert!(
        !args.iter().any(|a| a.starts_with("ignition.config.url")),
        "{args:?}"
    );
    let url = args
        .iter()
        .find_map(|a| a.strip_prefix("coreos.inst.ignition_url="))
        .expect("coreos.inst.ignition_url");
    assert_eq!(url, format!("http://{plain}/pointer/node1.ign?spec=3.3.0"));

    // What coreos-installer does with it: fetch it (plain HTTP is fine, it
    // holds no secret) and embed it as the installed system's config.
    let (status, pointer) = curl(url, &[]);
    assert_eq!(status, 200, "{pointer}");
    assert!(!pointer.contains("cgt1."), "a token in the pointer");
    let installed = project.path().join("installed.ign");
    fs::write(&installed, &pointer).unwrap();

    // The installed system's first boot: the real Ignition engine follows
    // the pointer over verified TLS, then writes the files.
    let scratch = ScratchRoot::fetched(&installed, &serve);
    let root = scratch.root();
    let read = |rel: &str| fs::read_to_string(root.join(rel)).unwrap();
    assert!(read("etc/coregen/enroll.env").contains("\nCOREGEN_TOKEN='cgt1."));
    let preset = read("etc/systemd/system-preset/20-ignition.preset");
    for unit in [ENROLL_UNIT, "etcd-member.service"] {
        assert!(preset.contains(&format!("enable {unit}\n")), "{preset}");
    }

    // etcd starts after the enrollment, and only once its marker is there.
    let etcd = read("etc/systemd/system/etcd-member.service");
    for line in [
        "After=network-online.target coregen-enroll.service".to_string(),
        "Requires=coregen-enroll.service".into(),
        format!("ConditionPathExists={ENROLL_MARKER}"),
    ] {
        assert!(etcd.lines().any(|l| l == line), "{line} not in:\n{etcd}");
    }
    // The enrollment is skipped only when it is done, and refuses a live
    // system (a failed assertion fails the units that require it, where a
    // skipped condition would count as a success).
    let enroll = read(&format!("etc/systemd/system/{ENROLL_UNIT}"));
    for line in [
        format!("ConditionPathExists=!{ENROLL_MARKER}"),
        "AssertKernelCommandLine=!coreos.live.rootfs_url".into(),
        "AssertKernelCommandLine=!coreos.liveiso".into(),
        "Restart=on-failure".into(),
        "RestartPreventExitStatus=2".into(),
    ] {
        assert!(
            enroll.lines().any(|l| l == line),
            "{line} not in:\n{enroll}"
        );
    }
    let conditions: Vec<&str> = enroll
        .lines()
        .filter(|l| l.starts_with("Condition"))
        .collect();
    assert_eq!(
        conditions,
        [format!("ConditionPathExists=!{ENROLL_MARKER}")],
        "no other way to skip it"
    );
}

#[test]
fn pxe_without_a_server_fails_before_it_creates_or_writes_anything() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    // `init` writes a project with the `http` CA declared and no [server].
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_coregen"))
            .arg("init")
            .arg(&project),
    );
    assert!(!project.join("pki").exists() && !project.join("out").exists());

    let out = coregen(&project).args(["pxe", "--all"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("hosts/cluster.toml") && stderr.contains("[server]"),
        "{stderr}"
    );
    assert!(!project.join("pki").exists(), "a CA was created: {stderr}");
    assert!(!project.join("out").exists(), "out/ was created");
    assert!(out.stdout.is_empty());
}
