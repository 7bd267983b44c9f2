//! Finding machines as they boot: several MACs and an SMBIOS UUID per
//! host, `/ipxe` and `/ignition` by either or both, duplicates refused
//! with both places named, and discovery of machines that no host has
//! (remembered by a running `serve`, listed by `host list --unknown`).

mod common;

use std::time::{Duration, Instant};

use common::{Serve, coregen, error_of, fresh_project, needs, run_err, run_ok, write_file};

const UUID: &str = "4C4C4544-0042-3510-8052-B4C04F4E4432";
const UUID_LOWER: &str = "4c4c4544-0042-3510-8052-b4c04f4e4432";

/// node2 with two MACs (a bond) and a UUID.
fn with_bonded_node2(dir: &std::path::Path) {
    write_file(
        dir,
        "hosts/node2.toml",
        &format!(
            "groups = [\"etcd\"]\nip = \"10.0.0.12\"\n\
             macs = [\"52:54:00:c0:4e:12\", \"52:54:00:c0:4e:22\"]\nuuid = \"{UUID}\"\n\
             install_disk = \"/dev/vda\"\n"
        ),
    );
}

#[test]
fn a_machine_is_found_by_any_of_its_macs_or_its_uuid() {
    if !needs(&["curl", "openssl"]) {
        return;
    }
    let project = fresh_project();
    with_bonded_node2(project.path());
    let serve = Serve::start(project.path(), &["--http-listen", "127.0.0.1:0"]);
    let node1 = "52:54:00:c0:4e:11";
    let ipxe_host = |query: &str| {
        let (status, body) = serve.http(&format!("/ipxe?{query}"));
        // "# Fedora CoreOS live boot of node2, written by coregen."
        let host = body
            .lines()
            .find_map(|l| l.strip_prefix("# Fedora CoreOS "))
            .and_then(|l| l.split(" of ").nth(1))
            .and_then(|l| l.split(',').next())
            .map(str::to_string);
        (status, host.unwrap_or(body))
    };
    for (query, host) in [
        ("mac=52:54:00:c0:4e:12", "node2"),
        ("mac=52-54-00-C0-4E-22", "node2"),
        (&format!("uuid={UUID}") as &str, "node2"),
        (&format!("uuid={UUID_LOWER}&mac=52:54:00:c0:4e:22"), "node2"),
        // As iPXE chains on firmware without a UUID.
        (&format!("mac={node1}&uuid="), "node1"),
        (
            &format!("mac={node1}&uuid=00000000-0000-0000-0000-000000000000"),
            "node1",
        ),
        // A UUID no host has beside a MAC that one has: the MAC decides.
        (
            &format!("mac={node1}&uuid=11111111-2222-3333-4444-555555555555"),
            "node1",
        ),
    ] {
        let (status, got) = ipxe_host(query);
        assert_eq!((status, got.as_str()), (200, host), "{query}");
    }

    for (query, status, reason) in [
        (
            format!("mac={node1}&uuid={UUID}"),
            409,
            "this MAC address is host node1's and this UUID is host node2's",
        ),
        ("uuid=banana".into(), 400, "is not an SMBIOS UUID"),
        (
            "mac=&uuid=".into(),
            400,
            "give mac= (its MAC address) or uuid=",
        ),
        ("".into(), 400, "give mac="),
        ("uuid=x&color=red".into(), 400, "unknown field"),
    ] {
        let (got, body) = serve.http(&format!("/ipxe?{query}"));
        assert_eq!(got, status, "{query}: {body}");
        assert!(error_of(&body).contains(reason), "{query}: {body}");
    }

    // The config itself, over HTTPS, by UUID.
    let (status, config) = serve.curl(&format!("/ignition?uuid={UUID}"), &[]);
    assert_eq!(status, 200, "{config}");
    assert_eq!(
        common::file_in_config(&config, "/etc/hostname").unwrap(),
        b"node2\n"
    );
    // And the chain script asks with both.
    let (_, chain) = serve.http("/boot.ipxe");
    assert!(
        chain.contains("/ipxe?mac=${net0/mac}&uuid=${uuid}\n"),
        "{chain}"
    );
}

#[test]
fn templates_see_every_mac_and_the_uuid() {
    let project = fresh_project();
    let dir = project.path();
    with_bonded_node2(dir);
    write_file(
        dir,
        "templates/ids.hbs",
        "{{host.mac}} {{#each host.macs}}[{{this}}]{{/each}} {{host.uuid}}\n",
    );
    write_file(
        dir,
        "hosts/groups/etcd.toml",
        &format!(
            "{}\n[[files]]\npath = \"/etc/ids\"\ntemplate = \"ids\"\n",
            std::fs::read_to_string(dir.join("hosts/groups/etcd.toml")).unwrap()
        ),
    );
    let out = run_ok(coregen(dir).args(["render", "--host", "node2", "--stdout"]));
    let config = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        String::from_utf8(common::file_in_config(&config, "/etc/ids").unwrap()).unwrap(),
        format!("52:54:00:c0:4e:12 [52:54:00:c0:4e:12][52:54:00:c0:4e:22] {UUID_LOWER}\n")
    );
}

