//! Typed decoding rules: what yaml.v3's `decoder` (decode.go) stores into Go
//! values, when it records a type error and with which text, duplicate-key
//! errors, alias following, merge keys (`<<`) and the aliasing guard.
//!
//! Boundary: this module does not know Butane's types. It provides
//! - `Decoder`, mirroring Go's `decoder` state (type errors, counters, the
//!   aliases being expanded, the merged-field set), with `unmarshal` as the
//!   entry point for every value and `decode_struct` for struct targets;
//! - the `Decode` trait, implemented here for the Go kinds Butane uses
//!   (`string`, `int`, `bool`, pointers as `Option`, slices as `Vec`) and by
//!   the caller for its structs, through `Decoder::decode_struct`;
//! - the pure helpers `scalar_to_string`/`_int`/`_bool`,
//!   `type_error_message` and `duplicate_key_errors`.
//!
//! Limits: maps, interfaces, arrays, floats, unsigned ints, `time.Time` and
//! `Unmarshaler`/`TextUnmarshaler` targets are not modelled. Decoding depth is
//! capped at `MAX_DECODE_DEPTH` (yaml.v3 has no cap; Go's stack grows).

use std::collections::{HashMap, HashSet};

use super::error::{Error, GO_PANIC_PREFIX};
use super::gostd;
use super::node::{Kind, Node};
use super::resolve::{self, BINARY_TAG, MAP_TAG, MERGE_TAG, Resolved, SEQ_TAG, STR_TAG};

/// Nesting limit of `Decoder::unmarshal` calls, so that the Rust stack cannot
/// overflow (yaml.v3 has no limit: Go's stack grows). A level costs about
/// 3 KB of stack in a debug build and under 1 KB in release, so 256 levels
/// fit in a 2 MB thread stack. Butane's types nest about ten levels; only
/// long chains of merge keys or aliases could go deeper.
pub const MAX_DECODE_DEPTH: usize = 256;

/// Most type errors recorded before decoding stops with a fatal error.
/// yaml.v3 has no limit, but n equal keys in one mapping give n(n-1)/2
/// duplicate-key errors, so a large document could make it (and us) run
/// out of time or memory.
pub const MAX_TYPE_ERRORS: usize = 100_000;

/// A Rust value standing in for a Go value that yaml.v3 decodes into.
pub trait Decode {
    /// The Go type as `reflect.Type.String()` prints it in type errors:
    /// "string", "int", "*bool", "[]string", "v0_6.Storage", ...
    fn go_type_name() -> String;

    /// What `decoder.unmarshal` does once its prologue (counting, document
    /// and alias nodes) is done: `prepare` and the switch on the node kind.
    /// Called by `Decoder::unmarshal`; call that, not this, to decode a value.
    /// Returns Go's `good` flag.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error>;
}

/// One effective key/value pair of a mapping decoded into a struct.
pub struct StructField<'a> {
    /// Index of the field in the `fields` list given to `decode_struct`.
    pub index: usize,
    /// The key as decoded into a Go string.
    pub name: &'a [u8],
    pub key: &'a Node,
    pub value: &'a Node,
}

type FieldVisitor<'v> = dyn FnMut(&mut Decoder, StructField<'_>) -> Result<(), Error> + 'v;

/// yaml.v3's `decoder`: the state of one `yaml.Unmarshal` call.
///
/// Use one per document: call `unmarshal` on the document (or root) node
/// with the target, then `finish` for the final result. Struct targets
/// implement `Decode` with `decode_struct`:
///
/// ```ignore
/// impl Decode for Storage {
///     fn go_type_name() -> String { "v0_6.Storage".into() }
///     fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
///         d.decode_struct(node, "v0_6.Storage", &["files", "links"], |d, field| {
///             match field.index {
///                 0 => d.unmarshal(field.value, &mut self.files)?,
///                 _ => d.unmarshal(field.value, &mut self.links)?,
///             };
///             Ok(())
///         })
///     }
/// }
/// ```
#[derive(Default)]
pub struct Decoder {
    terrors: Vec<Vec<u8>>,
    known_fields: bool,
    decode_count: u64,
    alias_count: u64,
    alias_depth: u64,
    /// Alias nodes being expanded (Go's `d.aliases`), by node id.
    expanding: HashSet<usize>,
    /// Go's `d.mergedFields`. Only string keys are kept: the set is only
    /// ever queried with struct field names.
    merged_fields: Option<HashSet<Vec<u8>>>,
    depth: usize,
    /// Set once more than MAX_TYPE_ERRORS type errors were produced.
    too_many_type_errors: bool,
}

