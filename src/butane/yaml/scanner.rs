//! The scanner: characters in, tokens with marks out (yaml.v3's scannerc.go).
//!
//! Boundary: this module owns tokenisation, the simple-key and indentation
//! bookkeeping, and comment scanning. Comments matter even though no comment
//! text is returned: they move the marks of BLOCK-END tokens, and scanning
//! them reads ahead (up to 512 characters), which decides when a later
//! reader error surfaces. The parser pulls tokens with `fetch_more_tokens`,
//! `head_token` and `skip_token`.
//!
//! This is a close port, function by function, of the Go code, because every
//! message and mark yaml.v3 reports depends on its exact control flow,
//! including its deviations from libyaml (a 3-token lookahead, simple keys
//! indexed by token number). Go names are kept in the doc comments.
//!
//! This file holds the token queue, character access, simple keys,
//! indentation and the fetchers; the submodules scan the token bodies:
//! `directives` (%YAML, %TAG, anchors, tags), `scalars` (plain, quoted and
//! block scalars) and `comments` (whitespace and comments between tokens).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::error::{ErrorState, Failed, Fallible};
use super::reader::Reader;

mod comments;
mod directives;
mod scalars;

/// yaml.v3's `max_flow_level` and `max_indents`.
const MAX_FLOW_LEVEL: usize = 10000;
const MAX_INDENTS: usize = 10000;

/// A position in the input: character index, 0-based line and column
/// (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    /// Signed because yaml.v3 steps one before index 0 for BLOCK-END marks.
    pub index: i64,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    StreamStart,
    StreamEnd,
    VersionDirective,
    TagDirective,
    DocumentStart,
    DocumentEnd,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    FlowSequenceStart,
    FlowSequenceEnd,
    FlowMappingStart,
    FlowMappingEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Alias,
    Anchor,
    Tag,
    Scalar,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) enum ScalarStyle {
    #[default]
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    pub(super) start: Mark,
    pub(super) end: Mark,
    /// Scalar text, anchor/alias name, tag handle or %TAG handle.
    pub(super) value: Vec<u8>,
    /// Tag suffix.
    pub(super) suffix: Vec<u8>,
    /// %TAG prefix.
    pub(super) prefix: Vec<u8>,
    pub(super) style: ScalarStyle,
    pub(super) major: i8,
    pub(super) minor: i8,
}

impl Token {
    fn new(kind: TokenKind, start: Mark, end: Mark) -> Self {
        Token {
            kind,
            start,
            end,
            value: Vec::new(),
            suffix: Vec::new(),
            prefix: Vec::new(),
            style: ScalarStyle::Plain,
            major: 0,
            minor: 0,
        }
    }
}

/// A scanned comment (yaml_comment_t; foot text is not kept). The parser consumes them in order and
/// zeroes each one it consumes, which `unroll_indent` can observe.
#[derive(Clone, Debug, Default)]
pub(super) struct Comment {
    pub(super) scan_mark: Mark,
    pub(super) token_mark: Mark,
    pub(super) start_mark: Mark,
    pub(super) end_mark: Mark,
    pub(super) head: Vec<u8>,
    pub(super) line: Vec<u8>,
}

#[derive(Clone, Copy, Debug, Default)]
struct SimpleKey {
    possible: bool,
    required: bool,
    token_number: usize,
    mark: Mark,
}

/// `unsafe.Sizeof(yaml_token_t{})` on 64-bit Go.
const TOKEN_SIZE_IN_GO: usize = 144;

/// Go 1.19 runtime.growslice: the capacity after appending to a full slice.
fn go_grow_cap(old_cap: usize, needed: usize, elem_size: usize) -> usize {
    let double = old_cap * 2;
    let mut new_cap = old_cap;
    if needed > double {
        new_cap = needed;
    } else if old_cap < 256 {
        new_cap = double;
    } else {
        while new_cap < needed {
            new_cap += (new_cap + 3 * 256) / 4;
        }
    }
    go_round_up_size(new_cap * elem_size) / elem_size
}

