//! The one issuance path: every certificate coregen issues (`coregen sign`,
//! first-boot enrollment, `serve`'s own) goes through here and comes out
//! with its audit record, which the caller commits before the certificate
//! leaves coregen.
//!
//! A leaf is issued in two steps, checked then signed, so that a request
//! for several certificates is refused before any is signed:
//! [`LeafRequest::check`] applies the policy (the CA's duty, the profile's
//! key types, and the names policy below) and [`CheckedLeaf::issue`] signs.
//!
//! # Names
//!
//! A certificate carries exactly the names its profile renders for the
//! host, never a name taken from the CSR. A CSR may ask for some of those
//! names, or for the host's own name or FQDN, or for none; a CSR that asks
//! for any other name is refused, since it was made for another host or
//! another purpose. The same rule holds for `coregen sign` and for
//! `POST /v1/enroll`.

use rcgen::KeyPair;
use serde::Serialize;
use time::OffsetDateTime;

use super::sign::Signed;
use super::{CertNames, CheckedCsr, Profile, Signer, Usage};
use crate::error::{Error, Result};
use crate::values::rfc3339;

/// The profile name that `serve`'s own certificate is recorded under.
pub const SERVER_PROFILE: &str = "coregen-serve";

/// One issued certificate, as the audit log keeps it (`coregen audit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssuedRecord {
    pub issued_at: String,
    pub serial: String,
    pub host: String,
    pub profile: String,
    pub ca: String,
    pub not_after: String,
    pub sha256: String,
    /// For a renewal: the serial of the host's certificate of this profile
    /// that this one replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renews: Option<String>,
}

/// A certificate just issued, with its record.
#[derive(Clone, Debug)]
pub struct Issuance {
    pub pem: String,
    pub record: IssuedRecord,
}

/// The host a leaf certificate is for.
#[derive(Clone, Copy, Debug)]
pub struct Holder<'a> {
    pub name: &'a str,
    pub fqdn: &'a str,
}

/// A leaf certificate asked for: the host's certificate of `profile`,
/// with `names` (rendered from the profile), for the key of `csr`.
pub struct LeafRequest<'a> {
    pub holder: Holder<'a>,
    pub profile: &'a Profile,
    pub names: CertNames,
    pub csr: &'a CheckedCsr,
}

/// A [`LeafRequest`] that passed the policy.
pub struct CheckedLeaf<'a>(LeafRequest<'a>);

impl<'a> LeafRequest<'a> {
    /// Applies the policy. A refusal is an error of kind
    /// [`crate::error::Kind::Refused`] that says what to change.
    pub fn check(self) -> Result<CheckedLeaf<'a>> {
        let profile = self.profile;
        let allowed = self
            .csr
            .key
            .key_type
            .as_ref()
            .is_ok_and(|k| profile.key_types.contains(k));
        if !allowed {
            let names: Vec<&str> = profile.key_types.iter().map(|k| k.as_str()).collect();
            return Err(Error::refused(format!(
                "profile `{}` does not allow {} keys (it allows {})",
                profile.name,
                self.csr.key.type_name(),
                names.join(", ")
            )));
        }
        let mut allowed_names = self.names.all();
        allowed_names.extend([self.holder.name.to_string(), self.holder.fqdn.to_string()]);
        if let Some(other) = self
            .csr
            .requested_names
            .iter()
            .find(|n| !allowed_names.contains(n))
        {
            return Err(Error::refused(format!(
                "the CSR for profile `{}` asks for the name {:?}, which host {} does not have \
                 (its certificate names: {})",
                profile.name,
                crate::values::printable(other),
                self.holder.name,
                self.names.all().join(", ")
            )));
        }
        Ok(CheckedLeaf(self))
    }
}

impl CheckedLeaf<'_> {
    /// Signs with `signer`, which must be the profile's CA.
    pub fn issue(&self, signer: &Signer) -> Result<Issuance> {
        let LeafRequest {
            holder,
            profile,
            names,
            csr,
        } = &self.0;
        if profile.ca != signer.name() {
            return Err(Error::refused(format!(
                "CA `{}` does not sign profile `{}`; only CA `{}` does",
                signer.name(),
                profile.name,
                profile.ca
            )));
        }
        let rsa = csr.key.key_type.as_ref().is_ok_and(|k| k.is_rsa());
        let signed = signer
            .sign(&csr.key, names, &profile.usages, profile.validity, rsa)
            .map_err(|e| e.note(format!("in profile `{}`", profile.name)))?;
        Ok(signed.into_issuance(holder.name, &profile.name, signer.name()))
    }

    pub fn names(&self) -> &CertNames {
        &self.0.names
    }
}

/// `serve`'s own certificate, for `key`, recorded under
/// [`SERVER_PROFILE`] and the name it is issued to.
pub fn issue_server(
    signer: &Signer,
    key: &KeyPair,
    names: &CertNames,
    days: u32,
) -> Result<Issuance> {
    let validity = std::time::Duration::from_secs(u64::from(days) * 86400);
    let signed = signer.sign(key, names, &[Usage::ServerAuth], validity, false)?;
    Ok(signed.into_issuance(&names.common_name, SERVER_PROFILE, signer.name()))
}

impl Signed {
    /// The certificate with its audit record.
    fn into_issuance(self, host: &str, profile: &str, ca: &str) -> Issuance {
        Issuance {
            record: IssuedRecord {
                issued_at: rfc3339(OffsetDateTime::now_utc()),
                serial: self.serial,
                host: host.to_string(),
                profile: profile.to_string(),
                ca: ca.to_string(),
                not_after: rfc3339(self.not_after),
                sha256: self.sha256,
                renews: None,
            },
            pem: self.pem,
        }
    }
}
