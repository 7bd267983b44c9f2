//! JSON as Go's `encoding/json` reads it: the syntax check (`checkValid`,
//! whose `SyntaxError` texts Ignition reports for an unparsable config),
//! string decoding (escapes, surrogates, invalid UTF-8), and a document
//! tree for the decoder in `parse` and for vcontext's unused-key walk.
//!
//! The tree is an arena (no recursion to build or drop it), since Go
//! accepts nesting up to 10000 levels.

use super::gostr::{decode_rune, escape_rune};

/// A node of a parsed document. Object members keep document order and
/// duplicates; Go's decoder visits them all in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// The literal, as Go's decoder sees it.
    Num(String),
    Str(String),
    Arr(Vec<usize>),
    Obj(Vec<(String, usize)>),
}

/// A parsed document: nodes in an arena, the root at index 0.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    pub nodes: Vec<Node>,
}

impl Doc {
    pub fn root(&self) -> usize {
        0
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }
}

/// `json.SyntaxError`'s message (its offset only places markers, which
/// this port leaves to the caller).
pub(crate) fn check_valid(data: &[u8]) -> Result<(), String> {
    let mut s = Scanner::default();
    for &c in data {
        if s.step(c) == Scan::Error {
            return Err(s.err.unwrap_or_default());
        }
    }
    s.eof()
}

/// Parses bytes that Go would accept; `Err` with Go's syntax error.
pub(crate) fn parse(data: &[u8]) -> Result<Doc, String> {
    check_valid(data)?;
    Ok(build(data))
}

