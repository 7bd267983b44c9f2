//! The Ignition spec versions whose checks this port knows: the ones that
//! Butane's fcos 1.4.0, 1.5.0 and 1.6.0 translate to.

/// An Ignition config spec version (the `config/v3_X` package a check
/// comes from).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Spec {
    V3_3,
    V3_4,
    V3_5,
}

impl Spec {
    /// The `ignition.version` this spec accepts (its `MaxVersion`).
    pub fn version(self) -> &'static str {
        match self {
            Spec::V3_3 => "3.3.0",
            Spec::V3_4 => "3.4.0",
            Spec::V3_5 => "3.5.0",
        }
    }

    /// The minor number of `MaxVersion` (major 3, patch 0, no pre-release).
    pub(crate) fn minor(self) -> i64 {
        match self {
            Spec::V3_3 => 3,
            Spec::V3_4 => 4,
            Spec::V3_5 => 5,
        }
    }
}
