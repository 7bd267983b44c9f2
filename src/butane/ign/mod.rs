//! The Ignition side of Butane translation: the config structs (`types`),
//! how they are written as JSON (`json`),
//! and the parts of upstream Ignition v2.23.0 that Butane runs on them:
//! validation (`validate`), duplicate checks (`dups`), merging (`merge`)
//! and parsing of inline configs (`parse`), for specs 3.3.0 to 3.5.0
//! (`Spec`).
//!
//! Supporting ports: `errors` (Ignition's messages), `unit` (go-systemd's
//! unit-file lexer), `url` (Go's `net/url` and Ignition's URL checks),
//! `dataurl` (data URLs), `gostr` (bits of Go's standard library),
//! `gojson` (Go's JSON syntax errors and decoding tree), and `reflect` with
//! `typeinfo` (the Go type descriptions the generic algorithms walk).

pub mod dataurl;
pub mod dups;
pub mod errors;
mod gojson;
pub mod gostr;
pub mod json;
pub mod merge;
pub mod parse;
pub(crate) mod reflect;
pub mod spec;
mod typeinfo;
pub mod types;
pub mod unit;
pub mod url;
pub mod validate;

pub use spec::Spec;
pub use types::*;
