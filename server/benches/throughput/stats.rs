//! Medians and percentiles.

use std::time::Duration;

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// p50 and p99 (nearest rank) in microseconds.
pub(crate) fn percentiles(latencies: &mut [Duration]) -> (f64, f64) {
    latencies.sort();
    let rank = |p: usize| {
        let i = (latencies.len() * p).div_ceil(100).saturating_sub(1);
        latencies.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
    };
    (rank(50), rank(99))
}
