//! The handlebars templates that produce the contents of files, units and
//! drop-ins (never JSON: the config itself is built from typed structs).
//!
//! Built-in templates are compiled into the binary from the repository's
//! `templates/` folder; a file `templates/<name>.hbs` in the inventory
//! overrides the built-in of the same name or adds a new one. Rendering is
//! strict: a variable that is not defined is an error naming the template
//! file and line, never an empty string. HTML escaping is off, since the
//! output is unit files and shell scripts.
//!
//! No template may recurse without end or nest deeper than the stack
//! allows: every text is scanned before it compiles (`scan.rs`), and the
//! compiled set is checked as a whole when it loads (`limits.rs`), so that
//! rendering cannot overflow the stack, which would abort the process.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use handlebars::template::Template;
use handlebars::{
    Context, Handlebars, RenderError, RenderErrorReason, TemplateError, TemplateErrorReason,
};

use crate::error::{Error, Place, Result};
use crate::snippet::Snippets;

mod limits;
mod scan;

pub use limits::MAX_DEPTH;

/// Templates that ship inside the binary, by name.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "coregen-enroll",
        include_str!("../../templates/coregen-enroll.hbs"),
    ),
    (
        "coregen-enroll.service",
        include_str!("../../templates/coregen-enroll.service.hbs"),
    ),
    (
        "coregen-lib.sh",
        include_str!("../../templates/coregen-lib.sh.hbs"),
    ),
    (
        "coregen-renew",
        include_str!("../../templates/coregen-renew.hbs"),
    ),
    (
        "coregen-renew.service",
        include_str!("../../templates/coregen-renew.service.hbs"),
    ),
    (
        "coregen-renew.timer",
        include_str!("../../templates/coregen-renew.timer.hbs"),
    ),
    (
        "etcd-member.service",
        include_str!("../../templates/etcd-member.service.hbs"),
    ),
    (
        "zincati-updates.toml",
        include_str!("../../templates/zincati-updates.toml.hbs"),
    ),
];

/// The names of the built-in templates, in order.
pub fn built_in_names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

/// The text of built-in template `name`, whether or not a file overrides
/// it in a project.
pub fn built_in_text(name: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Where a template came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    File(PathBuf),
}

/// The largest template file: far beyond any real one, and small enough
/// that checking and compiling it stays quick.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;

pub struct Templates {
    registry: Handlebars<'static>,
    origins: BTreeMap<String, Origin>,
    cluster_use: ClusterUse,
    /// The templates without a single `{{`: their output is their text,
    /// the same for every host (the enrollment script is one).
    constant: BTreeMap<String, String>,
    /// The Butane snippets that live beside the templates.
    snippets: Snippets,
    /// What the recursion and depth check knows of each template, by name.
    summaries: BTreeMap<String, limits::Summary>,
    /// Texts rendered once ([`Templates::render_str`]) that passed the
    /// check already: a profile's names render for every CSR, and the
    /// check (compiling the text, walking every template) costs more than
    /// the render.
    checked: std::sync::RwLock<std::collections::HashSet<String>>,
}

/// Which cluster-wide context entries (`hosts`, `groups.<name>`) the
/// templates refer to. Those entries grow with the cluster (tens of
/// megabytes at ten thousand hosts), so the renderer builds only what some
/// template names. The scan reads the paths inside `{{...}}` and errs on
/// the side of including: a path it cannot place counts as a use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterUse {
    pub hosts: bool,
    pub all_groups: bool,
    pub groups: BTreeSet<String>,
}

impl ClusterUse {
    /// Adds what the expressions of template text `text` refer to.
    pub fn scan(&mut self, text: &str) {
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let expression = &rest[start + 2..];
            let end = expression.find("}}").unwrap_or(expression.len());
            let separators = |c: char| c.is_whitespace() || "()=|~{}#^>!\"'".contains(c);
            for token in expression[..end].split(separators) {
                self.path(token);
            }
            rest = &expression[end..];
        }
    }

    fn path(&mut self, token: &str) {
        // `@root.x`, `../x` and `/x` (a block's end) may all name a root entry.
        let mut path = token.trim_start_matches("@root.");
        while let Some(parent) = path.strip_prefix("../") {
            path = parent;
        }
        let mut segments = path
            .trim_start_matches('/')
            .split(['.', '/'])
            .map(|s| s.trim_start_matches('[').trim_end_matches(']'));
        match segments.next() {
            Some("hosts") => self.hosts = true,
            Some("groups") => match segments.next() {
                Some(group) if !group.is_empty() => {
                    self.groups.insert(group.to_string());
                }
                _ => self.all_groups = true,
            },
            _ => {}
        }
    }
}

