//! Validated scalar values shared by the inventory, the PKI and the
//! command line: host names, domains, MAC addresses, file modes, absolute
//! paths and systemd unit names, lifetimes (`"30d"`), and the two macros
//! that give such types their string forms; and how untrusted text is
//! quoted in a message.
//!
//! Each type checks itself while it is deserialized, so an invalid value is
//! reported by the TOML reader with its exact place; code past the inventory
//! loader never sees an unchecked one. This module is a leaf: it imports
//! nothing of the crate, so any module may use it.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Implements serde's `Deserialize` through `FromStr`, so that the parse
/// error becomes the message at the value's place. The one way a string
/// value of this crate is deserialized. The optional second argument says
/// what was expected when the value is not a string at all.
macro_rules! deserialize_from_str {
    ($ty:ty) => {
        $crate::values::deserialize_from_str!($ty, "a string");
    };
    ($ty:ty, $expecting:expr) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$ty, E> {
                        s.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    };
}

/// `named_enum!(Type, |input| "message for an unknown name")`, for the
/// enums named by string (spec versions, key types, usages): the type must
/// have `const ALL: [Type; N]` and `fn as_str(self) -> &'static str`; this
/// gives `Display`, `FromStr` and `Deserialize`.
macro_rules! named_enum {
    ($ty:ty, $unknown:expr) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| ($unknown)(s))
            }
        }

        $crate::values::deserialize_from_str!($ty);
    };
}

pub(crate) use {deserialize_from_str, named_enum};

/// Seconds since the Unix epoch: how token and enrollment times are kept.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A time as the audit log records it: RFC 3339, UTC, whole seconds.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A lifetime as the inventory writes it: a whole number and a unit, `s`,
/// `m`, `h` or `d` (`"90d"`, `"24h"`, `"10m"`), more than zero and at most
/// `max` (named `max_text` in the message). The one parser of such
/// durations (`server.token_ttl`, a profile's `validity`).
pub fn parse_duration(
    s: &str,
    max: std::time::Duration,
    max_text: &str,
) -> Result<std::time::Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 && unit_secs > 0 && n <= max.as_secs() / unit_secs => {
            Ok(std::time::Duration::from_secs(n * unit_secs))
        }
        _ => Err(format!(
            "{s:?} is not a lifetime: write a number and a unit (s, m, h or d), such as \
             \"1h\", of at most {max_text}"
        )),
    }
}

