//! coregen: renders Fedora CoreOS Ignition configs from a declarative
//! inventory (`hosts/`), handlebars templates (`templates/`) and the
//! cluster's certificate authorities (`pki/`).
//!
//! The flow goes one way: [`inventory`] and [`template`] feed [`render`],
//! which builds a typed config ([`ignition`]); [`output`] only writes it.
//! [`project`] ties these together with the [`pki`] and the [`state`]; the
//! `coregen` binary's commands and `serve` call into it. ARCHITECTURE.md at
//! the top of the repository lists every module, what it owns and what it
//! may import.
//!
//! Rendering a host from a program:
//!
//! ```
//! use std::path::Path;
//! use coregen::project::{MissingCa, Project, Tokens};
//!
//! let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
//! let project = Project::load(repo, repo.join("tests/fixtures/pki"))?;
//! let cas = project.ca_certs(MissingCa::Refuse, &mut |_| {})?;
//! let hosts = project.select_hosts(&["node1".to_string()])?;
//! let spec = project.inventory.cluster.spec;
//! // No tokens: the enrollment settings hold a placeholder, as with --redact.
//! let tokens = Tokens::new();
//! let json = project.render_each(&hosts, &cas, spec, &tokens, |_, c| Ok(c.to_bytes(true)))?;
//! assert!(String::from_utf8_lossy(&json[0]).contains("\"path\": \"/etc/hostname\""));
//! # Ok::<(), coregen::Error>(())
//! ```

pub mod assets;
pub mod boot;
pub mod butane;
pub mod context;
pub mod contract;
pub mod error;
pub mod fault;
pub mod files;
pub mod ignition;
pub mod inventory;
pub mod output;
pub mod pki;
pub mod project;
pub mod provenance;
pub mod render;
pub mod review;
pub mod scaffold;
pub mod serve;
pub mod snippet;
pub mod state;
pub mod template;
pub mod values;

pub use error::{Error, Result};
