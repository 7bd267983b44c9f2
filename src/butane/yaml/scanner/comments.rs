//! Whitespace and comments between tokens (yaml_parser_scan_to_next_token,
//! yaml_parser_scan_line_comment, yaml_parser_scan_comments).
//!
//! Boundary: comments are recorded in `Scanner::comments` for the parser,
//! which only cares whether head-comment text is pending. What matters most
//! is where comments start and end (they move BLOCK-END marks) and how far
//! ahead the scan reads (up to 512 characters), which decides when a reader
//! error appears.

use super::super::error::Fallible;
use super::{Comment, Mark, Scanner, TokenKind};

impl Scanner<'_> {
    /// yaml_parser_scan_to_next_token: skips blanks, breaks and comments.
    pub(super) fn scan_to_next_token(&mut self) -> Fallible {
        let scan_mark = self.mark;
        loop {
            self.cache(1)?;
            if self.mark.column == 0 && self.r.window_starts_with_bom() {
                self.skip();
            }
            self.cache(1)?;
            while self.ch(0) == b' '
                || ((self.flow_level > 0 || !self.simple_key_allowed) && self.ch(0) == b'\t')
            {
                self.skip();
                self.cache(1)?;
            }
            self.promote_line_comment_after_sequence_entry();
            if self.ch(0) == b'#' {
                self.scan_comments(scan_mark)?;
            }
            if !self.is_break(0) {
                return Ok(());
            }
            self.cache(2)?;
            self.skip_line();
            if self.flow_level == 0 {
                self.simple_key_allowed = true;
            }
        }
    }

    /// In "- # comment\n  item", the line comment after the dash becomes a
    /// head comment of the item (part of yaml_parser_scan_to_next_token).
    fn promote_line_comment_after_sequence_entry(&mut self) {
        if self.comments.is_empty() || self.tokens.len() <= 1 {
            return;
        }
        let (Some((kind_a, _)), Some((kind_b, _))) =
            (self.nth_last_token(2), self.nth_last_token(1))
        else {
            return;
        };
        let at_break = self.is_break(0);
        let mark = self.mark;
        let comment = self.comments.last_mut().expect("checked non-empty");
        if kind_a == TokenKind::BlockSequenceStart
            && kind_b == TokenKind::BlockEntry
            && !comment.line.is_empty()
            && !at_break
        {
            comment.head = std::mem::take(&mut comment.line);
            if comment.start_mark.line as i64 == mark.line as i64 - 1 {
                comment.token_mark = mark;
            }
        }
    }

    /// Reads the text of the comment starting `peek` characters ahead
    /// (blanks before it are skipped), up to the line break.
    fn read_comment_text(
        &mut self,
        peek: usize,
        text: &mut Vec<u8>,
        start: &mut Option<Mark>,
    ) -> Fallible {
        let seen = self.mark.index + peek as i64;
        loop {
            self.cache(1)?;
            if self.is_breakz(0) {
                if self.mark.index >= seen {
                    return Ok(());
                }
                self.cache(2)?;
                self.skip_line();
            } else if self.mark.index >= seen {
                if text.is_empty()
                    && let Some(start) = start.as_mut()
                {
                    *start = self.mark;
                }
                self.read(text);
            } else {
                self.skip();
            }
        }
    }

    /// yaml_parser_scan_line_comment: a comment on the same line as a token.
    pub(super) fn scan_line_comment(&mut self, token_mark: Mark) -> Fallible {
        if self.newlines > 0 {
            return Ok(());
        }
        let mut start = Some(Mark::default());
        let mut text = Vec::new();
        let mut peek = 0;
        while peek < 512 {
            if self.r.unread() < peek as i64 + 1 && self.cache(peek + 1).is_err() {
                // Go breaks out here with the reader error recorded.
                break;
            }
            if self.is_blank(peek) {
                peek += 1;
                continue;
            }
            if self.ch(peek) == b'#' {
                self.read_comment_text(peek, &mut text, &mut start)?;
            }
            break;
        }
        if !text.is_empty() {
            self.comments.push(Comment {
                token_mark,
                start_mark: start.unwrap_or_default(),
                line: text,
                ..Comment::default()
            });
        }
        Ok(())
    }

    /// yaml_parser_scan_comments: comment lines before the next token, split
    /// into foot comments (of what came before) and a head comment (of what
    /// follows). Only their marks matter to us; see the module comment.
    fn scan_comments(&mut self, scan_mark: Mark) -> Fallible {
        let mut scan = CommentScan::new(self, scan_mark);
        let mut peek = 0usize;
        while peek < 512 {
            if self.r.unread() < peek as i64 + 1 && self.cache(peek + 1).is_err() {
                break;
            }
            scan.column += 1;
            if self.is_blank(peek) {
                peek += 1;
                continue;
            }
            let c = self.ch(peek);
            let close_flow = self.flow_level > 0 && (c == b']' || c == b'}');
            if close_flow || self.is_breakz(peek) {
                scan.end_of_line(self, peek, close_flow);
                if !self.is_break(peek) {
                    break;
                }
                scan.first_empty = false;
                scan.recent_empty = true;
                scan.column = 0;
                scan.line += 1;
                peek += 1;
                continue;
            }
            if !scan.text.is_empty()
                && (close_flow
                    || scan.column - 1 < scan.next_indent
                        && scan.column != scan.start_mark.column as i64)
            {
                scan.flush_foot(self, peek);
            }
            if c != b'#' {
                break;
            }
            if scan.text.is_empty() {
                scan.start_mark = scan.mark_at(self, peek);
            } else {
                scan.text.push(b'\n');
            }
            scan.recent_empty = false;
            self.read_comment_text(peek, &mut scan.text, &mut None)?;
            scan.column = 0;
            scan.line = self.mark.line as i64;
            scan.next_indent = self.indent.max(0);
            // Go resets `peek = 0` and its loop then increments it to 1.
            peek = 1;
        }
        if !scan.text.is_empty() {
            let end_mark = Mark {
                index: self.mark.index + peek as i64 - 1,
                line: scan.line as usize,
                column: scan.column as usize,
            };
            self.comments.push(Comment {
                scan_mark: scan.scan_mark,
                token_mark: scan.start_mark,
                start_mark: scan.start_mark,
                end_mark,
                head: scan.text,
                ..Comment::default()
            });
        }
        Ok(())
    }
}

