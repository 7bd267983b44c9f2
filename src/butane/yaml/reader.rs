//! Input decoding: BOM detection, UTF-8 / UTF-16 validation and the character
//! buffer the scanner reads from (yaml.v3's readerc.go).
//!
//! Boundary: this module turns raw bytes into a stream of UTF-8 characters and
//! reports reader problems ("invalid leading UTF-8 octet", "control characters
//! are not allowed", ...). It knows nothing about tokens.
//!
//! Why it copies Go's buffering instead of decoding everything up front:
//! yaml.v3 decodes its input lazily, 512 raw bytes at a time, and only when the
//! scanner asks for more characters than it holds. An invalid byte therefore
//! surfaces as an error only when the scanner reaches the chunk containing it,
//! and a syntax error earlier in the document wins over it. To report the same
//! error, this reader decodes in the same chunks at the same moments. Decoded
//! characters are kept in one flat buffer (nothing is ever moved), and past the
//! end of the input the buffer reads as NUL bytes, as Go's padded buffer does.

/// Size of yaml.v3's raw (undecoded) input buffer: `input_raw_buffer_size`.
const RAW_CHUNK: usize = 512;

const BOM_UTF8: &[u8] = b"\xef\xbb\xbf";
const BOM_UTF16LE: &[u8] = b"\xff\xfe";
const BOM_UTF16BE: &[u8] = b"\xfe\xff";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Encoding {
    /// Not determined yet (no character requested so far).
    Unknown,
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// The character buffer shared by the scanner (Go's `buffer`, `buffer_pos`,
/// `unread` and `raw_buffer` fields of `yaml_parser_t`).
pub(super) struct Reader<'a> {
    input: &'a [u8],
    encoding: Encoding,
    /// Go's raw buffer is always a contiguous window of the input:
    /// `input[raw_start .. raw_start + raw_len]`, read up to `raw_pos`.
    raw_start: usize,
    raw_len: usize,
    raw_pos: usize,
    /// Set once a read found no more input (Go's `eof`).
    eof: bool,
    /// Every character decoded so far, as UTF-8.
    decoded: Vec<u8>,
    /// Byte index in `decoded` of the next unread character.
    pos: usize,
    /// Byte index in `decoded` of what Go holds at `buffer[0]`. yaml.v3's
    /// `is_bom` looks there instead of at the current position (a bug we must
    /// reproduce), and the buffer is re-based on every refill.
    window_start: usize,
    /// Characters decoded but not consumed, plus the NULs Go appends at EOF.
    /// Signed because Go's counter can go below zero when NUL is skipped.
    unread: i64,
}

