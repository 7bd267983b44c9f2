//! Butane snippets of an inventory: `butane = ["lb.bu", "lb.bu.hbs"]` in a
//! group or host file names files in `templates/`, whose Ignition
//! translations are merged into the host's config with Ignition's own merge
//! rules (files, directories and links by path, units and drop-ins by name,
//! users and groups by name), each snippet over the config and the
//! snippets before it.
//!
//! A name ending in `.hbs` is a template: it is rendered for the host first,
//! with the same context as other templates. `local` paths in a snippet
//! are read from `templates/` and cannot leave it. Each distinct text is
//! translated once and remembered, so a thousand hosts sharing a group
//! snippet translate it once; identical text gives identical Ignition.
//! Each renderer remembers its own translations ([`SnippetCache`]), so that
//! the threads rendering hosts side by side never wait for each other;
//! what it remembers is bounded, since a snippet rendered with each host's
//! name is new for every host, and `serve` renders for as long as it runs.
//!
//! A snippet is held to more than `coregen butane` holds a document: any
//! warning is an error (as under `--strict`); it may not need a newer
//! Ignition spec than its host renders; and it may not touch what coregen
//! writes itself (the hostname, the CA anchors, the enrollment files and
//! unit). Each such error names the snippet's file, line and column.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::butane::{self, Options, Translated, ign};
use crate::contract::{
    ENROLL_ENV, ENROLL_SCRIPT, ENROLL_UNIT, ca_anchor_path, is_coregen_unit, template_of_file,
};
use crate::error::{Error, Place, Result};
use crate::ignition::SpecVersion;
use crate::inventory::{Host, Snippet};

/// The snippet files of a project.
pub struct Snippets {
    /// `templates/`, where snippets and their `local` files live.
    dir: PathBuf,
}

type Cached = std::result::Result<Arc<Translation>, SnippetError>;

/// How many translations a cache remembers.
const CACHE_ENTRIES: usize = 256;

/// How many texts a cache remembers having seen once.
const SEEN_ONCE: usize = 4096;

/// A renderer's translations, by snippet name and text: the most recently
/// used ones, each with when it was last used.
///
/// A text is remembered only when it comes a second time: a snippet
/// rendered with each host's name never does, and remembering hundreds of
/// such translations costs more (memory, and the time to touch it) than
/// translating each shared text once more.
#[derive(Default)]
pub struct SnippetCache {
    entries: HashMap<(String, String), (Cached, u64)>,
    clock: u64,
    /// Hashes of the texts seen once and not remembered.
    seen_once: HashSet<u64>,
}

impl SnippetCache {
    fn get(&mut self, key: &(String, String)) -> Option<Cached> {
        self.clock += 1;
        let (cached, used) = self.entries.get_mut(key)?;
        *used = self.clock;
        Some(cached.clone())
    }

    /// Remembers `value` if `key` came before; else notes that it came.
    fn offer(&mut self, key: (String, String), value: Cached) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        if self.seen_once.len() >= SEEN_ONCE {
            self.seen_once.clear();
        }
        if self.seen_once.insert(hasher.finish()) {
            return;
        }
        if self.entries.len() >= CACHE_ENTRIES {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(key, (value, self.clock));
    }
}

/// What a host needs of a snippet's translation: the config to merge, as
/// JSON (only what it sets), and the spec it needs. Only this is kept, not
/// the translation's source map.
pub struct Translation {
    /// The Ignition spec the snippet's Butane version translates to.
    needs: SpecVersion,
    /// `fcos 1.5.0`, for messages.
    version: &'static str,
    /// Where the document says `version`.
    version_place: Place,
    config: serde_json::Map<String, serde_json::Value>,
}

impl Translation {
    /// What the snippet sets, as sparse Ignition JSON of the host's spec:
    /// only the keys it gives.
    pub fn config(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.config
    }
}

/// A translation error, kept to be reported for every host that uses the
/// snippet.
#[derive(Clone, Debug)]
struct SnippetError {
    place: Place,
    key: Option<String>,
    message: String,
}

impl SnippetError {
    fn to_error(&self) -> Error {
        let mut e = Error::new(&self.message).at(self.place.clone());
        if let Some(key) = &self.key {
            e = e.key(key);
        }
        e
    }
}

