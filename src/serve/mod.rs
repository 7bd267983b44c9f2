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
//! ```
//!
//! The server owns no logic of its own: configs come from [`Renderer`]
//! like `coregen render`'s, checks and signing from [`crate::pki`], and
//! every rule about tokens from [`StateDb`], which a single writer thread
//! commits in batches ([`writer`]). This module loads it all once, issues
//! the server certificate ([`tls`]), and runs the connection loop: TLS
//! handshakes with a deadline, HTTP/1.1 keep-alive via hyper, a bound on
//! open connections. `routes` maps requests to those parts.

mod enroll;
mod limit;
mod routes;
mod tls;
mod writer;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub use routes::MAX_ENROLL_BODY;

use crate::contract::{EnrollRequest, HTTP_CA};
use crate::error::{Error, Result};
use crate::ignition::{Config, SpecVersion};
use crate::inventory::{Host, Server, ServerUrl, Ttl};
use crate::pki::{CaCert, MintedToken, PresentedToken, Signer, mint_token};
use crate::project::{MissingCa, Project};
use crate::render::Renderer;
use crate::state::{State, Verdict, unix_now};
use enroll::{Authority, Issuance, Rejection};
use limit::FailureLimit;
use routes::Peer;
use tls::{Outcome, ServerCert};
use writer::Writer;

/// A client gets this long to finish its TLS handshake, and to send a
/// request's headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Open connections beyond this wait to be accepted.
const MAX_CONNECTIONS: usize = 4096;

/// `coregen serve`'s options, checked.
#[derive(Clone, Debug)]
pub struct Options {
    pub listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    /// Overrides `[server] url` of cluster.toml.
    pub url: Option<ServerUrl>,
    pub require_source_ip: bool,
    /// Failed token attempts allowed per client address per minute.
    pub max_token_failures: u32,
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
    limit: FailureLimit,
    require_source_ip: bool,
    token_ttl: Ttl,
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
        limit: FailureLimit::new(options.max_token_failures, Duration::from_secs(60)),
        require_source_ip: options.require_source_ip,
        token_ttl,
    }));

    let runtime = tokio::runtime::Builder::new_multi_thread()
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
    tokio::spawn(accept(
        https,
        Some(TlsAcceptor::from(tls)),
        routes::https(app),
    ));
    if let Some(plain) = plain {
        note(&format!(
            "serving CA certificates over plain HTTP on {}",
            local(&plain)
        ));
        tokio::spawn(accept(plain, None, routes::http(app)));
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

async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>, router: Router) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors, most likely: back off a little.
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (tls, router) = (tls.clone(), router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, peer, router).await,
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => connection(stream, peer, router).await,
            }
        });
    }
}

async fn connection<S>(io: S, peer: SocketAddr, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        router.clone().oneshot(request.map(Body::new))
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(16 * 1024)
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(e) = result {
        tracing::debug!(%peer, "connection: {e}");
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

    fn render(&self, host: &Host, spec: SpecVersion, token: Option<&str>) -> Result<Config> {
        self.with_renderer(|r| {
            r.set_spec(spec);
            r.render(host, token)
        })
    }

    fn check_token(&self, token: &PresentedToken, now: i64) -> Result<Verdict> {
        self.state.check_token(token, now)
    }

    fn issue(
        &self,
        host: &Host,
        request: &EnrollRequest,
    ) -> std::result::Result<Issuance, Rejection> {
        let authority = Authority {
            profiles: &self.project.inventory.cluster.profiles,
            signers: &self.signers,
            cas: self.cas,
        };
        self.with_renderer(|r| authority.issue(host, request, |p| r.context().cert_names(host, p)))
    }
}
