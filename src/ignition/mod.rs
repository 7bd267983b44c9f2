//! Small helpers over CoreOS's `ignition-config` crate: the spec versions we
//! write, file contents as data URLs, and turning a built config into the
//! chosen spec version and its canonical bytes.
//!
//! Configs are built with the newest supported spec's structs (v3.5) and then
//! read as the chosen version by the crate's own parser; a field the older
//! spec lacks shows up there as an unused key and becomes an error, so no
//! feature is ever dropped silently. Whether a config parses cleanly depends
//! only on its shape (which keys hold which kinds of value; the crate's
//! structs have no enums or value checks), so a [`SpecCheck`] parses each
//! shape once: the configs of a cluster's hosts share a handful of shapes.

mod data_url;
mod spec;

use std::collections::HashSet;

pub use data_url::{DataUrl, Encoder, decode_data_url, encode_contents};
pub use ignition_config::v3_5 as build;
pub use spec::SpecVersion;

use serde_json::Value;

use crate::error::{Error, Result};

/// A config in the chosen spec version, ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub spec: SpecVersion,
    /// The canonical JSON value, and its compact form without the final
    /// newline: what was checked, and what is written.
    value: Value,
    compact: Vec<u8>,
}

impl Config {
    /// Reads `built` as `spec`. `what` names the config in errors. For many
    /// configs, use one [`SpecCheck`].
    pub fn from_built(built: build::Config, spec: SpecVersion, what: &str) -> Result<Config> {
        SpecCheck::default().config(built, spec, what)
    }

    /// The config as canonical JSON, to read (not to write: see
    /// [`Config::to_bytes`]).
    pub fn json(&self) -> &Value {
        &self.value
    }

    /// The owners (user or group names) of files, directories and links
    /// that the config does not create (`passwd`) and that are not the
    /// ones Fedora CoreOS has (`root`, `core`): Ignition fails to apply
    /// such a config at first boot.
    pub fn unknown_owners(&self) -> Vec<UnknownOwner> {
        let names = |list: &str| -> Vec<&str> {
            self.value
                .pointer(&format!("/passwd/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|u| u.get("name")?.as_str())
                .collect()
        };
        let (users, groups) = (names("users"), names("groups"));
        let known =
            |made: &[&str], name: &str| ["root", "core"].contains(&name) || made.contains(&name);
        let mut unknown = Vec::new();
        for kind in ["files", "directories", "links"] {
            let nodes = self
                .value
                .pointer(&format!("/storage/{kind}"))
                .and_then(Value::as_array);
            for node in nodes.into_iter().flatten() {
                let path = node.get("path").and_then(Value::as_str).unwrap_or("?");
                for (field, what, made) in [("user", "user", &users), ("group", "group", &groups)] {
                    let name = node
                        .pointer(&format!("/{field}/name"))
                        .and_then(Value::as_str);
                    if let Some(name) = name.filter(|n| !known(made, n)) {
                        unknown.push(UnknownOwner {
                            path: path.to_string(),
                            what,
                            name: name.to_string(),
                        });
                    }
                }
            }
        }
        unknown
    }

    /// The canonical bytes: JSON without the `null`s that the crate writes
    /// for unset fields (they mean the same as absent ones, and only hide
    /// what is set), keys in a fixed (sorted) order, and a trailing newline.
    pub fn to_bytes(&self, pretty: bool) -> Vec<u8> {
        let mut out = if pretty {
            serde_json::to_vec_pretty(&self.value).expect("JSON values serialize")
        } else {
            let mut out = Vec::with_capacity(self.compact.len() + 1);
            out.extend_from_slice(&self.compact);
            out
        };
        out.push(b'\n');
        out
    }
}

/// A node's owner that nothing creates: see [`Config::unknown_owners`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownOwner {
    pub path: String,
    /// `user` or `group`.
    pub what: &'static str,
    pub name: String,
}

/// Turns built configs into configs of a chosen spec, remembering the
/// shapes that the crate's parser has accepted for each spec.
#[derive(Default)]
pub struct SpecCheck {
    accepted: HashSet<(SpecVersion, String)>,
}

impl SpecCheck {
    /// Reads `built` as `spec`; `what` names the config in errors.
    ///
    /// The canonical JSON is made once: the same value is checked and
    /// written, and a server answering many requests serializes each config
    /// only once.
    pub fn config(
        &mut self,
        built: build::Config,
        spec: SpecVersion,
        what: &str,
    ) -> Result<Config> {
        self.config_with(built, spec, what, |_| {})
    }

