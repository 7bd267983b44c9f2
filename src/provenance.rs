//! Where each entry of a host's config came from, for `coregen show
//! --why`: for every file, directory, link, unit, drop-in and kernel
//! argument, the layer that set it (a group, the host's own file, a
//! Butane snippet, or coregen itself; `hosts/cluster.toml` declares none) and the earlier layers it
//! overrode.
//!
//! Nothing here restates a merge rule. The inventory's layers are walked
//! by the merge that loaded the host, traced ([`Inventory::trace`]); the
//! snippets are the translations the renderer merged
//! ([`Renderer::render_with_snippets`]), read in the order it merged them;
//! and the entries listed are those of the config actually rendered, so
//! what no layer declared is what the renderer added (the hostname, the CA
//! anchors, the enrollment, the drop-ins that gate units on it). All of
//! this runs only when asked: rendering does not pay for it.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::contract::{is_coregen_unit, template_of_file};
use crate::error::{Place, Result};
use crate::ignition::SpecVersion;
use crate::inventory::{
    Contents, Declaration, Declared, Host, Inventory, LayerName, Origin, Snippet,
};
use crate::pki::CaCert;
use crate::render::Renderer;
use crate::snippet::Translation;
use crate::template::{self, Templates};

/// What set an entry, or was overridden by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A layer of the inventory, and where in its file.
    Inventory { layer: LayerName, place: Place },
    /// A Butane snippet (`templates/...`), and where the inventory lists it.
    Snippet { file: PathBuf, listed_at: Place },
    /// coregen itself: from a template (the built-in of that name, or the
    /// project's file that replaces it), or from its own code.
    BuiltIn {
        template: Option<String>,
        file: Option<PathBuf>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Inventory { layer, place } => {
                match layer {
                    LayerName::Group(name) => write!(f, "group {name}")?,
                    LayerName::Host => write!(f, "host")?,
                }
                write!(f, " ({})", line_of(place))
            }
            Source::Snippet { file, listed_at } => write!(
                f,
                "snippet {} (listed at {})",
                file.display(),
                line_of(listed_at)
            ),
            Source::BuiltIn {
                template: Some(name),
                file: None,
            } => write!(f, "built-in (template {name})"),
            Source::BuiltIn {
                template: Some(name),
                file: Some(file),
            } => write!(f, "built-in (template {name}, from {})", file.display()),
            Source::BuiltIn { template: None, .. } => write!(f, "built-in (coregen)"),
        }
    }
}

/// `hosts/node1.toml:12`.
fn line_of(place: &Place) -> String {
    match place.line {
        Some(line) => format!("{}:{line}", place.file.display()),
        None => place.file.display().to_string(),
    }
}

/// One entry of the config and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traced {
    /// The path, the unit or drop-in name, or `+ arg` / `- arg`.
    pub name: String,
    pub set_by: Source,
    /// The template of its contents, as `NAME (built-in)` or `NAME
    /// (templates/NAME.hbs)`, when the inventory names one.
    pub template: Option<String>,
    /// The earlier declarations it replaced, the nearest first.
    pub overrides: Vec<Source>,
    /// Kernel arguments only: later layers that listed it again, which the
    /// union kept once, at its first place.
    pub also: Vec<Source>,
    /// Units only: their drop-ins.
    pub dropins: Vec<Traced>,
}

/// Where every entry of one host's config came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub host: String,
    pub kernel_arguments: Vec<Traced>,
    pub directories: Vec<Traced>,
    pub files: Vec<Traced>,
    pub links: Vec<Traced>,
    pub units: Vec<Traced>,
}

/// Renders `host` (redacted, as `show --host` does) and says where each
/// entry of its config came from.
pub fn explain(
    inventory: &Inventory,
    templates: &Templates,
    cas: &[CaCert],
    spec: SpecVersion,
    host: &Host,
) -> Result<Provenance> {
    let mut renderer = Renderer::new(inventory, templates, cas, spec);
    let (config, snippets) = renderer.render_with_snippets(host, None)?;
    let declarations = inventory.trace(host)?;
    let root = inventory.root.as_path();
    let snippets: Vec<(&Snippet, &Translation)> = host
        .butane
        .iter()
        .map(|s| &**s)
        .zip(snippets.iter().map(|t| &**t))
        .collect();
    Ok(attribute(
        host.name.as_str(),
        root,
        templates,
        &declarations,
        &snippets,
        config.json(),
    ))
}

