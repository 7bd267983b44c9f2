//! Inline Ignition configs (`ignition.config.merge[].inline` and
//! `replace.inline` in Butane): what upstream Butane's
//! `ValidateIgnitionConfig` (base/v0_X/util.go) does with one, minus the
//! Butane warning it adds for an unknown version.
//!
//! That is: Ignition's `util.HandleParseErrors` (config/util/
//! parsingErrors.go), which runs Go's `json.Unmarshal` into the spec's
//! `types.Config`, then the version check of `Ignition.Validate`, then
//! `validate.ValidateWithContext` (config/validate/validate.go):
//! validation, duplicate checks and vcontext's unused-key warnings over
//! the JSON tree.
//!
//! Decoding follows `encoding/json`: keys match field tags exactly or
//! case-insensitively, unknown keys are skipped, duplicate keys decode in
//! turn into the same value, `null` leaves non-pointers alone, and the
//! first type mismatch becomes the error, with Go's wording.

use super::gojson::{self, Doc, Node};
use super::reflect::{FieldValue, Kind, Struct, StructInfo, Val, elem_go_type, walk_structs};
use super::types::Config;
use super::{Spec, dups, errors as msg, validate};
use crate::butane::messages;
use crate::butane::report::{Elem, Path, Report};

/// The outcome of checking an inline config.
#[derive(Clone, Debug, PartialEq)]
pub struct InlineConfig {
    /// Parse errors (one error at the config's root) if parsing failed;
    /// otherwise the `ValidateWithContext` report, empty when the version
    /// is unknown (validation is skipped then). Paths are json paths from
    /// the inline config's root; markers are not set.
    pub report: Report,
    /// `Some("config is not valid")` when the config could not be parsed.
    pub error: Option<String>,
    /// The version parses but is not the spec's: Butane then warns
    /// (`ErrUnkownIgnitionVersion` at `<inline>.version`) and skips
    /// validation.
    pub unknown_version: bool,
    /// The decoded config, when parsing succeeded.
    pub config: Option<Config>,
}

impl InlineConfig {
    /// The `(report, error)` pair of Butane's `ValidateIgnitionConfig`,
    /// before Butane's own unknown-version warning (see
    /// [`InlineConfig::unknown_version`]).
    pub fn into_parts(self) -> (Report, Option<String>) {
        (self.report, self.error)
    }
}

/// Checks raw inline config bytes as Butane does for `spec`.
pub fn validate_ignition_config(spec: Spec, raw: &[u8]) -> InlineConfig {
    let (cfg, doc) = match handle_parse_errors(spec, raw) {
        Ok(parsed) => parsed,
        Err(e) => {
            let mut report = Report::new();
            report.error(Path::json(), e);
            return InlineConfig {
                report,
                error: Some(msg::INVALID.to_string()),
                unknown_version: false,
                config: None,
            };
        }
    };
    let unknown_version =
        validate::version_error(&cfg.ignition.version, spec) == Some(msg::UNKNOWN_VERSION);
    let report = if unknown_version {
        Report::new()
    } else {
        validate_with_context(&cfg, &doc, spec)
    };
    InlineConfig {
        report,
        error: None,
        unknown_version,
        config: Some(cfg),
    }
}

/// `json.Unmarshal` into the spec's `types.Config`: the config and its
/// document, or Go's error text.
pub fn parse_config(spec: Spec, raw: &[u8]) -> Result<Config, String> {
    handle_parse_errors(spec, raw).map(|(c, _)| c)
}

fn handle_parse_errors(spec: Spec, raw: &[u8]) -> Result<(Config, Doc), String> {
    let doc = gojson::parse(raw)?;
    let mut root = Val::Struct(Struct::zero(Config::info()));
    let mut d = Decoder {
        doc: &doc,
        spec,
        stack: Vec::new(),
        struct_name: None,
    };
    d.value(doc.root(), &mut root, &Config::kind(), "types.Config")?;
    Ok((Config::from_val(root), doc))
}

/// `validate.ValidateWithContext`: validation, duplicates, unused keys.
fn validate_with_context(cfg: &Config, doc: &Doc, spec: Spec) -> Report {
    let mut r = validate::validate(cfg, spec);
    r.merge(dups::validate_dups_for(cfg, spec));
    let mut unused = Report::new();
    walk_structs(&cfg.to_val(), &mut Path::json(), spec, &mut |s, p| {
        unused_keys(s, p, doc, spec, &mut unused)
    });
    r.merge(unused);
    r
}

/// `ValidateUnusedKeys` for one struct: JSON keys that name no field.
/// Go visits them in map order; this reports them in document order.
fn unused_keys(s: &Struct, p: &Path, doc: &Doc, spec: Spec, r: &mut Report) {
    let Some(node) = tree_get(doc, p) else {
        return;
    };
    let Node::Obj(members) = doc.node(node) else {
        r.warn(p.clone(), messages::context_mismatch(p));
        return;
    };
    let mut reported: Vec<&str> = Vec::new();
    for (key, _) in members {
        let known = s
            .info
            .fields
            .iter()
            .any(|f| f.in_spec(spec) && f.json == key);
        if !known && !reported.contains(&key.as_str()) {
            reported.push(key);
            r.warn(p.with(Elem::Key(key.clone())), messages::unused_key(key));
        }
    }
}

