//! Merging a config into one that is already JSON: a Butane snippet into a
//! host's rendered config, by the rules of [`super::merge_untracked`].
//!
//! A host's config is mostly what the snippet does not touch (its files
//! and their contents), so converting all of it to the reflected form and
//! back would cost more than the merge. Instead the walk follows the
//! snippet: a section the snippet leaves empty is left as it is, a keyed
//! list changes only where the snippet has items under its handle, and
//! only the parent's items whose key the snippet names are converted and
//! merged by the full rules. The result equals converting, merging and
//! converting back (a test below checks this on every pair of corpus
//! outputs).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::super::json::{
    is_empty, json_into_val, json_to_val, omitempty, val_into_value, val_to_json,
};
use super::super::reflect::{Kind, Struct, Val, call_key};
use super::{child_entries, merge_untracked};

/// Merges `child` over `parent`, a config's JSON object.
pub(crate) fn merge_into_json(parent: &mut Value, child: &Struct) {
    if !parent.is_object() {
        *parent = Value::Object(Map::new());
    }
    let Value::Object(map) = parent else {
        unreachable!("made an object above");
    };
    merge_object(map, child);
}

fn merge_object(map: &mut Map<String, Value>, child: &Struct) {
    let info = child.info;
    let child_keys = child_entries(child);
    for (f, cv) in info.fields.iter().zip(&child.fields) {
        match cv {
            Val::Struct(cs) => {
                let entry = map
                    .entry(f.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Value::Object(inner) = entry else {
                    unreachable!("made an object above");
                };
                merge_object(inner, cs);
                if inner.is_empty() && omitempty(child, f) {
                    map.remove(f.json);
                }
            }
            // A pointer the child leaves nil keeps the parent's value.
            Val::Ptr(None) => {}
            Val::List(cl) if info.ignores(f.go_name) => {
                if cl.is_empty() {
                    continue;
                }
                let mut items = take_list(map, f.json);
                items.extend(cl.iter().map(val_to_json));
                map.insert(f.json.to_string(), Value::Array(items));
            }
            Val::List(cl) => {
                let handle = info.handle(f.go_name);
                // Without child items under its handle, no parent item
                // is merged, dropped or joined: the list stays.
                if !child_keys.keys().any(|(h, _)| *h == handle) {
                    continue;
                }
                let Kind::List(item_kind) = (f.kind)() else {
                    unreachable!("a list field has a list kind");
                };
                let item_kind = item_kind();
                let parent_items = take_list(map, f.json);
                let mut parent_keys = HashSet::with_capacity(parent_items.len());
                let mut out = Vec::with_capacity(parent_items.len() + cl.len());
                for item in parent_items {
                    let key = json_key(&item, &item_kind);
                    let found = child_keys.get(&(handle, key.clone()));
                    parent_keys.insert(key);
                    match found {
                        Some(&(Val::Struct(cs), list, _)) if list == f.go_name => {
                            if f.go_name == "HTTPHeaders"
                                && matches!(cs.get("value"), Some(Val::Ptr(None)))
                            {
                                continue;
                            }
                            let Val::Struct(ps) = json_into_val(item, &item_kind) else {
                                unreachable!("an item of a struct list is a struct");
                            };
                            out.push(val_into_value(Val::Struct(merge_untracked(ps, cs))));
                        }
                        Some(&(citem, list, _)) if list == f.go_name => {
                            out.push(val_to_json(citem))
                        }
                        // Under the same handle in another list, which
                        // brings it in.
                        Some(_) => {}
                        None => out.push(item),
                    }
                }
                for item in cl {
                    if !parent_keys.contains(&call_key(item)) {
                        out.push(val_to_json(item));
                    }
                }
                if !out.is_empty() {
                    map.insert(f.json.to_string(), Value::Array(out));
                }
            }
            // Primitives and pointers the child sets: the child's value.
            _ => {
                if omitempty(child, f) && is_empty(cv) {
                    map.remove(f.json);
                } else {
                    map.insert(f.json.to_string(), val_to_json(cv));
                }
            }
        }
    }
}

/// The list at `key`, removed from `map` (empty when there is none).
fn take_list(map: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match map.remove(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// An item's `Key()`, reading only its primitive fields, which are all
/// that keys are made of.
fn json_key(item: &Value, kind: &Kind) -> String {
    match (kind, item) {
        (Kind::Struct(info), Value::Object(obj)) => {
            let Some(key) = info.key else {
                return String::new();
            };
            let shallow = Struct {
                info,
                fields: info
                    .fields
                    .iter()
                    .map(|f| match obj.get(f.json) {
                        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                            json_to_val(v, &(f.kind)())
                        }
                        _ => Val::Ptr(None),
                    })
                    .collect(),
            };
            key(&shallow)
        }
        _ => call_key(&json_to_val(item, kind)),
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
                merge_into_json(&mut got, &c);
                // Both sides in normal form, as the host's config is
                // re-read by its spec afterwards.
                let got = into_value(value_into_val(got));
                assert_eq!(got, want, "parent {parent}\nchild {child}");
            }
        }
    }
}
