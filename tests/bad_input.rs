//! Each kind of bad input gives an error that names the file, line and key,
//! exits non-zero, and leaves `out/` exactly as it was.

mod common;

use std::fs;
use std::path::Path;

use common::{coregen, edit_file, example_project, run_err, run_ok, snapshot_tree, write_file};

/// Renders the example once, applies `edit`, renders again with `args`, and
/// checks that this fails with every one of `expected` in its message while
/// out/ keeps the first render's files byte for byte.
fn assert_rejected(edit: impl FnOnce(&Path), args: &[&str], expected: &[&str]) {
    let project = example_project();
    let dir = project.path();
    run_ok(coregen(dir).args(["render", "--all"]));
    let before = snapshot_tree(&dir.join("out"));
    // Four configs, the run's generation stamp and the lock of out/.
    assert_eq!(before.len(), 6);

    edit(dir);
    let mut cmd = coregen(dir);
    cmd.arg("render");
    if !args.iter().any(|a| a.starts_with("--host")) {
        cmd.arg("--all");
    }
    let stderr = run_err(cmd.args(args));
    for part in expected {
        assert!(
            stderr.contains(part),
            "expected {part:?} in the error, got:\n{stderr}"
        );
    }
    if stderr.starts_with("coregen: error:") {
        assert_eq!(stderr.lines().count(), 1, "one line per error:\n{stderr}");
    }
    assert_eq!(before, snapshot_tree(&dir.join("out")), "out/ changed");
}

#[test]
fn toml_syntax_error() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/node1.toml",
                "ip = \"10.0.0.11\"",
                "ip = \"10.0.0.11",
            )
        },
        &[],
        &["hosts/node1.toml:2:16: ip: invalid basic string"],
    );
}

#[test]
fn unknown_key_suggests_the_right_one() {
    assert_rejected(
        |d| edit_file(d, "hosts/node1.toml", "groups =", "grups ="),
        &[],
        &["hosts/node1.toml:1:1: grups: unknown key `grups` (did you mean `groups`?)"],
    );
}

#[test]
fn unknown_key_in_a_nested_table() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/etcd.toml",
                "enabled = true",
                "enable = true",
            )
        },
        &[],
        &[
            "hosts/groups/etcd.toml:8:1: units[0].enable: unknown key `enable` (did you mean `enabled`?)",
        ],
    );
}

#[test]
fn group_that_does_not_exist() {
    assert_rejected(
        |d| edit_file(d, "hosts/node2.toml", "[\"etcd\"]", "[\"etcdd\"]"),
        &[],
        &[
            "hosts/node2.toml:1:11: groups[0]: no group `etcdd`",
            "did you mean `etcd`?",
        ],
    );
}

#[test]
fn template_that_does_not_exist() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/etcd.toml",
                "template = \"etcd-member.service\"",
                "template = \"etcd-membr.service\"",
            )
        },
        &[],
        &[
            "hosts/groups/etcd.toml:7:12: units[0].template: no template `etcd-membr.service`",
            "did you mean `etcd-member.service`?",
        ],
    );
}

#[test]
fn undefined_template_variable() {
    assert_rejected(
        |d| {
            write_file(
                d,
                "templates/zincati-updates.toml.hbs",
                "[updates]\nstrategy = \"{{vars.update_strategy}}\"\n",
            )
        },
        &[],
        &[
            "templates/zincati-updates.toml.hbs:2:",
            "undefined variable `vars.update_strategy`",
            "while rendering files[0] for host `node1`, declared at ",
            "hosts/groups/all.toml:5:1)",
        ],
    );
}

#[test]
fn same_file_path_twice_in_one_file() {
    assert_rejected(
        |d| {
            let extra = "\n[[files]]\npath = \"/etc/modules-load.d/coregen-worker.conf\"\ncontents = \"x\\n\"\n";
            let path = d.join("hosts/groups/worker.toml");
            let mut text = fs::read_to_string(&path).unwrap();
            // Before the [[units]] table, so the new entry is a file.
            let at = text.find("[[units]]").unwrap();
            text.insert_str(at, &extra[1..]);
            fs::write(path, text).unwrap();
        },
        &[],
        &[
            "hosts/groups/worker.toml:15:1: files[2]: file /etc/modules-load.d/coregen-worker.conf is declared twice in this file",
        ],
    );
}

