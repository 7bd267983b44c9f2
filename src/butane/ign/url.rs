//! Resource URL checks: Ignition's `validateURL` (config/v3_*/types/url.go)
//! and the library code it leans on, ported for the behaviour validation
//! can observe: Go's `net/url.Parse` (success, scheme, opaque part, query),
//! `URL.Query`, and aws-sdk-go-v2's `arn` parsing. `data:` URLs are
//! decoded by `dataurl`.
//!
//! `net/url` follows Go 1.19's `url.go`; newer Go releases tightened the
//! checks on bracketed IPv6 hosts, which this port does not model.

use super::Spec;
use super::errors as msg;

/// The parts of a parsed `url.URL` that Ignition looks at.
#[derive(Debug, Default, PartialEq)]
pub struct GoUrl {
    /// Lower-cased, as `url.Parse` leaves it.
    pub scheme: String,
    pub opaque: String,
    pub raw_query: String,
}

/// `url.Parse`, reduced to whether it fails and the fields above.
pub fn parse(raw: &str) -> Option<GoUrl> {
    let (u, frag) = match raw.find('#') {
        Some(i) => (&raw[..i], Some(&raw[i + 1..])),
        None => (raw, None),
    };
    let url = parse_no_fragment(u)?;
    if let Some(f) = frag.filter(|f| !f.is_empty()) {
        unescape(f.as_bytes(), Mode::Fragment)?;
    }
    Some(url)
}

fn parse_no_fragment(raw: &str) -> Option<GoUrl> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return None;
    }
    let mut url = GoUrl::default();
    if raw == "*" {
        return Some(url);
    }
    let (scheme, mut rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        rest = &rest[..rest.len() - 1];
    } else if let Some(i) = rest.find('?') {
        url.raw_query = rest[i + 1..].to_string();
        rest = &rest[..i];
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            // Rootless paths are opaque (RFC 3986).
            url.opaque = rest.to_string();
            return Some(url);
        }
        let segment = rest.split('/').next().unwrap_or("");
        if segment.contains(':') {
            return None;
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority = &rest[2..];
        let (authority, path) = match authority.find('/') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        };
        parse_authority(authority)?;
        rest = path;
    }
    unescape(rest.as_bytes(), Mode::Path)?;
    Some(url)
}

/// `getScheme`: `None` for "missing protocol scheme".
fn get_scheme(raw: &str) -> Option<(&str, &str)> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Some(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return None;
                }
                return Some((&raw[..i], &raw[i + 1..]));
            }
            _ => return Some(("", raw)),
        }
    }
    Some(("", raw))
}

fn parse_authority(authority: &str) -> Option<()> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    parse_host(host)?;
    if let Some(userinfo) = userinfo {
        if !valid_userinfo(userinfo) {
            return None;
        }
        match userinfo.split_once(':') {
            None => {
                unescape(userinfo.as_bytes(), Mode::UserPassword)?;
            }
            Some((user, pass)) => {
                unescape(user.as_bytes(), Mode::UserPassword)?;
                unescape(pass.as_bytes(), Mode::UserPassword)?;
            }
        }
    }
    Some(())
}

fn parse_host(host: &str) -> Option<()> {
    if host.starts_with('[') {
        let i = host.rfind(']')?;
        if !valid_optional_port(&host[i + 1..]) {
            return None;
        }
        if let Some(zone) = host[..i].find("%25") {
            let b = host.as_bytes();
            unescape(&b[..zone], Mode::Host)?;
            unescape(&b[zone..i], Mode::Zone)?;
            unescape(&b[i..], Mode::Host)?;
            return Some(());
        }
    } else if host
        .rfind(':')
        .is_some_and(|i| !valid_optional_port(&host[i..]))
    {
        return None;
    }
    unescape(host.as_bytes(), Mode::Host).map(|_| ())
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty() || (port.starts_with(':') && port[1..].bytes().all(|b| b.is_ascii_digit()))
}

fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|r| {
        r.is_ascii_alphanumeric()
            || matches!(
                r,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    QueryComponent,
    Fragment,
}

/// `shouldEscape` for the modes `unescape` consults it in.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::QueryComponent => return true,
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn unhex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `url.unescape`: the decoded bytes, or `None` where Go returns an error.
fn unescape(s: &[u8], mode: Mode) -> Option<Vec<u8>> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                if i + 2 >= s.len() {
                    return None;
                }
                let (h, l) = (unhex(s[i + 1])?, unhex(s[i + 2])?);
                let is25 = &s[i..i + 3] == b"%25";
                if mode == Mode::Host && h < 8 && !is25 {
                    return None;
                }
                if mode == Mode::Zone {
                    let v = h << 4 | l;
                    if !is25 && v != b' ' && should_escape(v, Mode::Host) {
                        return None;
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return None;
                }
                i += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                out.push(unhex(s[i + 1]).unwrap_or(0) << 4 | unhex(s[i + 2]).unwrap_or(0));
                i += 3;
            }
            b'+' if mode == Mode::QueryComponent => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `URL.Query()[key]`: the values of `key`, in order (`ParseQuery`, whose
/// errors `Query` drops, skipping the offending pairs).
pub fn query_values(raw_query: &str, key: &str) -> Option<Vec<Vec<u8>>> {
    let mut found: Option<Vec<Vec<u8>>> = None;
    for pair in raw_query.split('&') {
        if pair.contains(';') || pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(k) = unescape(k.as_bytes(), Mode::QueryComponent) else {
            continue;
        };
        let Some(v) = unescape(v.as_bytes(), Mode::QueryComponent) else {
            continue;
        };
        if k == key.as_bytes() {
            found.get_or_insert_with(Vec::new).push(v);
        }
    }
    found
}

/// Ignition's `validateURL` for the given spec: `Err` with the message.
pub fn validate_url(s: &str, spec: Spec) -> Result<(), String> {
    let Some(u) = parse(s) else {
        return Err(msg::INVALID_URL.to_string());
    };
    match u.scheme.as_str() {
        "http" | "https" | "tftp" | "gs" | "oem" => Ok(()),
        "s3" => check_version_id(&u),
        "arn" if spec >= Spec::V3_4 => validate_arn(&u),
        "data" => super::dataurl::decode_data_url(s),
        _ => Err(msg::INVALID_SCHEME.to_string()),
    }
}

/// Ignition's `validateTangURL`: a Tang server is reached over HTTP(S)
/// only, whatever resource URLs the spec allows.
pub fn validate_tang_url(s: &str) -> Result<(), String> {
    match parse(s) {
        None => Err(msg::INVALID_URL.to_string()),
        Some(u) if matches!(u.scheme.as_str(), "http" | "https") => Ok(()),
        Some(_) => Err(msg::INVALID_SCHEME.to_string()),
    }
}

fn check_version_id(u: &GoUrl) -> Result<(), String> {
    let values = query_values(&u.raw_query, "versionId");
    if values.is_some_and(|v| v.first().is_none_or(|v| v.is_empty())) {
        return Err(msg::INVALID_S3_OBJECT_VERSION_ID.to_string());
    }
    Ok(())
}

/// The `arn:` case (spec 3.4.0 and later), with aws-sdk-go-v2's
/// `arn.IsARN` and `arn.Parse` (which cannot fail once `IsARN` holds).
fn validate_arn(u: &GoUrl) -> Result<(), String> {
    let full = format!("{}:{}", u.scheme, u.opaque);
    let invalid = || Err(msg::INVALID_S3_ARN.to_string());
    if !(full.starts_with("arn:") && full.matches(':').count() >= 5) {
        return invalid();
    }
    let sections: Vec<&str> = full.splitn(6, ':').collect();
    let (service, resource) = (sections[2], sections[5]);
    if service != "s3" {
        return invalid();
    }
    let parts = full.split('/').count();
    if resource.starts_with("accesspoint/") {
        if parts < 3 {
            return invalid();
        }
    } else if parts < 2 {
        return invalid();
    }
    check_version_id(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let ok = |s| validate_url(s, Spec::V3_4);
        assert_eq!(ok("https://example.com/a?b#c"), Ok(()));
        assert_eq!(ok("oem:///x"), Ok(()));
        assert_eq!(ok("ftp://example.com"), Err(msg::INVALID_SCHEME.into()));
        assert_eq!(ok(""), Err(msg::INVALID_SCHEME.into()));
        assert_eq!(ok("/relative"), Err(msg::INVALID_SCHEME.into()));
        assert_eq!(ok("http://[::1]a"), Err(msg::INVALID_URL.into()));
        assert_eq!(ok("://x"), Err(msg::INVALID_URL.into()));
        assert_eq!(ok("http://a b"), Err(msg::INVALID_URL.into()));
        assert_eq!(ok("http://x/%zz"), Err(msg::INVALID_URL.into()));
        assert_eq!(ok("HTTP://x"), Ok(()));
    }

    #[test]
    fn tang_urls_are_http_only() {
        assert_eq!(validate_tang_url("https://tang.example.com"), Ok(()));
        assert_eq!(validate_tang_url("HTTP://tang"), Ok(()));
        for other in ["tftp://tang/x", "s3://b/k", "data:,x", "oem:///x", ""] {
            assert_eq!(validate_tang_url(other), Err(msg::INVALID_SCHEME.into()));
        }
        assert_eq!(
            validate_tang_url("http://a b"),
            Err(msg::INVALID_URL.into())
        );
    }

    #[test]
    fn s3_version_id() {
        let v = |s| validate_url(s, Spec::V3_3);
        assert_eq!(v("s3://b/k?versionId=1"), Ok(()));
        assert_eq!(
            v("s3://b/k?versionId="),
            Err(msg::INVALID_S3_OBJECT_VERSION_ID.into())
        );
        assert_eq!(
            v("s3://b/k?versionId"),
            Err(msg::INVALID_S3_OBJECT_VERSION_ID.into())
        );
        assert_eq!(v("s3://b/k?a=1;versionId="), Ok(()));
    }

    #[test]
    fn arn_only_from_3_4() {
        let a = "arn:aws:s3:::bucket/key";
        assert_eq!(validate_url(a, Spec::V3_3), Err(msg::INVALID_SCHEME.into()));
        assert_eq!(validate_url(a, Spec::V3_4), Ok(()));
        let bad = Err(msg::INVALID_S3_ARN.into());
        assert_eq!(validate_url("arn:aws:s3:::bucket", Spec::V3_5), bad);
        assert_eq!(validate_url("arn:aws:ec2:::bucket/key", Spec::V3_5), bad);
        assert_eq!(validate_url("arn:aws:s3", Spec::V3_5), bad);
        assert_eq!(
            validate_url("arn:aws:s3:us-east-1:123:accesspoint/ap", Spec::V3_5),
            Err(msg::INVALID_S3_ARN.into())
        );
        assert_eq!(
            validate_url(
                "arn:aws:s3:us-east-1:123:accesspoint/ap/object/k",
                Spec::V3_5
            ),
            Ok(())
        );
        assert_eq!(
            validate_url("arn:aws:s3:::b/k?versionId=", Spec::V3_5),
            Err(msg::INVALID_S3_OBJECT_VERSION_ID.into())
        );
    }
}
