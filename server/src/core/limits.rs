//! Limits that are part of the API contract. Every check returns
//! `SessionError::Invalid` with a message naming the limit it enforces.

use std::time::Duration;

use super::error::{Result, SessionError};

pub const MIN_COLS: u32 = 2;
pub const MAX_COLS: u32 = 1000;
pub const MIN_ROWS: u32 = 1;
pub const MAX_ROWS: u32 = 500;
pub const DEFAULT_COLS: u16 = 80;
pub const DEFAULT_ROWS: u16 = 24;
/// SendText and SendBytes payloads.
pub const MAX_INPUT_BYTES: usize = 1 << 20;
pub const MAX_KEYS: usize = 256;
pub const MAX_REGEX_BYTES: usize = 4096;
/// Size of a compiled regex program (regex's `size_limit`).
pub const MAX_REGEX_PROGRAM: usize = 1 << 20;
pub const MAX_ARGS: usize = 256;
pub const MAX_ENV: usize = 256;
/// command + args + env + cwd together.
pub const MAX_SPAWN_BYTES: usize = 64 << 10;
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
pub const MAX_GREP_MATCHES: u32 = 10_000;
pub const MAX_GREP_CONTEXT: u32 = 1000;
/// Line text in one Grep response (matches and context), counted while it
/// is built; past it the response stops early with `truncated`. Half the
/// gRPC message limit, leaving room for the encoding.
pub const MAX_GREP_RESPONSE_BYTES: usize = 2 << 20;
/// What each line costs against `MAX_GREP_RESPONSE_BYTES` besides its text
/// (field tags, lengths, line numbers), so empty lines are not free.
pub const GREP_LINE_OVERHEAD: usize = 8;
pub const MAX_SESSIONS: usize = 1024;

pub fn check_size(cols: u32, rows: u32) -> Result<(u16, u16)> {
    if !(MIN_COLS..=MAX_COLS).contains(&cols) {
        return Err(SessionError::invalid(format!(
            "cols {cols} out of range {MIN_COLS}..={MAX_COLS}"
        )));
    }
    if !(MIN_ROWS..=MAX_ROWS).contains(&rows) {
        return Err(SessionError::invalid(format!(
            "rows {rows} out of range {MIN_ROWS}..={MAX_ROWS}"
        )));
    }
    // Both ranges fit in u16, so the casts are lossless.
    Ok((cols as u16, rows as u16))
}

pub fn check_input(len: usize) -> Result<()> {
    if len > MAX_INPUT_BYTES {
        return Err(SessionError::invalid(format!(
            "input is {len} bytes, limit {MAX_INPUT_BYTES} bytes per request"
        )));
    }
    Ok(())
}

/// Compiles a user regex under the pattern and program size limits.
pub fn regex(pattern: &str) -> Result<regex::bytes::Regex> {
    if pattern.is_empty() {
        return Err(SessionError::invalid("regex is empty"));
    }
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(SessionError::invalid(format!(
            "regex is {} bytes, limit {MAX_REGEX_BYTES}",
            pattern.len()
        )));
    }
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_PROGRAM)
        .multi_line(true)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => SessionError::invalid(format!(
                "regex compiles to more than {limit} bytes (limit {MAX_REGEX_PROGRAM})"
            )),
            other => SessionError::invalid(format!("bad regex: {other}")),
        })
}

/// 0 means `default`; anything over `MAX_TIMEOUT` is refused.
pub fn timeout(ms: u64, default: Duration, what: &str) -> Result<Duration> {
    let value = if ms == 0 {
        default
    } else {
        Duration::from_millis(ms)
    };
    if value > MAX_TIMEOUT {
        return Err(SessionError::invalid(format!(
            "{what} {ms} ms over the limit of {} ms",
            MAX_TIMEOUT.as_millis()
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limits_are_named() {
        assert_eq!(check_size(80, 24).expect("ok"), (80, 24));
        let err = check_size(1, 24).expect_err("too narrow").to_string();
        assert!(err.contains("cols 1 out of range 2..=1000"), "{err}");
        let err = check_size(80, 501).expect_err("too tall").to_string();
        assert!(err.contains("rows 501 out of range 1..=500"), "{err}");
    }

    #[test]
    fn regex_limits_are_named() {
        assert!(regex("a+b").is_ok());
        let long = "a".repeat(MAX_REGEX_BYTES + 1);
        assert!(
            regex(&long)
                .expect_err("long")
                .to_string()
                .contains("limit 4096")
        );
        let big = regex(r"\w{1000}\w{1000}").expect_err("big").to_string();
        assert!(big.contains("limit 1048576"), "{big}");
        assert!(
            regex("(")
                .expect_err("syntax")
                .to_string()
                .starts_with("bad regex")
        );
    }

    #[test]
    fn input_and_timeout_limits() {
        assert!(check_input(MAX_INPUT_BYTES).is_ok());
        assert!(
            check_input(MAX_INPUT_BYTES + 1)
                .expect_err("big")
                .to_string()
                .contains("limit 1048576 bytes")
        );
        assert_eq!(
            timeout(0, Duration::from_secs(3), "t").expect("default"),
            Duration::from_secs(3)
        );
        assert!(timeout(u64::MAX, Duration::ZERO, "timeout").is_err());
    }
}