/// One declaration of an entry, while the histories are gathered.
#[derive(Clone)]
struct Step {
    source: Source,
    template: Option<String>,
    /// Kernel arguments: in `shouldNotExist`.
    remove: bool,
    /// Whether the step sets the entry itself, not only drop-ins of a unit.
    sets: bool,
    /// A snippet's step: merged by Ignition's rules, under which a kernel
    /// argument in one list takes it out of the other.
    snippet: bool,
}

/// Each entry's declarations in merge order, by kind and key.
#[derive(Default)]
struct Histories {
    files: HashMap<String, Vec<Step>>,
    directories: HashMap<String, Vec<Step>>,
    links: HashMap<String, Vec<Step>>,
    units: HashMap<String, Vec<Step>>,
    dropins: HashMap<(String, String), Vec<Step>>,
    kernel_arguments: HashMap<String, Vec<Step>>,
}

fn push(map: &mut HashMap<String, Vec<Step>>, key: &str, step: Step) {
    map.entry(key.to_string()).or_default().push(step);
}

/// The attribution, from the inventory's traced merge, the snippets in the
/// order they were merged, and the config rendered.
fn attribute(
    host: &str,
    root: &Path,
    templates: &Templates,
    declarations: &[Declaration],
    snippets: &[(&Snippet, &Translation)],
    config: &Value,
) -> Provenance {
    let relative = |path: &Path| -> PathBuf {
        path.strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let place = |origin: &Origin| -> Place {
        let place = origin.place();
        Place {
            file: relative(&place.file),
            ..place.clone()
        }
    };
    let template_of = |contents: Option<&Contents>| -> Option<String> {
        let Some(Contents::Template { name, .. }) = contents else {
            return None;
        };
        Some(match templates.origin(name) {
            Some(template::Origin::File(file)) => format!("{name} ({})", relative(file).display()),
            _ => format!("{name} (built-in)"),
        })
    };

    let mut h = Histories::default();
    for d in declarations {
        let step = |template: Option<String>, remove: bool| Step {
            source: Source::Inventory {
                layer: d.layer.clone(),
                place: place(&d.origin),
            },
            template,
            remove,
            sets: true,
            snippet: false,
        };
        match &d.declared {
            Declared::File(f) => push(
                &mut h.files,
                f.path.as_str(),
                step(template_of(f.contents.as_ref()), false),
            ),
            Declared::Directory(dir) => {
                push(&mut h.directories, dir.path.as_str(), step(None, false))
            }
            Declared::Unit(u) => {
                push(
                    &mut h.units,
                    u.name.as_str(),
                    step(template_of(u.contents.as_ref()), false),
                );
                // A unit replaces the earlier one whole, drop-ins and all.
                for dropin in &u.dropins {
                    let step = Step {
                        source: Source::Inventory {
                            layer: d.layer.clone(),
                            place: place(&dropin.origin),
                        },
                        template: template_of(Some(&dropin.contents)),
                        remove: false,
                        sets: true,
                        snippet: false,
                    };
                    h.dropins
                        .entry((u.name.to_string(), dropin.name.to_string()))
                        .or_default()
                        .push(step);
                }
            }
            Declared::KernelArgument { value, remove } => {
                push(&mut h.kernel_arguments, value, step(None, *remove));
            }
        }
    }

    for (snippet, translation) in snippets {
        let source = Source::Snippet {
            file: Path::new("templates").join(&snippet.name),
            listed_at: place(&snippet.origin),
        };
        let step = |sets: bool, remove: bool| Step {
            source: source.clone(),
            template: None,
            remove,
            sets,
            snippet: true,
        };
        let json = translation.config();
        let storage = json.get("storage");
        for (kind, map) in [
            ("files", &mut h.files),
            ("directories", &mut h.directories),
            ("links", &mut h.links),
        ] {
            for node in array(storage.and_then(|s| s.get(kind))) {
                push(map, text(node, "path"), step(true, false));
            }
        }
        for unit in array(json.get("systemd").and_then(|s| s.get("units"))) {
            let name = text(unit, "name");
            let sets = unit
                .as_object()
                .is_some_and(|u| u.keys().any(|k| k != "name" && k != "dropins"));
            push(&mut h.units, name, step(sets, false));
            for dropin in array(unit.get("dropins")) {
                h.dropins
                    .entry((name.to_string(), text(dropin, "name").to_string()))
                    .or_default()
                    .push(step(true, false));
            }
        }
        let kargs = json.get("kernelArguments");
        for (list, remove) in [("shouldExist", false), ("shouldNotExist", true)] {
            for arg in array(kargs.and_then(|k| k.get(list))) {
                let value = arg.as_str().unwrap_or_default();
                push(&mut h.kernel_arguments, value, step(true, remove));
            }
        }
    }

    let built_in = |template: Option<&str>| Source::BuiltIn {
        template: template.map(str::to_string),
        file: template.and_then(|name| match templates.origin(name) {
            Some(template::Origin::File(file)) => Some(relative(file)),
            _ => None,
        }),
    };
    let storage = &config["storage"];
    let nodes = |kind: &str, history: &HashMap<String, Vec<Step>>| -> Vec<Traced> {
        array(storage.get(kind))
            .map(|node| {
                let path = text(node, "path");
                let steps = history.get(path).map(Vec::as_slice).unwrap_or_default();
                let template = template_of_file(path);
                replaced(path, steps, || built_in(template))
            })
            .collect()
    };
    let files = nodes("files", &h.files);
    let directories = nodes("directories", &h.directories);
    let links = nodes("links", &h.links);

    let mut units = Vec::new();
    for unit in array(config["systemd"].get("units")) {
        let name = text(unit, "name");
        let steps = h.units.get(name).map(Vec::as_slice).unwrap_or_default();
        // A snippet that only adds drop-ins to a unit leaves the unit as
        // it was; it sets the unit only when nothing else declares it.
        let setting: Vec<Step> = steps.iter().filter(|s| s.sets).cloned().collect();
        let steps = if setting.is_empty() && !steps.is_empty() {
            &steps[..1]
        } else {
            &setting[..]
        };
        let template = is_coregen_unit(name).then_some(name);
        let mut traced = replaced(name, steps, || built_in(template));
        for dropin in array(unit.get("dropins")) {
            let dropin_name = text(dropin, "name");
            let key = (name.to_string(), dropin_name.to_string());
            let steps = h.dropins.get(&key).map(Vec::as_slice).unwrap_or_default();
            traced
                .dropins
                .push(replaced(dropin_name, steps, || built_in(None)));
        }
        units.push(traced);
    }

    let kargs = &config["kernelArguments"];
    let mut kernel_arguments = Vec::new();
    for (list, remove, sign) in [("shouldExist", false, '+'), ("shouldNotExist", true, '-')] {
        for arg in array(kargs.get(list)) {
            let value = arg.as_str().unwrap_or_default();
            let steps = h
                .kernel_arguments
                .get(value)
                .map(Vec::as_slice)
                .unwrap_or_default();
            kernel_arguments.push(kernel_argument(
                &format!("{sign} {value}"),
                steps,
                remove,
                || built_in(None),
            ));
        }
    }

    Provenance {
        host: host.to_string(),
        kernel_arguments,
        directories,
        files,
        links,
        units,
    }
}

/// An entry keyed by path or name: the last declaration set it, and
/// replaced each one before it. With none, coregen added it.
fn replaced(name: &str, steps: &[Step], built_in: impl FnOnce() -> Source) -> Traced {
    let (set_by, template, overrides) = match steps.split_last() {
        Some((last, earlier)) => (
            last.source.clone(),
            last.template.clone(),
            earlier.iter().rev().map(|s| s.source.clone()).collect(),
        ),
        None => (built_in(), None, Vec::new()),
    };
    Traced {
        name: name.to_string(),
        set_by,
        template,
        overrides,
        also: Vec::new(),
        dropins: Vec::new(),
    }
}

/// A kernel argument in the list `remove` says. The inventory's layers
/// union each list, keeping an argument at its first place; a snippet,
/// merged by Ignition's rules, also takes it out of the other list. So the
/// argument was set by its first declaration in this list since the last
/// snippet that listed it in the other (or, should the config hold it
/// anyway, its first in this list); what came before was overridden, and
/// what repeated it in this list later is `also`.
fn kernel_argument(
    name: &str,
    steps: &[Step],
    remove: bool,
    built_in: impl FnOnce() -> Source,
) -> Traced {
    let in_list = |from: usize| (from..steps.len()).find(|&i| steps[i].remove == remove);
    let since = steps
        .iter()
        .rposition(|s| s.snippet && s.remove != remove)
        .map_or(0, |i| i + 1);
    let Some(first) = in_list(since).or_else(|| in_list(0)) else {
        return replaced(name, &[], built_in);
    };
    Traced {
        name: name.to_string(),
        set_by: steps[first].source.clone(),
        template: None,
        overrides: steps[..first]
            .iter()
            .rev()
            .map(|s| s.source.clone())
            .collect(),
        also: steps[first + 1..]
            .iter()
            .filter(|s| s.remove == remove)
            .map(|s| s.source.clone())
            .collect(),
        dropins: Vec::new(),
    }
}

fn array(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl Provenance {
    /// The readable form: a section per kind, in the order `coregen show`
    /// lists them; each entry with what set it, and below it what it
    /// overrode, the nearest first.
    pub fn text(&self) -> String {
        let mut out = format!(
            "where each entry of {}'s config comes from, and what it overrode\n\
             (a later layer overrides an earlier one: the groups in the host's order, `all` \
             first, then the host,\n then the Butane snippets in order; built-in is what \
             coregen adds itself)\n",
            self.host
        );
        for (heading, entries) in [
            ("kernel arguments", &self.kernel_arguments),
            ("directories", &self.directories),
            ("files", &self.files),
            ("links", &self.links),
            ("units", &self.units),
        ] {
            if entries.is_empty() {
                continue;
            }
            out.push_str(heading);
            out.push('\n');
            for entry in entries {
                entry.write(&mut out, 1, "");
            }
        }
        out
    }
}

impl Traced {
    fn write(&self, out: &mut String, depth: usize, prefix: &str) {
        let indent = "  ".repeat(depth);
        let _ = writeln!(out, "{indent}{prefix}{}  {}", self.name, self.set_by);
        if let Some(template) = &self.template {
            let _ = writeln!(out, "{indent}  template: {template}");
        }
        for source in &self.overrides {
            let _ = writeln!(out, "{indent}  overrides: {source}");
        }
        for source in &self.also {
            let _ = writeln!(out, "{indent}  also listed by: {source}");
        }
        for dropin in &self.dropins {
            dropin.write(out, depth + 1, "drop-in ");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::contract::{ENROLL_SCRIPT, ENROLL_UNIT};
    use crate::inventory::{Dropin, Effect, FileEntry, Mode, Unit};

    fn origin(file: &str, line: usize) -> Origin {
        Origin::new(Place::at(format!("/p/{file}"), line, 1), "x".into())
    }

    fn declared(layer: LayerName, file: &str, line: usize, declared: Declared) -> Declaration {
        Declaration {
            layer,
            origin: origin(file, line),
            declared,
            effect: Effect::Added,
        }
    }

    fn file(path: &str, template: Option<&str>) -> Declared {
        Declared::File(Arc::new(FileEntry {
            path: path.parse().unwrap(),
            mode: Mode::new(0o644),
            user: None,
            group: None,
            overwrite: true,
            contents: template.map(|name| Contents::Template {
                name: name.into(),
                origin: origin("hosts/x.toml", 1),
            }),
            origin: origin("hosts/x.toml", 1),
        }))
    }

    fn unit(name: &str, dropins: &[(&str, usize)], file: &str) -> Declared {
        Declared::Unit(Arc::new(Unit {
            name: name.parse().unwrap(),
            enabled: Some(true),
            mask: false,
            contents: None,
            dropins: dropins
                .iter()
                .map(|(name, line)| Dropin {
                    name: name.parse().unwrap(),
                    contents: Contents::Inline(String::new()),
                    origin: origin(file, *line),
                })
                .collect(),
            origin: origin(file, 1),
        }))
    }

    fn group(name: &str) -> LayerName {
        LayerName::Group(name.into())
    }

    #[test]
    fn the_last_declaration_sets_an_entry_and_overrides_the_ones_before() {
        let declarations = [
            declared(
                group("all"),
                "hosts/groups/all.toml",
                3,
                file("/etc/motd", None),
            ),
            declared(
                group("web"),
                "hosts/groups/web.toml",
                4,
                file("/etc/motd", None),
            ),
            declared(
                LayerName::Host,
                "hosts/node1.toml",
                6,
                file("/etc/motd", Some("motd")),
            ),
            declared(
                group("web"),
                "hosts/groups/web.toml",
                9,
                unit(
                    "web.service",
                    &[("20-a.conf", 12), ("30-b.conf", 15)],
                    "hosts/groups/web.toml",
                ),
            ),
            declared(
                LayerName::Host,
                "hosts/node1.toml",
                9,
                unit("web.service", &[("20-a.conf", 11)], "hosts/node1.toml"),
            ),
        ];
        let config = json!({
            "storage": { "files": [
                { "path": "/etc/hostname" },
                { "path": ENROLL_SCRIPT },
                { "path": "/etc/motd" },
            ] },
            "systemd": { "units": [
                { "name": ENROLL_UNIT },
                { "name": "web.service", "dropins": [
                    { "name": "20-a.conf" },
                    { "name": crate::render::GATE_DROPIN },
                ] },
            ] },
        });
        let templates = Templates::built_in();
        let p = attribute(
            "node1",
            Path::new("/p"),
            &templates,
            &declarations,
            &[],
            &config,
        );
        let names: Vec<String> = p
            .files
            .iter()
            .map(|t| format!("{}  {}", t.name, t.set_by))
            .collect();
        assert_eq!(
            names,
            [
                "/etc/hostname  built-in (coregen)",
                "/usr/local/bin/coregen-enroll  built-in (template coregen-enroll)",
                "/etc/motd  host (hosts/node1.toml:6)",
            ]
        );
        let motd = &p.files[2];
        assert_eq!(motd.template.as_deref(), Some("motd (built-in)"));
        let overrides: Vec<String> = motd.overrides.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            overrides,
            [
                "group web (hosts/groups/web.toml:4)",
                "group all (hosts/groups/all.toml:3)",
            ]
        );
        assert_eq!(
            p.units[0].set_by.to_string(),
            "built-in (template coregen-enroll.service)"
        );
        assert_eq!(
            p.text().split_once("units\n").unwrap().1,
            "  coregen-enroll.service  built-in (template coregen-enroll.service)\n\
             \x20 web.service  host (hosts/node1.toml:9)\n\
             \x20   overrides: group web (hosts/groups/web.toml:9)\n\
             \x20   drop-in 20-a.conf  host (hosts/node1.toml:11)\n\
             \x20     overrides: group web (hosts/groups/web.toml:12)\n\
             \x20   drop-in 10-coregen-enrolled.conf  built-in (coregen)\n"
        );
    }

    fn step(source: &str, remove: bool, snippet: bool) -> Step {
        Step {
            source: Source::BuiltIn {
                template: Some(source.into()),
                file: None,
            },
            template: None,
            remove,
            sets: true,
            snippet,
        }
    }

    fn kernel(steps: &[Step], remove: bool) -> (String, Vec<String>, Vec<String>) {
        let t = kernel_argument("x", steps, remove, || unreachable!());
        let name = |s: &Source| match s {
            Source::BuiltIn {
                template: Some(n), ..
            } => n.clone(),
            _ => unreachable!(),
        };
        (
            name(&t.set_by),
            t.overrides.iter().map(name).collect(),
            t.also.iter().map(name).collect(),
        )
    }

    #[test]
    fn a_kernel_argument_is_set_by_its_first_listing_since_a_snippet_moved_it() {
        let (g, h) = (step("group", false, false), step("host", false, false));
        // The union keeps the first; a repeat is `also`.
        assert_eq!(
            kernel(&[g.clone(), h.clone()], false),
            ("group".into(), vec![], vec!["host".into()])
        );
        // A snippet moves it to the other list: it overrides both.
        let s = step("snippet", true, true);
        assert_eq!(
            kernel(&[g.clone(), h.clone(), s.clone()], true),
            (
                "snippet".into(),
                vec!["host".into(), "group".into()],
                vec![]
            )
        );
        // And a later snippet back again.
        let back = step("back", false, true);
        assert_eq!(
            kernel(&[g.clone(), s.clone(), back], false),
            (
                "back".into(),
                vec!["snippet".into(), "group".into()],
                vec![]
            )
        );
        // Inventory layers do not move it: both lists keep theirs.
        let not = step("not", true, false);
        assert_eq!(
            kernel(&[g.clone(), not.clone()], false),
            ("group".into(), vec![], vec![])
        );
        assert_eq!(
            kernel(&[g, not], true),
            ("not".into(), vec!["group".into()], vec![])
        );
    }
}
