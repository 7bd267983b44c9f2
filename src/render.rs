//! Turns one resolved host into its Ignition config: the host's files,
//! directories, units and kernel arguments from the inventory and templates,
//! plus what coregen adds to every host (`/etc/hostname`, the `core` user's
//! SSH keys, and each CA certificate as a trust anchor) and, to a host with
//! certificate profiles, the first-boot enrollment: its script and unit
//! (built-in templates) and `/etc/coregen/enroll.env`, which holds the
//! host's bootstrap token. The token is the only part of a config that
//! changes from one render to the next; the caller mints it.
//!
//! The config is built from `ignition-config`'s typed structs; templates
//! produce only the text of files and units. The template context is built
//! once per [`Renderer`] and only its `host` and `vars` entries change from
//! one host to the next, so rendering a host costs the same in a cluster of
//! ten hosts as in one of ten thousand.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use handlebars::Context;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::ignition::{Config, Encoder, SpecCheck, SpecVersion, build};
use crate::inventory::{Contents, Host, Inventory, Mode, Origin, Server, did_you_mean};
use crate::pki::{CaCert, CertNames, Profile, REDACTED};
use crate::snippet::{self, SnippetCache};
use crate::template::{ClusterUse, Templates};

/// The user whose SSH keys the inventory sets, as on Fedora CoreOS.
const CORE_USER: &str = "core";

/// The CA whose certificate Ignition itself trusts for HTTPS fetches.
pub const HTTP_CA: &str = "http";

/// The enrollment script, its settings and its unit, on hosts with profiles.
pub const ENROLL_SCRIPT: &str = "/usr/local/bin/coregen-enroll";
pub const ENROLL_ENV: &str = "/etc/coregen/enroll.env";
pub const ENROLL_UNIT: &str = "coregen-enroll.service";
const ENROLL_TEMPLATE: &str = "coregen-enroll";

/// Where a CA certificate is installed on the host; `update-ca-trust` picks
/// it up from there.
pub fn ca_anchor_path(ca: &str) -> String {
    format!("/etc/pki/ca-trust/source/anchors/coregen-{ca}.crt")
}