impl Templates {
    /// The built-in templates, then every `*.hbs` in `dir` (when it exists)
    /// on top of them; refused if any can recurse without end or nest
    /// deeper than [`MAX_DEPTH`] when rendered.
    pub fn load(dir: &Path) -> Result<Templates> {
        let mut templates = Templates::built_in();
        templates.snippets = Snippets::new(dir.to_path_buf());
        for path in crate::files::with_extension(dir, "hbs")? {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| {
                    Error::new("template file name is not UTF-8").at(Place::file(&path))
                })?
                .to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "read", e))?;
            let display = path.strip_prefix(".").unwrap_or(&path).to_path_buf();
            templates.register(&name, &text, Origin::File(display))?;
        }
        // Only the whole set shows cycles between templates.
        templates.check_limits()?;
        Ok(templates)
    }

    pub fn built_in() -> Templates {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        let mut templates = Templates {
            registry,
            origins: BTreeMap::new(),
            cluster_use: ClusterUse::default(),
            constant: BTreeMap::new(),
            snippets: Snippets::new(PathBuf::from("templates")),
            summaries: BTreeMap::new(),
            checked: Default::default(),
        };
        for (name, text) in BUILT_IN {
            templates
                .register(name, text, Origin::BuiltIn)
                .expect("built-in templates compile (checked by a test)");
        }
        templates
            .check_limits()
            .expect("built-in templates pass the recursion check (checked by a test)");
        templates
    }

    /// Compiles `text` as template `name`, refusing what could overflow
    /// the stack when it compiles, or when it renders on its own.
    fn register(&mut self, name: &str, text: &str, origin: Origin) -> Result<()> {
        let file = origin.file(name);
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(Error::new(format!(
                "template `{name}` is {} bytes, more than the {MAX_TEMPLATE_BYTES} a template \
                 may have",
                text.len()
            ))
            .at(Place::file(&file)));
        }
        scan::check(text).map_err(|refused| {
            Error::new(format!(
                "template `{name}` does not compile: {}",
                refused.message
            ))
            .at(Place::at(&file, refused.line, refused.column))
        })?;
        self.registry
            .register_template_string(name, text)
            .map_err(|e| compile_error(name, &origin, &e))?;
        let template = self
            .registry
            .get_template(name)
            .expect("a template is registered once it compiles");
        let summary = limits::Summary::of(
            Some(name),
            format!("template `{name}`"),
            format!("`{name}`"),
            Some(&file),
            template,
            text.len(),
        )?;
        self.summaries.insert(name.to_string(), summary);
        self.origins.insert(name.to_string(), origin);
        self.cluster_use.scan(text);
        if text.contains("{{") {
            self.constant.remove(name);
        } else {
            self.constant.insert(name.to_string(), text.to_string());
        }
        Ok(())
    }

    /// Checks the registered templates together: no cycle of partials,
    /// no path through them deeper than [`MAX_DEPTH`].
    fn check_limits(&self) -> Result<()> {
        let all: Vec<&limits::Summary> = self.summaries.values().collect();
        limits::check(&all)
    }

    /// The Butane snippets of `templates/`, and their translations.
    pub fn snippets(&self) -> &Snippets {
        &self.snippets
    }

    /// What the templates use of `hosts` and `groups` (a replaced built-in
    /// still counts: including too much only costs memory).
    pub fn cluster_use(&self) -> &ClusterUse {
        &self.cluster_use
    }

    pub fn contains(&self, name: &str) -> bool {
        self.origins.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.origins.keys().map(String::as_str)
    }

    pub fn origin(&self, name: &str) -> Option<&Origin> {
        self.origins.get(name)
    }

    /// The text of template `name`: its file's, or the built-in's.
    pub fn source(&self, name: &str) -> Result<Option<String>> {
        match self.origins.get(name) {
            None => Ok(None),
            Some(Origin::BuiltIn) => Ok(built_in_text(name).map(str::to_string)),
            Some(Origin::File(path)) => std::fs::read_to_string(path)
                .map(Some)
                .map_err(|e| Error::io(path, "read", e)),
        }
    }

    /// The output of `name` when it is the same whatever the context: a
    /// template without expressions renders as its text.
    pub fn constant(&self, name: &str) -> Option<&str> {
        self.constant.get(name).map(String::as_str)
    }

    /// Renders `name` with `context`. The caller checks that `name` exists,
    /// so that it can point at the inventory key that named it.
    pub fn render(&self, name: &str, context: &Context) -> Result<String> {
        if let Some(text) = self.constant(name) {
            return Ok(text.to_string());
        }
        self.registry
            .render_with_context(name, context)
            .map_err(|e| self.render_error(name, e))
    }

    /// Renders a template given as text, such as a profile's name template.
    /// The text may include the loaded templates, and define inline
    /// partials they may include in turn, so it is checked with them for
    /// recursion and depth before it renders: this is the render-time half
    /// of the bound.
    pub fn render_str(&self, text: &str, context: &Context) -> Result<String> {
        self.check_text(text)?;
        self.registry
            .render_template_with_context(text, context)
            .map_err(|e| match e.reason() {
                RenderErrorReason::MissingVariable(Some(var)) => {
                    Error::new(format!("undefined variable `{var}` in {text:?}"))
                }
                reason => Error::new(format!("cannot render {text:?}: {reason}")),
            })
    }

    /// What [`Templates::register`] and [`Templates::load`] check, for a
    /// text that is compiled each time it renders.
    pub fn check_text(&self, text: &str) -> Result<()> {
        let seen = |checked: &std::collections::HashSet<String>| checked.contains(text);
        if self.checked.read().is_ok_and(|c| seen(&c)) {
            return Ok(());
        }
        self.check_text_now(text)?;
        if let Ok(mut checked) = self.checked.write() {
            checked.insert(text.to_string());
        }
        Ok(())
    }

    fn check_text_now(&self, text: &str) -> Result<()> {
        let cannot = |reason: &dyn std::fmt::Display| {
            Error::new(format!("cannot render {text:?}: {reason}"))
        };
        scan::check(text).map_err(|refused| {
            cannot(&format_args!(
                "{} (line {}, column {})",
                refused.message, refused.line, refused.column
            ))
        })?;
        let template = Template::compile(text).map_err(|e| cannot(&compile_reason(&e)))?;
        let summary = limits::Summary::of(
            None,
            format!("template {text:?}"),
            format!("{text:?}"),
            None,
            &template,
            text.len(),
        )?;
        let mut all: Vec<&limits::Summary> = self.summaries.values().collect();
        all.push(&summary);
        limits::check(&all)
    }

    fn render_error(&self, name: &str, err: RenderError) -> Error {
        // A partial or nested template may be the one that failed.
        let failed = err
            .template_name
            .clone()
            .unwrap_or_else(|| name.to_string());
        let file = match self.origins.get(&failed) {
            Some(origin) => origin.file(&failed),
            None => Origin::BuiltIn.file(&failed),
        };
        let place = Place {
            file,
            line: err.line_no,
            column: err.column_no,
        };
        let message = match err.reason() {
            RenderErrorReason::MissingVariable(Some(var)) => {
                format!("undefined variable `{var}` in template `{failed}`")
            }
            RenderErrorReason::MissingVariable(None) => {
                format!("undefined variable in template `{failed}`")
            }
            reason => format!("template `{failed}`: {reason}"),
        };
        Error::new(message).at(place)
    }
}

