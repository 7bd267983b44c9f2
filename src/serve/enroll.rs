//! `POST /v1/enroll`: the request and answer formats, and the checks and
//! signing between them.
//!
//! This part knows nothing of HTTP or of tokens: by the time it runs, the
//! token has named the host. It checks that the request asks for exactly
//! the host's profiles, each with a sound CSR of an allowed key type that
//! asks for no name the host does not have, and signs them. The caller
//! commits the records (and spends the token) before answering. A retry
//! whose answer was lost ([`Authority::replay`]) gets the certificates
//! already issued, when its CSRs are for the same keys, and nothing new.

use std::collections::{BTreeMap, HashSet};

use crate::contract::{CaItem, CertItem, EnrollAnswer, EnrollRequest};
use crate::error::{Error, Kind, Result};
use crate::inventory::Host;
use crate::pki::{CaCert, CertNames, CheckedCsr, Holder, LeafRequest, Profile, Signer, check_csr};
use crate::state::{Delivered, Replay};
use crate::values::printable;

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
    pub delivered: Vec<Delivered>,
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
        let csrs = self.check_request(host, request)?;
        let mut checked = Vec::with_capacity(csrs.len());
        for (profile, csr) in csrs {
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

        let mut delivered = Vec::with_capacity(leaves.len());
        for (leaf, (profile, csr, _)) in leaves.iter().zip(&checked) {
            let issued = leaf
                .issue(&self.signers[&profile.ca])
                .map_err(Rejection::from)?;
            delivered.push(Delivered {
                record: issued.record,
                key_sha256: csr.key.sha256(),
                certificate: issued.pem,
            });
        }
        Ok(Issuance {
            answer: self.answer(host, &delivered),
            delivered,
        })
    }

    /// The answer already given under `replay`'s token, when `request` is
    /// for the same profiles and keys (each CSR still checked: it proves
    /// the key is held). None when it is not the same request.
    pub fn replay(
        &self,
        host: &Host,
        request: &EnrollRequest,
        replay: &Replay,
    ) -> std::result::Result<Option<EnrollAnswer>, Rejection> {
        let csrs = self.check_request(host, request)?;
        let keys: Vec<(&str, String)> = csrs
            .iter()
            .map(|(profile, csr)| (profile.name.as_str(), csr.key.sha256()))
            .collect();
        let same = replay.matches(keys.iter().map(|(p, k)| (*p, k.as_str())));
        Ok(same.then(|| self.answer(host, &replay.delivered)))
    }

    /// Checks that `request` asks for each of `host`'s profiles once, with
    /// a sound CSR each.
    fn check_request<'p>(
        &'p self,
        host: &Host,
        request: &EnrollRequest,
    ) -> std::result::Result<Vec<(&'p Profile, CheckedCsr)>, Rejection> {
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
            checked.push((profile, csr));
        }
        Ok(checked)
    }

    fn answer(&self, host: &Host, delivered: &[Delivered]) -> EnrollAnswer {
        let certificates: Vec<CertItem> = delivered
            .iter()
            .map(|d| CertItem {
                profile: d.record.profile.clone(),
                ca: d.record.ca.clone(),
                serial: d.record.serial.clone(),
                not_after: d.record.not_after.clone(),
                sha256: d.record.sha256.clone(),
                certificate: d.certificate.clone(),
            })
            .collect();
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
        EnrollAnswer {
            host: host.name.to_string(),
            certificates,
            ca_certificates,
        }
    }
}
