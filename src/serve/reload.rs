//! Live reload: `serve` loads the project again when `hosts/` or
//! `templates/` change, or on SIGHUP, and swaps the new generation in.
//!
//! Changes are seen through inotify (the `notify` crate) and gathered
//! until the folders have been quiet for [`QUIET`], so that an editor's
//! save, a `git checkout` or an `rsync` is one reload, not hundreds. The
//! load runs on a thread of its own, at a lower CPU priority than the
//! request workers, and never blocks a request: requests keep using the
//! generation they started with, and the old generation is dropped on this
//! thread once the last of them is done. A project that fails to load
//! leaves the old generation serving; the error, with its file, line and
//! column, goes to the log and to `/healthz` until a load succeeds.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::App;
use super::generation::{Generation, Loaded};
use crate::contract::HTTP_CA;
use crate::error::{Error, Result};
use crate::inventory::ServerUrl;
use crate::project::Project;
use crate::values::rfc3339;

/// How long the watched folders must be quiet before a reload.
const QUIET: Duration = Duration::from_millis(250);

/// A stream of changes (a slow copy of thousands of files) reloads at
/// least this often.
const MAX_GATHER: Duration = Duration::from_secs(2);

/// The memory of dropped generations is given back to the system this long
/// after the last reload: trimming holds the allocator's locks for a few
/// milliseconds, which requests feel, so a burst of reloads trims once.
const TRIM_AFTER: Duration = Duration::from_secs(5);

/// How long the reload thread waits for requests to let go of an old
/// generation before it leaves the drop to whichever of them ends last.
const DRAIN: Duration = Duration::from_secs(60);

/// Why a reload happens.
#[derive(Debug)]
pub enum Trigger {
    Signal,
    Changed,
}

/// Where the project is, and how a new load must agree with the running
/// server.
pub struct Source {
    pub root: PathBuf,
    pub pki: PathBuf,
    /// `--url`, which overrides `[server] url`; without it, the URL the
    /// server started with must stay what cluster.toml says.
    pub url_override: Option<ServerUrl>,
    /// The `http` CA the server's certificate is from: a reload may not
    /// change it.
    pub http_ca_pem: String,
}

/// The outcome of the last reload, for `/healthz`.
#[derive(Debug)]
pub struct Health {
    /// Where the last reload failed (the file, line and column, relative
    /// to the project; not the message, which may quote the inventory's
    /// values and goes to the log only) and when, until one succeeds.
    failed: Mutex<Option<(String, time::OffsetDateTime)>>,
    generation: Mutex<u64>,
    /// Off when the project cannot be watched (SIGHUP still reloads), or
    /// when the reload thread is gone.
    watching: std::sync::atomic::AtomicBool,
    reloader: std::sync::atomic::AtomicBool,
}