impl Origin {
    /// The file that messages name for template `name`.
    fn file(&self, name: &str) -> PathBuf {
        match self {
            Origin::File(path) => path.clone(),
            Origin::BuiltIn => PathBuf::from(format!("<built-in template {name}>")),
        }
    }
}

fn compile_error(name: &str, origin: &Origin, err: &TemplateError) -> Error {
    let file = origin.file(name);
    let place = match err.pos() {
        Some((line, column)) => Place::at(file, line, column),
        None => Place::file(file),
    };
    Error::new(format!(
        "template `{name}` does not compile: {}",
        compile_reason(err)
    ))
    .at(place)
}

/// Why a template does not compile. The parser stops with "stack limit
/// reached" on blocks nested some thousands deep: say so in coregen's terms.
fn compile_reason(err: &TemplateError) -> String {
    match err.reason() {
        TemplateErrorReason::InvalidSyntax(why) if why.contains("stack limit") => format!(
            "blocks nest too deep for the parser (coregen allows {MAX_DEPTH} levels when \
             rendering)"
        ),
        TemplateErrorReason::InvalidSyntax(why) => syntax_hint(why),
        reason => reason.to_string(),
    }
}

/// The parser's list of the grammar rules it expected, as an operator
/// reads it: what was wrong here, in words.
fn syntax_hint(expected: &str) -> String {
    let wants = |rule: &str| {
        expected
            .split([' ', ','])
            .any(|word| word.trim_matches(|c: char| !c.is_alphanumeric() && c != '_') == rule)
    };
    let what = if wants("helper_block_end") || wants("invert_tag") {
        "a block opened with `{{#...}}` is not closed with its `{{/...}}` (or a tag here is \
         not one handlebars knows)"
    } else if wants("helper_parameter") || wants("param") || wants("hash") {
        "a tag's parameters are incomplete here (a name, a value after `=`, or a `)`)"
    } else if wants("path") || wants("identifier") || wants("reference") {
        "a name is missing or malformed here"
    } else if wants("partial_exp") || wants("partial_identifier") {
        "a partial's name is missing here (`{{> name}}`)"
    } else {
        "this is not handlebars syntax: a tag is `{{name}}`, `{{#block}}...{{/block}}`, \
         `{{> partial}}` or `{{! comment}}`"
    };
    format!("invalid handlebars syntax: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_use_finds_root_paths_only() {
        let mut uses = ClusterUse::default();
        uses.scan("# hosts and groups in prose do not count\n{{host.groups}} {{this.hosts}}");
        assert_eq!(uses, ClusterUse::default());
        uses.scan("{{#each groups.etcd}}{{name}}{{/each}} {{lookup @root.groups.[db] 0}}");
        assert_eq!(uses.groups.iter().collect::<Vec<_>>(), ["db", "etcd"]);
        assert!(!uses.hosts && !uses.all_groups);
        uses.scan("{{#each ../hosts}}{{/each}}");
        assert!(uses.hosts);
        uses.scan("{{#with (lookup groups \"x\")}}{{/with}}");
        assert!(uses.all_groups);
    }
    use serde_json::json;

    #[test]
    fn built_ins_compile_and_match_the_templates_folder() {
        let t = Templates::built_in();
        let folder = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates"));
        let in_folder: Vec<String> = crate::files::with_extension(folder, "hbs")
            .unwrap()
            .into_iter()
            .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
            // The example inventory's Butane snippets are not built-ins.
            .filter(|name| !name.ends_with(".bu"))
            .collect();
        let built_in: Vec<&str> = t.names().collect();
        assert_eq!(
            built_in, in_folder,
            "every file in templates/ must be in BUILT_IN"
        );
    }

    #[test]
    fn files_override_built_ins_and_undefined_variables_fail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("etcd-member.service.hbs"),
            "[Unit]\nDescription={{host.name}}\nX={{host.nope}}\n",
        )
        .unwrap();
        let t = Templates::load(dir.path()).unwrap();
        assert!(matches!(
            t.origin("etcd-member.service"),
            Some(Origin::File(_))
        ));

        let ctx = Context::wraps(json!({"host": {"name": "node1"}})).unwrap();
        let err = t.render("etcd-member.service", &ctx).unwrap_err();
        let place = err.place().unwrap();
        assert_eq!(place.line, Some(3));
        assert!(place.file.ends_with("etcd-member.service.hbs"));
        assert!(err.message().contains("`host.nope`"), "{err}");
    }

    #[test]
    fn a_template_without_expressions_renders_as_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "#!/bin/sh\n# \\{ braces } and \\n stay as they are\n";
        std::fs::write(dir.path().join("plain.hbs"), text).unwrap();
        std::fs::write(dir.path().join("coregen-enroll.hbs"), "{{host.name}}\n").unwrap();
        let t = Templates::load(dir.path()).unwrap();
        assert_eq!(t.constant("plain"), Some(text));
        let ctx = Context::wraps(json!({"host": {"name": "node1"}})).unwrap();
        assert_eq!(
            t.registry.render_with_context("plain", &ctx).unwrap(),
            text,
            "handlebars agrees"
        );
        assert!(Templates::built_in().constant("coregen-enroll").is_some());
        assert_eq!(
            t.constant("coregen-enroll"),
            None,
            "an override replaces it"
        );
        assert_eq!(t.render("coregen-enroll", &ctx).unwrap(), "node1\n");
    }

    #[test]
    fn output_is_not_html_escaped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.hbs"), "{{v}}").unwrap();
        let t = Templates::load(dir.path()).unwrap();
        let ctx = Context::wraps(json!({"v": "a && b < c"})).unwrap();
        assert_eq!(t.render("x", &ctx).unwrap(), "a && b < c");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.hbs"), "ok\n{{#if x}}\nno close\n").unwrap();
        let err = Templates::load(dir.path()).err().unwrap();
        assert!(err.to_string().contains("bad.hbs"), "{err}");
        assert!(err.message().contains("does not compile"), "{err}");
    }
}
