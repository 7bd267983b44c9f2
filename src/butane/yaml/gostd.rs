//! The few Go standard-library behaviours yaml.v3 leans on, reproduced
//! exactly: `strconv.ParseInt`/`ParseUint`/`ParseFloat` (decimal syntax),
//! `time.Parse` for yaml.v3's four timestamp layouts, base64 decoding,
//! `strconv.Quote` (for `%#v`) and Go's way of printing invalid UTF-8.
//!
//! Boundary: pure functions on bytes, no YAML knowledge. `resolve.rs` and
//! `decode.rs` decide when to call them.

use super::goprint::GO_PRINTABLE_RANGES;

/// Why a Go `strconv` parse failed (`ErrSyntax` or `ErrRange`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NumError {
    Syntax,
    Range,
}

/// Go 1.19 `underscoreOK`: underscores only between digits (a base prefix
/// counts as a digit).
fn underscore_ok(s: &[u8]) -> bool {
    let mut saw = b'^';
    let mut s = s;
    if let Some((b'+' | b'-', rest)) = s.split_first() {
        s = rest;
    }
    let mut hex = false;
    let mut i = 0;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &s[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Go `strconv.ParseUint(s, base, 64)`; base 0 means "from the prefix"
/// (0x, 0o, 0b, or a leading 0 for octal) and allows underscores.
pub(super) fn parse_uint(s: &[u8], base: u32) -> Result<u64, NumError> {
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    let base0 = base == 0;
    let (base, digits) = if base0 {
        split_base_prefix(s)
    } else {
        (base, s)
    };
    let cutoff = u64::MAX / u64::from(base) + 1;
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            _ if c.to_ascii_lowercase().is_ascii_lowercase() => c.to_ascii_lowercase() - b'a' + 10,
            _ => return Err(NumError::Syntax),
        };
        if u32::from(d) >= base {
            return Err(NumError::Syntax);
        }
        if n >= cutoff {
            return Err(NumError::Range);
        }
        n = n
            .checked_mul(u64::from(base))
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or(NumError::Range)?;
    }
    if underscores && !underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    Ok(n)
}

/// The base and digits of a base-0 literal.
fn split_base_prefix(s: &[u8]) -> (u32, &[u8]) {
    if s[0] != b'0' {
        return (10, s);
    }
    if s.len() >= 3 {
        match s[1].to_ascii_lowercase() {
            b'b' => return (2, &s[2..]),
            b'o' => return (8, &s[2..]),
            b'x' => return (16, &s[2..]),
            _ => {}
        }
    }
    (8, &s[1..])
}

