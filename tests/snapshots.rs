//! Snapshots of each example host's rendered config (redacted), and of its
//! readable form (`coregen show`), so that a change to a template or to the
//! inventory shows up in review as a diff of the output it causes. The CA certificates come from tests/fixtures/pki,
//! so the snapshots are the same on every machine.

mod common;

use common::{coregen, example_project, run_ok};

#[test]
fn example_hosts_render_as_snapshotted() {
    let project = example_project();
    for host in ["node1", "node2", "node3", "node4"] {
        let out = run_ok(
            coregen(project.path()).args(["render", "--host", host, "--stdout", "--redact"]),
        );
        let text = String::from_utf8(out.stdout).unwrap();
        insta::assert_snapshot!(format!("render_{host}"), text);
    }
}

/// The same configs as people review them: a template change shows up
/// here as readable text.
#[test]
fn example_hosts_show_as_snapshotted() {
    let project = example_project();
    for host in ["node1", "node2", "node3", "node4"] {
        let out = run_ok(coregen(project.path()).args(["show", "--host", host]));
        let text = String::from_utf8(out.stdout).unwrap();
        insta::assert_snapshot!(format!("show_{host}"), text);
    }
}
