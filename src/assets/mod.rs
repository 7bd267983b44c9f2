//! The Fedora CoreOS live PXE images (kernel, initramfs, rootfs) kept on
//! the provisioning host, in a folder that `coregen serve --assets` serves
//! under `/assets/`: which names such a folder may hold, its manifest
//! ([`MANIFEST`]: the stream, architecture, release, and each file's
//! SHA-256), fetching the images from a stream's metadata ([`fetch`]) and
//! checking them again ([`verify`]).
//!
//! This module knows files and the stream format only; it imports nothing
//! of the crate but [`crate::error`]. The inventory's `[boot]` names an
//! asset by its file name, and `serve` checks a request's path with
//! [`check_path`] before it opens anything.

mod fetch;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub use fetch::{DEFAULT_STREAM_BASE, FetchOptions, MAX_STREAM_DOCUMENT, Stream, fetch};

/// The manifest `coregen assets fetch` writes in the folder.
pub const MANIFEST: &str = "coregen-assets.json";

/// What a download is written to before its checksum is checked.
pub const PART_SUFFIX: &str = ".part";

/// The three live PXE images, in the order the stream lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Kernel,
    Initramfs,
    Rootfs,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Kernel, Kind::Initramfs, Kind::Rootfs];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Kernel => "kernel",
            Kind::Initramfs => "initramfs",
            Kind::Rootfs => "rootfs",
        }
    }
}

/// `DIR/coregen-assets.json`: what was fetched, to check it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub stream: String,
    pub arch: String,
    pub release: String,
    pub files: Vec<ManifestFile>,
}

/// One image of a [`Manifest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub kind: Kind,
    pub name: String,
    pub sha256: String,
}

impl Manifest {
    /// The manifest in `dir`, or `None` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, "read", e)),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(format!(
                "{}: not a coregen assets manifest: {e}",
                path.display()
            ))
        })?;
        for file in &manifest.files {
            check_name(&file.name).map_err(|why| {
                Error::new(format!("{}: file {:?}: {why}", path.display(), file.name))
            })?;
        }
        Ok(Some(manifest))
    }

    /// Writes the manifest into `dir` atomically (a temporary file, fsynced,
    /// renamed).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        json.push(b'\n');
        let path = dir.join(MANIFEST);
        let temp = dir.join(format!("{MANIFEST}{PART_SUFFIX}"));
        write_synced(&temp, &json)?;
        fs::rename(&temp, &path).map_err(|e| Error::io(&path, "rename into place", e))?;
        sync_dir(dir)
    }

    /// The release of the file `name`, when the manifest lists it.
    pub fn release_of(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .any(|f| f.name == name)
            .then_some(self.release.as_str())
    }
}

/// Whether `name` may be a file of the assets folder: one plain file name,
/// not hidden, not a partial download, of safe characters (it goes into
/// URLs and iPXE scripts).
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("a file name must have 1 to 255 characters".into());
    }
    if name.starts_with('.') {
        return Err("hidden files (a name starting with `.`) are not assets".into());
    }
    if name.ends_with(PART_SUFFIX) {
        return Err(format!(
            "a `{PART_SUFFIX}` file is a download not yet checked"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.+~".contains(&b))
    {
        return Err(
            "only letters, digits and `-`, `_`, `.`, `+`, `~` are allowed (no `/`, spaces or quotes)"
                .into(),
        );
    }
    Ok(())
}

/// Checks a path below the assets folder, as a request gives it: relative,
/// `/`-separated, every segment a name [`check_name`] allows (so no `..`,
/// no hidden file or folder, no NUL). Returns the path to join onto the
/// folder.
pub fn check_path(path: &str) -> std::result::Result<PathBuf, String> {
    if path.is_empty() {
        return Err("no file named".into());
    }
    if path.starts_with('/') {
        return Err("the path must be relative".into());
    }
    let mut out = PathBuf::new();
    for segment in path.split('/') {
        if segment == ".." || segment == "." {
            return Err("`.` and `..` are not allowed in a path".into());
        }
        if segment.is_empty() {
            return Err("empty path segment".into());
        }
        check_name(segment)?;
        out.push(segment);
    }
    Ok(out)
}

/// The SHA-256 of the file at `path`, in lowercase hex, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let mut hasher = Sha256::new();
    hash_reader(&mut file, &mut hasher).map_err(|e| Error::io(path, "read", e))?;
    Ok(hex(&hasher.finalize()))
}

fn hash_reader(reader: &mut impl Read, hasher: &mut Sha256) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = fs::File::create(path).map_err(|e| Error::io(path, "create", e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, "write", e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, "sync", e))
}