/// Whether `json.Unmarshal` into an `any` succeeds: valid syntax, and every
/// number within float64 range.
pub(crate) fn unmarshals_to_any(data: &[u8]) -> bool {
    match parse(data) {
        Ok(doc) => doc.nodes.iter().all(|n| match n {
            Node::Num(lit) => lit.parse::<f64>().is_ok_and(f64::is_finite),
            _ => true,
        }),
        Err(_) => false,
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Scan {
    Continue,
    Error,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    Lit(&'static [u8], u8),
    Error,
}

#[derive(Clone, Copy, PartialEq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

const MAX_NESTING_DEPTH: usize = 10000;

/// Go's `scanner`, reduced to validity checking.
struct Scanner {
    step: State,
    end_top: bool,
    parse_state: Vec<Parse>,
    err: Option<String>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            step: State::BeginValue,
            end_top: false,
            parse_state: Vec::new(),
            err: None,
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// `quoteChar`: a byte as Go quotes it in syntax errors (as a Latin-1 rune).
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        _ => {
            let mut s = String::from("'");
            escape_rune(&mut s, c as char, '"');
            s.push('\'');
            s
        }
    }
}

impl Scanner {
    fn error(&mut self, c: u8, context: &str) -> Scan {
        self.step = State::Error;
        self.err = Some(format!("invalid character {} {context}", quote_char(c)));
        Scan::Error
    }

    fn eof(&mut self) -> Result<(), String> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        if self.end_top {
            return Ok(());
        }
        self.step(b' ');
        if self.end_top {
            return Ok(());
        }
        Err(self
            .err
            .clone()
            .unwrap_or_else(|| "unexpected end of JSON input".to_string()))
    }

    fn push(&mut self, c: u8, p: Parse) -> Scan {
        self.parse_state.push(p);
        if self.parse_state.len() <= MAX_NESTING_DEPTH {
            Scan::Continue
        } else {
            self.error(c, "exceeded max depth")
        }
    }

    fn pop(&mut self) {
        self.parse_state.pop();
        if self.parse_state.is_empty() {
            self.step = State::EndTop;
            self.end_top = true;
        } else {
            self.step = State::EndValue;
        }
    }

    fn set(&mut self, st: State) -> Scan {
        self.step = st;
        Scan::Continue
    }

    /// One byte through the state machine.
    fn step(&mut self, c: u8) -> Scan {
        match self.step {
            State::InString | State::InStringEsc | State::InStringEscU(_) => self.string_step(c),
            State::Neg
            | State::One
            | State::Zero
            | State::Dot
            | State::Dot0
            | State::E
            | State::ESign
            | State::E0 => self.number_step(c),
            State::Lit(word, i) => self.literal_step(c, word, i),
            State::Error => Scan::Error,
            _ => self.structure_step(c),
        }
    }

    /// Between values: beginnings, separators and ends.
    fn structure_step(&mut self, c: u8) -> Scan {
        match self.step {
            State::BeginValueOrEmpty if is_space(c) => Scan::Continue,
            State::BeginValueOrEmpty if c == b']' => self.end_value(c),
            State::BeginValueOrEmpty | State::BeginValue => self.begin_value(c),
            State::BeginStringOrEmpty if is_space(c) => Scan::Continue,
            State::BeginStringOrEmpty if c == b'}' => {
                if let Some(last) = self.parse_state.last_mut() {
                    *last = Parse::ObjectValue;
                }
                self.end_value(c)
            }
            State::BeginStringOrEmpty | State::BeginString => self.begin_string(c),
            State::EndTop => {
                if !is_space(c) {
                    // Go records the error but answers scanEnd; the next
                    // byte (or EOF) surfaces it.
                    self.error(c, "after top-level value");
                }
                Scan::Continue
            }
            _ => self.end_value(c),
        }
    }

    /// Inside a string literal.
    fn string_step(&mut self, c: u8) -> Scan {
        match self.step {
            State::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => self.set(State::InString),
                b'u' => self.set(State::InStringEscU(0)),
                _ => self.error(c, "in string escape code"),
            },
            State::InStringEscU(n) => {
                if c.is_ascii_hexdigit() {
                    self.set(if n == 3 {
                        State::InString
                    } else {
                        State::InStringEscU(n + 1)
                    })
                } else {
                    self.error(c, "in \\u hexadecimal character escape")
                }
            }
            _ => match c {
                b'"' => self.set(State::EndValue),
                b'\\' => self.set(State::InStringEsc),
                _ if c < 0x20 => self.error(c, "in string literal"),
                _ => Scan::Continue,
            },
        }
    }

    /// Inside a number literal.
    fn number_step(&mut self, c: u8) -> Scan {
        match (self.step, c) {
            (State::Neg, b'0') => self.set(State::Zero),
            (State::Neg, b'1'..=b'9') => self.set(State::One),
            (State::Neg, _) => self.error(c, "in numeric literal"),
            (State::One, b'0'..=b'9') => Scan::Continue,
            (State::One | State::Zero, b'.') => self.set(State::Dot),
            (State::One | State::Zero | State::Dot0, b'e' | b'E') => self.set(State::E),
            (State::Dot, b'0'..=b'9') => self.set(State::Dot0),
            (State::Dot, _) => self.error(c, "after decimal point in numeric literal"),
            (State::Dot0 | State::E0, b'0'..=b'9') => Scan::Continue,
            (State::E, b'+' | b'-') => self.set(State::ESign),
            (State::E | State::ESign, b'0'..=b'9') => self.set(State::E0),
            (State::E | State::ESign, _) => self.error(c, "in exponent of numeric literal"),
            _ => self.end_value(c),
        }
    }

    /// Inside `true`, `false` or `null`, expecting `word[i]`.
    fn literal_step(&mut self, c: u8, word: &'static [u8], i: u8) -> Scan {
        let want = word[i as usize];
        if c == want {
            if (i as usize) + 1 == word.len() {
                self.set(State::EndValue)
            } else {
                self.set(State::Lit(word, i + 1))
            }
        } else {
            let name = match word[0] {
                b'r' => "true",
                b'a' => "false",
                _ => "null",
            };
            self.error(
                c,
                &format!("in literal {name} (expecting '{}')", want as char),
            )
        }
    }

    fn begin_value(&mut self, c: u8) -> Scan {
        if is_space(c) {
            return Scan::Continue;
        }
        match c {
            b'{' => {
                self.step = State::BeginStringOrEmpty;
                self.push(c, Parse::ObjectKey)
            }
            b'[' => {
                self.step = State::BeginValueOrEmpty;
                self.push(c, Parse::ArrayValue)
            }
            b'"' => self.set(State::InString),
            b'-' => self.set(State::Neg),
            b'0' => self.set(State::Zero),
            b't' => self.set(State::Lit(b"rue", 0)),
            b'f' => self.set(State::Lit(b"alse", 0)),
            b'n' => self.set(State::Lit(b"ull", 0)),
            b'1'..=b'9' => self.set(State::One),
            _ => self.error(c, "looking for beginning of value"),
        }
    }

    fn begin_string(&mut self, c: u8) -> Scan {
        if is_space(c) {
            Scan::Continue
        } else if c == b'"' {
            self.set(State::InString)
        } else {
            self.error(c, "looking for beginning of object key string")
        }
    }

    fn end_value(&mut self, c: u8) -> Scan {
        let Some(&ps) = self.parse_state.last() else {
            self.step = State::EndTop;
            self.end_top = true;
            return self.step(c);
        };
        if is_space(c) {
            return self.set(State::EndValue);
        }
        match ps {
            Parse::ObjectKey => {
                if c == b':' {
                    if let Some(last) = self.parse_state.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    return self.set(State::BeginValue);
                }
                self.error(c, "after object key")
            }
            Parse::ObjectValue => match c {
                b',' => {
                    if let Some(last) = self.parse_state.last_mut() {
                        *last = Parse::ObjectKey;
                    }
                    self.set(State::BeginString)
                }
                b'}' => {
                    self.pop();
                    Scan::Continue
                }
                _ => self.error(c, "after object key:value pair"),
            },
            Parse::ArrayValue => match c {
                b',' => self.set(State::BeginValue),
                b']' => {
                    self.pop();
                    Scan::Continue
                }
                _ => self.error(c, "after array element"),
            },
        }
    }
}

