//! Turns one resolved host into its Ignition config: the host's files,
//! directories, units and kernel arguments from the inventory and templates,
//! plus what coregen adds to every host (`/etc/hostname`, the `core` user's
//! SSH keys, and each CA certificate as a trust anchor) and, to a host with
//! certificate profiles, the first-boot enrollment and the renewal: their
//! scripts, shared library, units and timer (built-in templates, see
//! [`SCRIPT_FILES`] and [`UNITS`]) and `/etc/coregen/enroll.env`, which holds the
//! host's bootstrap token. The token is the only part of a config that
//! changes from one render to the next; the caller mints it.
//!
//! Every unit of such a host that uses the certificates (it names the
//! enrollment unit, or one of the host's certificate paths or their
//! folders, in its text or a drop-in's, whether it came from the
//! inventory or a Butane snippet)
//! gets [`GATE_DROPIN`]: it waits for the enrollment and never starts
//! without the certificates, in a live system that does not enroll, say.
//!
//! The config is built from `ignition-config`'s typed structs; templates
//! produce only the text of files and units. The template context is built
//! once per [`Renderer`] and only its `host` and `vars` entries change from
//! one host to the next, so rendering a host costs the same in a cluster of
//! ten hosts as in one of ten thousand.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use crate::context::HostContext;
use crate::contract::{
    ENROLL_ENV, ENROLL_MARKER, ENROLL_UNIT, HTTP_CA, SCRIPT_FILES, UNITS, ca_anchor_path,
    enroll_env, is_coregen_unit,
};
use crate::error::{Error, Result};
use crate::ignition::{Config, Encoder, SpecCheck, SpecVersion, build};
use crate::inventory::{Contents, Host, Inventory, Mode, Origin, Server, did_you_mean};
use crate::pki::{CaCert, Profile, REDACTED};
use crate::snippet::{self, SnippetCache, Translation};
use crate::template::Templates;

/// The user whose SSH keys the inventory sets, as on Fedora CoreOS.
const CORE_USER: &str = "core";

/// The drop-in that gates a unit using the certificates on the enrollment.
pub const GATE_DROPIN: &str = "10-coregen-enrolled.conf";

pub struct Renderer<'a> {
    templates: &'a Templates,
    profiles: &'a BTreeMap<String, Profile>,
    server: Option<&'a Server>,
    spec: SpecVersion,
    context: HostContext<'a>,
    encoder: Encoder,
    check: SpecCheck,
    /// The CA anchor files and Ignition's own TLS trust: the same for every
    /// host, so encoded once.
    ca_files: Vec<build::File>,
    tls_ca: Option<build::Resource>,
    /// The enrollment and renewal scripts and their library, in the order
    /// of [`SCRIPT_FILES`], each when its template has no expressions (the
    /// built-ins have none): encoded once, like the CA files.
    constant_scripts: Vec<Option<build::File>>,
    /// The Butane snippets this renderer has translated.
    snippets: SnippetCache,
}