impl Snippets {
    pub fn new(dir: PathBuf) -> Snippets {
        Snippets { dir }
    }

    /// The translations of `host`'s snippets, in merge order, checked for
    /// a host that renders `spec`, made or taken from `cache`. `render`
    /// renders a template by name with the host's context.
    pub fn for_host(
        &self,
        cache: &mut SnippetCache,
        host: &Host,
        spec: SpecVersion,
        render: &mut dyn FnMut(&str) -> Result<String>,
    ) -> Result<Vec<Arc<Translation>>> {
        let mut out = Vec::with_capacity(host.butane.len());
        for snippet in &host.butane {
            let in_host = |e: Error| {
                e.note(format!(
                    "Butane snippet of host `{}`, listed at {}",
                    host.name,
                    snippet.origin.place()
                ))
            };
            let file = self.file(snippet);
            let text = self.text(snippet, &file, render)?;
            let translation = self
                .translate(cache, &snippet.name, &file, text)
                .map_err(in_host)?;
            check_spec(&translation, spec, host).map_err(in_host)?;
            out.push(translation);
        }
        Ok(out)
    }

    /// The snippet's path as messages show it: `templates/lb.bu`.
    fn file(&self, snippet: &Snippet) -> PathBuf {
        let path = self.dir.join(&snippet.name);
        path.strip_prefix(".")
            .map(Path::to_path_buf)
            .unwrap_or(path)
    }

    /// The snippet's text: the file as it is, or a template rendered.
    fn text(
        &self,
        snippet: &Snippet,
        file: &Path,
        render: &mut dyn FnMut(&str) -> Result<String>,
    ) -> Result<String> {
        if let Some(template) = snippet.name.strip_suffix(".hbs") {
            return render(template)
                .map_err(|e| e.note(format!("rendering Butane snippet {}", file.display())));
        }
        std::fs::read_to_string(file).map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                format!("no Butane snippet {}", file.display())
            } else {
                format!("cannot read Butane snippet {}: {e}", file.display())
            };
            snippet.origin.error(what)
        })
    }

    /// The translation of `text`, made once per snippet name and text
    /// while `cache` remembers it.
    fn translate(
        &self,
        cache: &mut SnippetCache,
        name: &str,
        file: &Path,
        text: String,
    ) -> Result<Arc<Translation>> {
        let key = (name.to_string(), text);
        if let Some(cached) = cache.get(&key) {
            return cached.map_err(|e| e.to_error());
        }
        let result = translate(&key.1, file, &self.dir);
        cache.offer(key, result.clone());
        result.map_err(|e| e.to_error())
    }
}

/// Translates one snippet text, refusing warnings as well as errors, and
/// anything that coregen manages itself.
fn translate(text: &str, file: &Path, dir: &Path) -> Cached {
    let opts = Options {
        files_dir: Some(dir.to_path_buf()),
    };
    let outcome = butane::translate_document(text.as_bytes(), &opts);
    if let Some(entry) = outcome.report.entries.first() {
        let place = match entry.marker {
            Some(pos) => Place::at(file, pos.line, pos.column),
            None => Place::file(file),
        };
        let mut message = format!("{}: {}", entry.kind.as_str(), entry.message);
        let more = outcome.report.entries.len() - 1;
        if more > 0 {
            message.push_str(&format!(" (and {more} more)"));
        }
        return Err(SnippetError {
            place,
            key: (!entry.path.is_empty()).then(|| entry.path.to_string()),
            message,
        });
    }
    let t = outcome.result.map_err(|message| SnippetError {
        place: Place::file(file),
        key: None,
        message,
    })?;
    check_managed(&t, file)?;
    let pos = t.position_of_key("version");
    let serde_json::Value::Object(config) = ign::json::to_value(&t.config) else {
        unreachable!("a config is an object");
    };
    Ok(Arc::new(Translation {
        needs: t
            .version
            .ignition()
            .parse()
            .expect("every Butane version coregen reads maps to a spec it writes"),
        version: t.version.as_str(),
        version_place: Place::at(file, pos.line, pos.column),
        config,
    }))
}

