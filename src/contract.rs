//! The enrollment contract: what a host with certificate profiles and
//! coregen agree on. The paths on the host (the enrollment and renewal
//! scripts and their shared library, the settings, the units and timer,
//! the requests under way and the marker of a finished enrollment, where
//! CA certificates and CRLs are installed), the format of
//! `/etc/coregen/enroll.env`, which CA Ignition itself trusts for HTTPS, and
//! the JSON of `POST /v1/enroll` and `POST /v1/renew`.
//!
//! Rendering writes this contract into configs, `serve` answers by it and
//! `boot` points Ignition at it; each imports it from here. It holds data
//! and formats only: no rendering, no checks, no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::{Host, Server};
use crate::pki::Profile;

/// The CA whose certificate Ignition itself trusts for HTTPS fetches.
pub const HTTP_CA: &str = "http";

/// The enrollment script, its settings and its unit, on hosts with profiles,
/// and the built-in template the script comes from.
pub const ENROLL_SCRIPT: &str = "/usr/local/bin/coregen-enroll";
pub const ENROLL_ENV: &str = "/etc/coregen/enroll.env";
pub const ENROLL_UNIT: &str = "coregen-enroll.service";
pub const ENROLL_TEMPLATE: &str = "coregen-enroll";

/// What the enrollment and renewal scripts share (logging, keys, posting
/// with retries, reading the answer), which both source, and its built-in
/// template.
pub const SCRIPT_LIB: &str = "/usr/local/lib/coregen/lib.sh";
pub const SCRIPT_LIB_TEMPLATE: &str = "coregen-lib.sh";

/// The renewal script (built-in template of the same name), its unit and
/// the timer that starts it hourly, on hosts with profiles.
pub const RENEW_SCRIPT: &str = "/usr/local/bin/coregen-renew";
pub const RENEW_TEMPLATE: &str = "coregen-renew";
pub const RENEW_UNIT: &str = "coregen-renew.service";
pub const RENEW_TIMER: &str = "coregen-renew.timer";

/// The new keys and CSRs of a renewal under way (mode 0700), kept until
/// their certificates are installed.
pub const RENEW_PENDING: &str = "/var/lib/coregen/renew-pending";

/// Where the renewal keeps each CA's CRL, `<ca>.crl` (DER), fetched from
/// `serve`'s `/crl/<ca>.crl` and verified against the CA's anchor.
pub const CRL_DIR: &str = "/etc/coregen/crl";

/// The files coregen writes on hosts with profiles from built-in
/// templates: (path, template, mode).
pub const SCRIPT_FILES: [(&str, &str, u32); 3] = [
    (SCRIPT_LIB, SCRIPT_LIB_TEMPLATE, 0o644),
    (ENROLL_SCRIPT, ENROLL_TEMPLATE, 0o755),
    (RENEW_SCRIPT, RENEW_TEMPLATE, 0o755),
];

/// The units coregen writes on hosts with profiles, each from the built-in
/// template of its name: (name, enabled).
pub const UNITS: [(&str, Option<bool>); 3] = [
    (ENROLL_UNIT, Some(true)),
    (RENEW_UNIT, None),
    (RENEW_TIMER, Some(true)),
];

/// The template a file that coregen writes comes from, if it is one.
pub fn template_of_file(path: &str) -> Option<&'static str> {
    SCRIPT_FILES
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, template, _)| *template)
}

/// Whether coregen writes unit `name` itself on hosts with profiles (from
/// the built-in template of that name).
pub fn is_coregen_unit(name: &str) -> bool {
    UNITS.iter().any(|(unit, _)| *unit == name)
}

/// The enrollment marker: the script writes it once every certificate is
/// installed, and only then. A unit that needs the certificates is gated
/// on it (`ConditionPathExists=`), and the enrollment unit is skipped when
/// it exists.
pub const ENROLL_MARKER: &str = "/var/lib/coregen/enrolled";

