//! The HTTP surface of `coregen serve`: its routes, and how each outcome
//! becomes a status and a body. Every refusal is a 4xx (or 5xx for
//! coregen's own trouble) with `{"error": "..."}`; tokens and keys are
//! never logged, and text that came from the client is logged escaped.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::App;
use super::discovery::Asked;
use super::enroll::{Rejection, Scope};
use super::generation::Generation;
use super::mtls::ClientCert;
use crate::contract::{EnrollAnswer, EnrollRequest, RENEW_CLOCK_SKEW, RenewRequest};
use crate::ignition::SpecVersion;
use crate::inventory::{Host, MacAddr, MachineId, SmbiosUuid};
use crate::pki;
use crate::pki::{MAX_TOKEN_LEN, PresentedToken, parse_token};
use crate::state::{
    Admission, Enrollment, Minter, Op, Refusal, Renewal, Replay, Verdict, unix_now,
};
use crate::values::escape_untrusted;

/// The largest enrollment body: room for a dozen RSA-4096 CSRs.
pub const MAX_ENROLL_BODY: usize = 64 * 1024;

/// A request, body included, must be done within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const IGNITION_TYPE: &str = "application/vnd.coreos.ignition+json";

/// The client's address, put on each request by the connection loop.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl Peer {
    fn ip(self) -> IpAddr {
        self.0.ip().to_canonical()
    }
}

/// The routes served over HTTPS.
pub fn https(app: &'static App) -> Router {
    finish(
        public(app)
            .route("/ignition", get(ignition_by_machine))
            .route("/ignition/{host}", get(ignition_by_name))
            .route("/v1/enroll", post(enroll))
            .route("/v1/renew", post(renew)),
    )
    .with_state(app)
    .layer(middleware::from_fn(deadline))
    .layer(middleware::from_fn(access_log))
}

/// The routes that may also go over plain HTTP: nothing that holds a
/// token.
pub fn http(app: &'static App) -> Router {
    finish(public(app))
        .with_state(app)
        .layer(middleware::from_fn(deadline))
        .layer(middleware::from_fn(access_log))
}

fn public(app: &App) -> Router<&'static App> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ca/{file}", get(ca_cert))
        .route("/crl/{file}", get(super::crl::crl))
        .route("/boot.ipxe", get(boot_ipxe))
        .route("/ipxe", get(ipxe_by_machine))
        .route("/pointer/{file}", get(pointer))
        .merge(super::assets::routes(app))
}

/// The JSON answers for a path or a method that no route takes. Last,
/// since axum gives the method fallback only to routes added before it.
fn finish(routes: Router<&'static App>) -> Router<&'static App> {
    routes
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        })
}

/// A refusal, as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// Every message is escaped: some quote what the client sent (a
    /// field name in a JSON or query error, a profile, a MAC address).
    pub(super) fn new(status: StatusCode, message: impl AsRef<str>) -> ApiError {
        ApiError::with_retry(status, message, None)
    }

    /// With a `Retry-After` of `retry_after` seconds.
    pub(super) fn with_retry(
        status: StatusCode,
        message: impl AsRef<str>,
        retry_after: Option<u64>,
    ) -> ApiError {
        ApiError {
            status,
            message: escape_untrusted(message.as_ref()),
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({ "error": self.message }))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The host a request resolved to, put on its response for the access log.
#[derive(Clone, Debug)]
struct Resolved(String);

/// `response`, marked as being about `host`.
fn about(host: &Host, mut response: Response) -> Response {
    response
        .extensions_mut()
        .insert(Resolved(host.name.to_string()));
    response
}

/// Query keys whose values the log may show; any other is written
/// `<redacted>` (no route takes a secret in the query, but a client may
/// send one anyway).
const LOGGED_QUERY_KEYS: &[&str] = &["mac", "uuid", "spec"];

/// One line per request, at info: client, method, path (with the query's
/// values but the known ones redacted), status, bytes, time, and the host
/// it resolved to. An operator watching a boot sees each step: the iPXE
/// script, the pointer, the config, the enrollment.
async fn access_log(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or_else(|| "-".to_string(), |p| p.ip().to_string());
    let mut path = request.uri().path().to_string();
    if let Some(query) = request.uri().query() {
        let shown: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) if LOGGED_QUERY_KEYS.contains(&key) => {
                    format!("{key}={value}")
                }
                Some((key, _)) => format!("{key}=<redacted>"),
                None => pair.to_string(),
            })
            .collect();
        path.push('?');
        path.push_str(&shown.join("&"));
    }
    let response = next.run(request).await;
    let bytes = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .map_or_else(|| "-".to_string(), |n| n.to_string());
    let host = response
        .extensions()
        .get::<Resolved>()
        .map_or("-", |r| r.0.as_str());
    tracing::info!(
        "{peer} {method} {} {} {bytes} {:.1}ms host={host}",
        crate::values::printable_long(&path),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3,
    );
    response
}

