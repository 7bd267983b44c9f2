//! The base sections of a document, copied field by field into the config:
//! `ignition`, `kernel_arguments`, `passwd`, `storage` and `systemd`.
//!
//! Most fields carry over unchanged; the exceptions are upstream's custom
//! translators: resources (`inline` and `local` become data URLs), SSH keys
//! and unit contents read from the files-dir. Each section's translation
//! set records every copied field, then the exceptions' own sources.

use super::super::ign;
use super::super::ign::reflect::FieldValue;
use super::super::report::{Path, Report, path};
use super::super::schema::{self as b, Config, Version};
use super::super::yaml::lossy_string;
use super::local::read_local_file;
use super::resource::translate_resource;
use super::{Options, TranslationSet};

/// Entries to record after a section's copied fields, replacing them.
pub(super) type Overrides = Vec<(Path, Path)>;

fn record<T: FieldValue>(
    ts: &mut TranslationSet,
    yaml: Path,
    json: Path,
    value: &T,
    overrides: Overrides,
) {
    ts.add_copied(&yaml, &json, value);
    for (from, to) in overrides {
        ts.add(from, to);
    }
}

pub(super) fn ignition(
    c: &Config,
    version: Version,
    opts: &Options,
    out: &mut ign::Config,
    ts: &mut TranslationSet,
    r: &mut Report,
) {
    let from = &c.ignition;
    let to = &mut out.ignition;
    let mut ov = Overrides::new();
    let yaml = path!(yaml; "ignition");
    let json = path!(json; "ignition");
    to.version = version.ignition().to_string();
    let config = |f: &'static str| (yaml.with("config").with(f), json.with("config").with(f));
    let (y, j) = config("merge");
    to.config.merge = from
        .config
        .merge
        .iter()
        .enumerate()
        .map(|(i, res)| translate_resource(res, &y.with(i), &j.with(i), opts, &mut ov, r))
        .collect();
    let (y, j) = config("replace");
    to.config.replace = translate_resource(&from.config.replace, &y, &j, opts, &mut ov, r);
    to.proxy = ign::Proxy {
        http_proxy: from.proxy.http_proxy.clone(),
        https_proxy: from.proxy.https_proxy.clone(),
        no_proxy: from.proxy.no_proxy.clone(),
    };
    let y = yaml
        .with("security")
        .with("tls")
        .with("certificate_authorities");
    let j = json
        .with("security")
        .with("tls")
        .with("certificateAuthorities");
    to.security.tls.certificate_authorities = from
        .security
        .tls
        .certificate_authorities
        .iter()
        .enumerate()
        .map(|(i, res)| translate_resource(res, &y.with(i), &j.with(i), opts, &mut ov, r))
        .collect();
    to.timeouts = ign::Timeouts {
        http_response_headers: from.timeouts.http_response_headers,
        http_total: from.timeouts.http_total,
    };
    ov.push((path!(yaml; "version"), path!(json; "ignition", "version")));
    ov.push((yaml.clone(), json.clone()));
    record(ts, yaml, json, &out.ignition, ov);
}

pub(super) fn kernel_arguments(c: &Config, out: &mut ign::Config, ts: &mut TranslationSet) {
    out.kernel_arguments = ign::KernelArguments {
        should_exist: strings(&c.kernel_arguments.should_exist),
        should_not_exist: strings(&c.kernel_arguments.should_not_exist),
    };
    record(
        ts,
        path!(yaml; "kernel_arguments"),
        path!(json; "kernelArguments"),
        &out.kernel_arguments,
        Overrides::new(),
    );
}

pub(super) fn passwd(
    c: &Config,
    opts: &Options,
    out: &mut ign::Config,
    ts: &mut TranslationSet,
    r: &mut Report,
) {
    let mut ov = Overrides::new();
    out.passwd.groups = c
        .passwd
        .groups
        .iter()
        .map(|g| ign::PasswdGroup {
            gid: g.gid,
            name: g.name.clone(),
            password_hash: g.password_hash.clone(),
            should_exist: g.should_exist,
            system: g.system,
        })
        .collect();
    out.passwd.users = c
        .passwd
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| user(u, i, opts, &mut ov, r))
        .collect();
    record(
        ts,
        path!(yaml; "passwd"),
        path!(json; "passwd"),
        &out.passwd,
        ov,
    );
}

