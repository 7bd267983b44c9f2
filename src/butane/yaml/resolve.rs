//! Tags and implicit typing of scalars (yaml.v3's resolve.go): which tag an
//! untagged plain scalar gets (`!!null`, `!!bool`, `!!int`, `!!float`,
//! `!!timestamp`, `!!merge` or `!!str`), what value it holds, and whether a
//! scalar fits its explicit tag ("cannot decode !!str `x` as a !!int").
//!
//! Boundary: pure functions of (tag, text). Node building and typed decoding
//! call in here; nothing here knows about nodes or marks.

use std::borrow::Cow;

use super::error::Error;
use super::gostd::{self, Timestamp};

pub const NULL_TAG: &str = "!!null";
pub const BOOL_TAG: &str = "!!bool";
pub const STR_TAG: &str = "!!str";
pub const INT_TAG: &str = "!!int";
pub const FLOAT_TAG: &str = "!!float";
pub const TIMESTAMP_TAG: &str = "!!timestamp";
pub const SEQ_TAG: &str = "!!seq";
pub const MAP_TAG: &str = "!!map";
pub const BINARY_TAG: &str = "!!binary";
pub const MERGE_TAG: &str = "!!merge";

const LONG_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// A resolved scalar value, as the Go `interface{}` that `resolve` returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// Go `nil`.
    Null,
    Bool(bool),
    /// Go `int` (64-bit): every integer that fits in an int64.
    Int(i64),
    /// Go `uint64`: integers above `i64::MAX` that fit in a uint64.
    Uint(u64),
    Float(f64),
    /// Go `time.Time`.
    Timestamp(Timestamp),
    /// Go `string`: the scalar text itself (strings, `<<`, and every value
    /// whose tag is not resolvable, such as `!!binary` or `!custom`).
    Str,
}

