//! `data:` URLs as Ignition checks them: `dataurl.DecodeString` from
//! github.com/vincent-petithory/dataurl (lex.go, dataurl.go, rfc2396.go),
//! whose error texts Ignition reports as they are, with the Go library
//! pieces it calls: `strconv.Unquote` (quoted parameter values) and
//! `encoding/base64` (base64 data). Only success or the error matters
//! here; the decoded data is not kept.

/// `dataurl.DecodeString`: `Err` with the library's message.
pub fn decode_data_url(s: &str) -> Result<(), String> {
    let items = lex_data_url(s);
    let mut ascii_data = true;
    let mut quoted = false;
    for item in items {
        match item {
            Item::Error(e) => return Err(e),
            Item::LeftQuote => quoted = true,
            Item::ParamVal(v) => {
                if std::mem::take(&mut quoted) {
                    if !go_unquote_ok(v) {
                        return Err("invalid syntax".to_string());
                    }
                } else {
                    rfc2396_unescape(v)?;
                }
            }
            Item::Base64 => ascii_data = false,
            Item::Data(d) => {
                if ascii_data {
                    rfc2396_unescape(d)?;
                } else {
                    base64_check(d.as_bytes())?;
                }
            }
        }
    }
    Ok(())
}

/// The lexer items the parser acts on.
enum Item<'a> {
    Error(String),
    LeftQuote,
    ParamVal(&'a str),
    Base64,
    Data(&'a str),
}

fn is_token(c: char) -> bool {
    c.is_ascii()
        && !c.is_ascii_control()
        && c != ' '
        && !matches!(
            c,
            '(' | ')'
                | '<'
                | '>'
                | '@'
                | ','
                | ';'
                | ':'
                | '\\'
                | '"'
                | '/'
                | '['
                | ']'
                | '?'
                | '='
        )
}

fn is_url_char(c: char) -> bool {
    c.is_ascii()
        && !c.is_ascii_control()
        && !matches!(
            c,
            ' ' | '<' | '>' | '#' | '"' | '{' | '}' | '|' | '\\' | '^' | '[' | ']' | '`'
        )
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '\n')
}

/// The dataurl lexer (`lex.go`), run to completion: the items up to and
/// including the first error.
fn lex_data_url(input: &str) -> Vec<Item<'_>> {
    let mut l = DataLexer {
        input,
        start: 0,
        pos: 0,
        width: 0,
        seen_base64: false,
        items: Vec::new(),
    };
    l.run();
    l.items
}

struct DataLexer<'a> {
    input: &'a str,
    start: usize,
    pos: usize,
    width: usize,
    seen_base64: bool,
    items: Vec<Item<'a>>,
}

/// The lexer's states (its `stateFn`s, with trivial ones folded in).
#[derive(Clone, Copy)]
enum St {
    AfterPrefix,
    /// The media type; `x_token` for an `x-` type, which skips the check
    /// against the known types.
    MediaType {
        x_token: bool,
    },
    MediaSubtype,
    /// After the subtype or a parameter value: `;` or `,`.
    AfterValue,
    AfterSemicolon,
    Attribute,
    AfterEqual,
    Quoted,
    Escaped,
    Value,
    Data,
}

type Step = Result<St, String>;

impl<'a> DataLexer<'a> {
    /// `next`: the next rune, `None` at the end.
    fn next(&mut self) -> Option<char> {
        if self.pos >= self.input.len() {
            self.width = 0;
            return None;
        }
        let (c, w) = super::gostr::decode_rune(&self.input.as_bytes()[self.pos..]);
        self.width = w;
        self.pos += w;
        Some(c)
    }

    fn backup(&mut self) {
        self.pos -= self.width;
    }

