//! Counting failed token attempts, by key: the client's address, and the
//! token's id, each in its own [`FailureLimit`].
//!
//! Tokens are 256-bit secrets, so guessing one is hopeless; the limits are
//! there to make a scanner's noise cheap and visible. A key that fails
//! `max` times within a window is over its limit until the window ends,
//! and its failures are answered 429 with the time left. The limits never
//! refuse a request whose token is valid: one machine scanning behind a
//! NAT must not lock out the hosts behind the same address, so `serve`
//! consults them only once a token has failed. Successful requests are not
//! counted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept before expired windows are swept out.
const SWEEP_AT: usize = 4096;

/// Keys kept at most: past this, while every window is still open, new
/// keys are not counted (random token ids must not grow memory without
/// bound); the keys already counted still are.
const MAX_KEYS: usize = 65_536;

pub struct FailureLimit<K> {
    max: u32,
    window: Duration,
    seen: Mutex<Seen<K>>,
}

struct Seen<K> {
    counts: HashMap<K, (Instant, u32)>,
    /// When expired windows were last swept out: at most once a quarter
    /// window, so that a flood of new keys costs one scan per quarter
    /// window rather than one per request.
    swept: Instant,
}

impl<K: Hash + Eq> FailureLimit<K> {
    pub fn new(max: u32, window: Duration) -> FailureLimit<K> {
        FailureLimit {
            max,
            window,
            seen: Mutex::new(Seen {
                counts: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// `Err(wait)` when `key` has used up its failures for now.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let seen = self.seen.lock().expect("never poisoned: no panics inside");
        match seen.counts.get(key) {
            Some(&(start, failures)) if failures >= self.max => {
                let left = self.window.saturating_sub(start.elapsed());
                if left.is_zero() { Ok(()) } else { Err(left) }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed attempt of `key`.
    pub fn fail(&self, key: K) {
        let mut seen = self.seen.lock().expect("never poisoned: no panics inside");
        let now = Instant::now();
        if seen.counts.len() >= SWEEP_AT
            && !seen.counts.contains_key(&key)
            && now.duration_since(seen.swept) >= self.window / 4
        {
            let window = self.window;
            seen.counts.retain(|_, (start, _)| start.elapsed() < window);
            seen.swept = now;
        }
        if seen.counts.len() >= MAX_KEYS && !seen.counts.contains_key(&key) {
            return;
        }
        let entry = seen.counts.entry(key).or_insert((now, 0));
        if entry.0.elapsed() >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn an_address_is_refused_after_max_failures_and_others_are_not() {
        let limit = FailureLimit::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.check(&a).is_ok());
            limit.fail(a);
        }
        let wait = limit.check(&a).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert!(limit.check(&b).is_ok());
    }

    #[test]
    fn the_window_ends() {
        let limit = FailureLimit::new(1, Duration::from_millis(20));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        limit.fail(a);
        assert!(limit.check(&a).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limit.check(&a).is_ok());
        limit.fail(a);
        assert!(limit.check(&a).is_err(), "a new window starts counting");
    }
}
