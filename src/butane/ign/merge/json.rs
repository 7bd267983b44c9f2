//! Merging a config into one that is already JSON: a Butane snippet into a
//! host's rendered config, by the rules of [`super::merge_untracked`].
//!
//! Both configs are JSON as coregen writes them (fields that are empty,
//! nil or zero left out), so a snippet's config stays small however many
//! fields the types have. A host's config is mostly what the snippet does
//! not touch (its files and their contents), so the walk follows the
//! snippet: a section the snippet leaves out is left as it is, a keyed
//! list changes only where the snippet has items under its handle, and
//! only the items whose key both sides name are converted to the reflected
//! form and merged by the full rules. The result equals converting,
//! merging and converting back (a test below checks this on every pair of
//! corpus outputs).
//!
//! A field the snippet leaves out changes nothing: it is a nil pointer or
//! an empty list, which keep the parent's, or an empty struct, which
//! changes nothing for the same reason. (Plain strings and numbers would
//! take the child's zero value, but outside keyed items, which are merged
//! in full, a config has one: `ignition.version`, which the snippet always
//! sets.)

use serde_json::{Map, Value};

use super::super::json::{field_omitempty, json_into_val, json_to_val, val_into_value};
use super::super::reflect::{Kind, StructInfo, Val};
use super::super::types::Config;
use super::merge_untracked;
use crate::butane::ign::reflect::FieldValue;

/// Merges `child` over `parent`, each a config's JSON object.
pub(crate) fn merge_into_json(parent: &mut Value, child: &Map<String, Value>) {
    if !parent.is_object() {
        *parent = Value::Object(Map::new());
    }
    let Value::Object(map) = parent else {
        unreachable!("made an object above");
    };
    let Kind::Struct(info) = Config::kind() else {
        unreachable!("a config is a struct");
    };
    merge_object(map, info, child);
}

fn merge_object(
    map: &mut Map<String, Value>,
    info: &'static StructInfo,
    child: &Map<String, Value>,
) {
    for f in info.fields {
        let Some(cv) = child.get(f.json) else {
            // A keyed list that the child leaves out still loses the
            // parent's items whose key the child names in another list of
            // the same handle (a kernel argument the child moves to
            // `shouldNotExist`, a file path it makes a directory).
            if let Kind::List(item_kind) = (f.kind)()
                && !info.ignores(f.go_name)
                && map.contains_key(f.json)
                && !keyed_under(info, child, info.handle(f.go_name)).is_empty()
            {
                merge_keyed(map, info, f.json, f.go_name, &item_kind(), &[], child);
            }
            continue;
        };
        match ((f.kind)(), cv) {
            (Kind::Struct(sub), Value::Object(cobj)) => {
                if cobj.is_empty() {
                    continue;
                }
                let entry = map
                    .entry(f.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Value::Object(inner) = entry else {
                    unreachable!("made an object above");
                };
                merge_object(inner, sub, cobj);
                if inner.is_empty() && field_omitempty(info, f) {
                    map.remove(f.json);
                }
            }
            (Kind::List(_), Value::Array(cl)) if info.ignores(f.go_name) => {
                let mut items = take_list(map, f.json);
                items.extend(cl.iter().cloned());
                map.insert(f.json.to_string(), Value::Array(items));
            }
            (Kind::List(item_kind), Value::Array(cl)) => {
                let item_kind = item_kind();
                merge_keyed(map, info, f.json, f.go_name, &item_kind, cl, child);
            }
            // Primitives and pointers the child sets: the child's value.
            _ => {
                map.insert(f.json.to_string(), cv.clone());
            }
        }
    }
}

/// A keyed list (Ignition's "ooph, this is a doosey" case): the parent's
/// items merged with the child's of the same key, dropped where the child
/// has the key in another list of the same handle, and the child's new
/// items after them.
fn merge_keyed(
    map: &mut Map<String, Value>,
    info: &'static StructInfo,
    json: &'static str,
    go_name: &'static str,
    item_kind: &Kind,
    cl: &[Value],
    child: &Map<String, Value>,
) {
    let keyed = keyed_under(info, child, info.handle(go_name));
    let parent_items = take_list(map, json);
    // The child's own items, and whether a parent item of this list has
    // the same key (then it is merged there, not added).
    let own: Vec<String> = cl.iter().map(|item| key_of(item, item_kind)).collect();
    let mut in_parent = vec![false; own.len()];
    let mut out = Vec::with_capacity(parent_items.len() + cl.len());
    let mut key = String::new();
    for item in parent_items {
        key.clear();
        write_key(&item, item_kind, &mut key);
        for (seen, own) in in_parent.iter_mut().zip(&own) {
            *seen |= *own == key;
        }
        // A later child item with the same key wins.
        match keyed.iter().rev().find(|(k, ..)| *k == key) {
            Some(&(_, citem @ Value::Object(cobj), list)) if list == go_name => {
                if go_name == "HTTPHeaders" && !cobj.contains_key("value") {
                    continue;
                }
                let (Val::Struct(ps), Val::Struct(cs)) = (
                    json_into_val(item, item_kind),
                    json_to_val(citem, item_kind),
                ) else {
                    unreachable!("items of a struct list are structs");
                };
                out.push(val_into_value(Val::Struct(merge_untracked(ps, &cs))));
            }
            Some(&(_, citem, list)) if list == go_name => out.push(citem.clone()),
            // Under the same handle in another list, which brings it in.
            Some(_) => {}
            None => out.push(item),
        }
    }
    for (item, seen) in cl.iter().zip(in_parent) {
        if !seen {
            out.push(item.clone());
        }
    }
    if !out.is_empty() {
        map.insert(json.to_string(), Value::Array(out));
    }
}

/// The items of the child's keyed lists under `handle`, in field order
/// and then item order, each with its key and the list's Go name (what
/// [`super::child_entries`] indexes, for one handle).
fn keyed_under<'a>(
    info: &'static StructInfo,
    child: &'a Map<String, Value>,
    handle: &str,
) -> Vec<(String, &'a Value, &'static str)> {
    let mut out = Vec::new();
    for f in info.fields {
        let (Kind::List(item_kind), Some(Value::Array(items))) = ((f.kind)(), child.get(f.json))
        else {
            continue;
        };
        if info.ignores(f.go_name) || info.handle(f.go_name) != handle {
            continue;
        }
        let item_kind = item_kind();
        out.extend(
            items
                .iter()
                .map(|item| (key_of(item, &item_kind), item, f.go_name)),
        );
    }
    out
}

