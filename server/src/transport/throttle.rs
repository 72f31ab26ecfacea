//! Failed credentials, counted per peer address: after a few, each peer
//! waits exponentially longer before its next try is even looked at (a
//! sign-in form, a bearer token, a tunnel token). Guessing a 256-bit token
//! is hopeless anyway; this keeps logs and CPU quiet and makes a short,
//! chosen token (from `--listen-token-file`) costly to guess.
//!
//! Bounded: at most [`MAX_PEERS`] addresses are remembered; past that the
//! oldest are forgotten first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::core::session::lock;

/// Failures a peer may have before it waits.
pub const FREE_FAILURES: u32 = 5;
/// The first wait; it doubles with every failure after that.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(300);
/// Addresses remembered at most.
const MAX_PEERS: usize = 4096;

#[derive(Debug, Default)]
pub struct Throttle {
    peers: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn wait(&self) -> Duration {
        let over = self.count.saturating_sub(FREE_FAILURES);
        if self.count < FREE_FAILURES {
            return Duration::ZERO;
        }
        FIRST_WAIT
            .saturating_mul(1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX))
            .min(MAX_WAIT)
    }

    /// When this peer may try again.
    fn until(&self) -> Instant {
        self.last + self.wait()
    }
}

impl Throttle {
    /// `Err(wait)` while `peer` must wait before its credentials are
    /// looked at again.
    pub fn check(&self, peer: IpAddr) -> Result<(), Duration> {
        self.check_at(peer, Instant::now())
    }

    fn check_at(&self, peer: IpAddr, now: Instant) -> Result<(), Duration> {
        match lock(&self.peers).get(&peer) {
            Some(f) if f.until() > now => Err(f.until() - now),
            _ => Ok(()),
        }
    }

    /// `peer` presented a wrong credential.
    pub fn failed(&self, peer: IpAddr) {
        self.failed_at(peer, Instant::now());
    }

    fn failed_at(&self, peer: IpAddr, now: Instant) {
        let mut peers = lock(&self.peers);
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            // Forget those whose wait is over, else the longest quiet.
            peers.retain(|_, f| f.until() > now);
            if peers.len() >= MAX_PEERS
                && let Some(oldest) = peers.iter().min_by_key(|(_, f)| f.last).map(|(ip, _)| *ip)
            {
                peers.remove(&oldest);
            }
        }
        let entry = peers.entry(peer).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    /// `peer` got in: its count starts over.
    pub fn succeeded(&self, peer: IpAddr) {
        lock(&self.peers).remove(&peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a_few_failures_are_free_then_waits_double_up_to_a_cap() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            t.failed_at(ip(1), now);
            assert_eq!(t.check_at(ip(1), now), Ok(()));
        }
        t.failed_at(ip(1), now);
        assert_eq!(t.check_at(ip(1), now), Err(FIRST_WAIT));
        t.failed_at(ip(1), now);
        assert_eq!(t.check_at(ip(1), now), Err(FIRST_WAIT * 2));
        assert_eq!(t.check_at(ip(1), now + FIRST_WAIT * 2), Ok(()));
        // Other peers are not held up.
        assert_eq!(t.check_at(ip(2), now), Ok(()));
        for _ in 0..100 {
            t.failed_at(ip(1), now);
        }
        assert_eq!(t.check_at(ip(1), now), Err(MAX_WAIT));
        t.succeeded(ip(1));
        assert_eq!(t.check_at(ip(1), now), Ok(()));
    }

    #[test]
    fn it_remembers_a_bounded_number_of_peers() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..(MAX_PEERS as u32 + 100) {
            let peer = IpAddr::from(i.to_be_bytes());
            for _ in 0..FREE_FAILURES {
                t.failed_at(peer, now);
            }
        }
        assert!(lock(&t.peers).len() <= MAX_PEERS);
    }
}
