//! The `[server]` and `[boot]` tables of cluster.toml: the URL at which
//! hosts reach `coregen serve`, how long a bootstrap token lives, and where
//! PXE-booting hosts get the Fedora CoreOS live images.
//!
//! The server URL is what rendered configs point hosts at and the name
//! that the server's own certificate carries, so it is checked here, once:
//! HTTPS only (tokens travel in it), no user, query or fragment. Boot URLs
//! may be plain HTTP, as iPXE fetches them. A boot image may also be named
//! by its file name in serve's assets folder (`coregen serve --assets`),
//! which stands for `<public_url>/assets/<name>`; and the kernel, initramfs
//! and rootfs must be of one Fedora CoreOS release where their names (or
//! the assets folder's manifest) tell it ([`Boot::check_releases`]).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::values::{deserialize_from_str, format_duration, parse_duration};

/// `[server]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub url: ServerUrl,
    pub token_ttl: Ttl,
}

/// `https://host[:port][/path]`, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    url: String,
    host: UrlHost,
    port: Option<u16>,
}

/// The host part of a [`ServerUrl`]: what the server certificate names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlHost {
    Ip(IpAddr),
    Dns(String),
}

impl ServerUrl {
    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn host(&self) -> &UrlHost {
        &self.host
    }

    /// `self` followed by `path`, which starts with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A URL for `coregen serve --url`, where port 0 stands for the port
    /// the server is given when it binds `--listen ...:0` (as tests do, so
    /// that no two servers race for a port). Resolve it with
    /// [`ServerUrl::with_bound_port`] before anything uses it.
    pub fn parse_for_serve(s: &str) -> Result<ServerUrl, String> {
        parse(s, true)
    }

    /// Whether the port is still to be filled in (see
    /// [`ServerUrl::parse_for_serve`]).
    pub fn port_is_unbound(&self) -> bool {
        self.port == Some(0)
    }

    /// This URL with port 0 replaced by `port`; others are returned as
    /// they are.
    pub fn with_bound_port(&self, port: u16) -> ServerUrl {
        if !self.port_is_unbound() {
            return self.clone();
        }
        let rest = &self.url["https://".len()..];
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = authority.strip_suffix(":0").unwrap_or(authority);
        ServerUrl {
            url: format!("https://{host}:{port}{path}"),
            host: self.host.clone(),
            port: Some(port),
        }
    }
}

impl FromStr for ServerUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse(s, false)
    }
}

