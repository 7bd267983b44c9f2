//! The command line, as clap definitions only. What each command does is in
//! `commands.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ignition::SpecVersion;

#[derive(Debug, Parser)]
#[command(
    name = "coregen",
    version,
    about = "Render Fedora CoreOS Ignition configs from a declarative inventory, with the cluster's CAs",
    after_help = "Examples:\n  \
        coregen render --host node1          write out/node1.ign\n  \
        coregen render --all                 render every host in parallel\n  \
        coregen -C ~/cluster validate        check an inventory, write nothing\n  \
        coregen init ~/cluster               start a new inventory"
)]
pub struct Cli {
    /// The project folder, holding hosts/, templates/, pki/ and out/.
    #[arg(
        short = 'C',
        long = "dir",
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
    pub dir: PathBuf,

    /// Where the CAs live [default: DIR/pki].
    #[arg(long, global = true, value_name = "DIR")]
    pub pki: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render hosts into Ignition configs (out/<host>.ign).
    #[command(after_help = "Examples:\n  \
        coregen render --host node1\n  \
        coregen render --all --spec 3.3.0 --out /srv/ignition\n  \
        coregen render --host node1 --stdout --redact | jq .")]
    Render(RenderArgs),

    /// Check the inventory and templates by rendering every host in memory.
    /// Writes nothing.
    Validate(SpecArg),

    /// Start a new inventory in DIR that renders at once.
    #[command(
        after_help = "Example:\n  coregen init ~/cluster && coregen -C ~/cluster render --all"
    )]
    Init {
        /// The folder to create; it must not hold an inventory already.
        dir: PathBuf,
    },

    /// Manage the cluster's certificate authorities.
    #[command(subcommand)]
    Ca(CaCommand),

    /// Sign a host's CSR under one of its profiles, by hand (the first-boot
    /// service does the same over HTTPS).
    #[command(after_help = "Example:\n  \
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\\n    \
        -keyout node1.key -subj /CN=node1 -out node1.csr   # on node1\n  \
        coregen sign --host node1 --profile etcd-peer --csr node1.csr --out node1.crt")]
    Sign(SignArgs),

    /// Print the record of every issued certificate as JSON lines.
    Audit {
        /// Only this host's certificates.
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
    },

    /// List the certificate profiles a host gets and the names each
    /// certificate would carry.
    Certs {
        #[arg(long, value_name = "HOST")]
        host: String,
    },
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The host the certificate is for.
    #[arg(long, value_name = "HOST")]
    pub host: String,

    /// One of the host's certificate profiles.
    #[arg(long, value_name = "PROFILE")]
    pub profile: String,

    /// The CSR, PEM or DER (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub csr: PathBuf,

    /// Where to write the certificate (PEM); it must not exist. Default: stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Append the CA certificate after the leaf.
    #[arg(long)]
    pub chain: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A host to render (repeatable).
    #[arg(long = "host", value_name = "HOST", required_unless_present = "all")]
    pub hosts: Vec<String>,

    /// Render every host.
    #[arg(long, conflicts_with = "hosts")]
    pub all: bool,

    /// Where to write the configs [default: DIR/out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Print the config on standard output instead of writing a file
    /// (one host only).
    #[arg(long, conflicts_with_all = ["all", "out"])]
    pub stdout: bool,

    /// Write compact JSON instead of pretty-printed.
    #[arg(long)]
    pub compact: bool,

    /// Replace secrets (such as bootstrap tokens) with a fixed marker, so
    /// that output can be reviewed, diffed and snapshot-tested.
    #[arg(long)]
    pub redact: bool,

    /// Fail instead of creating a CA that the inventory declares but pki/
    /// lacks.
    #[arg(long)]
    pub no_create_ca: bool,

    #[command(flatten)]
    pub spec: SpecArg,
}

#[derive(Debug, Args)]
pub struct SpecArg {
    /// Ignition spec version to write: 3.3.0, 3.4.0 or 3.5.0
    /// [default: `spec` in cluster.toml, else 3.4.0].
    #[arg(long, value_name = "VERSION")]
    pub spec: Option<SpecVersion>,
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create the CAs declared in hosts/cluster.toml (all, or those named).
    /// An existing CA is never overwritten.
    Init {
        /// CA names, as in `[ca.<name>]`.
        names: Vec<String>,
    },

    /// List the CAs: key type, subject, expiry, fingerprint, and the
    /// profiles they sign.
    List,

    /// Print a CA's certificate (PEM).
    Show { name: String },
}
