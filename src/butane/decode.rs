//! Decoding a parsed document into the structs of `schema.rs`, and the
//! check for keys that no struct reads.
//!
//! yaml.v3's decoding rules (what a null, a mismatched scalar, a duplicate
//! key or a `<<` merge does, and the exact text of its errors) are
//! `yaml::Decoder`'s; this module gives it Butane's structs and their Go
//! type names, which depend on the document's version
//! (``cannot unmarshal !!str `x` into v0_5.Storage``).

use std::cell::Cell;

use super::messages;
use super::report::{Elem, Path, Report};
use super::schema::{Fields, Package, Version};
use super::tree;
use super::yaml::{self, Kind, Node};

thread_local! {
    /// The version being decoded, for Go type names in errors. yaml's
    /// `Decode::go_type_name` takes no arguments, and a decode never
    /// spans threads.
    static VERSION: Cell<Version> = const { Cell::new(Version::V1_6) };
}

/// Decodes `root` into `out` as yaml.v3 decodes into upstream's structs for
/// `version`; the error is yaml.v3's (`yaml: unmarshal errors:\n  ...`).
pub(crate) fn decode<T: yaml::Decode>(
    root: &Node,
    version: Version,
    out: &mut T,
) -> Result<(), String> {
    VERSION.with(|v| v.set(version));
    let mut d = yaml::Decoder::new();
    d.unmarshal(root, out)
        .and_then(|_| d.finish())
        .map_err(|e| e.to_string())
}

/// The version being decoded.
pub(crate) fn version() -> Version {
    VERSION.with(Cell::get)
}

/// `pkg.Name` of a schema struct, for the version being decoded.
pub(crate) fn go_name<T: Fields>() -> String {
    go_name_in::<T>(version())
}

/// [`go_name`] for the given version.
pub(crate) fn go_name_in<T: Fields>(version: Version) -> String {
    let pkg = match T::PACKAGE {
        Package::Base => version.base_package(),
        Package::Fcos => version.fcos_package(),
        Package::Config => "config",
    };
    format!("{pkg}.{}", T::GO_NAME)
}

/// yaml.v3's decoding of a scalar into a named Go string type: as into a
/// `string`, but type errors name the type.
pub(crate) fn named_string(
    d: &mut yaml::Decoder,
    node: &Node,
    out: &mut String,
    go_type: &str,
) -> Result<bool, yaml::Error> {
    match node.kind() {
        Kind::Scalar => match yaml::scalar_to_string(node)? {
            yaml::Outcome::Set(value) => {
                *out = value;
                Ok(true)
            }
            yaml::Outcome::LeftAlone => Ok(false),
            yaml::Outcome::TypeError(message) => {
                d.push_type_error(message);
                Ok(false)
            }
        },
        Kind::Mapping => {
            if !d.record_duplicate_keys(node) {
                d.record_type_error(node, yaml::MAP_TAG, go_type);
            }
            Ok(false)
        }
        _ => {
            d.record_type_error(node, yaml::SEQ_TAG, go_type);
            Ok(false)
        }
    }
}

/// Walks the decoded values of a document, struct by struct, in upstream's
/// field order: what vcontext's reflection walk visits. `path` is where
/// the value is; it grows and shrinks as the walk goes.
pub(crate) trait Walk {
    fn walk(
        &self,
        path: &mut Path,
        version: Version,
        visit: &mut dyn FnMut(&Path, &[&'static str]),
    );
}

macro_rules! walk_leaf {
    ($($t:ty),*) => {$(
        impl Walk for $t {
            fn walk(&self, _: &mut Path, _: Version, _: &mut dyn FnMut(&Path, &[&'static str])) {}
        }
    )*};
}
walk_leaf!(String, i64, bool);

impl<T: Walk> Walk for Option<T> {
    fn walk(
        &self,
        path: &mut Path,
        version: Version,
        visit: &mut dyn FnMut(&Path, &[&'static str]),
    ) {
        if let Some(v) = self {
            v.walk(path, version, visit);
        }
    }
}

impl<T: Walk> Walk for Vec<T> {
    fn walk(
        &self,
        path: &mut Path,
        version: Version,
        visit: &mut dyn FnMut(&Path, &[&'static str]),
    ) {
        for (i, v) in self.iter().enumerate() {
            path.elems.push(Elem::Index(i));
            v.walk(path, version, visit);
            path.elems.pop();
        }
    }
}

/// Warns about each mapping key that no struct field reads, as Ignition's
/// `ValidateUnusedKeys` does for upstream: `unused key grub` at the key.
/// Upstream lists a mapping's unused keys in Go's random map order; these
/// come in document order.
pub(crate) fn unused_keys<T: Walk>(config: &T, version: Version, root: &Node) -> Report {
    let mut report = Report::new();
    config.walk(&mut Path::yaml(), version, &mut |path, keys| {
        let Some(node) = tree::get(root, path) else {
            // Not every struct has a counterpart in the document.
            return;
        };
        if node.kind() != Kind::Mapping {
            report.warn(path.clone(), messages::context_mismatch(path));
            return;
        }
        let pairs: Vec<(Node, Node)> = node.pairs().collect();
        for (i, (key, _)) in pairs.iter().enumerate() {
            let key = key.value();
            // Each key once, where it first appears.
            let first = !pairs[..i].iter().any(|(k, _)| k.value() == key);
            if first && !keys.contains(&key) {
                report.warn(
                    path.with(Elem::Key(key.to_string())),
                    format!("unused key {key}"),
                );
            }
        }
    });
    report
}
