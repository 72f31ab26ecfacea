//! "12 s ago", "in 5 min": relative times, and counts, for people.

/// `n` things: "1 session", "2 sessions", "0 sessions".
pub fn count(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// `elapsed_ms` since the event, as a short relative time. Negative values
/// (clock skew) count as now.
pub fn ago(elapsed_ms: i64) -> String {
    if elapsed_ms < 1000 {
        return "just now".to_owned();
    }
    format!("{} ago", span(elapsed_ms))
}

/// `remaining_ms` until an event ("in 5 min"); "now" once it is due.
pub fn until(remaining_ms: i64) -> String {
    if remaining_ms < 1000 {
        return "now".to_owned();
    }
    format!("in {}", span(remaining_ms))
}

/// A duration in its largest whole unit: "12 s", "5 min", "3 h", "2 d".
fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::{ago, count, until};

    #[test]
    fn one_thing_is_singular_and_any_other_count_plural() {
        assert_eq!(count(1, "session"), "1 session");
        assert_eq!(count(0, "session"), "0 sessions");
        assert_eq!(count(25, "viewer"), "25 viewers");
    }

    #[test]
    fn each_unit_and_its_boundaries() {
        assert_eq!(ago(-5000), "just now");
        assert_eq!(ago(999), "just now");
        assert_eq!(ago(12_000), "12 s ago");
        assert_eq!(ago(59_999), "59 s ago");
        assert_eq!(ago(60_000), "1 min ago");
        assert_eq!(ago(3_600_000), "1 h ago");
        assert_eq!(ago(2 * 86_400_000), "2 d ago");
    }

    #[test]
    fn until_counts_down_to_now() {
        assert_eq!(until(90 * 60_000), "in 1 h");
        assert_eq!(until(59_000), "in 59 s");
        assert_eq!(until(500), "now");
        assert_eq!(until(-10_000), "now");
    }
}
