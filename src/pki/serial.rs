//! The identifiers a certificate is known by: random serial numbers, and
//! lower-case hex for serials and SHA-256 fingerprints. A leaf of `pki`,
//! so that making a CA and signing with one need not import each other.

use rcgen::SerialNumber;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// 16 random bytes with the top bit cleared, so the DER integer stays
/// positive at full length (RFC 5280 allows up to 20 octets).
pub fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(format!("the system random source failed: {e}")))?;
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Lower-case hex, as `openssl x509 -serial` shows a serial (without
/// colons).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The SHA-256 of `bytes` (a DER certificate), in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        assert!(a.as_ref()[0] < 0x80);
    }
}
