//! Resources (file contents, appended fragments, configs to merge, CA
//! bundles, LUKS key files): `source` is kept as written; `inline` and
//! `local` contents become a data URL, in the shortest of three encodings,
//! as upstream's `MakeDataURL` chooses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::super::gzip::gzip_best;
use super::super::ign;
use super::super::report::{Path, Report};
use super::super::schema as b;
use super::Options;
use super::copy::Overrides;
use super::local::read_local_file;

/// Translates one resource found at `yaml` (going to `json`), recording
/// where its source came from when the document gave it inline or local.
pub(super) fn translate_resource(
    from: &b::Resource,
    yaml: &Path,
    json: &Path,
    opts: &Options,
    ov: &mut Overrides,
    r: &mut Report,
) -> ign::Resource {
    let mut to = ign::Resource {
        compression: from.compression.clone(),
        http_headers: from
            .http_headers
            .0
            .iter()
            .map(|h| ign::HttpHeader {
                name: h.name.clone(),
                value: h.value.clone(),
            })
            .collect(),
        source: from.source.clone(),
        verification: ign::Verification {
            hash: from.verification.hash.clone(),
        },
    };
    if let Some(local) = &from.local {
        let at = yaml.with("local");
        match read_local_file(local, opts) {
            Ok(contents) => embed(&contents, &mut to, &at, json, ov),
            Err(e) => {
                r.error(at, e);
                return to;
            }
        }
    }
    if let Some(inline) = &from.inline {
        embed(inline.as_bytes(), &mut to, &yaml.with("inline"), json, ov);
    }
    to
}

/// Sets `to`'s source (and compression, unless the user compressed the
/// contents themselves) to a data URL of `contents`.
fn embed(contents: &[u8], to: &mut ign::Resource, at: &Path, json: &Path, ov: &mut Overrides) {
    let (url, compression) = make_data_url(contents, to.compression.as_deref(), true);
    to.source = Some(url);
    ov.push((at.clone(), json.with("source")));
    if let Some(c) = compression {
        to.compression = Some(c.to_string());
        ov.push((at.clone(), json.with("compression")));
    }
}

/// Upstream's `MakeDataURL`: the shortest of percent-encoding, base64 and
/// (unless the contents are already compressed, or compression is off)
/// gzip then base64. Returns the URL and the compression to record: `""`
/// when the user set none (so a merged parent's compression is not
/// inherited), `"gzip"` when gzip won, `None` when the user's own
/// compression must stay.
pub(crate) fn make_data_url(
    contents: &[u8],
    current_compression: Option<&str>,
    allow_compression: bool,
) -> (String, Option<&'static str>) {
    let user_compressed = !current_compression.unwrap_or("").is_empty();
    let mut compression = (!user_compressed).then_some("");
    let mut opaque = String::with_capacity(contents.len() + 8);
    opaque.push(',');
    escape(contents, &mut opaque);
    let b64_len = ";base64,".len() + contents.len().div_ceil(3) * 4;
    if b64_len < opaque.len() {
        opaque = format!(";base64,{}", STANDARD.encode(contents));
    }
    let gzip_can_win =
        ";base64,".len() + gzip_len_at_least(contents).div_ceil(3) * 4 + "gzip".len()
            < opaque.len();
    if !user_compressed && allow_compression && gzip_can_win {
        let gz = format!(";base64,{}", STANDARD.encode(gzip_best(contents)));
        if gz.len() + "gzip".len() < opaque.len() {
            opaque = gz;
            compression = Some("gzip");
        }
    }
    (format!("data:{opaque}"), compression)
}

