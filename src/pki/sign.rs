//! A CA loaded with its key, and the X.509 of a leaf certificate: a public
//! key with names, usages and a validity. Which key may get which names and
//! usages is [`super::issue`]'s policy; this module only signs.
//!
//! A leaf never outlives the CA that signs it: its not-after is the CA
//! certificate's when that comes first. rcgen keeps one value per subject
//! attribute type, so a subject with several O or OU values is written
//! here (`der`) and the certificate signed again with it.

use std::net::IpAddr;

use rcgen::{
    CertificateParams, DistinguishedName, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use time::{Duration, OffsetDateTime};

use super::Usage;
use super::serial::{hex, random_serial, sha256_hex};
use crate::error::{Error, Result};

/// The names a certificate carries, rendered from a profile for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertNames {
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
    /// The subject's O and OU values, in order (`O=system:nodes`). Not
    /// names a CSR may ask for: [`CertNames::all`] leaves them out.
    pub organization: Vec<String>,
    pub organizational_unit: Vec<String>,
}

impl CertNames {
    /// Every name, for comparing with what a CSR asked for.
    pub fn all(&self) -> Vec<String> {
        let mut all = vec![self.common_name.clone()];
        let others = self.dns_names.iter().cloned();
        for name in others.chain(self.ip_addresses.iter().map(|ip| ip.to_string())) {
            if !all.contains(&name) {
                all.push(name);
            }
        }
        all
    }
}

/// A certificate just signed.
pub(super) struct Signed {
    pub pem: String,
    /// Lower-case hex, as `openssl x509 -serial` shows it (without colons).
    pub serial: String,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub sha256: String,
}

/// A CA loaded with its private key, ready to sign.
pub struct Signer {
    name: String,
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    /// The CA certificate's not-after: no leaf outlives it.
    not_after: OffsetDateTime,
}

