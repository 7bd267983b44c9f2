//! Directives (%YAML, %TAG), anchors, aliases and tags
//! (yaml_parser_scan_directive, yaml_parser_scan_anchor, yaml_parser_scan_tag
//! and their helpers).
//!
//! Boundary: turns the characters of one such token into a `Token`; queueing
//! it and the simple-key bookkeeping stay in the parent module.

use super::super::error::Fallible;
use super::{Mark, Scanner, Token, TokenKind, hex_value, is_uri_char, utf8_width};

impl Scanner<'_> {
    /// yaml_parser_scan_directive: %YAML or %TAG up to the end of the line.
    pub(super) fn scan_directive(&mut self) -> Fallible<Token> {
        let start = self.mark;
        self.skip();
        let name = self.scan_directive_name(start)?;
        let token = if name == b"YAML" {
            let (major, minor) = self.scan_version_directive_value(start)?;
            let mut token = Token::new(TokenKind::VersionDirective, start, self.mark);
            token.major = major;
            token.minor = minor;
            token
        } else if name == b"TAG" {
            let (handle, prefix) = self.scan_tag_directive_value(start)?;
            let mut token = Token::new(TokenKind::TagDirective, start, self.mark);
            token.value = handle;
            token.prefix = prefix;
            token
        } else {
            return Err(self.scanner_error(start, "found unknown directive name"));
        };

        self.cache(1)?;
        while self.is_blank(0) {
            self.skip();
            self.cache(1)?;
        }
        if self.ch(0) == b'#' {
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
        Ok(token)
    }

    fn scan_directive_name(&mut self, start: Mark) -> Fallible<Vec<u8>> {
        self.cache(1)?;
        let mut name = Vec::new();
        while self.is_alpha(0) {
            self.read(&mut name);
            self.cache(1)?;
        }
        if name.is_empty() {
            return Err(self.scanner_error(start, "could not find expected directive name"));
        }
        if !self.is_blankz(0) {
            return Err(self.scanner_error(start, "found unexpected non-alphabetical character"));
        }
        Ok(name)
    }

    fn skip_blanks(&mut self) -> Fallible {
        self.cache(1)?;
        while self.is_blank(0) {
            self.skip();
            self.cache(1)?;
        }
        Ok(())
    }

    fn scan_version_directive_value(&mut self, start: Mark) -> Fallible<(i8, i8)> {
        self.skip_blanks()?;
        let major = self.scan_version_directive_number(start)?;
        if self.ch(0) != b'.' {
            return Err(self.scanner_error(start, "did not find expected digit or '.' character"));
        }
        self.skip();
        let minor = self.scan_version_directive_number(start)?;
        Ok((major, minor))
    }

    fn scan_version_directive_number(&mut self, start: Mark) -> Fallible<i8> {
        const MAX_NUMBER_LENGTH: usize = 2;
        self.cache(1)?;
        let mut value: i8 = 0;
        let mut length = 0;
        while self.ch(0).is_ascii_digit() {
            length += 1;
            if length > MAX_NUMBER_LENGTH {
                return Err(self.scanner_error(start, "found extremely long version number"));
            }
            value = value * 10 + (self.ch(0) - b'0') as i8;
            self.skip();
            self.cache(1)?;
        }
        if length == 0 {
            return Err(self.scanner_error(start, "did not find expected version number"));
        }
        Ok(value)
    }

    fn scan_tag_directive_value(&mut self, start: Mark) -> Fallible<(Vec<u8>, Vec<u8>)> {
        self.skip_blanks()?;
        let handle = self.scan_tag_handle(true, start)?;
        self.cache(1)?;
        if !self.is_blank(0) {
            return Err(self.scanner_error(start, "did not find expected whitespace"));
        }
        while self.is_blank(0) {
            self.skip();
            self.cache(1)?;
        }
        let prefix = self.scan_tag_uri(None, start)?;
        self.cache(1)?;
        if !self.is_blankz(0) {
            return Err(self.scanner_error(start, "did not find expected whitespace or line break"));
        }
        Ok((handle, prefix))
    }

    // ----- Anchors and tags --------------------------------------------------

    /// yaml_parser_scan_anchor (also aliases).
    pub(super) fn scan_anchor(&mut self, kind: TokenKind) -> Fallible<Token> {
        let start = self.mark;
        self.skip();
        self.cache(1)?;
        let mut name = Vec::new();
        while self.is_alpha(0) {
            self.read(&mut name);
            self.cache(1)?;
        }
        let end = self.mark;
        let terminated = self.is_blankz(0) || b"?:,]}%@`".contains(&self.ch(0));
        if name.is_empty() || !terminated {
            return Err(self.scanner_error(
                start,
                "did not find expected alphabetic or numeric character",
            ));
        }
        let mut token = Token::new(kind, start, end);
        token.value = name;
        Ok(token)
    }

    /// yaml_parser_scan_tag: `!<uri>`, `!!suffix`, `!handle!suffix`, `!suffix`, `!`.
    pub(super) fn scan_tag(&mut self) -> Fallible<Token> {
        let start = self.mark;
        self.cache(2)?;
        let (handle, suffix);
        if self.ch(1) == b'<' {
            self.skip();
            self.skip();
            suffix = self.scan_tag_uri(None, start)?;
            if self.ch(0) != b'>' {
                return Err(self.scanner_error(start, "did not find the expected '>'"));
            }
            self.skip();
            handle = Vec::new();
        } else {
            let scanned = self.scan_tag_handle(false, start)?;
            if scanned.len() > 1 && scanned[0] == b'!' && scanned[scanned.len() - 1] == b'!' {
                suffix = self.scan_tag_uri(None, start)?;
                handle = scanned;
            } else {
                let uri = self.scan_tag_uri(Some(&scanned), start)?;
                if uri.is_empty() {
                    // A lone "!": Go swaps handle and suffix.
                    handle = Vec::new();
                    suffix = b"!".to_vec();
                } else {
                    handle = b"!".to_vec();
                    suffix = uri;
                }
            }
        }
        self.cache(1)?;
        if !self.is_blankz(0) {
            return Err(self.scanner_error(start, "did not find expected whitespace or line break"));
        }
        let mut token = Token::new(TokenKind::Tag, start, self.mark);
        token.value = handle;
        token.suffix = suffix;
        Ok(token)
    }

    /// yaml_parser_scan_tag_handle: `!`, `!!` or `!word!`.
    fn scan_tag_handle(&mut self, directive: bool, start: Mark) -> Fallible<Vec<u8>> {
        self.cache(1)?;
        if self.ch(0) != b'!' {
            return Err(self.scanner_error(start, "did not find expected '!'"));
        }
        let mut handle = Vec::new();
        self.read(&mut handle);
        self.cache(1)?;
        while self.is_alpha(0) {
            self.read(&mut handle);
            self.cache(1)?;
        }
        if self.ch(0) == b'!' {
            self.read(&mut handle);
        } else if directive && handle != b"!" {
            return Err(self.scanner_error(start, "did not find expected '!'"));
        }
        Ok(handle)
    }

    /// yaml_parser_scan_tag_uri. `head` is a handle already read that turned
    /// out to be the start of the URI (its leading '!' is dropped).
    fn scan_tag_uri(&mut self, head: Option<&[u8]>, start: Mark) -> Fallible<Vec<u8>> {
        let head = head.unwrap_or(&[]);
        let mut has_tag = !head.is_empty();
        let mut uri = head.get(1..).unwrap_or(&[]).to_vec();
        self.cache(1)?;
        while is_uri_char(self.ch(0)) {
            if self.ch(0) == b'%' {
                self.scan_uri_escapes(start, &mut uri)?;
            } else {
                self.read(&mut uri);
            }
            self.cache(1)?;
            has_tag = true;
        }
        if !has_tag {
            return Err(self.scanner_error(start, "did not find expected tag URI"));
        }
        Ok(uri)
    }

    /// yaml_parser_scan_uri_escapes: one UTF-8 character written as %XX octets.
    fn scan_uri_escapes(&mut self, start: Mark, uri: &mut Vec<u8>) -> Fallible {
        let mut remaining = 1024;
        while remaining > 0 {
            self.cache(3)?;
            let c1 = self.ch(1);
            let c2 = self.ch(2);
            if !(self.ch(0) == b'%' && c1.is_ascii_hexdigit() && c2.is_ascii_hexdigit()) {
                return Err(self.scanner_error(start, "did not find URI escaped octet"));
            }
            let octet = ((hex_value(c1) << 4) + hex_value(c2)) as u8;
            if remaining == 1024 {
                remaining = utf8_width(octet);
                if remaining == 0 {
                    return Err(self.scanner_error(start, "found an incorrect leading UTF-8 octet"));
                }
            } else if octet & 0xC0 != 0x80 {
                return Err(self.scanner_error(start, "found an incorrect trailing UTF-8 octet"));
            }
            uri.push(octet);
            self.skip();
            self.skip();
            self.skip();
            remaining -= 1;
        }
        Ok(())
    }
}
