//! Certificate profiles: what a host's leaf certificate of one kind looks
//! like, and which CA signs it. Declared as `[profiles.<name>]` in
//! cluster.toml; groups and hosts list the profiles they get.
//!
//! A profile is the whole policy of an issuance: the CSR only brings a
//! public key and the proof that its sender holds the private key. Subject,
//! names, usages and validity come from here, rendered for the host. So
//! does what the host does about renewal: when ([`RenewAt`]) and which
//! units it reloads afterwards.

use std::time::Duration;

use super::KeyType;
use crate::values::{AbsPath, UnitName, named_enum};

/// An extended key usage that coregen issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Usage {
    ServerAuth,
    ClientAuth,
}

impl Usage {
    pub const ALL: [Usage; 2] = [Usage::ServerAuth, Usage::ClientAuth];

    pub fn as_str(self) -> &'static str {
        match self {
            Usage::ServerAuth => "server-auth",
            Usage::ClientAuth => "client-auth",
        }
    }
}

named_enum!(Usage, |s| format!(
    "unknown usage {s:?}: expected \"server-auth\" or \"client-auth\""
));

/// One `[profiles.<name>]` table, resolved and checked against its CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// The CA that signs it; the only CA that may.
    pub ca: String,
    pub usages: Vec<Usage>,
    /// Handlebars templates, rendered with the host's template context.
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    /// Templates of the subject's O and OU values, in order; empty results
    /// are dropped.
    pub organization: Vec<String>,
    pub organizational_unit: Vec<String>,
    /// Key types a host may use for its key.
    pub key_types: Vec<KeyType>,
    /// The certificate's lifetime: at least [`Profile::MIN_VALIDITY`], and
    /// no longer than its CA's (checked when the inventory loads, and
    /// against the CA certificate itself when signing).
    pub validity: Duration,
    /// When the host renews the certificate.
    pub renew_at: RenewAt,
    /// Units the host reloads (`systemctl try-reload-or-restart`) after
    /// installing a renewed certificate.
    pub reload: Vec<UnitName>,
    /// Where the host keeps the key, the certificate, and the CA certificate.
    pub key_path: AbsPath,
    pub cert_path: AbsPath,
    pub ca_path: AbsPath,
}

impl Profile {
    pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(365 * 86400);
    pub const MIN_VALIDITY: Duration = Duration::from_secs(60);
}

/// The fraction of a certificate's lifetime after which the host renews
/// it (`renew_at`, strictly between 0 and 1), kept in ten-thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewAt(u16);

impl RenewAt {
    /// Two thirds of the lifetime.
    pub const DEFAULT: RenewAt = RenewAt(6667);

    /// `fraction` if it lies strictly between 0 and 1 (so not NaN).
    pub fn new(fraction: f64) -> Option<RenewAt> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return None;
        }
        let scaled = (fraction * 10_000.0).round().clamp(1.0, 9_999.0);
        Some(RenewAt(scaled as u16))
    }

    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// The fraction as a whole percent from 1 to 99, rounded to the
    /// nearest: what a POSIX shell compares without floating point
    /// (`COREGEN_PROFILE_<n>_RENEW_AT` in `enroll.env`).
    pub fn percent(self) -> u8 {
        ((u32::from(self.0) + 50) / 100).clamp(1, 99) as u8
    }
}

impl Default for RenewAt {
    fn default() -> RenewAt {
        RenewAt::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renew_at_is_strictly_between_0_and_1_and_a_percent_from_1_to_99() {
        for bad in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(RenewAt::new(bad), None, "{bad}");
        }
        assert_eq!(RenewAt::DEFAULT.percent(), 67);
        assert_eq!(RenewAt::new(2.0 / 3.0), Some(RenewAt::DEFAULT));
        assert_eq!(RenewAt::new(0.75).unwrap().percent(), 75);
        assert_eq!(RenewAt::new(0.5).unwrap().fraction(), 0.5);
        assert_eq!(RenewAt::new(0.666).unwrap().percent(), 67);
        assert_eq!(RenewAt::new(0.994).unwrap().percent(), 99);
        // Never 0 or 100, which would renew at once or never.
        assert_eq!(RenewAt::new(0.001).unwrap().percent(), 1);
        assert_eq!(RenewAt::new(0.000_01).unwrap().percent(), 1);
        assert_eq!(RenewAt::new(0.999_99).unwrap().percent(), 99);
    }
}