impl Signer {
    pub fn new(name: &str, cert_pem: String, key_pem: &str) -> Result<Signer> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| {
            Error::new(format!("cannot read the key of CA `{name}`")).with_source(e)
        })?;
        let unreadable = || Error::new(format!("cannot read the certificate of CA `{name}`"));
        let issuer =
            Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| unreadable().with_source(e))?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
            .map_err(|e| unreadable().with_source(e))?;
        let cert = pem.parse_x509().map_err(|e| unreadable().with_source(e))?;
        let not_after = cert.validity().not_after.to_datetime();
        Ok(Signer {
            name: name.to_string(),
            issuer,
            cert_pem,
            not_after,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA as rcgen signs with it, for [`super::crl`].
    pub(super) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// Signs a leaf certificate for `key` with `names` and `usages`. The
    /// policy is [`super::issue`]'s, which alone calls this.
    pub(super) fn sign(
        &self,
        key: &impl PublicKeyData,
        names: &CertNames,
        usages: &[Usage],
        validity: std::time::Duration,
        rsa: bool,
    ) -> Result<Signed> {
        let mut params = CertificateParams::default();
        let subject = subject_of(names);
        // rcgen keeps one value per type; a subject with more is written
        // below.
        let repeated = |ty: u8| subject.iter().filter(|(t, _)| *t == ty).count() > 1;
        let rewrite = repeated(der::O) || repeated(der::OU);
        let mut dn = DistinguishedName::new();
        if !rewrite {
            for (ty, value) in &subject {
                dn.push(der::dn_type(*ty), value.as_str());
            }
        }
        params.distinguished_name = dn;
        for dns in &names.dns_names {
            let dns = dns
                .clone()
                .try_into()
                .map_err(|_| Error::new(format!("{dns:?} is not a DNS name")))?;
            params.subject_alt_names.push(SanType::DnsName(dns));
        }
        params
            .subject_alt_names
            .extend(names.ip_addresses.iter().map(|ip| SanType::IpAddress(*ip)));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if rsa {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = usages
            .iter()
            .map(|u| match u {
                Usage::ServerAuth => ExtendedKeyUsagePurpose::ServerAuth,
                Usage::ClientAuth => ExtendedKeyUsagePurpose::ClientAuth,
            })
            .collect();
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::minutes(5);
        params.not_after = self.not_after_from(now, validity)?;
        let serial = random_serial()?;
        params.serial_number = Some(serial.clone());

        let cannot =
            |e: rcgen::Error| Error::new(format!("CA `{}` cannot sign", self.name)).with_source(e);
        let cert = params.signed_by(key, &self.issuer).map_err(cannot)?;
        let (der, pem) = if rewrite {
            let der = der::with_subject(cert.der(), &der::name(&subject), self.issuer.key())
                .map_err(|e| e.note(format!("CA `{}` signing", self.name)))?;
            let pem = der::pem(&der);
            (der, pem)
        } else {
            (cert.der().to_vec(), cert.pem())
        };
        Ok(Signed {
            pem,
            serial: hex(serial.as_ref()),
            not_after: params.not_after,
            sha256: sha256_hex(&der),
        })
    }

    /// `validity` from `now`, or the CA's own end when that comes first;
    /// refused when that leaves less than [`super::Profile::MIN_VALIDITY`].
    fn not_after_from(
        &self,
        now: OffsetDateTime,
        validity: std::time::Duration,
    ) -> Result<OffsetDateTime> {
        let wanted = Duration::try_from(validity)
            .ok()
            .and_then(|d| now.checked_add(d))
            .unwrap_or(self.not_after);
        let not_after = wanted.min(self.not_after);
        let min = Duration::try_from(super::Profile::MIN_VALIDITY).expect("a minute fits");
        if not_after - now < min {
            return Err(Error::new(format!(
                "CA `{}` expires at {}: it can no longer sign a certificate that outlives a \
                 minute; make a new CA",
                self.name,
                crate::values::rfc3339(self.not_after)
            )));
        }
        Ok(not_after)
    }
}

/// The subject of a leaf, as attribute types (`der::O`, `der::OU`,
/// `der::CN`) and values, in the order of the certificate: O, OU, CN.
fn subject_of(names: &CertNames) -> Vec<(u8, String)> {
    let o = names.organization.iter().map(|v| (der::O, v.clone()));
    let ou = names
        .organizational_unit
        .iter()
        .map(|v| (der::OU, v.clone()));
    o.chain(ou)
        .chain([(der::CN, names.common_name.clone())])
        .collect()
}

/// The little DER that rcgen cannot write: a subject with several values
/// of one type, put into a certificate rcgen made, which is signed again.
mod der {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use rcgen::{DnType, KeyPair, SigningKey};

    use crate::error::{Error, Result};

    /// The last arc of the attribute types `2.5.4.x` a leaf's subject has.
    pub const CN: u8 = 3;
    pub const O: u8 = 10;
    pub const OU: u8 = 11;

    pub fn dn_type(ty: u8) -> DnType {
        match ty {
            O => DnType::OrganizationName,
            OU => DnType::OrganizationalUnitName,
            _ => DnType::CommonName,
        }
    }

    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    const UTF8_STRING: u8 = 0x0c;
    const BIT_STRING: u8 = 0x03;
    const VERSION: u8 = 0xa0;

    /// A tag, a definite length and `content`.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// The first element of `input` (one-byte tags only, as in a
    /// certificate's outer levels): (the whole element, its content, the
    /// rest of `input`).
    fn split(input: &[u8]) -> Result<(&[u8], &[u8], &[u8])> {
        let bad = || Error::new("cannot rewrite the certificate's subject: unexpected DER");
        let (&first, rest) = input.split_first().ok_or_else(bad)?;
        if first & 0x1f == 0x1f {
            return Err(bad());
        }
        let (&len0, rest) = rest.split_first().ok_or_else(bad)?;
        let (len, header) = if len0 < 0x80 {
            (usize::from(len0), 2)
        } else {
            let n = usize::from(len0 & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(bad());
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        };
        let end = header
            .checked_add(len)
            .filter(|&e| e <= input.len())
            .ok_or_else(bad)?;
        Ok((&input[..end], &input[header..end], &input[end..]))
    }

    /// A Name of one attribute per RDN, each value a UTF8String (as rcgen
    /// writes a `&str`).
    pub fn name(attributes: &[(u8, String)]) -> Vec<u8> {
        let mut rdns = Vec::new();
        for (ty, value) in attributes {
            let mut atv = tlv(OID, &[0x55, 0x04, *ty]);
            atv.extend(tlv(UTF8_STRING, value.as_bytes()));
            rdns.extend(tlv(SET, &tlv(SEQUENCE, &atv)));
        }
        tlv(SEQUENCE, &rdns)
    }

    /// `cert` with its subject replaced by `subject` (a DER Name) and
    /// signed again by `key`, which signed `cert`.
    pub fn with_subject(cert: &[u8], subject: &[u8], key: &KeyPair) -> Result<Vec<u8>> {
        let (_, certificate, _) = split(cert)?;
        let (_, tbs, rest) = split(certificate)?;
        let (algorithm, _, _) = split(rest)?;
        let mut fields = Vec::new();
        let mut input = tbs;
        while !input.is_empty() {
            let (field, _, rest) = split(input)?;
            fields.push(field);
            input = rest;
        }
        // version, serial, signature, issuer, validity, subject, ...
        if fields.len() < 7 || fields[0].first() != Some(&VERSION) {
            return Err(Error::new(
                "cannot rewrite the certificate's subject: not a v3 certificate",
            ));
        }
        fields[5] = subject;
        let tbs = tlv(SEQUENCE, &fields.concat());
        let signature = key
            .sign(&tbs)
            .map_err(|e| Error::new("cannot sign the certificate").with_source(e))?;
        let mut bits = vec![0u8];
        bits.extend(signature);
        let mut out = tbs;
        out.extend_from_slice(algorithm);
        out.extend(tlv(BIT_STRING, &bits));
        Ok(tlv(SEQUENCE, &out))
    }

    /// PEM, as rcgen writes it: lines of 64 characters, LF.
    pub fn pem(der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, DnType, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PKCS_RSA_SHA256};
    use x509_parser::prelude::{FromDer, X509Certificate};

    use super::*;

    /// A CA of `alg` that ends `days` from now.
    fn ca(alg: &'static rcgen::SignatureAlgorithm, days: i64) -> Signer {
        let key = KeyPair::generate_for(alg).unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(days);
        let cert = params.self_signed(&key).unwrap();
        Signer::new("test", cert.pem(), &key.serialize_pem()).unwrap()
    }

    fn names(organization: &[&str], organizational_unit: &[&str]) -> CertNames {
        CertNames {
            common_name: "system:node:node1".into(),
            dns_names: vec!["node1".into()],
            organization: organization.iter().map(|s| s.to_string()).collect(),
            organizational_unit: organizational_unit.iter().map(|s| s.to_string()).collect(),
            ..CertNames::default()
        }
    }

    fn sign(signer: &Signer, names: &CertNames, validity: std::time::Duration) -> Signed {
        let leaf = KeyPair::generate().unwrap();
        signer
            .sign(&leaf, names, &[Usage::ClientAuth], validity, false)
            .unwrap()
    }

    /// The subject's attributes as (short name, value), in order; and
    /// whether the CA's signature verifies.
    fn subject(signer: &Signer, pem: &str) -> (Vec<(String, String)>, bool) {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        let (_, cert) = X509Certificate::from_der(&pem.contents).unwrap();
        let (_, ca_pem) = x509_parser::pem::parse_x509_pem(signer.cert_pem().as_bytes()).unwrap();
        let (_, ca) = X509Certificate::from_der(&ca_pem.contents).unwrap();
        let verifies = cert.verify_signature(Some(ca.public_key())).is_ok();
        let attributes = cert
            .subject()
            .iter_attributes()
            .map(|a| {
                let short = match a.attr_type().to_id_string().as_str() {
                    "2.5.4.3" => "CN".to_string(),
                    "2.5.4.10" => "O".to_string(),
                    "2.5.4.11" => "OU".to_string(),
                    other => other.to_string(),
                };
                (short, a.as_str().unwrap().to_string())
            })
            .collect();
        (attributes, verifies)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(t, v)| (t.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_o_and_ou_value_is_in_the_subject_and_the_signature_holds() {
        for alg in [&PKCS_ECDSA_P256_SHA256, &PKCS_ED25519, &PKCS_RSA_SHA256] {
            let signer = ca(alg, 3650);
            let day = std::time::Duration::from_secs(86400);
            // Several values of a type: the subject rcgen cannot write.
            let many = names(&["system:nodes", "ops"], &["a", "b", "c"]);
            let signed = sign(&signer, &many, day);
            let (attributes, verifies) = subject(&signer, &signed.pem);
            let want = pairs(&[
                ("O", "system:nodes"),
                ("O", "ops"),
                ("OU", "a"),
                ("OU", "b"),
                ("OU", "c"),
                ("CN", "system:node:node1"),
            ]);
            assert_eq!(attributes, want, "{alg:?}");
            assert!(
                verifies,
                "{alg:?}: the re-signed certificate does not verify"
            );
            let der = x509_parser::pem::parse_x509_pem(signed.pem.as_bytes())
                .unwrap()
                .1
                .contents;
            assert_eq!(signed.sha256, sha256_hex(&der));

            // One of each, and none: rcgen's own subject, in the same order.
            let one = sign(&signer, &names(&["system:nodes"], &["a"]), day);
            let want = pairs(&[
                ("O", "system:nodes"),
                ("OU", "a"),
                ("CN", "system:node:node1"),
            ]);
            assert_eq!(subject(&signer, &one.pem), (want, true));
            let none = sign(&signer, &names(&[], &[]), day);
            let want = pairs(&[("CN", "system:node:node1")]);
            assert_eq!(subject(&signer, &none.pem), (want, true));
        }
    }

    #[test]
    fn a_leaf_lives_its_validity_but_never_past_its_ca() {
        let signer = ca(&PKCS_ECDSA_P256_SHA256, 10);
        let now = OffsetDateTime::now_utc();
        let ten_minutes = std::time::Duration::from_secs(600);
        let signed = sign(&signer, &names(&[], &[]), ten_minutes);
        let lifetime = signed.not_after - now;
        assert!(
            lifetime > Duration::seconds(595) && lifetime <= Duration::seconds(601),
            "{lifetime}"
        );
        // A year asked of a CA with 10 days left: 10 days.
        let year = std::time::Duration::from_secs(365 * 86400);
        let signed = sign(&signer, &names(&[], &[]), year);
        assert_eq!(signed.not_after, signer.not_after);
        // A CA that ends within the minute signs nothing.
        let ending = ca(&PKCS_ECDSA_P256_SHA256, 0);
        let leaf = KeyPair::generate().unwrap();
        let err = ending
            .sign(&leaf, &names(&[], &[]), &[Usage::ClientAuth], year, false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("make a new CA"), "{err}");
    }
}
