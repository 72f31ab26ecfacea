//! Wall-clock times as the API carries them: milliseconds since the Unix
//! epoch, 0 for "never" or a clock before 1970.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `t` in milliseconds since the epoch; 0 before it.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

/// The time `ms` milliseconds after the epoch; `None` for 0 or less.
pub fn from_unix_ms(ms: i64) -> Option<SystemTime> {
    u64::try_from(ms)
        .ok()
        .filter(|&ms| ms > 0)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_maps_never_to_zero() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(from_unix_ms(unix_ms(t)), Some(t));
        assert_eq!(from_unix_ms(0), None);
        assert_eq!(from_unix_ms(-5), None);
        assert_eq!(unix_ms(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert!(now_ms() > 1_700_000_000_000);
    }
}
