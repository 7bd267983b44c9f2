//! The cluster's certificate authorities, kept under `pki/` on the
//! provisioning machine.
//!
//! This module owns the on-disk layout (`pki/<ca>/ca.key`, `pki/<ca>/ca.crt`)
//! and the rules that protect it: keys are written with mode 0600 inside a
//! 0700 folder, and an existing CA is never overwritten. What a CA looks like
//! (key type, validity) is declared in `hosts/cluster.toml` and arrives here
//! as a [`CaSpec`]; rendering only ever reads the public certificates.
//! A CA's signed CRL is made here too (`crl.rs`), from the revocations
//! the state keeps.

mod ca;
mod crl;
mod csr;
pub mod identity;
mod issue;
mod key_type;
mod profile;
mod serial;
mod sign;
mod token;

pub use ca::{CaCert, CaInfo, Pki};
pub use crl::{CRL_VALIDITY, Crl, CrlEntry, Reason};
pub use csr::{CheckedCsr, MAX_CSR_BYTES, check_csr};
pub use issue::{
    CheckedLeaf, Holder, Issuance, IssuedRecord, LeafRequest, SERVER_PROFILE, issue_server,
};
pub use key_type::KeyType;
pub use profile::{Profile, RenewAt, Usage};
pub use serial::{hex, parse_serial, serial_spellings, sha256_hex};
pub use sign::{CertNames, Signer};
pub use token::{
    MAX_TOKEN_LEN, MintedToken, PresentedToken, REDACTED, mint as mint_token, parse as parse_token,
    token_id,
};

/// One `[ca.<name>]` table of cluster.toml, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaSpec {
    pub key_type: KeyType,
    pub validity_days: u32,
    /// The usages this CA may put in a certificate: its duty. A profile
    /// that asks its CA for more is refused when the inventory loads.
    pub usages: Vec<Usage>,
}

impl CaSpec {
    pub const DEFAULT_VALIDITY_DAYS: u32 = 3650;

    pub fn validity(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.validity_days) * 86400)
    }
}
