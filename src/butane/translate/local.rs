//! Reading from the files-dir: `local` contents, `contents_local`,
//! `ssh_authorized_keys_local` and trees.
//!
//! A path is joined to the files-dir and cleaned as Go's `filepath.Join`
//! does, and must stay inside it. Upstream checks that lexically only, so
//! a symlink inside the files-dir could still lead out of it; coregen also
//! resolves symlinks and refuses a path whose real location is outside
//! (`local file path traverses outside the files directory`), because a
//! document may come from someone other than the one who runs the tool.
//! Errors read as Go's do (`open files/x: no such file or directory`),
//! since they are part of upstream's messages.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::super::messages as msg;
use super::Options;

/// Reads `local` (slash-separated, relative to the files-dir).
pub(crate) fn read_local_file(local: &str, opts: &Options) -> Result<Vec<u8>, String> {
    let path = resolve(local, opts)?;
    fs::read(&path).map_err(|e| go_error(&e, &path))
}

/// The files-dir path of `local`, checked to stay within the files-dir.
pub(crate) fn resolve(local: &str, opts: &Options) -> Result<PathBuf, String> {
    let Some(dir) = &opts.files_dir else {
        return Err(msg::NO_FILES_DIR.to_string());
    };
    let path = join_clean(dir, local);
    ensure_within(&path, dir)?;
    Ok(path)
}

/// Go's `filepath.Join(dir, local)`: joined, then cleaned lexically.
pub(crate) fn join_clean(dir: &Path, local: &str) -> PathBuf {
    let joined = format!("{}/{}", dir.display(), local);
    PathBuf::from(clean(&joined))
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// Refuses `path` when it leaves `dir`: lexically (`..`), or once
/// symlinks are resolved.
pub(crate) fn ensure_within(path: &Path, dir: &Path) -> Result<(), String> {
    let escape = || msg::FILES_DIR_ESCAPE.to_string();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let base = absolute(dir, &cwd);
    let abs = absolute(path, &cwd);
    let Ok(rel) = abs.strip_prefix(&base) else {
        return Err(escape());
    };
    // Only what lies below the files-dir is the document's choice. While
    // no step there is a symlink, the path's real location is below the
    // files-dir's real location; a symlink is resolved, and where it
    // leads must be inside too. (Resolving the whole path every time
    // would read every directory above the files-dir, for every file.)
    let mut at = base.clone();
    for step in rel.components() {
        at.push(step);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return match (base.canonicalize(), abs.canonicalize()) {
                    (Ok(real_base), Ok(real)) if !real.starts_with(&real_base) => Err(escape()),
                    _ => Ok(()),
                };
            }
            Ok(_) => {}
            // Missing: reading it reports that, as upstream does.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Go's `filepath.Abs`: joined to the working directory and cleaned.
fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// An I/O error as Go prints an `*os.PathError`: `open PATH: reason`.
pub(crate) fn go_error(e: &io::Error, path: &Path) -> String {
    let op = if e.raw_os_error() == Some(21) {
        "read"
    } else {
        "open"
    };
    go_error_op(e, op, path)
}

pub(crate) fn go_error_op(e: &io::Error, op: &str, path: &Path) -> String {
    format!("{op} {}: {}", path.display(), errno_text(e))
}

/// The text Go gives an errno: lower case, without the number.
pub(crate) fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(2) => "no such file or directory".into(),
        Some(13) => "permission denied".into(),
        Some(20) => "not a directory".into(),
        Some(21) => "is a directory".into(),
        Some(36) => "file name too long".into(),
        Some(40) => "too many levels of symbolic links".into(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        assert_eq!(clean("files/./a//b/"), "files/a/b");
        assert_eq!(clean("files/../../x"), "../x");
        assert_eq!(clean("/a/../../b"), "/b");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("a/.."), ".");
    }

    #[test]
    fn paths_may_not_leave_the_files_dir() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            files_dir: Some(dir.path().to_path_buf()),
        };
        std::fs::write(dir.path().join("in"), "x").unwrap();
        assert_eq!(read_local_file("in", &opts).unwrap(), b"x");
        assert_eq!(
            read_local_file("../in", &opts).unwrap_err(),
            msg::FILES_DIR_ESCAPE
        );
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        assert_eq!(
            read_local_file("link", &opts).unwrap_err(),
            msg::FILES_DIR_ESCAPE
        );
        let err = read_local_file("missing", &opts).unwrap_err();
        assert!(
            err.starts_with("open ") && err.ends_with("/missing: no such file or directory"),
            "{err}"
        );
    }
}