fn parse(s: &str, allow_port_zero: bool) -> Result<ServerUrl, String> {
    let bad = |why: &str| format!("{s:?} is not a server URL: {why}");
    let rest = s
        .strip_prefix("https://")
        .ok_or_else(|| bad("it must start with https:// (bootstrap tokens travel in it)"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if s.contains(['?', '#', ' ', '"', '\'', '\\']) || authority.contains('@') {
        return Err(bad(
            "only scheme, host, port and path are allowed (no user, query or fragment)",
        ));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (ip, after) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            (ip, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        None => None,
        Some(port) => match port.parse::<u16>() {
            Ok(0) if allow_port_zero => Some(0),
            Ok(p) if p != 0 => Some(p),
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        },
    };
    let host = if let Ok(ip) = host.parse::<IpAddr>() {
        UrlHost::Ip(ip)
    } else if is_dns_name(host) {
        UrlHost::Dns(host.to_ascii_lowercase())
    } else {
        return Err(bad("the host must be an IP address or a DNS name"));
    };
    Ok(ServerUrl {
        url: format!("https://{authority}{}", path.trim_end_matches('/')),
        host,
        port,
    })
}

fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// `[boot]`: the Fedora CoreOS live images, and where hosts reach the
/// public endpoints of `coregen serve` (`--http-listen`): the iPXE scripts
/// and the pointer configs, which hold no secret.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boot {
    pub kernel: BootUrl,
    pub initramfs: BootUrl,
    pub rootfs: BootUrl,
    pub public_url: BootUrl,
    /// More arguments for the kernel line of every host's iPXE script,
    /// after coregen's own (none by default).
    #[serde(default)]
    pub kernel_arguments: Vec<BootArgument>,
}

impl Boot {
    /// The three images by key: `kernel`, `initramfs`, `rootfs`.
    pub fn images(&self) -> [(&'static str, &BootUrl); 3] {
        [
            ("kernel", &self.kernel),
            ("initramfs", &self.initramfs),
            ("rootfs", &self.rootfs),
        ]
    }

    /// The path below the assets folder of `url`, when it is one of
    /// serve's assets (`<public_url>/assets/<path>`).
    pub fn asset_path<'u>(&self, url: &'u BootUrl) -> Option<&'u str> {
        url.as_str()
            .strip_prefix(self.public_url.as_str())?
            .strip_prefix("/assets/")
    }

    /// Refuses images of different releases. Each image's release is read
    /// from its file name ([`release_of`]), else asked of `lookup` with its
    /// asset path (the assets folder's manifest knows it); an image whose
    /// release neither tells is not compared.
    pub fn check_releases(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        let found: Vec<(&str, &str, Option<String>)> = self
            .images()
            .into_iter()
            .map(|(key, url)| {
                let name = url.file_name();
                let release = release_of(name)
                    .map(str::to_string)
                    .or_else(|| self.asset_path(url).and_then(&lookup));
                (key, name, release)
            })
            .collect();
        let mut known = found.iter().filter_map(|(_, _, r)| r.as_deref());
        let first = known.next();
        if known.all(|r| Some(r) == first) {
            return Ok(());
        }
        let list: Vec<String> = found
            .iter()
            .map(|(key, name, release)| {
                format!(
                    "{key} {name} ({})",
                    release.as_deref().unwrap_or("release unknown")
                )
            })
            .collect();
        Err(format!(
            "the live images are of different Fedora CoreOS releases: {}; a kernel boots only \
             with the initramfs and rootfs of its own release",
            list.join(", ")
        ))
    }
}

/// The Fedora CoreOS release (`NN.YYYYMMDD.S.R`) in an image's file name,
/// such as `fedora-coreos-42.20250901.3.0-live-kernel.x86_64` (or the older
/// `...-live-kernel-x86_64`): the `-`-separated word of four `.`-separated
/// parts, digits, eight digits (the date), then two more.
pub fn release_of(name: &str) -> Option<&str> {
    name.split('-').find(|word| {
        let parts: Vec<&str> = word.split('.').collect();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        parts.len() == 4
            && digits(parts[0])
            && parts[1].len() == 8
            && digits(parts[1])
            && parts[2..]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    })
}

/// One kernel argument of `[boot] kernel_arguments`: not empty, without
/// spaces, quotes or control characters, which would break the iPXE
/// script's kernel line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootArgument(String);

impl BootArgument {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BootArgument {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let clean = !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c));
        if clean && !s.is_empty() {
            Ok(BootArgument(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a kernel argument: write one argument, without spaces or quotes"
            ))
        }
    }
}

/// An `http://` or `https://` URL without spaces or quotes, which would
/// break an iPXE script or a kernel command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootUrl(String);

impl BootUrl {
    pub fn as_str(&self) -> &str {
        self.0.trim_end_matches('/')
    }

    /// The last segment of the URL's path, without a query.
    pub fn file_name(&self) -> &str {
        let path = self.as_str().split(['?', '#']).next().unwrap_or_default();
        path.rsplit('/').next().unwrap_or_default()
    }

    /// `<public_url>/assets/<name>`: a file of serve's assets folder.
    pub fn asset(public_url: &BootUrl, name: &str) -> Result<BootUrl, String> {
        crate::assets::check_path(name).map_err(|why| {
            format!(
                "{name:?} is neither a boot URL (http:// or https://) nor the name of a file in \
                 serve's assets folder: {why}"
            )
        })?;
        Ok(BootUrl(format!("{}/assets/{name}", public_url.as_str())))
    }
}

