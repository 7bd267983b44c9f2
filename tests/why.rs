//! `coregen show --host H --why`: for a small project whose file is set by
//! the group `all`, replaced by another group and again by the host, with a
//! unit from a template and its drop-ins, kernel arguments from groups, the
//! host and a Butane snippet, a snippet's file and coregen's own entries,
//! each entry names the layer that set it and the ones it overrode.

mod common;

use common::{coregen, project_of, run_err, run_ok};

const CLUSTER: &str = r#"name = "why"

[ca.http]
usages = ["server-auth"]

[profiles.https]
ca = "http"
usages = ["server-auth"]
common_name = "{{host.name}}"
key_path = "/etc/pki/coregen/https.key"
cert_path = "/etc/pki/coregen/https.crt"
ca_path = "/etc/pki/coregen/http-ca.crt"

[server]
url = "https://10.0.0.2:8443"
"#;

const ALL: &str = r#"kernel_arguments.should_exist = ["console=tty0"]

[[files]]
path = "/etc/motd"
contents = "from all\n"
"#;

const WEB: &str = r#"butane = ["web.bu"]
kernel_arguments.should_exist = ["quiet"]

[[files]]
path = "/etc/motd"
contents = "from web\n"

[[units]]
name = "web.service"
template = "web.service"
enabled = true

[[units.dropins]]
name = "20-limits.conf"
contents = "[Service]\nLimitNOFILE=65536\n"

[[units.dropins]]
name = "30-env.conf"
contents = "[Service]\nEnvironment=MODE=group\n"
"#;

const NODE1: &str = r#"groups = ["web"]
profiles = ["https"]
kernel_arguments.should_exist = ["console=tty0", "console=ttyS0,115200n8", "quiet"]
kernel_arguments.should_not_exist = ["mitigations=auto"]

[[files]]
path = "/etc/motd"
contents = "from node1\n"

[[units]]
name = "web.service"
template = "web.service"
enabled = true

[[units.dropins]]
name = "20-limits.conf"
contents = "[Service]\nLimitNOFILE=1024\n"
"#;

const WEB_SERVICE: &str = "[Unit]
Description=Web server of {{host.name}}

[Service]
ExecStart=/usr/bin/web --cert /etc/pki/coregen/https.crt

[Install]
WantedBy=multi-user.target
";

const WEB_BU: &str = "variant: fcos
version: 1.4.0
storage:
  files:
    - path: /etc/web/site.conf
      contents:
        inline: |
          listen 443
systemd:
  units:
    - name: web.service
      dropins:
        - name: 40-snippet.conf
          contents: |
            [Service]
            Nice=5
kernel_arguments:
  should_not_exist:
    - quiet
";

fn project() -> tempfile::TempDir {
    project_of(
        &[
            ("hosts/cluster.toml", CLUSTER),
            ("hosts/groups/all.toml", ALL),
            ("hosts/groups/web.toml", WEB),
            ("hosts/node1.toml", NODE1),
            ("templates/web.service.hbs", WEB_SERVICE),
            ("templates/web.bu", WEB_BU),
        ],
        &["http"],
    )
}

fn why(project: &std::path::Path, host: &str) -> String {
    let out = run_ok(coregen(project).args(["show", "--host", host, "--why"]));
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of `text` from the one that starts (after its indent) with
/// `entry` to the next line that is not indented deeper.
fn entry<'a>(text: &'a str, entry: &str) -> Vec<&'a str> {
    let mut lines = text.lines();
    let first = lines
        .by_ref()
        .find(|l| l.trim_start().starts_with(entry))
        .unwrap_or_else(|| panic!("no entry {entry:?} in:\n{text}"));
    let indent = first.len() - first.trim_start().len();
    let mut out = vec![first.trim_start()];
    out.extend(
        lines
            .take_while(|l| l.len() - l.trim_start().len() > indent)
            .map(str::trim_start),
    );
    out
}

