//! Writing output files so that a reader never sees half of one and a failed
//! run changes nothing.
//!
//! Each file is first written in full to a temporary file in its target
//! folder ([`stage`]); only when every file of a run is staged are they
//! renamed into place ([`commit`]). Dropping a [`Staged`] deletes its
//! temporary file, so an error anywhere leaves the folder as it was.
//! Outputs are reproducible from the inventory, so they are not fsynced:
//! ten thousand fsyncs would cost more than the whole render.
//!
//! A run holds [`DirLock`] on its folder from start to end, so runs take
//! turns, and the one holding it knows that any temporary file there is
//! left over from a run that died. A run killed outright (`kill -9`, a
//! power cut) cannot clean up, so a temporary file's name says which
//! bootstrap token it holds (`.coregen-<pid>.<token id>.<random>`; the id
//! is no secret, and base64url, which has no `.`), and the next run
//! removes the leftovers ([`sweep`]) and hands back their token ids for
//! retiring. And [`commit`] lists what it is about to rename in [`PENDING`]
//! before the first rename and removes the list after the last, then
//! stamps [`GENERATION`]: a list still there means a run was killed
//! between renames and the folder holds a mix of two runs
//! ([`interrupted`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempPath};

use crate::error::{Error, Result};

/// Lists the files a run is renaming; removed once all are renamed.
pub const PENDING: &str = ".coregen-pending";

/// Written last by each run that changed something: the files it wrote
/// (its time is the file's own), the same for the same run, so that
/// output stays byte for byte reproducible.
pub const GENERATION: &str = ".coregen-generation";

/// The lock file of [`DirLock`].
pub const LOCK: &str = ".coregen-lock";

const TEMP_PREFIX: &str = ".coregen-";

/// An exclusive lock on a folder of outputs, held until dropped. Every
/// command that writes into a folder through this module takes it first.
pub struct DirLock {
    _file: fs::File,
}

/// Creates `dir` if needed and locks it, waiting for another run that
/// holds it (and telling `waiting` so, once).
pub fn lock(dir: &Path, waiting: &mut dyn FnMut(&str)) -> Result<DirLock> {
    ensure_dir(dir)?;
    let path = dir.join(LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, "open", e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            waiting(&format!(
                "waiting for another coregen run that is writing {}",
                dir.display()
            ));
            file.lock().map_err(|e| Error::io(&path, "lock", e))?;
        }
        Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, "lock", e)),
    }
    Ok(DirLock { _file: file })
}

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
    stage_holding(target, contents, access, None)
}

/// [`stage`] for contents that hold the bootstrap token `token_id`, which
/// a later run retires if this one dies before renaming the file.
pub fn stage_holding(
    target: PathBuf,
    contents: &[u8],
    access: Access,
    token_id: Option<&str>,
) -> Result<Staged> {
    if fs::read(&target).is_ok_and(|old| old == contents) {
        return Ok(Staged {
            temp: None,
            target,
            access,
        });
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let prefix = format!(
        "{TEMP_PREFIX}{}.{}.",
        std::process::id(),
        token_id.unwrap_or("none")
    );
    let mut file = NamedTempFile::with_prefix_in(prefix, dir)
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
                if written.changed.len() == 1 {
                    crate::fault::point("render-renamed");
                }
            }
            None => written.unchanged.push(s.target),
        }
    }
    Ok(written)
}

/// [`commit`] for a run that holds `_lock` on `dir`, between a [`PENDING`]
/// list of what it renames and a [`GENERATION`] stamp, so that a run
/// killed in between is seen. Every staged file must be in `dir`.
pub fn commit_run(staged: Vec<Staged>, dir: &Path, _lock: &DirLock) -> Result<Written> {
    let names: Vec<&str> = staged
        .iter()
        .filter(|s| s.temp.is_some())
        .filter_map(|s| s.target.file_name().and_then(|n| n.to_str()))
        .collect();
    if names.is_empty() {
        return commit(staged);
    }
    let names = names.join("\n") + "\n";
    let list = dir.join(PENDING);
    fs::write(&list, &names).map_err(|e| Error::io(&list, "write", e))?;
    let written = commit(staged)?;
    let stamp = dir.join(GENERATION);
    fs::write(&stamp, &names).map_err(|e| Error::io(&stamp, "write", e))?;
    fs::remove_file(&list).map_err(|e| Error::io(&list, "remove", e))?;
    Ok(written)
}

/// Removes the temporary files in `dir`, which `_lock` shows to be left
/// over from runs that died, and returns the token ids they held, so that
/// the caller retires them.
pub fn sweep(dir: &Path, _lock: &DirLock) -> Result<Vec<String>> {
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, "read", e))?;
    let mut tokens = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "read", e))?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        if name == PENDING || name == GENERATION || name == LOCK {
            continue;
        }
        // `<pid>.<token id or none>.<random>`; a name without them is an
        // older coregen's, and holds no token we can name.
        let mut parts = rest.splitn(3, '.');
        let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
        let token = parts.next().filter(|t| *t != "none" && pid.is_some());
        let path = entry.path();
        fs::remove_file(&path).map_err(|e| Error::io(&path, "remove a stale temporary file", e))?;
        if let Some(token) = token {
            tokens.push(token.to_string());
        }
    }
    Ok(tokens)
}

/// The files a run was renaming into `dir` when it was killed, when one
/// was: the folder then holds some from that run and some from before.
pub fn interrupted(dir: &Path) -> Result<Option<Vec<String>>> {
    let list = dir.join(PENDING);
    match fs::read_to_string(&list) {
        Ok(text) => Ok(Some(text.lines().map(str::to_string).collect())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&list, "read", e)),
    }
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

    #[test]
    fn leftovers_are_swept_under_the_lock_and_a_run_is_stamped() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.ign");
        fs::write(dir.path().join(".coregen-4194305.DEAD-_ID.abc123"), "x").unwrap();
        fs::write(dir.path().join(".coregen-4194305.none.abc124"), "x").unwrap();
        fs::write(dir.path().join(".coregen-Ab12Cd"), "x").unwrap();
        fs::write(dir.path().join(".coregenXYZ123"), "x").unwrap();
        let held = lock(dir.path(), &mut |_| panic!("nobody else holds it")).unwrap();
        assert_eq!(sweep(dir.path(), &held).unwrap(), ["DEAD-_ID"]);
        let ours = stage_holding(a.clone(), b"x", Access::Private, Some("TOKENID")).unwrap();
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left.len(), 3, "{left:?}");
        // Sorted: digits before letters.
        assert!(left[0].contains(".TOKENID."), "{left:?}");
        assert_eq!(left[1], LOCK);
        assert_eq!(left[2], ".coregenXYZ123", "not ours");

        commit_run(vec![ours], dir.path(), &held).unwrap();
        assert_eq!(interrupted(dir.path()).unwrap(), None);
        let stamp = fs::read_to_string(dir.path().join(GENERATION)).unwrap();
        assert_eq!(stamp, "a.ign\n");
        fs::write(dir.path().join(PENDING), "a.ign\nb.ign\n").unwrap();
        assert_eq!(
            interrupted(dir.path()).unwrap(),
            Some(vec!["a.ign".to_string(), "b.ign".to_string()])
        );
    }
}
