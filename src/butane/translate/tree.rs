//! Trees: directories of the files-dir embedded file by file. Files get
//! mode 0755 when executable for anyone, 0644 otherwise; symlinks become
//! links. An entry of `storage.files` or `storage.links` at the same path
//! without contents (or target) sets the node's other attributes; any
//! other node already at that path is an error.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path as FsPath;

use super::super::ign;
use super::super::messages as msg;
use super::super::report::{Path, Report, path};
use super::super::schema::Config;
use super::super::yaml::lossy_string;
use super::local::{clean, ensure_within, go_error_op, join_clean};
use super::resource::make_data_url;
use super::{Options, TranslationSet};

pub(super) fn process_trees(
    c: &Config,
    opts: &Options,
    out: &mut ign::Config,
    ts: &mut TranslationSet,
    r: &mut Report,
) {
    if c.storage.trees.is_empty() {
        return;
    }
    for (i, tree) in c.storage.trees.iter().enumerate() {
        let yaml = path!(yaml; "storage", "trees", i);
        let Some(dir) = &opts.files_dir else {
            r.error(yaml, msg::NO_FILES_DIR);
            return;
        };
        let src = join_clean(dir, &tree.local);
        if let Err(e) = ensure_within(&src, dir) {
            r.error(yaml, e);
            continue;
        }
        match fs::metadata(&src) {
            Err(e) => {
                r.error(yaml, go_error_op(&e, "stat", &src));
                continue;
            }
            Ok(m) if !m.is_dir() => {
                r.error(yaml, msg::TREE_NOT_DIRECTORY);
                continue;
            }
            Ok(_) => {}
        }
        let dest = tree
            .path
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        let mut walk = Walk {
            yaml: &yaml,
            out,
            ts,
            r,
        };
        walk.visit(&src, &src, dest);
    }
}

struct Walk<'a> {
    yaml: &'a Path,
    out: &'a mut ign::Config,
    ts: &'a mut TranslationSet,
    r: &'a mut Report,
}

impl Walk<'_> {
    /// Go's `filepath.Walk`: `lstat`, then each directory's entries in
    /// name order; errors are reported and the walk goes on.
    fn visit(&mut self, base: &FsPath, src: &FsPath, dest_base: &str) {
        let meta = match fs::symlink_metadata(src) {
            Ok(m) => m,
            Err(e) => {
                self.r
                    .error(self.yaml.clone(), go_error_op(&e, "lstat", src));
                return;
            }
        };
        let rel = src.strip_prefix(base).unwrap_or(src);
        let rel = if rel.as_os_str().is_empty() {
            ".".to_string()
        } else {
            // Go keeps the bytes, and its JSON encoder writes each
            // invalid one as U+FFFD.
            lossy_string(rel.as_os_str().as_bytes())
        };
        let dest = clean(&format!("{dest_base}/{rel}"));
        let kind = meta.file_type();
        if kind.is_dir() {
            let mut names = match fs::read_dir(src) {
                Ok(entries) => entries
                    .filter_map(|e| e.ok().map(|e| e.file_name()))
                    .collect::<Vec<_>>(),
                Err(e) => {
                    self.r
                        .error(self.yaml.clone(), go_error_op(&e, "open", src));
                    return;
                }
            };
            names.sort();
            for name in names {
                self.visit(base, &src.join(name), dest_base);
            }
        } else if kind.is_file() {
            let executable = meta.permissions().mode() & 0o111 != 0;
            self.file(src, &dest, executable);
        } else if kind.is_symlink() {
            self.link(src, &dest);
        } else {
            self.r.error(self.yaml.clone(), msg::FILE_TYPE);
        }
    }

    fn exists(&self, dest: &str) -> bool {
        let s = &self.out.storage;
        s.files.iter().any(|f| f.path == dest)
            || s.directories.iter().any(|d| d.path == dest)
            || s.links.iter().any(|l| l.path == dest)
    }

    fn file(&mut self, src: &FsPath, dest: &str, executable: bool) {
        let files = path!(json; "storage", "files");
        // Upstream's node tracker maps each path to its last entry.
        let i = match self.out.storage.files.iter().rposition(|f| f.path == dest) {
            Some(i) => {
                if !self.out.storage.files[i]
                    .contents
                    .source
                    .as_deref()
                    .unwrap_or("")
                    .is_empty()
                {
                    self.r.error(self.yaml.clone(), msg::NODE_EXISTS);
                    return;
                }
                i
            }
            None => {
                if self.exists(dest) {
                    self.r.error(self.yaml.clone(), msg::NODE_EXISTS);
                    return;
                }
                let file = ign::File {
                    path: dest.to_string(),
                    ..Default::default()
                };
                let i = self.out.storage.files.len();
                self.ts
                    .add_from_common_source(self.yaml, &files.with(i), &file);
                if i == 0 {
                    self.ts.add(self.yaml.clone(), files.clone());
                }
                self.out.storage.files.push(file);
                i
            }
        };
        let contents = match fs::read(src) {
            Ok(c) => c,
            Err(e) => {
                self.r
                    .error(self.yaml.clone(), go_error_op(&e, "open", src));
                return;
            }
        };
        let at = files.with(i);
        let file = &mut self.out.storage.files[i];
        let (url, compression) =
            make_data_url(&contents, file.contents.compression.as_deref(), true);
        file.contents.source = Some(url);
        self.ts
            .add(self.yaml.clone(), at.with("contents").with("source"));
        if let Some(c) = compression {
            file.contents.compression = Some(c.to_string());
            self.ts
                .add(self.yaml.clone(), at.with("contents").with("compression"));
        }
        self.ts.add(self.yaml.clone(), at.with("contents"));
        if file.mode.is_none() {
            file.mode = Some(if executable { 0o755 } else { 0o644 });
            self.ts.add(self.yaml.clone(), at.with("mode"));
        }
    }

    fn link(&mut self, src: &FsPath, dest: &str) {
        let links = path!(json; "storage", "links");
        let i = match self.out.storage.links.iter().rposition(|l| l.path == dest) {
            Some(i) => {
                if !self.out.storage.links[i]
                    .target
                    .as_deref()
                    .unwrap_or("")
                    .is_empty()
                {
                    self.r.error(self.yaml.clone(), msg::NODE_EXISTS);
                    return;
                }
                i
            }
            None => {
                if self.exists(dest) {
                    self.r.error(self.yaml.clone(), msg::NODE_EXISTS);
                    return;
                }
                let link = ign::Link {
                    path: dest.to_string(),
                    ..Default::default()
                };
                let i = self.out.storage.links.len();
                self.ts
                    .add_from_common_source(self.yaml, &links.with(i), &link);
                if i == 0 {
                    self.ts.add(self.yaml.clone(), links.clone());
                }
                self.out.storage.links.push(link);
                i
            }
        };
        match fs::read_link(src) {
            Ok(target) => {
                self.out.storage.links[i].target =
                    Some(lossy_string(target.as_os_str().as_bytes()));
                self.ts.add(self.yaml.clone(), links.with(i).with("target"));
            }
            Err(e) => self
                .r
                .error(self.yaml.clone(), go_error_op(&e, "readlink", src)),
        }
    }
}
