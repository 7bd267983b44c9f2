//! Butane's `version` field as upstream reads it: a semantic version in
//! go-semver's form (`MAJOR.MINOR.PATCH[-pre][+meta]`), printed back in
//! normal form (`01.4.0` reads as `1.4.0`) to pick a translator.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    major: i64,
    minor: i64,
    patch: i64,
    pre: String,
    meta: String,
}

impl Version {
    /// go-semver's `NewVersion`, or `None` where it fails.
    pub(crate) fn parse(s: &str) -> Option<Version> {
        let (rest, meta) = split_off(s, '+');
        let (core, pre) = split_off(rest, '-');
        if !valid_identifier(pre) || !valid_identifier(meta) {
            return None;
        }
        let mut parts = core.splitn(3, '.');
        let mut next = || parts.next().and_then(parse_int);
        let (major, minor, patch) = (next()?, next()?, next()?);
        Some(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            meta: meta.to_string(),
        })
    }
}

/// go-semver's `splitOff`: the text before the first `sep`, and after it.
fn split_off(s: &str, sep: char) -> (&str, &str) {
    match s.split_once(sep) {
        Some((a, b)) => (a, b),
        None => (s, ""),
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$`, or empty.
fn valid_identifier(s: &str) -> bool {
    s.is_empty()
        || s.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.meta.is_empty() {
            write!(f, "+{}", self.meta)?;
        }
        Ok(())
    }
}

/// Whether upstream butane v0.25.1 has a translator for this variant and
/// version (that coregen does not).
pub(crate) fn upstream_translates(variant: &str, v: &Version) -> bool {
    let known: &[&str] = match variant {
        "fcos" => &[
            "1.0.0",
            "1.1.0",
            "1.2.0",
            "1.3.0",
            "1.4.0",
            "1.5.0",
            "1.6.0",
            "1.7.0-experimental",
        ],
        "flatcar" => &["1.0.0", "1.1.0", "1.2.0-experimental"],
        "openshift" => &[
            "4.8.0",
            "4.9.0",
            "4.10.0",
            "4.11.0",
            "4.12.0",
            "4.13.0",
            "4.14.0",
            "4.15.0",
            "4.16.0",
            "4.17.0",
            "4.18.0",
            "4.19.0",
            "4.20.0",
            "4.21.0-experimental",
        ],
        "r4e" => &["1.0.0", "1.1.0", "1.2.0-experimental"],
        "fiot" => &["1.0.0", "1.1.0-experimental"],
        _ => &[],
    };
    known.contains(&v.to_string().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_go_semver_does() {
        assert_eq!(Version::parse("1.4.0").unwrap().to_string(), "1.4.0");
        assert_eq!(Version::parse("01.4.0").unwrap().to_string(), "1.4.0");
        assert_eq!(
            Version::parse("1.7.0-experimental").unwrap().to_string(),
            "1.7.0-experimental"
        );
        assert!(Version::parse("1.4").is_none());
        assert!(Version::parse("").is_none());
        assert!(Version::parse("1.4.x").is_none());
        assert_eq!(Version::parse("1.4.0-").unwrap().to_string(), "1.4.0");
        assert_eq!(Version::parse("9.9.0").unwrap().to_string(), "9.9.0");
    }
}