async fn deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "the request took too long").into_response()
        }
    }
}

async fn healthz(State(app): State<&'static App>) -> impl IntoResponse {
    axum::Json(super::reload::health_json(app))
}

async fn ca_cert(
    State(app): State<&'static App>,
    file: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(file)) = file else {
        return ApiError::new(StatusCode::NOT_FOUND, "no such CA certificate").into_response();
    };
    let generation = app.current();
    let cert = file
        .strip_suffix(".crt")
        .and_then(|name| generation.loaded().cas.iter().find(|ca| ca.name == name));
    match cert {
        Some(ca) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            ca.pem.clone(),
        )
            .into_response(),
        None => ApiError::new(StatusCode::NOT_FOUND, "no such CA certificate").into_response(),
    }
}

const IPXE_TYPE: &str = "text/plain; charset=utf-8";

fn boot_urls(generation: &Generation) -> Result<&crate::inventory::Boot, ApiError> {
    generation.inventory().cluster.boot.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "PXE boots are not set up: cluster.toml has no [boot] table",
        )
    })
}

fn spec_or_default(generation: &Generation, spec: Option<&str>) -> Result<SpecVersion, ApiError> {
    match spec {
        Some(s) => s.parse().map_err(|_: String| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "unsupported Ignition spec version \"{}\" (coregen writes 3.3.0, 3.4.0 \
                     and 3.5.0)",
                    crate::values::printable(s)
                ),
            )
        }),
        None => Ok(generation.inventory().cluster.spec),
    }
}

async fn boot_ipxe(State(app): State<&'static App>) -> Result<Response, ApiError> {
    let script = crate::boot::chain_ipxe(boot_urls(&app.current())?);
    Ok(([(header::CONTENT_TYPE, IPXE_TYPE)], script).into_response())
}

async fn ipxe_by_machine(
    State(app): State<&'static App>,
    Extension(peer): Extension<Peer>,
    query: Result<Query<ByMachine>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let generation = app.current();
    let boot = boot_urls(&generation)?;
    let host = find_machine(app, &generation, peer, &query)?;
    let spec = spec_or_default(&generation, query.spec.as_deref())?;
    let script = crate::boot::ipxe(boot, host, app.url(), spec);
    Ok(about(
        host,
        ([(header::CONTENT_TYPE, IPXE_TYPE)], script).into_response(),
    ))
}

/// `GET /pointer/{host}.ign`: no secret in it, so also over plain HTTP.
async fn pointer(
    State(app): State<&'static App>,
    file: Result<Path<String>, PathRejection>,
    query: Result<Query<ByName>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let Path(file) = file.map_err(path_error)?;
    let generation = app.current();
    let host = file
        .strip_suffix(".ign")
        .and_then(|name| generation.inventory().find_host(name))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such host"))?;
    let spec = spec_or_default(&generation, query.spec.as_deref())?;
    let config = crate::boot::pointer(host, app.url(), generation.loaded().http_ca(), spec)
        .map_err(|e| internal("making a pointer config", e))?;
    Ok(about(
        host,
        (
            [(header::CONTENT_TYPE, IGNITION_TYPE)],
            config.to_bytes(false),
        )
            .into_response(),
    ))
}

