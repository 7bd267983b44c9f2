//! What a machine boots from before it has its config: the iPXE script,
//! the pointer config, and the same pointer wrapped as an initrd.
//!
//! A pointer config holds no secret. It carries the `http` CA in
//! `ignition.security.tls.certificateAuthorities` and replaces itself with
//! the host's real config from `coregen serve`, so the real config, with
//! its bootstrap token, only ever travels over TLS verified against that
//! CA. The initrd form is a gzip-compressed newc cpio archive holding
//! `config.ign`, as `coreos-installer pxe ignition wrap` makes: appended to
//! the Fedora CoreOS live initramfs, it is the live system's config and
//! makes even the first fetch verified.
//!
//! The iPXE script boots the live images of `[boot]` with the kernel
//! arguments Fedora CoreOS documents for a live PXE boot
//! (`coreos.live.rootfs_url`, `ignition.firstboot ignition.platform.id=metal`).
//! What the live system is given depends on where the host runs:
//!
//! - A host without an install disk runs the live system itself, so the
//!   live system gets the pointer as `ignition.config.url` (from serve's
//!   plain-HTTP endpoint: it holds no secret, and the live system trusts no
//!   CA of ours yet), and the pointer fetches the real config.
//! - A host with an install disk only installs from the live system, which
//!   gets no config at all: only `coreos.inst.install_dev` and
//!   `coreos.inst.ignition_url`. The latter is the pointer, not the real
//!   config, so coreos-installer embeds the pointer in the installed
//!   system, and that system fetches its real config over verified TLS at
//!   its own first boot. Given the real config, the live system would mint
//!   a token that nothing uses, and start the host's units (etcd, say) in a
//!   system where no certificates will ever be.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::{Error, Result};
use crate::ignition::{Config, SpecVersion, build, encode_contents};
use crate::inventory::{Boot, Host, ServerUrl};
use crate::pki::CaCert;

/// Where `host`'s config is served, in the spec the pointer is written in
/// (the fetching Ignition must read both).
pub fn config_url(server: &ServerUrl, host: &Host, spec: SpecVersion) -> String {
    server.join(&format!("/ignition/{}?spec={spec}", host.name))
}

/// The pointer config of `host`: trust `http_ca`, fetch the real config.
pub fn pointer(
    host: &Host,
    server: &ServerUrl,
    http_ca: &CaCert,
    spec: SpecVersion,
) -> Result<Config> {
    let ca = encode_contents(http_ca.pem.as_bytes());
    let mut built = build::Config::default();
    built.ignition.config = Some(build::IgnitionConfig {
        merge: None,
        replace: Some(build::Resource {
            source: Some(config_url(server, host, spec)),
            compression: None,
            http_headers: None,
            verification: None,
        }),
    });
    built.ignition.security = Some(build::Security {
        tls: Some(build::SecurityTls {
            certificate_authorities: Some(vec![build::Resource {
                source: Some(ca.source),
                compression: ca.compression.map(str::to_string),
                http_headers: None,
                verification: None,
            }]),
        }),
    });
    Config::from_built(built, spec, &format!("the pointer of host `{}`", host.name))
}

/// Where serve's public endpoint gives `host`'s pointer config.
pub fn pointer_url(boot: &Boot, host: &Host, spec: SpecVersion) -> String {
    format!(
        "{}/pointer/{}.ign?spec={spec}",
        boot.public_url.as_str(),
        host.name
    )
}

/// The iPXE script that boots `host` into the Fedora CoreOS live system:
/// to run there, or to install to its disk (see the module comment).
/// `server` is where the pointer sends the host for its real config, named
/// in the script's comment for whoever reads it.
pub fn ipxe(boot: &Boot, host: &Host, server: &ServerUrl, spec: SpecVersion) -> String {
    let pointer = pointer_url(boot, host, spec);
    let mut args = vec![
        "initrd=main".to_string(),
        format!("coreos.live.rootfs_url={}", boot.rootfs.as_str()),
        "ignition.firstboot".to_string(),
        "ignition.platform.id=metal".to_string(),
    ];
    if host.install_disk.is_none() {
        args.push(format!("ignition.config.url={pointer}"));
    }
    // The live system's console, as the installed one will have it.
    args.extend(
        host.kernel_arguments
            .should_exist
            .iter()
            .filter(|a| a.starts_with("console="))
            .cloned(),
    );
    // What `[boot] kernel_arguments` adds for every host.
    args.extend(boot.kernel_arguments.iter().map(|a| a.as_str().to_string()));
    let what = match &host.install_disk {
        Some(disk) => {
            args.push(format!("coreos.inst.install_dev={disk}"));
            args.push(format!("coreos.inst.ignition_url={pointer}"));
            format!("install to {disk}")
        }
        None => "live boot".to_string(),
    };
    format!(
        "#!ipxe\n\
         # Fedora CoreOS {what} of {name}, written by coregen.\n\
         # Its config comes from {config} through the pointer.\n\
         kernel {kernel} {args}\n\
         initrd --name main {initramfs}\n\
         boot\n",
        name = host.name,
        config = config_url(server, host, spec),
        kernel = boot.kernel.as_str(),
        args = args.join(" "),
        initramfs = boot.initramfs.as_str(),
    )
}

