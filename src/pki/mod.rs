//! The cluster's certificate authorities, kept under `pki/` on the
//! provisioning machine.
//!
//! This module owns the on-disk layout (`pki/<ca>/ca.key`, `pki/<ca>/ca.crt`)
//! and the rules that protect it: keys are written with mode 0600 inside a
//! 0700 folder, and an existing CA is never overwritten. What a CA looks like
//! (key type, validity) is declared in `hosts/cluster.toml` and arrives here
//! as a [`CaSpec`]; rendering only ever reads the public certificates.

mod ca;
mod key_type;

pub use ca::{CaCert, Pki};
pub use key_type::KeyType;

/// One `[ca.<name>]` table of cluster.toml, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaSpec {
    pub key_type: KeyType,
    pub validity_days: u32,
}

impl CaSpec {
    pub const DEFAULT_VALIDITY_DAYS: u32 = 3650;
}