#[test]
fn invalid_unit_name() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/etcd.toml",
                "name = \"etcd-member.service\"",
                "name = \"etcd member.service\"",
            )
        },
        &[],
        &["hosts/groups/etcd.toml:6:8: units[0].name: invalid unit name \"etcd member.service\""],
    );
}

#[test]
fn relative_file_path() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/worker.toml",
                "\"/etc/sysctl.d/90-coregen-worker.conf\"",
                "\"etc/sysctl.d/90-coregen-worker.conf\"",
            )
        },
        &[],
        &[
            "hosts/groups/worker.toml:5:8: files[0].path: path \"etc/sysctl.d/90-coregen-worker.conf\" is relative",
        ],
    );
}

#[test]
fn invalid_mode() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/etcd.toml",
                "mode = \"0700\"",
                "mode = \"0799\"",
            )
        },
        &[],
        &["hosts/groups/etcd.toml:12:8: directories[0].mode: invalid mode \"0799\""],
    );
}

#[test]
fn mode_as_a_decimal_integer() {
    assert_rejected(
        |d| edit_file(d, "hosts/groups/all.toml", "mode = \"0644\"", "mode = 644"),
        &[],
        &[
            "hosts/groups/all.toml:11:8: files[1].mode:",
            "a mode as a string of octal digits, such as \"0644\"",
        ],
    );
}

#[test]
fn bad_mac() {
    assert_rejected(
        |d| edit_file(d, "hosts/node3.toml", "52:54:00:c0:4e:13", "52:54:00:c0:4e"),
        &[],
        &["hosts/node3.toml:3:7: mac: \"52:54:00:c0:4e\" is not a MAC address"],
    );
}

#[test]
fn bad_ip() {
    assert_rejected(
        |d| edit_file(d, "hosts/node3.toml", "10.0.0.13", "10.0.0.300"),
        &[],
        &["hosts/node3.toml:2:6: ip: invalid IP address syntax"],
    );
}

#[test]
fn duplicate_mac() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/node3.toml",
                "52:54:00:c0:4e:13",
                "52:54:00:c0:4e:12",
            )
        },
        &[],
        &[
            "hosts/node3.toml:3:7: mac: 52:54:00:c0:4e:12 is also a MAC address of host `node2` (",
            "hosts/node2.toml:3:7)",
        ],
    );
}

#[test]
fn invalid_host_name() {
    assert_rejected(
        |d| {
            fs::copy(d.join("hosts/node4.toml"), d.join("hosts/Node_5.toml"))
                .map(drop)
                .unwrap()
        },
        &[],
        &["hosts/Node_5.toml: file name: \"Node_5\" is not a valid host name"],
    );
}

#[test]
fn host_that_does_not_exist() {
    assert_rejected(
        |_| {},
        &["--host", "node9"],
        &["no host `node9` in", "(did you mean `node"],
    );
}

#[test]
fn unsupported_spec_version_in_cluster_toml() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/cluster.toml",
                "spec = \"3.4.0\"",
                "spec = \"3.1.0\"",
            )
        },
        &[],
        &[
            "hosts/cluster.toml:5:8: spec: unsupported Ignition spec version \"3.1.0\": coregen writes 3.3.0, 3.4.0 and 3.5.0",
        ],
    );
}

#[test]
fn unsupported_spec_version_on_the_command_line() {
    assert_rejected(
        |_| {},
        &["--spec", "2.2.0"],
        &[
            "invalid value '2.2.0' for '--spec <VERSION>'",
            "coregen writes 3.3.0, 3.4.0 and 3.5.0",
        ],
    );
}

#[test]
fn field_the_chosen_spec_lacks() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/all.toml",
                "mode = \"0644\"",
                "mode = \"4755\"",
            )
        },
        &["--spec", "3.3.0"],
        &[
            "hosts/groups/all.toml:9:1: files[1].mode: mode 4755 has setuid, setgid or sticky bits, which Ignition spec 3.3.0 lacks",
        ],
    );
}

