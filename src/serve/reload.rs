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

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::App;
use super::generation::{Generation, Loaded};
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
}

/// The outcome of the last reload, for `/healthz`.
#[derive(Debug)]
pub struct Health {
    /// The error of the last reload and when it failed, until one succeeds.
    failed: Mutex<Option<(String, time::OffsetDateTime)>>,
    generation: Mutex<u64>,
}

impl Health {
    /// The health of a server that has loaded its first generation.
    pub fn new() -> Health {
        Health {
            failed: Mutex::new(None),
            generation: Mutex::new(1),
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
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Reads (ours included: a reload opens every file) change nothing.
        let writes = !matches!(event.kind, EventKind::Access(_) | EventKind::Other)
            || matches!(
                event.kind,
                EventKind::Access(notify::event::AccessKind::Close(
                    notify::event::AccessMode::Write
                ))
            );
        if writes && event.paths.iter().any(|p| relevant(p)) {
            let _ = changes.send(Trigger::Changed);
        }
    })
    .map_err(|e| Error::new("cannot watch the project for changes").with_source(e))?;
    // The project folder itself, for `hosts/` or `templates/` made anew
    // (a checkout, a symlink swapped in).
    watcher
        .watch(&source.root, RecursiveMode::NonRecursive)
        .map_err(|e| {
            Error::new(format!("cannot watch {}", source.root.display())).with_source(e)
        })?;
    let mut folders = Folders {
        watcher,
        watched: Vec::new(),
        wanted: vec![hosts, templates],
    };
    folders.rewatch();
    std::thread::Builder::new()
        .name("reload".into())
        .spawn(move || {
            lower_priority();
            run(app, &source, &queue, &mut folders);
        })
        .map_err(|e| Error::new("cannot start the reload thread").with_source(e))?;
    Ok(triggers)
}

/// The watched folders. They are watched again after each reload, since a
/// folder replaced by another (a rename, a checkout) keeps no watch.
struct Folders {
    watcher: notify::RecommendedWatcher,
    watched: Vec<PathBuf>,
    wanted: Vec<PathBuf>,
}

impl Folders {
    fn rewatch(&mut self) {
        for path in self.watched.drain(..) {
            let _ = self.watcher.unwatch(&path);
        }
        for path in &self.wanted {
            if !path.is_dir() {
                continue;
            }
            match self.watcher.watch(path, RecursiveMode::Recursive) {
                Ok(()) => self.watched.push(path.clone()),
                Err(e) => tracing::warn!("cannot watch {}: {e}", path.display()),
            }
        }
    }
}

fn run(app: &'static App, source: &Source, queue: &Receiver<Trigger>, folders: &mut Folders) {
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
        untrimmed |= reload(app, source, why);
        folders.rewatch();
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
            let old = app.swap(Arc::new(generation));
            let number = {
                let mut count = app.health.generation.lock().expect("not poisoned");
                *count += 1;
                *count
            };
            *app.health.failed.lock().expect("not poisoned") = None;
            tracing::info!(
                "reloaded after {why}: {hosts} hosts in {:.0} ms (generation {number})",
                started.elapsed().as_secs_f64() * 1e3
            );
            drop_when_unused(old)
        }
        Err(e) => {
            tracing::error!("reload after {why} failed, still serving the previous inventory: {e}");
            *app.health.failed.lock().expect("not poisoned") =
                Some((e.to_string(), time::OffsetDateTime::now_utc()));
            false
        }
    }
}

/// The project at `source`, loaded and checked as at start.
fn load(source: &Source, url: &ServerUrl) -> Result<Generation> {
    let project = Project::load(&source.root, source.pki.clone())?;
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
    let generation = app.current();
    let mut body = serde_json::json!({
        "status": "ok",
        "hosts": generation.inventory().hosts.len(),
        "generation": app.health.generation(),
    });
    if let Some((error, at)) = app.health.failure() {
        body["status"] = "degraded".into();
        body["reload_error"] = error.into();
        body["reload_failed_at"] = rfc3339(at).into();
    }
    body
}
