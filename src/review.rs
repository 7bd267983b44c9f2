//! Ignition configs as people read them, and diffs between two.
//!
//! [`show`] turns any Ignition 3.x config into plain text: each file with
//! path, mode, owner and decoded contents (data URLs decoded, gzip
//! inflated; binary as size and hash; certificates as subject, issuer,
//! names and expiry), directories, links, units with drop-ins, users with
//! key fingerprints, kernel arguments, and the TLS trust of Ignition
//! itself. Bootstrap tokens are shown as `<redacted>`, so that a freshly
//! minted token is no difference. The config is checked with
//! `ignition-config`'s parser first and then read as JSON, which keeps this
//! module the same for every spec version.

use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::ignition::decode_data_url;
use crate::pki::REDACTED;

/// The readable form of the Ignition config `bytes`, or why it is not one.
pub fn show(bytes: &[u8]) -> crate::error::Result<String> {
    readable(bytes).map_err(crate::error::Error::invalid)
}

fn readable(bytes: &[u8]) -> Result<String, String> {
    ignition_config::Config::parse_slice(bytes)
        .map_err(|e| format!("not an Ignition config: {e}"))?;
    let config: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not an Ignition config: {e}"))?;
    let mut out = Out::default();
    let ignition = &config["ignition"];
    out.line(
        0,
        &format!("Ignition config, spec {}", text(&ignition["version"])),
    );
    let replace = &ignition["config"]["replace"];
    if replace["source"].is_string() {
        out.line(1, &format!("replaced by {}", resource_summary(replace)));
    }
    for merge in items(&ignition["config"], "merge") {
        out.line(1, &format!("merged with {}", resource_summary(merge)));
    }
    let cas = items(&ignition["security"]["tls"], "certificateAuthorities");
    if !cas.is_empty() {
        out.line(1, "trusts for HTTPS:");
        for ca in cas {
            out.contents(2, ca);
        }
    }

    let kargs = &config["kernelArguments"];
    if kargs.is_object() {
        out.heading("kernel arguments");
        for arg in items(kargs, "shouldExist") {
            out.line(1, &format!("+ {}", text(arg)));
        }
        for arg in items(kargs, "shouldNotExist") {
            out.line(1, &format!("- {}", text(arg)));
        }
    }

    let users = items(&config["passwd"], "users");
    if !users.is_empty() {
        out.heading("users");
        for user in users {
            out.line(1, &text(&user["name"]));
            for key in items(user, "sshAuthorizedKeys") {
                out.line(2, &ssh_key_summary(&text(key)));
            }
            let groups: Vec<String> = items(user, "groups").iter().map(text).collect();
            if !groups.is_empty() {
                out.line(2, &format!("groups: {}", groups.join(", ")));
            }
        }
    }
    let groups = items(&config["passwd"], "groups");
    if !groups.is_empty() {
        out.heading("groups");
        for group in groups {
            out.line(1, &text(&group["name"]));
        }
    }

    let storage = &config["storage"];
    let directories = items(storage, "directories");
    if !directories.is_empty() {
        out.heading("directories");
        for dir in directories {
            out.line(
                1,
                &format!("{}  {}", text(&dir["path"]), node_meta(dir, 0o755)),
            );
        }
    }
    let files = items(storage, "files");
    if !files.is_empty() {
        out.heading("files");
        for file in files {
            let mut meta = node_meta(file, 0o644);
            if file["overwrite"] == Value::Bool(true) {
                meta.push_str("  overwrite");
            }
            out.line(1, &format!("{}  {meta}", text(&file["path"])));
            if file["contents"]["source"].is_string() {
                out.contents(2, &file["contents"]);
            }
            for append in items(file, "append") {
                out.line(2, "appends:");
                out.contents(3, append);
            }
        }
    }
    let links = items(storage, "links");
    if !links.is_empty() {
        out.heading("links");
        for link in links {
            let kind = if link["hard"] == Value::Bool(true) {
                "hard link"
            } else {
                "->"
            };
            out.line(
                1,
                &format!("{} {kind} {}", text(&link["path"]), text(&link["target"])),
            );
        }
    }
    for key in ["disks", "raid", "filesystems", "luks"] {
        let entries = items(storage, key);
        if !entries.is_empty() {
            out.heading(&format!("storage.{key}"));
            for entry in entries {
                out.line(1, &entry.to_string());
            }
        }
    }

    let units = items(&config["systemd"], "units");
    if !units.is_empty() {
        out.heading("units");
        for unit in units {
            let mut state = Vec::new();
            match unit["enabled"] {
                Value::Bool(true) => state.push("enabled"),
                Value::Bool(false) => state.push("disabled"),
                _ => {}
            }
            if unit["mask"] == Value::Bool(true) {
                state.push("masked");
            }
            out.line(
                1,
                format!("{}  {}", text(&unit["name"]), state.join(" ")).trim_end(),
            );
            if let Some(contents) = unit["contents"].as_str() {
                out.text(2, contents);
            }
            for dropin in items(unit, "dropins") {
                out.line(2, &format!("drop-in {}", text(&dropin["name"])));
                if let Some(contents) = dropin["contents"].as_str() {
                    out.text(3, contents);
                }
            }
        }
    }
    Ok(out.0)
}

