//! Load generator for `coregen serve`: generates an inventory, starts the
//! release `coregen serve` on loopback, and drives it over HTTPS with
//! keep-alive connections, one host per request:
//!
//! 1. every host's config, `GET /ignition/{host}` (latency percentiles);
//! 2. every host's enrollment, `POST /v1/enroll` with the token from its
//!    config and one P-256 CSR made beforehand (rate and percentiles);
//! 3. the server's memory afterwards (VmRSS and VmHWM);
//! 4. every host's renewal with the identity its enrollment gave it, each
//!    on a fresh mutual-TLS connection, as hosts make them;
//! 5. every host's config again, without reloads and then while the server
//!    reloads its inventory over and over (SIGHUP, the next one as soon as
//!    the last is done): the p99 of each, how long each reload took, and
//!    the memory afterwards;
//! 6. the floor: the same requests to a server in this process on the same
//!    stack (rustls, hyper, tokio, two worker threads) that answers each
//!    with a fixed body of a config's size and does nothing else. No
//!    server that renders and commits can beat it on this machine.
//!
//! ```text
//! cargo build --release --bin coregen --example gen-inventory --example loadgen
//! target/release/examples/loadgen [HOSTS [CLIENTS]]     # default 10000 64
//! ```
//!
//! `LOADGEN_SERVE_LOG=debug` shows the server's log (its `COREGEN_LOG`),
//! with the size and time of each database commit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: loadgen [HOSTS [CLIENTS]]"))
        .collect();
    let hosts = args.first().copied().unwrap_or(10_000);
    let clients = args.get(1).copied().unwrap_or(64);

    let bin = std::env::current_exe().unwrap();
    let examples = bin.parent().unwrap();
    let coregen = examples.parent().unwrap().join("coregen");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cluster");
    let status = Command::new(examples.join("gen-inventory"))
        .arg(hosts.to_string())
        .arg(&dir)
        .status()
        .expect("gen-inventory is built (see the usage above)");
    assert!(status.success());

    let (server, addr, reloads) = start_serve(&coregen, &dir);
    let pid = server.0.id();
    let names: Vec<String> = (0..hosts).map(|i| format!("host{i:05}")).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tls = client_config(&dir.join("pki/http/ca.crt"));

    println!("coregen serve: {hosts} hosts, {clients} clients, HTTPS keep-alive on {addr}");
    let cpu = || cpu_secs(pid);
    let gets = || {
        names
            .iter()
            .map(|h| (format!("/ignition/{h}"), None))
            .collect()
    };
    let before = cpu();
    let (configs, took, mut latencies) =
        runtime.block_on(drive(addr, tls.clone(), clients, gets()));
    report("GET /ignition/{host}", hosts, took, &mut latencies);
    let after = cpu();
    println!(
        "  serve CPU: {:.0} µs per request (user + system, all threads)",
        (after - before) * 1e6 / hosts as f64
    );

    let memory = |when: &str| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        for field in ["VmRSS", "VmHWM"] {
            let line = status.lines().find(|l| l.starts_with(field)).unwrap();
            println!("  serve memory {when}: {line}");
        }
    };
    let tokens: Vec<String> = configs.iter().map(|c| token_in(c)).collect();
    let started = Instant::now();
    let (bodies, identity_keys): (Vec<String>, Vec<String>) =
        (0..hosts).map(|_| enroll_body()).unzip();
    println!(
        "  ({hosts} P-256 keys and CSRs made in {:.1?}, not timed below)",
        started.elapsed()
    );
    let requests = tokens
        .into_iter()
        .zip(bodies)
        .map(|(token, body)| ("/v1/enroll".to_string(), Some((token, body))))
        .collect();
    let before = cpu();
    let (answers, took, mut latencies) =
        runtime.block_on(drive(addr, tls.clone(), clients, requests));
    let after = cpu();
    let enrolled = answers
        .iter()
        .filter(|a| a.contains("\"certificates\""))
        .count();
    assert_eq!(enrolled, hosts, "every enrollment succeeds");
    report("POST /v1/enroll", hosts, took, &mut latencies);
    println!(
        "  serve CPU: {:.0} µs per request (user + system, all threads)",
        (after - before) * 1e6 / hosts as f64
    );

    memory(&format!("after {hosts} enrollments"));

    // Renewals as hosts make them: each on a fresh connection, presenting
    // the identity its enrollment gave it (mutual TLS), one new key's CSR.
    let ca = dir.join("pki/http/ca.crt");
    let started = Instant::now();
    let renewals: Vec<(Arc<rustls::ClientConfig>, String)> = answers
        .iter()
        .zip(&identity_keys)
        .enumerate()
        .map(|(i, (answer, key))| {
            let identity = identity_in(answer);
            let nonce = format!(
                "{i:016x}{:016x}",
                started.elapsed().as_nanos() as u64 ^ 0x5eed
            );
            (client_config_with(&ca, &identity, key), renew_body(&nonce))
        })
        .collect();
    println!(
        "  ({hosts} renewal requests and client configs made in {:.1?}, not timed below)",
        started.elapsed()
    );
    let before = cpu();
    let (answers, took, mut latencies) = runtime.block_on(renew_all(addr, clients, renewals));
    let after = cpu();
    assert!(answers.iter().all(|a| a.contains("\"certificates\"")));
    report(
        "POST /v1/renew, a new mutual-TLS connection each",
        hosts,
        took,
        &mut latencies,
    );
    println!(
        "  serve CPU: {:.0} µs per renewal (user + system, all threads; TLS handshakes included)",
        (after - before) * 1e6 / hosts as f64
    );

    let (_, took, mut latencies) = runtime.block_on(drive(addr, tls.clone(), clients, gets()));
    let quiet_p99 = report("GET /ignition/{host}, again", hosts, took, &mut latencies);
    let reloading = std::sync::atomic::AtomicBool::new(true);
    let (took, mut latencies, reload_times) = std::thread::scope(|s| {
        let reloading = &reloading;
        let hup = s.spawn(move || {
            let mut times = Vec::new();
            while reloading.load(Ordering::Relaxed) {
                // SAFETY: a signal to the server's process id; no memory.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGHUP) };
                match reloads.recv_timeout(Duration::from_secs(30)) {
                    Ok(took) => times.push(took),
                    Err(_) => panic!("the server did not report its reload"),
                }
            }
            times
        });
        let (_, took, latencies) = runtime.block_on(drive(addr, tls.clone(), clients, gets()));
        reloading.store(false, Ordering::Relaxed);
        (took, latencies, hup.join().unwrap())
    });
    let reloading_p99 = report(
        "GET /ignition/{host}, reloading throughout",
        hosts,
        took,
        &mut latencies,
    );
    let mut sorted = reload_times.clone();
    sorted.sort();
    println!(
        "  {} reloads of {hosts} hosts meanwhile: {:.0?} median, {:.0?} max; p99 {:.2}x that without",
        sorted.len(),
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        reloading_p99.as_secs_f64() / quiet_p99.as_secs_f64(),
    );

    // The server gives the memory of old generations back 5 s after the
    // last reload.
    std::thread::sleep(Duration::from_secs(6));
    memory("after the reloads");

    drop(server);

    let body = Bytes::from(configs[0].clone());
    let (floor_addr, floor_tls, _floor) = start_floor(body.clone());
    let (_, took, mut latencies) = runtime.block_on(drive(floor_addr, floor_tls, clients, gets()));
    report(
        &format!("floor, a fixed {} KB body", body.len() / 1000),
        hosts,
        took,
        &mut latencies,
    );
}

