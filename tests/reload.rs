//! Live reload of a running `coregen serve`: changes to `hosts/` and
//! `templates/` are served without a restart, on file change and on
//! SIGHUP; a project that fails to load leaves the old one serving and
//! `/healthz` saying why; and a request sees one inventory, never a mix.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{
    Serve, copy_tree, edit_file, file_in_config, fresh_project, needs, run_ok, write_file,
};

fn health(serve: &Serve) -> serde_json::Value {
    let (status, body) = serve.curl("/healthz", &[]);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls until `done` holds; a reload comes within a second.
fn eventually(serve: &Serve, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "never {what}:\n{}", serve.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn changes_are_served_without_a_restart_and_broken_ones_are_not() {
    if !needs(&["curl", "openssl"]) {
        return;
    }
    let project = fresh_project();
    let dir = project.path();
    let serve = Serve::start(dir, &[]);
    assert_eq!(health(&serve)["generation"], 1);
    assert_eq!(serve.curl("/ignition/node5", &[]).0, 404);

    // A new host file: served once the folder is quiet.
    let node4 = std::fs::read_to_string(dir.join("hosts/node4.toml")).unwrap();
    let node5 = node4
        .replace("10.0.0.14", "10.0.0.15")
        .replace("52:54:00:c0:4e:14", "52:54:00:c0:4e:15");
    write_file(dir, "hosts/node5.toml", &node5);
    eventually(&serve, "served node5", || {
        serve.curl("/ignition/node5", &[]).0 == 200
    });
    let h = health(&serve);
    assert_eq!(
        (h["status"].as_str(), h["hosts"].as_u64()),
        (Some("ok"), Some(5))
    );
    let generation = h["generation"].as_u64().unwrap();
    assert!(generation >= 2, "{h}");

    // A broken host file: the old inventory goes on serving, and /healthz
    // says where the error is until it is fixed.
    edit_file(dir, "hosts/node5.toml", "10.0.0.15", "10.0.0.300");
    eventually(&serve, "reported the failed reload", || {
        health(&serve)["status"] == "degraded"
    });
    let h = health(&serve);
    // Where, not what: the message may quote the inventory, and /healthz
    // is public. The log has it.
    assert_eq!(h["reload_failed"], "hosts/node5.toml:2:6", "{h}");
    assert!(
        serve
            .log()
            .contains("hosts/node5.toml:2:6: ip: invalid IP address syntax"),
        "{}",
        serve.log()
    );
    assert!(
        h["reload_failed_at"].as_str().unwrap().ends_with('Z'),
        "{h}"
    );
    assert_eq!(h["hosts"], 5);
    assert_eq!(serve.curl("/ignition/node5", &[]).0, 200);
    assert!(
        serve
            .log()
            .contains("failed, still serving the previous inventory"),
        "{}",
        serve.log()
    );

    // A broken template, the same.
    edit_file(dir, "hosts/node5.toml", "10.0.0.300", "10.0.0.15");
    write_file(dir, "templates/motd.hbs", "hello {{#if}}\n");
    eventually(&serve, "reported the template", || {
        health(&serve)["reload_failed"] == "templates/motd.hbs:2:1"
            && serve
                .log()
                .contains("templates/motd.hbs:2:1: template `motd` does not compile")
    });

    // Fixed: healthy again, on a newer generation.
    std::fs::remove_file(dir.join("templates/motd.hbs")).unwrap();
    eventually(&serve, "recovered", || health(&serve)["status"] == "ok");
    let after_fix = health(&serve)["generation"].as_u64().unwrap();
    assert!(after_fix > generation);

    // SIGHUP reloads too, even with nothing changed.
    run_ok(Command::new("sh").args(["-c", "kill -HUP \"$1\"", "sh", &serve.pid().to_string()]));
    eventually(&serve, "reloaded on SIGHUP", || {
        health(&serve)["generation"].as_u64().unwrap() > after_fix
    });
    assert!(
        serve.log().contains("reloaded after SIGHUP: 5 hosts"),
        "{}",
        serve.log()
    );
    // And a host file removed is no longer served.
    std::fs::remove_file(dir.join("hosts/node5.toml")).unwrap();
    eventually(&serve, "dropped node5", || {
        serve.curl("/ignition/node5", &[]).0 == 404
    });
    serve.stop();
}

/// `hosts` as a symlink to one of two complete inventories, A and B, each
/// stamping its letter into two files of node4's config from two places:
/// cluster.toml's vars (through a template) and node4's own file.
fn two_inventories(dir: &Path) {
    for letter in ["A", "B"] {
        let copy = dir.join(format!("hosts{letter}"));
        copy_tree(&dir.join("hosts"), &copy);
        let rel = |f: &str| format!("hosts{letter}/{f}");
        edit_file(
            dir,
            &rel("cluster.toml"),
            "[vars]\n",
            &format!("[vars]\nstamp = \"{letter}\"\n"),
        );
        let node4 = std::fs::read_to_string(copy.join("node4.toml")).unwrap();
        write_file(
            dir,
            &rel("node4.toml"),
            &format!(
                "{node4}\n[[files]]\npath = \"/etc/stamp-host\"\ncontents = \"{letter}\"\n\n\
                 [[files]]\npath = \"/etc/stamp-cluster\"\ntemplate = \"stamp\"\n"
            ),
        );
    }
    write_file(dir, "templates/stamp.hbs", "{{cluster.vars.stamp}}");
    std::fs::remove_dir_all(dir.join("hosts")).unwrap();
    std::os::unix::fs::symlink("hostsA", dir.join("hosts")).unwrap();
}

/// Points `hosts` at `hosts{letter}` in one rename, as a deploy would.
fn flip(dir: &Path, letter: &str) {
    let next = dir.join("hosts.next");
    let _ = std::fs::remove_file(&next);
    std::os::unix::fs::symlink(format!("hosts{letter}"), &next).unwrap();
    std::fs::rename(&next, dir.join("hosts")).unwrap();
}

#[test]
fn each_request_sees_one_inventory_while_reloads_swap_them() {
    if !needs(&["curl", "openssl"]) {
        return;
    }
    let project = fresh_project();
    let dir = project.path();
    two_inventories(dir);
    let serve = Serve::start(dir, &[]);
    let stop = AtomicBool::new(false);
    let (seen, flips) = std::thread::scope(|s| {
        let clients: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let (status, config) = serve.curl("/ignition/node4", &[]);
                        assert_eq!(status, 200, "{config}");
                        let host = file_in_config(&config, "/etc/stamp-host").unwrap();
                        let cluster = file_in_config(&config, "/etc/stamp-cluster").unwrap();
                        assert_eq!(host, cluster, "a config mixed two inventories");
                        seen.push(String::from_utf8(host).unwrap());
                    }
                    seen
                })
            })
            .collect();
        let mut flips = 0;
        for letter in ["B", "A", "B", "A", "B", "A"] {
            std::thread::sleep(Duration::from_millis(700));
            flip(dir, letter);
            flips += 1;
        }
        std::thread::sleep(Duration::from_millis(700));
        stop.store(true, Ordering::Relaxed);
        let seen: Vec<String> = clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        (seen, flips)
    });
    let a = seen.iter().filter(|s| *s == "A").count();
    let b = seen.iter().filter(|s| *s == "B").count();
    eprintln!(
        "{} configs during {flips} swaps: {a} from A, {b} from B",
        seen.len()
    );
    assert!(a > 0 && b > 0, "both inventories were served: {a} A, {b} B");
    let generation = health(&serve)["generation"].as_u64().unwrap();
    assert!(
        generation > 3,
        "reloaded on each swap: generation {generation}"
    );
}
