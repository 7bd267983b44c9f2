//! Discovery: a machine that asks for its boot files with a MAC address or
//! SMBIOS UUID that no host has is remembered in the state (its address,
//! MAC, UUID, first and last seen), so that `coregen host list --unknown`
//! shows an operator what to add to the inventory.
//!
//! Anyone on the network can ask, so what a request can make `serve` write
//! is bounded four ways: the state keeps at most
//! [`crate::state::MAX_UNKNOWN_MACHINES`] machines (the one seen longest
//! ago goes first); one client address records at most [`PER_ADDRESS`]
//! sightings a minute, and all together at most [`IN_ALL`]; and a machine
//! asking again within [`COALESCE`] is not written again. The answer is the same 404 whether or not the
//! sighting was recorded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use super::limit::FailureLimit;
use crate::inventory::{MacAddr, SmbiosUuid};
use crate::state::{MAX_UNKNOWN_MACHINES, Sighting};

/// Sightings one client address may record per minute. A machine in a
/// boot loop asks every few seconds at most; more is a scan.
const PER_ADDRESS: u32 = 30;

/// A machine seen again within this is not written again.
const COALESCE: Duration = Duration::from_secs(30);

/// Sightings written per minute from all addresses together: many sources
/// (IPv6 gives each client plenty) cannot turn discovery into a stream of
/// writes beside the enrollments.
const IN_ALL: u32 = 600;

/// A machine as it asked: its MAC, its UUID, or both.
pub type Asked = (Option<MacAddr>, Option<SmbiosUuid>);

pub struct Discovery {
    by_address: FailureLimit<IpAddr>,
    in_all: FailureLimit<()>,
    /// When each machine was last written, for [`COALESCE`].
    written: Mutex<HashMap<Asked, i64>>,
}

impl Discovery {
    pub fn new() -> Discovery {
        Discovery {
            by_address: FailureLimit::new(PER_ADDRESS, Duration::from_secs(60)),
            in_all: FailureLimit::new(IN_ALL, Duration::from_secs(60)),
            written: Mutex::new(HashMap::new()),
        }
    }

    /// The sighting to record for `asked` from `source` at `now`, or
    /// `None` when it is not to be written (asked again soon, or its
    /// address is over its limit).
    pub fn sighting(
        &self,
        asked: Asked,
        source: IpAddr,
        address: IpAddr,
        now: i64,
    ) -> Option<Sighting> {
        if self.by_address.check(&source).is_err() || self.in_all.check(&()).is_err() {
            return None;
        }
        let coalesce = COALESCE.as_secs() as i64;
        {
            let mut written = self.written.lock().expect("not poisoned");
            if written.get(&asked).is_some_and(|&at| now - at < coalesce) {
                return None;
            }
            if written.len() >= MAX_UNKNOWN_MACHINES {
                written.retain(|_, at| now - *at < coalesce);
                if written.len() >= MAX_UNKNOWN_MACHINES {
                    written.clear();
                }
            }
            written.insert(asked, now);
        }
        self.by_address.fail(source);
        self.in_all.fail(());
        Some(Sighting {
            mac: asked.0.map(|m| m.to_string()),
            uuid: asked.1.map(|u| u.to_string()),
            address: address.to_string(),
            first_seen: now,
            last_seen: now,
            requests: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(mac: &str) -> Asked {
        (Some(mac.parse().unwrap()), None)
    }

    #[test]
    fn a_machine_asking_again_soon_is_written_once() {
        let d = Discovery::new();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let m = asked("52:54:00:00:00:01");
        assert!(d.sighting(m, ip, ip, 1000).is_some());
        assert!(d.sighting(m, ip, ip, 1010).is_none());
        let again = d.sighting(m, ip, ip, 1000 + COALESCE.as_secs() as i64);
        assert_eq!(again.unwrap().first_seen, 1030);
    }

    #[test]
    fn one_address_records_a_bounded_number_of_machines() {
        let d = Discovery::new();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let recorded = (0..100)
            .filter(|i| {
                let m = asked(&format!("52:54:00:00:01:{i:02x}"));
                d.sighting(m, ip, ip, 1000).is_some()
            })
            .count();
        assert_eq!(recorded, PER_ADDRESS as usize);
        let other: IpAddr = "10.0.0.10".parse().unwrap();
        assert!(
            d.sighting(asked("52:54:00:00:02:01"), other, other, 1000)
                .is_some()
        );
    }
}