/// Go 1.19 runtime.roundupsize: the malloc size class for a request.
fn go_round_up_size(size: usize) -> usize {
    const CLASSES: [usize; 67] = [
        8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
        352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
        2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472,
        9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264,
        28672, 32768,
    ];
    if size < 32768 {
        return CLASSES
            .iter()
            .copied()
            .find(|&c| c >= size)
            .unwrap_or(32768);
    }
    size.div_ceil(8192) * 8192
}

/// A hasher for the token-number keys of `simple_keys_by_tok` (Fibonacci
/// hashing); the default SipHash showed up in profiles.
#[derive(Default)]
struct TokenNumberHasher(u64);

impl Hasher for TokenNumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type TokenNumberMap = HashMap<usize, usize, BuildHasherDefault<TokenNumberHasher>>;

/// UTF-8 width from a leading byte (0 for a continuation byte), as Go's `width`.
fn utf8_width(b: u8) -> usize {
    match b {
        _ if b & 0x80 == 0x00 => 1,
        _ if b & 0xE0 == 0xC0 => 2,
        _ if b & 0xF0 == 0xE0 => 3,
        _ if b & 0xF8 == 0xF0 => 4,
        _ => 0,
    }
}

fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_-;/?:@&=+$,.!~*'()[]%".contains(&c)
}

fn hex_value(c: u8) -> u32 {
    match c {
        b'A'..=b'F' => u32::from(c - b'A' + 10),
        b'a'..=b'f' => u32::from(c - b'a' + 10),
        _ => u32::from(c.wrapping_sub(b'0')),
    }
}