/// vcontext's `tree.Node.Get`: object members by exact key (the last of
/// duplicates, as go-json's map keeps), array items by index.
fn tree_get(doc: &Doc, p: &Path) -> Option<usize> {
    let mut at = doc.root();
    for e in &p.elems {
        at = match (doc.node(at), e) {
            (Node::Obj(members), Elem::Field(k)) => members.iter().rev().find(|(mk, _)| mk == k)?.1,
            (Node::Arr(items), Elem::Index(i)) => *items.get(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// `encoding/json`'s decoder over a parsed document.
struct Decoder<'a> {
    doc: &'a Doc,
    spec: Spec,
    /// `errorContext.FieldStack`: the JSON names of the fields being decoded.
    stack: Vec<&'static str>,
    /// `errorContext.Struct`: the Go name of the struct they belong to.
    struct_name: Option<&'static str>,
}

impl Decoder<'_> {
    /// `UnmarshalTypeError.Error()` in the current context.
    fn type_error(&self, value: &str, go_type: &str) -> String {
        match self.struct_name {
            Some(s) => format!(
                "json: cannot unmarshal {value} into Go struct field {s}.{} of type {go_type}",
                self.stack.join(".")
            ),
            None => format!("json: cannot unmarshal {value} into Go value of type {go_type}"),
        }
    }

    fn value(
        &mut self,
        node: usize,
        target: &mut Val,
        kind: &Kind,
        go_type: &'static str,
    ) -> Result<(), String> {
        let doc = self.doc;
        match (doc.node(node), kind) {
            (Node::Null, Kind::PtrStr | Kind::PtrInt | Kind::PtrBool) => *target = Val::Ptr(None),
            (Node::Null, Kind::List(_)) => *target = Val::List(Vec::new()),
            (Node::Null, _) => {}
            (Node::Bool(b), Kind::PtrBool) => *target = Val::Ptr(Some(Box::new(Val::Bool(*b)))),
            (Node::Bool(_), _) => return Err(self.type_error("bool", go_type)),
            (Node::Str(s), Kind::Str) => *target = Val::Str(s.clone()),
            (Node::Str(s), Kind::PtrStr) => *target = Val::Ptr(Some(Box::new(Val::Str(s.clone())))),
            (Node::Str(_), _) => return Err(self.type_error("string", go_type)),
            (Node::Num(lit), Kind::Int | Kind::PtrInt) => {
                let n = go_parse_int(lit)
                    .ok_or_else(|| self.type_error(&format!("number {lit}"), go_type))?;
                *target = if matches!(kind, Kind::Int) {
                    Val::Int(n)
                } else {
                    Val::Ptr(Some(Box::new(Val::Int(n))))
                };
            }
            (Node::Num(_), _) => return Err(self.type_error("number", go_type)),
            (Node::Arr(items), Kind::List(elem)) => self.array(items, target, &elem(), go_type)?,
            (Node::Arr(_), _) => return Err(self.type_error("array", go_type)),
            (Node::Obj(members), Kind::Struct(info)) => {
                self.object(members, target, info, go_type)?
            }
            (Node::Obj(_), _) => return Err(self.type_error("object", go_type)),
        }
        Ok(())
    }

    /// Decodes into the existing items, appending zero ones as needed.
    fn array(
        &mut self,
        items: &[usize],
        target: &mut Val,
        elem: &Kind,
        go_type: &'static str,
    ) -> Result<(), String> {
        if !matches!(target, Val::List(_)) {
            *target = Val::List(Vec::new());
        }
        let Val::List(list) = target else {
            return Ok(());
        };
        let elem_type = elem_go_type(go_type);
        for (i, &item) in items.iter().enumerate() {
            if i == list.len() {
                list.push(elem.zero());
            }
            self.value(item, &mut list[i], elem, elem_type)?;
        }
        list.truncate(items.len());
        Ok(())
    }

    fn object(
        &mut self,
        members: &[(String, usize)],
        target: &mut Val,
        info: &'static StructInfo,
        go_type: &'static str,
    ) -> Result<(), String> {
        if !matches!(target, Val::Struct(_)) {
            *target = Val::Struct(Struct::zero(info));
        }
        let Val::Struct(s) = target else {
            return Ok(());
        };
        let name = go_type.strip_prefix("types.").unwrap_or(info.go_name);
        for (key, child) in members {
            let Some(fi) = field_for_key(info, key, self.spec) else {
                continue;
            };
            let f = &info.fields[fi];
            let saved = self.struct_name.replace(name);
            self.stack.push(f.json);
            let res = self.value(*child, &mut s.fields[fi], &(f.kind)(), f.go_type);
            self.stack.pop();
            self.struct_name = saved;
            res?;
        }
        Ok(())
    }
}

/// The field a JSON key decodes into: an exact tag match, else the first
/// case-insensitive one (Go folds `ſ` to `s` and the Kelvin sign to `k`).
fn field_for_key(info: &StructInfo, key: &str, spec: Spec) -> Option<usize> {
    let fields = || {
        info.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.in_spec(spec))
    };
    fields()
        .find(|(_, f)| f.json == key)
        .or_else(|| fields().find(|(_, f)| fold_eq(f.json, key)))
        .map(|(i, _)| i)
}

fn fold_eq(name: &str, key: &str) -> bool {
    let mut k = key.chars();
    for n in name.chars() {
        let Some(c) = k.next() else {
            return false;
        };
        let ok = c.eq_ignore_ascii_case(&n)
            || (n.eq_ignore_ascii_case(&'s') && c == '\u{17f}')
            || (n.eq_ignore_ascii_case(&'k') && c == '\u{212a}');
        if !ok {
            return false;
        }
    }
    k.next().is_none()
}

/// `strconv.ParseInt(s, 10, 64)` on a JSON number literal.
fn go_parse_int(lit: &str) -> Option<i64> {
    let digits = lit.strip_prefix('-').unwrap_or(lit);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    lit.parse().ok()
}

#[cfg(test)]
mod tests;
