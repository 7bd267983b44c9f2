//! `coregen serve`: configs rendered at boot time, and the first-boot
//! certificate exchange, over HTTPS.
//!
//! ```text
//! GET  /ignition/{host}[?spec=]       a host's config, with a fresh bootstrap token
//! GET  /ignition?mac=..|uuid=..       the same, found by MAC address or SMBIOS UUID
//! POST /v1/enroll                     CSRs + token in, certificates out
//! GET  /ca/{name}.crt                 a CA certificate (also over plain HTTP)
//! GET  /crl/{name}.crl                a CA's signed CRL, kept fresh (also over plain HTTP)
//! GET  /pointer/{host}.ign            the host's pointer config (also over plain HTTP)
//! GET  /ipxe?mac=..|uuid=..           the host's iPXE script (also over plain HTTP)
//! GET  /boot.ipxe                     chains to /ipxe with the machine's MAC and UUID
//! GET  /healthz                       liveness, and a failed reload (also over plain HTTP)
//! GET  /assets/{path}                 a file of --assets DIR, with ranges (also over plain HTTP)
//! ```
//!
//! The server owns no logic of its own: configs come from
//! [`crate::render::Renderer`] like `coregen render`'s, checks and signing
//! from [`crate::pki`], and every rule about tokens from [`State`], which a
//! single writer thread commits in batches ([`writer`]). This module loads
//! the project into a [`Generation`] (`generation.rs`), loads it again when
//! it changes (`reload.rs`), issues the server certificate ([`tls`]), and
//! starts the connection loop ([`conn`]: limits per address, TLS handshakes
//! with a deadline, HTTP/1.1 keep-alive via hyper). `routes` maps requests
//! to those parts; `discovery` remembers machines that asked and that no
//! host matches. No request can stop the server: a render that fails or
//! panics answers 500.

mod assets;
mod conn;
mod crl;
mod discovery;
mod enroll;
mod generation;
mod limit;
mod mtls;
mod reload;
mod routes;
mod tls;
mod writer;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use conn::{HANDSHAKE_TIMEOUT, MAX_CONNECTIONS};
pub use routes::MAX_ENROLL_BODY;

use crate::contract::HTTP_CA;
use crate::error::{Error, Result};
use crate::inventory::ServerUrl;
use crate::project::Project;
use crate::state::State;
use conn::Limits;
use discovery::Discovery;
use generation::{Generation, Loaded};
use limit::FailureLimit;
use reload::{Health, Source, Trigger};
use tls::{Outcome, ServerCert};
use writer::Writer;

/// The stack of each runtime thread. Templates are bounded in depth when
/// they load, so a render needs far less; the margin is for what no bound
/// foresaw, since a stack overflow aborts the whole process.
const THREAD_STACK: usize = 8 * 1024 * 1024;

/// `coregen serve`'s options, checked.
#[derive(Clone, Debug)]
pub struct Options {
    pub listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    /// Overrides `[server] url` of cluster.toml.
    pub url: Option<ServerUrl>,
    pub require_source_ip: bool,
    /// Failed token attempts allowed per client address, and per token,
    /// per minute.
    pub max_token_failures: u32,
    /// Connections one client address may hold open at once.
    pub max_connections_per_address: usize,
    /// `--assets DIR`: the folder served at `/assets/` (boot images).
    pub assets: Option<std::path::PathBuf>,
}

/// What serves every request: the current [`Generation`] of the project,
/// swapped on reload, and what outlives generations. It lives as long as
/// the process.
pub struct App {
    current: RwLock<Arc<Generation>>,
    /// Where configs point hosts; fixed for the life of the process, since
    /// the server's certificate is for it.
    url: ServerUrl,
    health: Health,
    state: State,
    writer: Writer,
    failures_by_addr: FailureLimit<IpAddr>,
    failures_by_token: FailureLimit<String>,
    discovery: Discovery,
    require_source_ip: bool,
    limits: Limits,
    /// The `--assets` folder, canonical; `/assets/` is served only with it.
    assets: Option<std::path::PathBuf>,
    asset_streams: Arc<tokio::sync::Semaphore>,
    /// The CRLs served at `/crl/`, cached per CA (`crl.rs`).
    crls: crl::Crls,
}

