//! The `ignition` section and resources: Ignition's `ignition.go`
//! (version, config merge/replace), `proxy.go`, `tls.go`, `resource.go`,
//! `headers.go` and `verification.go` of `config/v3_X/types`. The URL
//! checks themselves are in `ign::url`.

use super::not_empty;
use crate::butane::ign::errors as msg;
use crate::butane::ign::types::{Ignition, IgnitionConfig, Proxy, Resource, Tls, Verification};
use crate::butane::ign::{Spec, url};
use crate::butane::report::{Path, Report};

/// `Ignition.Validate`, then its fields.
pub(super) fn ignition(ig: &Ignition, p: &Path, spec: Spec, r: &mut Report) {
    if let Some(e) = version_error(&ig.version, spec) {
        r.error(p.with("version"), e);
    }
    ignition_config(&ig.config, &p.with("config"), spec, r);
    proxy(&ig.proxy, &p.with("proxy"), r);
    tls(&ig.security.tls, &p.with("security").with("tls"), spec, r);
}

/// `Ignition.Validate`'s message for a version, if any: one that
/// `semver.NewVersion` (coreos/go-semver) rejects, or any other than the
/// spec's own `MaxVersion` (pre-release and build metadata included).
pub(crate) fn version_error(version: &str, spec: Spec) -> Option<&'static str> {
    match parse_semver(version) {
        None => Some(msg::INVALID_VERSION),
        Some(v) if v != (3, spec.minor(), 0, String::new(), String::new()) => {
            Some(msg::UNKNOWN_VERSION)
        }
        Some(_) => None,
    }
}

