//! Rate limiting of failed token attempts, per client address.
//!
//! Tokens are 256-bit secrets, so guessing one is hopeless; the limit is
//! there to make a scanner's noise cheap and visible. An address that fails
//! `max` times within a window is refused, without its token being looked
//! at, until the window ends. Successful requests are not counted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses kept before expired windows are swept out.
const SWEEP_AT: usize = 4096;

pub struct FailureLimit {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimit {
    pub fn new(max: u32, window: Duration) -> FailureLimit {
        FailureLimit {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when `ip` has used up its failures for now.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let seen = self.seen.lock().expect("never poisoned: no panics inside");
        match seen.get(&ip) {
            Some(&(start, failures)) if failures >= self.max => {
                let left = self.window.saturating_sub(start.elapsed());
                if left.is_zero() { Ok(()) } else { Err(left) }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed attempt from `ip`.
    pub fn fail(&self, ip: IpAddr) {
        let mut seen = self.seen.lock().expect("never poisoned: no panics inside");
        if seen.len() >= SWEEP_AT {
            let window = self.window;
            seen.retain(|_, (start, _)| start.elapsed() < window);
        }
        let now = Instant::now();
        let entry = seen.entry(ip).or_insert((now, 0));
        if entry.0.elapsed() >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_max_failures_and_others_are_not() {
        let limit = FailureLimit::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.check(a).is_ok());
            limit.fail(a);
        }
        let wait = limit.check(a).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert!(limit.check(b).is_ok());
    }

    #[test]
    fn the_window_ends() {
        let limit = FailureLimit::new(1, Duration::from_millis(20));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        limit.fail(a);
        assert!(limit.check(a).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limit.check(a).is_ok());
        limit.fail(a);
        assert!(limit.check(a).is_err(), "a new window starts counting");
    }
}