/// Loads `project`, prepares the certificates, and serves until SIGINT or
/// SIGTERM, loading the project again when it changes or on SIGHUP. `note`
/// hears what an operator starting it should see (CAs and certificates
/// made, the address served).
pub fn run(project: Project, note: fn(&str), options: Options) -> Result<()> {
    // Bound first, so that a URL with port 0 can name the port given.
    let bind = |addr: SocketAddr| {
        std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| Error::new(format!("cannot listen on {addr}")).with_source(e))
    };
    let assets = options
        .assets
        .as_deref()
        .map(|dir| assets::resolve_dir(dir, &project.inventory.root, project.pki.dir()))
        .transpose()?;
    assets::warn_of_missing(
        project.inventory.cluster.boot.as_ref(),
        assets.as_deref(),
        note,
    );
    let https = bind(options.listen)?;
    let plain = options.http_listen.map(bind).transpose()?;
    let bound_port = https
        .local_addr()
        .map_err(|e| Error::new("cannot read the address listened on").with_source(e))?
        .port();

    let url = match (&options.url, &project.inventory.cluster.server) {
        (Some(url), _) => url.with_bound_port(bound_port),
        (None, Some(server)) => server.url.clone(),
        (None, None) => {
            return Err(Error::new(
                "no server URL: set [server] url in hosts/cluster.toml, or pass --url",
            ));
        }
    };
    let source = Source {
        root: project.inventory.root.clone(),
        pki: project.pki.dir().to_path_buf(),
        url_override: options.url.clone(),
        http_ca_pem: String::new(),
    };
    let loaded = Loaded::prepare(project, &url, &mut |msg| note(msg))?;
    let source = Source {
        http_ca_pem: loaded.http_ca().pem.clone(),
        ..source
    };
    let state = loaded.project.state()?.clone();
    let (server_cert, outcome) =
        ServerCert::ensure(&loaded.project.pki, &state, &loaded.signers[HTTP_CA], &url)?;
    let cert_path = ServerCert::cert_path(&loaded.project.pki);
    match outcome {
        Outcome::Kept => note(&format!("server certificate {}", cert_path.display())),
        Outcome::Issued { serial } => note(&format!(
            "issued the server certificate for {url} (serial {serial}) to {}",
            cert_path.display()
        )),
    }
    let identity_subject = subject_der(&loaded.identity_ca)?;
    let tls = server_cert.rustls_config(Arc::new(mtls::AnyClientCert::new(identity_subject)))?;

    let writer = Writer::start(state.clone())?;
    let app: &'static App = Box::leak(Box::new(App {
        current: RwLock::new(Arc::new(Generation::load(loaded))),
        url,
        health: Health::new(),
        state,
        writer,
        failures_by_addr: FailureLimit::new(options.max_token_failures, Duration::from_secs(60)),
        failures_by_token: FailureLimit::new(options.max_token_failures, Duration::from_secs(60)),
        discovery: Discovery::new(),
        require_source_ip: options.require_source_ip,
        limits: Limits::new(options.max_connections_per_address),
        assets,
        asset_streams: Arc::new(tokio::sync::Semaphore::new(assets::MAX_STREAMS)),
        crls: crl::Crls::new(),
    }));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(THREAD_STACK)
        .enable_all()
        .build()
        .map_err(|e| Error::new("cannot start the async runtime").with_source(e))?;
    runtime.block_on(async {
        let reloads = reload::start(app, source)?;
        tokio::spawn(hangups(reloads));
        serve(app, tls, (https, plain), note).await
    })
}

/// Ignores SIGHUP until `run` catches it: its default ends the process, and
/// an operator's `systemctl reload` may come while the project loads. Call
/// it first thing.
pub fn hold_hangups() {
    // SAFETY: setting a signal's disposition to SIG_IGN touches no memory
    // of ours; tokio later installs its own handler over it.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

/// Turns each SIGHUP into a reload.
async fn hangups(reloads: std::sync::mpsc::Sender<Trigger>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot catch SIGHUP; reloads come from file changes only");
        return;
    };
    while hup.recv().await.is_some() {
        if reloads.send(Trigger::Signal).is_err() {
            return;
        }
    }
}

async fn serve(
    app: &'static App,
    tls: Arc<rustls::ServerConfig>,
    (https, plain): (std::net::TcpListener, Option<std::net::TcpListener>),
    note: fn(&str),
) -> Result<()> {
    let listener = |l: std::net::TcpListener| {
        TcpListener::from_std(l)
            .map_err(|e| Error::new("cannot listen with the async runtime").with_source(e))
    };
    let https = listener(https)?;
    let plain = plain.map(listener).transpose()?;
    note(&format!(
        "serving {} on {} ({} hosts)",
        app.url,
        local(&https),
        app.current().inventory().hosts.len()
    ));
    if let Some(dir) = &app.assets {
        note(&format!(
            "serving the files of {} at /assets/",
            dir.display()
        ));
    }
    let slots = conn::Slots::new(app.limits);
    tokio::spawn(conn::accept(
        https,
        Some(TlsAcceptor::from(tls)),
        routes::https(app),
        slots.clone(),
    ));
    if let Some(plain) = plain {
        note(&format!(
            "serving CA certificates over plain HTTP on {}",
            local(&plain)
        ));
        tokio::spawn(conn::accept(plain, None, routes::http(app), slots));
    }
    stopped().await;
    note("stopping");
    Ok(())
}

/// A CA certificate's subject, DER.
fn subject_der(ca: &crate::pki::CaCert) -> Result<Vec<u8>> {
    use x509_parser::prelude::FromDer;
    let unreadable = || Error::new(format!("cannot read the certificate of CA `{}`", ca.name));
    let (_, pem) = x509_parser::pem::parse_x509_pem(ca.pem.as_bytes()).map_err(|_| unreadable())?;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&pem.contents)
        .map_err(|_| unreadable())?;
    Ok(cert.subject().as_raw().to_vec())
}

fn local(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string())
}

async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM can be caught");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

impl App {
    /// The server URL that configs point hosts at.
    fn url(&self) -> &ServerUrl {
        &self.url
    }

    /// The generation a request uses from its start to its answer.
    fn current(&self) -> Arc<Generation> {
        self.current.read().expect("not poisoned").clone()
    }

    /// The current generation with its number, read together.
    fn current_numbered(&self) -> (Arc<Generation>, u64) {
        let current = self.current.read().expect("not poisoned");
        (current.clone(), self.health.generation())
    }

    /// Puts `next` in place for the requests that start from now on;
    /// returns the generation it replaces, and the new one's number.
    fn swap(&self, next: Arc<Generation>) -> (Arc<Generation>, u64) {
        let mut current = self.current.write().expect("not poisoned");
        let number = self.health.next_generation();
        (std::mem::replace(&mut *current, next), number)
    }
}