impl Health {
    /// The health of a server that has loaded its first generation.
    pub fn new() -> Health {
        Health {
            failed: Mutex::new(None),
            generation: Mutex::new(1),
            watching: std::sync::atomic::AtomicBool::new(false),
            reloader: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The last reload's error and its time, if it failed.
    pub fn failure(&self) -> Option<(String, time::OffsetDateTime)> {
        self.failed.lock().expect("not poisoned").clone()
    }

    /// How many generations were loaded, the first included.
    pub fn generation(&self) -> u64 {
        *self.generation.lock().expect("not poisoned")
    }

    /// Counts a generation swapped in; its number.
    pub fn next_generation(&self) -> u64 {
        let mut count = self.generation.lock().expect("not poisoned");
        *count += 1;
        *count
    }

    fn failed(&self, place: String) {
        *self.failed.lock().expect("not poisoned") = Some((place, time::OffsetDateTime::now_utc()));
    }
}

/// Starts watching `source` and the reload thread; returns the sender that
/// SIGHUP writes to.
pub fn start(app: &'static App, source: Source) -> Result<Sender<Trigger>> {
    let (triggers, queue) = mpsc::channel();
    let changes = triggers.clone();
    let hosts = source.root.join("hosts");
    let templates = source.root.join("templates");
    let relevant = {
        let (hosts, templates) = (hosts.clone(), templates.clone());
        move |path: &Path| path.starts_with(&hosts) || path.starts_with(&templates)
    };
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // An error or an overflowed queue (`Other`, with the rescan flag)
        // may hide any change: reload.
        let Ok(event) = event else {
            let _ = changes.send(Trigger::Changed);
            return;
        };
        if matches!(event.kind, EventKind::Other) || event.need_rescan() {
            let _ = changes.send(Trigger::Changed);
            return;
        }
        // Reads (ours included: a reload opens every file) change nothing.
        let writes = !matches!(event.kind, EventKind::Access(_))
            || matches!(
                event.kind,
                EventKind::Access(notify::event::AccessKind::Close(
                    notify::event::AccessMode::Write
                ))
            );
        if writes && event.paths.iter().any(|p| relevant(p) && !scratch(p)) {
            let _ = changes.send(Trigger::Changed);
        }
    })
    .and_then(|mut watcher| {
        // The project folder itself, for `hosts/` or `templates/` made
        // anew (a checkout, a symlink swapped in).
        watcher
            .watch(&source.root, RecursiveMode::NonRecursive)
            .map(|()| watcher)
    });
    let mut folders = match watcher {
        Ok(watcher) => {
            app.health.watching.store(true, Ordering::Relaxed);
            let mut folders = Folders {
                watcher,
                watched: Vec::new(),
                wanted: vec![hosts, templates],
            };
            folders.rewatch();
            Some(folders)
        }
        // Out of inotify instances or watches, say: SIGHUP still reloads.
        Err(e) => {
            tracing::warn!(
                "cannot watch {} for changes ({e}); reloads come from SIGHUP only",
                source.root.display()
            );
            None
        }
    };
    std::thread::Builder::new()
        .name("reload".into())
        // As the request threads: a load runs the same parsers.
        .stack_size(super::THREAD_STACK)
        .spawn(move || {
            lower_priority();
            app.health.reloader.store(true, Ordering::Relaxed);
            run(app, &source, &queue, folders.as_mut());
            app.health.reloader.store(false, Ordering::Relaxed);
        })
        .map_err(|e| Error::new("cannot start the reload thread").with_source(e))?;
    Ok(triggers)
}

/// Editors' and tools' scratch files (`.node1.toml.swp`, `node1.toml~`,
/// vim's `4913`), which the loader never reads: no reload for them.
fn scratch(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.starts_with('.') || name.ends_with('~') || name == "4913"
}

/// The watched folders, by the folder each path names: a folder replaced
/// by another (a rename, a checkout, a symlink swapped) keeps no watch, so
/// it is watched again after a reload that finds it changed.
struct Folders {
    watcher: notify::RecommendedWatcher,
    watched: Vec<(PathBuf, (u64, u64))>,
    wanted: Vec<PathBuf>,
}

impl Folders {
    /// Watches the wanted folders that are not watched as they are now;
    /// whether any was (changes made before its watch are not seen, so the
    /// caller loads once more).
    fn rewatch(&mut self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let mut renewed = false;
        for path in &self.wanted {
            let now = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
            let before = self.watched.iter().position(|(p, _)| p == path);
            if let Some(i) = before {
                if Some(self.watched[i].1) == now {
                    continue;
                }
                let _ = self.watcher.unwatch(path);
                self.watched.remove(i);
            }
            let Some(id) = now.filter(|_| path.is_dir()) else {
                continue;
            };
            match self.watcher.watch(path, RecursiveMode::Recursive) {
                Ok(()) => {
                    self.watched.push((path.clone(), id));
                    renewed |= before.is_some();
                }
                Err(e) => tracing::warn!("cannot watch {}: {e}", path.display()),
            }
        }
        renewed
    }
}