/// Go `strconv.ParseInt(s, base, 64)`.
pub(super) fn parse_int(s: &[u8], base: u32) -> Result<i64, NumError> {
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    let (negative, digits) = match s[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = match parse_uint(digits, base) {
        Ok(n) => n,
        Err(NumError::Range) => u64::MAX,
        Err(e) => return Err(e),
    };
    const CUTOFF: u64 = 1 << 63;
    if !negative && magnitude >= CUTOFF {
        return Err(NumError::Range);
    }
    if negative && magnitude > CUTOFF {
        return Err(NumError::Range);
    }
    Ok(if negative {
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    })
}

/// Go `strconv.ParseFloat(s, 64)` restricted to decimal syntax (sign,
/// digits, '.', exponent, underscores between digits). yaml.v3 only calls it
/// on text that starts with '.' or matches its float pattern, where hex
/// floats and "inf"/"nan" cannot occur. Overflow is an error, as in Go.
pub(super) fn parse_decimal_float(s: &[u8]) -> Option<f64> {
    if !is_go_decimal_float(s) {
        return None;
    }
    let cleaned: String = s
        .iter()
        .filter(|&&c| c != b'_')
        .map(|&c| c as char)
        .collect();
    let value: f64 = cleaned.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Go's `readFloat` for base 10, requiring the whole input to be consumed.
fn is_go_decimal_float(s: &[u8]) -> bool {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let mut saw_digits = false;
    let mut saw_dot = false;
    let mut underscores = false;
    while i < s.len() {
        match s[i] {
            b'_' => underscores = true,
            b'.' if !saw_dot => saw_dot = true,
            b'0'..=b'9' => saw_digits = true,
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return false;
    }
    if i < s.len() && s[i].eq_ignore_ascii_case(&b'e') {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !s.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            underscores |= s[i] == b'_';
            i += 1;
        }
    }
    i == s.len() && (!underscores || underscore_ok(s))
}

/// A date and time as yaml.v3's `parseTimestamp` accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanosecond: u32,
    /// East of UTC in seconds; `None` for UTC (a "Z" or no zone at all).
    pub utc_offset_seconds: Option<i64>,
}

/// One element of a Go time layout.
#[derive(Clone, Copy)]
enum Chunk {
    Literal(&'static [u8]),
    LongYear,
    NumMonth,
    Day,
    Hour,
    Minute,
    Second,
    FracSecond9,
    Iso8601ColonTz,
}

/// yaml.v3's `allowedTimestampFormats`, in its order.
const TIMESTAMP_LAYOUTS: [&[Chunk]; 4] = {
    use Chunk::*;
    [
        // "2006-1-2T15:4:5.999999999Z07:00"
        &[
            LongYear,
            Literal(b"-"),
            NumMonth,
            Literal(b"-"),
            Day,
            Literal(b"T"),
            Hour,
            Literal(b":"),
            Minute,
            Literal(b":"),
            Second,
            FracSecond9,
            Iso8601ColonTz,
        ],
        // "2006-1-2t15:4:5.999999999Z07:00"
        &[
            LongYear,
            Literal(b"-"),
            NumMonth,
            Literal(b"-"),
            Day,
            Literal(b"t"),
            Hour,
            Literal(b":"),
            Minute,
            Literal(b":"),
            Second,
            FracSecond9,
            Iso8601ColonTz,
        ],
        // "2006-1-2 15:4:5.999999999"
        &[
            LongYear,
            Literal(b"-"),
            NumMonth,
            Literal(b"-"),
            Day,
            Literal(b" "),
            Hour,
            Literal(b":"),
            Minute,
            Literal(b":"),
            Second,
            FracSecond9,
        ],
        // "2006-1-2"
        &[LongYear, Literal(b"-"), NumMonth, Literal(b"-"), Day],
    ]
};

/// yaml.v3's `parseTimestamp`: "YYYY-" then the first layout that fits.
pub(super) fn parse_timestamp(s: &[u8]) -> Option<Timestamp> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || s.get(4) != Some(&b'-') {
        return None;
    }
    TIMESTAMP_LAYOUTS
        .iter()
        .find_map(|layout| parse_time_layout(layout, s))
}

/// Go `time.Parse` for one of the layouts above.
fn parse_time_layout(layout: &[Chunk], value: &[u8]) -> Option<Timestamp> {
    let mut t = Timestamp {
        year: 0,
        month: 0,
        day: 0,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: 0,
        utc_offset_seconds: None,
    };
    let mut v = value;
    for chunk in layout {
        match *chunk {
            Chunk::Literal(lit) => v = skip_literal(v, lit)?,
            Chunk::LongYear => {
                if v.len() < 4 || !v[0].is_ascii_digit() {
                    return None;
                }
                t.year = go_time_atoi(&v[..4])?;
                v = &v[4..];
            }
            Chunk::NumMonth => {
                let (month, rest) = get_num(v)?;
                if !(1..=12).contains(&month) {
                    return None;
                }
                (t.month, v) = (month, rest);
            }
            Chunk::Day => (t.day, v) = get_num(v)?,
            Chunk::Hour => (t.hour, v) = get_num_below(v, 24)?,
            Chunk::Minute => (t.minute, v) = get_num_below(v, 60)?,
            Chunk::Second => (t.second, v) = get_num_below(v, 60)?,
            Chunk::FracSecond9 => (t.nanosecond, v) = fractional_second(v),
            Chunk::Iso8601ColonTz => (t.utc_offset_seconds, v) = iso8601_zone(v)?,
        }
    }
    if !v.is_empty() || t.day < 1 || t.day > days_in_month(t.month, t.year) {
        return None;
    }
    Some(t)
}

/// Go's `skip`: matches a layout literal; a space matches a run of spaces.
fn skip_literal<'v>(mut value: &'v [u8], mut prefix: &[u8]) -> Option<&'v [u8]> {
    while let Some((&p, rest)) = prefix.split_first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return None;
            }
            prefix = trim_spaces(prefix);
            value = trim_spaces(value);
            continue;
        }
        if value.first() != Some(&p) {
            return None;
        }
        prefix = rest;
        value = &value[1..];
    }
    Some(value)
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