/// A snippet may not need a newer Ignition spec than its host renders.
fn check_spec(t: &Translation, spec: SpecVersion, host: &Host) -> Result<()> {
    if t.needs <= spec {
        return Ok(());
    }
    Err(Error::new(format!(
        "fcos {} translates to Ignition spec {}, newer than the {spec} that host `{}` \
         renders; write the snippet for an older version, or render a newer spec (`spec` in \
         hosts/cluster.toml, or --spec)",
        t.version, t.needs, host.name
    ))
    .at(t.version_place.clone())
    .key("$.version"))
}

/// What coregen writes itself, and so no snippet may set.
fn managed(path: &str) -> Option<&'static str> {
    let anchors = ca_anchor_path("");
    let anchor_prefix = anchors.trim_end_matches(".crt");
    if path == "/etc/hostname" {
        Some("the hostname")
    } else if path.starts_with(anchor_prefix) {
        Some("a CA anchor")
    } else if path == ENROLL_SCRIPT
        || path == ENROLL_ENV
        || Path::new(path).starts_with(Path::new(ENROLL_ENV).parent().expect("an absolute file"))
    {
        Some("the first-boot enrollment")
    } else if template_of_file(path).is_some() {
        Some("a script of the enrollment or the renewal")
    } else {
        None
    }
}

/// A snippet may not touch the hostname, the CA anchors, the enrollment
/// files and unit, or replace the config as a whole.
fn check_managed(t: &Translated, file: &Path) -> std::result::Result<(), SnippetError> {
    let refuse = |json: &[&str], message: String| {
        let (source, pos) = t.source_of(json);
        Err(SnippetError {
            place: Place::at(file, pos.line, pos.column),
            key: Some(source),
            message,
        })
    };
    let written_by_coregen = |what: &str| {
        format!("{what}, which coregen writes itself: a Butane snippet may not set it")
    };
    let storage = &t.config.storage;
    let nodes = storage
        .files
        .iter()
        .map(|f| ("files", &f.path))
        .chain(storage.directories.iter().map(|d| ("directories", &d.path)))
        .chain(storage.links.iter().map(|l| ("links", &l.path)));
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (list, path) in nodes {
        let i = index.entry(list).or_default();
        if let Some(what) = managed(path) {
            let at = i.to_string();
            return refuse(
                &["storage", list, &at, "path"],
                written_by_coregen(&format!("{path} is {what}")),
            );
        }
        *i += 1;
    }
    for (i, unit) in t.config.systemd.units.iter().enumerate() {
        if is_coregen_unit(&unit.name) {
            let at = i.to_string();
            return refuse(
                &["systemd", "units", &at, "name"],
                written_by_coregen(&format!(
                    "{} is the {}",
                    unit.name,
                    if unit.name == ENROLL_UNIT {
                        "first-boot enrollment"
                    } else {
                        "certificate renewal"
                    }
                )),
            );
        }
    }
    if t.config.ignition.config.replace != ign::Resource::default() {
        return refuse(
            &["ignition", "config", "replace"],
            "a Butane snippet may not replace the whole config (ignition.config.replace)"
                .to_string(),
        );
    }
    Ok(())
}

/// Merges `snippets`, in order, into a host's config (as a JSON value of
/// the spec the host renders), touching only what they set.
pub fn merge_into(config: &mut serde_json::Value, snippets: &[Arc<Translation>]) {
    if snippets.is_empty() {
        return;
    }
    let version = config["ignition"]["version"].take();
    for snippet in snippets {
        ign::merge::merge_into_json(config, &snippet.config);
    }
    config["ignition"]["version"] = version;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_paths() {
        assert_eq!(managed("/etc/hostname"), Some("the hostname"));
        assert_eq!(
            managed("/etc/pki/ca-trust/source/anchors/coregen-etcd.crt"),
            Some("a CA anchor")
        );
        assert_eq!(
            managed("/etc/coregen/enroll.env"),
            Some("the first-boot enrollment")
        );
        assert_eq!(
            managed("/etc/coregen/other"),
            Some("the first-boot enrollment")
        );
        assert_eq!(
            managed("/usr/local/bin/coregen-enroll"),
            Some("the first-boot enrollment")
        );
        assert_eq!(
            managed("/usr/local/bin/coregen-renew"),
            Some("a script of the enrollment or the renewal")
        );
        assert_eq!(managed("/etc/pki/ca-trust/source/anchors/site.crt"), None);
        assert_eq!(managed("/etc/motd"), None);
    }
}