/// The running state of `scan_comments` (Go keeps it in locals).
struct CommentScan {
    kind_before: TokenKind,
    token_mark: Mark,
    scan_mark: Mark,
    start_mark: Mark,
    next_indent: i64,
    recent_empty: bool,
    first_empty: bool,
    line: i64,
    column: i64,
    foot_line: i64,
    text: Vec<u8>,
}

impl CommentScan {
    fn new(s: &Scanner<'_>, scan_mark: Mark) -> Self {
        let mut before = s.nth_last_token(1);
        if matches!(before, Some((TokenKind::FlowEntry, _))) && s.tokens.len() > 1 {
            before = s.nth_last_token(2);
        }
        let (kind_before, token_mark) = before.unwrap_or((TokenKind::StreamStart, Mark::default()));
        let mut foot_line = -1;
        if scan_mark.line > 0 {
            foot_line = s.mark.line as i64 - s.newlines + 1;
            if s.newlines == 0 && s.mark.column > 1 {
                foot_line += 1;
            }
        }
        CommentScan {
            kind_before,
            token_mark,
            scan_mark,
            start_mark: Mark::default(),
            next_indent: s.indent.max(0),
            recent_empty: false,
            first_empty: s.newlines <= 1,
            line: s.mark.line as i64,
            column: s.mark.column as i64,
            foot_line,
            text: Vec::new(),
        }
    }

    fn mark_at(&self, s: &Scanner<'_>, peek: usize) -> Mark {
        Mark {
            index: s.mark.index + peek as i64,
            line: self.line as usize,
            column: self.column as usize,
        }
    }

    /// A break, NUL or closing bracket `peek` characters ahead.
    fn end_of_line(&mut self, s: &mut Scanner<'_>, peek: usize, close_flow: bool) {
        if !close_flow && self.recent_empty {
            return;
        }
        let start_column = self.start_mark.column as i64;
        let is_foot = close_flow
            || self.first_empty
                && ((self.start_mark.line as i64 == self.foot_line
                    && self.kind_before != TokenKind::Value)
                    || start_column - 1 < self.next_indent);
        if is_foot {
            if !self.text.is_empty() {
                if start_column - 1 < self.next_indent {
                    self.token_mark = self.start_mark;
                }
                self.flush_foot(s, peek);
            }
        } else if !self.text.is_empty() && s.ch(peek) != 0 {
            self.text.push(b'\n');
        }
    }

    /// Records the collected text as a foot comment ending `peek` ahead.
    fn flush_foot(&mut self, s: &mut Scanner<'_>, peek: usize) {
        let end_mark = self.mark_at(s, peek);
        // The foot text itself is not needed (see the module comment).
        s.comments.push(Comment {
            scan_mark: self.scan_mark,
            token_mark: self.token_mark,
            start_mark: self.start_mark,
            end_mark,
            ..Comment::default()
        });
        self.text.clear();
        self.scan_mark = end_mark;
        self.token_mark = end_mark;
    }
}
