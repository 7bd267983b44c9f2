//! A YAML reader that behaves exactly like Go's gopkg.in/yaml.v3 v3.0.1 for
//! what Butane needs: the same node tree (kinds, tags, styles, lines and
//! columns), the same error messages with the same line numbers, and the
//! same typed-decoding rules and type-error texts.
//!
//! Boundary: this module is self-contained (no dependencies, no `unsafe`)
//! and refers to its own parts through `super::` only, so it can be dropped
//! into another crate as `mod yaml`. Its layers follow yaml.v3's:
//!
//! - `reader`:   bytes to characters (BOMs, UTF-8/UTF-16 checks)  readerc.go
//! - `scanner`:  characters to tokens                             scannerc.go
//! - `parser`:   tokens to events                                 parserc.go
//! - `compose`:  events to a `Node` tree                          decode.go (parser)
//! - `resolve`:  implicit tags and scalar values                  resolve.go
//! - `decode`:   typed decoding rules and type errors             decode.go (decoder)
//! - `gostd`:    the Go standard-library behaviours relied upon   strconv, time, base64, fmt
//!
//! `parse` gives the node tree; `unmarshal` and `Decoder` give typed decoding
//! (see `decode.rs` for how a caller decodes its own structs).
//!
//! Where yaml.v3 itself would crash (a Go runtime panic), this returns an
//! `Error::Fatal` whose text starts with `GO_PANIC_PREFIX`.

mod compose;
mod decode;
mod error;
mod goprint;
mod gostd;
mod node;
mod parser;
mod reader;
mod resolve;
mod scanner;

use std::sync::Arc;

pub use decode::{
    Decode, Decoder, MAX_DECODE_DEPTH, MAX_TYPE_ERRORS, Outcome, StructField, duplicate_key_errors,
    is_merge_key, scalar_to_bool, scalar_to_int, scalar_to_string, type_error_message, unmarshal,
};
pub use error::{Error, GO_PANIC_PREFIX};
pub use gostd::{Timestamp, lossy_string, quote as go_quote};
pub use node::{Kind, Node, Style};
pub use resolve::{
    BINARY_TAG, BOOL_TAG, FLOAT_TAG, INT_TAG, MAP_TAG, MERGE_TAG, NULL_TAG, Resolved, SEQ_TAG,
    STR_TAG, TIMESTAMP_TAG, long_tag, resolve, resolve_plain_tag, short_tag,
};

/// `var n yaml.Node; yaml.Unmarshal(input, &n)`, returning the root content
/// node of the first document (`n.Content[0]`), or `None` for a stream with
/// no document (empty input, only comments, ...). Use `Node::document()` for
/// the document node itself.
pub fn parse(input: &[u8]) -> Result<Option<Node>, Error> {
    Ok(parse_document(input)?.and_then(|doc| doc.child(0)))
}

/// Like `parse`, but returns the document node (Kind::Document) itself.
pub fn parse_document(input: &[u8]) -> Result<Option<Node>, Error> {
    // yaml.v3's newParser reads an empty input as a single line break.
    let input: &[u8] = if input.is_empty() { b"\n" } else { input };
    let tree = compose::Composer::new(input).compose_first_document()?;
    Ok(tree.map(|tree| Node::new(Arc::new(tree), 0)))
}

#[cfg(test)]
mod tests;
