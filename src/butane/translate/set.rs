//! Translation sets: for each place in the Ignition config, the place in
//! the Butane document it came from, so that a problem found in the config
//! is reported where the user can fix it.
//!
//! This follows upstream's `translate.TranslationSet`. A field copied as
//! is maps to the same field (snake_case in the document, camelCase in the
//! config); generated content maps to what generated it (a mount unit to
//! its filesystem's `with_mount_unit`); a path with no entry falls back to
//! its own snake_cased form.
//!
//! Most documents translate without a single message, and then the set is
//! never read; building it costs as much as the rest of the translation.
//! So a translation may run [`untracked`], recording nothing, and is run
//! again, tracked, only when there is something to report.

use std::cell::Cell;
use std::collections::HashMap;

use super::super::ign::json::is_empty;
use super::super::ign::reflect::{FieldValue, Val};
use super::super::report::{Elem, Path, Report, Tag};

thread_local! {
    /// Whether sets record entries on this thread (see [`untracked`]).
    static TRACKING: Cell<bool> = const { Cell::new(true) };
}

/// Runs `f` with every translation set it builds left empty.
pub(crate) fn untracked<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            TRACKING.set(self.0);
        }
    }
    let _restore = Restore(TRACKING.replace(false));
    f()
}

/// Whether translation sets record entries here and now.
pub(crate) fn tracking() -> bool {
    TRACKING.get()
}

#[derive(Clone, Debug, Default)]
pub(crate) struct TranslationSet {
    /// Keyed by the Ignition (json) path.
    map: HashMap<Path, Path>,
}

impl TranslationSet {
    pub(crate) fn new() -> TranslationSet {
        TranslationSet::default()
    }

    /// `to` (in the config) came from `from` (in the document). A later
    /// entry for the same `to` replaces an earlier one.
    pub(crate) fn add(&mut self, from: Path, to: Path) {
        if !tracking() {
            return;
        }
        let mut to = to;
        to.tag = Tag::Json;
        self.map.insert(to, from);
    }

    pub(crate) fn get(&self, to: &Path) -> Option<&Path> {
        self.map.get(&json(to))
    }

    pub(crate) fn merge(&mut self, other: TranslationSet) {
        self.map.extend(other.map);
    }

    /// Every entry with `from_prefix` before its source and `to_prefix`
    /// before its destination.
    pub(crate) fn prefixed(self, from_prefix: &Path, to_prefix: &Path) -> TranslationSet {
        let map = self
            .map
            .into_iter()
            .map(|(to, from)| (json(&to_prefix.join(&to)), from_prefix.join(&from)))
            .collect();
        TranslationSet { map }
    }

    /// Entries for every part of `value` that upstream's translator records
    /// when it copies a value field by field: each set leaf, each non-empty
    /// list and each non-zero struct, from the same place under `from`.
    pub(crate) fn add_copied<T: FieldValue>(&mut self, from: &Path, to: &Path, value: &T) {
        if !tracking() {
            return;
        }
        let mut rel = Vec::new();
        copied_paths(&value.to_val(), &mut Vec::new(), &mut rel);
        for p in rel {
            self.add(from.join(&snake(&p)), to.join(&p));
        }
    }

    /// Entries mapping every field of `value` (set or not) and `to` itself
    /// to the one place `from`: for content that a single setting generated
    /// (upstream's `AddFromCommonSource`).
    pub(crate) fn add_from_common_source<T: FieldValue>(
        &mut self,
        from: &Path,
        to: &Path,
        value: &T,
    ) {
        if !tracking() {
            return;
        }
        let mut rel = Vec::new();
        all_paths(&value.to_val(), &mut Vec::new(), &mut rel);
        for p in rel {
            self.add(from.clone(), to.join(&p));
        }
        self.add(from.clone(), to.clone());
    }

    /// Maps each json path of `report` to the document: through the set,
    /// or by snake_casing it when the set has no entry.
    pub(crate) fn map_report(&self, mut report: Report) -> Report {
        for entry in &mut report.entries {
            if entry.path.tag == Tag::Json {
                entry.path = self.map_path(&entry.path);
            }
        }
        report
    }

    /// Where a json path came from in the document: its entry, or its
    /// snake_cased self.
    pub(crate) fn map_path(&self, to: &Path) -> Path {
        match self.get(to) {
            Some(from) => from.clone(),
            None => snake(to),
        }
    }
}

fn json(p: &Path) -> Path {
    Path {
        tag: Tag::Json,
        elems: p.elems.clone(),
    }
}

fn path(elems: &[Elem]) -> Path {
    Path {
        tag: Tag::Json,
        elems: elems.to_vec(),
    }
}

/// The paths that copying `v` records (upstream's `translateSameType`).
fn copied_paths(v: &Val, at: &mut Vec<Elem>, out: &mut Vec<Path>) {
    match v {
        Val::Str(_) | Val::Int(_) | Val::Bool(_) => out.push(path(at)),
        Val::Ptr(None) => {}
        Val::Ptr(Some(inner)) => copied_paths(inner, at, out),
        Val::List(items) => {
            if items.is_empty() {
                return;
            }
            for (i, item) in items.iter().enumerate() {
                at.push(Elem::Index(i));
                copied_paths(item, at, out);
                at.pop();
            }
            out.push(path(at));
        }
        Val::Struct(s) => {
            for (f, fv) in s.info.fields.iter().zip(&s.fields) {
                at.push(Elem::from(f.json));
                copied_paths(fv, at, out);
                at.pop();
            }
            if !is_empty(v) {
                out.push(path(at));
            }
        }
    }
}

/// Every field path within `v`, set or not (upstream's `getAllPaths` with
/// zero fields included), and each list item.
fn all_paths(v: &Val, at: &mut Vec<Elem>, out: &mut Vec<Path>) {
    match v {
        Val::Str(_) | Val::Int(_) | Val::Bool(_) | Val::Ptr(None) => {}
        Val::Ptr(Some(inner)) => all_paths(inner, at, out),
        Val::List(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Elem::Index(i));
                all_paths(item, at, out);
                out.push(path(at));
                at.pop();
            }
        }
        Val::Struct(s) => {
            for (f, fv) in s.info.fields.iter().zip(&s.fields) {
                at.push(Elem::from(f.json));
                all_paths(fv, at, out);
                out.push(path(at));
                at.pop();
            }
        }
    }
}

/// A json path in snake_case, as upstream's fallback converts it:
/// `sizeMiB` → `size_mib`, `httpHeaders` → `http_headers`.
pub(crate) fn snake(p: &Path) -> Path {
    Path {
        tag: p.tag,
        elems: p
            .elems
            .iter()
            .map(|e| match e {
                Elem::Field(s) => Elem::from(snake_case(s)),
                other => other.clone(),
            })
            .collect(),
    }
}

fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("MiB") {
            out.push_str("_mib");
            rest = tail;
            continue;
        }
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_follows_upstream() {
        assert_eq!(snake_case("sizeMiB"), "size_mib");
        assert_eq!(snake_case("httpHeaders"), "http_headers");
        assert_eq!(snake_case("typeGuid"), "type_guid");
        assert_eq!(snake_case("path"), "path");
        assert_eq!(snake_case("sshAuthorizedKeys"), "ssh_authorized_keys");
    }
}
