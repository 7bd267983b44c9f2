//! A CA loaded with its key, and the X.509 of a leaf certificate: a public
//! key with names, usages and a validity. Which key may get which names and
//! usages is [`super::issue`]'s policy; this module only signs.

use std::net::IpAddr;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType,
};
use time::{Duration, OffsetDateTime};

use super::Usage;
use super::serial::{hex, random_serial, sha256_hex};
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
        validity_days: u32,
        rsa: bool,
    ) -> Result<Signed> {
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
        Ok(Signed {
            pem: cert.pem(),
            serial: hex(serial.as_ref()),
            not_after: params.not_after,
            sha256: sha256_hex(cert.der()),
        })
    }
}
