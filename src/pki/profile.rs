//! Certificate profiles: what a host's leaf certificate of one kind looks
//! like, and which CA signs it. Declared as `[profiles.<name>]` in
//! cluster.toml; groups and hosts list the profiles they get.
//!
//! A profile is the whole policy of an issuance: the CSR only brings a
//! public key and the proof that its sender holds the private key. Subject,
//! names, usages and validity come from here, rendered for the host.

use super::KeyType;
use crate::values::AbsPath;
use crate::values::named_enum;

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
    /// Key types a host may use for its key.
    pub key_types: Vec<KeyType>,
    pub validity_days: u32,
    /// Where the host keeps the key, the certificate, and the CA certificate.
    pub key_path: AbsPath,
    pub cert_path: AbsPath,
    pub ca_path: AbsPath,
}

impl Profile {
    pub const DEFAULT_VALIDITY_DAYS: u32 = 365;
}