impl<'a> Renderer<'a> {
    pub fn new(
        inventory: &'a Inventory,
        templates: &'a Templates,
        cas: &'a [CaCert],
        spec: SpecVersion,
    ) -> Renderer<'a> {
        let mut encoder = Encoder::default();
        let ca_files = cas
            .iter()
            .map(|ca| plain_file(&mut encoder, &ca_anchor_path(&ca.name), ca.pem.as_bytes()))
            .collect();
        let tls_ca = cas
            .iter()
            .find(|ca| ca.name == HTTP_CA)
            .map(|http| resource(&mut encoder, http.pem.as_bytes()));
        let constant_scripts = SCRIPT_FILES
            .iter()
            .map(|(path, template, mode)| {
                templates
                    .constant(template)
                    .map(|text| script_file(&mut encoder, path, text, *mode))
            })
            .collect();
        Renderer {
            templates,
            profiles: &inventory.cluster.profiles,
            server: inventory.cluster.server.as_ref(),
            spec,
            context: HostContext::new(inventory, templates, spec),
            encoder,
            check: SpecCheck::default(),
            ca_files,
            tls_ca,
            constant_scripts,
            snippets: SnippetCache::default(),
        }
    }

    /// The template context, to render a host's certificate names in (as
    /// `serve` does, reusing its renderers).
    pub fn context(&mut self) -> &mut HostContext<'a> {
        &mut self.context
    }

    pub fn spec(&self) -> SpecVersion {
        self.spec
    }

    /// Renders the next hosts for `spec` (templates see it as
    /// `cluster.spec`).
    pub fn set_spec(&mut self, spec: SpecVersion) {
        self.spec = spec;
        self.context.set_spec(spec);
    }

    /// The config of `host`. `token` is its bootstrap token, written into
    /// the enrollment settings of a host with profiles; `None` writes
    /// [`REDACTED`] instead, for review and snapshots.
    pub fn render(&mut self, host: &Host, token: Option<&str>) -> Result<Config> {
        self.render_with_snippets(host, token)
            .map(|(config, _)| config)
    }

    /// [`Renderer::render`], with the translations of the host's Butane
    /// snippets that were merged into the config, in the order of
    /// `host.butane` (for `coregen show --why`).
    pub fn render_with_snippets(
        &mut self,
        host: &Host,
        token: Option<&str>,
    ) -> Result<(Config, Vec<Arc<Translation>>)> {
        self.context.set_host(host);
        let mut built = build::Config {
            storage: Some(self.storage(host, token)?),
            systemd: Some(self.systemd(host)?),
            ..Default::default()
        };
        if !host.ssh_authorized_keys.is_empty() {
            let mut core = build::User::new(CORE_USER.to_string());
            core.ssh_authorized_keys = Some(host.ssh_authorized_keys.clone());
            built.passwd = Some(build::Passwd {
                users: Some(vec![core]),
                groups: None,
            });
        }
        let kargs = &host.kernel_arguments;
        if !kargs.should_exist.is_empty() || !kargs.should_not_exist.is_empty() {
            built.kernel_arguments = Some(build::KernelArguments {
                should_exist: non_empty(kargs.should_exist.clone()),
                should_not_exist: non_empty(kargs.should_not_exist.clone()),
            });
        }
        if let Some(ca) = &self.tls_ca {
            built.ignition.security = Some(build::Security {
                tls: Some(build::SecurityTls {
                    certificate_authorities: Some(vec![ca.clone()]),
                }),
            });
        }
        let (templates, context) = (self.templates, &self.context);
        let snippets =
            templates
                .snippets()
                .for_host(&mut self.snippets, host, self.spec, &mut |name| {
                    if !templates.contains(name) {
                        return Err(Error::new(format!(
                            "no template `{name}` (looked for templates/{name}.hbs)"
                        )));
                    }
                    context.render(name)
                })?;
        let uses = self.certificate_paths(host);
        let config = self.check.config_with(
            built,
            self.spec,
            &format!("host `{}`", host.name),
            |value| {
                snippet::merge_into(value, &snippets);
                if !host.profiles.is_empty() {
                    gate_on_enrollment(value, &uses);
                }
            },
        )?;
        Ok((config, snippets))
    }

    /// What a unit that uses the host's certificates names: the
    /// enrollment unit, or a key, certificate or CA path of a profile, or
    /// the folder of one (a container mounts the folder, say). Folders
    /// shared with the system at large (`/etc`) are no sign of use.
    fn certificate_paths(&self, host: &Host) -> Vec<&'a str> {
        let mut uses = vec![ENROLL_UNIT];
        for profile in host.profiles.iter().filter_map(|p| self.profiles.get(p)) {
            for path in [&profile.key_path, &profile.cert_path, &profile.ca_path] {
                let path = path.as_str();
                uses.push(path);
                let folder = std::path::Path::new(path)
                    .parent()
                    .and_then(|f| f.to_str())
                    .filter(|f| f.matches('/').count() >= 2);
                if let Some(folder) = folder
                    && !uses.contains(&folder)
                {
                    uses.push(folder);
                }
            }
        }
        uses
    }

    fn storage(&mut self, host: &Host, token: Option<&str>) -> Result<build::Storage> {
        let hostname = format!("{}\n", host.name);
        let mut files = vec![plain_file(
            &mut self.encoder,
            "/etc/hostname",
            hostname.as_bytes(),
        )];
        files.extend(self.ca_files.iter().cloned());
        if !host.profiles.is_empty() {
            files.extend(self.enroll_files(host, token)?);
        }
        let reserved: HashSet<String> = files.iter().map(|f| f.path.clone()).collect();

        for entry in &host.files {
            if reserved.contains(entry.path.as_str()) {
                return Err(entry.origin.error_in(
                    "path",
                    format!(
                        "{} is written by coregen itself and cannot be set here",
                        entry.path
                    ),
                ));
            }
            self.check_mode(entry.mode, &entry.origin)?;
            let mut file = build::File::new(entry.path.to_string());
            file.mode = Some(i64::from(entry.mode.bits()));
            file.overwrite = Some(entry.overwrite);
            (file.user, file.group) = owner(&entry.user, &entry.group);
            if let Some(contents) = &entry.contents {
                let text = self.text(contents, host, &entry.origin)?;
                file.contents = Some(resource(&mut self.encoder, text.as_bytes()));
            }
            files.push(file);
        }

        let mut directories = Vec::with_capacity(host.directories.len());
        for entry in &host.directories {
            self.check_mode(entry.mode, &entry.origin)?;
            let mut dir = build::Directory::new(entry.path.to_string());
            dir.mode = Some(i64::from(entry.mode.bits()));
            (dir.user, dir.group) = owner(&entry.user, &entry.group);
            directories.push(dir);
        }

        Ok(build::Storage {
            files: Some(files),
            directories: non_empty(directories),
            ..Default::default()
        })
    }

    /// The enrollment and renewal scripts, their library, and the
    /// enrollment's settings.
    fn enroll_files(&mut self, host: &Host, token: Option<&str>) -> Result<Vec<build::File>> {
        let server = self
            .server
            .expect("the inventory refuses profiles without [server]");
        let mut files = Vec::with_capacity(SCRIPT_FILES.len() + 1);
        for ((path, template, mode), constant) in SCRIPT_FILES.iter().zip(&self.constant_scripts) {
            files.push(match constant {
                Some(file) => file.clone(),
                None => {
                    let text = self.context.render(template)?;
                    script_file(&mut self.encoder, path, &text, *mode)
                }
            });
        }
        let env = enroll_env(host, self.profiles, server, token.unwrap_or(REDACTED));
        let mut env_file = plain_file(&mut self.encoder, ENROLL_ENV, env.as_bytes());
        env_file.mode = Some(0o600);
        files.push(env_file);
        Ok(files)
    }

    fn systemd(&self, host: &Host) -> Result<build::Systemd> {
        let mut units = Vec::with_capacity(host.units.len() + UNITS.len());
        if !host.profiles.is_empty() {
            for (name, enabled) in UNITS {
                let mut unit = build::Unit::new(name.to_string());
                unit.enabled = enabled;
                unit.contents = Some(self.context.render(name)?);
                units.push(unit);
            }
        }
        for entry in &host.units {
            let name = entry.name.as_str();
            if is_coregen_unit(name) && !host.profiles.is_empty() {
                return Err(entry.origin.error_in(
                    "name",
                    format!(
                        "{name} is written by coregen itself on hosts with profiles; \
                         override its template with templates/{name}.hbs instead"
                    ),
                ));
            }
            let mut unit = build::Unit::new(entry.name.to_string());
            unit.enabled = entry.enabled;
            unit.mask = entry.mask.then_some(true);
            if let Some(contents) = &entry.contents {
                unit.contents = Some(self.text(contents, host, &entry.origin)?);
            }
            let mut dropins = Vec::with_capacity(entry.dropins.len());
            for d in &entry.dropins {
                let mut dropin = build::Dropin::new(d.name.to_string());
                dropin.contents = Some(self.text(&d.contents, host, &d.origin)?);
                dropins.push(dropin);
            }
            unit.dropins = non_empty(dropins);
            units.push(unit);
        }
        Ok(build::Systemd {
            units: non_empty(units),
        })
    }

    fn check_mode(&self, mode: Mode, origin: &Origin) -> Result<()> {
        if mode.has_special_bits() && !self.spec.allows_special_mode_bits() {
            return Err(origin.error_in(
                "mode",
                format!(
                    "mode {mode} has setuid, setgid or sticky bits, which Ignition spec {} lacks \
                     (they need 3.4.0 or newer)",
                    self.spec
                ),
            ));
        }
        Ok(())
    }

    /// The text of a file, unit or drop-in.
    fn text(&self, contents: &Contents, host: &Host, item: &Origin) -> Result<String> {
        match contents {
            Contents::Inline(text) => Ok(text.clone()),
            Contents::Template { name, origin } => {
                if !self.templates.contains(name) {
                    let mut msg = format!(
                        "no template `{name}` (looked for templates/{name}.hbs and the built-ins)"
                    );
                    if let Some(best) = did_you_mean(name, self.templates.names()) {
                        msg.push_str(&format!("; did you mean `{best}`?"));
                    }
                    return Err(origin.error(msg));
                }
                self.context.render(name).map_err(|e| {
                    e.note(format!(
                        "while rendering {} for host `{}`, declared at {}",
                        item.key(),
                        host.name,
                        item.place()
                    ))
                })
            }
        }
    }
}

