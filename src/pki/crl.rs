//! Certificate revocation lists: the reasons a certificate is revoked
//! for, and a CA's signed CRL (X.509 v2, RFC 5280) of the serials it
//! revoked. Which serials are revoked, and the CRL's number, are the
//! state's; this module only signs what it is given.

use std::fmt;
use std::str::FromStr;

use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use super::Signer;
use super::serial::serial_bytes;
use crate::error::{Error, Result};

/// How long a CRL is good for: its `nextUpdate` is this long after its
/// `thisUpdate`. Whoever serves it makes a new one well before.
pub const CRL_VALIDITY: Duration = Duration::days(7);

/// Why a certificate was revoked (RFC 5280, 5.3.1), named as the RFC and
/// `openssl ca -crl_reason` name them. `certificateHold` and
/// `removeFromCRL` are left out: a revocation here is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    PrivilegeWithdrawn,
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::Unspecified,
        Reason::KeyCompromise,
        Reason::CaCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::PrivilegeWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
        }
    }

    /// The reason code a CRL entry carries.
    pub fn code(self) -> RevocationReason {
        match self {
            Reason::Unspecified => RevocationReason::Unspecified,
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
            Reason::CaCompromise => RevocationReason::CaCompromise,
            Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
            Reason::Superseded => RevocationReason::Superseded,
            Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
            Reason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Reason {
    type Err = String;

    /// The RFC's name in any case, with or without `-` or `_` between
    /// its words (`keyCompromise`, `key-compromise`).
    fn from_str(s: &str) -> std::result::Result<Reason, String> {
        let folded: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str().to_ascii_lowercase() == folded)
            .ok_or_else(|| {
                let names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
                format!(
                    "{} is not a revocation reason; use one of: {}",
                    crate::values::printable(s),
                    names.join(", ")
                )
            })
    }
}

/// One revoked certificate, as a CRL lists it.
#[derive(Clone, Copy, Debug)]
pub struct CrlEntry<'a> {
    /// Lower-case hex, as the audit records it.
    pub serial: &'a str,
    /// Unix seconds.
    pub revoked_at: i64,
    pub reason: Reason,
}

/// A signed CRL.
#[derive(Clone, Debug)]
pub struct Crl {
    pub der: Vec<u8>,
    pub number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
}

impl Crl {
    pub fn pem(&self) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut pem = String::with_capacity(b64.len() + b64.len() / 64 + 64);
        pem.push_str("-----BEGIN X509 CRL-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END X509 CRL-----\n");
        pem
    }
}

