//! The connection loop of `coregen serve`: accepting, the limits on open
//! connections, the TLS handshake, and HTTP/1.1 via hyper.
//!
//! A client that opens connections and sends nothing, or asks and never
//! reads the answers, must not starve the others. So each source (an IPv4
//! address, or an IPv6 /64, which one machine usually holds whole) may
//! hold at most [`Limits::per_address`] connections, and the server
//! [`Limits::total`] in all (sized to its file descriptors); a connection
//! beyond either is closed at once rather than queued, where it would wait
//! unseen in the kernel ahead of everyone else's. A connection must finish
//! its TLS handshake within [`HANDSHAKE_TIMEOUT`], send each request's
//! headers within [`HEADER_TIMEOUT`] (hyper applies it to an idle
//! keep-alive connection too), and take what it is sent: a write that
//! makes no progress for [`WRITE_STALL`] closes it. So every connection
//! gives its place back soon unless it is doing real work.
//!
//! hyper answers a request it cannot parse (400, 414, 431) by itself with
//! an empty body; [`Guarded`] gives those answers the JSON body that every
//! other refusal of the server has. What happens to a request once parsed
//! is `routes`' business.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::mtls::ClientCert;
use super::routes::Peer;

/// A client gets this long to finish its TLS handshake. A real one needs
/// a round trip or two; one that connects and sends nothing is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// And this long to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection whose writes make no progress for this long is closed: the
/// client stopped reading. A config is tens of kilobytes, which a real
/// client takes in well under a second.
pub const WRITE_STALL: Duration = Duration::from_secs(10);

/// Open connections at most, over all addresses, when file descriptors
/// allow as many.
pub const MAX_CONNECTIONS: usize = 4096;

/// File descriptors kept for what is not a connection: the listeners, the
/// state database's connections, the log, the files a render reads.
const RESERVED_FDS: usize = 128;

/// How many connections the server holds open, per source and in all.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_address: usize,
    pub total: usize,
}

impl Limits {
    /// `per_address`, and a total of [`MAX_CONNECTIONS`] or what the
    /// process's file descriptors allow, whichever is less. Raises the
    /// soft limit on file descriptors to the hard one first (systemd's
    /// default soft limit is 1,024).
    pub fn new(per_address: usize) -> Limits {
        let fds = raise_fd_limit();
        let total = MAX_CONNECTIONS
            .min(fds.saturating_sub(RESERVED_FDS))
            .max(16);
        Limits {
            per_address: per_address.min(total),
            total,
        }
    }
}

/// Raises the soft limit on open files to the hard limit, and returns the
/// limit now in force.
fn raise_fd_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write only the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// The source a connection (or a failed token) counts against: an IPv4
/// address, or the /64 of an IPv6 one.
pub fn source(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// The connections each address holds now.
#[derive(Default)]
struct Held(Mutex<HashMap<IpAddr, usize>>);

/// One accepted connection's place in the counts, given back on drop.
struct Slot {
    held: Arc<Held>,
    ip: IpAddr,
    _total: OwnedSemaphorePermit,
}

impl Held {
    fn take(
        self: &Arc<Held>,
        ip: IpAddr,
        limit: usize,
        total: OwnedSemaphorePermit,
    ) -> Option<Slot> {
        let mut held = self.0.lock().expect("never poisoned: no panics inside");
        let count = held.entry(ip).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            held: self.clone(),
            ip,
            _total: total,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .held
            .0
            .lock()
            .expect("never poisoned: no panics inside");
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// The counts of open connections, shared by every listener of a server:
/// its file descriptors are one budget.
#[derive(Clone)]
pub struct Slots {
    total: Arc<Semaphore>,
    held: Arc<Held>,
    limits: Limits,
}

impl Slots {
    pub fn new(limits: Limits) -> Slots {
        Slots {
            total: Arc::new(Semaphore::new(limits.total)),
            held: Arc::new(Held::default()),
            limits,
        }
    }
}

/// Accepts connections on `listener` for ever, each served by `router`,
/// over TLS when `tls` is given, within `slots`.
pub async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>, router: Router, slots: Slots) {
    let Slots {
        total,
        held,
        limits,
    } = slots;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors, most likely: back off a little.
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = source(peer.ip());
        let slot = total
            .clone()
            .try_acquire_owned()
            .ok()
            .and_then(|permit| held.take(ip, limits.per_address, permit));
        let Some(slot) = slot else {
            tracing::debug!(%peer, "connection refused: too many open");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (tls, router) = (tls.clone(), router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let client = stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|chain| chain.first())
                                .map(|cert| ClientCert(Arc::new(cert.clone().into_owned())));
                            connection(stream, peer, client, router).await
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake: {e}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => connection(stream, peer, None, router).await,
            }
        });
    }
}

async fn connection<S>(io: S, peer: SocketAddr, client: Option<ClientCert>, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        if let Some(client) = &client {
            request.extensions_mut().insert(client.clone());
        }
        router.clone().oneshot(request.map(Body::new))
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(16 * 1024)
        .serve_connection(TokioIo::new(Guarded::new(io)), service)
        .await;
    if let Err(e) = result {
        tracing::debug!(%peer, "connection: {e}");
    }
}