/// The host `query` names by its MAC address, its SMBIOS UUID, or both
/// (as `/boot.ipxe` chains). A machine that no host matches gets a 404 and
/// is remembered (see `discovery.rs`); one whose MAC and UUID belong to two
/// different hosts gets a 409.
fn find_machine<'g>(
    app: &'static App,
    generation: &'g Generation,
    peer: Peer,
    query: &ByMachine,
) -> Result<&'g Host, ApiError> {
    let bad = |msg: String| ApiError::new(StatusCode::BAD_REQUEST, msg);
    let mac: Option<MacAddr> = match query.mac.as_deref() {
        None | Some("") => None,
        Some(mac) => Some(mac.parse().map_err(bad)?),
    };
    let uuid: Option<SmbiosUuid> = match query.uuid.as_deref() {
        // iPXE's `${uuid}` is empty, or a placeholder of zeros or ones,
        // on firmware without one: the machine is known by its MAC alone.
        None | Some("") => None,
        Some(uuid) if is_placeholder_uuid(uuid) => None,
        Some(uuid) => Some(uuid.parse().map_err(bad)?),
    };
    if mac.is_none() && uuid.is_none() {
        return Err(bad(
            "name the machine: give mac= (its MAC address) or uuid= (its SMBIOS UUID), or both"
                .into(),
        ));
    }
    let inventory = generation.inventory();
    let by_mac = mac.and_then(|m| inventory.host_by_machine(MachineId::Mac(m)));
    let by_uuid = uuid.and_then(|u| inventory.host_by_machine(MachineId::Uuid(u)));
    match (by_mac, by_uuid) {
        (Some(a), Some(b)) if a.name != b.name => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "this MAC address is host {}'s and this UUID is host {}'s: fix the inventory",
                a.name, b.name
            ),
        )),
        (Some(host), _) | (None, Some(host)) => Ok(host),
        (None, None) => {
            discovered(app, peer, (mac, uuid));
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no host has this MAC address or UUID; the machine is listed by \
                 `coregen host list --unknown` for an operator to add to the inventory",
            ))
        }
    }
}

/// The all-zero and all-ones UUIDs, in any case.
fn is_placeholder_uuid(uuid: &str) -> bool {
    let mut digits = uuid.bytes().filter(|&b| b != b'-');
    uuid.len() == 36
        && (digits.clone().all(|b| b == b'0') || digits.all(|b| b.eq_ignore_ascii_case(&b'f')))
}