impl<'a> Reader<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Reader {
            input,
            encoding: Encoding::Unknown,
            raw_start: 0,
            raw_len: 0,
            raw_pos: 0,
            eof: false,
            decoded: Vec::with_capacity(input.len() + 4),
            pos: 0,
            window_start: 0,
            unread: 0,
        }
    }

    /// Byte `k` positions after the current one (0 past the end, like Go's
    /// NUL-padded buffer).
    #[inline]
    pub(super) fn at(&self, k: usize) -> u8 {
        self.decoded.get(self.pos + k).copied().unwrap_or(0)
    }

    /// yaml.v3's `is_bom(parser.buffer, parser.buffer_pos)`: it ignores the
    /// position and tests the first three bytes of the buffer window.
    pub(super) fn window_starts_with_bom(&self) -> bool {
        let at = |k: usize| {
            self.decoded
                .get(self.window_start + k)
                .copied()
                .unwrap_or(0)
        };
        at(0) == 0xEF && at(1) == 0xBB && at(2) == 0xBF
    }

    /// Number of characters available without decoding more (Go's `unread`).
    #[inline]
    pub(super) fn unread(&self) -> i64 {
        self.unread
    }

    /// Consumes one character of `width` bytes.
    #[inline]
    pub(super) fn advance(&mut self, width: usize) {
        self.pos += width;
        self.unread -= 1;
    }

    /// Consumes `n` one-byte characters.
    #[inline]
    pub(super) fn advance_ascii(&mut self, n: usize) {
        self.pos += n;
        self.unread -= n as i64;
    }

    /// Consumes a CR LF pair (two characters, two bytes).
    #[inline]
    pub(super) fn advance_crlf(&mut self) {
        self.pos += 2;
        self.unread -= 2;
    }

    /// The decoded bytes `[pos, pos + len)`, for copying characters out.
    pub(super) fn slice(&self, len: usize) -> &[u8] {
        let end = (self.pos + len).min(self.decoded.len());
        &self.decoded[self.pos.min(end)..end]
    }

    /// Makes at least `length` characters available (Go's `cache`), decoding
    /// further raw chunks if needed. Returns the reader problem on failure.
    #[inline]
    pub(super) fn cache(&mut self, length: usize) -> Result<(), &'static str> {
        if self.unread >= length as i64 {
            return Ok(());
        }
        self.update_buffer(length as i64)
    }

    /// yaml_parser_update_buffer.
    fn update_buffer(&mut self, length: i64) -> Result<(), &'static str> {
        if self.encoding == Encoding::Unknown {
            self.determine_encoding();
        }
        // Go moves the unread characters to the start of its buffer here.
        self.window_start = self.pos;
        let mut first = true;
        while self.unread < length {
            if !first || self.raw_pos == self.raw_len {
                self.update_raw_buffer();
            }
            first = false;
            self.decode_raw()?;
            if self.eof {
                // Go appends one NUL per call at EOF; our buffer reads as NUL
                // past the end, so only the count changes.
                self.unread += 1;
                break;
            }
        }
        Ok(())
    }

    /// yaml_parser_determine_encoding: reads at least 3 raw bytes and strips a
    /// byte order mark.
    fn determine_encoding(&mut self) {
        while !self.eof && self.raw_len - self.raw_pos < 3 {
            self.update_raw_buffer();
        }
        let raw = self.raw();
        let (encoding, bom_len) = if raw.starts_with(BOM_UTF16LE) {
            (Encoding::Utf16Le, 2)
        } else if raw.starts_with(BOM_UTF16BE) {
            (Encoding::Utf16Be, 2)
        } else if raw.starts_with(BOM_UTF8) {
            (Encoding::Utf8, 3)
        } else {
            (Encoding::Utf8, 0)
        };
        self.encoding = encoding;
        self.raw_pos += bom_len;
    }

    /// The undecoded part of the raw buffer.
    fn raw(&self) -> &'a [u8] {
        &self.input[self.raw_start + self.raw_pos..self.raw_start + self.raw_len]
    }

    /// yaml_parser_update_raw_buffer with yaml_string_read_handler: keeps the
    /// undecoded tail and tops the window up to 512 bytes. A read that finds
    /// no input left sets EOF (Go only notices EOF on an empty read).
    fn update_raw_buffer(&mut self) {
        if self.raw_pos == 0 && self.raw_len == RAW_CHUNK {
            return;
        }
        if self.eof {
            return;
        }
        self.raw_start += self.raw_pos;
        self.raw_len -= self.raw_pos;
        self.raw_pos = 0;
        let input_pos = self.raw_start + self.raw_len;
        if input_pos == self.input.len() {
            self.eof = true;
            return;
        }
        let n = (RAW_CHUNK - self.raw_len).min(self.input.len() - input_pos);
        self.raw_len += n;
    }

    /// Decodes every complete character of the raw buffer (the inner loop of
    /// yaml_parser_update_buffer). Characters before a bad one are kept.
    fn decode_raw(&mut self) -> Result<(), &'static str> {
        while self.raw_pos != self.raw_len {
            if self.encoding == Encoding::Utf8 {
                self.copy_plain_ascii_run();
                if self.raw_pos == self.raw_len {
                    break;
                }
            }
            let raw = self.raw();
            let decoded = match self.encoding {
                Encoding::Utf16Le => decode_utf16(raw, self.eof, 0, 1)?,
                Encoding::Utf16Be => decode_utf16(raw, self.eof, 1, 0)?,
                _ => decode_utf8(raw, self.eof)?,
            };
            let Some((value, width)) = decoded else {
                break; // An incomplete character waits for the next chunk.
            };
            check_allowed_character(value)?;
            self.raw_pos += width;
            push_utf8(&mut self.decoded, value);
            self.unread += 1;
        }
        Ok(())
    }
}

impl Reader<'_> {
    /// Fast path of `decode_raw` for UTF-8 input: copies the run of allowed
    /// ASCII characters at the start of the raw buffer in one go (each is
    /// one byte and one character, so the bookkeeping is the same).
    fn copy_plain_ascii_run(&mut self) {
        let raw = self.raw();
        let run = raw
            .iter()
            .take_while(|&&b| matches!(b, 0x20..=0x7E | b'\n' | b'\r' | b'\t'))
            .count();
        self.decoded.extend_from_slice(&raw[..run]);
        self.raw_pos += run;
        self.unread += run as i64;
    }
}

/// Decodes one UTF-8 character from the start of `raw`. `Ok(None)` means the
/// character is cut off by the end of the chunk and more input may follow.
fn decode_utf8(raw: &[u8], eof: bool) -> Result<Option<(u32, usize)>, &'static str> {
    let octet = raw[0];
    let width = match octet {
        _ if octet & 0x80 == 0x00 => 1,
        _ if octet & 0xE0 == 0xC0 => 2,
        _ if octet & 0xF0 == 0xE0 => 3,
        _ if octet & 0xF8 == 0xF0 => 4,
        _ => return Err("invalid leading UTF-8 octet"),
    };
    if width > raw.len() {
        return if eof {
            Err("incomplete UTF-8 octet sequence")
        } else {
            Ok(None)
        };
    }
    let mut value = u32::from(match width {
        1 => octet & 0x7F,
        2 => octet & 0x1F,
        3 => octet & 0x0F,
        _ => octet & 0x07,
    });
    for &trailing in &raw[1..width] {
        if trailing & 0xC0 != 0x80 {
            return Err("invalid trailing UTF-8 octet");
        }
        value = (value << 6) + u32::from(trailing & 0x3F);
    }
    let shortest = match width {
        1 => true,
        2 => value >= 0x80,
        3 => value >= 0x800,
        _ => value >= 0x10000,
    };
    if !shortest {
        return Err("invalid length of a UTF-8 sequence");
    }
    if (0xD800..=0xDFFF).contains(&value) || value > 0x10FFFF {
        return Err("invalid Unicode character");
    }
    Ok(Some((value, width)))
}