#[test]
fn both_template_and_contents() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/all.toml",
                "template = \"zincati-updates.toml\"",
                "template = \"zincati-updates.toml\"\ncontents = \"x\"",
            )
        },
        &[],
        &[
            "hosts/groups/all.toml:8:12: files[0].contents: give either `template` or `contents`, not both",
        ],
    );
}

#[test]
fn host_only_key_in_a_group_file() {
    assert_rejected(
        |d| {
            let path = d.join("hosts/groups/worker.toml");
            let text = fs::read_to_string(&path).unwrap();
            fs::write(path, format!("ip = \"10.0.0.99\"\n{text}")).unwrap();
        },
        &[],
        &["hosts/groups/worker.toml:1:6: ip: this key belongs in a host file, not in a group file"],
    );
}

#[test]
fn template_syntax_error() {
    assert_rejected(
        |d| {
            write_file(
                d,
                "templates/zincati-updates.toml.hbs",
                "a\n{{#if vars}}\nb\n",
            )
        },
        &[],
        &[
            "templates/zincati-updates.toml.hbs:4:1: template `zincati-updates.toml` does not \
             compile: invalid handlebars syntax: a block opened with `{{#...}}` is not closed",
        ],
    );
    // One line, in words, not the parser's list of grammar rules.
    let project = example_project();
    let dir = project.path();
    write_file(
        dir,
        "templates/zincati-updates.toml.hbs",
        "a {{foo bar=}} b\n",
    );
    let err = run_err(coregen(dir).arg("validate"));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("zincati-updates.toml.hbs:1:13:"), "{err}");
    assert!(
        !err.contains("helper_parameter") && !err.contains("expected"),
        "{err}"
    );
}

// Butane snippets: each error names the snippet's file, line and column,
// and where the inventory lists it.

/// Replaces node4's own snippet (templates/lb.bu.hbs) with `text`.
fn node4_snippet(d: &Path, text: &str) {
    write_file(d, "templates/lb.bu.hbs", text);
}

#[test]
fn snippet_that_does_not_exist() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/worker.toml",
                "\"worker.bu\"",
                "\"wrker.bu\"",
            )
        },
        &[],
        &[
            "hosts/groups/worker.toml:2:11: butane[0]: no Butane snippet ",
            "/templates/wrker.bu",
        ],
    );
}

#[test]
fn snippet_name_that_leaves_templates() {
    assert_rejected(
        |d| {
            edit_file(
                d,
                "hosts/groups/worker.toml",
                "\"worker.bu\"",
                "\"../hosts/x.bu\"",
            )
        },
        &[],
        &[
            "hosts/groups/worker.toml:2:11: butane[0]: \"../hosts/x.bu\" is not a file name in \
             templates/",
        ],
    );
}

#[test]
fn snippet_with_a_butane_error() {
    assert_rejected(
        |d| {
            node4_snippet(
                d,
                "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/x\n",
            )
        },
        &[],
        &[
            "templates/lb.bu.hbs:5:13: $.storage.files.0.path: error: path not absolute \
             (Butane snippet of host `node4`, listed at ",
            "hosts/node4.toml:5:11)",
        ],
    );
}

#[test]
fn snippet_warnings_are_errors() {
    assert_rejected(
        |d| {
            node4_snippet(
                d,
                "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/x\n      \
                 mdoe: 0644\n",
            )
        },
        &[],
        &["templates/lb.bu.hbs:6:7: $.storage.files.0.mdoe: warning: unused key mdoe"],
    );
}

#[test]
fn snippet_yaml_error() {
    assert_rejected(
        |d| node4_snippet(d, "variant: fcos\nversion: 1.4.0\nstorage: [\n"),
        &[],
        &[
            "templates/lb.bu.hbs: Error unmarshaling yaml: yaml: line 3: did not find expected \
             node content",
        ],
    );
}