/// Between a connection and hyper. It closes the connection when a write
/// makes no progress for [`WRITE_STALL`], and it replaces the
/// empty-bodied answers that hyper writes for a request it cannot parse
/// with the same status and a JSON reason. It knows them by their head alone: one of those statuses
/// with `content-length: 0` and nothing after, which no route writes
/// (each of their errors has a body). It also tells hyper that it takes
/// no vectored writes, so that a head always comes in one buffer.
///
/// After such an answer hyper closes the connection, often before the
/// client has sent all of its request (a header too large, say). Closing
/// a socket with unread data makes the kernel reset the connection, and
/// the client loses the answer: so it first reads and drops what the
/// client still sends, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
pub struct Guarded<S> {
    inner: S,
    /// A replacement being written: its bytes, how many are written, and
    /// the length of the buffer it replaces (what hyper is told).
    pending: Option<(Vec<u8>, usize, usize)>,
    /// An error answer was written: drain before closing.
    answered_error: bool,
    drain: Option<(Pin<Box<tokio::time::Sleep>>, usize)>,
    /// Set while a write waits for the client to read.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// What is read and dropped at most after an error answer, and for how
/// long, before the connection is closed regardless.
const DRAIN_BYTES: usize = 256 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);

impl<S> Guarded<S> {
    pub fn new(inner: S) -> Guarded<S> {
        Guarded {
            inner,
            pending: None,
            answered_error: false,
            drain: None,
            stalled: None,
        }
    }
}

/// The answer to write instead of `buf`, when `buf` is one of hyper's
/// bodiless parse-error answers.
fn with_json_body(buf: &[u8]) -> Option<Vec<u8>> {
    const LONGEST_HEAD: usize = 256;
    if buf.len() > LONGEST_HEAD || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| head.strip_prefix("HTTP/1.0 "))?
        .get(..3)?;
    let (reason, message) = match status {
        "400" => ("Bad Request", "the request is not valid HTTP/1.1"),
        "414" => ("URI Too Long", "the request's URI is too long"),
        "431" => (
            "Request Header Fields Too Large",
            "the request's header fields are too large",
        ),
        _ => return None,
    };
    let bodiless = head[..head.len() - 2]
        .split("\r\n")
        .skip(1)
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !bodiless || head.matches("\r\n").count() > 6 {
        return None;
    }
    let body = serde_json::json!({ "error": message }).to_string();
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match with_json_body(buf) {
                Some(replacement) => this.pending = Some((replacement, 0, buf.len())),
                None => {
                    let written = Pin::new(&mut this.inner).poll_write(cx, buf);
                    return this.progress(cx, written);
                }
            }
        }
        let (bytes, written, replaced) = this.pending.as_mut().expect("set above");
        while *written < bytes.len() {
            let polled = Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]);
            let n = ready!(Self::watch(&mut this.stalled, cx, polled))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let replaced = *replaced;
        this.pending = None;
        this.answered_error = true;
        Poll::Ready(Ok(replaced))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let flushed = Pin::new(&mut this.inner).poll_flush(cx);
        Self::watch(&mut this.stalled, cx, flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let shut = Pin::new(&mut this.inner).poll_shutdown(cx);
        ready!(Self::watch(&mut this.stalled, cx, shut))?;
        if !this.answered_error {
            return Poll::Ready(Ok(()));
        }
        let (deadline, drained) = this
            .drain
            .get_or_insert_with(|| (Box::pin(tokio::time::sleep(DRAIN_TIME)), 0));
        let mut buf = [0u8; 8192];
        while *drained < DRAIN_BYTES && deadline.as_mut().poll(cx).is_pending() {
            let mut read = ReadBuf::new(&mut buf);
            match ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read)) {
                Ok(()) if !read.filled().is_empty() => *drained += read.filled().len(),
                _ => break,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl<S> Guarded<S> {
    fn progress(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        Self::watch(&mut self.stalled, cx, polled)
    }

    /// Passes `polled` on, starting the stall clock when it is pending and
    /// stopping it when it is not; an error once the clock runs out.
    fn watch<T>(
        stalled: &mut Option<Pin<Box<tokio::time::Sleep>>>,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            *stalled = None;
            return polled;
        }
        let clock = stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_STALL)));
        match clock.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_parse_errors_get_a_body() {
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\
                          date: Sat, 28 Nov 2026 13:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(with_json_body(hyper_431).unwrap()).unwrap();
        assert!(replaced.starts_with("HTTP/1.1 431 "), "{replaced}");
        let body = replaced.split("\r\n\r\n").nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("too large"));
        assert!(replaced.contains(&format!("content-length: {}\r\n", body.len())));

        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert!(with_json_body(hyper_400).is_some());
        for ours in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"{\"error\": \"HTTP/1.1 400 \"}",
        ] {
            assert!(with_json_body(ours).is_none(), "{}", String::from_utf8_lossy(ours));
        }
    }

    #[test]
    fn an_ipv6_source_is_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source(a), source(b));
        assert_ne!(source(a), source(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(source(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_address_holds_at_most_its_limit() {
        let total = Arc::new(Semaphore::new(10));
        let held = Arc::new(Held::default());
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let permit = || total.clone().try_acquire_owned().unwrap();
        let first = held.take(a, 2, permit()).unwrap();
        let _second = held.take(a, 2, permit()).unwrap();
        assert!(held.take(a, 2, permit()).is_none());
        let _other = held.take(b, 2, permit()).unwrap();
        drop(first);
        assert!(held.take(a, 2, permit()).is_some(), "a slot is given back");
        assert_eq!(
            total.available_permits(),
            8,
            "refused ones return their permit"
        );
    }
}