#[test]
fn why_names_the_layer_of_each_entry_and_what_it_overrode() {
    let project = project();
    let text = why(project.path(), "node1");
    insta::assert_snapshot!("why_node1", text);

    // The file of `all`, replaced by the group `web`, then by the host.
    assert_eq!(
        entry(&text, "/etc/motd"),
        [
            "/etc/motd  host (hosts/node1.toml:6)",
            "overrides: group web (hosts/groups/web.toml:4)",
            "overrides: group all (hosts/groups/all.toml:3)",
        ]
    );
    // A snippet's file, named by the snippet and where the group lists it.
    assert_eq!(
        entry(&text, "/etc/web/site.conf"),
        ["/etc/web/site.conf  snippet templates/web.bu (listed at hosts/groups/web.toml:1)"]
    );
    // What coregen writes itself.
    for (path, source) in [
        ("/etc/hostname", "built-in (coregen)"),
        (
            "/etc/pki/ca-trust/source/anchors/coregen-http.crt",
            "built-in (coregen)",
        ),
        (
            "/usr/local/bin/coregen-enroll",
            "built-in (template coregen-enroll)",
        ),
        ("/etc/coregen/enroll.env", "built-in (coregen)"),
        (
            "coregen-enroll.service",
            "built-in (template coregen-enroll.service)",
        ),
    ] {
        assert_eq!(entry(&text, path), [format!("{path}  {source}")]);
    }

    // The unit of the group, replaced whole by the host's: the host's
    // drop-in replaces the group's of its name, the group's other drop-in
    // went with the group's unit, a snippet adds one, and coregen gates the
    // unit on the enrollment since it uses the certificate.
    assert_eq!(
        entry(&text, "web.service"),
        [
            "web.service  host (hosts/node1.toml:11)",
            "template: web.service (templates/web.service.hbs)",
            "overrides: group web (hosts/groups/web.toml:9)",
            "drop-in 20-limits.conf  host (hosts/node1.toml:15)",
            "overrides: group web (hosts/groups/web.toml:13)",
            "drop-in 40-snippet.conf  snippet templates/web.bu (listed at hosts/groups/web.toml:1)",
            "drop-in 10-coregen-enrolled.conf  built-in (coregen)",
        ]
    );
    assert!(!text.contains("30-env.conf"), "{text}");

    // Kernel arguments: the host's own, one that `all` listed first and the
    // host again, and one that the group and the host add and the snippet
    // removes.
    assert_eq!(
        entry(&text, "+ console=ttyS0,115200n8"),
        ["+ console=ttyS0,115200n8  host (hosts/node1.toml:3)"]
    );
    assert_eq!(
        entry(&text, "+ console=tty0"),
        [
            "+ console=tty0  group all (hosts/groups/all.toml:1)",
            "also listed by: host (hosts/node1.toml:3)",
        ]
    );
    assert_eq!(
        entry(&text, "- mitigations=auto"),
        ["- mitigations=auto  host (hosts/node1.toml:4)"]
    );
    assert_eq!(
        entry(&text, "- quiet"),
        [
            "- quiet  snippet templates/web.bu (listed at hosts/groups/web.toml:1)",
            "overrides: host (hosts/node1.toml:3)",
            "overrides: group web (hosts/groups/web.toml:2)",
        ]
    );
    assert!(!text.contains("+ quiet"), "{text}");
}

/// Every entry `show --why` lists is one that `show` shows, and the
/// other way round: the attribution walks the config rendered.
#[test]
fn why_lists_what_show_shows() {
    let project = project();
    let text = why(project.path(), "node1");
    let out = run_ok(coregen(project.path()).args(["show", "--host", "node1"]));
    let shown = String::from_utf8(out.stdout).unwrap();
    for path in [
        "/etc/hostname",
        "/etc/motd",
        "/etc/web/site.conf",
        "/usr/local/bin/coregen-enroll",
    ] {
        assert!(shown.contains(&format!("  {path}  ")), "{path}:\n{shown}");
        assert!(text.contains(&format!("  {path}  ")), "{path}:\n{text}");
    }
}

#[test]
fn why_needs_a_host() {
    let project = project();
    let err = run_err(coregen(project.path()).args(["show", "--why"]));
    assert!(err.contains("--host"), "{err}");
    let out = coregen(project.path())
        .args(["show", "--why", "out/node1.ign"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--why"), "{err}");
}
