//! Listing the project's folders: the files of one kind directly in a
//! folder (`hosts/*.toml`, `templates/*.hbs`, `out/*.ign`), in name order,
//! so that every listing is deterministic. A folder that does not exist
//! holds no files.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The files directly in `dir` whose extension is `ext` (without the dot),
/// sorted by path; none when `dir` does not exist.
pub fn with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, "read", e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, "read", e))?.path();
        if path.extension().is_some_and(|e| e == ext) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The entries of `dir` that [`with_extension`] would not list: files
/// of another kind, and folders other than those named in `folders`.
/// Hidden entries (a leading `.`) are left out: editors and tools keep
/// their own there.
pub fn others(dir: &Path, ext: &str, folders: &[&str]) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, "read", e)),
    };
    let mut others = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, "read", e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let listed = if path.is_dir() {
            folders.contains(&name)
        } else {
            path.extension().is_some_and(|e| e == ext)
        };
        if !listed && !name.starts_with('.') {
            others.push(path);
        }
    }
    others.sort();
    Ok(others)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_one_kind_sorted_and_nothing_for_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.toml", "a.toml", "c.hbs", "d.toml.bak"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("e.toml")).unwrap();
        let names: Vec<_> = with_extension(dir.path(), "toml")
            .unwrap()
            .into_iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.toml", "b.toml"]);
        assert!(
            with_extension(&dir.path().join("none"), "toml")
                .unwrap()
                .is_empty()
        );
    }
}
