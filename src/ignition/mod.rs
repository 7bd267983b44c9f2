//! Small helpers over CoreOS's `ignition-config` crate: the spec versions we
//! write, file contents as data URLs, and turning a built config into the
//! chosen spec version and its canonical bytes.
//!
//! Configs are built with the newest supported spec's structs (v3.5) and then
//! re-read as the chosen version by the crate's own parser; a field the older
//! spec lacks shows up there as an unused key and becomes an error, so no
//! feature is ever dropped silently.

mod data_url;
mod spec;

pub use data_url::{DataUrl, Encoder, decode_data_url, encode_contents};
pub use ignition_config::v3_5 as build;
pub use spec::SpecVersion;

use crate::error::{Error, Result};

/// A config in the chosen spec version, ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub spec: SpecVersion,
    pub inner: ignition_config::Config,
    /// The canonical JSON value, and its compact form without the final
    /// newline: what was checked, and what is written.
    value: serde_json::Value,
    compact: Vec<u8>,
}

impl Config {
    /// Re-reads `built` as `spec`. `what` names the config in errors.
    ///
    /// The canonical JSON is made once and then parsed as `spec`: the same
    /// bytes are checked and written, and a server answering many requests
    /// serializes each config only once.
    pub fn from_built(mut built: build::Config, spec: SpecVersion, what: &str) -> Result<Config> {
        built.ignition.version = spec.as_str().to_string();
        let mut value = serde_json::to_value(&built).map_err(|e| {
            Error::new(format!("cannot serialize the config of {what}")).with_source(e)
        })?;
        strip_nulls(&mut value);
        let compact = serde_json::to_vec(&value).expect("JSON values serialize");
        let (inner, warnings) = ignition_config::Config::parse_slice(&compact).map_err(|e| {
            Error::new(format!("the config of {what} is not valid spec {spec}")).with_source(e)
        })?;
        if let Some(warning) = warnings.first() {
            return Err(Error::new(format!(
                "the config of {what} uses a field that Ignition spec {spec} lacks ({warning}); \
                 choose a newer spec with --spec or `spec` in cluster.toml"
            )));
        }
        Ok(Config {
            spec,
            inner,
            value,
            compact,
        })
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

fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
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
    fn output_names_the_chosen_version() {
        let config = Config::from_built(build::Config::default(), SpecVersion::V3_3, "x").unwrap();
        assert!(matches!(config.inner, ignition_config::Config::V3_3(_)));
        let text = String::from_utf8(config.to_bytes(false)).unwrap();
        assert_eq!(text, "{\"ignition\":{\"version\":\"3.3.0\"}}\n");
    }
}