/// Builds the tree of input that `check_valid` accepted.
fn build(data: &[u8]) -> Doc {
    let mut b = Builder {
        data,
        i: 0,
        nodes: Vec::new(),
    };
    b.run();
    Doc { nodes: b.nodes }
}

/// What comes next inside a container.
enum Flow {
    Skip,
    Close,
    Value,
}

struct Builder<'a> {
    data: &'a [u8],
    i: usize,
    nodes: Vec<Node>,
}

impl Builder<'_> {
    fn skip_space(&mut self) {
        while self.i < self.data.len() && is_space(self.data[self.i]) {
            self.i += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.data.get(self.i).copied().unwrap_or(0)
    }

    /// Iterative descent: `open` holds the containers being filled.
    fn run(&mut self) {
        let mut open: Vec<usize> = Vec::new();
        let mut key: Option<String> = None;
        loop {
            self.skip_space();
            if let Some(&top) = open.last() {
                match self.before_item(top, &mut key) {
                    Flow::Skip => continue,
                    Flow::Close => {
                        open.pop();
                        if open.is_empty() {
                            return;
                        }
                        continue;
                    }
                    Flow::Value => {}
                }
            }
            let node = self.value_start();
            let container = matches!(node, Node::Obj(_) | Node::Arr(_));
            let idx = self.nodes.len();
            self.nodes.push(node);
            if let Some(&top) = open.last() {
                match &mut self.nodes[top] {
                    Node::Obj(members) => members.push((key.take().unwrap_or_default(), idx)),
                    Node::Arr(items) => items.push(idx),
                    _ => {}
                }
            }
            if container {
                open.push(idx);
            } else if open.is_empty() {
                return;
            }
        }
    }

    /// Inside container `top`: a separator, its end, an object member's
    /// key (kept in `key`), or the start of the next value.
    fn before_item(&mut self, top: usize, key: &mut Option<String>) -> Flow {
        let in_object = matches!(self.nodes[top], Node::Obj(_));
        match self.peek() {
            b'}' | b']' => {
                self.i += 1;
                Flow::Close
            }
            b',' => {
                self.i += 1;
                Flow::Skip
            }
            _ if in_object && key.is_none() => {
                *key = Some(self.string());
                self.skip_space();
                self.i += 1; // ':'
                Flow::Skip
            }
            _ => Flow::Value,
        }
    }

    /// A scalar, or an empty container to be filled.
    fn value_start(&mut self) -> Node {
        let (node, len) = match self.peek() {
            b'{' => (Node::Obj(Vec::new()), 1),
            b'[' => (Node::Arr(Vec::new()), 1),
            b'"' => return Node::Str(self.string()),
            b't' => (Node::Bool(true), 4),
            b'f' => (Node::Bool(false), 5),
            b'n' => (Node::Null, 4),
            _ => return Node::Num(self.number()),
        };
        self.i += len;
        node
    }

    fn number(&mut self) -> String {
        let start = self.i;
        while self.i < self.data.len()
            && matches!(
                self.data[self.i],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.data[start..self.i]).into_owned()
    }

    /// A string literal at the cursor, decoded as Go's `unquote` does.
    fn string(&mut self) -> String {
        self.i += 1;
        let mut out = String::new();
        while self.i < self.data.len() {
            let c = self.data[self.i];
            match c {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    let e = self.data.get(self.i + 1).copied().unwrap_or(0);
                    self.i += 2;
                    match e {
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()),
                        other => out.push(other as char),
                    }
                }
                _ => {
                    let (r, w) = decode_rune(&self.data[self.i..]);
                    out.push(r);
                    self.i += w.max(1);
                }
            }
        }
        out
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.data.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    }

    /// `\uXXXX` (cursor after the `u`): a surrogate pair, or U+FFFD for a
    /// lone surrogate (the next escape is then read on its own).
    fn unicode_escape(&mut self) -> char {
        let r = self.hex4(self.i).unwrap_or(0xfffd);
        self.i += 4;
        if (0xd800..0xe000).contains(&r) {
            let low = if r < 0xdc00 && self.data.get(self.i..self.i + 2) == Some(b"\\u") {
                self.hex4(self.i + 2)
                    .filter(|r2| (0xdc00..0xe000).contains(r2))
            } else {
                None
            };
            if let Some(r2) = low {
                self.i += 6;
                let c = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
                return char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
            }
            return char::REPLACEMENT_CHARACTER;
        }
        char::from_u32(r).unwrap_or(char::REPLACEMENT_CHARACTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_read_as_go() {
        let e = |s: &[u8]| check_valid(s).unwrap_err();
        assert_eq!(e(b""), "unexpected end of JSON input");
        assert_eq!(e(b"{"), "unexpected end of JSON input");
        assert_eq!(
            e(b"{]"),
            "invalid character ']' looking for beginning of object key string"
        );
        assert_eq!(e(b"{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(
            e(b"{\"a\":1 \"b\"}"),
            "invalid character '\"' after object key:value pair"
        );
        assert_eq!(e(b"[1 2]"), "invalid character '2' after array element");
        assert_eq!(e(b"{} x"), "invalid character 'x' after top-level value");
        assert_eq!(
            e(b"tru"),
            "invalid character ' ' in literal true (expecting 'e')"
        );
        assert_eq!(
            e(b"trUe"),
            "invalid character 'U' in literal true (expecting 'u')"
        );
        assert_eq!(
            e(b"nul1"),
            "invalid character '1' in literal null (expecting 'l')"
        );
        assert_eq!(e(b"01"), "invalid character '1' after top-level value");
        assert_eq!(
            e(b"1."),
            "invalid character ' ' after decimal point in numeric literal"
        );
        assert_eq!(
            e(b"1.x"),
            "invalid character 'x' after decimal point in numeric literal"
        );
        assert_eq!(
            e(b"1ex"),
            "invalid character 'x' in exponent of numeric literal"
        );
        assert_eq!(e(b"-x"), "invalid character 'x' in numeric literal");
        assert_eq!(e(b"\"\\x\""), "invalid character 'x' in string escape code");
        assert_eq!(
            e(b"\"\\u12g4\""),
            "invalid character 'g' in \\u hexadecimal character escape"
        );
        assert_eq!(e(b"\"a\nb\""), "invalid character '\\n' in string literal");
        assert_eq!(
            e(b"'a'"),
            "invalid character '\\'' looking for beginning of value"
        );
        assert_eq!(
            e(b"\xe9"),
            "invalid character '\u{e9}' looking for beginning of value"
        );
        assert_eq!(
            e(b"\x80"),
            "invalid character '\\u0080' looking for beginning of value"
        );
        assert_eq!(e(b"{}}"), "invalid character '}' after top-level value");
        let deep = "[".repeat(10001);
        assert_eq!(
            e(deep.as_bytes()),
            "invalid character '[' exceeded max depth"
        );
    }

    #[test]
    fn trees_keep_order_and_duplicates() {
        let d =
            parse(br#" {"a": [1, {"b": null}], "a": "x\u00e9\ud83d\ude00\ud800y", "c": true} "#)
                .unwrap();
        let Node::Obj(members) = d.node(d.root()) else {
            panic!()
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "a", "c"]);
        assert_eq!(d.node(members[1].1), &Node::Str("xé😀\u{fffd}y".into()));
        let Node::Arr(items) = d.node(members[0].1) else {
            panic!()
        };
        assert_eq!(d.node(items[0]), &Node::Num("1".into()));
        assert_eq!(parse(b"[]").unwrap().nodes, vec![Node::Arr(vec![])]);
        assert_eq!(
            parse(b"\"\xff\"").unwrap().nodes,
            vec![Node::Str("\u{fffd}".into())]
        );
    }

    #[test]
    fn any_rejects_huge_numbers() {
        assert!(unmarshals_to_any(b"{\"a\": 1e300}"));
        assert!(!unmarshals_to_any(b"[1e400]"));
        assert!(!unmarshals_to_any(b"{{"));
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(unmarshals_to_any(deep.as_bytes()));
    }
}