fn run(
    app: &'static App,
    source: &Source,
    queue: &Receiver<Trigger>,
    mut folders: Option<&mut Folders>,
) {
    let mut untrimmed = false;
    loop {
        let next = if untrimmed {
            queue.recv_timeout(TRIM_AFTER)
        } else {
            queue.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let first = match next {
            Ok(trigger) => trigger,
            Err(RecvTimeoutError::Timeout) => {
                release_free_memory();
                untrimmed = false;
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Gather what follows until the folders are quiet.
        let started = Instant::now();
        let mut signalled = matches!(first, Trigger::Signal);
        while started.elapsed() < MAX_GATHER {
            match queue.recv_timeout(QUIET) {
                Ok(trigger) => signalled |= matches!(trigger, Trigger::Signal),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let why = if signalled { "SIGHUP" } else { "a change" };
        // A panic in a load (a parser's bug) fails that reload, not the
        // thread: later changes still reload.
        let reloaded = std::panic::catch_unwind(AssertUnwindSafe(|| reload(app, source, why)));
        untrimmed |= reloaded.unwrap_or_else(|_| {
            app.health
                .failed("a panic while loading the project (see the log)".into());
            false
        });
        if folders.as_mut().is_some_and(|f| f.rewatch()) {
            // Changes made while a folder had no watch: load once more.
            reload(app, source, "a folder replaced");
        }
    }
}

/// Loads and swaps; whether a generation was dropped.
fn reload(app: &'static App, source: &Source, why: &str) -> bool {
    let started = Instant::now();
    match load(source, app.url()) {
        Ok(generation) => {
            let hosts = generation.inventory().hosts.len();
            for warning in &generation.inventory().warnings {
                tracing::warn!("{warning}");
            }
            let (old, number) = app.swap(Arc::new(generation));
            *app.health.failed.lock().expect("not poisoned") = None;
            tracing::info!(
                "reloaded after {why}: {hosts} hosts in {:.0} ms (generation {number})",
                started.elapsed().as_secs_f64() * 1e3
            );
            drop_when_unused(old)
        }
        Err(e) => {
            tracing::error!("reload after {why} failed, still serving the previous inventory: {e}");
            let place = e.place().map_or_else(
                || "the project".to_string(),
                |p| {
                    let file = p.file.strip_prefix(&source.root).unwrap_or(&p.file);
                    crate::error::Place {
                        file: file.to_path_buf(),
                        ..p.clone()
                    }
                    .to_string()
                },
            );
            app.health.failed(place);
            false
        }
    }
}

/// The project at `source`, loaded and checked as at start.
fn load(source: &Source, url: &ServerUrl) -> Result<Generation> {
    let project = Project::load(&source.root, source.pki.clone())?;
    if project.inventory.cluster.cas.contains_key(HTTP_CA)
        && project.pki.exists(HTTP_CA)
        && project.pki.load_cert(HTTP_CA)?.pem != source.http_ca_pem
    {
        return Err(Error::new(format!(
            "the `{HTTP_CA}` CA in {} is not the one this server's certificate is from: \
             restart coregen serve to change it",
            source.pki.display()
        )));
    }
    if source.url_override.is_none() {
        let configured = project.inventory.cluster.server.as_ref().map(|s| &s.url);
        if configured != Some(url) {
            return Err(Error::new(format!(
                "[server] url in hosts/cluster.toml is now {}, but this server answers at {url} \
                 with a certificate for it: restart coregen serve to change it",
                configured.map_or_else(|| "absent".to_string(), |u| u.to_string())
            )));
        }
    }
    let mut created = |msg: &str| tracing::info!("{msg}");
    Ok(Generation::load(Loaded::prepare(
        project,
        url,
        &mut created,
    )?))
}

/// Drops `old` here, once no request holds it: freeing a large inventory
/// takes a while, which a request should not pay for. Whether it did.
fn drop_when_unused(mut old: Arc<Generation>) -> bool {
    let until = Instant::now() + DRAIN;
    loop {
        match Arc::try_unwrap(old) {
            Ok(generation) => {
                drop(generation);
                return true;
            }
            Err(still_used) if Instant::now() < until => {
                old = still_used;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => return false,
        }
    }
}

/// Gives the memory of the dropped generation back to the system. glibc's
/// allocator keeps freed memory for reuse, so without this every reload
/// would leave the process a generation larger for good.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Loads at a lower priority than the request workers, so that a reload
/// under load takes longer rather than slowing requests.
fn lower_priority() {
    // On Linux a thread has its own nice value, set by its thread id.
    // SAFETY: both calls take plain integers and touch no memory of ours.
    let niced = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19)
    };
    if niced != 0 {
        tracing::debug!("the reload thread keeps the normal priority");
    }
}

/// `/healthz`'s body.
pub fn health_json(app: &App) -> serde_json::Value {
    let (generation, number) = app.current_numbered();
    let mut body = serde_json::json!({
        "status": "ok",
        "hosts": generation.inventory().hosts.len(),
        "generation": number,
    });
    if let Some((place, at)) = app.health.failure() {
        body["status"] = "degraded".into();
        body["reload_failed"] = place.into();
        body["reload_failed_at"] = rfc3339(at).into();
    }
    if !app.health.reloader.load(Ordering::Relaxed) {
        body["status"] = "degraded".into();
        body["reloads"] = "stopped".into();
    } else if !app.health.watching.load(Ordering::Relaxed) {
        body["reloads"] = "on SIGHUP only".into();
    }
    body
}
