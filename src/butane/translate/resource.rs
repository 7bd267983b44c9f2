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
    // The shortest gzip stream (header, empty block, trailer) is 20 bytes:
    // when even that cannot win, skip compressing.
    let gzip_can_win = ";base64,".len() + 28 + "gzip".len() < opaque.len();
    if !user_compressed && allow_compression && gzip_can_win {
        let gz = format!(";base64,{}", STANDARD.encode(gzip_best(contents)));
        if gz.len() + "gzip".len() < opaque.len() {
            opaque = gz;
            compression = Some("gzip");
        }
    }
    (format!("data:{opaque}"), compression)
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
