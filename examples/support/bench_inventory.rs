//! The synthetic inventory of the load tests and benchmarks, shared by the
//! `gen-inventory` example and the render benchmark.
//!
//! Every host is in three groups, which between them give it five templated
//! units and nine templated files; its own file adds a tenth, inline. Each
//! template uses host, cluster and host variables. Every host has one
//! certificate profile, `node`, so its config also carries the enrollment
//! script, and it can enroll.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

const UNITS: [(&str, &str); 5] = [
    ("node-exporter.service", "node-exporter"),
    ("log-shipper.service", "log-shipper"),
    ("backup.service", "backup"),
    ("backup.timer", "backup-timer"),
    ("storage-agent.service", "storage-agent"),
];

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Writes an inventory of `count` hosts into `dir`.
#[allow(dead_code)] // the benchmark uses this; gen-inventory the next one
pub fn generate(count: u32, dir: &Path) {
    generate_with(count, dir, false);
}

/// Like [`generate`]; with `snippets`, every host also gets two templated
/// Butane snippets: the group `storage`'s (rendered with the rack, so 40
/// distinct texts) and one in its own file (rendered with its name and
/// address, so distinct for every host).
pub fn generate_with(count: u32, dir: &Path, snippets: bool) {
    write(
        dir,
        "hosts/cluster.toml",
        "name = \"bench\"\ndomain = \"bench.internal\"\n\
         ssh_authorized_keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0n1m4j7pX0mHcS3y2C0b2wN8Qn1Qm3cV9dZQkq7sE ops@bench\"]\n\
         [vars]\nregistry = \"registry.bench.internal\"\nlog_target = \"logs.bench.internal:514\"\nbackup_bucket = \"s3://backups\"\n\
         [ca.http]\n[ca.etcd]\n\
         [server]\nurl = \"https://coregen.bench.internal:8443\"\n\
         [profiles.node]\nca = \"http\"\nusages = [\"server-auth\"]\n\
         common_name = \"{{host.fqdn}}\"\ndns_names = [\"{{host.fqdn}}\", \"{{host.name}}\"]\n\
         ip_addresses = [\"{{host.ip}}\"]\nkey_path = \"/etc/pki/node/node.key\"\n\
         cert_path = \"/etc/pki/node/node.crt\"\nca_path = \"/etc/pki/node/ca.crt\"\n",
    );

    // base: 2 units, 4 files; monitoring: 2 units, 3 files; storage: 1 unit,
    // 2 files; the host file adds the tenth file, inline.
    let groups: [(&str, &[usize], &[&str]); 3] = [
        (
            "base",
            &[0, 1],
            &["chrony", "journald", "registries", "motd"],
        ),
        (
            "monitoring",
            &[2, 3],
            &["exporter-env", "shipper-env", "alerts"],
        ),
        ("storage", &[4], &["storage-env", "multipath"]),
    ];
    let mut file_no = 0;
    for (group, units, files) in groups {
        // Every host enrolls one certificate, as in the serve load test.
        let mut text = String::from(if group == "base" {
            "profiles = [\"node\"]\n\n"
        } else {
            ""
        });
        for &u in units {
            let (name, template) = UNITS[u];
            writeln!(
                text,
                "[[units]]\nname = \"{name}\"\ntemplate = \"{template}\"\nenabled = true\n"
            )
            .unwrap();
        }
        for template in files {
            writeln!(
                text,
                "[[files]]\npath = \"/etc/bench/{group}/{template}.conf\"\nmode = \"0644\"\ntemplate = \"{template}\"\n"
            )
            .unwrap();
            file_no += 1;
        }
        if snippets && group == "storage" {
            text.insert_str(0, "butane = [\"rack.bu.hbs\"]\n\n");
        }
        write(dir, &format!("hosts/groups/{group}.toml"), &text);
    }
    if snippets {
        write(
            dir,
            "templates/rack.bu.hbs",
            "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/bench/rack\n      \
             mode: 0644\n      contents:\n        inline: |\n          rack={{vars.rack}}\n          \
             registry={{vars.registry}}\nsystemd:\n  units:\n    - name: rack-agent.service\n      \
             enabled: true\n      contents: |\n        [Unit]\n        Description=Rack {{vars.rack}} agent\n\n        \
             [Service]\n        ExecStart=/usr/bin/podman run --rm {{vars.registry}}/rack-agent --rack {{vars.rack}}\n\n        \
             [Install]\n        WantedBy=multi-user.target\n",
        );
        write(
            dir,
            "templates/host.bu.hbs",
            "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/bench/identity\n      \
             mode: 0600\n      contents:\n        inline: |\n          name={{host.name}}\n          \
             address={{host.ip}}\n  directories:\n    - path: /var/lib/bench/{{host.name}}\n      mode: 0750\n\
             systemd:\n  units:\n    - name: identity.service\n      dropins:\n        - name: 10-host.conf\n          \
             contents: |\n            [Service]\n            Environment=HOST={{host.name}}\n",
        );
    }
    assert_eq!(file_no, 9);

    for (_, template) in UNITS {
        write(
            dir,
            &format!("templates/{template}.hbs"),
            &format!(
                "[Unit]\nDescription={template} on {{{{host.fqdn}}}} ({{{{cluster.name}}}})\n\
                 After=network-online.target\n\n[Service]\n\
                 Environment=HOST={{{{host.name}}}} ADDR={{{{host.ip}}}} RACK={{{{vars.rack}}}}\n\
                 ExecStart=/usr/bin/podman run --rm --name {template} --network host \\\n  \
                 {{{{vars.registry}}}}/{template}:latest --listen {{{{host.ip}}}}\n\n\
                 [Install]\nWantedBy=multi-user.target\n"
            ),
        );
    }
    for (_, _, files) in groups {
        for template in files {
            write(
                dir,
                &format!("templates/{template}.hbs"),
                &format!(
                    "# {template} for {{{{host.name}}}}, rack {{{{vars.rack}}}}\n\
                     host = {{{{host.fqdn}}}}\naddress = {{{{host.ip}}}}\n\
                     logs = {{{{vars.log_target}}}}\nbackups = {{{{vars.backup_bucket}}}}/{{{{host.name}}}}\n\
                     {{{{#each host.groups}}}}group = {{{{this}}}}\n{{{{/each}}}}"
                ),
            );
        }
    }

    for i in 0..count {
        let (a, b) = (i / 250, i % 250 + 1);
        write(
            dir,
            &format!("hosts/host{i:05}.toml"),
            &format!(
                "groups = [\"base\", \"monitoring\", \"storage\"]\n\
                 ip = \"10.{}.{a}.{b}\"\nmac = \"52:54:{:02x}:{:02x}:{:02x}:{:02x}\"\ninstall_disk = \"/dev/vda\"\n{}\n\
                 [vars]\nrack = \"r{}\"\n\n\
                 [[files]]\npath = \"/etc/bench/id\"\ncontents = \"host{i:05}\\n\"\n",
                a / 250,
                (i >> 24) & 0xff,
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff,
                if snippets {
                    "butane = [\"host.bu.hbs\"]\n"
                } else {
                    ""
                },
                i % 40,
            ),
        );
    }
}