/// The script every machine may boot first: it chains to its own host's
/// script by MAC address and SMBIOS UUID.
pub fn chain_ipxe(boot: &Boot) -> String {
    format!(
        "#!ipxe\n\
         # coregen: chain to this machine's own boot script, found by its MAC\n\
         # or its SMBIOS UUID (empty when the firmware has none).\n\
         chain {}/ipxe?mac=${{net0/mac}}&uuid=${{uuid}}\n",
        boot.public_url.as_str()
    )
}

/// `config` as an initrd: a newc cpio archive holding `config.ign` (mode
/// 0644, owned by root, time 0), gzip-compressed. The same bytes in give
/// the same bytes out.
pub fn initrd(config: &[u8]) -> Result<Vec<u8>> {
    let mut cpio = Vec::with_capacity(config.len() + 512);
    newc_entry(&mut cpio, 1, "config.ign", 0o100644, config);
    newc_entry(&mut cpio, 0, "TRAILER!!!", 0, &[]);
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&cpio)
        .and_then(|()| gz.finish())
        .map_err(|e| Error::new("cannot compress the pointer initrd").with_source(e))
}

/// One entry of a newc ("070701") archive: a header of 13 hex fields, the
/// name with its NUL, and the data, each padded to four bytes.
fn newc_entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, data: &[u8]) {
    let fields = [
        ino,
        mode,
        0, // uid
        0, // gid
        1, // nlink
        0, // mtime
        u32::try_from(data.len()).expect("a config is far below 4 GiB"),
        0, // devmajor
        0, // devminor
        0, // rdevmajor
        0, // rdevminor
        u32::try_from(name.len() + 1).expect("a short name"),
        0, // check
    ];
    out.extend_from_slice(b"070701");
    for field in fields {
        out.extend_from_slice(format!("{field:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::KernelArguments;

    fn host(install_disk: Option<&str>) -> Host {
        Host {
            name: "vm1".parse().unwrap(),
            fqdn: "vm1".into(),
            ip: None,
            macs: Vec::new(),
            uuid: None,
            install_disk: install_disk.map(|d| d.parse().unwrap()),
            groups: vec![],
            profiles: vec![],
            ssh_authorized_keys: vec![],
            vars: toml::Table::new(),
            kernel_arguments: KernelArguments {
                should_exist: vec!["console=ttyS0".into(), "quiet".into()],
                should_not_exist: vec![],
            },
            units: vec![],
            files: vec![],
            directories: vec![],
            butane: vec![],
            file: "hosts/vm1.toml".into(),
        }
    }

    #[test]
    fn boot_kernel_arguments_follow_coregens_own_on_every_kernel_line() {
        let boot: Boot = toml::from_str(
            "kernel = \"http://a/k\"\ninitramfs = \"http://a/i\"\nrootfs = \"http://a/r\"\n\
             public_url = \"http://a:8080\"\nkernel_arguments = [\"root=/dev/vda\", \"rw\"]\n",
        )
        .unwrap();
        let server: ServerUrl = "https://a:8443".parse().unwrap();
        let live = ipxe(&boot, &host(None), &server, SpecVersion::V3_3);
        assert!(
            live.contains(
                " ignition.config.url=http://a:8080/pointer/vm1.ign?spec=3.3.0 \
                 console=ttyS0 root=/dev/vda rw\n"
            ),
            "{live}"
        );
        let install = ipxe(&boot, &host(Some("/dev/vda")), &server, SpecVersion::V3_3);
        assert!(
            install.contains(" console=ttyS0 root=/dev/vda rw coreos.inst.install_dev=/dev/vda "),
            "{install}"
        );
        let plain = Boot {
            kernel_arguments: vec![],
            ..boot
        };
        assert!(
            ipxe(&plain, &host(None), &server, SpecVersion::V3_3).contains(" console=ttyS0\n"),
            "no arguments by default"
        );
    }

    #[test]
    fn the_archive_is_newc_with_config_ign_then_the_trailer() {
        let gz = initrd(b"{}\n").unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip");
        let mut cpio = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut cpio).unwrap();
        assert!(cpio.starts_with(b"070701"));
        // Header (110 bytes), name "config.ign\0" padded to 112 + 12 = 124,
        // data "{}\n" padded to 128, then the trailer.
        assert_eq!(&cpio[110..120], b"config.ign");
        assert_eq!(&cpio[124..127], b"{}\n");
        assert_eq!(&cpio[128..134], b"070701");
        assert_eq!(&cpio[238..248], b"TRAILER!!!");
        assert_eq!(cpio.len() % 4, 0);
        assert_eq!(initrd(b"{}\n").unwrap(), gz, "deterministic");
    }
}