#[test]
fn snippet_newer_than_the_host_spec() {
    assert_rejected(
        |d| node4_snippet(d, "# a snippet\nvariant: fcos\nversion: 1.6.0\n"),
        &[],
        &[
            "templates/lb.bu.hbs:3:10: $.version: fcos 1.6.0 translates to Ignition spec 3.5.0, \
             newer than the 3.4.0 that host `node4` renders",
        ],
    );
}

#[test]
fn snippet_that_sets_the_hostname() {
    assert_rejected(
        |d| {
            node4_snippet(
                d,
                "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/motd\n    \
                 - path: /etc/hostname\n      contents:\n        inline: evil\n",
            )
        },
        &[],
        &[
            "templates/lb.bu.hbs:6:13: $.storage.files.1.path: /etc/hostname is the hostname, \
             which coregen writes itself: a Butane snippet may not set it",
        ],
    );
}

#[test]
fn snippet_that_touches_the_enrollment_or_the_anchors() {
    for (snippet, expected) in [
        (
            "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - name: coregen-enroll.service\n      \
             mask: true\n",
            "templates/lb.bu.hbs:5:13: $.systemd.units.0.name: coregen-enroll.service is the \
             first-boot enrollment",
        ),
        (
            "variant: fcos\nversion: 1.4.0\nsystemd:\n  units:\n    - name: coregen-renew.timer\n      \
             mask: true\n",
            "templates/lb.bu.hbs:5:13: $.systemd.units.0.name: coregen-renew.timer is the \
             certificate renewal",
        ),
        (
            "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: \
             /usr/local/lib/coregen/lib.sh\n",
            "templates/lb.bu.hbs:5:13: $.storage.files.0.path: \
             /usr/local/lib/coregen/lib.sh is a script of the enrollment or the renewal",
        ),
        (
            "variant: fcos\nversion: 1.4.0\nstorage:\n  links:\n    - path: \
             /etc/pki/ca-trust/source/anchors/coregen-http.crt\n      target: /dev/null\n",
            "templates/lb.bu.hbs:5:13: $.storage.links.0.path: \
             /etc/pki/ca-trust/source/anchors/coregen-http.crt is a CA anchor",
        ),
        (
            "variant: fcos\nversion: 1.4.0\nstorage:\n  directories:\n    - path: /etc/coregen\n",
            "templates/lb.bu.hbs:5:13: $.storage.directories.0.path: /etc/coregen is the \
             first-boot enrollment",
        ),
        (
            "variant: fcos\nversion: 1.4.0\nignition:\n  config:\n    replace:\n      source: \
             https://example.com/x.ign\n",
            "templates/lb.bu.hbs:6:7: $.ignition.config.replace: a Butane snippet may not \
             replace the whole config (ignition.config.replace)",
        ),
    ] {
        assert_rejected(|d| node4_snippet(d, snippet), &[], &[expected]);
    }
}

#[test]
fn snippet_template_with_an_undefined_variable() {
    assert_rejected(
        |d| {
            node4_snippet(
                d,
                "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/x\n      \
                 contents:\n        inline: {{vars.nope}}\n",
            )
        },
        &[],
        &[
            "templates/lb.bu.hbs:7:17: undefined variable `vars.nope`",
            "(rendering Butane snippet ",
        ],
    );
}

#[test]
fn snippet_local_file_outside_templates() {
    assert_rejected(
        |d| {
            write_file(d, "secret.txt", "not for hosts\n");
            node4_snippet(
                d,
                "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/x\n      \
                 contents:\n        local: ../secret.txt\n",
            )
        },
        &[],
        &[
            "templates/lb.bu.hbs:7:16: $.storage.files.0.contents.local: error: local file path \
             traverses outside the files directory",
        ],
    );
}

#[test]
fn validate_reports_snippet_errors() {
    let project = example_project();
    let dir = project.path();
    node4_snippet(
        dir,
        "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: x\n",
    );
    let stderr = run_err(coregen(dir).arg("validate"));
    assert!(
        stderr
            .contains("templates/lb.bu.hbs:5:13: $.storage.files.0.path: error: path not absolute"),
        "{stderr}"
    );
}