/// A lower bound on the length of Go's gzip stream of `data`, so that
/// what cannot come out shorter is not compressed: most short files.
///
/// Go writes a short input (under 16,384 tokens) as one block, then an
/// empty stored block, between a 10-byte header and an 8-byte trailer.
/// The block is stored, fixed or dynamic, whichever is smallest, so it is
/// at least the smallest of their lower bounds. A byte that no match can
/// cover (matches are four bytes or more, equal to bytes before them) is a
/// literal: at least 8 bits in a fixed block; in a dynamic one, whose
/// header takes at least 29 bits, no prefix code writes these literals
/// and the end-of-block symbol in fewer bits than their entropy (Kraft).
/// A stored block costs more than either.
fn gzip_len_at_least(data: &[u8]) -> usize {
    // Header and trailer, and the final stored block's LEN and NLEN.
    const FRAME: usize = 18 + 4;
    if data.len() < 4 || data.len() > 256 {
        return FRAME - 2;
    }
    let Some(literal) = literals_no_match_covers(data) else {
        return FRAME - 2;
    };
    let mut counts = [0u32; 256];
    let mut forced = 0u32;
    for (&b, &lit) in data.iter().zip(&literal) {
        if lit {
            counts[usize::from(b)] += 1;
            forced += 1;
        }
    }
    let symbols = f64::from(forced) + 1.0;
    let entropy: f64 = counts
        .iter()
        .chain(std::iter::once(&1))
        .filter(|&&c| c > 0)
        .map(|&c| f64::from(c) * (symbols / f64::from(c)).log2())
        .sum();
    let fixed = 3.0 + 8.0 * f64::from(forced) + 7.0;
    let dynamic = 29.0 + entropy;
    // Then the stored block's 3-bit header; less a bit for rounding.
    let bits = fixed.min(dynamic) + 3.0 - 1.0;
    FRAME + (bits / 8.0).floor() as usize
}

/// For each byte, whether no match can cover it: no run of four or more
/// bytes through it also occurs earlier (overlapping allowed). `None` when
/// finding out would take more than a few passes over the data (repetitive
/// data, which gzip shrinks anyway).
fn literals_no_match_covers(data: &[u8]) -> Option<Vec<bool>> {
    let mut literal = vec![true; data.len()];
    let mut budget = 32 * data.len();
    for p in 1..data.len().saturating_sub(3) {
        let mut longest = 0;
        for q in 0..p {
            if data[q] != data[p] {
                continue;
            }
            let len = data[p..]
                .iter()
                .zip(&data[q..])
                .take_while(|(a, b)| a == b)
                .count();
            budget = budget.checked_sub(len)?;
            longest = longest.max(len);
        }
        if longest >= 4 {
            literal[p..p + longest].iter_mut().for_each(|l| *l = false);
        }
    }
    Some(literal)
}

/// Percent-encodes all but RFC 2396's unreserved characters, as the Go
/// `dataurl` package does.
fn escape(data: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in data {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound never exceeds what Go's gzip (ours, byte for byte)
    /// writes: short inputs of small and large alphabets, with and without
    /// repeats.
    #[test]
    fn gzip_bound_is_a_lower_bound() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..1500usize {
            let n = (next() % 270) as usize;
            let alphabet = 1 + (next() % if round % 2 == 0 { 8 } else { 255 }) as u8;
            let mut data: Vec<u8> = (0..n)
                .map(|_| ((next() % u64::from(alphabet)) as u8).wrapping_add(b' '))
                .collect();
            // Some inputs repeat a piece of themselves.
            if round % 3 == 0 && n > 30 {
                let (from, len) = ((next() % 10) as usize, 4 + (next() % 12) as usize);
                let piece = data[from..from + len].to_vec();
                data.extend_from_slice(&piece);
            }
            let real = gzip_best(&data).len();
            let bound = gzip_len_at_least(&data);
            assert!(bound <= real, "{data:?}: bound {bound} > {real}");
        }
        // What it is for: short files are not compressed in vain.
        assert!(gzip_len_at_least(b"name=node0001\naddress=10.0.0.1\n") > 30);
    }

    #[test]
    fn short_text_is_percent_encoded() {
        let (url, c) = make_data_url(b"quay-edge-01", None, true);
        assert_eq!(url, "data:,quay-edge-01");
        assert_eq!(c, Some(""));
        let (url, _) = make_data_url(b"a b:c\n", None, true);
        assert_eq!(url, "data:,a%20b%3Ac%0A");
    }

    #[test]
    fn binary_is_base64_and_user_compression_is_kept() {
        let (url, c) = make_data_url("🚢⚓🌊\n".as_bytes(), None, true);
        assert_eq!(url, "data:;base64,8J+aouKak/CfjIoK");
        assert_eq!(c, Some(""));
        let (_, c) = make_data_url(b"x", Some("gzip"), true);
        assert_eq!(c, None);
    }

    #[test]
    fn repetitive_text_is_gzipped_with_gos_header() {
        let text = "allow 10.44.0.0/16\n".repeat(8);
        let (url, c) = make_data_url(text.as_bytes(), None, true);
        assert_eq!(c, Some("gzip"));
        assert!(url.starts_with("data:;base64,H4sIAAAAAAAC/"), "{url}");
    }
}
