//! Butane: translating Fedora CoreOS Butane documents (variant `fcos`,
//! versions 1.4.0, 1.5.0 and 1.6.0) into Ignition configs (3.3.0, 3.4.0
//! and 3.5.0) exactly as upstream `butane` v0.25.1 does: the same output,
//! and the same errors and warnings at the same places.
//!
//! The pipeline is upstream's, step for step, because the order of its
//! messages and which of them appear at all depend on it:
//!
//! 1. parse the YAML ([`yaml`]) and read `variant` and `version`;
//! 2. decode into the Butane structs ([`schema`], [`decode`]) and warn
//!    about keys nothing reads;
//! 3. check the document ([`validate`]);
//! 4. translate ([`translate`]), recording where each part of the config
//!    came from;
//! 5. check the config for duplicates and with Ignition's own rules
//!    ([`ign`]), reporting each problem where the document can fix it
//!    ([`tree`]).
//!
//! The caller ([`translate_document`]) gets the report and either the config
//! or the error that stopped it; `coregen butane` prints them as upstream
//! does, and inventories use the config as a snippet.

mod decode;
mod gzip;
pub mod ign;
pub(crate) mod messages;
pub mod report;
mod schema;
mod semver;
mod translate;
mod tree;
mod validate;
pub mod yaml;

pub use messages::STRICT_WARNINGS;
pub use report::{Entry, Kind, Report};
pub use schema::Version;
pub use translate::Options;

use decode::unused_keys;

/// What translating a document gave: the report (warnings, and errors when
/// it failed) and the config, or the error that stopped it (what upstream
/// prints after `Error translating config: `).
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub result: Result<Translated, String>,
}

/// A translated config, and where its parts came from in the document.
#[derive(Debug, Clone)]
pub struct Translated {
    pub version: Version,
    pub config: ign::Config,
    sources: Sources,
}

impl Translated {
    /// The config as upstream writes it: compact, or indented with two
    /// spaces; without a final newline.
    pub fn to_json(&self, pretty: bool) -> String {
        ign::json::marshal(&self.config, pretty)
    }

    /// The place in the document that a part of the config (given by its
    /// JSON keys and indexes, as in `["storage", "files", "0"]`) came
    /// from: the document path and its line and column.
    pub fn source_of(&self, json: &[&str]) -> (String, report::Pos) {
        let mut path = report::Path::json();
        for step in json {
            path.elems.push(match step.parse::<usize>() {
                Ok(i) => report::Elem::Index(i),
                Err(_) => report::Elem::from(step.to_string()),
            });
        }
        let path = self.sources.set(self.version).map_path(&path);
        let pos = tree::position(&self.sources.root, &path);
        (path.to_string(), pos)
    }

    /// The line and column of a top-level key of the document, such as
    /// `version`.
    pub fn position_of_key(&self, key: &str) -> report::Pos {
        tree::position(
            &self.sources.root,
            &report::Path::yaml().with(key.to_string()),
        )
    }
}

/// The document and its translation set, to point at a source. A
/// translation without messages was made without its set; the set is made
/// when first asked for.
#[derive(Debug, Clone)]
struct Sources {
    root: yaml::Node,
    document: schema::Config,
    opts: Options,
    set: std::sync::OnceLock<translate::TranslationSet>,
}

impl Sources {
    fn set(&self, version: Version) -> &translate::TranslationSet {
        self.set
            .get_or_init(|| translate::translate(&self.document, version, &self.opts).set)
    }
}