/// `yaml.Unmarshal(input, out)`: decodes the first document into `out`.
pub fn unmarshal<T: Decode>(input: &[u8], out: &mut T) -> Result<(), Error> {
    let Some(doc) = super::parse_document(input)? else {
        return Ok(());
    };
    let mut d = Decoder::new();
    d.unmarshal(&doc, out)?;
    d.finish()
}

impl Decoder {
    /// Go's `newDecoder()`: no errors, no counts, unique keys enforced.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Go's `Decoder.KnownFields(true)`: unknown struct fields become type
    /// errors ("field x not found in type T"). Off for `yaml.Unmarshal`.
    pub fn set_known_fields(&mut self, enabled: bool) {
        self.known_fields = enabled;
    }

    /// The type errors recorded so far (each a "line N: ..." item).
    pub fn type_errors(&self) -> &[Vec<u8>] {
        &self.terrors
    }

    /// Records a type error (for checks the caller makes itself).
    pub fn push_type_error(&mut self, message: Vec<u8>) {
        if self.terrors.len() < MAX_TYPE_ERRORS {
            self.terrors.push(message);
        } else {
            self.too_many_type_errors = true;
        }
    }

    /// The end of `yaml.Unmarshal`: a `*yaml.TypeError` if any was recorded.
    pub fn finish(self) -> Result<(), Error> {
        if self.too_many_type_errors {
            return Err(too_many_type_errors());
        }
        if self.terrors.is_empty() {
            Ok(())
        } else {
            Err(Error::Type(self.terrors))
        }
    }

    /// `decoder.unmarshal`: decodes `node` into `out`, following documents and
    /// aliases first. Returns Go's `good` flag (false when nothing was stored,
    /// e.g. a null into a string or a recorded type error).
    pub fn unmarshal<T: Decode + ?Sized>(
        &mut self,
        node: &Node,
        out: &mut T,
    ) -> Result<bool, Error> {
        self.enter()?;
        let good = match node.kind() {
            Kind::Document => match node.child(0).filter(|_| node.len() == 1) {
                Some(root) => self.unmarshal(&root, out).map(|_| true),
                None => Ok(false),
            },
            Kind::Alias => self.expand_alias(node, |d, target| d.unmarshal(target, out)),
            _ => out.decode(self, node),
        };
        self.depth -= 1;
        good
    }

