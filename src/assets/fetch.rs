//! `coregen assets fetch`: a Fedora CoreOS stream's metadata, read, and
//! its three live PXE images downloaded into the assets folder.
//!
//! Each image is written to `NAME.part` first, resumed with a `Range`
//! request from the part's length when a part is there (a server that
//! answers 200 instead of 206 sends the whole file again, which replaces
//! the part). Only a part whose SHA-256 is the stream's is fsynced and
//! renamed to `NAME`, so no file under a final name is ever partial or
//! wrong; a part that does not match is deleted. The manifest
//! ([`super::MANIFEST`]) is written last.
//!
//! The stream document is bounded ([`MAX_STREAM_DOCUMENT`]) and the images
//! must come over HTTPS, unless the stream URL itself was plain HTTP (a
//! local mirror, or a test). A connection that stalls for [`STALL`] fails
//! the run, keeping what arrived.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Kind, Manifest, ManifestFile, PART_SUFFIX, check_name, hash_reader, hex, sync_dir};
use crate::error::{Error, Result};

/// Where Fedora CoreOS publishes its streams: `<base>/<stream>.json`.
pub const DEFAULT_STREAM_BASE: &str = "https://builds.coreos.fedoraproject.org/streams";

/// The largest stream document read (the real ones are about 30 KiB).
pub const MAX_STREAM_DOCUMENT: u64 = 4 * 1024 * 1024;

/// A read or write of the network that makes no progress for this long
/// fails the download (its part is kept, for the next run to resume).
const STALL: Duration = Duration::from_secs(60);

/// What to fetch, and where to.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    pub stream: String,
    pub arch: String,
    /// The stream document's URL; [`DEFAULT_STREAM_BASE`]`/<stream>.json`
    /// when `None`.
    pub stream_url: Option<String>,
    pub dir: PathBuf,
}

/// What a stream says of one architecture's live PXE images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    pub release: String,
    pub artifacts: Vec<Artifact>,
}

/// One image: where it is, the file name it gets, and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub kind: Kind,
    pub url: String,
    pub name: String,
    pub sha256: String,
}

impl Stream {
    /// Reads `architectures.<arch>.artifacts.metal` of a stream document:
    /// its `release` and `formats.pxe.{kernel,initramfs,rootfs}`, each
    /// `{location, sha256}`. Locations must be `https://` (or `http://`
    /// with `allow_http`); the file name is the location's last segment.
    pub fn parse(json: &[u8], arch: &str, allow_http: bool) -> std::result::Result<Stream, String> {
        let doc: Value =
            serde_json::from_slice(json).map_err(|e| format!("not a stream document: {e}"))?;
        let metal_path = format!("architectures.{arch}.artifacts.metal");
        let metal = ["architectures", arch, "artifacts", "metal"]
            .iter()
            .try_fold(&doc, |v, key| v.get(key))
            .ok_or_else(|| match doc.get("architectures") {
                Some(Value::Object(archs)) if !archs.contains_key(arch) => format!(
                    "the stream has no architecture {arch:?} (it has {})",
                    archs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                _ => format!("the stream has no {metal_path}"),
            })?;
        let text = |v: &Value, path: &str| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{path} is missing or not a string"))
        };
        let release = text(
            metal.get("release").unwrap_or(&Value::Null),
            &format!("{metal_path}.release"),
        )?;
        if release.is_empty()
            || !release
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(format!("{metal_path}.release {release:?} is not a release"));
        }
        let mut artifacts = Vec::new();
        for kind in Kind::ALL {
            let path = format!("{metal_path}.formats.pxe.{}", kind.as_str());
            let item = ["formats", "pxe", kind.as_str()]
                .iter()
                .try_fold(metal, |v, key| v.get(key))
                .ok_or_else(|| format!("the stream has no {path}"))?;
            let url = text(
                item.get("location").unwrap_or(&Value::Null),
                &format!("{path}.location"),
            )?;
            let sha256 = text(
                item.get("sha256").unwrap_or(&Value::Null),
                &format!("{path}.sha256"),
            )?
            .to_ascii_lowercase();
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{path}.sha256 {sha256:?} is not a SHA-256"));
            }
            let secure = url.starts_with("https://");
            if !(secure || allow_http && url.starts_with("http://")) {
                return Err(format!(
                    "{path}.location {url:?}: images are fetched over https:// only (plain \
                     http:// only when the stream URL is plain HTTP too)"
                ));
            }
            let name = url
                .split(['?', '#'])
                .next()
                .and_then(|u| u.rsplit('/').next())
                .unwrap_or_default()
                .to_string();
            check_name(&name)
                .map_err(|why| format!("{path}.location {url:?}: file name {name:?}: {why}"))?;
            if artifacts.iter().any(|a: &Artifact| a.name == name) {
                return Err(format!("{path}.location: two images named {name:?}"));
            }
            artifacts.push(Artifact {
                kind,
                url,
                name,
                sha256,
            });
        }
        Ok(Stream { release, artifacts })
    }
}