#[test]
fn duplicate_machine_ids_name_both_files_and_lines() {
    let project = fresh_project();
    let dir = project.path();
    // Messages name files under the project folder, as given by -C.
    let validate =
        || run_err(coregen(dir).arg("validate")).replace(&format!("{}/", dir.display()), "");

    // node3 takes node1's MAC (hosts/node1.toml line 3) as its second.
    let node3 = std::fs::read_to_string(dir.join("hosts/node3.toml")).unwrap();
    write_file(
        dir,
        "hosts/node3.toml",
        &node3.replace(
            "mac = \"52:54:00:c0:4e:13\"",
            "macs = [\"52:54:00:c0:4e:13\",\n  \"52:54:00:C0:4E:11\"]",
        ),
    );
    let err = validate();
    assert!(
        err.contains("hosts/node3.toml:4:3: macs[1]: 52:54:00:c0:4e:11 is also a MAC address of host `node1` (hosts/node1.toml:3:7)"),
        "{err}"
    );

    // One UUID on two hosts.
    let with_uuid = |uuid: &str| {
        node3.replace(
            "install_disk = \"/dev/vda\"\n",
            &format!("install_disk = \"/dev/vda\"\nuuid = \"{uuid}\"\n"),
        )
    };
    write_file(dir, "hosts/node3.toml", &with_uuid(UUID));
    with_bonded_node2(dir);
    let err = validate();
    assert!(
        err.contains(&format!(
            "hosts/node3.toml:5:8: uuid: {UUID_LOWER} is also the UUID of host `node2` (hosts/node2.toml:4:8)"
        )),
        "{err}"
    );

    // One MAC twice in one file.
    write_file(
        dir,
        "hosts/node3.toml",
        &node3.replace(
            "mac = \"52:54:00:c0:4e:13\"",
            "mac = \"52:54:00:c0:4e:13\"\nmacs = [\"52:54:00:c0:4e:13\"]",
        ),
    );
    let err = validate();
    assert!(
        err.contains("hosts/node3.toml:4:9: macs[0]: 52:54:00:c0:4e:13 is listed twice in this file (first at hosts/node3.toml:3:7)"),
        "{err}"
    );

    // A placeholder UUID, and a UUID in a group file.
    write_file(
        dir,
        "hosts/node3.toml",
        &with_uuid("00000000-0000-0000-0000-000000000000"),
    );
    let err = validate();
    assert!(
        err.contains(
            "hosts/node3.toml:5:8: uuid: 00000000-0000-0000-0000-000000000000 is the placeholder"
        ),
        "{err}"
    );
    write_file(dir, "hosts/node3.toml", &node3);
    write_file(
        dir,
        "hosts/groups/worker.toml",
        &format!("uuid = \"{UUID}\"\n"),
    );
    let err = validate();
    assert!(
        err.contains("hosts/groups/worker.toml:1:8: uuid: this key belongs in a host file"),
        "{err}"
    );
}

/// `coregen host list --unknown`, until it lists what `want` accepts.
fn wait_for_unknown(dir: &std::path::Path, want: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run_ok(coregen(dir).args(["host", "list", "--unknown"]));
        let listed = String::from_utf8(out.stdout).unwrap();
        if want(&listed) {
            return listed;
        }
        assert!(Instant::now() < deadline, "never listed:\n{listed}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn unknown_machines_are_remembered_and_listed_until_added() {
    if !needs(&["curl", "openssl"]) {
        return;
    }
    let project = fresh_project();
    let dir = project.path();
    let out = run_ok(coregen(dir).args(["host", "list", "--unknown"]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no unknown machine has asked"),
        "{out:?}"
    );

    let serve = Serve::start(dir, &["--http-listen", "127.0.0.1:0"]);
    let stranger = "52:54:00:aa:bb:cc";
    for _ in 0..3 {
        let (status, body) = serve.http(&format!("/ipxe?mac={stranger}&uuid={UUID}"));
        assert_eq!(status, 404, "{body}");
        assert!(
            error_of(&body).contains("no host has this MAC address or UUID")
                && error_of(&body).contains("coregen host list --unknown"),
            "{body}"
        );
    }
    let (status, _) = serve.curl("/ignition?uuid=11111111-2222-3333-4444-555555555555", &[]);
    assert_eq!(status, 404);

    let listed = wait_for_unknown(dir, |l| l.contains(stranger) && l.contains("11111111-2222"));
    let lines: Vec<&str> = listed.lines().collect();
    assert!(
        lines[0].starts_with("MAC") && lines[0].contains("LAST SEEN"),
        "{listed}"
    );
    let row = lines.iter().find(|l| l.contains(stranger)).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    // Asked three times within seconds: recorded once.
    assert_eq!(
        (cells[0], cells[1], cells[2], cells[5]),
        (stranger, UUID_LOWER, "127.0.0.1", "1"),
        "{listed}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("- ")
            && l.split_whitespace().nth(1) == Some("11111111-2222-3333-4444-555555555555")),
        "{listed}"
    );

    // Added to the inventory (a running serve reloads): served, and no
    // longer listed.
    write_file(dir, "hosts/node9.toml", &format!("mac = \"{stranger}\"\n"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while serve.http(&format!("/ipxe?mac={stranger}")).0 != 200 {
        assert!(Instant::now() < deadline, "{}", serve.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let listed = wait_for_unknown(dir, |l| !l.contains(stranger));
    assert!(listed.contains("11111111-2222"), "{listed}");
}
