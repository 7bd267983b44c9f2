//! File contents as RFC 2397 data URLs, the way Ignition carries inline
//! files, and back.
//!
//! Encoding picks the shortest of: percent-encoded text (`data:,`, readable
//! in a review), base64 (`data:;base64,`), and gzip then base64 with
//! `compression: gzip`. Gzip is only tried past a size where it pays, and
//! its output is deterministic (no timestamp), so a render is reproducible.
//! An [`Encoder`] keeps its deflate state between files: setting one up
//! costs more than compressing a typical config file. It also remembers the
//! encoding of larger contents, so that a file that is the same in every
//! host's config (the enrollment script, a shared unit) is compressed once.

use std::collections::HashMap;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::read::GzDecoder;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Kept as they are: RFC 3986 unreserved characters and the sub-delimiters
/// that are safe in a data URL. `%`, `#`, `?`, quotes and all white space
/// are escaped.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b'/');

/// Gzip is tried from this size. Below it, it saves a few hundred bytes at
/// most, readable text is worth more in a review, and setting up deflate's
/// state costs more than the rest of a typical host's config.
const GZIP_MIN_LEN: usize = 1024;

/// Contents at least this long are remembered, up to this many bytes in
/// all (then forgotten at once and remembered anew). Shorter files, such
/// as a host's own enrollment settings, are seldom repeated.
const MEMO_MIN_LEN: usize = 4096;
const MEMO_MAX_BYTES: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataUrl {
    pub source: String,
    /// `Some("gzip")` when the data is compressed.
    pub compression: Option<&'static str>,
}

/// A gzip member header (RFC 1952): deflate, no flags, no timestamp, no
/// extra flags, OS unknown. Fixed, so that output depends only on input.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Encodes file contents as data URLs, reusing one compressor.
pub struct Encoder {
    deflate: Compress,
    gzipped: Vec<u8>,
    memo: HashMap<Vec<u8>, DataUrl>,
    memo_bytes: usize,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            deflate: Compress::new(Compression::default(), false),
            gzipped: Vec::new(),
            memo: HashMap::new(),
            memo_bytes: 0,
        }
    }
}

impl Encoder {
    pub fn encode(&mut self, contents: &[u8]) -> DataUrl {
        if contents.len() < MEMO_MIN_LEN {
            return self.encode_new(contents);
        }
        if let Some(url) = self.memo.get(contents) {
            return url.clone();
        }
        let url = self.encode_new(contents);
        if self.memo_bytes + contents.len() > MEMO_MAX_BYTES {
            self.memo.clear();
            self.memo_bytes = 0;
        }
        self.memo_bytes += contents.len();
        self.memo.insert(contents.to_vec(), url.clone());
        url
    }

    fn encode_new(&mut self, contents: &[u8]) -> DataUrl {
        const BASE64_PREFIX: &str = "data:;base64,";
        let base64 = || format!("{BASE64_PREFIX}{}", STANDARD.encode(contents));
        let base64_len = BASE64_PREFIX.len() + contents.len().div_ceil(3) * 4;
        let mut best = match std::str::from_utf8(contents) {
            Ok(text) => {
                let mut percent = String::with_capacity(contents.len() + 16);
                percent.push_str("data:,");
                percent.extend(utf8_percent_encode(text, KEEP));
                if percent.len() <= base64_len {
                    percent
                } else {
                    base64()
                }
            }
            Err(_) => base64(),
        };
        let mut compression = None;
        if contents.len() >= GZIP_MIN_LEN
            && let Some(gz) = self.gzip(contents)
        {
            let zipped = format!("data:;base64,{}", STANDARD.encode(gz));
            if zipped.len() < best.len() {
                best = zipped;
                compression = Some("gzip");
            }
        }
        DataUrl {
            source: best,
            compression,
        }
    }

    /// The gzip form of `contents`, or `None` when it would not be smaller.
    fn gzip(&mut self, contents: &[u8]) -> Option<&[u8]> {
        self.deflate.reset();
        self.gzipped.clear();
        self.gzipped.extend_from_slice(&GZIP_HEADER);
        // Room for the whole input: output that needs more cannot win.
        self.gzipped.reserve(contents.len());
        let status = self
            .deflate
            .compress_vec(contents, &mut self.gzipped, FlushCompress::Finish)
            .ok()?;
        if status != Status::StreamEnd {
            return None;
        }
        let mut crc = Crc::new();
        crc.update(contents);
        self.gzipped.extend_from_slice(&crc.sum().to_le_bytes());
        // ISIZE is the length modulo 2^32 by definition.
        self.gzipped
            .extend_from_slice(&(contents.len() as u32).to_le_bytes());
        Some(&self.gzipped)
    }
}

