//! The rendered configs checked by the real Ignition tools from Debian's
//! `ignition` package: `ignition-validate`, and the Ignition engine applying
//! a config to a scratch root, whose result is then read back from disk.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{
    IGNITION, REPO, coregen, example_project, ignition_validate, needs, render_and_apply, run_ok,
};

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn ignition_validate_accepts_every_example_host() {
    if !needs(&["ignition-validate"]) {
        return;
    }
    let project = example_project();
    // Debian's ignition-validate (2.14) knows specs up to 3.3.0.
    run_ok(coregen(project.path()).args(["render", "--all", "--spec", "3.3.0"]));
    for host in ["node1", "node2", "node3", "node4"] {
        let path = project.path().join(format!("out/{host}.ign"));
        let out = ignition_validate(&path);
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "ignition-validate rejects {host}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn ignition_validate_rejects_a_broken_config() {
    // The check above is only worth something if the tool says no.
    if !needs(&["ignition-validate"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ign");
    fs::write(
        &path,
        r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"relative"}]}}"#,
    )
    .unwrap();
    let out = ignition_validate(&path);
    assert!(!out.status.success());
}

#[test]
fn the_ignition_engine_applies_node1() {
    if !needs(&[IGNITION]) {
        return;
    }
    let project = example_project();
    let (_, scratch) = render_and_apply(project.path(), "node1", &[]);
    let root = scratch.root();

    assert_eq!(read(&root.join("etc/hostname")), "node1\n");
    assert_eq!(mode(&root.join("etc/hostname")), 0o644);

    for ca in ["http", "etcd"] {
        let anchor = root.join(format!("etc/pki/ca-trust/source/anchors/coregen-{ca}.crt"));
        let fixture = Path::new(REPO).join(format!("tests/fixtures/pki/{ca}/ca.crt"));
        assert_eq!(fs::read(&anchor).unwrap(), fs::read(fixture).unwrap());
        assert_eq!(mode(&anchor), 0o644);
    }

    let zincati = root.join("etc/zincati/config.d/55-updates-strategy.toml");
    assert_eq!(
        read(&zincati),
        "# Zincati update strategy for node1, rendered by coregen.\n\
         # Hosts reboot for updates only inside their window; give etcd members\n\
         # different windows so that the cluster keeps its quorum.\n\
         [updates]\n\
         strategy = \"periodic\"\n\
         \n\
         [[updates.periodic.window]]\n\
         days = [ \"Sat\", \"Sun\" ]\n\
         start_time = \"22:30\"\n\
         length_minutes = 60\n"
    );
    assert_eq!(
        read(&root.join("etc/profile.d/coregen-prompt.sh")),
        "# Show the cluster in the prompt, so that nobody types into the wrong one.\n\
         PS1='[\\u@\\h.corebernetes \\W]\\$ '\n"
    );

    for dir in ["var/lib/etcd", "etc/etcd/pki"] {
        assert!(root.join(dir).is_dir());
        assert_eq!(mode(&root.join(dir)), 0o700, "{dir}");
    }

    let unit = read(&root.join("etc/systemd/system/etcd-member.service"));
    let template = read(&Path::new(REPO).join("templates/etcd-member.service.hbs"));
    assert_eq!(unit.lines().count(), template.lines().count());
    assert!(
        unit.starts_with("# etcd member node1 of cluster corebernetes, rendered by coregen.\n")
    );
    assert!(unit.contains(
        "  --initial-cluster node1=https://10.0.0.11:2380,node2=https://10.0.0.12:2380,node3=https://10.0.0.13:2380 \\\n"
    ));
    assert!(unit.contains("  --listen-peer-urls https://10.0.0.11:2380 \\\n"));
    assert!(unit.contains("  quay.io/coreos/etcd:v3.5.17 /usr/local/bin/etcd \\\n"));
    assert!(
        !unit.contains("{{"),
        "unrendered template syntax left:\n{unit}"
    );
    // Ignition writes the preset lines in no fixed order.
    let preset = read(&root.join("etc/systemd/system-preset/20-ignition.preset"));
    let mut lines: Vec<&str> = preset.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "enable coregen-enroll.service",
            "enable coregen-renew.timer",
            "enable etcd-member.service"
        ]
    );

    // The first-boot enrollment: script, settings with a fresh token, unit.
    let script = root.join("usr/local/bin/coregen-enroll");
    let template = read(&Path::new(REPO).join("templates/coregen-enroll.hbs"));
    assert_eq!(read(&script), template);
    assert_eq!(mode(&script), 0o755);
    let env_path = root.join("etc/coregen/enroll.env");
    let env = read(&env_path);
    assert_eq!(mode(&env_path), 0o600);
    assert!(
        env.contains("\nCOREGEN_URL='https://10.0.0.2:8443'\n"),
        "{env}"
    );
    assert!(env.contains("\nCOREGEN_TOKEN='cgt1."), "{env}");
    assert!(env.contains("\nCOREGEN_PROFILE_COUNT='4'\n"), "{env}");
    let unit = read(&root.join("etc/systemd/system/coregen-enroll.service"));
    assert!(unit.contains("ExecStart=/usr/local/bin/coregen-enroll\n"));

    // The renewal: its script, the library both scripts source, its unit
    // and timer.
    for (path, template, file_mode) in [
        ("usr/local/bin/coregen-renew", "coregen-renew", 0o755),
        ("usr/local/lib/coregen/lib.sh", "coregen-lib.sh", 0o644),
    ] {
        let file = root.join(path);
        let text = read(&Path::new(REPO).join(format!("templates/{template}.hbs")));
        assert_eq!(read(&file), text);
        assert_eq!(mode(&file), file_mode);
    }
    let unit = read(&root.join("etc/systemd/system/coregen-renew.service"));
    assert!(unit.contains("ExecStart=/usr/local/bin/coregen-renew\n"));
    assert!(unit.contains("ConditionPathExists=/var/lib/coregen/enrolled\n"));
    let timer = read(&root.join("etc/systemd/system/coregen-renew.timer"));
    assert!(timer.contains("RandomizedDelaySec=15min\n"), "{timer}");

    let keys = root.join("home/core/.ssh/authorized_keys.d/ignition");
    assert_eq!(
        read(&keys),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0n1m4j7pX0mHcS3y2C0b2wN8Qn1Qm3cV9dZQkq7sE ops@corebernetes\n"
    );
    assert_eq!(mode(&keys), 0o600);
}

