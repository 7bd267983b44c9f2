//! The command line, as clap definitions only. What each command does is in
//! `commands.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use coregen::ignition::SpecVersion;

#[derive(Debug, Parser)]
#[command(
    name = "coregen",
    version,
    about = "Render Fedora CoreOS Ignition configs from a declarative inventory, with the cluster's CAs",
    after_help = "Examples:\n  \
        coregen render --host node1          write out/node1.ign\n  \
        coregen render --all                 render every host in parallel\n  \
        coregen -C ~/cluster validate        check an inventory, write nothing\n  \
        coregen init ~/cluster               start a new inventory\n  \
        coregen show --host node1            read a host's config\n  \
        coregen serve                        serve configs and enroll hosts at boot"
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
    #[command(after_help = "Examples:\n  \
        coregen validate\n  \
        coregen -C ~/cluster validate --spec 3.3.0")]
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
    #[command(
        subcommand,
        after_help = "Examples:\n  coregen ca init\n  coregen ca list\n  coregen ca show http > http-ca.crt"
    )]
    Ca(CaCommand),

    /// Sign a host's CSR under one of its profiles, by hand (the first-boot
    /// service does the same over HTTPS).
    #[command(after_help = "Example:\n  \
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\\n    \
        -keyout node1.key -subj /CN=node1 -out node1.csr   # on node1\n  \
        coregen sign --host node1 --profile etcd-peer --csr node1.csr --out node1.crt")]
    Sign(SignArgs),

    /// Print the record of every issued certificate as JSON lines.
    #[command(after_help = "Examples:\n  \
        coregen audit\n  \
        coregen audit --host node1 | jq -r .serial")]
    Audit {
        /// Only this host's certificates.
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
    },

    /// List the certificate profiles a host gets and the names each
    /// certificate would carry; or, with --expiring, the certificates
    /// that expire soon.
    ///
    /// With --expiring: each current certificate (the newest of a host's
    /// profile, not revoked, its host not retired) whose not-after is
    /// within DURATION, and each one past its renewal point (two thirds of
    /// its life); exit 1 when any is past its renewal point (for cron and
    /// monitoring).
    #[command(after_help = "Examples:\n  \
        coregen certs --host node1\n  \
        coregen certs --expiring 7d                  every host; exit 1 when a renewal is overdue\n  \
        coregen certs --expiring 30d --host node1")]
    #[command(group = clap::ArgGroup::new("which-certs")
        .args(["host", "expiring"])
        .multiple(true)
        .required(true))]
    Certs {
        /// The host (with --expiring, only this host's certificates).
        #[arg(long, value_name = "HOST")]
        host: Option<String>,

        /// List the current certificates that expire within DURATION
        /// (`12h`, `7d`, `90d`) or are past their renewal point.
        #[arg(long, value_name = "DURATION")]
        expiring: Option<coregen::inventory::Ttl>,
    },

    /// Revoke one certificate, by its serial: the next CRL of its CA lists
    /// it.
    ///
    /// SERIAL is hex, as `coregen audit` or `openssl x509 -serial` shows
    /// it (colons and case do not matter). REASON is one of unspecified,
    /// keyCompromise, cACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, privilegeWithdrawn.
    #[command(after_help = "Examples:\n  \
        coregen revoke 3f0a9c1e5b7d2a4c6e8f1a3b5c7d9e0f --reason keyCompromise\n  \
        coregen revoke \"$(openssl x509 -noout -serial -in node1.crt | cut -d= -f2)\" --reason superseded")]
    Revoke {
        /// The certificate's serial (hex).
        serial: String,

        /// Why it is revoked (RFC 5280's name, such as keyCompromise).
        #[arg(long, value_name = "REASON")]
        reason: coregen::pki::Reason,
    },

    /// Write a CA's signed certificate revocation list (CRL): every serial
    /// it revoked, good for 7 days.
    ///
    /// DER on standard output, or PEM with --pem. Its CRL number grows
    /// with each revocation. `coregen serve` also serves it at
    /// /crl/CA.crl and keeps it fresh.
    #[command(after_help = "Examples:\n  \
        coregen crl etcd --out /srv/crl/etcd.crl\n  \
        coregen crl etcd --pem | openssl crl -noout -text")]
    Crl {
        /// The CA, as in `[ca.<name>]`.
        ca: String,

        /// Write PEM instead of DER.
        #[arg(long)]
        pem: bool,

        /// Write the CRL to FILE, replacing it atomically (a CRL is meant
        /// to be refreshed), instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },

    /// Serve configs at boot time and enroll hosts' certificates, over
    /// HTTPS with a certificate from the `http` CA.
    #[command(after_help = "Examples:\n  \
        coregen serve                                  listen on 0.0.0.0:8443, [server] url from cluster.toml\n  \
        coregen serve --listen 127.0.0.1:9443 --url https://127.0.0.1:9443\n  \
        coregen serve --require-source-ip --http-listen 0.0.0.0:8080\n  \
        coregen serve --http-listen 0.0.0.0:8080 --assets assets   also the live images at /assets/\n\n\
        Endpoints: GET /ignition/HOST, GET /ignition?mac=MAC (both take ?spec=3.3.0),\n\
        POST /v1/enroll, GET /ca/NAME.crt, GET /assets/FILE, GET /healthz. Set COREGEN_LOG=debug for more log.")]
    Serve(ServeArgs),

    /// See and change hosts' enrollment state.
    #[command(
        subcommand,
        after_help = "Examples:\n  coregen host list\n  coregen host reset node1\n  coregen host token node1 --ttl 7d\n  \
                      coregen host retire node1"
    )]
    Host(HostCommand),

    /// Print a config as a person reads it.
    ///
    /// Files with decoded contents, units, users, certificates; bootstrap
    /// tokens show as <redacted>.
    #[command(after_help = "Examples:\n  \
        coregen show --host node1        a fresh render of node1 (redacted; writes nothing)\n  \
        coregen show --host node1 --why  where each entry comes from, and what it overrode\n  \
        coregen show out/node1.ign       any Ignition config file\n  \
        curl -s http://10.0.0.2:8080/pointer/node1.ign | coregen show -")]
    Show(ShowArgs),

    /// Write each host's boot files: a pointer config and its initrd.
    ///
    /// out/<host>.pointer.ign trusts the http CA and fetches the real config
    /// from `coregen serve`; out/<host>.pointer.img is the same as an initrd
    /// to append to the Fedora CoreOS live initramfs.
    #[command(after_help = "Examples:\n  \
        coregen pxe --host node1\n  \
        coregen pxe --all --spec 3.3.0\n  \
        coreos-installer iso customize --dest-ignition out/node1.pointer.ign \\\n    \
        -o node1.iso fedora-coreos-live.x86_64.iso     # a host that installs to disk")]
    Pxe(PxeArgs),

    /// Show what a render would change in out/, as a unified diff of the
    /// readable form; exit 1 when anything differs, 2 on trouble.
    ///
    /// Without --host: every host, and the configs in out/ of hosts that
    /// are gone.
    #[command(after_help = "Examples:\n  \
        coregen diff                     every host\n  \
        coregen diff --host node1")]
    Diff(DiffArgs),

    /// Translate a Butane document into an Ignition config, as upstream
    /// `butane` does (variant fcos, versions 1.4.0 to 1.6.0).
    ///
    /// Same flags, output and messages as upstream: compact JSON on stdout,
    /// warnings and errors on stderr, exit 1 on an error (or on a warning
    /// with --strict) with nothing written.
    #[command(after_help = "Examples:\n  \
        coregen butane --pretty --strict config.bu > config.ign\n  \
        coregen butane -d files/ -o config.ign config.bu\n  \
        cat config.bu | coregen butane --check")]
    Butane(ButaneArgs),

    /// List the templates (built-in and the project's) or print one.
    #[command(
        subcommand,
        after_help = "Examples:\n  coregen template list\n  \
                      coregen template show etcd-member.service > templates/etcd-member.service.hbs"
    )]
    Template(TemplateCommand),

    /// Fetch and check the Fedora CoreOS live PXE images that `serve
    /// --assets` serves.
    #[command(
        subcommand,
        after_help = "Examples:\n  coregen assets fetch --stream stable --arch x86_64\n  \
                      coregen assets verify"
    )]
    Assets(AssetsCommand),

    /// Print a shell completion script for coregen.
    #[command(after_help = "Examples:\n  \
        coregen completions bash > /etc/bash_completion.d/coregen\n  \
        coregen completions zsh > \"${fpath[1]}/_coregen\"\n  \
        coregen completions fish > ~/.config/fish/completions/coregen.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },

    /// Write a man page for coregen and one for each of its commands into
    /// DIR (coregen.1, coregen-render.1, coregen-host-reset.1, ...).
    #[command(after_help = "Examples:\n  \
        coregen man /usr/local/share/man/man1\n  \
        coregen man target/man && man -l target/man/coregen-render.1")]
    Man {
        /// The folder to write the pages into; created if needed.
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ButaneArgs {
    /// The Butane document; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Fail on any warning.
    #[arg(short, long)]
    pub strict: bool,

    /// Write indented JSON.
    #[arg(short, long)]
    pub pretty: bool,

    /// Check the document; write no config.
    #[arg(short, long)]
    pub check: bool,

    /// The folder that `local`, `contents_local`,
    /// `ssh_authorized_keys_local` and `trees` paths are relative to; a
    /// path may not leave it.
    #[arg(short = 'd', long, value_name = "DIR")]
    pub files_dir: Option<PathBuf>,

    /// Write the config to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Accepted for compatibility with upstream; fcos configs are always
    /// raw Ignition.
    #[arg(short, long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
#[command(group = host_required())]
pub struct PxeArgs {
    #[command(flatten)]
    pub scope: Scope,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Render this host now (redacted) and show it.
    #[arg(
        long,
        value_name = "HOST",
        conflicts_with = "file",
        required_unless_present = "file"
    )]
    pub host: Option<String>,

    /// An Ignition config file to show; `-` reads standard input. Relative
    /// to the working directory, like every FILE (`-C` moves only the
    /// project).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Instead of the config, say where each of its files, directories,
    /// links, units, drop-ins and kernel arguments comes from: the layer
    /// that set it (a group, the host, a Butane snippet, or built-in) and
    /// the earlier ones it overrode. Needs --host.
    // `conflicts_with` too: clap does not hold `requires` against an
    // argument whose requirement conflicts with one given (FILE).
    #[arg(long, requires = "host", conflicts_with = "file")]
    pub why: bool,

    #[command(flatten)]
    pub spec: SpecArg,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    // Without --host, every host, and configs in out/ of hosts that are
    // gone (said in the command's help).
    #[command(flatten)]
    pub scope: Scope,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address for HTTPS.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,

    /// Also serve the public endpoints (CA certificates, health) over plain
    /// HTTP on this address; never a config.
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<std::net::SocketAddr>,

    /// The URL hosts reach this server at, written into their configs and
    /// named by the server certificate [default: [server] url in
    /// cluster.toml]. Port 0 stands for the port `--listen` is given (for
    /// `--listen 127.0.0.1:0`).
    #[arg(long, value_name = "URL", value_parser = coregen::inventory::ServerUrl::parse_for_serve)]
    pub url: Option<coregen::inventory::ServerUrl>,

    /// Serve a host's config and enroll it only when the request comes
    /// from the host's `ip` in the inventory.
    #[arg(long)]
    pub require_source_ip: bool,

    /// Failed token attempts allowed per client address, and per token,
    /// per minute; further failures are answered 429 for the rest of the
    /// minute. A valid token is never refused for them.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_token_failures: u32,

    /// Connections one client address may hold open at once; more are
    /// closed as they come. Raise it when many hosts boot behind one NAT.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_address: u32,

    /// Serve the files of DIR at /assets/ (over HTTPS and --http-listen),
    /// with byte ranges: the live kernel, initramfs and rootfs that `coregen
    /// assets fetch` downloads, for `[boot]` to name by file name.
    #[arg(long, value_name = "DIR")]
    pub assets: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Download a stream's live kernel, initramfs and rootfs into the
    /// assets folder, each checked against the stream's SHA-256.
    ///
    /// An interrupted download resumes where it stopped; a file gets its
    /// final name only once its checksum matches. Writes the manifest,
    /// coregen-assets.json, into the folder last.
    #[command(after_help = "Examples:\n  \
        coregen assets fetch                                   stable, x86_64, into assets/\n  \
        coregen assets fetch --stream next --arch aarch64 --assets /srv/fcos\n  \
        coregen assets fetch --stream-url http://mirror.lan/streams/stable.json")]
    Fetch(FetchArgs),

    /// Check the files of the assets folder against its manifest; exit 1
    /// naming each file that is missing or differs.
    #[command(
        after_help = "Examples:\n  coregen assets verify\n  coregen assets verify --assets /srv/fcos"
    )]
    Verify {
        /// The assets folder [default: assets/ in the project]. (`--dir`
        /// is the project folder, as `-C`.)
        #[arg(long = "assets", value_name = "DIR")]
        assets_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The Fedora CoreOS stream: stable, testing or next.
    #[arg(long, value_name = "NAME", default_value = "stable")]
    pub stream: String,

    /// The architecture, as the stream names it.
    #[arg(long, value_name = "ARCH", default_value = "x86_64")]
    pub arch: String,

    /// Where to put the images [default: assets/ in the project]. (`--dir`
    /// is the project folder, as `-C`.)
    #[arg(long = "assets", value_name = "DIR")]
    pub assets_dir: Option<PathBuf>,

    /// The stream document's URL, for a mirror [default:
    /// https://builds.coreos.fedoraproject.org/streams/NAME.json]. When it
    /// is plain http://, the images may be too.
    #[arg(long, value_name = "URL")]
    pub stream_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Each template by name: built-in, the project's file, or the
    /// project's file overriding the built-in of its name (which wins).
    #[command(after_help = "Example:\n  coregen template list")]
    List,

    /// Print a template's text: the one that wins, or with --built-in the
    /// built-in, to copy into templates/ and change.
    #[command(after_help = "Examples:\n  \
        coregen template show zincati-updates.toml\n  \
        coregen template show --built-in etcd-member.service > templates/etcd-member.service.hbs")]
    Show {
        /// The template's name (its file name without `.hbs`).
        name: String,

        /// The built-in of that name, even when the project overrides it.
        #[arg(long)]
        built_in: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Show each host's state: never booted, token issued, enrolled or
    /// retired, with times; and under it each current certificate: its
    /// profile, serial, not-after, last renewal, and whether it is revoked.
    #[command(after_help = "Examples:\n  coregen host list\n  \
                            coregen host list --unknown   # machines that asked and no host matched")]
    List {
        /// Instead, the machines that asked `coregen serve` for boot files
        /// by a MAC or UUID that no host has, last seen first.
        #[arg(long)]
        unknown: bool,
    },

    /// Let enrolled hosts enroll again (after a reinstall, say). Takes
    /// effect at once, also on a running `coregen serve`.
    #[command(after_help = "Example:\n  coregen host reset node1")]
    Reset {
        /// The hosts to reset.
        #[arg(required = true)]
        hosts: Vec<String>,
    },

    /// Retire hosts for good (a machine stolen or scrapped): refuse every
    /// further enrollment and renewal, and revoke their unexpired
    /// certificates.
    ///
    /// Takes effect at once, also on a running `coregen serve`. Retiring a
    /// retired host again is no error and changes nothing. A retired host
    /// cannot be reset or get a certificate from `coregen sign`: give the
    /// machine a new name instead.
    #[command(after_help = "Examples:\n  \
        coregen host retire node1\n  \
        coregen host retire node1 && coregen crl etcd --out /srv/crl/etcd.crl")]
    Retire {
        /// The hosts to retire.
        #[arg(required = true)]
        hosts: Vec<String>,
    },

    /// Issue a fresh bootstrap token for a host and render its config
    /// again (out/HOST.ign), for configs carried on an ISO or a USB stick.
    #[command(after_help = "Examples:\n  coregen host token node1\n  \
                            coregen host token node1 --ttl 7d   # a week to install it")]
    Token {
        /// The host.
        host: String,

        /// How long the token stays usable (`90s`, `30m`, `12h`, `7d`);
        /// default `[server] token_ttl`, 1h.
        #[arg(long, value_name = "DURATION")]
        ttl: Option<coregen::inventory::Ttl>,
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
#[command(group = host_required())]
pub struct RenderArgs {
    #[command(flatten)]
    pub scope: Scope,

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

    /// Also write each host's boot files, as `coregen pxe` does.
    #[arg(long, conflicts_with_all = ["stdout", "check"])]
    pub pxe: bool,

    /// Write nothing; exit 1, listing the hosts, when out/ is stale (a
    /// config differs from a fresh render, or is missing). For CI.
    #[arg(long, conflicts_with = "stdout")]
    pub check: bool,

    /// How long the bootstrap tokens in these configs stay usable
    /// (`90s`, `30m`, `12h`, `7d`); default `[server] token_ttl`, 1h.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["redact", "check"])]
    pub token_ttl: Option<coregen::inventory::Ttl>,
}

/// What `render`, `pxe` and `diff` work on: which hosts, the folder of
/// configs, the spec.
#[derive(Debug, Args)]
pub struct Scope {
    #[command(flatten)]
    pub select: HostArgs,

    /// The folder of configs [default: DIR/out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub spec: SpecArg,
}

/// Which hosts: some by name, or all.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// A host (repeatable).
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,

    /// Every host.
    #[arg(long, conflicts_with = "hosts")]
    pub all: bool,
}

/// For commands that must be told which hosts: `--host` or `--all`.
fn host_required() -> clap::ArgGroup {
    clap::ArgGroup::new("which-hosts")
        .args(["hosts", "all"])
        .multiple(true)
        .required(true)
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
    #[command(after_help = "Examples:\n  coregen ca init\n  coregen ca init etcd")]
    Init {
        /// CA names, as in `[ca.<name>]`.
        names: Vec<String>,
    },

    /// List the CAs: key type, subject, expiry, fingerprint, and the
    /// profiles they sign.
    #[command(after_help = "Example:\n  coregen ca list")]
    List,

    /// Print a CA's certificate (PEM).
    #[command(after_help = "Example:\n  coregen ca show etcd > etcd-ca.crt")]
    Show {
        /// The CA's name, as in `[ca.<name>]`.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command, down to the leaves, says in one line what it does and
    /// shows at least one example.
    #[test]
    fn every_command_has_a_description_and_an_example() {
        fn check(cmd: &clap::Command, path: &str) {
            let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(!about.trim().is_empty(), "`{path}` has no description");
            let after = cmd
                .get_after_help()
                .map(|a| a.to_string())
                .unwrap_or_default();
            assert!(after.contains("Example"), "`{path}` has no example");
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                check(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        let cli = Cli::command();
        cli.clone().debug_assert();
        check(&cli, "coregen");
    }
}
