//! Writing output files so that a reader never sees half of one and a failed
//! run changes nothing.
//!
//! Each file is first written in full to a temporary file in its target
//! folder ([`stage`]); only when every file of a run is staged are they
//! renamed into place ([`commit`]). Dropping a [`Staged`] deletes its
//! temporary file, so an error anywhere leaves the folder as it was.
//! Outputs are reproducible from the inventory, so they are not fsynced:
//! ten thousand fsyncs would cost more than the whole render.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempPath};

use crate::error::{Error, Result};

/// A file written to a temporary name next to its target.
pub struct Staged {
    temp: Option<TempPath>,
    target: PathBuf,
    access: Access,
}

/// Who may read an output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// 0644: reproducible from the inventory, no secret in it.
    Public,
    /// 0600: holds a secret, such as a config with a bootstrap token.
    Private,
}

/// What [`commit`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub changed: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
}

/// Stages `contents` for `target`. When the target already holds exactly
/// these bytes nothing is staged, which keeps its timestamp.
pub fn stage(target: PathBuf, contents: &[u8], access: Access) -> Result<Staged> {
    if fs::read(&target).is_ok_and(|old| old == contents) {
        return Ok(Staged {
            temp: None,
            target,
            access,
        });
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut file = NamedTempFile::with_prefix_in(".coregen-", dir)
        .map_err(|e| Error::io(dir, "create a temporary file in", e))?;
    file.write_all(contents)
        .map_err(|e| Error::io(file.path(), "write", e))?;
    Ok(Staged {
        temp: Some(file.into_temp_path()),
        target,
        access,
    })
}

/// Renames every staged file into place.
pub fn commit(staged: Vec<Staged>) -> Result<Written> {
    let mut written = Written::default();
    for s in staged {
        match s.temp {
            Some(temp) => {
                if s.access == Access::Public {
                    set_readable(&temp)?;
                }
                temp.persist(&s.target)
                    .map_err(|e| Error::io(&s.target, "write", e.error))?;
                written.changed.push(s.target);
            }
            None => written.unchanged.push(s.target),
        }
    }
    Ok(written)
}

/// Temporary files are created 0600, which private outputs keep; public
/// ones get the usual 0644.
fn set_readable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
        .map_err(|e| Error::io(path, "set permissions of", e))
}

/// Creates `dir` (and its parents) if needed.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_visible_before_commit_and_dropped_stages_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.ign");
        let staged = stage(a.clone(), b"{}\n", Access::Public).unwrap();
        assert!(!a.exists());
        drop(staged);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        let written = commit(vec![stage(a.clone(), b"{}\n", Access::Public).unwrap()]).unwrap();
        assert_eq!(written.changed, vec![a.clone()]);
        assert_eq!(fs::read(&a).unwrap(), b"{}\n");

        let written = commit(vec![stage(a.clone(), b"{}\n", Access::Public).unwrap()]).unwrap();
        assert_eq!(written.unchanged, vec![a]);
    }
}