#[test]
fn the_ignition_engine_applies_node4_drop_ins() {
    if !needs(&[IGNITION]) {
        return;
    }
    let project = example_project();
    let (_, scratch) = render_and_apply(project.path(), "node4", &[]);
    let root = scratch.root();

    assert_eq!(
        read(&root.join("etc/systemd/system/zincati.service.d/50-worker.conf")),
        "[Service]\nEnvironment=ZINCATI_VERBOSITY=\"-v\"\n"
    );
    // A drop-in only: the unit itself is the one the OS ships.
    assert!(!root.join("etc/systemd/system/zincati.service").exists());
    assert_eq!(
        read(&root.join("etc/sysctl.d/90-coregen-worker.conf")),
        "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n"
    );
    assert_eq!(
        read(&root.join("etc/modules-load.d/coregen-worker.conf")),
        "br_netfilter\n"
    );
    assert!(!root.join("etc/systemd/system/etcd-member.service").exists());

    // node4's Butane snippets: its own (templates/lb.bu.hbs, rendered for
    // it) and its group's (templates/worker.bu).
    assert_eq!(
        read(&root.join("etc/haproxy/haproxy.cfg")),
        "global\n  log stdout format raw local0\ndefaults\n  mode tcp\n  timeout connect 5s\n  \
         timeout client 1h\n  timeout server 1h\nfrontend kube-api\n  bind 10.0.0.14:6443\n  \
         default_backend control-plane\nbackend control-plane\n  balance roundrobin\n  \
         server node1 10.0.0.11:6443 check\n  server node2 10.0.0.12:6443 check\n  \
         server node3 10.0.0.13:6443 check\n"
    );
    assert!(
        read(&root.join("etc/systemd/system/haproxy.service")).contains(
            "ExecStart=/usr/bin/podman run --rm --name haproxy --net host \\\n  -v /etc/haproxy:"
        )
    );
    assert_eq!(
        read(&root.join("etc/systemd/system/podman-prune.timer")),
        "[Unit]\nDescription=Remove unused container images weekly\n\n[Timer]\nOnCalendar=weekly\n\
         Persistent=true\n\n[Install]\nWantedBy=timers.target\n"
    );
    let presets = read(&root.join("etc/systemd/system-preset/20-ignition.preset"));
    for unit in ["haproxy.service", "podman-prune.timer"] {
        assert!(presets.contains(&format!("enable {unit}")), "{presets}");
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let builder = std::fs::metadata(root.join("var/lib/builder")).unwrap();
    assert!(builder.is_dir());
    assert_eq!(builder.permissions().mode() & 0o7777, 0o750);
    assert_eq!(builder.uid(), 1500, "owned by the snippet's user");
}