pub struct Renderer<'a> {
    templates: &'a Templates,
    profiles: &'a BTreeMap<String, Profile>,
    server: Option<&'a Server>,
    spec: SpecVersion,
    context: Context,
    encoder: Encoder,
    check: SpecCheck,
    /// The CA anchor files and Ignition's own TLS trust: the same for every
    /// host, so encoded once.
    ca_files: Vec<build::File>,
    tls_ca: Option<build::Resource>,
    /// The enrollment script when its template has no expressions (the
    /// built-in has none): encoded once, like the CA files.
    constant_script: Option<build::File>,
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
        let constant_script = templates
            .constant(ENROLL_TEMPLATE)
            .map(|script| script_file(&mut encoder, script));
        Renderer {
            templates,
            profiles: &inventory.cluster.profiles,
            server: inventory.cluster.server.as_ref(),
            spec,
            context: Context::from(shared_context(
                inventory,
                spec,
                &cluster_use(inventory, templates),
            )),
            encoder,
            check: SpecCheck::default(),
            ca_files,
            tls_ca,
            constant_script,
            snippets: SnippetCache::default(),
        }
    }

    pub fn spec(&self) -> SpecVersion {
        self.spec
    }

    /// Renders the next hosts for `spec` (templates see it as
    /// `cluster.spec`).
    pub fn set_spec(&mut self, spec: SpecVersion) {
        self.spec = spec;
        let data = self.context.data_mut();
        data["cluster"]["spec"] = json!(spec.as_str());
    }

    /// The config of `host`. `token` is its bootstrap token, written into
    /// the enrollment settings of a host with profiles; `None` writes
    /// [`REDACTED`] instead, for review and snapshots.
    pub fn render(&mut self, host: &Host, token: Option<&str>) -> Result<Config> {
        self.set_host(host);
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
                    templates.render(name, context)
                })?;
        self.check.config_with(
            built,
            self.spec,
            &format!("host `{}`", host.name),
            |value| snippet::merge_into(value, &snippets),
        )
    }

    /// The names of `host`'s certificate of `profile`: its templates
    /// rendered with the same context as the host's files.
    pub fn cert_names(&mut self, host: &Host, profile: &Profile) -> Result<CertNames> {
        self.set_host(host);
        let in_profile = |e: Error| {
            e.note(format!(
                "in profile `{}` for host `{}`",
                profile.name, host.name
            ))
        };
        let render = |text: &String| {
            self.templates
                .render_str(text, &self.context)
                .map_err(in_profile)
        };
        let common_name = render(&profile.common_name)?;
        let mut dns_names = Vec::new();
        for text in &profile.dns_names {
            let name = render(text)?;
            if !name.is_empty() && !dns_names.contains(&name) {
                dns_names.push(name);
            }
        }
        let mut ip_addresses = Vec::new();
        for text in &profile.ip_addresses {
            let rendered = render(text)?;
            if rendered.is_empty() {
                continue;
            }
            let ip: IpAddr = rendered.parse().map_err(|_| {
                in_profile(Error::new(format!(
                    "{text:?} renders to {rendered:?}, not an IP address"
                )))
            })?;
            if !ip_addresses.contains(&ip) {
                ip_addresses.push(ip);
            }
        }
        Ok(CertNames {
            common_name,
            dns_names,
            ip_addresses,
        })
    }

    fn set_host(&mut self, host: &Host) {
        let data = self.context.data_mut();
        let map = data.as_object_mut().expect("the context is an object");
        map.insert(
            "host".into(),
            serde_json::to_value(HostView::new(host)).expect("hosts serialize"),
        );
        map.insert(
            "vars".into(),
            serde_json::to_value(&host.vars).expect("TOML tables serialize"),
        );
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

    /// The enrollment script and its settings.
    fn enroll_files(&mut self, host: &Host, token: Option<&str>) -> Result<[build::File; 2]> {
        let server = self
            .server
            .expect("the inventory refuses profiles without [server]");
        let script = match &self.constant_script {
            Some(file) => file.clone(),
            None => {
                let script = self.templates.render(ENROLL_TEMPLATE, &self.context)?;
                script_file(&mut self.encoder, &script)
            }
        };
        let env = enroll_env(host, self.profiles, server, token.unwrap_or(REDACTED));
        let mut env_file = plain_file(&mut self.encoder, ENROLL_ENV, env.as_bytes());
        env_file.mode = Some(0o600);
        Ok([script, env_file])
    }

    fn systemd(&self, host: &Host) -> Result<build::Systemd> {
        let mut units = Vec::with_capacity(host.units.len() + 1);
        if !host.profiles.is_empty() {
            let mut unit = build::Unit::new(ENROLL_UNIT.to_string());
            unit.enabled = Some(true);
            unit.contents = Some(self.templates.render(ENROLL_UNIT, &self.context)?);
            units.push(unit);
        }
        for entry in &host.units {
            if entry.name.as_str() == ENROLL_UNIT && !host.profiles.is_empty() {
                return Err(entry.origin.error_in(
                    "name",
                    format!(
                        "{ENROLL_UNIT} is written by coregen itself on hosts with profiles; \
                         override its template with templates/{ENROLL_UNIT}.hbs instead"
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
                self.templates.render(name, &self.context).map_err(|e| {
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

/// `/etc/coregen/enroll.env`: shell assignments that the enrollment script
/// sources. Every value is single-quoted, so no inventory value can run as
/// code there.
fn enroll_env(
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
    }
    env
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
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

fn script_file(encoder: &mut Encoder, script: &str) -> build::File {
    let mut file = plain_file(encoder, ENROLL_SCRIPT, script.as_bytes());
    file.mode = Some(0o755);
    file
}

fn plain_file(encoder: &mut Encoder, path: &str, contents: &[u8]) -> build::File {
    let mut file = build::File::new(path.to_string());
    file.mode = Some(0o644);
    file.overwrite = Some(true);
    file.contents = Some(resource(encoder, contents));
    file
}

/// What templates see of any host: enough to list peers and addresses.
#[derive(Serialize)]
struct HostSummary<'a> {
    name: &'a str,
    fqdn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
    groups: &'a [String],
}

impl<'a> HostSummary<'a> {
    fn new(host: &'a Host) -> HostSummary<'a> {
        HostSummary {
            name: host.name.as_str(),
            fqdn: &host.fqdn,
            ip: host.ip.map(|ip| ip.to_string()),
            mac: host.mac.map(|mac| mac.to_string()),
            groups: &host.groups,
        }
    }
}

/// What templates see of the host being rendered, as `host`.
#[derive(Serialize)]
struct HostView<'a> {
    #[serde(flatten)]
    summary: HostSummary<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    install_disk: Option<&'a str>,
    vars: &'a toml::Table,
}

impl<'a> HostView<'a> {
    fn new(host: &'a Host) -> HostView<'a> {
        HostView {
            summary: HostSummary::new(host),
            install_disk: host.install_disk.as_ref().map(|d| d.as_str()),
            vars: &host.vars,
        }
    }
}

/// What the templates, and the profiles' name templates, use of `hosts`
/// and `groups`.
fn cluster_use(inventory: &Inventory, templates: &Templates) -> ClusterUse {
    let mut uses = templates.cluster_use().clone();
    for profile in inventory.cluster.profiles.values() {
        uses.scan(&profile.common_name);
        profile.dns_names.iter().for_each(|t| uses.scan(t));
        profile.ip_addresses.iter().for_each(|t| uses.scan(t));
    }
    uses
}

/// `cluster`, and as much of `hosts` and `groups` as `uses` says: the same
/// for every host.
fn shared_context(inventory: &Inventory, spec: SpecVersion, uses: &ClusterUse) -> Value {
    let cluster = &inventory.cluster;
    let summary = |h: &Host| serde_json::to_value(HostSummary::new(h)).expect("hosts serialize");
    let hosts: Vec<Value> = if uses.hosts {
        inventory.hosts.iter().map(summary).collect()
    } else {
        Vec::new()
    };
    let mut groups: Map<String, Value> = Map::new();
    for (i, host) in inventory.hosts.iter().enumerate() {
        for group in &host.groups {
            if !uses.all_groups && !uses.groups.contains(group) {
                continue;
            }
            let member = hosts.get(i).cloned().unwrap_or_else(|| summary(host));
            let members = groups.entry(group.clone()).or_insert_with(|| json!([]));
            members
                .as_array_mut()
                .expect("built as an array")
                .push(member);
        }
    }
    let mut cluster_view = json!({
        "name": cluster.name.as_str(),
        "spec": spec.as_str(),
        "vars": cluster.vars,
        "cas": cluster.cas.keys().collect::<Vec<_>>(),
    });
    if let Some(domain) = &cluster.domain {
        cluster_view["domain"] = json!(domain.as_str());
    }
    json!({
        "cluster": cluster_view,
        "hosts": hosts,
        "groups": groups,
    })
}
