//! Config merging: Ignition's `merge.MergeStructTranscribe`
//! (config/merge/merge.go), with its transcript of where every field of
//! the result came from.
//!
//! The rules, from merge.go: primitives take the child's value; pointers
//! take the child's unless it is nil; structs merge field by field; lists
//! in `IgnoreDuplicates()` are concatenated; other lists merge items with
//! the same `Key()` and append the child's new ones, and lists sharing a
//! `MergedKeys()` handle (files, directories, links) drop a parent item
//! whose key the child uses in another of those lists. An HTTP header in
//! the child without a value removes the parent's header.
//!
//! The transcript lists, in the order merge.go produces them, every
//! populated leaf of the result and every struct wholly taken from one
//! side (after its fields); merged structs and lists themselves get no
//! entry. Butane's translation needs it to map messages back to the
//! document; merging snippets into rendered configs does not, and
//! [`merge_untracked`] skips it, paths and all.

use std::collections::{HashMap, HashSet};

use super::reflect::{FieldValue, Struct, Val, call_key};
use super::types::Config;
use crate::butane::report::Path;

/// One output field and the input field it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Whether `from` is in the child config (else in the parent).
    pub from_child: bool,
    pub from: Path,
    pub to: Path,
}

/// The mappings of a merge, in upstream's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    pub mappings: Vec<Mapping>,
}

impl std::fmt::Display for Transcript {
    /// Upstream's `Transcript.String`: `parent:$.a → $.a` per line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, m) in self.mappings.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let tag = if m.from_child { "child" } else { "parent" };
            write!(f, "{tag}:{} → {}", m.from, m.to)?;
        }
        Ok(())
    }
}

/// Merges `child` over `parent`.
pub fn merge(parent: &Config, child: &Config) -> (Config, Transcript) {
    let (Val::Struct(p), Val::Struct(c)) = (parent.to_val(), child.to_val()) else {
        return (child.clone(), Transcript::default());
    };
    let mut m = Merger {
        transcript: Transcript::default(),
    };
    let root = Path::json();
    let result = m.merge_struct(p, &root, &c, &root, &root);
    (Config::from_val(Val::Struct(result)), m.transcript)
}

/// Merges `child` over `parent` as [`merge`] does, without the transcript.
pub fn merge_configs(parent: &Config, child: &Config) -> Config {
    let (Val::Struct(p), Val::Struct(c)) = (parent.to_val(), child.to_val()) else {
        return child.clone();
    };
    Config::from_val(Val::Struct(merge_untracked(p, &c)))
}

/// Merges `child` over `parent`, two configs (or any two structs of one
/// type) in reflected form, with the same rules as [`merge`] but no
/// transcript. What the result keeps of `parent` is moved, not copied.
pub(crate) fn merge_untracked(parent: Struct, child: &Struct) -> Struct {
    let mut m = Merger {
        transcript: Transcript::default(),
    };
    m.merge_struct(parent, &(), child, &(), &())
}

/// Where the merge is in the parent, child and result: a [`Path`] when
/// the transcript is wanted, else nothing at all, so that merging without
/// one builds no paths.
trait Trail: Sized {
    /// Whether mappings are recorded.
    const RECORDS: bool;
    fn field(&self, json: &'static str) -> Self;
    fn index(&self, i: usize) -> Self;
    fn path(&self) -> Path;
}

impl Trail for Path {
    const RECORDS: bool = true;
    fn field(&self, json: &'static str) -> Path {
        self.with(json)
    }
    fn index(&self, i: usize) -> Path {
        self.with(i)
    }
    fn path(&self) -> Path {
        self.clone()
    }
}

impl Trail for () {
    const RECORDS: bool = false;
    fn field(&self, _: &'static str) {}
    fn index(&self, _: usize) {}
    fn path(&self) -> Path {
        Path::default()
    }
}

struct Merger {
    transcript: Transcript,
}

/// Where a key was found in the child: the list's Go name and the index.
type ChildEntry<'a> = (&'a Val, &'static str, usize);

impl Merger {
    fn merge_struct<T: Trail>(
        &mut self,
        parent: Struct,
        pp: &T,
        child: &Struct,
        cp: &T,
        rp: &T,
    ) -> Struct {
        let info = parent.info;
        let child_keys = child_entries(child);
        let mut fields = Vec::with_capacity(info.fields.len());
        for ((f, pv), cv) in info.fields.iter().zip(parent.fields).zip(&child.fields) {
            let (pfp, cfp, rfp) = (pp.field(f.json), cp.field(f.json), rp.field(f.json));
            let value = match (pv, cv) {
                (Val::Struct(ps), Val::Struct(cs)) => {
                    Val::Struct(self.merge_struct(ps, &pfp, cs, &cfp, &rfp))
                }
                (pv @ Val::Ptr(_), Val::Ptr(None)) => {
                    self.transcribe(false, &pfp, &rfp, &pv);
                    pv
                }
                (Val::List(pl), Val::List(cl)) if info.ignores(f.go_name) => {
                    let mut out = Vec::with_capacity(pl.len() + cl.len());
                    let parents = pl.len();
                    for (j, item) in pl.into_iter().enumerate() {
                        self.transcribe(false, &pfp.index(j), &rfp.index(j), &item);
                        out.push(item);
                    }
                    for (j, item) in cl.iter().enumerate() {
                        self.transcribe(true, &cfp.index(j), &rfp.index(parents + j), item);
                        out.push(item.clone());
                    }
                    Val::List(out)
                }
                (Val::List(pl), Val::List(cl)) => {
                    let lists = Lists {
                        go_name: f.go_name,
                        handle: info.handle(f.go_name),
                    };
                    Val::List(self.merge_keyed(pl, &pfp, cl, &cfp, &rfp, lists, &child_keys))
                }
                // Primitives, and pointers the child sets.
                _ => {
                    self.transcribe(true, &cfp, &rfp, cv);
                    cv.clone()
                }
            };
            fields.push(value);
        }
        Struct { info, fields }
    }

