//! The Ignition spec versions coregen writes, and what each one allows.

use crate::values::named_enum;

/// A config spec version that coregen can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SpecVersion {
    /// What Debian's Ignition 2.14 and its `ignition-validate` accept.
    V3_3,
    #[default]
    V3_4,
    V3_5,
}

impl SpecVersion {
    pub const ALL: [SpecVersion; 3] = [SpecVersion::V3_3, SpecVersion::V3_4, SpecVersion::V3_5];

    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V3_3 => "3.3.0",
            SpecVersion::V3_4 => "3.4.0",
            SpecVersion::V3_5 => "3.5.0",
        }
    }

    /// Setuid, setgid and sticky bits in file and directory modes came with 3.4.0.
    pub fn allows_special_mode_bits(self) -> bool {
        self >= SpecVersion::V3_4
    }
}

named_enum!(SpecVersion, |s| format!(
    "unsupported Ignition spec version {s:?}: coregen writes 3.3.0, 3.4.0 and 3.5.0"
));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_supported_versions() {
        assert_eq!("3.3.0".parse(), Ok(SpecVersion::V3_3));
        assert!("3.2.0".parse::<SpecVersion>().is_err());
        assert!("3.4.0-experimental".parse::<SpecVersion>().is_err());
        assert_eq!(SpecVersion::default().as_str(), "3.4.0");
    }
}