/// Remembers a machine that no host matched, without holding up its
/// answer: the record needs no durability before the 404 goes out.
fn discovered(app: &'static App, peer: Peer, asked: Asked) {
    let source = super::conn::source(peer.ip());
    if let Some(seen) = app.discovery.sighting(asked, source, peer.ip(), unix_now()) {
        tracing::info!(peer = %peer.ip(), "an unknown machine asked for its boot files");
        tokio::spawn(async move {
            if let Err(e) = app.writer.write(Op::Sighted(seen)).await {
                tracing::warn!("cannot record an unknown machine: {e}");
            }
        });
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ByName {
    spec: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ByMachine {
    mac: Option<String>,
    uuid: Option<String>,
    spec: Option<String>,
}

fn query_error(e: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.body_text())
}

fn path_error(e: PathRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.body_text())
}

async fn ignition_by_name(
    State(app): State<&'static App>,
    Extension(peer): Extension<Peer>,
    method: Method,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<ByName>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let Path(name) = name.map_err(path_error)?;
    let generation = app.current();
    let host = generation
        .inventory()
        .find_host(&name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such host"))?;
    ignition(app, &generation, peer, &method, host, query.spec.as_deref()).await
}

async fn ignition_by_machine(
    State(app): State<&'static App>,
    Extension(peer): Extension<Peer>,
    method: Method,
    query: Result<Query<ByMachine>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let generation = app.current();
    let host = find_machine(app, &generation, peer, &query)?;
    ignition(app, &generation, peer, &method, host, query.spec.as_deref()).await
}

/// A host's config, rendered now, with a fresh token committed before it
/// leaves. A `HEAD` learns that the config is there and mints nothing.
async fn ignition(
    app: &'static App,
    generation: &Generation,
    peer: Peer,
    method: &Method,
    host: &Host,
    spec: Option<&str>,
) -> Result<Response, ApiError> {
    let spec = spec_or_default(generation, spec)?;
    app.check_source(host, peer.ip())?;
    if method == Method::HEAD {
        return Ok(about(
            host,
            (
                [
                    (header::CONTENT_TYPE, IGNITION_TYPE),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                (),
            )
                .into_response(),
        ));
    }
    let token = if host.profiles.is_empty() {
        None
    } else {
        let minted = generation.loaded().mint(host);
        Some(minted.map_err(|e| internal("minting a token", e))?)
    };
    let config = generation
        .render(host, spec, token.as_ref().map(|t| t.text.as_str()))
        .map_err(|e| {
            tracing::error!(host = %host.name, "cannot render: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                // The reason, but not the details: they name the
                // inventory's files and values, and this answer goes to
                // whoever asks.
                format!(
                    "cannot render the config of host {}: a template, snippet or setting of \
                     the inventory failed; the server log has the error",
                    host.name
                ),
            )
        })?;
    if let Some(token) = token {
        let minted = app
            .writer
            .write(Op::Mint(vec![token], Minter::Serve))
            .await
            .map_err(|e| unavailable("storing the token", e))?;
        debug_assert_eq!(minted, Verdict::Allowed(()), "minting is never refused");
    }
    tracing::info!(host = %host.name, peer = %peer.ip(), %spec, "served config");
    Ok(about(
        host,
        (
            [
                (header::CONTENT_TYPE, IGNITION_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            config.to_bytes(false),
        )
            .into_response(),
    ))
}

async fn enroll(
    State(app): State<&'static App>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ip = peer.ip();
    let Some(token) = bearer(&headers).and_then(parse_token) else {
        return Err(app.failed(
            ip,
            None,
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "expected `Authorization: Bearer <bootstrap token>`",
            ),
        ));
    };
    // The token is looked up before any limit is consulted: a valid one
    // is never refused for what others did from its address.
    let now = unix_now();
    let admission = match app.state.check_token(&token, now) {
        Ok(Verdict::Allowed(admission)) => admission,
        Ok(Verdict::Refused(refusal)) => return Err(app.refused(ip, &token, None, refusal)),
        Err(e) => return Err(unavailable("reading the state database", e)),
    };
    let host_name = match &admission {
        Admission::Enroll(host) => host,
        Admission::Replay(replay) => &replay.host,
    };
    let generation = app.current();
    let host = generation.inventory().find_host(host_name).ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "the host of this token is no longer in the inventory",
        )
    })?;
    app.check_source(host, ip)?;
    require_json(&headers)?;
    let request = read_request(&headers, body).await?;
    if let Admission::Replay(_) = admission {
        // Looked up again: a reset may have come while the body arrived.
        return match app.state.check_token(&token, unix_now()) {
            Ok(Verdict::Allowed(Admission::Replay(replay))) => {
                replay_answer(app, &generation, ip, &token, host, &request, &replay)
            }
            Ok(Verdict::Refused(refusal)) => Err(app.refused(ip, &token, Some(host), refusal)),
            Ok(_) => Err(app.refused(ip, &token, Some(host), Refusal::Spent)),
            Err(e) => Err(unavailable("reading the state database", e)),
        };
    }

    let issuance = generation
        .issue(host, &request.csrs, Scope::Enroll)
        .map_err(|r| rejected(host, ip, r))?;
    let serials: Vec<String> = issuance
        .delivered
        .iter()
        .map(|d| d.record.serial.clone())
        .collect();
    let verdict = app
        .writer
        .write(Op::Enroll(Enrollment {
            token: token.clone(),
            host: host.name.to_string(),
            now,
            from: ip.to_string(),
            issued: issuance.delivered,
        }))
        .await
        .map_err(|e| unavailable("recording the enrollment", e))?;
    match verdict {
        Verdict::Allowed(()) => {}
        // The same request, sent twice at once, committed first by the
        // other: answer with what that one got.
        Verdict::Refused(Refusal::Spent) => {
            return match app.state.check_token(&token, now) {
                Ok(Verdict::Allowed(Admission::Replay(replay))) => {
                    replay_answer(app, &generation, ip, &token, host, &request, &replay)
                }
                Ok(_) => Err(app.refused(ip, &token, Some(host), Refusal::Spent)),
                Err(e) => Err(unavailable("reading the state database", e)),
            };
        }
        Verdict::Refused(refusal) => return Err(app.refused(ip, &token, Some(host), refusal)),
    }
    crate::fault::point("enroll-committed");
    if crate::fault::armed("enroll-slow") {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tracing::info!(host = %host.name, peer = %ip, serials = ?serials, "enrolled");
    Ok(about(host, axum::Json(issuance.answer).into_response()))
}

/// `POST /v1/renew`: a host proves who it is with its identity
/// certificate (mutual TLS), and gets new certificates for new keys of
/// its profiles, named as the inventory says now. Each refusal says why;
/// those that may be a stranger's guess count against its address.
async fn renew(
    State(app): State<&'static App>,
    Extension(peer): Extension<Peer>,
    client: Option<Extension<ClientCert>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ip = peer.ip();
    let now = unix_now();
    let generation = app.current();
    let Some(Extension(ClientCert(cert))) = client else {
        return Err(app.failed(
            ip,
            None,
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "renewal needs the host's identity certificate, presented as a TLS client \
                 certificate; this connection presented none",
            ),
        ));
    };
    let identity = pki::identity::verify(&cert, &generation.loaded().identity_ca_der, now)
        .map_err(|refused| {
            tracing::warn!(peer = %ip, "renewal refused: {}", refused.message());
            app.failed(
                ip,
                None,
                ApiError::new(StatusCode::UNAUTHORIZED, refused.message()),
            )
        })?;
    let host = generation
        .inventory()
        .find_host(&identity.host)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                format!("host {} is no longer in the inventory", identity.host),
            )
        })?;
    app.check_source(host, ip)?;
    match app.state.is_retired(host.name.as_str()) {
        Ok(None) => {}
        Ok(Some(_)) => {
            tracing::warn!(host = %host.name, peer = %ip, "renewal refused: the host is retired");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                Refusal::HostRetired.message(),
            ));
        }
        Err(e) => return Err(unavailable("reading the state database", e)),
    }
    match app.state.revocation(&identity.serial) {
        Ok(None) => {}
        Ok(Some(revoked)) => {
            tracing::warn!(host = %host.name, peer = %ip, "renewal refused: identity revoked");
            return Err(app.failed(
                ip,
                None,
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    format!(
                        "the identity certificate was revoked ({}); the host must enroll again",
                        revoked.reason
                    ),
                ),
            ));
        }
        Err(e) => return Err(unavailable("reading the state database", e)),
    }
    require_json(&headers)?;
    let request: RenewRequest = read_json(&headers, body, "a renewal request").await?;
    check_freshness(&request, now)?;

    let issuance = generation
        .issue(host, &request.csrs, Scope::Renew)
        .map_err(|r| rejected(host, ip, r))?;
    let serials: Vec<String> = issuance
        .delivered
        .iter()
        .map(|d| d.record.serial.clone())
        .collect();
    let verdict = app
        .writer
        .write(Op::Renew(Renewal {
            host: host.name.to_string(),
            identity: identity.serial.clone(),
            nonce: request.nonce.to_ascii_lowercase(),
            now,
            issued: issuance.delivered,
        }))
        .await
        .map_err(|e| unavailable("recording the renewal", e))?;
    if let Verdict::Refused(refusal) = verdict {
        tracing::warn!(host = %host.name, peer = %ip, "renewal refused: {}", refusal.message());
        let status = match refusal {
            Refusal::HostRetired => StatusCode::FORBIDDEN,
            Refusal::StaleIdentity => StatusCode::UNAUTHORIZED,
            _ => StatusCode::CONFLICT,
        };
        return Err(ApiError::new(status, refusal.message()));
    }
    tracing::info!(
        host = %host.name, peer = %ip, identity = %identity.serial, serials = ?serials,
        "renewed"
    );
    Ok(about(host, axum::Json(issuance.answer).into_response()))
}