/// The URL of the stream document `options` name.
pub fn stream_url(options: &FetchOptions) -> Result<String> {
    let word = |what: &str, s: &str| {
        let ok = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "{s:?} is not a {what}: letters, digits, `-` and `_` only"
            )))
        }
    };
    word("stream name", &options.stream)?;
    word("architecture", &options.arch)?;
    let url = match &options.stream_url {
        Some(url) => url.clone(),
        None => format!("{DEFAULT_STREAM_BASE}/{}.json", options.stream),
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::invalid(format!(
            "{url:?} is not a stream URL: use https:// (or http:// for a local mirror)"
        )));
    }
    Ok(url)
}

/// Reads the stream, downloads each image it names into `options.dir`
/// (created if needed) and checks it, then writes the manifest. `note`
/// hears what is done, one line each.
pub fn fetch(options: &FetchOptions, note: &mut dyn FnMut(&str)) -> Result<Manifest> {
    let url = stream_url(options)?;
    let allow_http = url.starts_with("http://");
    let agent = agent(allow_http);
    let failed = |e: ureq::Error| Error::new(format!("cannot fetch {url}: {e}"));
    let mut response = agent.get(&url).call().map_err(failed)?;
    if response.status() != 200 {
        return Err(Error::new(format!(
            "cannot fetch {url}: the server answered {}",
            response.status()
        )));
    }
    let json = response
        .body_mut()
        .with_config()
        .limit(MAX_STREAM_DOCUMENT)
        .read_to_vec()
        .map_err(|e| {
            Error::new(format!(
                "cannot read {url} (at most {MAX_STREAM_DOCUMENT} bytes): {e}"
            ))
        })?;
    let stream = Stream::parse(&json, &options.arch, allow_http)
        .map_err(|why| Error::new(format!("{url}: {why}")))?;
    note(&format!(
        "stream {} ({}): release {}",
        options.stream, options.arch, stream.release
    ));

    let dir = &options.dir;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))?;
    for artifact in &stream.artifacts {
        download(&agent, artifact, dir, note)?;
    }
    let manifest = Manifest {
        stream: options.stream.clone(),
        arch: options.arch.clone(),
        release: stream.release.clone(),
        files: stream
            .artifacts
            .iter()
            .map(|a| ManifestFile {
                kind: a.kind,
                name: a.name.clone(),
                sha256: a.sha256.clone(),
            })
            .collect(),
    };
    manifest.save(dir)?;
    Ok(manifest)
}

