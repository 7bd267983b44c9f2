//! `POST /v1/enroll`: the request and answer formats, and the checks and
//! signing between them.
//!
//! This part knows nothing of HTTP or of tokens: by the time it runs, the
//! token has named the host. It checks that the request asks for exactly
//! the host's profiles, each with a sound CSR of an allowed key type that
//! asks for no name the host does not have, and signs them. The caller
//! commits the records (and spends the token) before answering.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::inventory::Host;
use crate::pki::{CaCert, CertNames, IssuedRecord, Profile, Signer, check_csr, rfc3339};

/// `{"csrs": [{"profile": "etcd-peer", "csr": "-----BEGIN CERTIFICATE REQUEST-----..."}]}`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub csrs: Vec<CsrItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrItem {
    pub profile: String,
    /// PEM.
    pub csr: String,
}

/// The answer. Its strings never hold `"`, `,`, `[`, `]`, `{` or `}`
/// (they are PEM, names, hex and times), which lets the host's shell
/// script read it without a JSON parser.
#[derive(Debug, Serialize)]
pub struct EnrollAnswer {
    pub host: String,
    pub certificates: Vec<CertItem>,
    pub ca_certificates: Vec<CaItem>,
}

#[derive(Debug, Serialize)]
pub struct CertItem {
    pub profile: String,
    pub ca: String,
    pub serial: String,
    pub not_after: String,
    pub sha256: String,
    pub certificate: String,
}

#[derive(Debug, Serialize)]
pub struct CaItem {
    pub name: String,
    pub certificate: String,
}

/// Why a request is refused: the client's fault (400), against policy
/// (403), or coregen's own trouble (500, details only in the log).
#[derive(Debug)]
pub enum Rejection {
    BadRequest(String),
    Forbidden(String),
    Internal(Error),
}

/// The certificates issued for a request, with their audit records.
pub struct Issuance {
    pub records: Vec<IssuedRecord>,
    pub answer: EnrollAnswer,
}

pub struct Authority<'a> {
    pub profiles: &'a BTreeMap<String, Profile>,
    pub signers: &'a BTreeMap<String, Signer>,
    pub cas: &'a [CaCert],
}

impl Authority<'_> {
    /// Checks `request` against `host`'s profiles and signs each CSR.
    /// `names` gives the names of the host's certificate of a profile.
    pub fn issue(
        &self,
        host: &Host,
        request: &EnrollRequest,
        mut names: impl FnMut(&Profile) -> Result<CertNames>,
    ) -> std::result::Result<Issuance, Rejection> {
        let mut seen = HashSet::new();
        for item in &request.csrs {
            if !host.profiles.contains(&item.profile) {
                return Err(Rejection::Forbidden(format!(
                    "host {} has no certificate profile `{}`",
                    host.name,
                    printable(&item.profile)
                )));
            }
            if !seen.insert(item.profile.as_str()) {
                return Err(Rejection::BadRequest(format!(
                    "two CSRs for profile `{}`",
                    item.profile
                )));
            }
        }
        if let Some(missing) = host.profiles.iter().find(|p| !seen.contains(p.as_str())) {
            return Err(Rejection::BadRequest(format!(
                "no CSR for profile `{missing}`; send one for each of: {}",
                host.profiles.join(", ")
            )));
        }

        let mut checked = Vec::with_capacity(request.csrs.len());
        for item in &request.csrs {
            let profile = &self.profiles[&item.profile];
            let csr = check_csr(item.csr.as_bytes()).map_err(|msg| {
                Rejection::BadRequest(format!("profile `{}`: {msg}", profile.name))
            })?;
            let allowed = csr
                .key
                .key_type
                .as_ref()
                .is_ok_and(|k| profile.key_types.contains(k));
            if !allowed {
                return Err(Rejection::Forbidden(format!(
                    "profile `{}` does not allow {} keys",
                    profile.name,
                    csr.key.type_name()
                )));
            }
            let cert_names = names(profile).map_err(Rejection::Internal)?;
            let mut allowed_names = cert_names.all();
            allowed_names.extend([host.name.to_string(), host.fqdn.clone()]);
            if let Some(other) = csr
                .requested_names
                .iter()
                .find(|n| !allowed_names.contains(n))
            {
                return Err(Rejection::Forbidden(format!(
                    "the CSR for profile `{}` asks for the name {:?}, which host {} does not have",
                    profile.name,
                    printable(other),
                    host.name
                )));
            }
            checked.push((profile, csr, cert_names));
        }

        let now = OffsetDateTime::now_utc();
        let mut records = Vec::with_capacity(checked.len());
        let mut certificates = Vec::with_capacity(checked.len());
        for (profile, csr, cert_names) in checked {
            let signer = &self.signers[&profile.ca];
            let issued = signer
                .sign(&csr, profile, &cert_names)
                .map_err(Rejection::Internal)?;
            let not_after = rfc3339(issued.not_after);
            records.push(IssuedRecord {
                issued_at: rfc3339(now),
                serial: issued.serial.clone(),
                host: host.name.to_string(),
                profile: profile.name.clone(),
                ca: profile.ca.clone(),
                not_after: not_after.clone(),
                sha256: issued.sha256.clone(),
            });
            certificates.push(CertItem {
                profile: profile.name.clone(),
                ca: profile.ca.clone(),
                serial: issued.serial,
                not_after,
                sha256: issued.sha256,
                certificate: issued.pem,
            });
        }
        let mut cas: Vec<&str> = certificates.iter().map(|c| c.ca.as_str()).collect();
        cas.sort_unstable();
        cas.dedup();
        let ca_certificates = cas
            .into_iter()
            .filter_map(|name| self.cas.iter().find(|c| c.name == name))
            .map(|ca| CaItem {
                name: ca.name.clone(),
                certificate: ca.pem.clone(),
            })
            .collect();
        Ok(Issuance {
            records,
            answer: EnrollAnswer {
                host: host.name.to_string(),
                certificates,
                ca_certificates,
            },
        })
    }
}

/// Untrusted text for an error message: short, and without control
/// characters.
fn printable(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
