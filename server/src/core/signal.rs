//! Signal names as users write them.

use nix::sys::signal::Signal;

use super::error::{Result, SessionError};

/// The signal `vtr kill` sends by default: a hangup, like closing the
/// terminal. Interactive shells ignore TERM but exit on HUP.
pub const DEFAULT_SIGNAL: Signal = Signal::SIGHUP;

/// Parses "TERM", "SIGTERM", "term" or "15". Empty means `DEFAULT_SIGNAL`.
pub fn parse_signal(text: &str) -> Result<Signal> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_SIGNAL);
    }
    let bad = || {
        SessionError::invalid(format!(
            "unknown signal {text:?} (use a name like TERM, KILL, INT, HUP or a number 1-31)"
        ))
    };
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_signal("").expect("default"), Signal::SIGHUP);
        assert_eq!(parse_signal("term").expect("term"), Signal::SIGTERM);
        assert_eq!(parse_signal("SIGKILL").expect("kill"), Signal::SIGKILL);
        assert_eq!(parse_signal("2").expect("int"), Signal::SIGINT);
        let err = parse_signal("BOGUS").expect_err("bogus").to_string();
        assert!(err.contains("unknown signal \"BOGUS\""), "{err}");
        assert!(parse_signal("999").is_err());
    }
}
