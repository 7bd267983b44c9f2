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

/// The longest serial RFC 5280 allows, in bytes.
pub const MAX_SERIAL_BYTES: usize = 20;

/// A serial as a person or a tool writes it (`3F:0A:..`, `0x3f0a..`,
/// `3f0a..`, in any case) in the form the audit records it: lower-case
/// hex, two digits a byte, without the leading zero bytes that DER drops
/// (so `00ab` and `AB` are one serial). An error says what is wrong.
pub fn parse_serial(text: &str) -> std::result::Result<String, String> {
    let trimmed = text.trim();
    let bare = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let digits: String = bare.chars().filter(|&c| c != ':').collect();
    let shown = crate::values::printable(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{shown} is not a certificate serial: write it in hex, as `coregen audit` or \
             `openssl x509 -serial` shows it"
        ));
    }
    let significant = digits.trim_start_matches('0').to_ascii_lowercase();
    if significant.len() > MAX_SERIAL_BYTES * 2 {
        return Err(format!(
            "{shown} is not a certificate serial: longer than {MAX_SERIAL_BYTES} bytes"
        ));
    }
    Ok(if significant.len() % 2 == 1 {
        format!("0{significant}")
    } else if significant.is_empty() {
        "00".to_string()
    } else {
        significant
    })
}

/// The ways the audit may spell the serial `canonical` (from
/// [`parse_serial`]): as it is, and with the leading zero bytes of a
/// 16-byte random serial whose first bytes came out zero.
pub fn serial_spellings(canonical: &str) -> Vec<String> {
    let mut spellings = vec![canonical.to_string()];
    let mut padded = canonical.to_string();
    while padded.len() < 32 {
        padded.insert_str(0, "00");
        spellings.push(padded.clone());
    }
    spellings
}

/// The bytes of a serial in hex (as the audit records it), for DER.
pub fn serial_bytes(hex: &str) -> Option<Vec<u8>> {
    let padded;
    let hex = if hex.len() % 2 == 1 {
        padded = format!("0{hex}");
        &padded
    } else {
        hex
    };
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The SHA-256 of `bytes` (a DER certificate), in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_parse_in_every_spelling_to_one_form() {
        for text in ["3F:0A:01", "0x3f0a01", " 3f0a01 ", "003F0A01", "3f0a01"] {
            assert_eq!(parse_serial(text).unwrap(), "3f0a01", "{text}");
        }
        assert_eq!(parse_serial("f0a01").unwrap(), "0f0a01");
        assert_eq!(parse_serial("0").unwrap(), "00");
        assert!(parse_serial("").is_err());
        assert!(parse_serial("xyz").is_err());
        assert!(parse_serial(&"ab".repeat(21)).is_err());
        let spellings = serial_spellings("ab");
        assert_eq!(spellings.len(), 16);
        assert_eq!(spellings[1], "00ab");
        assert_eq!(serial_bytes("00ab"), Some(vec![0, 0xab]));
        assert_eq!(serial_bytes("abc"), Some(vec![0x0a, 0xbc]));
        assert_eq!(serial_bytes("zz"), None);
    }

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        assert!(a.as_ref()[0] < 0x80);
    }
}