/// go-semver's `Version.Set`: (major, minor, patch, pre-release, metadata).
fn parse_semver(version: &str) -> Option<(i64, i64, i64, String, String)> {
    let (version, metadata) = version.split_once('+').unwrap_or((version, ""));
    let (version, pre) = version.split_once('-').unwrap_or((version, ""));
    let parts: Vec<&str> = version.splitn(3, '.').collect();
    if parts.len() != 3 || !semver_identifier(pre) || !semver_identifier(metadata) {
        return None;
    }
    let num = |s: &str| -> Option<i64> {
        // strconv.ParseInt(s, 10, 64): an optional sign, then digits.
        let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    Some((
        num(parts[0])?,
        num(parts[1])?,
        num(parts[2])?,
        pre.into(),
        metadata.into(),
    ))
}

/// `^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$`, or empty.
fn semver_identifier(id: &str) -> bool {
    id.is_empty()
        || id.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `IgnitionConfig.Validate`: every merged config needs a source. The
/// replaced config is only checked as a resource.
fn ignition_config(ic: &IgnitionConfig, p: &Path, spec: Spec, r: &mut Report) {
    let merge = p.with("merge");
    for (i, res) in ic.merge.iter().enumerate() {
        if let Err(e) = required_source(res, spec) {
            r.error(merge.with(i), e);
        }
    }
    for (i, res) in ic.merge.iter().enumerate() {
        resource(res, &merge.with(i), spec, r);
    }
    resource(&ic.replace, &p.with("replace"), spec, r);
}

/// `Proxy.Validate` (proxy.go).
fn proxy(px: &Proxy, p: &Path, r: &mut Report) {
    proxy_url(px.http_proxy.as_deref(), &p.with("httpProxy"), true, r);
    proxy_url(px.https_proxy.as_deref(), &p.with("httpsProxy"), false, r);
}

/// `validateProxyURL`: proxies must be http(s); plain http is only a
/// warning, and only for the HTTPS proxy.
fn proxy_url(s: Option<&str>, p: &Path, http_ok: bool, r: &mut Report) {
    let Some(s) = s else {
        return;
    };
    let Some(u) = url::parse(s) else {
        r.error(p.clone(), msg::INVALID_URL);
        return;
    };
    match u.scheme.as_str() {
        "https" => {}
        "http" if http_ok => {}
        "http" => r.warn(p.clone(), msg::INSECURE_PROXY),
        _ => r.error(p.clone(), msg::INVALID_PROXY),
    }
}

/// `TLS.Validate`: every certificate authority needs a source.
fn tls(t: &Tls, p: &Path, spec: Spec, r: &mut Report) {
    let cas = p.with("certificateAuthorities");
    for (i, ca) in t.certificate_authorities.iter().enumerate() {
        if let Err(e) = required_source(ca, spec) {
            r.error(cas.with(i), e);
        }
    }
    for (i, ca) in t.certificate_authorities.iter().enumerate() {
        resource(ca, &cas.with(i), spec, r);
    }
}

/// `Resource.validateRequiredSource`.
pub(super) fn required_source(res: &Resource, spec: Spec) -> Result<(), String> {
    match res.source.as_deref() {
        None | Some("") => Err(msg::SOURCE_REQUIRED.to_string()),
        Some(s) => url::validate_url(s, spec),
    }
}

/// `validateURLNilOK`.
pub(super) fn url_nil_ok(s: Option<&str>, spec: Spec) -> Result<(), String> {
    match s {
        None | Some("") => Ok(()),
        Some(s) => url::validate_url(s, spec),
    }
}

/// `Resource.Validate`, then its fields (`httpHeaders` items and
/// `verification`).
pub(super) fn resource(res: &Resource, p: &Path, spec: Spec, r: &mut Report) {
    if res
        .compression
        .as_deref()
        .is_some_and(|c| !c.is_empty() && c != "gzip")
    {
        r.error(p.with("compression"), msg::COMPRESSION_INVALID);
    }
    if res.verification.hash.is_some() && res.source.is_none() {
        r.error(
            p.with("verification").with("hash"),
            msg::VERIFICATION_AND_NIL_SOURCE,
        );
    }
    if let Err(e) = url_nil_ok(res.source.as_deref(), spec) {
        r.error(p.with("source"), e);
    }
    if let Some(e) = header_scheme_error(res) {
        r.error(p.with("httpHeaders"), e);
    }
    let headers = p.with("httpHeaders");
    for (i, h) in res.http_headers.iter().enumerate() {
        // HTTPHeader.Validate (headers.go)
        if h.name.is_empty() {
            r.error(headers.with(i).with("name"), msg::EMPTY_HTTP_HEADER_NAME);
        }
        if h.value.as_deref() == Some("") {
            r.error(headers.with(i).with("value"), msg::INVALID_HTTP_HEADER);
        }
    }
    verification(&res.verification, &p.with("verification"), r);
}

/// `Resource.validateSchemeForHTTPHeaders`: headers only go with http(s).
fn header_scheme_error(res: &Resource) -> Option<&'static str> {
    if res.http_headers.is_empty() {
        return None;
    }
    if !not_empty(&res.source) {
        return Some(msg::INVALID_URL);
    }
    match url::parse(res.source.as_deref().unwrap_or_default()) {
        None => Some(msg::INVALID_URL),
        Some(u) if u.scheme == "http" || u.scheme == "https" => None,
        Some(_) => Some(msg::UNSUPPORTED_SCHEME_FOR_HTTP_HEADERS),
    }
}

/// `Verification.Validate`: `<function>-<hex sum>`, sha512 or sha256.
fn verification(v: &Verification, p: &Path, r: &mut Report) {
    let Some(hash) = v.hash.as_deref() else {
        return;
    };
    let p = p.with("hash");
    let Some((function, sum)) = hash.split_once('-') else {
        r.error(p, msg::HASH_MALFORMED);
        return;
    };
    let size = match function {
        "sha512" => 64,
        "sha256" => 32,
        _ => {
            r.error(p, msg::HASH_UNRECOGNIZED);
            return;
        }
    };
    if sum.len() != 2 * size {
        r.error(p, msg::HASH_WRONG_SIZE);
    }
}