/// A renewal request must be new: a nonce of 32 to 64 hex digits, and a
/// time close to the server's, so that the nonces seen need keeping for a
/// few minutes only.
fn check_freshness(request: &RenewRequest, now: i64) -> Result<(), ApiError> {
    let nonce = &request.nonce;
    if !(32..=64).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "`nonce` must be 32 to 64 hex digits, new for each request",
        ));
    }
    // abs_diff: a time near i64::MIN must not wrap around the check.
    if request.time.abs_diff(now) > RENEW_CLOCK_SKEW.unsigned_abs() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "`time` is {} s from the server's clock, more than the {RENEW_CLOCK_SKEW} s \
                 allowed: a replayed request, or a host clock that is wrong",
                request.time.abs_diff(now)
            ),
        ));
    }
    Ok(())
}

/// The answer a spent token's enrollment got, again, for the same keys;
/// a refusal as for any spent token otherwise.
fn replay_answer(
    app: &App,
    generation: &Generation,
    ip: IpAddr,
    token: &PresentedToken,
    host: &Host,
    request: &EnrollRequest,
    replay: &Replay,
) -> Result<Response, ApiError> {
    match generation.loaded().replay(host, request, replay) {
        Ok(Some(answer)) => {
            tracing::info!(host = %host.name, peer = %ip, "enrollment answered again (a retry)");
            Ok(about(
                host,
                axum::Json::<EnrollAnswer>(answer).into_response(),
            ))
        }
        Ok(None) => Err(app.refused(ip, token, Some(host), Refusal::Spent)),
        Err(r) => Err(rejected(host, ip, r)),
    }
}