/// The CPU time `pid` has used, user and system, in seconds: the measure
/// of a request's cost that other load on the machine does not skew the
/// way it skews wall time.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name in parentheses: state, then 10 fields, then
    // utime and stime in clock ticks (100 per second on Linux).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A server on the same stack as `coregen serve` that answers every request
/// with `body`, on its own two-thread runtime; kept until the runtime drops.
fn start_floor(
    body: Bytes,
) -> (
    SocketAddr,
    Arc<rustls::ClientConfig>,
    tokio::runtime::Runtime,
) {
    use hyper::service::service_fn;
    use rustls::pki_types::PrivateKeyDer;

    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    runtime.spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let tls = acceptor.accept(tcp).await.unwrap();
                let service = service_fn(move |_request| {
                    let body = body.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(body)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, Arc::new(client), runtime)
}

/// The server process, killed however the run ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server; the receiver hears how long each of its reloads took.
fn start_serve(
    coregen: &Path,
    dir: &Path,
) -> (Server, SocketAddr, std::sync::mpsc::Receiver<Duration>) {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new(coregen)
        .arg("-C")
        .arg(dir)
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--url", &format!("https://{addr}")])
        // Every simulated host connects from 127.0.0.1, as hosts behind one
        // NAT would: room for them all.
        .args(["--max-connections-per-address", "4096"])
        .env(
            "COREGEN_LOG",
            std::env::var("LOADGEN_SERVE_LOG")
                .unwrap_or_else(|_| "warn,coregen::serve::reload=info".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("target/release/coregen is built (see the usage above)");
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("coregen: serving https://") {
            break;
        }
    }
    // Keep reading the log, so that the server never blocks on it; show it
    // when LOADGEN_SERVE_LOG (the server's COREGEN_LOG) is set.
    let show = std::env::var_os("LOADGEN_SERVE_LOG").is_some();
    let (reloads, reload_times) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if show {
                eprintln!("{line}");
            }
            // "reloaded after SIGHUP: 10000 hosts in 412 ms (generation 2)"
            let ms = line
                .split_once(" hosts in ")
                .and_then(|(_, rest)| rest.split_once(" ms"))
                .and_then(|(ms, _)| ms.parse::<u64>().ok());
            if let Some(ms) = ms {
                let _ = reloads.send(Duration::from_millis(ms));
            }
        }
    });
    (Server(child), addr, reload_times)
}