impl FromStr for BootUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"));
        let clean = !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c));
        match rest {
            Some(rest) if clean && !rest.is_empty() => Ok(BootUrl(s.to_string())),
            _ => Err(format!(
                "{s:?} is not a boot URL: use http:// or https://, without spaces or quotes"
            )),
        }
    }
}

/// A lifetime such as `90s`, `30m`, `1h` or `2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl(Duration);

impl Ttl {
    pub const DEFAULT: Ttl = Ttl(Duration::from_secs(3600));

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for Ttl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_duration(s, Duration::from_secs(365 * 86400), "a year").map(Ttl)
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

deserialize_from_str!(ServerUrl);
deserialize_from_str!(BootUrl);
deserialize_from_str!(BootArgument);
deserialize_from_str!(Ttl);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_is_only_for_serve_and_takes_the_bound_port() {
        assert!("https://127.0.0.1:0".parse::<ServerUrl>().is_err());
        let url = ServerUrl::parse_for_serve("https://127.0.0.1:0/boot").unwrap();
        assert!(url.port_is_unbound());
        let bound = url.with_bound_port(43743);
        assert_eq!(bound.as_str(), "https://127.0.0.1:43743/boot");
        assert!(!bound.port_is_unbound());
        let v6 = ServerUrl::parse_for_serve("https://[::1]:0").unwrap();
        assert_eq!(v6.with_bound_port(9).as_str(), "https://[::1]:9");
        let fixed = ServerUrl::parse_for_serve("https://a.example:8443").unwrap();
        assert_eq!(fixed.with_bound_port(9).as_str(), "https://a.example:8443");
    }

