//! Small pieces of Go's standard library that Ignition's checks lean on and
//! whose exact behaviour shows in messages or results: `strconv.Quote` (the
//! `%q` verb), `unicode.IsSpace`, `bytes.TrimSpace`, UTF-8 decoding with
//! `RuneError`, and the `path` package (`Clean`, `Ext`, `IsAbs`, `Join`).
//!
//! Nothing here knows about Ignition; callers are `validate`, `unit`,
//! `url` and `gojson`.

/// `utf8.DecodeRune`: the rune at the start of `b` and its width; an
/// invalid or truncated sequence gives U+FFFD with width 1 (0 for empty).
pub fn decode_rune(b: &[u8]) -> (char, usize) {
    if b.is_empty() {
        return (char::REPLACEMENT_CHARACTER, 0);
    }
    let first = b[0];
    let width = match first {
        0x00..=0x7f => return (first as char, 1),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    if b.len() < width {
        return (char::REPLACEMENT_CHARACTER, 1);
    }
    match std::str::from_utf8(&b[..width]) {
        Ok(s) => match s.chars().next() {
            Some(c) => (c, width),
            None => (char::REPLACEMENT_CHARACTER, 1),
        },
        Err(_) => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// `unicode.IsSpace`.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\r'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// `bytes.TrimSpace`: strips Unicode white space from both ends, decoding
/// UTF-8 as Go does (invalid bytes are never space).
pub fn trim_space(mut b: &[u8]) -> &[u8] {
    loop {
        let (c, w) = decode_rune(b);
        if w == 0 || !is_space(c) {
            break;
        }
        b = &b[w..];
    }
    loop {
        match last_rune(b) {
            Some((c, w)) if is_space(c) => b = &b[..b.len() - w],
            _ => break,
        }
    }
    b
}

/// The last rune of `b` if it is a valid UTF-8 sequence.
fn last_rune(b: &[u8]) -> Option<(char, usize)> {
    let start = b.len().saturating_sub(4);
    for i in (start..b.len()).rev() {
        if b[i] & 0xc0 != 0x80 {
            let (c, w) = decode_rune(&b[i..]);
            if i + w == b.len() && !(c == char::REPLACEMENT_CHARACTER && w == 1) {
                return Some((c, w));
            }
            return None;
        }
    }
    None
}

/// `unicode.IsPrint`, exact for ASCII and Latin-1. Beyond Latin-1 it knows
/// the separators, format characters, private-use areas and
/// noncharacters, but not which code points are unassigned (Go would
/// escape those; this treats them as printable).
pub fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if u < 0x100 {
        return u >= 0xa1 && u != 0xad;
    }
    let not_print = matches!(u,
        0x0600..=0x0605 | 0x061c | 0x06dd | 0x070f | 0x0890..=0x0891 | 0x08e2
        | 0x1680 | 0x180e | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064
        | 0x2066..=0x206f | 0x3000 | 0xd800..=0xdfff | 0xe000..=0xf8ff
        | 0xfdd0..=0xfdef | 0xfeff | 0xfff9..=0xfffb | 0x110bd | 0x110cd
        | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a | 0xe0001
        | 0xe0020..=0xe007f | 0xf0000..=0x10ffff)
        || u & 0xfffe == 0xfffe;
    !not_print
}

/// `strconv.Quote` of a string.
pub fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// `strconv.Quote` of arbitrary bytes (`%q` of a `[]byte`).
pub fn quote_bytes(mut b: &[u8]) -> String {
    let mut out = String::from("\"");
    while !b.is_empty() {
        let (c, w) = decode_rune(b);
        if w == 1 && c == char::REPLACEMENT_CHARACTER {
            out.push_str(&format!("\\x{:02x}", b[0]));
        } else {
            escape_rune(&mut out, c, '"');
        }
        b = &b[w..];
    }
    out.push('"');
    out
}

/// Go's `appendEscapedRune` for a double- or single-quoted literal.
pub fn escape_rune(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{07}' => out.push_str("\\a"),
        '\u{08}' => out.push_str("\\b"),
        '\u{0c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{0b}' => out.push_str("\\v"),
        _ => {
            let u = c as u32;
            if u < 0x20 || u == 0x7f {
                out.push_str(&format!("\\x{u:02x}"));
            } else if u < 0x10000 {
                out.push_str(&format!("\\u{u:04x}"));
            } else {
                out.push_str(&format!("\\U{u:08x}"));
            }
        }
    }
}

/// `path.IsAbs`.
pub fn is_abs(p: &str) -> bool {
    p.starts_with('/')
}

/// `path.Ext`: the suffix from the final dot of the last element.
pub fn ext(p: &str) -> &str {
    let b = p.as_bytes();
    for i in (0..b.len()).rev() {
        if b[i] == b'/' {
            break;
        }
        if b[i] == b'.' {
            return &p[i..];
        }
    }
    ""
}

/// `path.Clean`: lexical simplification of a slash-separated path.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let path = p.as_bytes();
    let n = path.len();
    let rooted = path[0] == b'/';
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if path[r] == b'/' || (path[r] == b'.' && (r + 1 == n || path[r + 1] == b'/')) {
            // Empty element, or ".".
            r += 1;
        } else if path[r] == b'.' && path[r + 1] == b'.' && (r + 2 == n || path[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                // Back up to the previous slash (or the root/`..` floor).
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && path[r] != b'/' {
                out.push(path[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".to_string();
    }
    // Only ASCII bytes were inserted or removed at ASCII boundaries.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `path.Join`: the non-empty elements joined by slashes, then cleaned.
pub fn join(elems: &[&str]) -> String {
    let parts: Vec<&str> = elems.iter().copied().filter(|e| !e.is_empty()).collect();
    if parts.is_empty() {
        return String::new();
    }
    clean(&parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        for (i, o) in [
            ("", "."),
            ("/", "/"),
            ("//a//b/", "/a/b"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("./a/./b", "a/b"),
            ("/a/b/../../..", "/"),
            ("a/b/..", "a"),
            ("../../x", "../../x"),
        ] {
            assert_eq!(clean(i), o, "{i}");
        }
    }

    #[test]
    fn ext_and_join() {
        assert_eq!(ext("a.service"), ".service");
        assert_eq!(ext("a.d/b"), "");
        assert_eq!(ext("x."), ".");
        assert_eq!(join(&["/a/b", "../c"]), "/a/c");
        assert_eq!(join(&["", ""]), "");
    }

    #[test]
    fn quote_escapes_like_go() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            quote("\u{7}\n\u{1}\u{7f}é\u{a0}"),
            r#""\a\n\x01\x7fé\u00a0""#
        );
        assert_eq!(quote_bytes(b"\xff a"), r#""\xff a""#);
        assert_eq!(quote("\u{e000}\u{1f600}"), "\"\\ue000\u{1f600}\"");
    }

    #[test]
    fn trim_space_is_unicode_aware() {
        assert_eq!(trim_space(" \u{a0}x\u{3000}\t".as_bytes()), b"x");
        assert_eq!(trim_space(b"\xffx \xff"), b"\xffx \xff");
    }
}