/// Adds [`GATE_DROPIN`] to each unit of `config` (a config as JSON, after
/// the snippets are merged) whose text or drop-ins name one of `uses`.
fn gate_on_enrollment(config: &mut serde_json::Value, uses: &[&str]) {
    let Some(units) = config
        .pointer_mut("/systemd/units")
        .and_then(|u| u.as_array_mut())
    else {
        return;
    };
    let names = |text: Option<&serde_json::Value>| {
        text.and_then(|t| t.as_str())
            .is_some_and(|t| uses.iter().any(|u| t.contains(u)))
    };
    for unit in units {
        let name = unit.get("name").and_then(|n| n.as_str()).unwrap_or("");
        if is_coregen_unit(name) || unit.get("mask").and_then(|m| m.as_bool()) == Some(true) {
            continue;
        }
        let dropins = unit.get("dropins").and_then(|d| d.as_array());
        let in_dropins = dropins.is_some_and(|d| d.iter().any(|d| names(d.get("contents"))));
        let gated = dropins.is_some_and(|d| d.iter().any(|d| d["name"] == GATE_DROPIN));
        if gated || !(names(unit.get("contents")) || in_dropins) {
            continue;
        }
        let gate = serde_json::json!({
            "name": GATE_DROPIN,
            "contents": format!(
                "# Added by coregen: {name} uses the certificates that the first-boot\n\
                 # enrollment installs, so it waits for it and never starts without them.\n\
                 [Unit]\nWants={ENROLL_UNIT}\nAfter={ENROLL_UNIT}\n\
                 ConditionPathExists={ENROLL_MARKER}\n"
            ),
        });
        match unit.get_mut("dropins").and_then(|d| d.as_array_mut()) {
            Some(dropins) => dropins.push(gate),
            None => unit["dropins"] = serde_json::json!([gate]),
        }
    }
}

