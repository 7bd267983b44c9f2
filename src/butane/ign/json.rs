//! Writing an Ignition config as JSON byte for byte as upstream does: Go's
//! `encoding/json` (through clarketm/json, which also omits empty structs
//! marked `omitempty`), compact or indented by two spaces.
//!
//! That means fields in struct order, `omitempty` fields left out when
//! empty, and strings escaped as Go escapes them: `<`, `>` and `&` become
//! `\u003c`, `\u003e` and `\u0026`, as do U+2028 and U+2029, so the output
//! is safe to embed in HTML.

use std::fmt::Write;

use super::reflect::{FieldInfo, FieldValue, Kind, Struct, StructInfo, Val};
use super::types::Config;

/// The JSON of a config, compact or pretty (`json.MarshalIndent(v, "",
/// "  ")`).
pub fn marshal(config: &Config, pretty: bool) -> String {
    let mut out = String::with_capacity(1024);
    write_value(&mut out, &config.to_val(), pretty.then_some(0));
    out
}

/// A config as a JSON value, with the fields [`marshal`] would write.
pub fn to_value(config: &Config) -> serde_json::Value {
    val_to_json(&config.to_val())
}

/// A config in reflected form as a JSON value, as [`to_value`] writes it;
/// its strings are moved, not copied.
pub(crate) fn val_into_value(v: Val) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Val::Str(s) => J::String(s),
        Val::Int(i) => J::from(i),
        Val::Bool(b) => J::Bool(b),
        Val::Ptr(None) => J::Null,
        Val::Ptr(Some(inner)) => val_into_value(*inner),
        Val::List(items) => J::Array(items.into_iter().map(val_into_value).collect()),
        Val::Struct(s) => {
            let omit: Vec<bool> = s
                .info
                .fields
                .iter()
                .zip(&s.fields)
                .map(|(f, v)| omitempty(&s, f) && is_empty(v))
                .collect();
            J::Object(
                s.info
                    .fields
                    .iter()
                    .zip(s.fields)
                    .zip(omit)
                    .filter(|(_, omit)| !omit)
                    .map(|((f, v), _)| (f.json.to_string(), val_into_value(v)))
                    .collect(),
            )
        }
    }
}

pub(crate) fn val_to_json(v: &Val) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Val::Str(s) => J::String(s.clone()),
        Val::Int(i) => J::from(*i),
        Val::Bool(b) => J::Bool(*b),
        Val::Ptr(None) => J::Null,
        Val::Ptr(Some(inner)) => val_to_json(inner),
        Val::List(items) => J::Array(items.iter().map(val_to_json).collect()),
        Val::Struct(s) => J::Object(
            s.info
                .fields
                .iter()
                .zip(&s.fields)
                .filter(|(f, v)| !(omitempty(s, f) && is_empty(v)))
                .map(|(f, v)| (f.json.to_string(), val_to_json(v)))
                .collect(),
        ),
    }
}

/// A config from a JSON value of spec 3.3.0 to 3.5.0, such as one that
/// coregen built; keys it does not know and values of the wrong type are
/// left out (the value was checked against the spec already).
pub fn from_value(value: &serde_json::Value) -> Config {
    Config::from_val(json_to_val(value, &Config::kind()))
}

/// A config's JSON value in reflected form, read as [`from_value`] reads
/// it, its strings moved: for merging without building the typed config.
#[cfg(test)]
pub(crate) fn value_into_val(value: serde_json::Value) -> Val {
    json_into_val(value, &Config::kind())
}

pub(crate) fn json_into_val(v: serde_json::Value, kind: &Kind) -> Val {
    use serde_json::Value as J;
    let ptr = |inner: Option<Val>| Val::Ptr(inner.map(Box::new));
    match (kind, v) {
        (Kind::Str, J::String(s)) => Val::Str(s),
        (Kind::PtrStr, J::String(s)) => ptr(Some(Val::Str(s))),
        (Kind::List(item), J::Array(items)) => {
            let item = item();
            Val::List(items.into_iter().map(|i| json_into_val(i, &item)).collect())
        }
        (Kind::Struct(info), J::Object(mut map)) => Val::Struct(Struct {
            info,
            fields: info
                .fields
                .iter()
                .map(|f| match map.remove(f.json) {
                    Some(v) => json_into_val(v, &(f.kind)()),
                    None => (f.kind)().zero(),
                })
                .collect(),
        }),
        (kind, v) => json_to_val(&v, kind),
    }
}