/// The keys, CSRs and request of an enrollment under way (mode 0700). Made
/// once and kept until the certificates are installed, so that every retry,
/// and a run after a restart or a reboot, sends the same CSRs with the same
/// token; a key is never made anew while a request that carried it might
/// be unanswered.
pub const ENROLL_PENDING: &str = "/var/lib/coregen/pending";

/// Where a CA certificate is installed on the host; `update-ca-trust` picks
/// it up from there.
pub fn ca_anchor_path(ca: &str) -> String {
    format!("/etc/pki/ca-trust/source/anchors/coregen-{ca}.crt")
}

/// `/etc/coregen/enroll.env`: shell assignments that the enrollment script
/// sources. Every value is single-quoted, so no inventory value can run as
/// code there. Per profile `<n>` (from 1): `NAME`, `KEY_TYPE`, `KEY`,
/// `CERT`, `CA`, `TRUST`, `RENEW_AT` (the profile's `renew_at` as a whole
/// percent, 1 to 99, for `[ "$elapsed_percent" -ge "$RENEW_AT" ]`) and
/// `RELOAD` (its `reload` units, separated by one space; empty for none).
pub fn enroll_env(
    host: &Host,
    profiles: &BTreeMap<String, Profile>,
    server: &Server,
    token: &str,
) -> String {
    let mut env = format!(
        "# coregen enrollment settings of {name}, read by {ENROLL_SCRIPT}.\n\
         # The token enrolls this host once; the script wipes it afterwards.\n",
        name = host.name
    );
    let mut set = |key: &str, value: &str| {
        env.push_str(&format!("{key}={}\n", shell_quote(value)));
    };
    set("COREGEN_HOST", host.name.as_str());
    set("COREGEN_URL", server.url.as_str());
    set("COREGEN_TOKEN", token);
    set("COREGEN_TLS_CA", &ca_anchor_path(HTTP_CA));
    set("COREGEN_PROFILE_COUNT", &host.profiles.len().to_string());
    for (i, name) in (1..).zip(&host.profiles) {
        let profile = &profiles[name];
        let key_type = profile.key_types.first().copied().unwrap_or_default();
        set(&format!("COREGEN_PROFILE_{i}_NAME"), name);
        set(&format!("COREGEN_PROFILE_{i}_KEY_TYPE"), key_type.as_str());
        set(
            &format!("COREGEN_PROFILE_{i}_KEY"),
            profile.key_path.as_str(),
        );
        set(
            &format!("COREGEN_PROFILE_{i}_CERT"),
            profile.cert_path.as_str(),
        );
        set(&format!("COREGEN_PROFILE_{i}_CA"), profile.ca_path.as_str());
        set(
            &format!("COREGEN_PROFILE_{i}_TRUST"),
            &ca_anchor_path(&profile.ca),
        );
        set(
            &format!("COREGEN_PROFILE_{i}_RENEW_AT"),
            &profile.renew_at.percent().to_string(),
        );
        let reload: Vec<&str> = profile.reload.iter().map(|u| u.as_str()).collect();
        set(&format!("COREGEN_PROFILE_{i}_RELOAD"), &reload.join(" "));
    }
    env
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `POST /v1/renew`, over mutual TLS with the host's identity
/// certificate: `{"nonce": "<32 to 64 hex digits>", "time": <Unix
/// seconds>, "csrs": [{"profile": "etcd-peer", "csr": "..."}]}`. Any of
/// the host's profiles, and `identity` for the identity itself; each CSR
/// for a new key. The nonce makes each request usable once; the time, within
/// [`RENEW_CLOCK_SKEW`] of the server's, bounds how long a nonce must be
/// remembered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    pub nonce: String,
    pub time: i64,
    pub csrs: Vec<CsrItem>,
}

/// How far a renewal request's `time` may be from the server's clock.
pub const RENEW_CLOCK_SKEW: i64 = 300;

/// `{"csrs": [{"profile": "etcd-peer", "csr": "-----BEGIN CERTIFICATE REQUEST-----..."}]}`;
/// `identity` may be among the profiles, for the host's identity
/// certificate.
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
