//! `POST /v1/enroll`: the request and answer formats, and the checks and
//! signing between them.
//!
//! This part knows nothing of HTTP or of tokens: by the time it runs, the
//! token has named the host. It checks that the request asks for exactly
//! the host's profiles, each with a sound CSR of an allowed key type that
//! asks for no name the host does not have, and signs them. The caller
//! commits the records (and spends the token) before answering.

use std::collections::{BTreeMap, HashSet};

use crate::contract::{CaItem, CertItem, EnrollAnswer, EnrollRequest};
use crate::error::{Error, Kind, Result};
use crate::inventory::Host;
use crate::pki::{
    CaCert, CertNames, Holder, IssuedRecord, LeafRequest, Profile, Signer, check_csr, printable,
};

/// Why a request is refused: the client's fault (400), against policy
/// (403), or coregen's own trouble (500, details only in the log).
#[derive(Debug)]
pub enum Rejection {
    BadRequest(String),
    Forbidden(String),
    Internal(Error),
}

impl From<Error> for Rejection {
    /// By the error's kind.
    fn from(e: Error) -> Rejection {
        match e.kind() {
            Kind::Invalid => Rejection::BadRequest(e.to_string()),
            Kind::Refused => Rejection::Forbidden(e.to_string()),
            Kind::Failed | Kind::Differs => Rejection::Internal(e),
        }
    }
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
            let in_profile = |e: Error| e.note(format!("profile `{}`", profile.name));
            let csr = check_csr(item.csr.as_bytes()).map_err(|e| Rejection::from(in_profile(e)))?;
            let names = names(profile).map_err(Rejection::Internal)?;
            checked.push((profile, csr, names));
        }
        // Every CSR passes the policy before any is signed.
        let holder = Holder {
            name: host.name.as_str(),
            fqdn: &host.fqdn,
        };
        let leaves = checked
            .iter()
            .map(|(profile, csr, names)| {
                LeafRequest {
                    holder,
                    profile,
                    names: names.clone(),
                    csr,
                }
                .check()
                .map_err(Rejection::from)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;

        let mut records = Vec::with_capacity(leaves.len());
        let mut certificates = Vec::with_capacity(leaves.len());
        for (leaf, (profile, _, _)) in leaves.iter().zip(&checked) {
            let issued = leaf
                .issue(&self.signers[&profile.ca])
                .map_err(Rejection::from)?;
            certificates.push(CertItem {
                profile: profile.name.clone(),
                ca: profile.ca.clone(),
                serial: issued.record.serial.clone(),
                not_after: issued.record.not_after.clone(),
                sha256: issued.record.sha256.clone(),
                certificate: issued.pem,
            });
            records.push(issued.record);
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
