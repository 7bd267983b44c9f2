//! The `systemd` section: Ignition's `systemd.go` (templates of enabled
//! instances need an install section) and `unit.go` (names, extensions,
//! contents, install sections) of `config/v3_X/types`. Unit files are
//! parsed by `ign::unit`.

use std::collections::HashMap;

use super::{is_true, not_empty};
use crate::butane::ign::errors as msg;
use crate::butane::ign::types::{Dropin, Systemd, Unit};
use crate::butane::ign::{gostr, unit};
use crate::butane::report::{Path, Report};

/// `Systemd.Validate`, then the units.
pub(super) fn systemd(s: &Systemd, p: &Path, r: &mut Report) {
    template_checks(s, p, r);
    for (i, u) in s.units.iter().enumerate() {
        unit_checks(u, &p.with("units").with(i), r);
    }
}

/// `Systemd.Validate`: warn when an enabled instance's template is in the
/// config with contents that have no `[Install]` option. The warning is
/// put on the instance's `contents`, whether or not it has any.
fn template_checks(s: &Systemd, p: &Path, r: &mut Report) {
    // Like Go's map, a later unit with the same name wins.
    let units: HashMap<&str, &Unit> = s.units.iter().map(|u| (u.name.as_str(), u)).collect();
    for (i, u) in s.units.iter().enumerate() {
        if !is_true(u.enabled) {
            continue;
        }
        let Some(prefix) = instance_prefix(&u.name) else {
            continue;
        };
        let template = format!("{prefix}@.service");
        let Some(t) = units
            .get(template.as_str())
            .filter(|t| not_empty(&t.contents))
        else {
            continue;
        };
        // A template that does not parse is reported on its own.
        let Ok(opts) = unit::parse_unit_contents(t.contents.as_deref()) else {
            continue;
        };
        if !unit::has_install_option(&opts) {
            r.warn(
                p.with("units").with(i).with("contents"),
                msg::no_install_section_for_template(&template, &u.name),
            );
        }
    }
}

/// The first group of `^(.+?)@(.+?)\.service$` (Go's `.` never matches a
/// newline).
fn instance_prefix(name: &str) -> Option<&str> {
    if name.contains('\n') {
        return None;
    }
    let stem = name.strip_suffix(".service")?;
    // `(.+?)@` takes the first '@' after at least one character that
    // leaves at least one character before ".service".
    let at = stem
        .char_indices()
        .skip(1)
        .find(|&(i, c)| c == '@' && i + 1 < stem.len())?
        .0;
    Some(&name[..at])
}

/// `Unit.Validate`, then its drop-ins.
fn unit_checks(u: &Unit, p: &Path, r: &mut Report) {
    if !matches!(
        gostr::ext(&u.name),
        ".service"
            | ".socket"
            | ".device"
            | ".mount"
            | ".automount"
            | ".swap"
            | ".target"
            | ".path"
            | ".timer"
            | ".snapshot"
            | ".slice"
            | ".scope"
    ) {
        r.error(p.with("name"), msg::INVALID_SYSTEMD_EXT);
    }
    let contents = p.with("contents");
    let opts = match unit::parse_unit_contents(u.contents.as_deref()) {
        Ok(opts) => Some(opts),
        Err(e) => {
            r.error(contents.clone(), e);
            None
        }
    };
    let empty = !not_empty(&u.contents);
    if let Some(w) =
        unit::validate_install_section(&u.name, is_true(u.enabled), empty, opts.as_deref())
    {
        r.warn(contents, w);
    }
    for (i, d) in u.dropins.iter().enumerate() {
        dropin(d, &p.with("dropins").with(i), r);
    }
}

/// `Dropin.Validate`.
fn dropin(d: &Dropin, p: &Path, r: &mut Report) {
    if let Err(e) = unit::parse_unit_contents(d.contents.as_deref()) {
        r.error(p.with("contents"), e);
    }
    if gostr::ext(&d.name) != ".conf" {
        r.error(p.with("name"), msg::INVALID_SYSTEMD_DROPIN_EXT);
    }
}

#[cfg(test)]
mod tests {
    use super::instance_prefix;

    #[test]
    fn instance_names() {
        assert_eq!(instance_prefix("a@b.service"), Some("a"));
        assert_eq!(instance_prefix("a@.service"), None);
        assert_eq!(instance_prefix("@a@b.service"), Some("@a"));
        assert_eq!(instance_prefix("a@b@c.service"), Some("a"));
        assert_eq!(instance_prefix("a@@.service"), Some("a"));
        assert_eq!(instance_prefix("a@b.socket"), None);
        assert_eq!(instance_prefix("@b.service"), None);
    }
}