/// Ignition's owner fields, by name.
fn owner(
    user: &Option<String>,
    group: &Option<String>,
) -> (Option<build::NodeUser>, Option<build::NodeGroup>) {
    (
        user.clone().map(|name| build::NodeUser {
            id: None,
            name: Some(name),
        }),
        group.clone().map(|name| build::NodeGroup {
            id: None,
            name: Some(name),
        }),
    )
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn resource(encoder: &mut Encoder, contents: &[u8]) -> build::Resource {
    let url = encoder.encode(contents);
    build::Resource {
        source: Some(url.source),
        compression: url.compression.map(str::to_string),
        http_headers: None,
        verification: None,
    }
}

fn script_file(encoder: &mut Encoder, path: &str, text: &str, mode: u32) -> build::File {
    let mut file = plain_file(encoder, path, text.as_bytes());
    file.mode = Some(i64::from(mode));
    file
}

fn plain_file(encoder: &mut Encoder, path: &str, contents: &[u8]) -> build::File {
    let mut file = build::File::new(path.to_string());
    file.mode = Some(0o644);
    file.overwrite = Some(true);
    file.contents = Some(resource(encoder, contents));
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_that_use_the_certificates_wait_for_the_enrollment() {
        let mut config = serde_json::json!({ "systemd": { "units": [
            { "name": ENROLL_UNIT, "contents": "[Unit]\n" },
            { "name": crate::contract::RENEW_UNIT, "contents": "[Unit]\nAfter=coregen-enroll.service\n" },
            { "name": "etcd.service", "contents": "ExecStart=/bin/etcd --cert-file /etc/etcd/pki/peer.crt\n" },
            { "name": "after.service", "contents": "[Unit]\nAfter=coregen-enroll.service\n" },
            { "name": "kubelet.service", "dropins": [
                { "name": "certs.conf", "contents": "Environment=KEY=/etc/etcd/pki/peer.key\n" }
            ] },
            { "name": "plain.service", "contents": "[Service]\nExecStart=/bin/true\n" },
            { "name": "masked.service", "mask": true, "contents": "/etc/etcd/pki/peer.crt" },
        ] } });
        let uses = [
            ENROLL_UNIT,
            "/etc/etcd/pki/peer.key",
            "/etc/etcd/pki/peer.crt",
        ];
        gate_on_enrollment(&mut config, &uses);
        gate_on_enrollment(&mut config, &uses);
        let gated: Vec<(&str, usize)> = config["systemd"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                let gates = u["dropins"]
                    .as_array()
                    .map_or(0, |d| d.iter().filter(|d| d["name"] == GATE_DROPIN).count());
                (u["name"].as_str().unwrap(), gates)
            })
            .collect();
        assert_eq!(
            gated,
            [
                (ENROLL_UNIT, 0),
                (crate::contract::RENEW_UNIT, 0),
                ("etcd.service", 1),
                ("after.service", 1),
                ("kubelet.service", 1),
                ("plain.service", 0),
                ("masked.service", 0),
            ]
        );
        let kubelet = &config["systemd"]["units"][4]["dropins"];
        assert_eq!(kubelet.as_array().unwrap().len(), 2, "added beside its own");
        let gate = config["systemd"]["units"][2]["dropins"][0]["contents"]
            .as_str()
            .unwrap();
        assert!(gate.contains(&format!("ConditionPathExists={ENROLL_MARKER}\n")));
    }
}