fn user(
    u: &b::PasswdUser,
    i: usize,
    opts: &Options,
    ov: &mut Overrides,
    r: &mut Report,
) -> ign::PasswdUser {
    let mut to = ign::PasswdUser {
        gecos: u.gecos.clone(),
        groups: strings(&u.groups),
        home_dir: u.home_dir.clone(),
        name: u.name.clone(),
        no_create_home: u.no_create_home,
        no_log_init: u.no_log_init,
        no_user_group: u.no_user_group,
        password_hash: u.password_hash.clone(),
        primary_group: u.primary_group.clone(),
        ssh_authorized_keys: strings(&u.ssh_authorized_keys),
        shell: u.shell.clone(),
        should_exist: u.should_exist,
        system: u.system,
        uid: u.uid,
    };
    if u.ssh_authorized_keys_local.is_empty() {
        return to;
    }
    let yaml = path!(yaml; "passwd", "users", i, "ssh_authorized_keys_local");
    let json = path!(json; "passwd", "users", i, "sshAuthorizedKeys");
    ov.push((yaml.clone(), json.clone()));
    if opts.files_dir.is_none() {
        r.error(yaml, super::msg::NO_FILES_DIR);
        return to;
    }
    for (k, file) in u.ssh_authorized_keys_local.iter().enumerate() {
        let keys = match read_local_file(file, opts) {
            Ok(keys) => keys,
            Err(e) => {
                r.error(yaml.with(k), e);
                continue;
            }
        };
        let text = lossy_string(&keys);
        // Upstream splits on `\r?\n` and drops empty lines.
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            ov.push((yaml.with(k), json.with(to.ssh_authorized_keys.len())));
            to.ssh_authorized_keys.push(line.to_string());
        }
    }
    to
}

pub(super) fn storage(
    c: &Config,
    opts: &Options,
    out: &mut ign::Config,
    ts: &mut TranslationSet,
    r: &mut Report,
) {
    let from = &c.storage;
    let to = &mut out.storage;
    let mut ov = Overrides::new();
    to.directories = from
        .directories
        .iter()
        .map(|d| ign::Directory {
            group: owner(d.group.id, &d.group.name),
            overwrite: d.overwrite,
            path: d.path.clone(),
            user: owner(d.user.id, &d.user.name),
            mode: d.mode,
        })
        .collect();
    to.disks = from
        .disks
        .iter()
        .map(|d| ign::Disk {
            device: d.device.clone(),
            partitions: d.partitions.iter().map(partition).collect(),
            wipe_table: d.wipe_table,
        })
        .collect();
    to.files = from
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let y = path!(yaml; "storage", "files", i);
            let j = path!(json; "storage", "files", i);
            ign::File {
                group: owner(f.group.id, &f.group.name),
                overwrite: f.overwrite,
                path: f.path.clone(),
                user: owner(f.user.id, &f.user.name),
                append: f
                    .append
                    .iter()
                    .enumerate()
                    .map(|(k, res)| {
                        let (y, j) = (y.with("append").with(k), j.with("append").with(k));
                        translate_resource(res, &y, &j, opts, &mut ov, r)
                    })
                    .collect(),
                contents: translate_resource(
                    &f.contents,
                    &y.with("contents"),
                    &j.with("contents"),
                    opts,
                    &mut ov,
                    r,
                ),
                mode: f.mode,
            }
        })
        .collect();
    to.filesystems = from
        .filesystems
        .iter()
        .map(|fs| ign::Filesystem {
            device: fs.device.clone(),
            format: fs.format.clone(),
            label: fs.label.clone(),
            mount_options: fs.mount_options.clone(),
            options: fs.options.clone(),
            path: fs.path.clone(),
            uuid: fs.uuid.clone(),
            wipe_filesystem: fs.wipe_filesystem,
        })
        .collect();
    to.links = from
        .links
        .iter()
        .map(|l| ign::Link {
            group: owner(l.group.id, &l.group.name),
            overwrite: l.overwrite,
            path: l.path.clone(),
            user: owner(l.user.id, &l.user.name),
            hard: l.hard,
            target: l.target.clone(),
        })
        .collect();
    to.luks = from
        .luks
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let y = path!(yaml; "storage", "luks", i, "key_file");
            let j = path!(json; "storage", "luks", i, "keyFile");
            ign::Luks {
                cex: ign::Cex {
                    enabled: l.cex.enabled,
                },
                clevis: clevis(&l.clevis),
                device: l.device.clone(),
                discard: l.discard,
                key_file: translate_resource(&l.key_file, &y, &j, opts, &mut ov, r),
                label: l.label.clone(),
                name: l.name.clone(),
                open_options: l.open_options.clone(),
                options: strings(&l.options),
                uuid: l.uuid.clone(),
                wipe_volume: l.wipe_volume,
            }
        })
        .collect();
    to.raid = from
        .raid
        .iter()
        .map(|raid| ign::Raid {
            devices: strings(&raid.devices),
            level: raid.level.clone(),
            name: raid.name.clone(),
            options: strings(&raid.options),
            spares: raid.spares,
        })
        .collect();
    record(
        ts,
        path!(yaml; "storage"),
        path!(json; "storage"),
        &out.storage,
        ov,
    );
}