/// A duration as [`parse_duration`] reads it, in its largest whole unit.
pub fn format_duration(d: std::time::Duration) -> String {
    match d.as_secs() {
        s if s % 86400 == 0 => format!("{}d", s / 86400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The Unix time of an audit time as [`rfc3339`] writes it
/// (`2026-11-28T12:00:00Z`); `None` for any other text.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let digits = &text[from..to];
        digits
            .bytes()
            .all(|d| d.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let month = time::Month::try_from(u8::try_from(num(5, 7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(num(0, 4)?).ok()?,
        month,
        u8::try_from(num(8, 10)?).ok()?,
    )
    .ok()?;
    let at = date
        .with_hms(
            u8::try_from(num(11, 13)?).ok()?,
            u8::try_from(num(14, 16)?).ok()?,
            u8::try_from(num(17, 19)?).ok()?,
        )
        .ok()?;
    Some(at.assume_utc().unix_timestamp())
}

/// An IP address as an X.509 subject alternative name holds it: 4 or 16
/// bytes. Anything else is no address.
pub fn ip_from_san(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(Into::into),
        16 => <[u8; 16]>::try_from(bytes).ok().map(Into::into),
        _ => None,
    }
}

/// A host name: one DNS label (RFC 1123), lower case. It is also the file
/// stem of the host's inventory file and of its output files.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct HostName(String);

impl HostName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HostName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let valid = !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if valid {
            Ok(HostName(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a valid host name: use 1 to 63 lower-case letters, digits and \
                 inner hyphens (a DNS label)"
            ))
        }
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS domain such as `cluster.example.com`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Domain(String);

impl Domain {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Domain {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let valid = s.len() <= 253 && s.split('.').all(|label| label.parse::<HostName>().is_ok());
        if valid {
            Ok(Domain(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a valid DNS domain: use dot-separated lower-case labels"
            ))
        }
    }
}

/// An Ethernet MAC address, shown as lower-case `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacAddr([u8; 6]);

impl FromStr for MacAddr {
    type Err = String;

    /// Accepts `:` or `-` separators (one kind throughout) and either
    /// case, the forms that operators copy from `ip link` and from iPXE.
    /// The error quotes the input only when it is short, since it may come
    /// from a request.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "\"{}\" is not a MAC address (expected six hex pairs like 52:54:00:12:34:56)",
                printable(s)
            )
        };
        if s.len() > 17 {
            return Err(bad());
        }
        let separator = if s.contains(':') { ':' } else { '-' };
        let parts: Vec<&str> = s.split(separator).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut bytes = [0u8; 6];
        for (byte, part) in bytes.iter_mut().zip(parts) {
            if part.len() != 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        Ok(MacAddr(bytes))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A machine's SMBIOS system UUID (`dmidecode -s system-uuid`, iPXE's
/// `${uuid}`), shown as lower-case `8-4-4-4-12` hex. The all-zero and
/// all-ones values are what firmware reports when it has none, and name
/// no machine, so they are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SmbiosUuid([u8; 16]);

impl FromStr for SmbiosUuid {
    type Err = String;

    /// Either case; the hyphens where RFC 4122 puts them. The error quotes
    /// the input only when it is short, since it may come from a request.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "\"{}\" is not an SMBIOS UUID (expected 8-4-4-4-12 hex digits like \
                 4c4c4544-0042-3510-8052-b4c04f4e4432)",
                printable(s)
            )
        };
        let groups: Vec<&str> = s.split('-').collect();
        let lengths = groups.iter().map(|g| g.len());
        if s.len() != 36 || !lengths.eq([8, 4, 4, 4, 12]) {
            return Err(bad());
        }
        let digits: String = groups.concat();
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = digits.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            if !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        if bytes == [0; 16] || bytes == [0xff; 16] {
            return Err(format!(
                "{s} is the placeholder firmware reports when it has no UUID, not a machine's"
            ));
        }
        Ok(SmbiosUuid(bytes))
    }
}

impl fmt::Display for SmbiosUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for SmbiosUuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A permission mode, written in TOML as a string of octal digits (`"0644"`).
/// Integers are refused: TOML does not tell `0o644` from `644`, and the
/// decimal one is a classic way to make a file sticky and world-writable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(u32);

impl Mode {
    pub const fn new(bits: u32) -> Mode {
        Mode(bits)
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    /// setuid, setgid or sticky: allowed only from Ignition spec 3.4.0 on.
    pub fn has_special_bits(self) -> bool {
        self.0 & 0o7000 != 0
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s.strip_prefix("0o").unwrap_or(s);
        let bits = u32::from_str_radix(digits, 8)
            .ok()
            .filter(|_| !digits.is_empty() && digits.len() <= 5);
        match bits {
            Some(bits) if bits <= 0o7777 => Ok(Mode(bits)),
            _ => Err(format!(
                "invalid mode {s:?}: expected octal digits from \"0000\" to \"7777\", such as \"0644\""
            )),
        }
    }
}

/// An absolute, normalized path on the host: starts with `/`, and has no
/// empty, `.` or `..` component and no trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AbsPath(String);

impl AbsPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AbsPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some(rest) = s.strip_prefix('/') else {
            return Err(format!(
                "path {s:?} is relative: paths on the host must start with /"
            ));
        };
        if rest.is_empty()
            || rest
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(format!(
                "path {s:?} is not normalized: no empty, \".\" or \"..\" components and no trailing /"
            ));
        }
        Ok(AbsPath(s.to_string()))
    }
}

impl fmt::Display for AbsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A systemd unit name such as `etcd-member.service` or `getty@tty1.service`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UnitName(String);

const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