pub(super) struct Scanner<'a> {
    r: Reader<'a>,
    pub(super) err: ErrorState,
    mark: Mark,
    /// Line breaks since the last non-blank character.
    newlines: i64,

    stream_start_produced: bool,
    stream_end_produced: bool,
    flow_level: usize,

    /// Go's token slice: consumed tokens stay in it until it is compacted,
    /// and yaml.v3 looks at its last entries whether consumed or not, so it
    /// is kept the same way, with Go's capacity growth simulated in `go_cap`.
    tokens: Vec<Token>,
    tokens_head: usize,
    go_cap: usize,
    pub(super) tokens_parsed: usize,
    pub(super) token_available: bool,

    indent: i64,
    indents: Vec<i64>,

    simple_key_allowed: bool,
    simple_keys: Vec<SimpleKey>,
    simple_keys_by_tok: TokenNumberMap,

    pub(super) comments: Vec<Comment>,
    pub(super) comments_head: usize,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Scanner {
            r: Reader::new(input),
            err: ErrorState::default(),
            mark: Mark::default(),
            newlines: 0,
            stream_start_produced: false,
            stream_end_produced: false,
            flow_level: 0,
            tokens: Vec::new(),
            tokens_head: 0,
            go_cap: 0,
            tokens_parsed: 0,
            token_available: false,
            indent: 0,
            indents: Vec::new(),
            simple_key_allowed: false,
            simple_keys: Vec::new(),
            simple_keys_by_tok: TokenNumberMap::default(),
            comments: Vec::new(),
            comments_head: 0,
        }
    }

    // ----- Token queue -------------------------------------------------------

    /// The token at the head of the queue (valid after `fetch_more_tokens`).
    pub(super) fn head_token(&self) -> &Token {
        &self.tokens[self.tokens_head]
    }

    /// Moves the text out of the head token (which is about to be skipped;
    /// consumed tokens are only ever looked at for their kind and marks).
    pub(super) fn take_head_value(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.tokens[self.tokens_head].value)
    }

    /// Number of queued, unconsumed tokens.
    fn queued(&self) -> usize {
        self.tokens.len() - self.tokens_head
    }

    /// Consumes the head token (the parser's `skip_token`). As in Go, it
    /// stays in the slice until the slice is compacted.
    pub(super) fn skip_token(&mut self) {
        self.token_available = false;
        self.tokens_parsed += 1;
        self.stream_end_produced = self.tokens[self.tokens_head].kind == TokenKind::StreamEnd;
        self.tokens_head += 1;
    }

    pub(super) fn stream_end_produced(&self) -> bool {
        self.stream_end_produced
    }

    /// The first half of yaml_insert_token: Go compacts its slice when it is
    /// full and has consumed tokens, then grows it.
    fn make_room_for_token(&mut self) {
        if self.tokens_head > 0 && self.tokens.len() == self.go_cap {
            self.tokens.drain(..self.tokens_head);
            self.tokens_head = 0;
        }
        if self.tokens.len() == self.go_cap {
            self.go_cap = go_grow_cap(self.go_cap, self.tokens.len() + 1, TOKEN_SIZE_IN_GO);
        }
    }

    /// yaml_insert_token with position -1: queues `token` last.
    fn append_token(&mut self, token: Token) {
        self.make_room_for_token();
        self.tokens.push(token);
    }

    /// yaml_insert_token with a position relative to the queue head. A stale
    /// simple key can give a negative position (its token already consumed);
    /// Go then appends, like position -1.
    fn insert_token(&mut self, pos: isize, token: Token) {
        self.make_room_for_token();
        match usize::try_from(pos) {
            Ok(pos) => {
                let at = (self.tokens_head + pos).min(self.tokens.len());
                self.tokens.insert(at, token);
            }
            Err(_) => self.tokens.push(token),
        }
    }

    /// `parser.tokens[len(parser.tokens)-n]` (n = 1 is the last token), or
    /// `None` where Go's slice is shorter than `n`.
    fn nth_last_token(&self, n: usize) -> Option<(TokenKind, Mark)> {
        let len = self.tokens.len();
        (len >= n).then(|| (self.tokens[len - n].kind, self.tokens[len - n].start))
    }

    // ----- Character access --------------------------------------------------

    fn cache(&mut self, length: usize) -> Fallible {
        match self.r.cache(length) {
            Ok(()) => Ok(()),
            Err(problem) => Err(self.err.set_reader(problem)),
        }
    }

    fn ch(&self, k: usize) -> u8 {
        self.r.at(k)
    }

    fn is_blank(&self, k: usize) -> bool {
        matches!(self.ch(k), b' ' | b'\t')
    }

    fn is_break(&self, k: usize) -> bool {
        match self.ch(k) {
            b'\r' | b'\n' => true,
            0xC2 => self.ch(k + 1) == 0x85,
            0xE2 => self.ch(k + 1) == 0x80 && matches!(self.ch(k + 2), 0xA8 | 0xA9),
            _ => false,
        }
    }

    fn is_breakz(&self, k: usize) -> bool {
        self.ch(k) == 0 || self.is_break(k)
    }

    fn is_blankz(&self, k: usize) -> bool {
        self.is_blank(k) || self.is_breakz(k)
    }

    fn is_alpha(&self, k: usize) -> bool {
        let c = self.ch(k);
        c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
    }

    /// Go's `skip`.
    fn skip(&mut self) {
        if !self.is_blank(0) {
            self.newlines = 0;
        }
        self.mark.index += 1;
        self.mark.column += 1;
        let width = utf8_width(self.ch(0));
        self.r.advance(width);
    }

    /// Go's `skip_line`: consumes one line break, if there is one.
    fn skip_line(&mut self) {
        if self.ch(0) == b'\r' && self.ch(1) == b'\n' {
            self.mark.index += 2;
            self.mark.column = 0;
            self.mark.line += 1;
            self.r.advance_crlf();
            self.newlines += 1;
        } else if self.is_break(0) {
            self.mark.index += 1;
            self.mark.column = 0;
            self.mark.line += 1;
            let width = utf8_width(self.ch(0));
            self.r.advance(width);
            self.newlines += 1;
        }
    }

    /// Go's `read`: appends the current character to `s` and consumes it.
    fn read(&mut self, s: &mut Vec<u8>) {
        if !self.is_blank(0) {
            self.newlines = 0;
        }
        let c = self.ch(0);
        let width = utf8_width(c).max(1);
        if width == 1 {
            s.push(c);
        } else {
            s.extend_from_slice(self.r.slice(width));
        }
        self.r.advance(width);
        self.mark.index += 1;
        self.mark.column += 1;
    }

    /// Many `read` calls at once: appends the run of ASCII characters that
    /// `keep` accepts and consumes them. It is used inside loops of the form
    /// `while <keep holds> { read(); cache(reserve) }` and stops before the
    /// point where one of those `cache` calls would have had to decode more
    /// input, so the reader behaves exactly as with single reads.
    fn read_ascii_run(&mut self, s: &mut Vec<u8>, reserve: usize, keep: impl Fn(u8) -> bool) {
        let budget = (self.r.unread() - reserve as i64).max(0) as usize;
        let bytes = self.r.slice(budget);
        let run = bytes
            .iter()
            .take_while(|&&b| b.is_ascii() && keep(b))
            .count();
        if run == 0 {
            return;
        }
        s.extend_from_slice(&bytes[..run]);
        if bytes[..run].iter().any(|&b| b != b' ' && b != b'\t') {
            self.newlines = 0;
        }
        self.r.advance_ascii(run);
        self.mark.index += run as i64;
        self.mark.column += run;
    }

    /// Go's `read_line`: appends a normalised line break (LS and PS are kept)
    /// and consumes it; does nothing if there is no break.
    fn read_line(&mut self, s: &mut Vec<u8>) {
        let (c0, c1, c2) = (self.ch(0), self.ch(1), self.ch(2));
        if c0 == b'\r' && c1 == b'\n' {
            s.push(b'\n');
            self.r.advance_crlf();
            self.mark.index += 1;
        } else if c0 == b'\r' || c0 == b'\n' {
            s.push(b'\n');
            self.r.advance(1);
        } else if c0 == 0xC2 && c1 == 0x85 {
            s.push(b'\n');
            self.r.advance(2);
        } else if c0 == 0xE2 && c1 == 0x80 && (c2 == 0xA8 || c2 == 0xA9) {
            s.extend_from_slice(&[c0, c1, c2]);
            self.r.advance(3);
        } else {
            return;
        }
        self.mark.index += 1;
        self.mark.column = 0;
        self.mark.line += 1;
        self.newlines += 1;
    }

    fn scanner_error(&mut self, context_mark: Mark, problem: &str) -> Failed {
        let at = self.mark;
        self.err.set_scanner(context_mark, problem, at)
    }

    // ----- Driving the token queue -------------------------------------------

    /// yaml_parser_fetch_more_tokens. yaml.v3 keeps fetching until at least
    /// three tokens are queued and the head token cannot become a simple key.
    pub(super) fn fetch_more_tokens(&mut self) -> Fallible {
        loop {
            if self.queued() > 2 {
                let Some(&index) = self.simple_keys_by_tok.get(&self.tokens_parsed) else {
                    break;
                };
                if !self.simple_key_is_valid(index)? {
                    break;
                }
            }
            self.fetch_next_token()?;
        }
        self.token_available = true;
        Ok(())
    }

    /// yaml_parser_fetch_next_token.
    fn fetch_next_token(&mut self) -> Fallible {
        self.cache(1)?;
        if !self.stream_start_produced {
            self.fetch_stream_start();
            return Ok(());
        }
        let scan_mark = self.mark;
        self.scan_to_next_token()?;
        self.unroll_indent(self.mark.column as i64, scan_mark);
        self.cache(4)?;

        let c = self.ch(0);
        if c == 0 {
            return self.fetch_stream_end();
        }
        if self.mark.column == 0 {
            if c == b'%' {
                return self.fetch_directive();
            }
            if self.at_document_indicator(b'-') {
                return self.fetch_document_indicator(TokenKind::DocumentStart);
            }
            if self.at_document_indicator(b'.') {
                return self.fetch_document_indicator(TokenKind::DocumentEnd);
            }
        }

        // A line comment after ':' or ',' belongs to the token before it.
        let mut comment_mark = self.mark;
        let separator = if self.flow_level == 0 { b':' } else { b',' };
        if c == separator
            && let Some((_, start)) = self.nth_last_token(1)
        {
            comment_mark = start;
        }

        self.fetch_token_at(c)?;

        // Go runs this in a `defer` after every successful fetch above.
        if matches!(self.nth_last_token(1), Some((TokenKind::BlockEntry, _))) {
            return Ok(());
        }
        self.scan_line_comment(comment_mark)
    }

    /// "---" or "..." followed by a blank, NUL or break.
    fn at_document_indicator(&self, c: u8) -> bool {
        self.ch(0) == c && self.ch(1) == c && self.ch(2) == c && self.is_blankz(3)
    }

    /// The indicator dispatch of yaml_parser_fetch_next_token.
    fn fetch_token_at(&mut self, c: u8) -> Fallible {
        let flow = self.flow_level > 0;
        match c {
            b'[' => return self.fetch_flow_collection_start(TokenKind::FlowSequenceStart),
            b'{' => return self.fetch_flow_collection_start(TokenKind::FlowMappingStart),
            b']' => return self.fetch_flow_collection_end(TokenKind::FlowSequenceEnd),
            b'}' => return self.fetch_flow_collection_end(TokenKind::FlowMappingEnd),
            b',' => return self.fetch_flow_entry(),
            b'-' if self.is_blankz(1) => return self.fetch_block_entry(),
            b'?' if flow || self.is_blankz(1) => return self.fetch_key(),
            b':' if flow || self.is_blankz(1) => return self.fetch_value(),
            b'*' => return self.fetch_anchor(TokenKind::Alias),
            b'&' => return self.fetch_anchor(TokenKind::Anchor),
            b'!' => return self.fetch_tag(),
            b'|' if !flow => return self.fetch_block_scalar(true),
            b'>' if !flow => return self.fetch_block_scalar(false),
            b'\'' => return self.fetch_flow_scalar(true),
            b'"' => return self.fetch_flow_scalar(false),
            _ => {}
        }
        if self.can_start_plain_scalar(c) {
            return self.fetch_plain_scalar();
        }
        let at = self.mark;
        Err(self.scanner_error(at, "found character that cannot start any token"))
    }

    fn can_start_plain_scalar(&self, c: u8) -> bool {
        let indicator = self.is_blankz(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !indicator
            || (c == b'-' && !self.is_blank(1))
            || (self.flow_level == 0 && (c == b'?' || c == b':') && !self.is_blankz(1))
    }

    // ----- Simple keys and indentation ---------------------------------------

    /// yaml_simple_key_is_valid: a key candidate expires at a line break or
    /// after 1024 characters; an expired required key is an error.
    fn simple_key_is_valid(&mut self, index: usize) -> Fallible<bool> {
        let Some(key) = self.simple_keys.get(index).copied() else {
            // A stale entry of `simple_keys_by_tok`: Go indexes out of range.
            return Err(self.err.set_go_panic("index out of range"));
        };
        if !key.possible {
            return Ok(false);
        }
        if key.mark.line < self.mark.line || key.mark.index + 1024 < self.mark.index {
            if key.required {
                return Err(self.scanner_error(key.mark, "could not find expected ':'"));
            }
            self.simple_keys[index].possible = false;
            return Ok(false);
        }
        Ok(true)
    }

    /// yaml_parser_save_simple_key.
    fn save_simple_key(&mut self) -> Fallible {
        let required = self.flow_level == 0 && self.indent == self.mark.column as i64;
        if self.simple_key_allowed {
            let key = SimpleKey {
                possible: true,
                required,
                token_number: self.tokens_parsed + self.queued(),
                mark: self.mark,
            };
            self.remove_simple_key()?;
            let last = self.simple_keys.len() - 1;
            self.simple_keys[last] = key;
            self.simple_keys_by_tok.insert(key.token_number, last);
        }
        Ok(())
    }

    /// yaml_parser_remove_simple_key.
    fn remove_simple_key(&mut self) -> Fallible {
        let last = self.simple_keys.len() - 1;
        let key = self.simple_keys[last];
        if key.possible {
            if key.required {
                return Err(self.scanner_error(key.mark, "could not find expected ':'"));
            }
            self.simple_keys[last].possible = false;
            self.simple_keys_by_tok.remove(&key.token_number);
        }
        Ok(())
    }

    /// yaml_parser_increase_flow_level.
    fn increase_flow_level(&mut self) -> Fallible {
        self.simple_keys.push(SimpleKey {
            possible: false,
            required: false,
            token_number: self.tokens_parsed + self.queued(),
            mark: self.mark,
        });
        self.flow_level += 1;
        if self.flow_level > MAX_FLOW_LEVEL {
            let context = self.simple_keys[self.simple_keys.len() - 1].mark;
            let problem = format!("exceeded max depth of {MAX_FLOW_LEVEL}");
            return Err(self.scanner_error(context, &problem));
        }
        Ok(())
    }

    /// yaml_parser_decrease_flow_level.
    fn decrease_flow_level(&mut self) {
        if self.flow_level > 0 {
            self.flow_level -= 1;
            if let Some(key) = self.simple_keys.pop() {
                self.simple_keys_by_tok.remove(&key.token_number);
            }
        }
    }

    /// yaml_parser_roll_indent: opens a block collection at `column`.
    /// `number` is the absolute token number to insert before, if any.
    fn roll_indent(
        &mut self,
        column: usize,
        number: Option<usize>,
        kind: TokenKind,
        mark: Mark,
    ) -> Fallible {
        if self.flow_level > 0 {
            return Ok(());
        }
        let column = column as i64;
        if self.indent < column {
            self.indents.push(self.indent);
            self.indent = column;
            if self.indents.len() > MAX_INDENTS {
                let context = self.simple_keys[self.simple_keys.len() - 1].mark;
                let problem = format!("exceeded max depth of {MAX_INDENTS}");
                return Err(self.scanner_error(context, &problem));
            }
            let token = Token::new(kind, mark, mark);
            match number {
                Some(number) => {
                    self.insert_token(number as isize - self.tokens_parsed as isize, token)
                }
                None => self.append_token(token),
            }
        }
        Ok(())
    }

    /// yaml_parser_unroll_indent: closes block collections deeper than
    /// `column`. The BLOCK-END mark is one before the scan start, or the start
    /// of a comment at the closed level found among the trailing comments.
    fn unroll_indent(&mut self, column: i64, scan_mark: Mark) {
        if self.flow_level > 0 {
            return;
        }
        let mut block_mark = scan_mark;
        block_mark.index -= 1;
        while self.indent > column {
            let mut stop_index = block_mark.index;
            for comment in self.comments.iter().rev() {
                if comment.end_mark.index < stop_index {
                    break;
                }
                if comment.start_mark.column as i64 == self.indent + 1 {
                    block_mark = comment.start_mark;
                }
                stop_index = comment.scan_mark.index;
            }
            self.append_token(Token::new(TokenKind::BlockEnd, block_mark, block_mark));
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    // ----- Fetchers ----------------------------------------------------------

    fn fetch_stream_start(&mut self) {
        self.indent = -1;
        self.simple_keys.push(SimpleKey::default());
        self.simple_key_allowed = true;
        self.stream_start_produced = true;
        let mark = self.mark;
        self.append_token(Token::new(TokenKind::StreamStart, mark, mark));
    }

    fn fetch_stream_end(&mut self) -> Fallible {
        if self.mark.column != 0 {
            self.mark.column = 0;
            self.mark.line += 1;
        }
        self.unroll_indent(-1, self.mark);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let mark = self.mark;
        self.append_token(Token::new(TokenKind::StreamEnd, mark, mark));
        Ok(())
    }

    fn fetch_directive(&mut self) -> Fallible {
        self.unroll_indent(-1, self.mark);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let token = self.scan_directive()?;
        self.append_token(token);
        Ok(())
    }

    fn fetch_document_indicator(&mut self, kind: TokenKind) -> Fallible {
        self.unroll_indent(-1, self.mark);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        self.skip();
        self.skip();
        let end = self.mark;
        self.append_token(Token::new(kind, start, end));
        Ok(())
    }

    /// Consumes a one-character indicator and queues its token.
    fn push_indicator(&mut self, kind: TokenKind) {
        let start = self.mark;
        self.skip();
        let end = self.mark;
        self.append_token(Token::new(kind, start, end));
    }

    fn fetch_flow_collection_start(&mut self, kind: TokenKind) -> Fallible {
        self.save_simple_key()?;
        self.increase_flow_level()?;
        self.simple_key_allowed = true;
        self.push_indicator(kind);
        Ok(())
    }

    fn fetch_flow_collection_end(&mut self, kind: TokenKind) -> Fallible {
        self.remove_simple_key()?;
        self.decrease_flow_level();
        self.simple_key_allowed = false;
        self.push_indicator(kind);
        Ok(())
    }

    fn fetch_flow_entry(&mut self) -> Fallible {
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        self.push_indicator(TokenKind::FlowEntry);
        Ok(())
    }

    fn fetch_block_entry(&mut self) -> Fallible {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                let at = self.mark;
                return Err(self
                    .scanner_error(at, "block sequence entries are not allowed in this context"));
            }
            let (column, mark) = (self.mark.column, self.mark);
            self.roll_indent(column, None, TokenKind::BlockSequenceStart, mark)?;
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        self.push_indicator(TokenKind::BlockEntry);
        Ok(())
    }

    fn fetch_key(&mut self) -> Fallible {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                let at = self.mark;
                return Err(self.scanner_error(at, "mapping keys are not allowed in this context"));
            }
            let (column, mark) = (self.mark.column, self.mark);
            self.roll_indent(column, None, TokenKind::BlockMappingStart, mark)?;
        }
        self.remove_simple_key()?;
        self.simple_key_allowed = self.flow_level == 0;
        self.push_indicator(TokenKind::Key);
        Ok(())
    }

    /// yaml_parser_fetch_value: a ':' turns a pending simple key into a KEY
    /// token (inserted back where the key started).
    fn fetch_value(&mut self) -> Fallible {
        let last = self.simple_keys.len() - 1;
        if self.simple_key_is_valid(last)? {
            let key = self.simple_keys[last];
            let pos = key.token_number as isize - self.tokens_parsed as isize;
            self.insert_token(pos, Token::new(TokenKind::Key, key.mark, key.mark));
            self.roll_indent(
                key.mark.column,
                Some(key.token_number),
                TokenKind::BlockMappingStart,
                key.mark,
            )?;
            self.simple_keys[last].possible = false;
            self.simple_keys_by_tok.remove(&key.token_number);
            self.simple_key_allowed = false;
        } else {
            if self.flow_level == 0 {
                if !self.simple_key_allowed {
                    let at = self.mark;
                    return Err(
                        self.scanner_error(at, "mapping values are not allowed in this context")
                    );
                }
                let (column, mark) = (self.mark.column, self.mark);
                self.roll_indent(column, None, TokenKind::BlockMappingStart, mark)?;
            }
            self.simple_key_allowed = self.flow_level == 0;
        }
        self.push_indicator(TokenKind::Value);
        Ok(())
    }

    fn fetch_anchor(&mut self, kind: TokenKind) -> Fallible {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let token = self.scan_anchor(kind)?;
        self.append_token(token);
        Ok(())
    }

    fn fetch_tag(&mut self) -> Fallible {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let token = self.scan_tag()?;
        self.append_token(token);
        Ok(())
    }

    fn fetch_block_scalar(&mut self, literal: bool) -> Fallible {
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let token = self.scan_block_scalar(literal)?;
        self.append_token(token);
        Ok(())
    }

    fn fetch_flow_scalar(&mut self, single: bool) -> Fallible {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let token = self.scan_flow_scalar(single)?;
        self.append_token(token);
        Ok(())
    }

    fn fetch_plain_scalar(&mut self) -> Fallible {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let token = self.scan_plain_scalar()?;
        self.append_token(token);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        let mut s = Scanner::new(input.as_bytes());
        let mut out = Vec::new();
        loop {
            s.fetch_more_tokens().expect("scans");
            let kind = s.head_token().kind;
            s.skip_token();
            out.push(kind);
            if kind == TokenKind::StreamEnd {
                return out;
            }
        }
    }

    #[test]
    fn block_mapping_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("a: b\n"),
            vec![
                StreamStart,
                BlockMappingStart,
                Key,
                Scalar,
                Value,
                Scalar,
                BlockEnd,
                StreamEnd
            ]
        );
    }

    #[test]
    fn flow_sequence_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("[a, b]"),
            vec![
                StreamStart,
                FlowSequenceStart,
                Scalar,
                FlowEntry,
                Scalar,
                FlowSequenceEnd,
                StreamEnd
            ]
        );
    }

    #[test]
    fn go_slice_growth_matches_runtime() {
        assert_eq!(go_grow_cap(0, 1, 144), 1);
        assert_eq!(go_grow_cap(1, 2, 144), 2);
        assert_eq!(go_grow_cap(16, 17, 144), 33);
    }
}