fn owner(id: Option<i64>, name: &Option<String>) -> ign::NodeOwner {
    ign::NodeOwner {
        id,
        name: name.clone(),
    }
}

/// The values of a list of one of upstream's named string types.
fn strings<T: AsRef<str>>(items: &[T]) -> Vec<String> {
    items.iter().map(|i| i.as_ref().to_string()).collect()
}

fn partition(p: &b::Partition) -> ign::Partition {
    ign::Partition {
        guid: p.guid.clone(),
        label: p.label.clone(),
        number: p.number,
        resize: p.resize,
        should_exist: p.should_exist,
        size_mib: p.size_mib,
        start_mib: p.start_mib,
        type_guid: p.type_guid.clone(),
        wipe_partition_entry: p.wipe_partition_entry,
    }
}

pub(super) fn clevis(c: &b::Clevis) -> ign::Clevis {
    ign::Clevis {
        custom: ign::ClevisCustom {
            config: c.custom.config.clone(),
            needs_network: c.custom.needs_network,
            pin: c.custom.pin.clone(),
        },
        tang: c.tang.iter().map(tang).collect(),
        threshold: c.threshold,
        tpm2: c.tpm2,
    }
}

pub(super) fn tang(t: &b::Tang) -> ign::Tang {
    ign::Tang {
        advertisement: t.advertisement.clone(),
        thumbprint: t.thumbprint.clone(),
        url: t.url.clone(),
    }
}

pub(super) fn systemd(
    c: &Config,
    opts: &Options,
    out: &mut ign::Config,
    ts: &mut TranslationSet,
    r: &mut Report,
) {
    let mut ov = Overrides::new();
    out.systemd.units = c
        .systemd
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let y = path!(yaml; "systemd", "units", i);
            let j = path!(json; "systemd", "units", i);
            let dropins = u
                .dropins
                .iter()
                .enumerate()
                .map(|(k, d)| ign::Dropin {
                    contents: local_contents(
                        &d.contents,
                        &d.contents_local,
                        &y.with("dropins").with(k),
                        &j.with("dropins").with(k),
                        opts,
                        &mut ov,
                        r,
                    ),
                    name: d.name.clone(),
                })
                .collect();
            ign::Unit {
                contents: local_contents(&u.contents, &u.contents_local, &y, &j, opts, &mut ov, r),
                dropins,
                enabled: u.enabled,
                mask: u.mask,
                name: u.name.clone(),
            }
        })
        .collect();
    record(
        ts,
        path!(yaml; "systemd"),
        path!(json; "systemd"),
        &out.systemd,
        ov,
    );
}

/// A unit's or drop-in's contents: as written, or read from the files-dir
/// when `contents_local` is set (and not empty).
fn local_contents(
    contents: &Option<String>,
    contents_local: &Option<String>,
    yaml: &Path,
    json: &Path,
    opts: &Options,
    ov: &mut Overrides,
    r: &mut Report,
) -> Option<String> {
    let Some(local) = contents_local.as_deref().filter(|l| !l.is_empty()) else {
        return contents.clone();
    };
    let at = yaml.with("contents_local");
    match read_local_file(local, opts) {
        Ok(bytes) => {
            ov.push((at, json.with("contents")));
            Some(lossy_string(&bytes))
        }
        Err(e) => {
            r.error(at, e);
            contents.clone()
        }
    }
}