    /// The prologue of `decoder.unmarshal`: counts the decode and applies
    /// the "excessive aliasing" guard; also guards the Rust stack.
    fn enter(&mut self) -> Result<(), Error> {
        if self.too_many_type_errors {
            return Err(too_many_type_errors());
        }
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err(Error::fatal("yaml: document contains excessive aliasing"));
        }
        if self.depth >= MAX_DECODE_DEPTH {
            return Err(Error::fatal(format!(
                "yaml: exceeded max depth of {MAX_DECODE_DEPTH} while decoding"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    /// `decoder.alias`: decodes the alias target, refusing an alias met again
    /// while it is being expanded.
    fn expand_alias<R>(
        &mut self,
        alias: &Node,
        decode_target: impl FnOnce(&mut Decoder, &Node) -> Result<R, Error>,
    ) -> Result<R, Error> {
        if !self.expanding.insert(alias.id()) {
            return Err(Error::fatal(format!(
                "yaml: anchor '{}' value contains itself",
                alias.value()
            )));
        }
        let Some(target) = alias.alias() else {
            return Err(go_panic("nil pointer dereference"));
        };
        self.alias_depth += 1;
        let result = decode_target(self, &target)?;
        self.alias_depth -= 1;
        self.expanding.remove(&alias.id());
        Ok(result)
    }

    /// `decoder.terror`.
    pub fn record_type_error(&mut self, node: &Node, tag: &str, go_type: &str) {
        self.push_type_error(type_error_message(node, tag, go_type));
    }

    /// The duplicate-key check at the start of `decoder.mapping`; true if
    /// any duplicate was recorded (the mapping is then not decoded).
    pub fn record_duplicate_keys(&mut self, mapping: &Node) -> bool {
        let room = MAX_TYPE_ERRORS - self.terrors.len();
        let errors = duplicate_key_errors(mapping, room + 1);
        let found = !errors.is_empty();
        for error in errors {
            self.push_type_error(error);
        }
        found
    }

    /// What `decoder.mapping`/`sequence` do for a target that is neither a
    /// struct, map, slice nor interface: a type error.
    fn collection_type_error(&mut self, node: &Node, go_type: &str) -> bool {
        match node.kind() {
            Kind::Mapping => {
                if !self.record_duplicate_keys(node) {
                    self.record_type_error(node, MAP_TAG, go_type);
                }
            }
            _ => self.record_type_error(node, SEQ_TAG, go_type),
        }
        false
    }

    // ----- Structs -----------------------------------------------------------

    /// Decodes `node` into a Go struct named `go_type` whose yaml field names
    /// are `fields` (in Go's FieldsList order, inline structs flattened).
    /// Call it from `Decode::decode`. For each effective key/value pair, in
    /// yaml.v3's order, `visit` gets the field index and the value node, and
    /// decodes the value (with `Decoder::unmarshal`) into that field.
    ///
    /// Mirrors `decoder.scalar`/`sequence` for struct targets (type errors),
    /// `decoder.mapping` (duplicate keys), `decoder.mappingStruct` (keys
    /// decoded as strings, "field x already set", merge keys applied after
    /// the direct keys) and `decoder.merge` (a mapping, an alias to one, or a
    /// sequence of them; keys already set win).
    pub fn decode_struct(
        &mut self,
        node: &Node,
        go_type: &str,
        fields: &[&str],
        mut visit: impl FnMut(&mut Decoder, StructField<'_>) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        self.decode_struct_node(node, go_type, fields, &mut visit)
    }

    /// `decoder.unmarshal` for a struct target (used for merged mappings).
    fn unmarshal_struct(
        &mut self,
        node: &Node,
        go_type: &str,
        fields: &[&str],
        visit: &mut FieldVisitor<'_>,
    ) -> Result<bool, Error> {
        self.enter()?;
        let good = match node.kind() {
            Kind::Document => match node.child(0).filter(|_| node.len() == 1) {
                Some(root) => self
                    .unmarshal_struct(&root, go_type, fields, visit)
                    .map(|_| true),
                None => Ok(false),
            },
            Kind::Alias => self.expand_alias(node, |d, target| {
                d.unmarshal_struct(target, go_type, fields, visit)
            }),
            _ => self.decode_struct_node(node, go_type, fields, visit),
        };
        self.depth -= 1;
        good
    }

    fn decode_struct_node(
        &mut self,
        node: &Node,
        go_type: &str,
        fields: &[&str],
        visit: &mut FieldVisitor<'_>,
    ) -> Result<bool, Error> {
        match node.kind() {
            Kind::Mapping => {
                if self.record_duplicate_keys(node) {
                    return Ok(false);
                }
                self.mapping_struct(node, go_type, fields, visit)
            }
            Kind::Scalar => match scalar_value(node)? {
                (_, ScalarValue::Null) => Ok(false),
                (tag, _) => {
                    self.record_type_error(node, &tag, go_type);
                    Ok(false)
                }
            },
            Kind::Sequence => {
                self.record_type_error(node, SEQ_TAG, go_type);
                Ok(false)
            }
            // Only reached if called directly on these; decode as Go would.
            Kind::Alias | Kind::Document => self.unmarshal_struct(node, go_type, fields, visit),
        }
    }

    /// `decoder.mappingStruct`.
    fn mapping_struct(
        &mut self,
        node: &Node,
        go_type: &str,
        fields: &[&str],
        visit: &mut FieldVisitor<'_>,
    ) -> Result<bool, Error> {
        let mut merged = self.merged_fields.take();
        let mut merge_node = None;
        // Which fields are set; on the stack for any struct Butane has.
        let mut on_stack = [false; 32];
        let mut on_heap = Vec::new();
        let done: &mut [bool] = if fields.len() <= on_stack.len() {
            &mut on_stack[..fields.len()]
        } else {
            on_heap.resize(fields.len(), false);
            &mut on_heap
        };
        for (key, value) in node.pairs() {
            if is_merge_key(&key) {
                merge_node = Some(value);
                continue;
            }
            let mut name = GoString::default();
            if !self.unmarshal(&key, &mut name)? {
                continue;
            }
            let name = name.0;
            if let Some(merged) = merged.as_mut()
                && !merged.insert(name.clone())
            {
                continue;
            }
            match fields.iter().position(|f| f.as_bytes() == name.as_slice()) {
                Some(index) if done[index] => {
                    let message = [
                        format!("line {}: field ", key.line()).as_bytes(),
                        &name,
                        format!(" already set in type {go_type}").as_bytes(),
                    ]
                    .concat();
                    self.push_type_error(message);
                }
                Some(index) => {
                    done[index] = true;
                    let field = StructField {
                        index,
                        name: &name,
                        key: &key,
                        value: &value,
                    };
                    visit(self, field)?;
                }
                None if self.known_fields => {
                    let message = [
                        format!("line {}: field ", key.line()).as_bytes(),
                        &name,
                        format!(" not found in type {go_type}").as_bytes(),
                    ]
                    .concat();
                    self.push_type_error(message);
                }
                None => {}
            }
        }
        self.merged_fields = merged;
        if let Some(merge_node) = merge_node {
            self.merge(node, &merge_node, go_type, fields, visit)?;
        }
        Ok(true)
    }

    /// `decoder.merge`: decodes the merged mapping(s) into the same struct;
    /// keys of the parent (and of earlier merged mappings) win.
    fn merge(
        &mut self,
        parent: &Node,
        merge: &Node,
        go_type: &str,
        fields: &[&str],
        visit: &mut FieldVisitor<'_>,
    ) -> Result<(), Error> {
        let outermost = self.merged_fields.is_none();
        if outermost {
            let mut keys = HashSet::new();
            for (key, _) in parent.pairs() {
                if let Some(name) = self.decode_key_as_interface(&key)? {
                    keys.insert(name);
                }
            }
            self.merged_fields = Some(keys);
        }
        let want_map =
            || Error::fatal("yaml: map merge requires map or sequence of maps as the value");
        let refers_to_non_map = |n: &Node| n.alias().is_some_and(|t| t.kind() != Kind::Mapping);
        match merge.kind() {
            Kind::Mapping => {
                self.unmarshal_struct(merge, go_type, fields, visit)?;
            }
            Kind::Alias => {
                if refers_to_non_map(merge) {
                    return Err(want_map());
                }
                self.unmarshal_struct(merge, go_type, fields, visit)?;
            }
            Kind::Sequence => {
                for item in merge.content() {
                    let is_map = match item.kind() {
                        Kind::Alias => !refers_to_non_map(&item),
                        kind => kind == Kind::Mapping,
                    };
                    if !is_map {
                        return Err(want_map());
                    }
                    self.unmarshal_struct(&item, go_type, fields, visit)?;
                }
            }
            _ => return Err(want_map()),
        }
        if outermost {
            self.merged_fields = None;
        }
        Ok(())
    }

    /// Decodes a key into a Go `interface{}` (as `decoder.merge` does to
    /// collect the parent's keys) and returns it if it is a string. Keys
    /// that are collections make Go panic ("hash of unhashable type").
    fn decode_key_as_interface(&mut self, key: &Node) -> Result<Option<Vec<u8>>, Error> {
        self.enter()?;
        let result = match key.kind() {
            Kind::Alias => self.expand_alias(key, |d, target| d.decode_key_as_interface(target)),
            Kind::Scalar => match scalar_value(key)? {
                (_, ScalarValue::Text(text)) => Ok(Some(text)),
                _ => Ok(None),
            },
            _ => Err(go_panic("hash of unhashable type")),
        };
        self.depth -= 1;
        result
    }
}

/// yaml.v3's `allowedAliasRatio`.
fn allowed_alias_ratio(decode_count: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

/// yaml.v3's `isMerge`: a plain `<<` key (untagged, "!" or !!merge).
pub fn is_merge_key(node: &Node) -> bool {
    node.kind() == Kind::Scalar
        && node.value() == "<<"
        && (node.tag().is_empty()
            || node.tag() == "!"
            || resolve::short_tag(node.tag()) == MERGE_TAG)
}

fn too_many_type_errors() -> Error {
    Error::fatal(format!(
        "yaml: more than {MAX_TYPE_ERRORS} unmarshal errors (coregen stops here; yaml.v3 would go on)"
    ))
}

fn go_panic(what: &str) -> Error {
    Error::fatal(format!("{GO_PANIC_PREFIX}{what}"))
}

// ----- Scalars -----------------------------------------------------------------

/// A scalar's value as `decoder.scalar` computes it before storing.
#[derive(Clone, Debug, PartialEq)]
enum ScalarValue {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Timestamp,
    /// A Go string: the scalar text, or the decoded bytes of a !!binary.
    Text(Vec<u8>),
}

/// The first half of `decoder.scalar`: the tag and resolved value (strings
/// indicated by style or !!str stay strings; !!binary is base64-decoded).
fn scalar_value(node: &Node) -> Result<(String, ScalarValue), Error> {
    if node.indicated_string() {
        return Ok((
            STR_TAG.to_string(),
            ScalarValue::Text(node.value().as_bytes().to_vec()),
        ));
    }
    let (tag, resolved) = resolve::resolve(node.tag(), node.value())?;
    let value = match resolved {
        Resolved::Null => ScalarValue::Null,
        Resolved::Bool(b) => ScalarValue::Bool(b),
        Resolved::Int(i) => ScalarValue::Int(i),
        Resolved::Uint(u) => ScalarValue::Uint(u),
        Resolved::Float(f) => ScalarValue::Float(f),
        Resolved::Timestamp(_) => ScalarValue::Timestamp,
        Resolved::Str if tag == BINARY_TAG => match gostd::base64_decode(node.value().as_bytes()) {
            Some(bytes) => ScalarValue::Text(bytes),
            None => {
                return Err(Error::fatal(
                    "yaml: !!binary value contains invalid base64 data",
                ));
            }
        },
        Resolved::Str => ScalarValue::Text(node.value().as_bytes().to_vec()),
    };
    Ok((tag, value))
}

/// What `decoder.scalar` does with a scalar node for one target type.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<T> {
    /// The value is stored (Go returns good = true).
    Set(T),
    /// A null: `decoder.null` leaves a string, int or bool alone (good = false).
    LeftAlone,
    /// A type error is recorded with this text (good = false).
    TypeError(Vec<u8>),
}

/// `decoder.scalar` into a Go `string`: any non-null scalar is stored as its
/// text (a !!binary as its decoded bytes; invalid UTF-8 there becomes U+FFFD
/// here). Fails like yaml.v3 on a bad explicit tag or bad base64.
pub fn scalar_to_string(node: &Node) -> Result<Outcome<String>, Error> {
    Ok(match scalar_value(node)? {
        (_, ScalarValue::Null) => Outcome::LeftAlone,
        (_, ScalarValue::Text(text)) => Outcome::Set(gostd::lossy_string(&text)),
        _ => Outcome::Set(node.value().to_string()),
    })
}

/// `decoder.scalar` into a Go `int` (64-bit): integers as they are, floats
/// truncated as Go converts them on amd64; anything else is a type error.
pub fn scalar_to_int(node: &Node) -> Result<Outcome<i64>, Error> {
    let (tag, value) = scalar_value(node)?;
    Ok(match value {
        ScalarValue::Null => Outcome::LeftAlone,
        ScalarValue::Int(i) => Outcome::Set(i),
        // `resolved <= math.MaxInt64` compares as float64, i.e. with 2^63.
        ScalarValue::Float(f) if f <= 9_223_372_036_854_775_807.0 => {
            Outcome::Set(go_float_to_int64(f))
        }
        _ => Outcome::TypeError(type_error_message(node, &tag, "int")),
    })
}

/// `decoder.scalar` into a Go `bool`: true/false, and for string values the
/// YAML 1.1 words y/yes/on and n/no/off (in three casings).
pub fn scalar_to_bool(node: &Node) -> Result<Outcome<bool>, Error> {
    let (tag, value) = scalar_value(node)?;
    Ok(match value {
        ScalarValue::Null => Outcome::LeftAlone,
        ScalarValue::Bool(b) => Outcome::Set(b),
        ScalarValue::Text(text) => match text.as_slice() {
            b"y" | b"Y" | b"yes" | b"Yes" | b"YES" | b"on" | b"On" | b"ON" => Outcome::Set(true),
            b"n" | b"N" | b"no" | b"No" | b"NO" | b"off" | b"Off" | b"OFF" => Outcome::Set(false),
            _ => Outcome::TypeError(type_error_message(node, &tag, "bool")),
        },
        _ => Outcome::TypeError(type_error_message(node, &tag, "bool")),
    })
}

/// Go's float64 to int64 conversion on amd64 (CVTTSD2SQ): truncation, and
/// 0x8000000000000000 for NaN and anything out of range.
fn go_float_to_int64(f: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

/// `decoder.terror`'s text: "line N: cannot unmarshal !!tag `value` into T".
/// The node's own tag wins over `tag`; values over 10 bytes are cut to 7
/// bytes plus "..." (which may split a UTF-8 character, as in Go); with a
/// !!seq or !!map tag the raw value follows the tag directly (it is empty
/// for real collections).
pub fn type_error_message(node: &Node, tag: &str, go_type: &str) -> Vec<u8> {
    let tag = if node.tag().is_empty() {
        tag
    } else {
        node.tag()
    };
    let value = node.value().as_bytes();
    let mut shown = Vec::new();
    if tag == SEQ_TAG || tag == MAP_TAG {
        // Go prints the raw value here: empty for real collections, but a
        // scalar tagged !!seq shows as "!!seqyes".
        shown.extend_from_slice(value);
    } else {
        shown.extend_from_slice(b" `");
        if value.len() > 10 {
            shown.extend_from_slice(&value[..7]);
            shown.extend_from_slice(b"...");
        } else {
            shown.extend_from_slice(value);
        }
        shown.push(b'`');
    }
    [
        format!(
            "line {}: cannot unmarshal {}",
            node.line(),
            resolve::short_tag(tag)
        )
        .as_bytes(),
        &shown,
        format!(" into {go_type}").as_bytes(),
    ]
    .concat()
}

/// The duplicate-key errors `decoder.mapping` records for a mapping, in its
/// order (for each key, every later key of the same kind and value), at most
/// `limit` of them. yaml.v3 compares every pair of keys; this groups equal
/// keys first, so it takes time in proportion to the keys and errors.
pub fn duplicate_key_errors(mapping: &Node, limit: usize) -> Vec<Vec<u8>> {
    let keys: Vec<Node> = mapping.pairs().map(|(k, _)| k).collect();
    // Nearly every mapping is short and has no duplicate: say so without
    // building the groups.
    if keys.len() <= 16
        && !keys.iter().enumerate().any(|(i, a)| {
            keys[..i]
                .iter()
                .any(|b| a.kind() == b.kind() && a.value() == b.value())
        })
    {
        return Vec::new();
    }
    let mut groups: HashMap<(Kind, &str), Vec<usize>> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        groups.entry((key.kind(), key.value())).or_default().push(i);
    }
    let mut errors = Vec::new();
    if groups.len() == keys.len() {
        return errors;
    }
    let mut seen_in_group: HashMap<(Kind, &str), usize> = HashMap::new();
    for key in &keys {
        let group_key = (key.kind(), key.value());
        let seen = seen_in_group.entry(group_key).or_insert(0);
        *seen += 1;
        for &j in &groups[&group_key][*seen..] {
            if errors.len() == limit {
                return errors;
            }
            let later = &keys[j];
            errors.push(
                format!(
                    "line {}: mapping key {} already defined at line {}",
                    later.line(),
                    gostd::quote(later.value().as_bytes()),
                    key.line()
                )
                .into_bytes(),
            );
        }
    }
    errors
}

// ----- Decode for the Go kinds Butane uses ---------------------------------------

/// A Go `string` that keeps raw bytes (struct keys may be !!binary).
#[derive(Default)]
struct GoString(Vec<u8>);

impl Decode for GoString {
    fn go_type_name() -> String {
        "string".to_string()
    }

    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
        if node.kind() != Kind::Scalar {
            return Ok(d.collection_type_error(node, &Self::go_type_name()));
        }
        Ok(match scalar_value(node)? {
            (_, ScalarValue::Null) => false,
            (_, ScalarValue::Text(text)) => {
                self.0 = text;
                true
            }
            _ => {
                self.0 = node.value().as_bytes().to_vec();
                true
            }
        })
    }
}

/// Stores a scalar outcome, recording its type error.
fn apply_outcome<T>(d: &mut Decoder, out: &mut T, outcome: Outcome<T>) -> bool {
    match outcome {
        Outcome::Set(value) => {
            *out = value;
            true
        }
        Outcome::LeftAlone => false,
        Outcome::TypeError(message) => {
            d.push_type_error(message);
            false
        }
    }
}

/// `Decode` for a Go scalar type: `$go` is its Go name, `$convert` turns a
/// scalar node into its value (or says why not).
macro_rules! decode_scalar {
    ($ty:ty, $go:literal, $convert:path) => {
        #[doc = concat!("Go `", $go, "`.")]
        impl Decode for $ty {
            fn go_type_name() -> String {
                $go.to_string()
            }

            fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
                if node.kind() != Kind::Scalar {
                    return Ok(d.collection_type_error(node, &Self::go_type_name()));
                }
                let outcome = $convert(node)?;
                Ok(apply_outcome(d, self, outcome))
            }
        }
    };
}

decode_scalar!(String, "string", scalar_to_string);
// 64-bit, as on the platforms butane runs on.
decode_scalar!(i64, "int", scalar_to_int);
decode_scalar!(bool, "bool", scalar_to_bool);

/// Go `*T`. `decoder.prepare` leaves the pointer alone for a null node (a
/// null scalar then sets it to nil); otherwise it allocates the pointee,
/// which stays allocated even if decoding into it fails.
impl<T: Decode + Default> Decode for Option<T> {
    fn go_type_name() -> String {
        format!("*{}", T::go_type_name())
    }

    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
        if !node.is_null() {
            return self.get_or_insert_with(T::default).decode(d, node);
        }
        if node.kind() != Kind::Scalar {
            // A collection tagged !!null: the pointer itself is the target.
            return Ok(d.collection_type_error(node, &Self::go_type_name()));
        }
        match scalar_value(node)? {
            (_, ScalarValue::Null) => {
                *self = None;
                Ok(true)
            }
            _ => Err(go_panic("yaml internal error: please report the issue")),
        }
    }
}

/// Go `[]T`; see `Decoder::decode_slice`.
impl<T: Decode + Default> Decode for Vec<T> {
    fn go_type_name() -> String {
        format!("[]{}", T::go_type_name())
    }

    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
        d.decode_slice(node, self, &Self::go_type_name())
    }
}

impl Decoder {
    /// `decoder.sequence` / `decoder.scalar` for a Go slice type named
    /// `go_type` (e.g. "[]string", or a named type like "main.Nest"): a
    /// sequence replaces the slice, keeping only the items that decoded; a
    /// null sets it to nil (empty); other scalars and mappings are type errors.
    pub fn decode_slice<T: Decode + Default>(
        &mut self,
        node: &Node,
        out: &mut Vec<T>,
        go_type: &str,
    ) -> Result<bool, Error> {
        match node.kind() {
            Kind::Sequence => {
                // Go makes the slice full length first and fills it in place,
                // which shows if a fatal error stops decoding half-way.
                *out = (0..node.len()).map(|_| T::default()).collect();
                let mut kept = 0;
                for child in node.content() {
                    let mut item = T::default();
                    if self.unmarshal(&child, &mut item)? {
                        out[kept] = item;
                        kept += 1;
                    }
                }
                out.truncate(kept);
                Ok(true)
            }
            Kind::Scalar => match scalar_value(node)? {
                (_, ScalarValue::Null) => {
                    out.clear();
                    Ok(true)
                }
                (tag, _) => {
                    self.record_type_error(node, &tag, go_type);
                    Ok(false)
                }
            },
            _ => Ok(self.collection_type_error(node, go_type)),
        }
    }
}
