//! LUKS volumes: Ignition's `luks.go`, `clevis.go`, `tang.go` and (3.5.0)
//! `cex.go` of `config/v3_X/types`. Spec differences: Tang advertisements
//! and `discard`/`openOptions` exist from 3.4.0, `cex` from 3.5.0.

use super::ignition::{resource, url_nil_ok};
use super::storage::path_error;
use super::{is_true, not_empty};
use crate::butane::ign::errors as msg;
use crate::butane::ign::types::{Cex, Clevis, ClevisCustom, Luks, Tang};
use crate::butane::ign::{Spec, gojson, url};
use crate::butane::report::{Path, Report};

/// `Luks.Validate`, then its fields.
pub(super) fn luks(l: &Luks, p: &Path, spec: Spec, r: &mut Report) {
    luks_checks(l, p, spec, r);
    let clevis = p.with("clevis");
    clevis_custom(&l.clevis.custom, &clevis.with("custom"), r);
    for (i, t) in l.clevis.tang.iter().enumerate() {
        tang(t, &clevis.with("tang").with(i), spec, r);
    }
    resource(&l.key_file, &p.with("keyFile"), spec, r);
}

fn luks_checks(l: &Luks, p: &Path, spec: Spec, r: &mut Report) {
    if l.name.contains('/') {
        r.error(p.with("name"), msg::LUKS_NAME_CONTAINS_SLASH);
    }
    if l.label.as_deref().is_some_and(|s| s.len() > 47) {
        r.error(p.with("label"), msg::LUKS_LABEL_TOO_LONG);
    }
    match l.device.as_deref() {
        None | Some("") => r.error(p.with("device"), msg::DISK_DEVICE_REQUIRED),
        Some(d) => {
            if let Some(e) = path_error(d) {
                r.error(p.with("device"), e);
            }
        }
    }
    let c = &l.clevis;
    if not_empty(&c.custom.pin)
        && (!c.tang.is_empty() || is_true(c.tpm2) || c.threshold.is_some_and(|t| t != 0))
    {
        r.error(p.with("clevis"), msg::CLEVIS_CUSTOM_WITH_OTHERS);
    }
    if url_nil_ok(l.key_file.source.as_deref(), spec).is_err() {
        // Upstream reports this at "keys", a path no field has.
        r.error(p.with("keys"), msg::INVALID_LUKS_KEY_FILE);
    }
    if spec >= Spec::V3_5 && cex_present(&l.cex) {
        if clevis_present(c) {
            r.error(p.with("cex"), msg::CEX_WITH_CLEVIS);
        }
        if l.key_file.source.is_some() {
            r.error(p.with("cex"), msg::CEX_WITH_KEY_FILE);
        }
    }
}

/// `Cex.IsPresent`.
fn cex_present(c: &Cex) -> bool {
    is_true(c.enabled)
}

/// `Clevis.IsPresent`.
fn clevis_present(c: &Clevis) -> bool {
    not_empty(&c.custom.pin)
        || !c.tang.is_empty()
        || is_true(c.tpm2)
        || c.threshold.is_some_and(|t| t != 0)
}

/// `ClevisCustom.Validate`: a custom pin needs a known pin and a config.
fn clevis_custom(cu: &ClevisCustom, p: &Path, r: &mut Report) {
    if !not_empty(&cu.pin) && !not_empty(&cu.config) && !is_true(cu.needs_network) {
        return;
    }
    match cu.pin.as_deref() {
        Some("tpm2" | "tang" | "sss") => {}
        Some(pin) if !pin.is_empty() => r.error(p.with("pin"), msg::UNKNOWN_CLEVIS_PIN),
        _ => r.error(p.with("pin"), msg::CLEVIS_PIN_REQUIRED),
    }
    if !not_empty(&cu.config) {
        r.error(p.with("config"), msg::CLEVIS_CONFIG_REQUIRED);
    }
}

/// `Tang.Validate`.
fn tang(t: &Tang, p: &Path, spec: Spec, r: &mut Report) {
    if let Err(e) = url::validate_tang_url(&t.url) {
        r.error(p.with("url"), e);
    }
    if !not_empty(&t.thumbprint) {
        r.error(p.with("thumbprint"), msg::TANG_THUMBPRINT_REQUIRED);
    }
    let advertisement = t.advertisement.as_deref().filter(|a| !a.is_empty());
    if spec >= Spec::V3_4 && advertisement.is_some_and(|a| !gojson::unmarshals_to_any(a.as_bytes()))
    {
        r.error(p.with("advertisement"), msg::INVALID_TANG_ADVERTISEMENT);
    }
}