    #[test]
    fn server_urls() {
        let url: ServerUrl = "https://coregen.cluster.internal:8443/".parse().unwrap();
        assert_eq!(url.as_str(), "https://coregen.cluster.internal:8443");
        assert_eq!(url.host(), &UrlHost::Dns("coregen.cluster.internal".into()));
        assert_eq!(
            url.join("/v1/enroll"),
            "https://coregen.cluster.internal:8443/v1/enroll"
        );
        let url: ServerUrl = "https://10.0.0.2".parse().unwrap();
        assert_eq!(url.host(), &UrlHost::Ip("10.0.0.2".parse().unwrap()));
        let url: ServerUrl = "https://[fd00::2]:8443/boot".parse().unwrap();
        assert_eq!(url.host(), &UrlHost::Ip("fd00::2".parse().unwrap()));
        assert_eq!(url.as_str(), "https://[fd00::2]:8443/boot");
        for bad in [
            "http://10.0.0.2",
            "https://",
            "https://a b",
            "https://user@host",
            "https://host:0",
            "https://host:99999",
            "https://host/x?token=1",
            "https://-host",
            "https://[fd00::2",
        ] {
            assert!(bad.parse::<ServerUrl>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn boot_urls() {
        let url: BootUrl = "http://10.0.0.2:8080/".parse().unwrap();
        assert_eq!(url.as_str(), "http://10.0.0.2:8080");
        assert!(
            "https://builds.coreos.fedoraproject.org/x"
                .parse::<BootUrl>()
                .is_ok()
        );
        for bad in ["ftp://x", "http://", "http://a b", "http://x\"y", "x"] {
            assert!(bad.parse::<BootUrl>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn boot_kernel_arguments() {
        let urls = "kernel = \"http://a/k\"\ninitramfs = \"http://a/i\"\n\
                    rootfs = \"http://a/r\"\npublic_url = \"http://a:8080\"\n";
        let boot: Boot = toml::from_str(urls).unwrap();
        assert!(boot.kernel_arguments.is_empty(), "none by default");
        let boot: Boot = toml::from_str(&format!(
            "{urls}kernel_arguments = [\"root=/dev/vda\", \"rw\"]"
        ))
        .unwrap();
        let args: Vec<&str> = boot.kernel_arguments.iter().map(|a| a.as_str()).collect();
        assert_eq!(args, ["root=/dev/vda", "rw"]);
        for bad in ["", "a b", "a\"b", "a'b", "a\\b", "a\nb"] {
            assert!(bad.parse::<BootArgument>().is_err(), "{bad:?} accepted");
            let toml = format!("{urls}kernel_arguments = [{bad:?}]");
            assert!(toml::from_str::<Boot>(&toml).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn releases_from_image_names() {
        for (name, release) in [
            (
                "fedora-coreos-42.20250901.3.0-live-kernel.x86_64",
                Some("42.20250901.3.0"),
            ),
            (
                "fedora-coreos-42.20250901.3.0-live-initramfs.x86_64.img",
                Some("42.20250901.3.0"),
            ),
            (
                "fedora-coreos-31.20200118.3.0-live-kernel-x86_64",
                Some("31.20200118.3.0"),
            ),
            (
                "fedora-coreos-43.20251020.dev.1-live-rootfs.aarch64.img",
                Some("43.20251020.dev.1"),
            ),
            ("vmlinuz", None),
            ("kernel-6.1.0", None),
            ("fedora-coreos-42.2025090.3.0-live-kernel.x86_64", None),
        ] {
            assert_eq!(release_of(name), release, "{name}");
        }
    }

    #[test]
    fn boot_images_by_name_and_of_one_release() {
        let public: BootUrl = "http://10.0.0.2:8080/".parse().unwrap();
        let url = BootUrl::asset(&public, "fcos/kernel").unwrap();
        assert_eq!(url.as_str(), "http://10.0.0.2:8080/assets/fcos/kernel");
        assert_eq!(url.file_name(), "kernel");
        for bad in ["../kernel", "/kernel", ".kernel", "a b", "k.part", ""] {
            assert!(BootUrl::asset(&public, bad).is_err(), "{bad:?} accepted");
        }
        let v = |r: &str, kind: &str| format!("fedora-coreos-{r}-live-{kind}.x86_64.img");
        let boot = |k: &str, i: &str, r: &str| Boot {
            kernel: BootUrl::asset(&public, k).unwrap(),
            initramfs: format!("https://mirror/{i}").parse().unwrap(),
            rootfs: BootUrl::asset(&public, r).unwrap(),
            public_url: public.clone(),
            kernel_arguments: vec![],
        };
        let same = boot(
            &v("42.20250901.3.0", "kernel"),
            &v("42.20250901.3.0", "initramfs"),
            "rootfs",
        );
        assert_eq!(
            same.check_releases(|_| None),
            Ok(()),
            "unknown ones are not compared"
        );
        assert_eq!(same.asset_path(&same.rootfs), Some("rootfs"));
        assert_eq!(same.asset_path(&same.initramfs), None);
        let err = same
            .check_releases(|path| (path == "rootfs").then(|| "41.20250101.3.0".into()))
            .unwrap_err();
        assert!(err.contains("rootfs rootfs (41.20250101.3.0)"), "{err}");
        let mixed = boot(
            &v("42.20250901.3.0", "kernel"),
            &v("42.20250915.3.0", "initramfs"),
            "x",
        );
        let err = mixed.check_releases(|_| None).unwrap_err();
        assert!(
            err.contains(
                "kernel fedora-coreos-42.20250901.3.0-live-kernel.x86_64.img (42.20250901.3.0), \
                 initramfs fedora-coreos-42.20250915.3.0-live-initramfs.x86_64.img \
                 (42.20250915.3.0), rootfs x (release unknown)"
            ),
            "{err}"
        );
    }

    #[test]
    fn lifetimes() {
        assert_eq!("1h".parse::<Ttl>().unwrap(), Ttl::DEFAULT);
        assert_eq!("90s".parse::<Ttl>().unwrap().duration().as_secs(), 90);
        assert_eq!("2d".parse::<Ttl>().unwrap().to_string(), "2d");
        assert_eq!("120m".parse::<Ttl>().unwrap().to_string(), "2h");
        for bad in ["", "1", "h", "0h", "1w", "-1h", "1.5h", "400d"] {
            assert!(bad.parse::<Ttl>().is_err(), "{bad:?} accepted");
        }
    }
}