/// Decodes one UTF-16 character (with surrogate pairs); `low` and `high` are
/// the byte indexes of the low and high halves of a code unit.
fn decode_utf16(
    raw: &[u8],
    eof: bool,
    low: usize,
    high: usize,
) -> Result<Option<(u32, usize)>, &'static str> {
    let unit = |at: usize| u32::from(raw[at + low]) + (u32::from(raw[at + high]) << 8);
    if raw.len() < 2 {
        return if eof {
            Err("incomplete UTF-16 character")
        } else {
            Ok(None)
        };
    }
    let value = unit(0);
    if value & 0xFC00 == 0xDC00 {
        return Err("unexpected low surrogate area");
    }
    if value & 0xFC00 != 0xD800 {
        return Ok(Some((value, 2)));
    }
    if raw.len() < 4 {
        return if eof {
            Err("incomplete UTF-16 surrogate pair")
        } else {
            Ok(None)
        };
    }
    let value2 = unit(2);
    if value2 & 0xFC00 != 0xDC00 {
        return Err("expected low surrogate area");
    }
    Ok(Some((
        0x10000 + ((value & 0x3FF) << 10) + (value2 & 0x3FF),
        4,
    )))
}

/// YAML's printable set: #x9 | #xA | #xD | [#x20-#x7E] | #x85 | [#xA0-#xD7FF]
/// | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
fn check_allowed_character(value: u32) -> Result<(), &'static str> {
    match value {
        0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 => Ok(()),
        0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF => Ok(()),
        _ => Err("control characters are not allowed"),
    }
}

/// Appends `value` as UTF-8 (it has been checked to be a scalar value).
pub(super) fn push_utf8(out: &mut Vec<u8>, value: u32) {
    let mut tmp = [0u8; 4];
    let c = char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER);
    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut r = Reader::new(input);
        let mut out = Vec::new();
        loop {
            r.cache(1)?;
            let c = r.at(0);
            if c == 0 {
                return Ok(out);
            }
            let w = utf8_width(c);
            out.extend_from_slice(r.slice(w));
            r.advance(w);
        }
    }

    fn utf8_width(b: u8) -> usize {
        match b {
            _ if b & 0x80 == 0 => 1,
            _ if b & 0xE0 == 0xC0 => 2,
            _ if b & 0xF0 == 0xE0 => 3,
            _ => 4,
        }
    }

    #[test]
    fn strips_boms_and_decodes_utf16() {
        assert_eq!(read_all(b"\xef\xbb\xbfab").unwrap(), b"ab");
        assert_eq!(read_all(b"\xff\xfea\x00b\x00").unwrap(), b"ab");
        assert_eq!(read_all(b"\xfe\xff\x00a\x00b").unwrap(), b"ab");
        assert_eq!(
            read_all(b"\xff\xfe\x3d\xd8\x00\xde").unwrap(),
            "\u{1F600}".as_bytes()
        );
    }

    #[test]
    fn reports_reader_problems() {
        assert_eq!(read_all(b"a\x80"), Err("invalid leading UTF-8 octet"));
        assert_eq!(
            read_all(b"a\x01"),
            Err("control characters are not allowed")
        );
        assert_eq!(read_all(b"\xc3"), Err("incomplete UTF-8 octet sequence"));
        assert_eq!(read_all(b"\xc3a"), Err("invalid trailing UTF-8 octet"));
        assert_eq!(
            read_all(b"\xc1\x81"),
            Err("invalid length of a UTF-8 sequence")
        );
        assert_eq!(read_all(b"\xed\xa0\x80"), Err("invalid Unicode character"));
        assert_eq!(
            read_all(b"\xff\xfe\x00\xdc"),
            Err("unexpected low surrogate area")
        );
        assert_eq!(read_all(b"\xff\xfea"), Err("incomplete UTF-16 character"));
    }

    #[test]
    fn decodes_lazily_in_raw_chunks() {
        // The bad byte sits in the second 512-byte chunk: the first cache call
        // succeeds, and the error only appears once the scanner gets there.
        let mut input = vec![b'a'; 600];
        input[550] = 0x80;
        let mut r = Reader::new(&input);
        assert!(r.cache(1).is_ok());
        assert_eq!(r.unread(), 512);
    }
}