/// What [`verify`] found wrong with one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub name: String,
    pub what: String,
}

/// Checks every file the manifest in `dir` lists: there, a regular file,
/// and of the SHA-256 recorded. Returns the manifest and the problems
/// (none when all is well); an error when there is no manifest to check
/// against.
pub fn verify(dir: &Path) -> Result<(Manifest, Vec<Problem>)> {
    let manifest = Manifest::load(dir)?.ok_or_else(|| {
        Error::new(format!(
            "{} has no {MANIFEST}: fetch the images with `coregen assets fetch` first",
            dir.display()
        ))
    })?;
    let mut problems = Vec::new();
    for file in &manifest.files {
        let path = dir.join(&file.name);
        let problem = |what: String| Problem {
            name: file.name.clone(),
            what,
        };
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(problem("missing".into()));
                continue;
            }
            Err(e) => {
                problems.push(problem(format!("cannot be read: {e}")));
                continue;
            }
            Ok(meta) if !meta.is_file() => {
                problems.push(problem("not a regular file".into()));
                continue;
            }
            Ok(_) => {}
        }
        match sha256_file(&path) {
            Ok(sum) if sum == file.sha256 => {}
            Ok(sum) => problems.push(problem(format!(
                "SHA-256 {sum}, but the manifest says {}",
                file.sha256
            ))),
            Err(e) => problems.push(problem(e.to_string())),
        }
    }
    Ok((manifest, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        for good in [
            "fedora-coreos-42.20250901.3.0-live-kernel.x86_64",
            "fedora-coreos-42.20250901.3.0-live-rootfs.x86_64.img",
            "kernel",
        ] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "..",
            "a/b",
            "a b",
            "a\"b",
            "a\0b",
            "kernel.part",
            "a\\b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(check_path("x86/kernel"), Ok(PathBuf::from("x86/kernel")));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/",
            ".git/config",
            "a/.env",
            "a\0",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_manifest_round_trips_and_verify_finds_each_problem() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("k"), b"kernel").unwrap();
        fs::write(dir.path().join("i"), b"initramfs").unwrap();
        let manifest = Manifest {
            stream: "stable".into(),
            arch: "x86_64".into(),
            release: "42.20250901.3.0".into(),
            files: vec![
                ManifestFile {
                    kind: Kind::Kernel,
                    name: "k".into(),
                    sha256: sha256_file(&dir.path().join("k")).unwrap(),
                },
                ManifestFile {
                    kind: Kind::Initramfs,
                    name: "i".into(),
                    sha256: "00".repeat(32),
                },
                ManifestFile {
                    kind: Kind::Rootfs,
                    name: "r".into(),
                    sha256: "00".repeat(32),
                },
            ],
        };
        manifest.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Some(manifest.clone()));
        assert_eq!(manifest.release_of("k"), Some("42.20250901.3.0"));
        assert_eq!(manifest.release_of("x"), None);
        let (_, problems) = verify(dir.path()).unwrap();
        let names: Vec<&str> = problems.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["i", "r"]);
        assert!(problems[0].what.contains("SHA-256"), "{problems:?}");
        assert_eq!(problems[1].what, "missing");
        assert_eq!(
            sha256_file(&dir.path().join("k")).unwrap(),
            // printf kernel | sha256sum
            "6923dd1bc0460082c5d55a831908c24a282860b7f1cd6c2b79cf1bc8857c639c"
        );
    }
}
