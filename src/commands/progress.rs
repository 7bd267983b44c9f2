//! Progress for long runs (`render --all`, `pxe --all`): a bar on stderr,
//! shown only on a terminal and only once the work has taken a second, so
//! that quick runs, pipes, logs and CI see nothing of it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work shorter than this shows no bar.
const QUIET_FOR: Duration = Duration::from_secs(1);

pub(super) struct Progress {
    bar: ProgressBar,
    started: Instant,
    /// Whether a terminal may show it at all.
    terminal: bool,
    shown: AtomicBool,
}

impl Progress {
    /// Progress over `len` items of `what` ("hosts").
    pub(super) fn new(len: usize, what: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "coregen: {{bar:30}} {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
            ))
            .expect("a valid template"),
        );
        Progress {
            bar,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal() && std::io::stdout().is_terminal(),
            shown: AtomicBool::new(false),
        }
    }

    /// One more item done; shows the bar once the work has taken a while.
    pub(super) fn tick(&self) {
        self.bar.inc(1);
        if self.terminal
            && self.started.elapsed() >= QUIET_FOR
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