/// A unified diff of two readable forms; empty when they are the same.
pub fn diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

#[derive(Default)]
struct Out(String);

impl Out {
    fn line(&mut self, depth: usize, line: &str) {
        let _ = writeln!(self.0, "{:width$}{line}", "", width = depth * 2);
    }

    fn heading(&mut self, title: &str) {
        self.0.push('\n');
        self.line(0, title);
    }

    /// Text, each line behind a bar, tokens redacted.
    fn text(&mut self, depth: usize, text: &str) {
        let text = redact_tokens(text);
        for line in text.lines() {
            self.line(depth, format!("| {line}").trim_end());
        }
        if !text.is_empty() && !text.ends_with('\n') {
            self.line(depth, "(no newline at end)");
        }
    }

    /// The contents of a resource (`source`, `compression`, `verification`).
    fn contents(&mut self, depth: usize, resource: &Value) {
        let source = text(&resource["source"]);
        if !source.starts_with("data:") {
            self.line(depth, &resource_summary(resource));
            return;
        }
        let bytes = match decode_data_url(&source, resource["compression"].as_str()) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.line(depth, &format!("(cannot decode: {e})"));
                return;
            }
        };
        let gzip = if resource["compression"] == "gzip" {
            ", gzip"
        } else {
            ""
        };
        match std::str::from_utf8(&bytes) {
            Ok(s) if s.trim_start().starts_with("-----BEGIN CERTIFICATE-----") => {
                self.certificates(depth, s)
            }
            // Review output gets pasted around; a key in a config is a
            // mistake to point out, not to copy further.
            Ok(s) if s.contains("PRIVATE KEY-----") => {
                self.line(depth, "(holds a private key: not shown)")
            }
            // How text travelled (percent-encoded, base64, gzip) is not
            // what a reviewer reads; it may change with any byte of it.
            Ok(s) => self.text(depth, s),
            Err(_) => self.line(
                depth,
                &format!(
                    "binary, {} bytes{gzip}, sha256 {}",
                    bytes.len(),
                    crate::pki::sha256_hex(&bytes)
                ),
            ),
        }
    }

    fn certificates(&mut self, depth: usize, pem: &str) {
        for block in pem.split_inclusive("-----END CERTIFICATE-----") {
            if !block.contains("-----BEGIN CERTIFICATE-----") {
                continue;
            }
            match cert_summary(block) {
                Some(lines) => {
                    for (i, line) in lines.iter().enumerate() {
                        let prefix = if i == 0 { "certificate: " } else { "  " };
                        self.line(depth, &format!("{prefix}{line}"));
                    }
                }
                None => self.line(depth, "(a malformed certificate)"),
            }
        }
    }
}