/// yaml.v3's `shortTag`: "tag:yaml.org,2002:x" becomes "!!x".
pub fn short_tag(tag: &str) -> String {
    match tag.strip_prefix(LONG_TAG_PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

/// yaml.v3's `longTag`: "!!x" becomes "tag:yaml.org,2002:x".
pub fn long_tag(tag: &str) -> String {
    match tag.strip_prefix("!!") {
        Some(rest) => format!("{LONG_TAG_PREFIX}{rest}"),
        None => tag.to_string(),
    }
}

fn resolvable_tag(tag: &str) -> bool {
    matches!(
        tag,
        "" | STR_TAG | BOOL_TAG | INT_TAG | FLOAT_TAG | NULL_TAG | TIMESTAMP_TAG
    )
}

/// yaml.v3's `resolve(tag, in)`: the tag the scalar resolves to and its value.
///
/// With an explicit resolvable tag the text must resolve to that tag (an
/// integer may stand for a `!!float`), otherwise this is the fatal error
/// yaml.v3 raises: "yaml: cannot decode !!str `abc` as a !!int".
pub fn resolve(tag: &str, value: &str) -> Result<(String, Resolved), Error> {
    let tag = short_tag(tag);
    if !resolvable_tag(&tag) {
        return Ok((tag, Resolved::Str));
    }
    let (rtag, resolved) = resolve_untagged_or_hinted(&tag, value);
    if tag.is_empty() || tag == rtag || tag == STR_TAG {
        return Ok((rtag.to_string(), resolved));
    }
    if tag == FLOAT_TAG && rtag == INT_TAG {
        // Only Go `int`/`int64` convert; a `uint64` falls through to the error.
        if let Resolved::Int(i) = resolved {
            return Ok((FLOAT_TAG.to_string(), Resolved::Float(i as f64)));
        }
    }
    Err(Error::fatal(format!(
        "yaml: cannot decode {} `{}` as a {}",
        short_tag(rtag),
        value,
        tag
    )))
}

/// The tag an untagged plain scalar gets (what yaml.v3 stores in Node.Tag).
pub fn resolve_plain_tag(value: &str) -> &'static str {
    resolve_untagged_or_hinted("", value).0
}

/// The body of `resolve` before its deferred tag check.
fn resolve_untagged_or_hinted(tag: &str, value: &str) -> (&'static str, Resolved) {
    let s = value.as_bytes();
    let hint = match s.first() {
        None => b'N',
        Some(&c) => resolve_hint(c),
    };
    if hint == 0 || tag == STR_TAG || tag == BINARY_TAG {
        return (STR_TAG, Resolved::Str);
    }
    if let Some(known) = resolve_known_word(value) {
        return known;
    }
    match hint {
        b'.' => {
            if let Some(f) = gostd::parse_decimal_float(s) {
                return (FLOAT_TAG, Resolved::Float(f));
            }
        }
        b'D' | b'S' => {
            if let Some(found) = resolve_number(tag, s) {
                return found;
            }
        }
        _ => {}
    }
    (STR_TAG, Resolved::Str)
}

/// yaml.v3's `resolveTable`: what the first byte says the scalar may be.
fn resolve_hint(first: u8) -> u8 {
    match first {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => 0,
    }
}

/// yaml.v3's `resolveMap`.
fn resolve_known_word(value: &str) -> Option<(&'static str, Resolved)> {
    Some(match value {
        "true" | "True" | "TRUE" => (BOOL_TAG, Resolved::Bool(true)),
        "false" | "False" | "FALSE" => (BOOL_TAG, Resolved::Bool(false)),
        "" | "~" | "null" | "Null" | "NULL" => (NULL_TAG, Resolved::Null),
        ".nan" | ".NaN" | ".NAN" => (FLOAT_TAG, Resolved::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (FLOAT_TAG, Resolved::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => (FLOAT_TAG, Resolved::Float(f64::NEG_INFINITY)),
        "<<" => (MERGE_TAG, Resolved::Str),
        _ => return None,
    })
}

/// The 'D'/'S' branch of `resolve`: timestamp, int, uint, float, and the
/// binary and octal spellings, in yaml.v3's order.
fn resolve_number(tag: &str, s: &[u8]) -> Option<(&'static str, Resolved)> {
    if (tag.is_empty() || tag == TIMESTAMP_TAG)
        && let Some(t) = gostd::parse_timestamp(s)
    {
        return Some((TIMESTAMP_TAG, Resolved::Timestamp(t)));
    }
    let plain: Cow<[u8]> = if s.contains(&b'_') {
        Cow::Owned(s.iter().copied().filter(|&c| c != b'_').collect())
    } else {
        Cow::Borrowed(s)
    };
    let int = |r: Result<i64, gostd::NumError>| r.ok().map(|i| (INT_TAG, Resolved::Int(i)));
    let uint = |r: Result<u64, gostd::NumError>| r.ok().map(|u| (INT_TAG, Resolved::Uint(u)));

    if let Some(found) =
        int(gostd::parse_int(&plain, 0)).or_else(|| uint(gostd::parse_uint(&plain, 0)))
    {
        return Some(found);
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = gostd::parse_decimal_float(&plain)
    {
        return Some((FLOAT_TAG, Resolved::Float(f)));
    }
    if let Some(digits) = plain.strip_prefix(b"0b") {
        return int(gostd::parse_int(digits, 2)).or_else(|| uint(gostd::parse_uint(digits, 2)));
    }
    if let Some(digits) = plain.strip_prefix(b"-0b") {
        return int(gostd::parse_int(&[b"-", digits].concat(), 2));
    }
    if let Some(digits) = plain.strip_prefix(b"0o") {
        return int(gostd::parse_int(digits, 8)).or_else(|| uint(gostd::parse_uint(digits, 8)));
    }
    if let Some(digits) = plain.strip_prefix(b"-0o") {
        return int(gostd::parse_int(&[b"-", digits].concat(), 8));
    }
    None
}

/// yaml.v3's `yamlStyleFloat`:
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    if s.get(i) == Some(&b'.') {
        let n = digits(&s[i + 1..]);
        if n == 0 {
            return false;
        }
        i += 1 + n;
    } else {
        let n = digits(&s[i..]);
        if n == 0 {
            return false;
        }
        i += n;
        if s.get(i) == Some(&b'.') {
            i += 1 + digits(&s[i + 1..]);
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(&s[i..]);
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_of(value: &str) -> &'static str {
        resolve_plain_tag(value)
    }

    fn value_of(tag: &str, value: &str) -> Resolved {
        resolve(tag, value).expect("resolves").1
    }

    #[test]
    fn plain_scalars_get_yaml_v3_tags() {
        assert_eq!(tag_of(""), NULL_TAG);
        assert_eq!(tag_of("~"), NULL_TAG);
        assert_eq!(tag_of("yes"), STR_TAG);
        assert_eq!(tag_of("True"), BOOL_TAG);
        assert_eq!(tag_of("0644"), INT_TAG);
        assert_eq!(tag_of("09"), FLOAT_TAG);
        assert_eq!(tag_of("1e400"), STR_TAG);
        assert_eq!(tag_of(".5"), FLOAT_TAG);
        assert_eq!(tag_of("2001-12-14"), TIMESTAMP_TAG);
        // "<<" starts with no hint byte, so resolve never reaches its map entry;
        // the composer gives plain "<<" the !!merge tag itself.
        assert_eq!(tag_of("<<"), STR_TAG);
        assert_eq!(tag_of("-"), STR_TAG);
    }

    #[test]
    fn numbers_resolve_like_go() {
        assert_eq!(value_of("", "0644"), Resolved::Int(420));
        assert_eq!(value_of("", "0o644"), Resolved::Int(420));
        assert_eq!(value_of("", "0x1F"), Resolved::Int(31));
        assert_eq!(value_of("", "+12"), Resolved::Int(12));
        assert_eq!(value_of("", "1_000"), Resolved::Int(1000));
        assert_eq!(
            value_of("", "18446744073709551615"),
            Resolved::Uint(u64::MAX)
        );
        assert_eq!(value_of("", ".inf"), Resolved::Float(f64::INFINITY));
        assert_eq!(value_of("", "09"), Resolved::Float(9.0));
    }

    #[test]
    fn explicit_tags_are_checked() {
        assert_eq!(resolve("tag:yaml.org,2002:str", "123").unwrap().0, STR_TAG);
        assert_eq!(value_of("!!int", "7"), Resolved::Int(7));
        assert_eq!(value_of("!!float", "7"), Resolved::Float(7.0));
        assert_eq!(
            resolve("!!int", "x").unwrap_err().to_string(),
            "yaml: cannot decode !!str `x` as a !!int"
        );
        assert_eq!(
            resolve("!!float", "18446744073709551615")
                .unwrap_err()
                .to_string(),
            "yaml: cannot decode !!int `18446744073709551615` as a !!float"
        );
        assert_eq!(resolve("!custom", "x").unwrap().0, "!custom");
    }
}