    fn text(&self) -> &'a str {
        self.input.get(self.start..self.pos).unwrap_or("")
    }

    /// `emit`: record an item (if the parser cares) and move the start.
    fn emit(&mut self, item: Option<Item<'a>>) {
        if let Some(i) = item {
            self.items.push(i);
        }
        self.start = self.pos;
    }

    /// The text so far as a parameter value, if any.
    fn emit_value(&mut self) {
        let v = self.text();
        self.emit((!v.is_empty()).then_some(Item::ParamVal(v)));
    }

    fn run(&mut self) {
        if !self.input.starts_with("data:") {
            self.items.push(Item::Error("missing data prefix".into()));
            return;
        }
        self.pos = 5;
        self.emit(None);
        let mut state = St::AfterPrefix;
        loop {
            let next = match state {
                St::AfterPrefix => self.after_prefix(),
                St::MediaType { x_token } => self.media_type(x_token),
                St::MediaSubtype => self.media_subtype(),
                St::AfterValue => self.after_value(),
                St::AfterSemicolon => self.after_semicolon(),
                St::Attribute => self.attribute(),
                St::AfterEqual => self.after_equal(),
                St::Quoted => self.quoted(),
                // Go compares the eof marker (-1) as ASCII first, so the
                // library's "unexpected eof" is unreachable.
                St::Escaped => match self.next() {
                    Some(c) if !c.is_ascii() => Err("invalid escaped character".into()),
                    _ => Ok(St::Quoted),
                },
                St::Value => self.value(),
                St::Data => return self.data(),
            };
            match next {
                Ok(s) => state = s,
                Err(e) => return self.items.push(Item::Error(e)),
            }
        }
    }

    fn after_prefix(&mut self) -> Step {
        match self.next() {
            Some(';' | ',') => {
                self.backup();
                Ok(St::AfterValue)
            }
            None => Err("missing comma before data".into()),
            Some('x' | 'X') => Ok(St::MediaType {
                x_token: self.next() == Some('-'),
            }),
            Some(c) if is_token(c) => Ok(St::MediaType { x_token: false }),
            Some(_) => Err("invalid character after data prefix".into()),
        }
    }

    fn media_type(&mut self, x_token: bool) -> Step {
        match self.next() {
            Some('/') => {
                self.backup();
                let known = [
                    "text",
                    "image",
                    "audio",
                    "video",
                    "application",
                    "message",
                    "multipart",
                ];
                if !x_token && !known.iter().any(|p| self.text().starts_with(p)) {
                    return Err("invalid media type".into());
                }
                self.emit(None);
                self.next();
                self.emit(None);
                Ok(St::MediaSubtype)
            }
            None => Err("missing media type slash".into()),
            Some(c) if is_token(c) => Ok(St::MediaType { x_token }),
            Some(_) => Err("invalid character for media type".into()),
        }
    }

    fn media_subtype(&mut self) -> Step {
        match self.next() {
            Some(';' | ',') => {
                self.backup();
                self.emit(None);
                Ok(St::AfterValue)
            }
            None => Err("incomplete media type".into()),
            Some(c) if is_token(c) => Ok(St::MediaSubtype),
            Some(_) => Err("invalid character for media subtype".into()),
        }
    }

    fn after_value(&mut self) -> Step {
        match self.next() {
            Some(';') => {
                self.emit(None);
                Ok(St::AfterSemicolon)
            }
            Some(',') => {
                self.backup();
                Ok(St::Data)
            }
            None => Err("missing comma before data".into()),
            Some(_) => Err("expected semicolon or comma".into()),
        }
    }

    fn after_semicolon(&mut self) -> Step {
        match self.next() {
            None | Some('=' | ',') => Err("unterminated parameter sequence".into()),
            Some(c) if is_token(c) => {
                self.backup();
                Ok(St::Attribute)
            }
            Some(_) => Err("invalid character for parameter attribute".into()),
        }
    }

    /// A parameter's name, or the `base64` marker before the comma.
    fn attribute(&mut self) -> Step {
        match self.next() {
            Some('=') => {
                self.backup();
                self.emit(None);
                self.next();
                self.emit(None);
                Ok(St::AfterEqual)
            }
            Some(',') => {
                self.backup();
                if self.pos > self.start {
                    let v = self.text();
                    if v != "base64" {
                        return Err(format!("expected base64, got {v}"));
                    }
                    self.seen_base64 = true;
                    self.emit(Some(Item::Base64));
                }
                Ok(St::Data)
            }
            None => Err("unterminated parameter sequence".into()),
            Some(c) if is_token(c) => Ok(St::Attribute),
            Some(_) => Err("invalid character for parameter attribute".into()),
        }
    }

    fn after_equal(&mut self) -> Step {
        match self.next() {
            Some('"') => {
                self.emit(Some(Item::LeftQuote));
                Ok(St::Quoted)
            }
            None => Err("missing comma before data".into()),
            Some(c) if is_token(c) => Ok(St::Value),
            Some(_) => Err("invalid character for parameter value".into()),
        }
    }

    fn quoted(&mut self) -> Step {
        match self.next() {
            None => Err("unclosed quoted string".into()),
            Some('\\') => Ok(St::Escaped),
            Some('"') => {
                self.backup();
                self.emit_value();
                self.next();
                self.emit(None);
                Ok(St::AfterValue)
            }
            Some(c) if c.is_ascii() => Ok(St::Quoted),
            Some(_) => Err("invalid character for parameter value".into()),
        }
    }

    fn value(&mut self) -> Step {
        match self.next() {
            Some(';' | ',') => {
                self.backup();
                self.emit_value();
                Ok(St::AfterValue)
            }
            None => Err("missing comma before data".into()),
            Some(c) if is_token(c) => Ok(St::Value),
            Some(_) => Err("invalid character for parameter value".into()),
        }
    }

    /// The comma and the data after it.
    fn data(&mut self) {
        self.next();
        self.emit(None);
        let ok: fn(char) -> bool = if self.seen_base64 {
            is_base64_char
        } else {
            is_url_char
        };
        while let Some(c) = self.next() {
            if !ok(c) {
                self.items
                    .push(Item::Error("invalid data character".into()));
                return;
            }
        }
        if self.pos > self.start {
            let d = self.text();
            self.emit(Some(Item::Data(d)));
        }
    }
}

