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
//! entry.

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
    let result = m.merge_struct(&p, &root, &c, &root, &root);
    (Config::from_val(Val::Struct(result)), m.transcript)
}

struct Merger {
    transcript: Transcript,
}

/// Where a key was found in the child: the list's Go name and the index.
type ChildEntry<'a> = (&'a Val, &'static str, usize);

impl Merger {
    fn merge_struct(
        &mut self,
        parent: &Struct,
        pp: &Path,
        child: &Struct,
        cp: &Path,
        rp: &Path,
    ) -> Struct {
        let info = parent.info;
        let child_keys = child_entries(child);
        let mut fields = Vec::with_capacity(info.fields.len());
        for (i, f) in info.fields.iter().enumerate() {
            let (pv, cv) = (&parent.fields[i], &child.fields[i]);
            let (pfp, cfp, rfp) = (pp.with(f.json), cp.with(f.json), rp.with(f.json));
            let value = match (pv, cv) {
                (Val::Struct(ps), Val::Struct(cs)) => {
                    Val::Struct(self.merge_struct(ps, &pfp, cs, &cfp, &rfp))
                }
                (Val::Ptr(_), Val::Ptr(None)) => {
                    self.transcribe(false, &pfp, &rfp, pv);
                    pv.clone()
                }
                (Val::List(pl), Val::List(cl)) if info.ignores(f.go_name) => {
                    let mut out = Vec::with_capacity(pl.len() + cl.len());
                    for (j, item) in pl.iter().enumerate() {
                        self.transcribe(false, &pfp.with(j), &rfp.with(j), item);
                        out.push(item.clone());
                    }
                    for (j, item) in cl.iter().enumerate() {
                        self.transcribe(true, &cfp.with(j), &rfp.with(pl.len() + j), item);
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
    fn merge_keyed(
        &mut self,
        pl: &[Val],
        pfp: &Path,
        cl: &[Val],
        cfp: &Path,
        rfp: &Path,
        lists: Lists,
        child_keys: &HashMap<(&str, String), ChildEntry>,
    ) -> Vec<Val> {
        let mut out: Vec<Val> = Vec::with_capacity(pl.len() + cl.len());
        let parent_keys: HashSet<String> = pl.iter().map(call_key).collect();
        for (i, item) in pl.iter().enumerate() {
            let rip = rfp.with(out.len());
            match child_keys.get(&(lists.handle, call_key(item))) {
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
                            &pfp.with(i),
                            cs,
                            &cfp.with(ci),
                            &rip,
                        )));
                    }
                    _ => {
                        self.transcribe(true, &cfp.with(ci), &rip, citem);
                        out.push(citem.clone());
                    }
                },
                // In the child, in another list sharing the handle: that
                // list brings it in.
                Some(_) => {}
                None => {
                    self.transcribe(false, &pfp.with(i), &rip, item);
                    out.push(item.clone());
                }
            }
        }
        for (i, item) in cl.iter().enumerate() {
            if !parent_keys.contains(&call_key(item)) {
                let rip = rfp.with(out.len());
                self.transcribe(true, &cfp.with(i), &rip, item);
                out.push(item.clone());
            }
        }
        out
    }

    /// `transcribe`: map every populated leaf of a wholly copied subtree,
    /// and each struct in it after its fields. Returns whether anything
    /// was mapped.
    fn transcribe(&mut self, from_child: bool, from: &Path, to: &Path, v: &Val) -> bool {
        let populated = match v {
            Val::Str(s) => !s.is_empty(),
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Ptr(p) => p.is_some(),
            Val::Struct(s) => {
                let mut any = false;
                for (f, fv) in s.info.fields.iter().zip(&s.fields) {
                    any |= self.transcribe(from_child, &from.with(f.json), &to.with(f.json), fv);
                }
                any
            }
            Val::List(items) => {
                let mut any = false;
                for (i, item) in items.iter().enumerate() {
                    any |= self.transcribe(from_child, &from.with(i), &to.with(i), item);
                }
                return any;
            }
        };
        if populated {
            self.transcript.mappings.push(Mapping {
                from_child,
                from: from.clone(),
                to: to.clone(),
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

#[cfg(test)]
mod tests;
