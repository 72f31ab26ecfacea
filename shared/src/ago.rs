//! "12 s ago": how long ago something happened, for people.

/// `elapsed_ms` since the event, as a short relative time. Negative values
/// (clock skew) count as now.
pub fn ago(elapsed_ms: i64) -> String {
    let s = elapsed_ms.max(0) / 1000;
    match s {
        0 => "just now".to_owned(),
        1..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::ago;

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
}
