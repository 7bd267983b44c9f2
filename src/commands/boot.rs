//! `coregen pxe` (and `render --pxe`): each host's iPXE script, pointer
//! config and pointer initrd, written next to the configs in `out/`.
//!
//! What the files need from `hosts/cluster.toml` (`[server]`, `[boot]`
//! and the `http` CA) is checked before anything is created: `pxe` makes
//! missing CAs and `out/`, and a run that then fails for want of a table
//! would leave a new CA behind for nothing. So is that the live images are
//! of one release: their names are compared when the inventory loads, and
//! here also the releases that the manifest of the project's `assets/`
//! (`coregen assets fetch`) gives images named by file name.

use std::path::Path;

use coregen::boot;
use coregen::contract::HTTP_CA;
use coregen::error::{Error, Result};
use coregen::ignition::SpecVersion;
use coregen::inventory::{Boot, Host, Server};
use coregen::output::{self, Access, Staged};
use coregen::pki::CaCert;
use coregen::project::Project;

use super::note;
use super::settings::Settings;

pub(super) fn pxe(settings: &Settings) -> Result<()> {
    let project = settings.project()?;
    let hosts = settings.hosts(&project)?;
    // Everything the inventory must say, before a CA or a folder is made.
    check(&project)?;
    let cas = project.ca_certs(settings.missing_ca, &mut |msg| note(msg))?;
    let files = files(&project, &hosts, &cas, settings.spec(&project))?;
    let lock = output::lock(&settings.out, &mut |m| note(m))?;
    super::sweep_leftovers(&project, &settings.out, &lock)?;
    if output::interrupted(&settings.out)?.is_some() {
        return Err(Error::new(format!(
            "a render was killed while writing {}, which holds files of two runs: run \
             `coregen render` to complete it first",
            settings.out.display()
        )));
    }
    let staged = stage_files(&settings.out, &files)?;
    super::report(output::commit_run(staged, &settings.out, &lock)?)
}

/// What the boot files need from `hosts/cluster.toml`. Reads the inventory
/// only, so a caller can run it before it creates a CA or writes a file.
pub(super) fn check(project: &Project) -> Result<(&Server, &Boot)> {
    let cluster = &project.inventory.cluster;
    let server = cluster.server.as_ref().ok_or_else(|| {
        Error::new("pointer configs need the server URL: add [server] url to hosts/cluster.toml")
    })?;
    if !cluster.cas.contains_key(HTTP_CA) {
        return Err(Error::new(
            "pointer configs need the `http` CA: add [ca.http] to hosts/cluster.toml",
        ));
    }
    let boot = cluster.boot.as_ref().ok_or_else(|| {
        Error::new(
            "iPXE scripts need the live images: add [boot] kernel, initramfs, rootfs and \
             public_url to hosts/cluster.toml",
        )
    })?;
    let assets = project.inventory.root.join("assets");
    if let Some(manifest) = coregen::assets::Manifest::load(&assets)? {
        boot.check_releases(|path| manifest.release_of(path).map(str::to_string))
            .map_err(|msg| {
                Error::new(format!("hosts/cluster.toml: [boot]: {msg}")).note(format!(
                    "the release of an image named by file name is the one {} records",
                    assets.join(coregen::assets::MANIFEST).display()
                ))
            })?;
    }
    Ok((server, boot))
}

/// Stages `<host>.ipxe`, `<host>.pointer.ign` and `<host>.pointer.img` for
/// each host, in `out_dir`, which must exist.
pub(super) fn stage(
    project: &Project,
    hosts: &[&Host],
    cas: &[CaCert],
    spec: SpecVersion,
    out_dir: &Path,
) -> Result<Vec<Staged>> {
    stage_files(out_dir, &files(project, hosts, cas, spec)?)
}

/// Each host's boot files, by name, in memory.
fn files(
    project: &Project,
    hosts: &[&Host],
    cas: &[CaCert],
    spec: SpecVersion,
) -> Result<Vec<(String, Vec<u8>)>> {
    let (server, boot_urls) = check(project)?;
    let http_ca = cas.iter().find(|ca| ca.name == HTTP_CA).ok_or_else(|| {
        Error::new("pointer configs need the `http` CA: add [ca.http] to hosts/cluster.toml")
    })?;
    let mut files = Vec::with_capacity(hosts.len() * 3);
    let progress = super::progress::Progress::new(hosts.len(), "hosts");
    for host in hosts {
        progress.tick();
        let pointer = boot::pointer(host, &server.url, http_ca, spec)?.to_bytes(true);
        let initrd = boot::initrd(&pointer)?;
        let script = boot::ipxe(boot_urls, host, &server.url, spec);
        let name = |ext: &str| format!("{}.{ext}", host.name);
        files.push((name("ipxe"), script.into_bytes()));
        files.push((name("pointer.ign"), pointer));
        files.push((name("pointer.img"), initrd));
    }
    Ok(files)
}

fn stage_files(out_dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<Staged>> {
    files
        .iter()
        .map(|(name, bytes)| output::stage(out_dir.join(name), bytes, Access::Public))
        .collect()
}
