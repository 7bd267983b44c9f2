//! Reading a certificate signing request from untrusted input and checking
//! it: syntax, signature (proof that the sender holds the key), key type and
//! strength, and that it does not ask to become a CA.
//!
//! Only the public key of a CSR is used for the certificate; the names it
//! asks for are kept so that the caller can say when they differ from the
//! profile's.

use rcgen::{PublicKeyData, SignatureAlgorithm};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use super::KeyType;

/// The largest CSR accepted, PEM or DER. Real ones are under 4 KiB (RSA-4096).
pub const MAX_CSR_BYTES: usize = 16 * 1024;

/// The smallest RSA key accepted.
const MIN_RSA_BITS: usize = 2048;

/// A CSR whose signature verified and whose key passed the checks.
#[derive(Clone, Debug)]
pub struct CheckedCsr {
    /// The key type by the inventory's names; RSA sizes other than 2048,
    /// 3072 and 4096 are reported as such and match no profile.
    pub key: CsrKey,
    /// The subject's common name and the SANs the CSR asked for.
    pub requested_names: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct CsrKey {
    pub key_type: Result<KeyType, String>,
    subject_public_key: Vec<u8>,
    algorithm: &'static SignatureAlgorithm,
}

impl CsrKey {
    /// The key type as the inventory names it, such as `rsa-2048`.
    pub fn type_name(&self) -> String {
        match &self.key_type {
            Ok(k) => k.to_string(),
            Err(name) => name.clone(),
        }
    }

    /// The SHA-256 of the public key, in hex: which key a CSR is for,
    /// without keeping the CSR.
    pub fn sha256(&self) -> String {
        super::serial::sha256_hex(&self.subject_public_key)
    }
}

/// rcgen writes the certificate's SubjectPublicKeyInfo from the key's
/// algorithm and bits; the algorithm here is chosen from the key itself,
/// not from the CSR's signature (a P-384 key signed with SHA-256 must stay
/// a P-384 key).
impl PublicKeyData for CsrKey {
    fn der_bytes(&self) -> &[u8] {
        &self.subject_public_key
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.algorithm
    }
}

/// Parses and checks a CSR given as PEM or DER. Its faults are errors of
/// kind [`crate::error::Kind::Invalid`].
pub fn check_csr(input: &[u8]) -> crate::error::Result<CheckedCsr> {
    check(input).map_err(crate::error::Error::invalid)
}

fn check(input: &[u8]) -> Result<CheckedCsr, String> {
    if input.len() > MAX_CSR_BYTES {
        return Err(format!(
            "the CSR is {} bytes; at most {MAX_CSR_BYTES} are accepted",
            input.len()
        ));
    }
    let der = to_der(input)?;
    let (rest, csr) = X509CertificationRequest::from_der(&der)
        .map_err(|e| format!("not a valid certificate signing request (PKCS#10): {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate signing request".to_string());
    }
    // The key first: a weak key would also fail verification, and "too
    // weak" is the message that helps.
    let info = &csr.certification_request_info;
    let key = csr_key(&info.subject_pki)?;
    csr.verify_signature().map_err(|_| {
        "the CSR's signature does not verify: it was not signed by the key it carries".to_string()
    })?;

    let mut requested_names = Vec::new();
    for cn in info.subject.iter_common_name() {
        if let Ok(cn) = cn.as_str() {
            requested_names.push(cn.to_string());
        }
    }
    for ext in csr.requested_extensions().into_iter().flatten() {
        match ext {
            ParsedExtension::BasicConstraints(bc) if bc.ca => {
                return Err(
                    "the CSR asks for CA:TRUE; coregen never issues CA certificates".to_string(),
                );
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(dns) => requested_names.push(dns.to_string()),
                        GeneralName::IPAddress(bytes) => requested_names.push(ip_string(bytes)),
                        other => requested_names.push(other.to_string()),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(CheckedCsr {
        key,
        requested_names,
    })
}

/// PEM (label CERTIFICATE REQUEST) or DER; anything else is refused with a
/// message that says what it looks like instead.
fn to_der(input: &[u8]) -> Result<Vec<u8>, String> {
    let trimmed = input.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN") {
        if trimmed.first() == Some(&0x30) {
            return Ok(input.to_vec());
        }
        return Err("not a certificate signing request: expected PEM or DER".to_string());
    }
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(trimmed).map_err(|e| format!("malformed PEM: {e}"))?;
    match pem.label.as_str() {
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Ok(pem.contents),
        "CERTIFICATE" => {
            Err("this is a certificate, not a certificate signing request".to_string())
        }
        label if label.contains("PRIVATE KEY") => Err(
            "this is a private key: never send it anywhere; send a CSR made from it".to_string(),
        ),
        label => Err(format!(
            "PEM block is {label:?}, not \"CERTIFICATE REQUEST\""
        )),
    }
}

fn csr_key(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Result<CsrKey, String> {
    let oid = &spki.algorithm.algorithm;
    let subject_public_key = spki.subject_public_key.data.to_vec();
    let (key_type, algorithm) = if *oid == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => rsa.key_size(),
            _ => return Err("malformed RSA public key".to_string()),
        };
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "RSA key of {bits} bits is too weak: at least {MIN_RSA_BITS} bits are required"
            ));
        }
        let key_type = match bits {
            2048 => Ok(KeyType::Rsa2048),
            3072 => Ok(KeyType::Rsa3072),
            4096 => Ok(KeyType::Rsa4096),
            other => Err(format!("rsa-{other}")),
        };
        (key_type, &rcgen::PKCS_RSA_SHA256)
    } else if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        match curve {
            Some(c) if c == OID_EC_P256 => (Ok(KeyType::EcdsaP256), &rcgen::PKCS_ECDSA_P256_SHA256),
            Some(c) if c == OID_NIST_EC_P384 => {
                (Ok(KeyType::EcdsaP384), &rcgen::PKCS_ECDSA_P384_SHA384)
            }
            _ => return Err("unsupported elliptic curve: use P-256 or P-384".to_string()),
        }
    } else if *oid == OID_SIG_ED25519 {
        (Ok(KeyType::Ed25519), &rcgen::PKCS_ED25519)
    } else {
        return Err(format!(
            "unsupported public key algorithm {oid}: use ECDSA P-256 or P-384, Ed25519, or RSA"
        ));
    };
    Ok(CsrKey {
        key_type,
        subject_public_key,
        algorithm,
    })
}

fn ip_string(bytes: &[u8]) -> String {
    crate::values::ip_from_san(bytes).map_or_else(|| format!("IP {bytes:?}"), |ip| ip.to_string())
}
