//! `coregen init DIR`: a new project folder with a one-host inventory that
//! renders at once. The files are kept as real files under `src/scaffold/`
//! so that they read (and are reviewed) as an operator will see them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const FILES: &[(&str, &str)] = &[
    ("hosts/cluster.toml", include_str!("scaffold/cluster.toml")),
    ("hosts/groups/all.toml", include_str!("scaffold/all.toml")),
    ("hosts/node1.toml", include_str!("scaffold/node1.toml")),
    ("templates/motd.hbs", include_str!("scaffold/motd.hbs")),
    (
        "templates/hello.bu.hbs",
        include_str!("scaffold/hello.bu.hbs"),
    ),
    (".gitignore", "/out/\n/pki/\n"),
];

/// Writes the scaffold into `dir`; refuses, writing nothing, when any of
/// its files exists already.
pub fn create(dir: &Path) -> Result<Vec<PathBuf>> {
    if let Some((existing, _)) = FILES.iter().find(|(rel, _)| dir.join(rel).exists()) {
        return Err(Error::new(format!(
            "{} exists already; coregen init never overwrites a file",
            dir.join(existing).display()
        )));
    }
    let mut created = Vec::with_capacity(FILES.len());
    for (rel, contents) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
        }
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(contents.as_bytes()))
            .map_err(|e| Error::io(&path, "create", e))?;
        created.push(path);
    }
    Ok(created)
}