pub(crate) fn json_to_val(v: &serde_json::Value, kind: &Kind) -> Val {
    use serde_json::Value as J;
    let ptr = |inner: Option<Val>| Val::Ptr(inner.map(Box::new));
    match (kind, v) {
        (Kind::Str, J::String(s)) => Val::Str(s.clone()),
        (Kind::Int, J::Number(n)) => Val::Int(n.as_i64().unwrap_or_default()),
        (Kind::PtrStr, J::String(s)) => ptr(Some(Val::Str(s.clone()))),
        (Kind::PtrInt, J::Number(n)) => ptr(n.as_i64().map(Val::Int)),
        (Kind::PtrBool, J::Bool(b)) => ptr(Some(Val::Bool(*b))),
        (Kind::List(item), J::Array(items)) => {
            let item = item();
            Val::List(items.iter().map(|i| json_to_val(i, &item)).collect())
        }
        (Kind::Struct(info), J::Object(map)) => Val::Struct(Struct {
            info,
            fields: info
                .fields
                .iter()
                .map(|f| match map.get(f.json) {
                    Some(v) => json_to_val(v, &(f.kind)()),
                    None => (f.kind)().zero(),
                })
                .collect(),
        }),
        (kind, _) => kind.zero(),
    }
}

/// Whether a field's JSON tag says `omitempty`. Ignition's schema marks
/// every field so, except plain strings (but `Tang.url`) and the root's
/// `ignition`.
pub(crate) fn omitempty(s: &Struct, field: &FieldInfo) -> bool {
    field_omitempty(s.info, field)
}

/// Whether a field of the struct `info` describes is marked `omitempty`.
pub(crate) fn field_omitempty(info: &StructInfo, field: &FieldInfo) -> bool {
    match (field.kind)() {
        Kind::Str => field.json == "url",
        Kind::Struct(_) => !(info.go_name == "Config" && field.json == "ignition"),
        _ => true,
    }
}

/// Whether `omitempty` leaves `v` out: Go's empty values, and (clarketm's
/// addition) a struct whose fields are all zero.
pub(crate) fn is_empty(v: &Val) -> bool {
    match v {
        Val::Str(s) => s.is_empty(),
        Val::Int(i) => *i == 0,
        Val::Bool(b) => !b,
        Val::Ptr(p) => p.is_none(),
        Val::List(items) => items.is_empty(),
        Val::Struct(s) => s.fields.iter().all(is_empty),
    }
}

/// `indent` is the current depth when pretty-printing.
fn write_value(out: &mut String, v: &Val, indent: Option<usize>) {
    let deeper = indent.map(|d| d + 1);
    match v {
        Val::Str(s) => write_string(out, s),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Ptr(None) => out.push_str("null"),
        Val::Ptr(Some(inner)) => write_value(out, inner, indent),
        Val::List(items) if items.is_empty() => out.push_str("[]"),
        Val::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, deeper);
                write_value(out, item, deeper);
            }
            newline(out, indent);
            out.push(']');
        }
        Val::Struct(s) => {
            let fields: Vec<(&FieldInfo, &Val)> = s
                .info
                .fields
                .iter()
                .zip(&s.fields)
                .filter(|(f, v)| !(omitempty(s, f) && is_empty(v)))
                .collect();
            if fields.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (field, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, deeper);
                write_string(out, field.json);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(out, value, deeper);
            }
            newline(out, indent);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(depth) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

/// A JSON string as Go's encoder writes it (HTML-safe).
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Runs of characters written as they are go in one copy.
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => "",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        plain = i + c.len_utf8();
        if escaped.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(escaped);
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::types::*;
    use super::*;

    #[test]
    fn compact_output_omits_empty_fields_and_structs() {
        let mut c = Config::default();
        c.ignition.version = "3.3.0".into();
        c.storage.files.push(File {
            path: "/etc/hostname".into(),
            contents: Resource {
                compression: Some(String::new()),
                source: Some("data:,a<b>&c".into()),
                ..Default::default()
            },
            mode: Some(420),
            ..Default::default()
        });
        assert_eq!(
            marshal(&c, false),
            r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/hostname","contents":{"compression":"","source":"data:,a\u003cb\u003e\u0026c"},"mode":420}]}}"#
        );
    }

    #[test]
    fn pretty_output_is_go_indent() {
        let mut c = Config::default();
        c.ignition.version = "3.5.0".into();
        c.kernel_arguments.should_exist = vec!["a".into(), "b".into()];
        assert_eq!(
            marshal(&c, true),
            "{\n  \"ignition\": {\n    \"version\": \"3.5.0\"\n  },\n  \"kernelArguments\": {\n    \"shouldExist\": [\n      \"a\",\n      \"b\"\n    ]\n  }\n}"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut s = String::new();
        write_string(&mut s, "a\u{1}\u{7f}\u{2028}é");
        assert_eq!(s, "\"a\\u0001\u{7f}\\u2028é\"");
    }
}
