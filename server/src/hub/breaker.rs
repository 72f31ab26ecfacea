//! A circuit breaker per spoke: after `OPEN_AFTER` failures in a row calls
//! fail fast; attempts back off exponentially with jitter, capped at
//! 1.5 s, so a spoke is back within about that long of the network
//! healing (a probe of a dead spoke costs one connection attempt);
//! the monitor's probe after the wait is the half-open attempt (calls keep
//! failing fast until it succeeds), and one success closes the breaker.

use std::time::{Duration, Instant};

/// Failures in a row that open the breaker.
pub const OPEN_AFTER: u32 = 2;
/// Wait after the first failure; doubles with each further one.
const BASE_DELAY: Duration = Duration::from_millis(250);
/// Longest wait between attempts.
pub const MAX_DELAY: Duration = Duration::from_millis(1500);
/// Each wait is scaled by a random factor in `1 ± JITTER`, so spokes that
/// failed together do not retry in lockstep.
const JITTER: f64 = 0.2;

#[derive(Debug, Default)]
pub struct Breaker {
    failures: u32,
    /// While open: when the next (half-open) attempt may run.
    retry_at: Option<Instant>,
}

impl Breaker {
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn is_open(&self) -> bool {
        self.failures >= OPEN_AFTER
    }

    /// When the next attempt is due after a failure; `None` after success.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Records a failure; returns how long to wait before the next attempt.
    pub fn failure(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let delay = backoff(self.failures, fastrand::f64());
        self.retry_at = Some(now + delay);
        delay
    }

    pub fn success(&mut self) {
        self.failures = 0;
        self.retry_at = None;
    }

    /// Whether a call may go through now: only while the breaker is
    /// closed. While it is open every call fails fast, before and after
    /// its wait: the monitor's probe is the one half-open attempt, so a
    /// dead spoke sees one connection attempt per wait however many calls
    /// arrive. Otherwise the time left until that probe (zero once due).
    pub fn allow(&self, now: Instant) -> Result<(), Duration> {
        if self.is_open() {
            Err(self
                .retry_at
                .map_or(Duration::ZERO, |at| at.saturating_duration_since(now)))
        } else {
            Ok(())
        }
    }
}

/// The wait after `failures` failures in a row, for a random `unit` in
/// `[0, 1)`: `BASE_DELAY * 2^(failures-1)`, jittered, at most `MAX_DELAY`.
pub fn backoff(failures: u32, unit: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let plain = BASE_DELAY.saturating_mul(1 << exp).min(MAX_DELAY);
    let factor = 1.0 + JITTER * (2.0 * unit - 1.0);
    plain.mul_f64(factor).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let waits: Vec<u64> = (1..=10)
            .map(|n| backoff(n, 0.5).as_millis() as u64)
            .collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 1500, 1500, 1500, 1500, 1500, 1500, 1500]
        );
    }

    #[test]
    fn jitter_stays_within_its_band_and_under_the_cap() {
        assert_eq!(backoff(3, 0.0), Duration::from_millis(800));
        assert_eq!(backoff(3, 0.999_999).as_millis(), 1199);
        assert_eq!(backoff(40, 0.999_999), MAX_DELAY);
    }

    #[test]
    fn each_wait_outlasts_the_one_before_whatever_the_jitter() {
        // Doubling with 20% jitter: at least 2 x 0.8 / 1.2 = 1.33 times.
        for failures in 1..3 {
            let longest = backoff(failures, 0.999_999);
            let shortest_next = backoff(failures + 1, 0.0);
            assert!(
                shortest_next > longest.mul_f64(1.3),
                "{failures}: {longest:?} then {shortest_next:?}"
            );
        }
        // At the cap the jitter still spreads waits, below the cap only.
        assert_eq!(backoff(9, 0.0), Duration::from_millis(1200));
    }

    #[test]
    fn opens_after_failures_and_fails_fast_until_a_probe_succeeds() {
        let now = Instant::now();
        let mut b = Breaker::default();
        assert!(b.allow(now).is_ok());
        b.failure(now);
        assert!(!b.is_open());
        assert!(b.allow(now).is_ok(), "one failure does not open it");
        let wait = b.failure(now);
        assert!(b.is_open());
        assert_eq!(b.allow(now), Err(wait));
        assert_eq!(
            b.allow(now + wait + wait),
            Err(Duration::ZERO),
            "calls never probe: the monitor's probe is the half-open attempt"
        );
        b.success();
        assert!(!b.is_open());
        assert_eq!(b.failures(), 0);
        assert!(b.allow(now).is_ok());
    }
}
