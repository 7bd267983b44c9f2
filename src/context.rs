//! What templates see: the context shared by every host (`cluster`, and
//! `hosts` and `groups` when some template names them) with the host at
//! hand (`host`, `vars`). Built once per [`HostContext`] and changed only in
//! its host entries from one host to the next, so rendering a host costs
//! the same in a cluster of ten hosts as in one of ten thousand.
//!
//! The names of a host's certificates are templates too (in its profiles),
//! rendered in the same context: [`HostContext::cert_names`]. That is all
//! `coregen sign`, `certs` and enrollment need, without a renderer.

use std::net::IpAddr;

use handlebars::Context;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::ignition::SpecVersion;
use crate::inventory::{Host, Inventory};
use crate::pki::{CertNames, Profile};
use crate::template::{ClusterUse, Templates};

/// The templates with the context to render them in.
pub struct HostContext<'a> {
    templates: &'a Templates,
    context: Context,
}

impl<'a> HostContext<'a> {
    pub fn new(
        inventory: &Inventory,
        templates: &'a Templates,
        spec: SpecVersion,
    ) -> HostContext<'a> {
        HostContext {
            templates,
            context: Context::from(shared_context(
                inventory,
                spec,
                &cluster_use(inventory, templates),
            )),
        }
    }

    pub fn templates(&self) -> &'a Templates {
        self.templates
    }

    /// Templates see `spec` as `cluster.spec` from now on.
    pub fn set_spec(&mut self, spec: SpecVersion) {
        let data = self.context.data_mut();
        data["cluster"]["spec"] = json!(spec.as_str());
    }

    /// Renders the template `name` for the current host.
    pub fn render(&self, name: &str) -> Result<String> {
        self.templates.render(name, &self.context)
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
        let subject = |texts: &[String]| -> Result<Vec<String>> {
            let mut values = Vec::new();
            for text in texts {
                let value = render(text)?;
                if !value.is_empty() && !values.contains(&value) {
                    values.push(value);
                }
            }
            Ok(values)
        };
        let organization = subject(&profile.organization)?;
        let organizational_unit = subject(&profile.organizational_unit)?;
        Ok(CertNames {
            common_name,
            dns_names,
            ip_addresses,
            organization,
            organizational_unit,
        })
    }

    /// Makes `host` the one templates see as `host` and `vars`.
    pub fn set_host(&mut self, host: &Host) {
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
}

/// What templates see of any host: enough to list peers and addresses.
#[derive(Serialize)]
struct HostSummary<'a> {
    name: &'a str,
    fqdn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    /// The first of `macs`, for templates that expect one.
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    macs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uuid: Option<String>,
    groups: &'a [String],
}

impl<'a> HostSummary<'a> {
    fn new(host: &'a Host) -> HostSummary<'a> {
        HostSummary {
            name: host.name.as_str(),
            fqdn: &host.fqdn,
            ip: host.ip.map(|ip| ip.to_string()),
            mac: host.macs.first().map(|mac| mac.to_string()),
            macs: host.macs.iter().map(|mac| mac.to_string()).collect(),
            uuid: host.uuid.map(|uuid| uuid.to_string()),
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
        profile.organization.iter().for_each(|t| uses.scan(t));
        profile
            .organizational_unit
            .iter()
            .for_each(|t| uses.scan(t));
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