/// One-off encoding; use an [`Encoder`] for many files.
pub fn encode_contents(contents: &[u8]) -> DataUrl {
    Encoder::default().encode(contents)
}

/// Decodes a `data:` URL (with optional gzip), as Ignition would.
pub fn decode_data_url(source: &str, compression: Option<&str>) -> Result<Vec<u8>, String> {
    let rest = source
        .strip_prefix("data:")
        .ok_or_else(|| format!("not a data URL: {source:.40}"))?;
    let (meta, data) = rest
        .split_once(',')
        .ok_or_else(|| "data URL without a comma".to_string())?;
    let raw: Vec<u8> = if meta.ends_with(";base64") {
        STANDARD
            .decode(data)
            .map_err(|e| format!("bad base64 in data URL: {e}"))?
    } else {
        percent_decode_str(data).collect()
    };
    match compression {
        None | Some("") => Ok(raw),
        Some("gzip") => {
            let mut out = Vec::new();
            GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| format!("bad gzip data: {e}"))?;
            Ok(out)
        }
        Some(other) => Err(format!("unknown compression {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(contents: &[u8]) -> DataUrl {
        let url = encode_contents(contents);
        assert_eq!(
            decode_data_url(&url.source, url.compression).unwrap(),
            contents
        );
        url
    }

    #[test]
    fn short_text_stays_readable() {
        let url = round_trip(b"node1\n");
        assert_eq!(url.source, "data:,node1%0A");
        assert_eq!(url.compression, None);
    }

    #[test]
    fn characters_that_end_or_break_a_url_are_escaped() {
        let url = round_trip("plain_text-with/a%sign,a#mark,a?mark+\"quotes\"+ü\n".as_bytes());
        let body = url.source.strip_prefix("data:,").unwrap();
        assert!(!body.contains(['#', '?', ' ', '"', '\n']), "{body}");
        assert!(body.contains("%25") && body.contains("%23"), "{body}");
    }

    #[test]
    fn the_shorter_of_percent_and_base64_wins() {
        // Escapes cost three characters each, base64 four per three bytes.
        let spaces = round_trip(" \t\n\" ".repeat(20).as_bytes());
        assert!(spaces.source.starts_with("data:;base64,"), "{spaces:?}");
        let text = round_trip(b"plain-text-file.conf");
        assert!(text.source.starts_with("data:,"), "{text:?}");
    }

    #[test]
    fn binary_becomes_base64() {
        let url = round_trip(&[0, 159, 146, 150, 255]);
        assert!(url.source.starts_with("data:;base64,"));
    }

    #[test]
    fn long_repetitive_text_is_gzipped_deterministically() {
        let text = "Environment=A=1\n".repeat(100);
        let url = round_trip(text.as_bytes());
        assert_eq!(url.compression, Some("gzip"));
        assert_eq!(encode_contents(text.as_bytes()), url);
    }

    #[test]
    fn a_reused_encoder_gives_the_same_output() {
        let mut encoder = Encoder::default();
        let texts = [
            "a".repeat(5000),
            "Environment=B=2\n".repeat(40),
            "x".repeat(300),
        ];
        for text in &texts {
            let url = encoder.encode(text.as_bytes());
            assert_eq!(url, encode_contents(text.as_bytes()));
            assert_eq!(
                decode_data_url(&url.source, url.compression).unwrap(),
                text.as_bytes()
            );
        }
    }

    #[test]
    fn remembered_contents_encode_as_they_would_afresh() {
        let mut encoder = Encoder::default();
        let big: Vec<String> = (0..400).map(|i| format!("{i:04}\n").repeat(1000)).collect();
        // Twice round, past the memo's size limit, so that it is both hit
        // and cleared.
        for _ in 0..2 {
            for text in &big {
                assert_eq!(
                    encoder.encode(text.as_bytes()),
                    encode_contents(text.as_bytes())
                );
            }
        }
        assert!(encoder.memo_bytes <= MEMO_MAX_BYTES);
    }

    #[test]
    fn incompressible_data_is_not_gzipped() {
        let mut noise = vec![0u8; 4000];
        getrandom::fill(&mut noise).unwrap();
        let url = round_trip(&noise);
        assert_eq!(url.compression, None);
    }
}
