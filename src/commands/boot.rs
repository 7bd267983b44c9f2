//! `coregen pxe` (and `render --pxe`): each host's iPXE script, pointer
//! config and pointer initrd, written next to the configs in `out/`.

use std::path::Path;

use coregen::boot;
use coregen::contract::HTTP_CA;
use coregen::error::{Error, Result};
use coregen::ignition::SpecVersion;
use coregen::inventory::Host;
use coregen::output::{self, Access, Staged};
use coregen::pki::CaCert;
use coregen::project::Project;

use super::note;
use super::settings::Settings;

pub(super) fn pxe(settings: &Settings) -> Result<()> {
    let project = settings.project()?;
    let hosts = settings.hosts(&project)?;
    let cas = project.ca_certs(settings.missing_ca, &mut |msg| note(msg))?;
    output::ensure_dir(&settings.out)?;
    let staged = stage(
        &project,
        &hosts,
        &cas,
        settings.spec(&project),
        &settings.out,
    )?;
    super::report(output::commit(staged)?)
}

/// Stages `<host>.ipxe`, `<host>.pointer.ign` and `<host>.pointer.img` for
/// each host.
pub(super) fn stage(
    project: &Project,
    hosts: &[&Host],
    cas: &[CaCert],
    spec: SpecVersion,
    out_dir: &Path,
) -> Result<Vec<Staged>> {
    let server = project.inventory.cluster.server.as_ref().ok_or_else(|| {
        Error::new("pointer configs need the server URL: add [server] url to hosts/cluster.toml")
    })?;
    let http_ca = cas.iter().find(|ca| ca.name == HTTP_CA).ok_or_else(|| {
        Error::new("pointer configs need the `http` CA: add [ca.http] to hosts/cluster.toml")
    })?;
    let boot_urls = project.inventory.cluster.boot.as_ref().ok_or_else(|| {
        Error::new(
            "iPXE scripts need the live images: add [boot] kernel, initramfs, rootfs and \
             public_url to hosts/cluster.toml",
        )
    })?;
    let mut staged = Vec::with_capacity(hosts.len() * 3);
    for host in hosts {
        let pointer = boot::pointer(host, &server.url, http_ca, spec)?.to_bytes(true);
        let initrd = boot::initrd(&pointer)?;
        let script = boot::ipxe(boot_urls, host, &server.url, spec);
        let path = |ext: &str| out_dir.join(format!("{}.{ext}", host.name));
        for (ext, bytes) in [
            ("ipxe", script.as_bytes()),
            ("pointer.ign", &pointer[..]),
            ("pointer.img", &initrd[..]),
        ] {
            staged.push(output::stage(path(ext), bytes, Access::Public)?);
        }
    }
    Ok(staged)
}
