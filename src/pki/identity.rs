//! Host identities: a client-auth certificate per host, from a CA of its
//! own, with which a host proves who it is when it renews.
//!
//! A host gets its identity certificate at first enrollment, beside its
//! profiles' certificates: it sends a CSR under the pseudo-profile
//! [`IDENTITY`], and the certificate names the host (CN) and allows
//! client-auth only. The `identity` CA signs nothing else and is never
//! declared in `cluster.toml`, so no other certificate, and no other
//! duty, can stand in for an identity. Its key never leaves `pki/` and its
//! certificate is not installed on hosts: only `serve` checks it. The
//! identity renews over the channel it opens, like any profile.

use super::{CaSpec, KeyType, Profile, RenewAt, Usage};
use crate::values::AbsPath;

/// The identity CA's name, and the pseudo-profile its certificates are
/// issued and recorded under. Reserved: the inventory may use it for
/// neither a CA nor a profile.
pub const IDENTITY: &str = "identity";

/// How long an identity certificate lives. It renews with the host's other
/// certificates, so a host that is off for longer than this needs
/// `coregen host reset` and a fresh enrollment.
pub const IDENTITY_VALIDITY: std::time::Duration = std::time::Duration::from_secs(90 * 86400);

/// Where the host keeps its identity.
pub const IDENTITY_KEY: &str = "/var/lib/coregen/identity.key";
pub const IDENTITY_CERT: &str = "/var/lib/coregen/identity.crt";
pub const IDENTITY_CA_CERT: &str = "/var/lib/coregen/identity-ca.crt";

/// The identity CA: P-256, ten years, client-auth only.
pub fn ca_spec() -> CaSpec {
    CaSpec {
        key_type: KeyType::EcdsaP256,
        validity_days: CaSpec::DEFAULT_VALIDITY_DAYS,
        usages: vec![Usage::ClientAuth],
    }
}

/// The pseudo-profile of identity certificates.
pub fn profile() -> Profile {
    let path = |p: &str| p.parse::<AbsPath>().expect("a constant absolute path");
    Profile {
        name: IDENTITY.to_string(),
        ca: IDENTITY.to_string(),
        usages: vec![Usage::ClientAuth],
        common_name: "{{host.name}}".to_string(),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        organization: Vec::new(),
        organizational_unit: Vec::new(),
        key_types: KeyType::ALL.to_vec(),
        validity: IDENTITY_VALIDITY,
        renew_at: RenewAt::DEFAULT,
        reload: Vec::new(),
        key_path: path(IDENTITY_KEY),
        cert_path: path(IDENTITY_CERT),
        ca_path: path(IDENTITY_CA_CERT),
    }
}

/// The host an identity certificate names, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub host: String,
    /// Lower-case hex, as the audit keeps serials.
    pub serial: String,
}

/// Why an identity certificate is refused. Each says what the host (or its
/// operator) can do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    Unreadable,
    /// Not signed by the identity CA: another CA's certificate, or forged.
    NotIdentity,
    Expired {
        not_after: String,
    },
    NotYetValid,
    NoHost,
}

impl Refused {
    pub fn message(&self) -> String {
        match self {
            Refused::Unreadable => "the client certificate cannot be read".into(),
            Refused::NotIdentity => "the client certificate is not a host identity from coregen's \
                 identity CA; renew with the identity certificate that enrollment gave the host"
                .into(),
            Refused::Expired { not_after } => format!(
                "the identity certificate expired at {not_after}; the host must enroll again \
                 (`coregen host reset <host>`, then a fresh config)"
            ),
            Refused::NotYetValid => "the identity certificate is not valid yet".into(),
            Refused::NoHost => "the identity certificate names no host".into(),
        }
    }
}

/// Checks `cert` (DER) against the identity CA (`ca`, DER) at `now` (Unix
/// seconds): signed by it, within its validity, naming a host. The caller
/// checks the host (in the inventory, not retired) and the serial (not
/// revoked) against what it knows.
pub fn verify(cert: &[u8], ca: &[u8], now: i64) -> Result<Identity, Refused> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, ca) = X509Certificate::from_der(ca).map_err(|_| Refused::NotIdentity)?;
    let (rest, cert) = X509Certificate::from_der(cert).map_err(|_| Refused::Unreadable)?;
    if !rest.is_empty() {
        return Err(Refused::Unreadable);
    }
    if cert.issuer() != ca.subject() || cert.verify_signature(Some(ca.public_key())).is_err() {
        return Err(Refused::NotIdentity);
    }
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return Err(Refused::NotYetValid);
    }
    if now > validity.not_after.timestamp() {
        let not_after = time::OffsetDateTime::from_unix_timestamp(validity.not_after.timestamp())
            .map_or_else(|_| "?".into(), crate::values::rfc3339);
        return Err(Refused::Expired { not_after });
    }
    let host = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or(Refused::NoHost)?;
    Ok(Identity {
        host: host.to_string(),
        serial: super::hex(cert.raw_serial()),
    })
}