/// Each way an SSH key line can be something else than a public key.
#[test]
fn ssh_key_that_is_not_a_public_key() {
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0n1m4j7pX0mHcS3y2C0b2wN8Qn1Qm3cV9dZQkq7sE \
               ops@corebernetes";
    // An RSA key's blob under the ed25519 type, by its first bytes.
    let rsa_blob = "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQC7";
    for (bad, expected) in [
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "this is a private key",
        ),
        ("ssh-ed25519", "not an SSH public key line"),
        ("ssh-foo AAAA", "not an SSH public key type"),
        ("ssh-ed25519 !!!notbase64", "does not decode"),
        (rsa_blob, "is not a ssh-ed25519 key"),
    ] {
        assert_rejected(
            |d| edit_file(d, "hosts/cluster.toml", key, bad),
            &[],
            &["hosts/cluster.toml:9:", "ssh_authorized_keys", expected],
        );
    }
}

/// Profiles need the `http` CA, and `validate` says so (not first `serve`).
#[test]
fn profiles_without_the_http_ca() {
    let project = example_project();
    let dir = project.path();
    let cluster = fs::read_to_string(dir.join("hosts/cluster.toml")).unwrap();
    let start = cluster.find("[ca.http]").unwrap();
    let end = start + cluster[start..].find("\n\n").unwrap();
    let without = format!("{}{}", &cluster[..start], &cluster[end..])
        .replace("ca = \"http\"", "ca = \"etcd\"");
    fs::write(dir.join("hosts/cluster.toml"), without).unwrap();
    let err = run_err(coregen(dir).arg("validate"));
    assert!(err.contains("need the `http` CA ([ca.http]"), "{err}");
    assert!(err.contains("hosts/groups/all.toml:"), "{err}");
}

/// What sits in hosts/ and is not read is named in a warning; the
/// inventory still loads.
#[test]
fn files_in_hosts_that_are_not_loaded_are_warned_about() {
    let project = example_project();
    let dir = project.path();
    write_file(dir, "hosts/node5.yaml", "name: node5\n");
    write_file(dir, "hosts/old/node9.toml", "ip = \"10.0.0.19\"\n");
    write_file(dir, "hosts/groups/etcd.toml.bak", "");
    write_file(dir, "hosts/.node1.toml.swp", "");
    let out = run_ok(coregen(dir).arg("validate"));
    let warnings = String::from_utf8_lossy(&out.stderr);
    for path in [
        "hosts/node5.yaml",
        "hosts/old",
        "hosts/groups/etcd.toml.bak",
    ] {
        assert!(
            warnings.lines().any(|l| l.starts_with("coregen: warning: ")
                && l.contains(path)
                && l.contains("not loaded")),
            "{path}: {warnings}"
        );
    }
    assert!(
        !warnings.contains(".swp"),
        "hidden files are an editor's: {warnings}"
    );
}

/// An owner that nothing creates on the host is warned about: Ignition
/// would fail at first boot. One that a snippet's passwd creates is not.
#[test]
fn owners_that_nothing_creates_are_warned_about() {
    let project = example_project();
    let dir = project.path();
    let node3 = fs::read_to_string(dir.join("hosts/node3.toml")).unwrap();
    let with_owners = node3.replace(
        "\n[vars]",
        "\n[[directories]]\npath = \"/var/lib/etcd\"\nmode = \"0700\"\nuser = \"etcd\"\n\n\
         [[directories]]\npath = \"/var/lib/mine\"\nmode = \"0700\"\nuser = \"core\"\ngroup = \"wheel2\"\n\n[vars]",
    );
    fs::write(dir.join("hosts/node3.toml"), with_owners).unwrap();
    let out = run_ok(coregen(dir).arg("validate"));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("warning: host node3: /var/lib/etcd belongs to user `etcd`"),
        "{said}"
    );
    assert!(
        said.contains("/var/lib/mine belongs to group `wheel2`"),
        "{said}"
    );
    assert!(!said.contains("`core`"), "{said}");
    // node4's snippet creates its own user for its own directory.
    assert!(!said.contains("host node4"), "{said}");
}
