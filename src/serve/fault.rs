//! Fault points for tests: places where a debug build of `serve` can be
//! told to die, to prove that what it committed before survives.
//!
//! `COREGEN_FAULT=<name>` makes the process abort (as `kill -9` would
//! stop it: no destructor, no flush) the first time it passes the point
//! named. Release builds compile the points to nothing, so no environment
//! variable can stop a production server.

/// Aborts here when `COREGEN_FAULT` names this point (debug builds only).
#[cfg(debug_assertions)]
pub fn point(name: &str) {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("COREGEN_FAULT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("coregen: fault point `{name}`: aborting");
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn point(_name: &str) {}