impl Signer {
    /// This CA's CRL number `number`, listing `entries`, issued at `now`
    /// and good for [`CRL_VALIDITY`]. Its authority key identifier is the
    /// CA certificate's subject key identifier, so that verifiers find the
    /// CA by it.
    pub fn sign_crl<'a>(
        &self,
        number: u64,
        entries: impl IntoIterator<Item = CrlEntry<'a>>,
        now: OffsetDateTime,
    ) -> Result<Crl> {
        let fail = |what: String| Error::new(format!("CA `{}`: {what}", self.name()));
        let revoked_certs = entries
            .into_iter()
            .map(|e| {
                let bytes = serial_bytes(e.serial)
                    .ok_or_else(|| fail(format!("the serial {:?} is not hex", e.serial)))?;
                let revocation_time = OffsetDateTime::from_unix_timestamp(e.revoked_at)
                    .map_err(|_| fail(format!("serial {}: no such time", e.serial)))?;
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&bytes),
                    revocation_time,
                    reason_code: Some(e.reason.code()),
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let this_update = now.replace_nanosecond(0).unwrap_or(now);
        let next_update = this_update + CRL_VALIDITY;
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: self.key_id()?,
        };
        let crl = params
            .signed_by(self.issuer())
            .map_err(|e| fail("cannot sign its CRL".into()).with_source(e))?;
        Ok(Crl {
            der: crl.der().to_vec(),
            number,
            this_update,
            next_update,
        })
    }

    /// The CA certificate's subject key identifier, or the SHA-256 method
    /// rcgen writes it with when the certificate has none.
    fn key_id(&self) -> Result<KeyIdMethod> {
        use x509_parser::extensions::ParsedExtension;
        use x509_parser::prelude::FromDer;
        let bad = || Error::new(format!("CA `{}`: malformed certificate", self.name()));
        let (_, pem) =
            x509_parser::pem::parse_x509_pem(self.cert_pem().as_bytes()).map_err(|_| bad())?;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&pem.contents)
            .map_err(|_| bad())?;
        let ski = cert
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                _ => None,
            });
        Ok(ski.map_or(KeyIdMethod::Sha256, KeyIdMethod::PreSpecified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CaSpec, KeyType, Pki, Usage};
    use x509_parser::prelude::FromDer;
    use x509_parser::revocation_list::CertificateRevocationList;

    #[test]
    fn reasons_parse_by_their_rfc_names_in_any_spelling() {
        for reason in Reason::ALL {
            assert_eq!(reason.as_str().parse::<Reason>(), Ok(reason));
        }
        assert_eq!("key-compromise".parse(), Ok(Reason::KeyCompromise));
        assert_eq!(
            "CESSATION_OF_OPERATION".parse(),
            Ok(Reason::CessationOfOperation)
        );
        let err = "stolen".parse::<Reason>().unwrap_err();
        assert!(err.contains("keyCompromise"), "{err}");
        assert!("certificateHold".parse::<Reason>().is_err());
    }

    #[test]
    fn a_crl_round_trips_with_its_entries_number_and_signature() {
        for key_type in [KeyType::EcdsaP256, KeyType::Rsa2048] {
            let dir = tempfile::tempdir().unwrap();
            let pki = Pki::new(dir.path().join("pki"));
            let spec = CaSpec {
                key_type,
                validity_days: 30,
                usages: Usage::ALL.to_vec(),
            };
            let ca = pki.init("etcd", &spec, "demo").unwrap();
            let signer = pki.signer("etcd").unwrap();
            let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
            // A serial with a leading zero byte (DER drops it), one with the
            // sign bit set (DER adds a zero byte), and a plain one.
            let entries = [
                ("00ab01", 1_799_000_000, Reason::KeyCompromise),
                ("8001", 1_799_000_100, Reason::CessationOfOperation),
                ("7f", 1_799_000_200, Reason::Unspecified),
            ];
            let crl = signer
                .sign_crl(
                    258,
                    entries
                        .iter()
                        .map(|&(serial, revoked_at, reason)| CrlEntry {
                            serial,
                            revoked_at,
                            reason,
                        }),
                    now,
                )
                .unwrap();
            assert!(crl.pem().starts_with("-----BEGIN X509 CRL-----\n"));

            let (rest, parsed) = CertificateRevocationList::from_der(&crl.der).unwrap();
            assert!(rest.is_empty());
            assert_eq!(parsed.version(), Some(x509_parser::x509::X509Version::V2));
            assert_eq!(parsed.crl_number().unwrap().to_string(), "258");
            assert_eq!(parsed.last_update().timestamp(), 1_800_000_000);
            assert_eq!(
                parsed.next_update().unwrap().timestamp(),
                1_800_000_000 + 7 * 86400
            );
            let listed: Vec<(Vec<u8>, i64, Option<u8>)> = parsed
                .iter_revoked_certificates()
                .map(|r| {
                    (
                        r.serial().to_bytes_be(),
                        r.revocation_date.timestamp(),
                        r.reason_code().map(|(_, code)| code.0),
                    )
                })
                .collect();
            assert_eq!(
                listed,
                vec![
                    (vec![0xab, 0x01], 1_799_000_000, Some(1)),
                    (vec![0x80, 0x01], 1_799_000_100, Some(5)),
                    (vec![0x7f], 1_799_000_200, None),
                ]
            );

            let (_, pem) = x509_parser::pem::parse_x509_pem(ca.pem.as_bytes()).unwrap();
            let cert = pem.parse_x509().unwrap();
            assert_eq!(parsed.issuer(), cert.subject());
            parsed.verify_signature(cert.public_key()).unwrap();
            let aki = parsed
                .extensions()
                .iter()
                .find_map(|e| match e.parsed_extension() {
                    x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                        a.key_identifier.as_ref().map(|k| k.0.to_vec())
                    }
                    _ => None,
                });
            let ski = cert
                .iter_extensions()
                .find_map(|e| match e.parsed_extension() {
                    x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                        Some(k.0.to_vec())
                    }
                    _ => None,
                });
            assert!(ski.is_some());
            assert_eq!(aki, ski);
        }
    }
}
