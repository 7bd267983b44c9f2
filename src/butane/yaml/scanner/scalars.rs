//! Scalar bodies: block (`|`, `>`), quoted (`'`, `"`) and plain scalars
//! (yaml_parser_scan_block_scalar, yaml_parser_scan_flow_scalar,
//! yaml_parser_scan_plain_scalar), with line folding and escapes.
//!
//! Boundary: turns the characters of one scalar into a SCALAR `Token`;
//! queueing it and the simple-key bookkeeping stay in the parent module.

use super::super::error::Fallible;
use super::super::reader::push_utf8;
use super::{Mark, ScalarStyle, Scanner, Token, TokenKind, hex_value};

impl Scanner<'_> {
    /// yaml_parser_scan_block_scalar: `|` and `>` scalars.
    pub(super) fn scan_block_scalar(&mut self, literal: bool) -> Fallible<Token> {
        let start = self.mark;
        self.skip();
        self.cache(1)?;
        let (chomping, increment) = self.scan_block_scalar_header(start)?;

        self.cache(1)?;
        while self.is_blank(0) {
            self.skip();
            self.cache(1)?;
        }
        if self.ch(0) == b'#' {
            self.scan_line_comment(start)?;
            while !self.is_breakz(0) {
                self.skip();
                self.cache(1)?;
            }
        }
        if !self.is_breakz(0) {
            return Err(self.scanner_error(start, "did not find expected comment or line break"));
        }
        if self.is_break(0) {
            self.cache(2)?;
            self.skip_line();
        }

        let mut end = self.mark;
        let mut indent: i64 = 0;
        if increment > 0 {
            indent = if self.indent >= 0 {
                self.indent + increment
            } else {
                increment
            };
        }
        // Go's `read` starts a string with capacity 32 as well.
        let mut text = Vec::with_capacity(32);
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        self.scan_block_scalar_breaks(&mut indent, &mut trailing_breaks, start, &mut end)?;
        self.cache(1)?;

        let mut leading_blank = false;
        while self.mark.column as i64 == indent && self.ch(0) != 0 {
            let trailing_blank = self.is_blank(0);
            if !literal
                && !leading_blank
                && !trailing_blank
                && leading_break.first() == Some(&b'\n')
            {
                if trailing_breaks.is_empty() {
                    text.push(b' ');
                }
            } else {
                text.extend_from_slice(&leading_break);
            }
            leading_break.clear();
            text.append(&mut trailing_breaks);
            leading_blank = self.is_blank(0);
            while !self.is_breakz(0) {
                self.read(&mut text);
                self.cache(1)?;
                self.read_ascii_run(&mut text, 1, |b| b == b'\t' || (b' '..=b'~').contains(&b));
            }
            self.cache(2)?;
            self.read_line(&mut leading_break);
            self.scan_block_scalar_breaks(&mut indent, &mut trailing_breaks, start, &mut end)?;
        }
        if chomping != -1 {
            text.extend_from_slice(&leading_break);
        }
        if chomping == 1 {
            text.extend_from_slice(&trailing_breaks);
        }
        let mut token = Token::new(TokenKind::Scalar, start, end);
        token.value = text;
        token.style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        Ok(token)
    }

    /// The chomping (`+`/`-`) and indentation (1-9) indicators, either order.
    fn scan_block_scalar_header(&mut self, start: Mark) -> Fallible<(i32, i64)> {
        let mut chomping = 0;
        let mut increment = 0;
        let chomp_of = |c: u8| if c == b'+' { 1 } else { -1 };
        if matches!(self.ch(0), b'+' | b'-') {
            chomping = chomp_of(self.ch(0));
            self.skip();
            self.cache(1)?;
            if self.ch(0).is_ascii_digit() {
                increment = self.scan_indentation_indicator(start)?;
            }
        } else if self.ch(0).is_ascii_digit() {
            increment = self.scan_indentation_indicator(start)?;
            self.cache(1)?;
            if matches!(self.ch(0), b'+' | b'-') {
                chomping = chomp_of(self.ch(0));
                self.skip();
            }
        }
        Ok((chomping, increment))
    }

    fn scan_indentation_indicator(&mut self, start: Mark) -> Fallible<i64> {
        if self.ch(0) == b'0' {
            return Err(self.scanner_error(start, "found an indentation indicator equal to 0"));
        }
        let increment = i64::from(self.ch(0) - b'0');
        self.skip();
        Ok(increment)
    }

    /// yaml_parser_scan_block_scalar_breaks: indentation and empty lines;
    /// settles the indentation from the first non-empty line if not given.
    fn scan_block_scalar_breaks(
        &mut self,
        indent: &mut i64,
        breaks: &mut Vec<u8>,
        start: Mark,
        end: &mut Mark,
    ) -> Fallible {
        *end = self.mark;
        let mut max_indent: i64 = 0;
        loop {
            self.cache(1)?;
            while (*indent == 0 || (self.mark.column as i64) < *indent) && self.ch(0) == b' ' {
                self.skip();
                self.cache(1)?;
            }
            max_indent = max_indent.max(self.mark.column as i64);
            if (*indent == 0 || (self.mark.column as i64) < *indent) && self.ch(0) == b'\t' {
                return Err(self.scanner_error(
                    start,
                    "found a tab character where an indentation space is expected",
                ));
            }
            if !self.is_break(0) {
                break;
            }
            self.cache(2)?;
            self.read_line(breaks);
            *end = self.mark;
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
        Ok(())
    }

    // ----- Flow scalars ------------------------------------------------------

    /// yaml_parser_scan_flow_scalar: single- and double-quoted scalars.
    pub(super) fn scan_flow_scalar(&mut self, single: bool) -> Fallible<Token> {
        let start = self.mark;
        self.skip();
        // Go's `read` starts a string with capacity 32 as well.
        let mut text = Vec::with_capacity(32);
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        let mut whitespaces = Vec::new();
        loop {
            self.cache(4)?;
            if self.mark.column == 0
                && (self.at_document_indicator(b'-') || self.at_document_indicator(b'.'))
            {
                return Err(self.scanner_error(start, "found unexpected document indicator"));
            }
            if self.ch(0) == 0 {
                return Err(self.scanner_error(start, "found unexpected end of stream"));
            }
            let mut leading_blanks = false;
            while !self.is_blankz(0) {
                let c = self.ch(0);
                if single && c == b'\'' && self.ch(1) == b'\'' {
                    text.push(b'\'');
                    self.skip();
                    self.skip();
                } else if (single && c == b'\'') || (!single && c == b'"') {
                    break;
                } else if !single && c == b'\\' && self.is_break(1) {
                    self.cache(3)?;
                    self.skip();
                    self.skip_line();
                    leading_blanks = true;
                    break;
                } else if !single && c == b'\\' {
                    self.scan_escape(start, &mut text)?;
                } else {
                    self.read(&mut text);
                }
                self.cache(2)?;
                let special: &[u8] = if single { b"'" } else { b"\"\\" };
                self.read_ascii_run(&mut text, 2, |b| {
                    (b'!'..=b'~').contains(&b) && !special.contains(&b)
                });
            }
            self.cache(1)?;
            if self.ch(0) == if single { b'\'' } else { b'"' } {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    if leading_blanks {
                        self.skip();
                    } else {
                        self.read(&mut whitespaces);
                    }
                } else {
                    self.cache(2)?;
                    if leading_blanks {
                        self.read_line(&mut trailing_breaks);
                    } else {
                        whitespaces.clear();
                        self.read_line(&mut leading_break);
                        leading_blanks = true;
                    }
                }
                self.cache(1)?;
            }
            if leading_blanks {
                fold_line_breaks(&mut text, &mut leading_break, &mut trailing_breaks);
            } else {
                text.append(&mut whitespaces);
            }
        }
        self.skip();
        let mut token = Token::new(TokenKind::Scalar, start, self.mark);
        token.value = text;
        token.style = if single {
            ScalarStyle::SingleQuoted
        } else {
            ScalarStyle::DoubleQuoted
        };
        Ok(token)
    }

    /// One backslash escape of a double-quoted scalar.
    fn scan_escape(&mut self, start: Mark, text: &mut Vec<u8>) -> Fallible {
        let simple: Option<&[u8]> = match self.ch(1) {
            b'0' => Some(b"\0"),
            b'a' => Some(b"\x07"),
            b'b' => Some(b"\x08"),
            b't' | b'\t' => Some(b"\t"),
            b'n' => Some(b"\n"),
            b'v' => Some(b"\x0b"),
            b'f' => Some(b"\x0c"),
            b'r' => Some(b"\r"),
            b'e' => Some(b"\x1b"),
            b' ' => Some(b" "),
            b'"' => Some(b"\""),
            b'\'' => Some(b"'"),
            b'\\' => Some(b"\\"),
            b'N' => Some("\u{85}".as_bytes()),
            b'_' => Some("\u{a0}".as_bytes()),
            b'L' => Some("\u{2028}".as_bytes()),
            b'P' => Some("\u{2029}".as_bytes()),
            b'x' | b'u' | b'U' => None,
            _ => return Err(self.scanner_error(start, "found unknown escape character")),
        };
        let code_length = match self.ch(1) {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => 0,
        };
        if let Some(bytes) = simple {
            text.extend_from_slice(bytes);
        }
        self.skip();
        self.skip();
        if code_length == 0 {
            return Ok(());
        }
        self.cache(code_length)?;
        let mut value: u32 = 0;
        for k in 0..code_length {
            if !self.ch(k).is_ascii_hexdigit() {
                return Err(self.scanner_error(start, "did not find expected hexdecimal number"));
            }
            value = (value << 4) + hex_value(self.ch(k));
        }
        if (0xD800..=0xDFFF).contains(&value) || value > 0x10FFFF {
            return Err(self.scanner_error(start, "found invalid Unicode character escape code"));
        }
        push_utf8(text, value);
        for _ in 0..code_length {
            self.skip();
        }
        Ok(())
    }

    // ----- Plain scalars -----------------------------------------------------

    /// yaml_parser_scan_plain_scalar.
    pub(super) fn scan_plain_scalar(&mut self) -> Fallible<Token> {
        // Go's `read` starts a string with capacity 32 as well.
        let mut text = Vec::with_capacity(32);
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        let mut whitespaces = Vec::new();
        let mut leading_blanks = false;
        let indent = self.indent + 1;
        let start = self.mark;
        let mut end = self.mark;
        loop {
            self.cache(4)?;
            if self.mark.column == 0
                && (self.at_document_indicator(b'-') || self.at_document_indicator(b'.'))
            {
                break;
            }
            if self.ch(0) == b'#' {
                break;
            }
            while !self.is_blankz(0) {
                if self.ends_plain_scalar() {
                    break;
                }
                if leading_blanks || !whitespaces.is_empty() {
                    if leading_blanks {
                        fold_line_breaks(&mut text, &mut leading_break, &mut trailing_breaks);
                        leading_blanks = false;
                    } else {
                        text.append(&mut whitespaces);
                    }
                }
                self.read(&mut text);
                self.cache(2)?;
                let flow = self.flow_level > 0;
                self.read_ascii_run(&mut text, 2, |b| {
                    (b'!'..=b'~').contains(&b) && b != b':' && !(flow && b",?[]{}".contains(&b))
                });
                end = self.mark;
            }
            if !(self.is_blank(0) || self.is_break(0)) {
                break;
            }
            self.cache(1)?;
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    if leading_blanks && (self.mark.column as i64) < indent && self.ch(0) == b'\t' {
                        return Err(self.scanner_error(
                            start,
                            "found a tab character that violates indentation",
                        ));
                    }
                    if leading_blanks {
                        self.skip();
                    } else {
                        self.read(&mut whitespaces);
                    }
                } else {
                    self.cache(2)?;
                    if leading_blanks {
                        self.read_line(&mut trailing_breaks);
                    } else {
                        whitespaces.clear();
                        self.read_line(&mut leading_break);
                        leading_blanks = true;
                    }
                }
                self.cache(1)?;
            }
            if self.flow_level == 0 && (self.mark.column as i64) < indent {
                break;
            }
        }
        let mut token = Token::new(TokenKind::Scalar, start, end);
        token.value = text;
        if leading_blanks {
            self.simple_key_allowed = true;
        }
        Ok(token)
    }

    /// ": " always ends a plain scalar; in flow context so do ",?[]{}".
    fn ends_plain_scalar(&self) -> bool {
        let c = self.ch(0);
        (c == b':' && self.is_blankz(1)) || (self.flow_level > 0 && b",?[]{}".contains(&c))
    }
}

/// Joins the lines of a multi-line flow or plain scalar: a single line break
/// folds to a space, more breaks are kept (minus the first).
fn fold_line_breaks(
    text: &mut Vec<u8>,
    leading_break: &mut Vec<u8>,
    trailing_breaks: &mut Vec<u8>,
) {
    if leading_break.first() == Some(&b'\n') {
        if trailing_breaks.is_empty() {
            text.push(b' ');
        } else {
            text.extend_from_slice(trailing_breaks);
        }
    } else {
        text.extend_from_slice(leading_break);
        text.extend_from_slice(trailing_breaks);
    }
    trailing_breaks.clear();
    leading_break.clear();
}