/// Translates a Butane document.
pub fn translate_document(input: &[u8], opts: &Options) -> Outcome {
    let fail = |message: String| Outcome {
        report: Report::new(),
        result: Err(message),
    };
    let root = match yaml::parse(input) {
        Ok(root) => root,
        Err(e) => return fail(format!("Error unmarshaling yaml: {e}")),
    };
    let (variant, version) = match common_fields(root.as_ref()) {
        Ok(fields) => fields,
        Err(e) => return fail(format!("Error unmarshaling yaml: {e}")),
    };
    if variant.is_empty() {
        return fail(messages::NO_VARIANT.to_string());
    }
    let Some(parsed) = semver::Version::parse(&version) else {
        return fail(messages::INVALID_VERSION.to_string());
    };
    let version = match (variant.as_str(), Version::parse(&parsed.to_string())) {
        ("fcos", Some(v)) => v,
        ("rhcos", _) if parsed.to_string() == "0.1.0" => {
            return fail(messages::RHCOS_VARIANT_UNSUPPORTED.to_string());
        }
        _ if semver::upstream_translates(&variant, &parsed) => {
            return fail(format!(
                "coregen translates variant fcos versions 1.4.0, 1.5.0 and 1.6.0; \
                 variant {variant} version {parsed} needs upstream butane"
            ));
        }
        _ => {
            return fail(format!(
                "No translator exists for variant {variant} with version {parsed}"
            ));
        }
    };
    // The root exists: it held the variant.
    let root = root.expect("a document with a variant has a root");
    translate_fcos(root, version, opts)
}

/// Reads `variant` and `version` as upstream's first pass does, into a
/// struct of just those two strings.
fn common_fields(root: Option<&yaml::Node>) -> Result<(String, String), String> {
    let mut fields = schema::CommonFields::default();
    if let Some(root) = root {
        decode::decode(root, Version::V1_6, &mut fields)?;
    }
    Ok((fields.variant, fields.version))
}

fn translate_fcos(root: yaml::Node, version: Version, opts: &Options) -> Outcome {
    let mut config = schema::Config::default();
    if let Err(e) = decode::decode(&root, version, &mut config) {
        return Outcome {
            report: Report::new(),
            result: Err(e),
        };
    }

    let mut report = unused_keys(&config, version, &root);
    let (mut checked, result) = check_and_translate(&config, version, opts);
    tree::correlate(&mut report, &root);
    tree::correlate(&mut checked, &root);
    report.merge(checked);
    Outcome {
        report,
        result: result.map(|(ignition, set)| Translated {
            version,
            config: ignition,
            sources: Sources {
                root,
                document: config,
                opts: opts.clone(),
                set: match set {
                    Some(set) => std::sync::OnceLock::from(set),
                    None => std::sync::OnceLock::new(),
                },
            },
        }),
    }
}

/// Upstream's `cutil.Translate`: check the document, translate it, check
/// the config; the first stage with an error stops.
///
/// The translation first runs without its translation set, which only
/// messages need; when any check has something to say, it runs again with
/// the set, so that each message points into the document.
fn check_and_translate(
    config: &schema::Config,
    version: Version,
    opts: &Options,
) -> (
    Report,
    Result<(ign::Config, Option<translate::TranslationSet>), String>,
) {
    let r = validate::validate(config, version);
    if r.is_fatal() {
        return (r, Err(messages::INVALID_SOURCE_CONFIG.to_string()));
    }
    let spec = version.spec();
    let quick = translate::untracked(|| translate::translate(config, version, opts));
    if quick.report.is_empty()
        && ign::dups::validate_dups_for(&quick.config, spec).is_empty()
        && ign::validate::validate(&quick.config, spec).is_empty()
    {
        return (r, Ok((quick.config, None)));
    }
    check_tracked(r, config, version, opts)
}

/// The checks after the document's, with the translation set.
fn check_tracked(
    mut r: Report,
    config: &schema::Config,
    version: Version,
    opts: &Options,
) -> (
    Report,
    Result<(ign::Config, Option<translate::TranslationSet>), String>,
) {
    let t = translate::translate(config, version, opts);
    r.merge(t.set.map_report(t.report));
    if r.is_fatal() {
        return (r, Err(messages::INVALID_SOURCE_CONFIG.to_string()));
    }
    let spec = version.spec();
    r.merge(
        t.set
            .map_report(ign::dups::validate_dups_for(&t.config, spec)),
    );
    r.merge(t.set.map_report(ign::validate::validate(&t.config, spec)));
    if r.is_fatal() {
        return (r, Err(messages::INVALID_GENERATED_CONFIG.to_string()));
    }
    (r, Ok((t.config, Some(t.set))))
}

/// An I/O error's text as Go prints it (`no such file or directory`).
pub fn go_error_text(e: &std::io::Error) -> String {
    translate::local::errno_text(e)
}