impl UnitName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UnitName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (stem, suffix) = s.rsplit_once('.').unwrap_or((s, ""));
        if !UNIT_SUFFIXES.contains(&suffix) {
            return Err(format!(
                "invalid unit name {s:?}: it must end in a unit type such as .service, .socket, \
                 .timer, .mount or .target"
            ));
        }
        if stem.is_empty() || s.len() > 255 || !stem.bytes().all(is_unit_name_byte) {
            return Err(format!(
                "invalid unit name {s:?}: use letters, digits and \":-_.@\\\" before the suffix"
            ));
        }
        Ok(UnitName(s.to_string()))
    }
}

fn is_unit_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b":-_.@\\".contains(&b)
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A drop-in file name: `NAME.conf`, placed in `<unit>.d/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DropinName(String);

impl DropinName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DropinName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.strip_suffix(".conf") {
            Some(stem) if !stem.is_empty() && stem.bytes().all(is_unit_name_byte) => {
                Ok(DropinName(s.to_string()))
            }
            _ => Err(format!(
                "invalid drop-in name {s:?}: expected a name ending in .conf, such as \"10-tls.conf\""
            )),
        }
    }
}

impl fmt::Display for DropinName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

deserialize_from_str!(HostName);
deserialize_from_str!(Mode, "a mode as a string of octal digits, such as \"0644\"");
deserialize_from_str!(Domain);
deserialize_from_str!(MacAddr);
deserialize_from_str!(SmbiosUuid);
deserialize_from_str!(AbsPath);
deserialize_from_str!(UnitName);
deserialize_from_str!(DropinName);

/// The longest piece of untrusted text [`printable`] quotes whole.
const PRINTABLE_CHARS: usize = 64;

/// Untrusted text for a message: at most [`PRINTABLE_CHARS`] characters
/// (then `...`), with control and bidirectional-formatting characters
/// escaped, so that a client cannot forge lines or reorder what an
/// operator reads.
pub fn printable(s: &str) -> String {
    let mut out = escape_untrusted(&s.chars().take(PRINTABLE_CHARS).collect::<String>());
    if s.chars().nth(PRINTABLE_CHARS).is_some() {
        out.push_str("...");
    }
    out
}

/// Untrusted text for a log line: at most 512 characters (then `...`),
/// escaped as [`printable`] escapes.
pub fn printable_long(s: &str) -> String {
    let mut out = escape_untrusted(&s.chars().take(512).collect::<String>());
    if s.chars().nth(512).is_some() {
        out.push_str("...");
    }
    out
}

/// `s` with every character that is invisible or moves text around
/// written as a `\u{..}` escape: control characters, line and paragraph
/// separators, and the format characters (Unicode category Cf: the
/// bidirectional controls, zero-width characters, the byte order mark,
/// tag characters), so that a client cannot forge lines or reorder what
/// an operator reads. Everything else stays as it is.
pub fn escape_untrusted(s: &str) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{00ad}'
                    | '\u{0600}'..='\u{0605}'
                    | '\u{061c}'
                    | '\u{06dd}'
                    | '\u{070f}'
                    | '\u{0890}'..='\u{0891}'
                    | '\u{08e2}'
                    | '\u{180e}'
                    | '\u{200b}'..='\u{200f}'
                    | '\u{2028}'..='\u{202e}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{2066}'..='\u{206f}'
                    | '\u{feff}'
                    | '\u{fff9}'..='\u{fffb}'
                    | '\u{110bd}'
                    | '\u{110cd}'
                    | '\u{13430}'..='\u{1343f}'
                    | '\u{1bca0}'..='\u{1bca3}'
                    | '\u{1d173}'..='\u{1d17a}'
                    | '\u{e0001}'
                    | '\u{e0020}'..='\u{e007f}'
            )
    };
    if !s.chars().any(hidden) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_times_parse_back() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(1_795_000_000));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01 00:00:00Z",
            "+026-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn san_ip_addresses_are_4_or_16_bytes() {
        assert_eq!(
            ip_from_san(&[10, 0, 0, 1]),
            Some("10.0.0.1".parse().unwrap())
        );
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_from_san(&v6), Some("::1".parse().unwrap()));
        assert_eq!(ip_from_san(&[1, 2, 3]), None);
    }

    #[test]
    fn host_names() {
        assert!("node1".parse::<HostName>().is_ok());
        assert!("etcd-a-2".parse::<HostName>().is_ok());
        for bad in ["", "Node1", "-a", "a-", "a.b", "a_b", &"x".repeat(64)] {
            assert!(bad.parse::<HostName>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn smbios_uuids_normalize_and_refuse_placeholders() {
        let uuid: SmbiosUuid = "4C4C4544-0042-3510-8052-B4C04F4E4432".parse().unwrap();
        assert_eq!(uuid.to_string(), "4c4c4544-0042-3510-8052-b4c04f4e4432");
        for bad in [
            "",
            "4c4c4544004235108052b4c04f4e4432",
            "4c4c4544-0042-3510-8052-b4c04f4e443",
            "4c4c4544-0042-3510-8052b-4c04f4e4432",
            "4c4c4544-0042-3510-8052-b4c04f4e443g",
            "+c4c4544-0042-3510-8052-b4c04f4e4432",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        ] {
            assert!(bad.parse::<SmbiosUuid>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn macs_normalize_to_lower_case_colons() {
        let mac: MacAddr = "52-54-00-AB-cd-01".parse().unwrap();
        assert_eq!(mac.to_string(), "52:54:00:ab:cd:01");
        for bad in [
            "52:54:00:ab:cd",
            "52:54:00:ab:cd:zz",
            "525400abcd01",
            "5:54:00:ab:cd:011",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn modes() {
        assert_eq!("0644".parse::<Mode>().unwrap().bits(), 0o644);
        assert_eq!("0o4755".parse::<Mode>().unwrap().bits(), 0o4755);
        assert!("4755".parse::<Mode>().unwrap().has_special_bits());
        for bad in ["", "0999", "rw-r--r--", "17777", "0o"] {
            assert!(bad.parse::<Mode>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(Mode::new(0o600).to_string(), "0600");
    }

    #[test]
    fn paths() {
        assert!("/etc/hostname".parse::<AbsPath>().is_ok());
        for bad in ["etc/x", "/", "/etc/", "/etc//x", "/etc/../x", "/./x"] {
            assert!(bad.parse::<AbsPath>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn unit_names() {
        assert!("etcd-member.service".parse::<UnitName>().is_ok());
        assert!("getty@tty1.service".parse::<UnitName>().is_ok());
        for bad in [
            "etcd",
            "etcd.conf",
            ".service",
            "a b.service",
            "x/y.service",
        ] {
            assert!(bad.parse::<UnitName>().is_err(), "{bad:?} accepted");
        }
        assert!("10-tls.conf".parse::<DropinName>().is_ok());
        assert!("10-tls".parse::<DropinName>().is_err());
    }

    #[test]
    fn untrusted_text_is_escaped_and_bounded() {
        assert_eq!(escape_untrusted("plain `text` é"), "plain `text` é");
        for (hidden, escaped) in [
            ("\u{202e}", "\\u{202e}"),
            ("\n", "\\u{a}"),
            ("\u{2028}", "\\u{2028}"),
            ("\u{200b}", "\\u{200b}"),
            ("\u{feff}", "\\u{feff}"),
            ("\u{e0041}", "\\u{e0041}"),
            ("\u{2066}", "\\u{2066}"),
        ] {
            assert_eq!(
                escape_untrusted(&format!("a{hidden}b")),
                format!("a{escaped}b")
            );
        }
        let long = "x".repeat(500);
        assert_eq!(
            printable(&long),
            format!("{}...", "x".repeat(PRINTABLE_CHARS))
        );
    }

    #[test]
    fn a_mac_takes_one_separator_and_is_not_echoed_whole() {
        assert!("52:54:00:12:34:56".parse::<MacAddr>().is_ok());
        assert!("52-54-00-12-34-56".parse::<MacAddr>().is_ok());
        for mixed in ["52:54-00:12:34:56", "52-54-00-12-34:56"] {
            assert!(mixed.parse::<MacAddr>().is_err(), "{mixed}");
        }
        let long = "aa:".repeat(300);
        let err = long.parse::<MacAddr>().unwrap_err();
        assert!(err.len() < 200, "{err}");
    }
}