/// Go's `getnum(s, false)`: one or two digits.
fn get_num(s: &[u8]) -> Option<(u32, &[u8])> {
    let digit = |i: usize| {
        s.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    let first = digit(0)?;
    match digit(1) {
        Some(second) => Some((first * 10 + second, &s[2..])),
        None => Some((first, &s[1..])),
    }
}

fn get_num_below(s: &[u8], limit: u32) -> Option<(u32, &[u8])> {
    get_num(s).filter(|&(n, _)| n < limit)
}

/// The stdFracSecond9 case: an optional ".ddd" or ",ddd" (up to 9 digits).
fn fractional_second(v: &[u8]) -> (u32, &[u8]) {
    if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
        return (0, v);
    }
    let digits = v[1..]
        .iter()
        .take(9)
        .take_while(|c| c.is_ascii_digit())
        .count();
    let mut ns = v[1..=digits]
        .iter()
        .fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    for _ in digits..9 {
        ns *= 10;
    }
    (ns, &v[1 + digits..])
}

/// The stdISO8601ColonTZ case: "Z" or "±hh:mm".
fn iso8601_zone(v: &[u8]) -> Option<(Option<i64>, &[u8])> {
    if v.first() == Some(&b'Z') {
        return Some((None, &v[1..]));
    }
    if v.len() < 6 || v[3] != b':' {
        return None;
    }
    let hours = go_time_atoi(&v[1..3])?;
    let minutes = go_time_atoi(&v[4..6])?;
    let offset = (hours * 60 + minutes) * 60;
    match v[0] {
        b'+' => Some((Some(offset), &v[6..])),
        b'-' => Some((Some(-offset), &v[6..])),
        _ => None,
    }
}

/// The `time` package's own `atoi`: optional sign, then only digits.
fn go_time_atoi(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut x: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        x = x.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if negative { -x } else { x })
}

fn days_in_month(month: u32, year: i64) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go `base64.StdEncoding.DecodeString`: padding required, CR and LF
/// ignored anywhere, nothing after the padding.
pub(super) fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let sextet = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let is_newline = |c: u8| c == b'\n' || c == b'\r';
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut i = 0;
    loop {
        let mut quantum = [0u32; 4];
        let mut len = 0;
        while len < 4 {
            let Some(&c) = s.get(i) else {
                // End of input inside a quantum: only allowed at its start.
                return (len == 0).then_some(out);
            };
            i += 1;
            if is_newline(c) {
                continue;
            }
            if let Some(v) = sextet(c) {
                quantum[len] = v;
                len += 1;
                continue;
            }
            if c != b'=' || len < 2 {
                return None;
            }
            // Padding: "xx==" or "xxx=", then only newlines may follow.
            if len == 2 {
                while s.get(i).copied().is_some_and(is_newline) {
                    i += 1;
                }
                if s.get(i) != Some(&b'=') {
                    return None;
                }
                i += 1;
            }
            if s[i..].iter().any(|&c| !is_newline(c)) {
                return None;
            }
            push_quantum(&mut out, quantum, len);
            return Some(out);
        }
        push_quantum(&mut out, quantum, 4);
    }
}

