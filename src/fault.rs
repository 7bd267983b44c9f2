//! Fault points for tests: places where a debug build can be told to die
//! or fail, to prove that what it committed before survives and that
//! nothing half-done is left behind. A leaf: it imports nothing.
//!
//! `COREGEN_FAULT=<name>` makes the process abort (as `kill -9` would
//! stop it: no destructor, no flush) the first time it passes the point
//! named; [`panic_point`] panics instead, for what must survive a panic.
//! Release builds compile the points to nothing, so no environment
//! variable can stop or break a production run.
//!
//! The points: `enroll-committed` (serve, between an enrollment's commit
//! and its answer), `enroll-slow` (serve, there: a second's delay, for a
//! client to give up on the answer), `render-panic` (serve, rendering a config),
//! `render-staged` (render, every file staged and the tokens stored) and
//! `render-renamed` (render, after the first rename).

/// Whether `COREGEN_FAULT` names this point (debug builds only), for a
/// point that acts in its own way (a delay, say).
#[cfg(debug_assertions)]
pub fn armed(name: &str) -> bool {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var("COREGEN_FAULT").ok())
        .as_deref()
        == Some(name)
}

/// Aborts here when `COREGEN_FAULT` names this point (debug builds only).
#[cfg(debug_assertions)]
pub fn point(name: &str) {
    if armed(name) {
        eprintln!("coregen: fault point `{name}`: aborting");
        std::process::abort();
    }
}

/// Panics here when `COREGEN_FAULT` names this point (debug builds only).
#[cfg(debug_assertions)]
pub fn panic_point(name: &str) {
    if armed(name) {
        panic!("fault point `{name}`");
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn point(_name: &str) {}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn panic_point(_name: &str) {}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn armed(_name: &str) -> bool {
    false
}