    /// Like [`SpecCheck::config`], with `adjust` changing the config's JSON
    /// value (merging Butane snippets into it) before it is checked.
    pub fn config_with(
        &mut self,
        mut built: build::Config,
        spec: SpecVersion,
        what: &str,
        adjust: impl FnOnce(&mut Value),
    ) -> Result<Config> {
        built.ignition.version = spec.as_str().to_string();
        let mut value = serde_json::to_value(&built).map_err(|e| {
            Error::new(format!("cannot serialize the config of {what}")).with_source(e)
        })?;
        strip_nulls(&mut value);
        adjust(&mut value);
        let compact = serde_json::to_vec(&value).expect("JSON values serialize");
        let mut key = (spec, String::new());
        shape(&value, &mut key.1);
        if !self.accepted.contains(&key) {
            check(&compact, spec, what)?;
            self.accepted.insert(key);
        }
        Ok(Config {
            spec,
            value,
            compact,
        })
    }
}

/// Parses `compact` as `spec` with the crate's own parser.
fn check(compact: &[u8], spec: SpecVersion, what: &str) -> Result<()> {
    let (_, warnings) = ignition_config::Config::parse_slice(compact).map_err(|e| {
        Error::new(format!("the config of {what} is not valid spec {spec}")).with_source(e)
    })?;
    if let Some(warning) = warnings.first() {
        return Err(Error::new(format!(
            "the config of {what} uses a field that Ignition spec {spec} lacks ({warning}); \
             choose a newer spec with --spec or `spec` in cluster.toml"
        )));
    }
    Ok(())
}

/// Writes the shape of `value` to `out`: its keys and the kinds of their
/// values, with the distinct shapes of an array's items in sorted order.
fn shape(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push('0'),
        Value::Bool(_) => out.push('b'),
        Value::Number(_) => out.push('n'),
        Value::String(_) => out.push('s'),
        Value::Array(items) => {
            let mut shapes: Vec<String> = Vec::new();
            for item in items {
                let mut item_shape = String::new();
                shape(item, &mut item_shape);
                if !shapes.contains(&item_shape) {
                    shapes.push(item_shape);
                }
            }
            shapes.sort();
            out.push('[');
            out.push_str(&shapes.join(","));
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (key, value) in map {
                // Keys are the crate's field names: no quotes to escape.
                out.push_str(key);
                out.push(':');
                shape(value, out);
                out.push(',');
            }
            out.push('}');
        }
    }
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_newer_specs_are_refused() {
        let mut built = build::Config::default();
        let mut luks = build::Luks::new("data".into());
        luks.discard = Some(true);
        built.storage = Some(build::Storage {
            luks: Some(vec![luks]),
            ..Default::default()
        });
        let err = Config::from_built(built.clone(), SpecVersion::V3_3, "node1").unwrap_err();
        assert!(err.to_string().contains("discard"), "{err}");
        assert!(err.to_string().contains("3.3.0"), "{err}");
        Config::from_built(built, SpecVersion::V3_4, "node1").unwrap();
    }

    #[test]
    fn a_remembered_shape_is_checked_again_for_another_spec_or_key() {
        let mut check = SpecCheck::default();
        let file = |path: &str| {
            let mut file = build::File::new(path.into());
            file.mode = Some(0o644);
            file
        };
        let with_files = |files: Vec<build::File>| build::Config {
            storage: Some(build::Storage {
                files: Some(files),
                ..Default::default()
            }),
            ..Default::default()
        };
        // One shape, whatever the number of like items.
        check
            .config(with_files(vec![file("/a")]), SpecVersion::V3_3, "x")
            .unwrap();
        check
            .config(
                with_files(vec![file("/b"), file("/c")]),
                SpecVersion::V3_3,
                "x",
            )
            .unwrap();
        assert_eq!(check.accepted.len(), 1);

        let mut luks = build::Luks::new("data".into());
        luks.discard = Some(true);
        let mut built = with_files(vec![file("/a")]);
        built.storage.as_mut().unwrap().luks = Some(vec![luks]);
        check.config(built.clone(), SpecVersion::V3_4, "x").unwrap();
        let err = check.config(built, SpecVersion::V3_3, "x").unwrap_err();
        assert!(err.to_string().contains("discard"), "{err}");
    }

    #[test]
    fn shapes_tell_kinds_and_keys_apart() {
        use serde_json::json;
        let of = |v: Value| {
            let mut out = String::new();
            shape(&v, &mut out);
            out
        };
        assert_eq!(of(json!({"a": [1, 2, "x", 3]})), "{a:[n,s],}");
        assert_ne!(of(json!({"a": 1})), of(json!({"b": 1})));
        assert_ne!(of(json!({"a": 1})), of(json!({"a": "1"})));
        assert_eq!(
            of(json!([{"p": "x"}, {"p": "y", "m": 1}])),
            of(json!([{"p": "y", "m": 2}, {"p": "x"}]))
        );
    }

    #[test]
    fn output_names_the_chosen_version() {
        let config = Config::from_built(build::Config::default(), SpecVersion::V3_3, "x").unwrap();
        let text = String::from_utf8(config.to_bytes(false)).unwrap();
        assert_eq!(text, "{\"ignition\":{\"version\":\"3.3.0\"}}\n");
    }
}
