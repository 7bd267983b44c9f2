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

use crate::contract::{CaItem, CertItem, CsrItem, EnrollAnswer, EnrollRequest};
use crate::error::{Error, Kind, Result};
use crate::inventory::Host;
use crate::pki::identity::IDENTITY;
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
    /// The pseudo-profile of host identities (`pki::identity`).
    pub identity: &'a Profile,
    pub signers: &'a BTreeMap<String, Signer>,
    /// Every CA, the identity CA included.
    pub cas: &'a [CaCert],
}

/// What a request may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Each of the host's profiles once, and its identity if it likes
    /// (hosts whose configs predate identities send none).
    Enroll,
    /// Any of the host's profiles and its identity, at least one.
    Renew,
}

impl Authority<'_> {
    /// Checks `request` against `host`'s profiles and signs each CSR.
    /// `names` gives the names of the host's certificate of a profile.
    pub fn issue(
        &self,
        host: &Host,
        csrs: &[CsrItem],
        scope: Scope,
        mut names: impl FnMut(&Profile) -> Result<CertNames>,
    ) -> std::result::Result<Issuance, Rejection> {
        let csrs = self.check_request(host, csrs, scope)?;
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
        let csrs = self.check_request(host, &request.csrs, Scope::Enroll)?;
        let keys: Vec<(&str, String)> = csrs
            .iter()
            .map(|(profile, csr)| (profile.name.as_str(), csr.key.sha256()))
            .collect();
        let same = replay.matches(keys.iter().map(|(p, k)| (*p, k.as_str())));
        Ok(same.then(|| self.answer(host, &replay.delivered)))
    }

    /// The profile called `name`, the identity included.
    fn profile(&self, name: &str) -> &Profile {
        if name == IDENTITY {
            self.identity
        } else {
            &self.profiles[name]
        }
    }

    /// Checks that `csrs` ask for what `scope` allows of `host`'s profiles,
    /// each once, with a sound CSR each.
    fn check_request<'p>(
        &'p self,
        host: &Host,
        csrs: &[CsrItem],
        scope: Scope,
    ) -> std::result::Result<Vec<(&'p Profile, CheckedCsr)>, Rejection> {
        let mut seen = HashSet::new();
        if csrs.is_empty() && scope == Scope::Renew {
            return Err(Rejection::BadRequest(
                "no CSR: name at least one profile to renew".into(),
            ));
        }
        for item in csrs {
            // Only a host with profiles has an identity: nothing to renew
            // otherwise.
            let identity = item.profile == IDENTITY && !host.profiles.is_empty();
            if !identity && !host.profiles.contains(&item.profile) {
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
        let missing = host.profiles.iter().find(|p| !seen.contains(p.as_str()));
        if let (Scope::Enroll, Some(missing)) = (scope, missing) {
            return Err(Rejection::BadRequest(format!(
                "no CSR for profile `{missing}`; send one for each of: {}",
                host.profiles.join(", ")
            )));
        }

        let mut checked = Vec::with_capacity(csrs.len());
        for item in csrs {
            let profile = self.profile(&item.profile);
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
