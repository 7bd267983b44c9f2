//! coregen: renders Fedora CoreOS Ignition configs from a declarative
//! inventory (`hosts/`), handlebars templates (`templates/`) and the
//! cluster's certificate authorities (`pki/`).
//!
//! The flow goes one way: [`inventory`] and [`template`] feed [`render`],
//! which builds a typed config ([`ignition`]); [`output`] only writes it.
//! [`project`] ties these together for the commands in [`commands`], which
//! `main.rs` calls after [`cli`] has parsed the arguments.

pub mod cli;
pub mod commands;
pub mod error;
pub mod ignition;
pub mod inventory;
pub mod output;
pub mod pki;
pub mod project;
pub mod render;
pub mod scaffold;
pub mod template;

pub use error::{Error, Result};
