//! The command line resolved once, as ripgrep turns its low-level
//! arguments into high-level ones: the project folder with its `pki/` and
//! `out/`, the spec to write, the hosts named, and what to do about a CA
//! that the inventory declares but `pki/` lacks. Commands read these
//! values; none of them works out a default on its own.

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, HostArgs, Scope, SpecArg};
use coregen::error::Result;
use coregen::ignition::SpecVersion;
use coregen::inventory::Host;
use coregen::project::{MissingCa, Project};

pub(super) struct Settings {
    /// The project folder (`-C`).
    pub root: PathBuf,
    /// `--pki`, or `DIR/pki`.
    pub pki: PathBuf,
    /// The command's `--out`, or `DIR/out`.
    pub out: PathBuf,
    /// The command's `--spec`; the cluster's spec when absent.
    spec: Option<SpecVersion>,
    /// The hosts named with `--host`; none means every host.
    hosts: Vec<String>,
    /// What rendering does about a missing CA: `render` creates it (so a
    /// fresh clone renders) unless `--no-create-ca`; `validate` leaves it
    /// out; `show`, `diff` and `render --check`, which write nothing,
    /// refuse.
    pub missing_ca: MissingCa,
}

/// The parts of a [`Scope`], with the command's policy for missing CAs.
fn scoped(s: &Scope, missing: MissingCa) -> (Option<&Path>, &SpecArg, &HostArgs, MissingCa) {
    (s.out.as_deref(), &s.spec, &s.select, missing)
}

impl Settings {
    pub fn resolve(cli: &Cli) -> Settings {
        let none = SpecArg { spec: None };
        let all = HostArgs {
            hosts: Vec::new(),
            all: true,
        };
        let (out, spec, hosts, missing_ca) = match &cli.command {
            Command::Render(a) => scoped(
                &a.scope,
                match (a.check, a.no_create_ca) {
                    (true, _) | (false, true) => MissingCa::Refuse,
                    (false, false) => MissingCa::Create,
                },
            ),
            Command::Pxe(a) => scoped(&a.scope, MissingCa::Create),
            Command::Diff(a) => scoped(&a.scope, MissingCa::Refuse),
            Command::Validate(spec) => (None, spec, &all, MissingCa::Skip),
            Command::Show(a) => (None, &a.spec, &all, MissingCa::Refuse),
            _ => (None, &none, &all, MissingCa::Create),
        };
        Settings {
            root: cli.dir.clone(),
            pki: cli.pki.clone().unwrap_or_else(|| under(&cli.dir, "pki")),
            out: out.map_or_else(|| under(&cli.dir, "out"), Path::to_path_buf),
            spec: spec.spec,
            hosts: if hosts.all {
                Vec::new()
            } else {
                hosts.hosts.clone()
            },
            missing_ca,
        }
    }

    /// Loads the project: the inventory, the templates and `pki/`.
    /// The project, loaded; its warnings go to stderr.
    pub fn project(&self) -> Result<Project> {
        let project = Project::load(&self.root, self.pki.clone())?;
        for warning in &project.inventory.warnings {
            eprintln!("coregen: warning: {warning}");
        }
        Ok(project)
    }

    /// The spec to write for `project`.
    pub fn spec(&self, project: &Project) -> SpecVersion {
        self.spec.unwrap_or(project.inventory.cluster.spec)
    }

    /// The hosts named, in the order given, or every host.
    pub fn hosts<'p>(&self, project: &'p Project) -> Result<Vec<&'p Host>> {
        project.select_hosts(&self.hosts)
    }

    /// The names given with `--host`; empty for every host.
    pub fn host_names(&self) -> &[String] {
        &self.hosts
    }
}

/// `root/rel`, without the `./` that reads badly in messages.
pub(super) fn under(root: &Path, rel: &str) -> PathBuf {
    if root == Path::new(".") {
        PathBuf::from(rel)
    } else {
        root.join(rel)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn resolve(args: &[&str]) -> Settings {
        let cli = Cli::try_parse_from([&["coregen"], args].concat()).unwrap();
        Settings::resolve(&cli)
    }

    #[test]
    fn defaults_come_from_the_project_folder() {
        let s = resolve(&["-C", "proj", "render", "--all"]);
        assert_eq!(s.pki, Path::new("proj/pki"));
        assert_eq!(s.out, Path::new("proj/out"));
        assert!(s.host_names().is_empty());
        assert_eq!(s.missing_ca, MissingCa::Create);
        assert_eq!(s.spec, None);

        let s = resolve(&["diff"]);
        assert_eq!(s.out, Path::new("out"), "no ./ in messages");
        assert_eq!(s.missing_ca, MissingCa::Refuse);
    }

    #[test]
    fn flags_override_them() {
        let s = resolve(&[
            "--pki",
            "/srv/pki",
            "render",
            "--host",
            "node2",
            "--host",
            "node1",
            "--out",
            "o",
            "--spec",
            "3.3.0",
            "--no-create-ca",
        ]);
        assert_eq!(s.pki, Path::new("/srv/pki"));
        assert_eq!(s.out, Path::new("o"));
        assert_eq!(s.host_names(), ["node2", "node1"]);
        assert_eq!(s.spec, Some(SpecVersion::V3_3));
        assert_eq!(s.missing_ca, MissingCa::Refuse);
        assert_eq!(resolve(&["validate"]).missing_ca, MissingCa::Skip);
        assert_eq!(
            resolve(&["render", "--all", "--check"]).missing_ca,
            MissingCa::Refuse
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