fn cert_summary(pem: &str) -> Option<Vec<String>> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.trim_start().as_bytes()).ok()?;
    let (_, cert) = X509Certificate::from_der(&pem.contents).ok()?;
    let mut lines = vec![
        format!("subject {}", cert.subject()),
        format!("issuer {}", cert.issuer()),
    ];
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(b) => crate::values::ip_from_san(b)
                    .map_or_else(|| "IP:?".into(), |ip| format!("IP:{ip}")),
                other => format!("{other}"),
            })
            .collect();
        lines.push(format!("names {}", names.join(", ")));
    }
    let ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|b| b.value.ca);
    lines.push(format!(
        "valid {} to {}{}",
        crate::values::rfc3339(cert.validity().not_before.to_datetime()),
        crate::values::rfc3339(cert.validity().not_after.to_datetime()),
        if ca { ", CA" } else { "" }
    ));
    lines.push(format!("sha256 {}", crate::pki::sha256_hex(&pem.contents)));
    Some(lines)
}

/// `ssh-ed25519 SHA256:... comment`, as `ssh-keygen -l` names a key.
fn ssh_key_summary(key: &str) -> String {
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return format!("(not an SSH public key: {key:.40})");
    };
    let comment: Vec<&str> = parts.collect();
    match STANDARD.decode(blob) {
        Ok(raw) => format!(
            "{kind} SHA256:{} {}",
            STANDARD_NO_PAD.encode(Sha256::digest(raw)),
            comment.join(" ")
        )
        .trim_end()
        .to_string(),
        Err(_) => format!("(not an SSH public key: {key:.40})"),
    }
}

fn resource_summary(resource: &Value) -> String {
    let mut s = text(&resource["source"]);
    if let Some(hash) = resource["verification"]["hash"].as_str() {
        let _ = write!(s, " (verified by {hash})");
    }
    s
}

fn node_meta(node: &Value, default_mode: i64) -> String {
    let mode = node["mode"].as_i64().unwrap_or(default_mode);
    let who = |v: &Value| {
        v["name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| v["id"].as_i64().map(|id| id.to_string()))
    };
    let owner = match (who(&node["user"]), who(&node["group"])) {
        (None, None) => String::new(),
        (user, group) => format!(
            "  {}:{}",
            user.unwrap_or_else(|| "root".into()),
            group.unwrap_or_else(|| "root".into())
        ),
    };
    format!("{mode:04o}{owner}")
}

fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map_or(&[], Vec::as_slice)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Replaces each bootstrap token (`cgt1.<id>.<secret>`) with [`REDACTED`].
pub fn redact_tokens(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("cgt1.") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("cgt1.") {
        out.push_str(&rest[..start]);
        let token = &rest[start..];
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
            .unwrap_or(token.len());
        out.push_str(REDACTED);
        rest = &token[end..];
    }
    out.push_str(rest);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_wherever_they_stand() {
        assert_eq!(
            redact_tokens("COREGEN_TOKEN='cgt1.abc_-D.xyz'\nnext"),
            "COREGEN_TOKEN='<redacted>'\nnext"
        );
        assert_eq!(redact_tokens("no token"), "no token");
    }

    #[test]
    fn ssh_keys_are_named_by_fingerprint() {
        // What `ssh-keygen -lf` prints for this key.
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0n1m4j7pX0mHcS3y2C0b2wN8Qn1Qm3cV9dZQkq7sE ops@x";
        assert_eq!(
            ssh_key_summary(key),
            "ssh-ed25519 SHA256:NuYn5UnFe4Q510SaGp8LA26sPx9W4IvPTUZKIaDG/hY ops@x"
        );
        assert!(ssh_key_summary("garbage").starts_with("(not an SSH public key"));
    }

    #[test]
    fn not_a_config_is_refused() {
        assert!(show(b"{}").is_err());
        assert!(show(b"garbage").is_err());
    }

    #[test]
    fn a_diff_is_empty_only_for_equal_texts() {
        assert_eq!(diff("a\n", "a\n", "old", "new"), "");
        let d = diff("a\nb\n", "a\nc\n", "old", "new");
        assert!(d.contains("-b\n") && d.contains("+c\n"), "{d}");
    }
}