fn rejected(host: &Host, ip: IpAddr, rejection: Rejection) -> ApiError {
    let (status, message) = match rejection {
        Rejection::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        Rejection::Forbidden(m) => (StatusCode::FORBIDDEN, m),
        Rejection::Internal(e) => return internal("signing", e),
    };
    tracing::warn!(host = %host.name, peer = %ip, "enrollment refused: {message:?}");
    ApiError::new(status, message)
}

/// `/v1/enroll` takes JSON and says so: a form or a text body is refused
/// before it is read.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be JSON, sent with `Content-Type: application/json`",
        ))
    }
}

/// The body, bounded, as an enrollment request.
async fn read_request(headers: &HeaderMap, body: Body) -> Result<EnrollRequest, ApiError> {
    read_json(headers, body, "an enrollment request").await
}

/// The body, bounded, as JSON of type `T`, called `what` in the error.
async fn read_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    what: &str,
) -> Result<T, ApiError> {
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        && length > MAX_ENROLL_BODY
    {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_ENROLL_BODY)
        .await
        .map_err(|_| too_large())?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not {what}: {e}"),
        )
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (token.len() <= MAX_TOKEN_LEN).then_some(token)
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body must be at most {MAX_ENROLL_BODY} bytes"),
    )
}

fn internal(doing: &str, e: crate::Error) -> ApiError {
    tracing::error!("{doing}: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "coregen failed; the server log says why",
    )
}

fn unavailable(doing: &str, e: crate::Error) -> ApiError {
    tracing::error!("{doing}: {e}");
    ApiError {
        retry_after: Some(5),
        ..ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "coregen cannot record this now; try again",
        )
    }
}

impl App {
    /// Refuses a request whose client is not the host's inventory address,
    /// when `--require-source-ip` is on.
    fn check_source(&self, host: &Host, ip: IpAddr) -> Result<(), ApiError> {
        if !self.require_source_ip || host.ip == Some(ip) {
            return Ok(());
        }
        tracing::warn!(host = %host.name, peer = %ip, "refused: not the host's address");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("host {} is served only to its own address", host.name),
        ))
    }

    /// The answer to a refused token. The refusals that may be guesses
    /// count against the client's address and against the token's id.
    fn refused(
        &self,
        ip: IpAddr,
        token: &PresentedToken,
        host: Option<&Host>,
        refusal: Refusal,
    ) -> ApiError {
        let host = host.map(|h| h.name.as_str()).unwrap_or("-");
        tracing::warn!(host, peer = %ip, token = %token.id, "enrollment refused: {}", refusal.message());
        match refusal {
            Refusal::Enrolled | Refusal::Replayed => {
                ApiError::new(StatusCode::CONFLICT, refusal.message())
            }
            // A valid token of a retired host: no guess, so not counted.
            Refusal::HostRetired => ApiError::new(StatusCode::FORBIDDEN, refusal.message()),
            Refusal::InvalidToken
            | Refusal::Expired
            | Refusal::Spent
            | Refusal::Retired
            | Refusal::StaleIdentity => self.failed(
                ip,
                Some(token),
                ApiError::new(StatusCode::UNAUTHORIZED, refusal.message()),
            ),
        }
    }

    /// Answers `error`, or 429 with the time left when `ip` or `token`'s
    /// id has used up its failures already; counts this one against both.
    fn failed(&self, ip: IpAddr, token: Option<&PresentedToken>, error: ApiError) -> ApiError {
        // An IPv6 client rotating through its /64 counts as one.
        let source = super::conn::source(ip);
        let by_addr = self.failures_by_addr.check(&source);
        self.failures_by_addr.fail(source);
        let by_token = token.map_or(Ok(()), |t| {
            let over = self.failures_by_token.check(&t.id);
            self.failures_by_token.fail(t.id.clone());
            over
        });
        let wait = match (by_addr, by_token) {
            (Ok(()), Ok(())) => return error,
            (Err(a), Err(b)) => a.max(b),
            (Err(wait), Ok(())) | (Ok(()), Err(wait)) => wait,
        };
        tracing::warn!(peer = %ip, "too many failed tokens");
        ApiError {
            retry_after: Some(wait.as_secs().max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed attempts with this token or from this address; wait and try again",
            )
        }
    }
}