/// dataurl's `Unescape` (rfc2396.go), for its errors only.
fn rfc2396_unescape(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let (_, size) = super::gostr::decode_rune(&b[i..]);
        if size > 1 {
            return Err("rfc2396: non-ASCII char detected".to_string());
        }
        if b[i] == b'%' {
            for k in 1..=2 {
                match b.get(i + k) {
                    None => return Err("rfc2396: unexpected end of unescape sequence".to_string()),
                    // Upstream formats the '%' itself, hence always 0x25.
                    Some(c) if !c.is_ascii_hexdigit() => {
                        return Err("rfc2396: invalid char 0x25 in unescape sequence".to_string());
                    }
                    Some(_) => {}
                }
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Whether `strconv.Unquote` accepts `"` + v + `"` (v is ASCII, from the
/// lexer's quoted-string state).
fn go_unquote_ok(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' | b'"' => return false,
            b'\\' => {
                let Some(&c) = b.get(i + 1) else {
                    return false;
                };
                i += 2;
                match c {
                    b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'\\' | b'"' => {}
                    b'x' | b'u' | b'U' => {
                        let n = match c {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let Some(digits) = b.get(i..i + n) else {
                            return false;
                        };
                        if !digits.iter().all(u8::is_ascii_hexdigit) {
                            return false;
                        }
                        let value =
                            u32::from_str_radix(std::str::from_utf8(digits).unwrap_or("0"), 16)
                                .unwrap_or(u32::MAX);
                        if c != b'x' && char::from_u32(value).is_none() {
                            return false;
                        }
                        i += n;
                    }
                    b'0'..=b'7' => {
                        let Some(digits) = b.get(i..i + 2) else {
                            return false;
                        };
                        if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                            return false;
                        }
                        let value = u32::from(c - b'0') << 6
                            | u32::from(digits[0] - b'0') << 3
                            | u32::from(digits[1] - b'0');
                        if value > 255 {
                            return false;
                        }
                        i += 2;
                    }
                    _ => return false,
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// `base64.StdEncoding.DecodeString`, for its `CorruptInputError` only.
fn base64_check(src: &[u8]) -> Result<(), String> {
    let corrupt = |at: usize| Err(format!("illegal base64 data at input byte {at}"));
    let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let mut si = 0;
    while si < src.len() {
        // decodeQuantum
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(());
                }
                return corrupt(si - j);
            }
            let c = src[si];
            si += 1;
            if valid(c) {
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return corrupt(si - 1);
            }
            match j {
                0 | 1 => return corrupt(si - 1),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return corrupt(src.len());
                    }
                    if src[si] != b'=' {
                        return corrupt(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                return corrupt(si);
            }
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls() {
        let d = decode_data_url;
        assert_eq!(d("data:,hello%20world"), Ok(()));
        assert_eq!(d("data:;base64,aGVsbG8="), Ok(()));
        assert_eq!(d("data:text/plain;charset=utf-8;base64,aGk="), Ok(()));
        assert_eq!(d("data:text/plain;charset=\"a\\\"b\",x"), Ok(()));
        assert_eq!(d("data:hello"), Err("missing media type slash".into()));
        assert_eq!(d("data:"), Err("missing comma before data".into()));
        assert_eq!(d("dat:,x"), Err("missing data prefix".into()));
        assert_eq!(d("data:foo/bar,x"), Err("invalid media type".into()));
        assert_eq!(d("data:,a b"), Err("invalid data character".into()));
        assert_eq!(
            d("data:;base65,x"),
            Err("expected base64, got base65".into())
        );
        assert_eq!(
            d("data:,%4"),
            Err("rfc2396: unexpected end of unescape sequence".into())
        );
        assert_eq!(
            d("data:,%g0"),
            Err("rfc2396: invalid char 0x25 in unescape sequence".into())
        );
        assert_eq!(
            d("data:;base64,YQ"),
            Err("illegal base64 data at input byte 0".into())
        );
        assert_eq!(
            d("data:;base64,YQ==YQ=="),
            Err("illegal base64 data at input byte 4".into())
        );
        assert_eq!(
            d("data:;base64,Y==="),
            Err("illegal base64 data at input byte 1".into())
        );
        assert_eq!(
            d("data:text/plain;a=\"\\q\",x"),
            Err("invalid syntax".into())
        );
    }
}