fn client_config(ca: &PathBuf) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

type Request = (String, Option<(String, String)>);

/// Sends every request over `clients` keep-alive connections; returns the
/// bodies in request order, the wall time, and each request's latency.
async fn drive(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    clients: usize,
    requests: Vec<Request>,
) -> (Vec<String>, Duration, Vec<Duration>) {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::with_capacity(clients);
    for _ in 0..clients {
        senders.push(connect(addr, tls.clone()).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let (requests, next) = (requests.clone(), next.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, post)) = requests.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let body = send(&mut sender, path, post.as_ref()).await;
                    done.push((i, body, t.elapsed()));
                }
                done
            })
        })
        .collect();
    let mut results = Vec::with_capacity(requests.len());
    for task in tasks {
        results.extend(task.await.unwrap());
    }
    let took = started.elapsed();
    results.sort_by_key(|(i, _, _)| *i);
    let latencies = results.iter().map(|(_, _, l)| *l).collect();
    (
        results.into_iter().map(|(_, b, _)| b).collect(),
        took,
        latencies,
    )
}

/// Sends each renewal on a connection of its own, `clients` at a time; the
/// answers, the wall time, and each renewal's latency, handshake included.
async fn renew_all(
    addr: SocketAddr,
    clients: usize,
    renewals: Vec<(Arc<rustls::ClientConfig>, String)>,
) -> (Vec<String>, Duration, Vec<Duration>) {
    let renewals = Arc::new(renewals);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (renewals, next) = (renewals.clone(), next.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((tls, body)) = renewals.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let mut sender = connect(addr, tls.clone()).await;
                    let post = (String::new(), body.clone());
                    let answer = send(&mut sender, "/v1/renew", Some(&post)).await;
                    done.push((answer, t.elapsed()));
                }
                done
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.extend(task.await.unwrap());
    }
    let took = started.elapsed();
    let (answers, latencies) = results.into_iter().unzip();
    (answers, took, latencies)
}

/// A client config trusting `ca` and presenting `cert` (PEM) with `key`.
fn client_config_with(ca: &Path, cert: &str, key: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::PrivateKeyDer;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let cert = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![cert], key)
            .unwrap(),
    )
}

/// The identity certificate of an enrollment answer.
fn identity_in(answer: &str) -> String {
    let answer: serde_json::Value = serde_json::from_str(answer).unwrap();
    answer["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["profile"] == "identity")
        .expect("an identity in the answer")["certificate"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn connect(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) -> SendRequest<Full<Bytes>> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let stream = TlsConnector::from(tls).connect(name, tcp).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    path: &str,
    post: Option<&(String, String)>,
) -> String {
    let builder = hyper::Request::builder()
        .uri(path)
        .header("host", "127.0.0.1");
    let request = match post {
        None => builder.method("GET").body(Full::default()),
        // A renewal carries no token: its connection's certificate says who.
        Some((token, body)) if token.is_empty() => builder
            .method("POST")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone()))),
        Some((token, body)) => builder
            .method("POST")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone()))),
    }
    .unwrap();
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

fn token_in(config: &str) -> String {
    let config: serde_json::Value = serde_json::from_str(config).unwrap();
    let file = config["storage"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/etc/coregen/enroll.env")
        .expect("enroll.env in the config");
    let env = coregen::ignition::decode_data_url(
        file["contents"]["source"].as_str().unwrap(),
        file["contents"]["compression"].as_str(),
    )
    .unwrap();
    let env = String::from_utf8(env).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("COREGEN_TOKEN='")?.strip_suffix('\''))
        .unwrap()
        .to_string()
}

/// A P-256 key and a CSR for it, without names: the certificate's come
/// from the inventory.
fn key_and_csr() -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    (key, csr)
}

/// An enrollment for the `node` profile and an identity; the identity's
/// key (PEM), for the renewals.
fn enroll_body() -> (String, String) {
    let (_, csr) = key_and_csr();
    let (identity, identity_csr) = key_and_csr();
    let body = serde_json::json!({ "csrs": [
        { "profile": "node", "csr": csr },
        { "profile": "identity", "csr": identity_csr },
    ] });
    (body.to_string(), identity.serialize_pem())
}

/// A renewal of the `node` profile, for a new key.
fn renew_body(nonce: &str) -> String {
    let (_, csr) = key_and_csr();
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    serde_json::json!({ "nonce": nonce, "time": time, "csrs": [{ "profile": "node", "csr": csr }] })
        .to_string()
}

/// Prints the rate and latencies; returns the p99.
fn report(what: &str, count: usize, took: Duration, latencies: &mut [Duration]) -> Duration {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{what}: {count} in {:.2?} = {:.0}/s; latency p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        took,
        count as f64 / took.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1],
    );
    pct(0.99)
}