/// The list at `key`, removed from `map` (empty when there is none).
fn take_list(map: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match map.remove(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn key_of(item: &Value, kind: &Kind) -> String {
    let mut key = String::new();
    write_key(item, kind, &mut key);
    key
}

/// An item's `Key()`, read off the JSON itself, written to `out`: a
/// string's own value, else the struct's key fields.
fn write_key(item: &Value, kind: &Kind, out: &mut String) {
    match (kind, item) {
        (Kind::Struct(info), Value::Object(obj)) => {
            if let Some(key) = info.key {
                key(obj, out);
            }
        }
        (_, Value::String(s)) => out.push_str(s),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::butane::ign::json::{val_into_value as into_value, value_into_val};
    use crate::butane::{Options, translate_document};
    use std::path::Path;

    /// Every pair of translated corpus documents, merged both ways: in
    /// JSON, and converted to the reflected form and back.
    #[test]
    fn equals_merging_the_reflected_form() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/butane-corpus");
        let opts = Options {
            files_dir: Some(corpus.join("files")),
        };
        let mut configs = Vec::new();
        for entry in std::fs::read_dir(&corpus).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "bu") {
                let text = std::fs::read(&path).unwrap();
                if let Ok(t) = translate_document(&text, &opts).result {
                    configs.push(crate::butane::ign::json::to_value(&t.config));
                }
            }
        }
        assert!(configs.len() > 30, "{} configs", configs.len());
        // Keys that the child names only in another list of their handle.
        configs.push(serde_json::json!({"ignition": {"version": "3.5.0"},
            "kernelArguments": {"shouldExist": ["x", "y"]},
            "storage": {"files": [{"path": "/a"}], "links": [{"path": "/c", "target": "/a"}]}}));
        configs.push(serde_json::json!({"ignition": {"version": "3.5.0"},
            "kernelArguments": {"shouldNotExist": ["x"]},
            "storage": {"directories": [{"path": "/a"}, {"path": "/c"}]}}));
        for parent in &configs {
            for child in &configs {
                let Val::Struct(c) = value_into_val(child.clone()) else {
                    unreachable!()
                };
                let Val::Struct(p) = value_into_val(parent.clone()) else {
                    unreachable!()
                };
                let want = into_value(Val::Struct(merge_untracked(p, &c)));
                let mut got = parent.clone();
                merge_into_json(&mut got, child.as_object().unwrap());
                // Both sides in normal form, as the host's config is
                // re-read by its spec afterwards.
                let got = into_value(value_into_val(got));
                assert_eq!(got, want, "parent {parent}\nchild {child}");
            }
        }
    }
}
