//! `coregen serve`: configs rendered at boot time, and the first-boot
//! certificate exchange, over HTTPS.
//!
//! ```text
//! GET  /ignition/{host}[?spec=]   a host's config, with a fresh bootstrap token
//! GET  /ignition?mac=..[&spec=]   the same, found by MAC address
//! POST /v1/enroll                 CSRs + token in, certificates out
//! GET  /ca/{name}.crt             a CA certificate (also over plain HTTP)
//! GET  /pointer/{host}.ign        the host's pointer config (also over plain HTTP)
//! GET  /ipxe?mac=..               the host's iPXE script (also over plain HTTP)
//! GET  /boot.ipxe                 chains to /ipxe by the booting machine's MAC
//! GET  /healthz                   liveness (also over plain HTTP)
//! GET  /assets/{path}             a file of --assets DIR, with ranges (also over plain HTTP)
//! ```
//!
//! The server owns no logic of its own: configs come from [`Renderer`]
//! like `coregen render`'s, checks and signing from [`crate::pki`], and
//! every rule about tokens from [`State`], which a single writer thread
//! commits in batches ([`writer`]). This module loads it all once, issues
//! the server certificate ([`tls`]), and starts the connection loop
//! ([`conn`]: limits per address, TLS handshakes with a deadline, HTTP/1.1
//! keep-alive via hyper). `routes` maps requests to those parts. No
//! request can stop the server: a render that fails or panics answers 500.

mod assets;
mod conn;
mod enroll;
mod limit;
mod routes;
mod tls;
mod writer;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use conn::{HANDSHAKE_TIMEOUT, MAX_CONNECTIONS};
pub use routes::MAX_ENROLL_BODY;

use crate::contract::{EnrollAnswer, EnrollRequest, HTTP_CA};
use crate::error::{Error, Result};
use crate::ignition::{Config, SpecVersion};
use crate::inventory::{Host, Server, ServerUrl, Ttl};
use crate::pki::{CaCert, MintedToken, Signer, Usage, mint_token};
use crate::project::{MissingCa, Project};
use crate::render::Renderer;
use crate::state::{Replay, State, unix_now};
use conn::Limits;
use enroll::{Authority, Issuance, Rejection};
use limit::FailureLimit;
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

/// Everything a request needs, loaded once. It lives as long as the
/// process, so the renderers can borrow the inventory for `'static`.
pub struct App {
    project: &'static Project,
    cas: &'static [CaCert],
    /// The CA hosts trust for HTTPS, resolved at start.
    http_ca: &'static CaCert,
    signers: BTreeMap<String, Signer>,
    renderers: Mutex<Vec<Renderer<'static>>>,
    state: State,
    writer: Writer,
    failures_by_addr: FailureLimit<IpAddr>,
    failures_by_token: FailureLimit<String>,
    require_source_ip: bool,
    token_ttl: Ttl,
    limits: Limits,
    /// The `--assets` folder, canonical; `/assets/` is served only with it.
    assets: Option<std::path::PathBuf>,
}