    /// The keyed-list case of `mergeStruct` ("ooph, this is a doosey").
    #[allow(clippy::too_many_arguments)]
    fn merge_keyed<T: Trail>(
        &mut self,
        pl: Vec<Val>,
        pfp: &T,
        cl: &[Val],
        cfp: &T,
        rfp: &T,
        lists: Lists,
        child_keys: &HashMap<(&str, String), ChildEntry>,
    ) -> Vec<Val> {
        let mut out: Vec<Val> = Vec::with_capacity(pl.len() + cl.len());
        let parent_keys: HashSet<String> = pl.iter().map(call_key).collect();
        for (i, item) in pl.into_iter().enumerate() {
            let rip = rfp.index(out.len());
            match child_keys.get(&(lists.handle, call_key(&item))) {
                // In the child, in this same list: merge.
                Some(&(citem, list, ci)) if list == lists.go_name => match (item, citem) {
                    (Val::Struct(ps), Val::Struct(cs)) => {
                        if lists.go_name == "HTTPHeaders"
                            && matches!(cs.get("value"), Some(Val::Ptr(None)))
                        {
                            continue;
                        }
                        out.push(Val::Struct(self.merge_struct(
                            ps,
                            &pfp.index(i),
                            cs,
                            &cfp.index(ci),
                            &rip,
                        )));
                    }
                    _ => {
                        self.transcribe(true, &cfp.index(ci), &rip, citem);
                        out.push(citem.clone());
                    }
                },
                // In the child, in another list sharing the handle: that
                // list brings it in.
                Some(_) => {}
                None => {
                    self.transcribe(false, &pfp.index(i), &rip, &item);
                    out.push(item);
                }
            }
        }
        for (i, item) in cl.iter().enumerate() {
            if !parent_keys.contains(&call_key(item)) {
                let rip = rfp.index(out.len());
                self.transcribe(true, &cfp.index(i), &rip, item);
                out.push(item.clone());
            }
        }
        out
    }

    /// `transcribe`: map every populated leaf of a wholly copied subtree,
    /// and each struct in it after its fields. Returns whether anything
    /// was mapped.
    fn transcribe<T: Trail>(&mut self, from_child: bool, from: &T, to: &T, v: &Val) -> bool {
        if !T::RECORDS {
            return false;
        }
        let populated = match v {
            Val::Str(s) => !s.is_empty(),
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Ptr(p) => p.is_some(),
            Val::Struct(s) => {
                let mut any = false;
                for (f, fv) in s.info.fields.iter().zip(&s.fields) {
                    any |= self.transcribe(from_child, &from.field(f.json), &to.field(f.json), fv);
                }
                any
            }
            Val::List(items) => {
                let mut any = false;
                for (i, item) in items.iter().enumerate() {
                    any |= self.transcribe(from_child, &from.index(i), &to.index(i), item);
                }
                return any;
            }
        };
        if populated {
            self.transcript.mappings.push(Mapping {
                from_child,
                from: from.path(),
                to: to.path(),
            });
        }
        populated
    }
}

/// A keyed list: its Go field name and its key handle.
#[derive(Clone, Copy)]
struct Lists {
    go_name: &'static str,
    handle: &'static str,
}

/// `newStructInfo`'s key index of the child's lists: (handle, key) to the
/// item, its list and index; a later item with the same key wins.
fn child_entries(child: &Struct) -> HashMap<(&'static str, String), ChildEntry<'_>> {
    let mut m = HashMap::new();
    for (f, v) in child.info.fields.iter().zip(&child.fields) {
        let Val::List(items) = v else {
            continue;
        };
        if child.info.ignores(f.go_name) {
            continue;
        }
        let handle = child.info.handle(f.go_name);
        for (j, item) in items.iter().enumerate() {
            m.insert((handle, call_key(item)), (item, f.go_name, j));
        }
    }
    m
}

mod json;
pub(crate) use json::merge_into_json;

#[cfg(test)]
mod tests;
