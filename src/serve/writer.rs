//! The one thread that writes `state.db` while `coregen serve` runs, with
//! group commit.
//!
//! Requests hand their write (tokens minted, an enrollment) to this thread
//! and wait for its answer. The thread gathers what arrives within
//! [`GATHER`] of a batch's first write, applies it in one transaction and
//! flushes the disk once for the lot, so the number of requests served per
//! second is not capped by the disk's flushes per second. A request is
//! answered only after its batch is on disk.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::state::{Op, State, Verdict, unix_now};

/// More than this many writes wait for the next batch, so that one batch
/// does not keep its first request waiting for too long.
const MAX_BATCH: usize = 512;

/// How long a batch stays open for more writes after its first. A commit
/// costs about 0.15 ms of CPU whatever its size (mostly the flush, which
/// on a VM is a trip to the hypervisor), and each write in it about 5 µs.
/// Under load, waiting makes the batches several times larger and serves
/// about a quarter more configs per second at a lower p99; a lone request
/// waits 1 ms more, which a booting machine does not notice.
const GATHER: Duration = Duration::from_millis(1);

/// How often spent and expired tokens are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

struct Job {
    op: Op,
    done: oneshot::Sender<Result<Verdict<()>>>,
}

#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread, which writes to `db` until every
    /// [`Writer`] handle is dropped.
    pub fn start(db: State) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("state-writer".into())
            .spawn(move || {
                let mut last_prune = None::<Instant>;
                while let Ok(first) = queue.recv() {
                    let mut ops = vec![first.op];
                    let mut waiting = vec![first.done];
                    let close = Instant::now() + GATHER;
                    while ops.len() < MAX_BATCH {
                        let open_for = close.saturating_duration_since(Instant::now());
                        let Ok(job) = queue.recv_timeout(open_for) else {
                            break;
                        };
                        ops.push(job.op);
                        waiting.push(job.done);
                    }
                    let started = Instant::now();
                    let applied = db.apply(&ops);
                    tracing::debug!(batch = ops.len(), took = ?started.elapsed(), "committed");
                    match applied {
                        Ok(results) => {
                            for (done, result) in waiting.into_iter().zip(results) {
                                let _ = done.send(Ok(result));
                            }
                        }
                        Err(e) => {
                            tracing::error!("state database: {e}");
                            for done in waiting {
                                let err = Error::new(format!("cannot write the state: {e}"));
                                let _ = done.send(Err(err));
                            }
                        }
                    }
                    if last_prune.is_none_or(|t| t.elapsed() > PRUNE_EVERY) {
                        last_prune = Some(Instant::now());
                        if let Err(e) = db.prune_tokens(unix_now()) {
                            tracing::warn!("pruning old tokens: {e}");
                        }
                    }
                }
            })
            .map_err(|e| Error::new("cannot start the database writer").with_source(e))?;
        Ok(Writer { jobs })
    }

    /// Applies `op` with the next batch and returns once it is on disk.
    pub async fn write(&self, op: Op) -> Result<Verdict<()>> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { op, done })
            .map_err(|_| Error::new("the database writer has stopped"))?;
        answer
            .await
            .map_err(|_| Error::new("the database writer has stopped"))?
    }
}