/// Appends the `len - 1` bytes carried by `len` base64 digits.
fn push_quantum(out: &mut Vec<u8>, q: [u32; 4], len: usize) {
    let v = q[0] << 18 | q[1] << 12 | q[2] << 6 | q[3];
    let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
    out.extend_from_slice(&bytes[..len - 1]);
}

fn is_go_printable(c: char) -> bool {
    let c = c as u32;
    GO_PRINTABLE_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Go `strconv.Quote` (what `fmt`'s `%#v` and `%q` print for a string).
pub fn quote(s: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                _ if is_go_printable(c) => out.push(c),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                _ if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                _ if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
                _ => out.push_str(&format!("\\U{:08x}", c as u32)),
            }
        }
        for &b in chunk.invalid() {
            out.push_str("\\x");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xF)] as char);
        }
    }
    out.push('"');
    out
}

/// Bytes as text the way Go ranges over a string: each byte that is not part
/// of a valid UTF-8 sequence becomes one U+FFFD.
pub fn lossy_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_follows_go() {
        assert_eq!(parse_int(b"0644", 0), Ok(420));
        assert_eq!(parse_int(b"0o644", 0), Ok(420));
        assert_eq!(parse_int(b"0x1F", 0), Ok(31));
        assert_eq!(parse_int(b"-0b101", 0), Ok(-5));
        assert_eq!(parse_int(b"+12", 0), Ok(12));
        assert_eq!(parse_int(b"1_000", 0), Ok(1000));
        assert_eq!(parse_int(b"1__0", 0), Err(NumError::Syntax));
        assert_eq!(parse_int(b"09", 0), Err(NumError::Syntax));
        assert_eq!(parse_int(b"0x", 0), Err(NumError::Syntax));
        assert_eq!(parse_int(b"9223372036854775808", 0), Err(NumError::Range));
        assert_eq!(parse_int(b"-9223372036854775808", 0), Ok(i64::MIN));
        assert_eq!(parse_uint(b"18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(parse_uint(b"18446744073709551616", 0), Err(NumError::Range));
        assert_eq!(parse_uint(b"+1", 0), Err(NumError::Syntax));
    }

    #[test]
    fn parse_float_follows_go() {
        assert_eq!(parse_decimal_float(b".5"), Some(0.5));
        assert_eq!(parse_decimal_float(b".5_5"), Some(0.55));
        assert_eq!(parse_decimal_float(b"._5"), None);
        assert_eq!(parse_decimal_float(b"1e400"), None);
        assert_eq!(parse_decimal_float(b"1e-400"), Some(0.0));
        assert_eq!(parse_decimal_float(b".e5"), None);
        assert_eq!(parse_decimal_float(b"5.e3"), Some(5000.0));
    }

    #[test]
    fn timestamps_follow_go_time_parse() {
        assert!(parse_timestamp(b"2001-12-14").is_some());
        assert!(parse_timestamp(b"2001-12-14t21:59:43.10-05:00").is_some());
        assert!(parse_timestamp(b"2001-12-14   21:59:43.10").is_some());
        assert!(parse_timestamp(b"2001-2-29").is_none());
        assert!(parse_timestamp(b"2000-2-29").is_some());
        assert!(parse_timestamp(b"2001-12-14 21:59:43.10 -5").is_none());
        assert!(parse_timestamp(b"2001-13-01").is_none());
        assert!(parse_timestamp(b"12001-01-01").is_none());
    }

    #[test]
    fn base64_follows_go() {
        assert_eq!(base64_decode(b"aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode(b"aG\nk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode(b"aGk"), None);
        assert_eq!(base64_decode(b"aGk=x"), None);
        assert_eq!(base64_decode(b""), Some(Vec::new()));
    }

    #[test]
    fn quote_follows_strconv() {
        assert_eq!(quote(b"a\"b\n"), r#""a\"b\n""#);
        assert_eq!(quote(b"\x01\x7f\xff"), r#""\x01\x7f\xff""#);
        assert_eq!(quote("é\u{200b}".as_bytes()), "\"é\\u200b\"");
    }
}
