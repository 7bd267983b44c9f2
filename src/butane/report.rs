//! Reports of Butane translation: entries with a kind, a message, the path
//! they concern and, once correlated with the source, a line and column.
//!
//! This mirrors the report format of CoreOS's `vcontext`, which upstream
//! `butane` prints, so that messages read the same:
//! `error at $.storage.files.0.path, line 5 col 13: path not absolute`.
//! Paths are either in the Butane document (`yaml`, snake_case keys) or in
//! the Ignition config being built (`json`, camelCase keys); the translation
//! set maps the second onto the first before a report is shown.

use std::borrow::Cow;
use std::fmt;

/// One step of a path: a field or key by name, an index into a list, or a
/// mapping key itself (for messages about the key rather than its value,
/// such as "unused key"). Field names are nearly always the schema's own,
/// so they are borrowed: paths are built for every field translated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Elem {
    Field(Cow<'static, str>),
    Index(usize),
    Key(String),
}

impl From<&'static str> for Elem {
    fn from(s: &'static str) -> Elem {
        Elem::Field(Cow::Borrowed(s))
    }
}

impl From<String> for Elem {
    fn from(s: String) -> Elem {
        Elem::Field(Cow::Owned(s))
    }
}

impl From<usize> for Elem {
    fn from(i: usize) -> Elem {
        Elem::Index(i)
    }
}

impl fmt::Display for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Elem::Field(s) => f.write_str(s),
            Elem::Key(s) => f.write_str(s),
            Elem::Index(i) => write!(f, "{i}"),
        }
    }
}

/// Which document a path points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Tag {
    /// The Butane (YAML) document.
    #[default]
    Yaml,
    /// The Ignition (JSON) config.
    Json,
}

/// A path from the root of a document, printed as `$.a.0.b`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Path {
    pub tag: Tag,
    pub elems: Vec<Elem>,
}

impl Path {
    pub fn yaml() -> Path {
        Path {
            tag: Tag::Yaml,
            elems: Vec::new(),
        }
    }

    pub fn json() -> Path {
        Path {
            tag: Tag::Json,
            elems: Vec::new(),
        }
    }

    /// This path with one more step.
    pub fn with(&self, e: impl Into<Elem>) -> Path {
        // Sized for the new step at once: cloning, then pushing, would
        // allocate twice.
        let mut elems = Vec::with_capacity(self.elems.len() + 1);
        elems.extend(self.elems.iter().cloned());
        elems.push(e.into());
        Path {
            tag: self.tag,
            elems,
        }
    }

    /// This path followed by the steps of `other` (whose tag is ignored).
    pub fn join(&self, other: &Path) -> Path {
        let mut p = self.clone();
        p.elems.extend(other.elems.iter().cloned());
        p
    }

    /// This path without its last step.
    pub fn parent(&self) -> Path {
        let mut p = self.clone();
        p.elems.pop();
        p
    }

    pub fn is_empty(&self) -> bool {
        self.elems.is_empty()
    }

    pub fn len(&self) -> usize {
        self.elems.len()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for e in &self.elems {
            write!(f, ".{e}")?;
        }
        Ok(())
    }
}

/// Builds a path from a tag and steps: `path!(yaml; "storage", "files", 0)`.
#[macro_export]
#[doc(hidden)]
macro_rules! butane_path {
    (yaml $(; $($e:expr),* )?) => {{
        #[allow(unused_mut)]
        let mut p = $crate::butane::report::Path::yaml();
        $($( p.elems.push($crate::butane::report::Elem::from($e)); )*)?
        p
    }};
    (json $(; $($e:expr),* )?) => {{
        #[allow(unused_mut)]
        let mut p = $crate::butane::report::Path::json();
        $($( p.elems.push($crate::butane::report::Elem::from($e)); )*)?
        p
    }};
}
pub use crate::butane_path as path;

/// How serious an entry is. Only errors make a translation fail; warnings
/// fail it under `--strict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Error,
    Warn,
    Info,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Warn => "warning",
            Kind::Info => "info",
        }
    }
}

/// A line and column in the source, both 1-based; columns count characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub message: String,
    pub path: Path,
    pub marker: Option<Pos>,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        match (self.marker, self.path.is_empty()) {
            (Some(p), false) => write!(f, " at {}, line {} col {}", self.path, p.line, p.column)?,
            (Some(p), true) => write!(f, " at line {} col {}", p.line, p.column)?,
            (None, false) => write!(f, " at {}", self.path)?,
            (None, true) => {}
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub entries: Vec<Entry>,
}

impl Report {
    pub fn new() -> Report {
        Report::default()
    }

    pub fn add(&mut self, kind: Kind, path: Path, message: impl Into<String>) {
        self.entries.push(Entry {
            kind,
            message: message.into(),
            path,
            marker: None,
        });
    }

    pub fn error(&mut self, path: Path, message: impl Into<String>) {
        self.add(Kind::Error, path, message);
    }

    pub fn warn(&mut self, path: Path, message: impl Into<String>) {
        self.add(Kind::Warn, path, message);
    }

    pub fn info(&mut self, path: Path, message: impl Into<String>) {
        self.add(Kind::Info, path, message);
    }

    pub fn merge(&mut self, other: Report) {
        self.entries.extend(other.entries);
    }

    pub fn is_fatal(&self) -> bool {
        self.entries.iter().any(|e| e.kind == Kind::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry's path, prefixed by `prefix`'s steps.
    pub fn prefixed(mut self, prefix: &Path) -> Report {
        for e in &mut self.entries {
            let mut elems = prefix.elems.clone();
            elems.append(&mut e.path.elems);
            e.path.elems = elems;
        }
        self
    }
}

impl fmt::Display for Report {
    /// One entry per line, each ending in a newline, as upstream prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_as_upstream_prints_them() {
        let mut r = Report::new();
        r.error(
            path!(yaml; "storage", "files", 0usize, "path"),
            "path not absolute",
        );
        r.entries[0].marker = Some(Pos {
            line: 5,
            column: 13,
        });
        r.warn(Path::yaml(), "bare");
        r.add(Kind::Info, path!(json; "a"), "no marker");
        assert_eq!(
            r.to_string(),
            "error at $.storage.files.0.path, line 5 col 13: path not absolute\n\
             warning: bare\n\
             info at $.a: no marker\n"
        );
    }
}