/// Loads `project`, prepares the certificates, and serves until SIGINT or
/// SIGTERM. `note` hears what an operator starting it should see (CAs and
/// certificates made, the address served).
pub fn run(mut project: Project, note: fn(&str), options: Options) -> Result<()> {
    // Bound first, so that a URL with port 0 can name the port given.
    let bind = |addr: SocketAddr| {
        std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| Error::new(format!("cannot listen on {addr}")).with_source(e))
    };
    let assets = options
        .assets
        .as_deref()
        .map(assets::resolve_dir)
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

    let cluster = &mut project.inventory.cluster;
    let url = match (&options.url, &cluster.server) {
        (Some(url), _) => url.with_bound_port(bound_port),
        (None, Some(server)) => server.url.clone(),
        (None, None) => {
            return Err(Error::new(
                "no server URL: set [server] url in hosts/cluster.toml, or pass --url",
            ));
        }
    };
    let token_ttl = cluster
        .server
        .as_ref()
        .map_or(Ttl::DEFAULT, |s| s.token_ttl);
    // Configs point hosts at the URL this server answers on.
    cluster.server = Some(Server {
        url: url.clone(),
        token_ttl,
    });

    if !project.inventory.cluster.cas.contains_key(HTTP_CA) {
        return Err(Error::new(format!(
            "coregen serve needs the `{HTTP_CA}` CA: declare [ca.{HTTP_CA}] in hosts/cluster.toml \
             (it signs the server's certificate, and hosts trust it to fetch their configs)"
        )));
    }
    // The CA's usages are its duty, and bind the server's certificate as
    // they bind any other: checked before anything is created.
    let http_usages = &project.inventory.cluster.cas[HTTP_CA].usages;
    if !http_usages.contains(&Usage::ServerAuth) {
        return Err(Error::new(format!(
            "coregen serve needs a server-auth certificate from the `{HTTP_CA}` CA, but \
             [ca.{HTTP_CA}] usages ({}) do not allow server-auth",
            http_usages
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .note("add \"server-auth\" to its usages in hosts/cluster.toml"));
    }
    let cas = project.ca_certs(MissingCa::Create, &mut |msg| note(msg))?;
    let mut signers = BTreeMap::new();
    let mut needed: Vec<&str> = project
        .inventory
        .cluster
        .profiles
        .values()
        .map(|p| p.ca.as_str())
        .collect();
    needed.push(HTTP_CA);
    for name in needed {
        if !signers.contains_key(name) {
            let signer = project.pki.signer(name).map_err(|e| {
                e.note("coregen serve signs server certificates with the `http` CA and each profile's CA")
            })?;
            signers.insert(name.to_string(), signer);
        }
    }
    let (server_cert, outcome) =
        ServerCert::ensure(&project.pki, project.state()?, &signers[HTTP_CA], &url)?;
    let cert_path = ServerCert::cert_path(&project.pki);
    match outcome {
        Outcome::Kept => note(&format!("server certificate {}", cert_path.display())),
        Outcome::Issued { serial } => note(&format!(
            "issued the server certificate for {url} (serial {serial}) to {}",
            cert_path.display()
        )),
    }
    let tls = server_cert.rustls_config()?;

    let state = project.state()?.clone();
    let writer = Writer::start(state.clone())?;
    let project: &'static Project = Box::leak(Box::new(project));
    let cas: &'static [CaCert] = cas.leak();
    let http_ca = cas
        .iter()
        .find(|ca| ca.name == HTTP_CA)
        .expect("declared, so created or loaded above");
    let app: &'static App = Box::leak(Box::new(App {
        project,
        cas,
        http_ca,
        signers,
        renderers: Mutex::new(Vec::new()),
        state,
        writer,
        failures_by_addr: FailureLimit::new(options.max_token_failures, Duration::from_secs(60)),
        failures_by_token: FailureLimit::new(options.max_token_failures, Duration::from_secs(60)),
        require_source_ip: options.require_source_ip,
        token_ttl,
        limits: Limits::new(options.max_connections_per_address),
        assets,
    }));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(THREAD_STACK)
        .enable_all()
        .build()
        .map_err(|e| Error::new("cannot start the async runtime").with_source(e))?;
    runtime.block_on(serve(app, tls, (https, plain), &url, note))
}

async fn serve(
    app: &'static App,
    tls: Arc<rustls::ServerConfig>,
    (https, plain): (std::net::TcpListener, Option<std::net::TcpListener>),
    url: &ServerUrl,
    note: fn(&str),
) -> Result<()> {
    let listener = |l: std::net::TcpListener| {
        TcpListener::from_std(l)
            .map_err(|e| Error::new("cannot listen with the async runtime").with_source(e))
    };
    let https = listener(https)?;
    let plain = plain.map(listener).transpose()?;
    note(&format!(
        "serving {url} on {} ({} hosts)",
        local(&https),
        app.project.inventory.hosts.len()
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
        &self
            .project
            .inventory
            .cluster
            .server
            .as_ref()
            .expect("run sets it before serving")
            .url
    }

    fn mint(&self, host: &Host) -> Result<MintedToken> {
        mint_token(
            host.name.as_str(),
            self.token_ttl.duration().as_secs(),
            unix_now(),
        )
    }

    /// Runs `f` with a renderer from the pool (one per concurrent request
    /// at most, so as many as there are runtime threads).
    fn with_renderer<T>(&self, f: impl FnOnce(&mut Renderer<'static>) -> T) -> T {
        let pooled = self.renderers.lock().expect("not poisoned").pop();
        let mut renderer = pooled.unwrap_or_else(|| {
            Renderer::new(
                &self.project.inventory,
                &self.project.templates,
                self.cas,
                self.project.inventory.cluster.spec,
            )
        });
        let result = f(&mut renderer);
        self.renderers.lock().expect("not poisoned").push(renderer);
        result
    }

    /// `host`'s config. A panic in rendering is an error like any other:
    /// one request must not take the server down (the renderer it used is
    /// dropped, not pooled again).
    fn render(&self, host: &Host, spec: SpecVersion, token: Option<&str>) -> Result<Config> {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.with_renderer(|r| {
                crate::fault::panic_point("render-panic");
                r.set_spec(spec);
                r.render(host, token)
            })
        }))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(Error::new(format!("rendering failed: {why}")))
        })
    }

    fn issue(
        &self,
        host: &Host,
        request: &EnrollRequest,
    ) -> std::result::Result<Issuance, Rejection> {
        let authority = self.authority();
        self.with_renderer(|r| authority.issue(host, request, |p| r.context().cert_names(host, p)))
    }

    /// The answer already given under `replay`'s token, when `request` is
    /// the same one.
    fn replay(
        &self,
        host: &Host,
        request: &EnrollRequest,
        replay: &Replay,
    ) -> std::result::Result<Option<EnrollAnswer>, Rejection> {
        self.authority().replay(host, request, replay)
    }

    fn authority(&self) -> Authority<'_> {
        Authority {
            profiles: &self.project.inventory.cluster.profiles,
            signers: &self.signers,
            cas: self.cas,
        }
    }
}