/// The HTTP client: rustls on the crypto provider the rest of coregen
/// uses (aws-lc-rs), the web PKI's roots, no plain HTTP unless allowed.
fn agent(allow_http: bool) -> ureq::Agent {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .unversioned_rustls_crypto_provider(provider)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .https_only(!allow_http)
        .http_status_as_error(false)
        .max_redirects(5)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(STALL))
        .timeout_per_read(Some(STALL))
        .timeout_per_write(Some(STALL))
        .user_agent(concat!("coregen/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Makes `dir/NAME` the artifact, checked: kept when it is there already
/// with the right checksum, else downloaded through `NAME.part`.
fn download(
    agent: &ureq::Agent,
    artifact: &Artifact,
    dir: &Path,
    note: &mut dyn FnMut(&str),
) -> Result<()> {
    let target = dir.join(&artifact.name);
    let part = dir.join(format!("{}{PART_SUFFIX}", artifact.name));
    if target.is_file() && super::sha256_file(&target)? == artifact.sha256 {
        note(&format!(
            "{} is there already, checksum ok",
            target.display()
        ));
        return Ok(());
    }

    let mut hasher = Sha256::new();
    let have = match fs::File::open(&part) {
        Ok(mut file) => {
            hash_reader(&mut file, &mut hasher).map_err(|e| Error::io(&part, "read", e))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(Error::io(&part, "open", e)),
    };
    let url = &artifact.url;
    let failed = |e: ureq::Error| {
        Error::new(format!(
            "cannot fetch {url}: {e}; what arrived is kept in {}, and a new run resumes it",
            part.display()
        ))
    };
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let mut response = request.call().map_err(failed)?;
    let status = response.status().as_u16();
    let append = match status {
        206 if have > 0 => {
            let start = content_range_start(response.headers().get("content-range"));
            if start != Some(have) {
                return Err(Error::new(format!(
                    "cannot resume {url}: asked for bytes from {have}, the server sent a range \
                     from {}",
                    start.map_or_else(|| "?".into(), |s| s.to_string())
                )));
            }
            note(&format!("resuming {} from byte {have}", artifact.name));
            true
        }
        200 => {
            if have > 0 {
                note(&format!(
                    "the server sends {} whole (no range): starting over",
                    artifact.name
                ));
                hasher = Sha256::new();
            }
            false
        }
        // The part is as long as the file, or longer: it is checked (and
        // dropped if wrong) below without downloading anything.
        416 if have > 0 => true,
        _ => {
            return Err(Error::new(format!(
                "cannot fetch {url}: the server answered {status}"
            )));
        }
    };
    if status != 416 {
        note(&format!("downloading {url}"));
        let mut file = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&part)
            .map_err(|e| Error::io(&part, "open", e))?;
        let mut body = response.body_mut().as_reader();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = body.read(&mut buf).map_err(|e| {
                Error::new(format!(
                    "the download of {url} broke off: {e}; what arrived is kept in {}, and a \
                     new run resumes it",
                    part.display()
                ))
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| Error::io(&part, "write", e))?;
        }
        file.sync_all().map_err(|e| Error::io(&part, "sync", e))?;
    }
    let got = hex(&hasher.finalize());
    if got != artifact.sha256 {
        let _ = fs::remove_file(&part);
        return Err(Error::new(format!(
            "{}: SHA-256 {got}, but the stream says {}; the download is deleted",
            artifact.name, artifact.sha256
        )));
    }
    fs::rename(&part, &target).map_err(|e| Error::io(&target, "rename into place", e))?;
    sync_dir(dir)?;
    note(&format!("{}: checksum ok", target.display()));
    Ok(())
}

/// The first byte of a `Content-Range: bytes FIRST-LAST/LEN` header.
fn content_range_start(value: Option<&ureq::http::HeaderValue>) -> Option<u64> {
    let value = value?.to_str().ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(location: &str) -> String {
        let item = |kind: &str| {
            format!(
                r#""{kind}": {{"location": "{location}-live-{kind}.x86_64", "sha256": "{}"}}"#,
                "ab".repeat(32)
            )
        };
        format!(
            r#"{{"stream": "stable", "architectures": {{"x86_64": {{"artifacts": {{"metal": {{
                "release": "42.20250901.3.0",
                "formats": {{"pxe": {{{}, {}, {}}}}}}}}}}}}}}}"#,
            item("kernel"),
            item("initramfs"),
            item("rootfs")
        )
    }

    #[test]
    fn a_stream_gives_three_images_with_their_names() {
        let json = doc("https://example.org/b/fedora-coreos-42.20250901.3.0");
        let stream = Stream::parse(json.as_bytes(), "x86_64", false).unwrap();
        assert_eq!(stream.release, "42.20250901.3.0");
        let names: Vec<&str> = stream.artifacts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "fedora-coreos-42.20250901.3.0-live-kernel.x86_64",
                "fedora-coreos-42.20250901.3.0-live-initramfs.x86_64",
                "fedora-coreos-42.20250901.3.0-live-rootfs.x86_64",
            ]
        );
        let err = Stream::parse(json.as_bytes(), "aarch64", false).unwrap_err();
        assert!(
            err.contains("no architecture \"aarch64\" (it has x86_64)"),
            "{err}"
        );
    }

    #[test]
    fn plain_http_images_only_for_a_plain_http_stream() {
        let json = doc("http://mirror/fedora-coreos-42");
        let err = Stream::parse(json.as_bytes(), "x86_64", false).unwrap_err();
        assert!(err.contains("https:// only"), "{err}");
        assert!(Stream::parse(json.as_bytes(), "x86_64", true).is_ok());
        let json = doc("ftp://mirror/fedora-coreos-42");
        assert!(Stream::parse(json.as_bytes(), "x86_64", true).is_err());
    }

    #[test]
    fn bad_names_and_sums_are_refused() {
        let json = doc("https://example.org/b/.hidden");
        assert!(Stream::parse(json.as_bytes(), "x86_64", false).is_err());
        let json = doc("https://example.org/b/x").replace(&"ab".repeat(32), "abc");
        let err = Stream::parse(json.as_bytes(), "x86_64", false).unwrap_err();
        assert!(err.contains("is not a SHA-256"), "{err}");
        let err = Stream::parse(b"{}", "x86_64", false).unwrap_err();
        assert!(
            err.contains("architectures.x86_64.artifacts.metal"),
            "{err}"
        );
    }

    #[test]
    fn stream_urls() {
        let mut options = FetchOptions {
            stream: "stable".into(),
            arch: "x86_64".into(),
            stream_url: None,
            dir: "assets".into(),
        };
        assert_eq!(
            stream_url(&options).unwrap(),
            "https://builds.coreos.fedoraproject.org/streams/stable.json"
        );
        options.stream = "../x".into();
        assert!(stream_url(&options).is_err());
        options.stream = "next".into();
        options.stream_url = Some("file:///etc/passwd".into());
        assert!(stream_url(&options).is_err());
    }

    #[test]
    fn content_ranges() {
        let v = ureq::http::HeaderValue::from_static("bytes 100-199/200");
        assert_eq!(content_range_start(Some(&v)), Some(100));
        let v = ureq::http::HeaderValue::from_static("bytes */200");
        assert_eq!(content_range_start(Some(&v)), None);
        assert_eq!(content_range_start(None), None);
    }
}
