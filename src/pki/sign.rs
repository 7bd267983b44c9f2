//! Issuing a leaf certificate: a checked CSR's public key, with everything
//! else (subject, names, usages, validity) from the host's profile.

use std::net::IpAddr;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::ca::random_serial;
use super::csr::CheckedCsr;
use super::{KeyType, Profile, Usage};
use crate::error::{Error, Result};

/// The names a certificate carries, rendered from a profile for one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertNames {
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
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

/// A CA loaded with its private key, ready to sign.
pub struct Signer {
    name: String,
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

/// A certificate just issued, with what the audit log records of it.
#[derive(Clone, Debug)]
pub struct Issued {
    pub pem: String,
    /// Lower-case hex, as `openssl x509 -serial` shows it (without colons).
    pub serial: String,
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub sha256: String,
}

impl Signer {
    pub fn new(name: &str, cert_pem: String, key_pem: &str) -> Result<Signer> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| {
            Error::new(format!("cannot read the key of CA `{name}`")).with_source(e)
        })?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| {
            Error::new(format!("cannot read the certificate of CA `{name}`")).with_source(e)
        })?;
        Ok(Signer {
            name: name.to_string(),
            issuer,
            cert_pem,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs `csr` under `profile`. Refuses a profile of another CA (the
    /// separation of duties) and a key type the profile does not allow.
    pub fn sign(&self, csr: &CheckedCsr, profile: &Profile, names: &CertNames) -> Result<Issued> {
        if profile.ca != self.name {
            return Err(Error::new(format!(
                "CA `{}` does not sign profile `{}`; only CA `{}` does",
                self.name, profile.name, profile.ca
            )));
        }
        let allowed = match &csr.key.key_type {
            Ok(key_type) => profile.key_types.contains(key_type),
            Err(_) => false,
        };
        if !allowed {
            let names: Vec<&str> = profile.key_types.iter().map(|k| k.as_str()).collect();
            return Err(Error::new(format!(
                "profile `{}` does not allow {} keys (it allows {})",
                profile.name,
                csr.key.type_name(),
                names.join(", ")
            )));
        }

        let rsa = matches!(
            csr.key.key_type,
            Ok(KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
        );
        self.issue(&csr.key, names, &profile.usages, profile.validity_days, rsa)
            .map_err(|e| e.note(format!("in profile `{}`", profile.name)))
    }

    /// A server certificate for `coregen serve` itself, for `key`.
    pub fn sign_server(&self, key: &KeyPair, names: &CertNames, days: u32) -> Result<Issued> {
        self.issue(key, names, &[Usage::ServerAuth], days, false)
    }

    fn issue(
        &self,
        key: &impl PublicKeyData,
        names: &CertNames,
        usages: &[Usage],
        validity_days: u32,
        rsa: bool,
    ) -> Result<Issued> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names.common_name.as_str());
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
        params.not_after = now + Duration::days(i64::from(validity_days));
        let serial = random_serial()?;
        params.serial_number = Some(serial.clone());

        let cert = params
            .signed_by(key, &self.issuer)
            .map_err(|e| Error::new(format!("CA `{}` cannot sign", self.name)).with_source(e))?;
        Ok(Issued {
            pem: cert.pem(),
            serial: hex(serial.as_ref()),
            not_after: params.not_after,
            sha256: hex(&Sha256::digest(cert.der())),
        })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
