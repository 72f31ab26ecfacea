//! Limits that are part of the API contract. Every check returns
//! `SessionError::Invalid` with a message naming the limit it enforces.

use std::time::Duration;

use vtr_shared::address::validate_name;

use super::error::{Result, SessionError};
use super::types::SpawnSpec;

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
/// `SpawnSpec::created_by`, in characters.
pub const MAX_CREATED_BY_CHARS: usize = 128;
/// A window title a program sets (OSC 0/2), in bytes; longer ones are cut.
/// With the spawn limits this bounds every string a `SessionSummary` holds.
pub const MAX_TITLE_BYTES: usize = 1024;
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

/// Checks a spawn request against every limit; returns its size.
pub fn check_spawn(spec: &SpawnSpec) -> Result<(u16, u16)> {
    if !spec.name.is_empty() {
        validate_name(&spec.name).map_err(|e| SessionError::invalid(e.to_string()))?;
    }
    let size = if spec.cols == 0 && spec.rows == 0 {
        (DEFAULT_COLS, DEFAULT_ROWS)
    } else {
        let cols = if spec.cols == 0 {
            u32::from(DEFAULT_COLS)
        } else {
            spec.cols
        };
        let rows = if spec.rows == 0 {
            u32::from(DEFAULT_ROWS)
        } else {
            spec.rows
        };
        check_size(cols, rows)?
    };
    if spec.args.len() > MAX_ARGS {
        return Err(SessionError::invalid(format!(
            "{} args, limit {}",
            spec.args.len(),
            MAX_ARGS
        )));
    }
    if spec.env.len() > MAX_ENV {
        return Err(SessionError::invalid(format!(
            "{} env entries, limit {}",
            spec.env.len(),
            MAX_ENV
        )));
    }
    for kv in &spec.env {
        match kv.split_once('=') {
            Some((k, _)) if !k.is_empty() && !k.contains('\0') => {}
            _ => {
                return Err(SessionError::invalid(format!(
                    "env entry {kv:?} is not KEY=VALUE"
                )));
            }
        }
    }
    let strings = std::iter::once(&spec.command)
        .chain(&spec.args)
        .chain(&spec.env)
        .chain(std::iter::once(&spec.cwd));
    if strings.clone().any(|s| s.contains('\0')) {
        return Err(SessionError::invalid(
            "command, args, env and cwd must not contain NUL bytes",
        ));
    }
    let total: usize = strings.map(String::len).sum();
    if total > MAX_SPAWN_BYTES {
        return Err(SessionError::invalid(format!(
            "command, args, env and cwd are {total} bytes, limit {}",
            MAX_SPAWN_BYTES
        )));
    }
    check_created_by(&spec.created_by)?;
    Ok(size)
}

/// Empty means not known; otherwise 1 to `MAX_CREATED_BY_CHARS` characters
/// without control characters (it is listed to every client).
pub fn check_created_by(who: &str) -> Result<()> {
    let chars = who.chars().count();
    if chars > MAX_CREATED_BY_CHARS {
        return Err(SessionError::invalid(format!(
            "created_by is {chars} characters, limit {MAX_CREATED_BY_CHARS}"
        )));
    }
    if who.chars().any(char::is_control) {
        return Err(SessionError::invalid(
            "created_by must not contain control characters",
        ));
    }
    Ok(())
}

/// `Run`'s output cap: 0 means the default.
pub fn run_output(bytes: u32) -> Result<usize> {
    use super::session::{DEFAULT_RUN_OUTPUT, MAX_RUN_OUTPUT};
    match bytes as usize {
        0 => Ok(DEFAULT_RUN_OUTPUT),
        n if n > MAX_RUN_OUTPUT => Err(SessionError::invalid(format!(
            "max_output_bytes {n} over the limit of {MAX_RUN_OUTPUT}"
        ))),
        n => Ok(n),
    }
}

/// `bytes` as text of at most `max` bytes, cut at a character boundary;
/// invalid UTF-8 becomes U+FFFD. Reads only the first `max + 3` bytes, so a
/// huge input costs no more than a small one.
pub fn bounded_text(bytes: &[u8], max: usize) -> String {
    // A character is at most 4 bytes: one cut at `max + 3` starts at or
    // after `max` and goes with the truncation below.
    let head = &bytes[..bytes.len().min(max.saturating_add(3))];
    let mut text = String::from_utf8_lossy(head).into_owned();
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
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
    fn created_by_is_bounded_and_printable() {
        assert!(check_created_by("").is_ok(), "empty means not known");
        assert!(check_created_by(&"é".repeat(128)).is_ok());
        let long = check_created_by(&"a".repeat(129)).expect_err("long");
        assert!(
            long.to_string().contains("129 characters, limit 128"),
            "{long}"
        );
        for bad in ["a\x1b[2J", "a\nb", "a\u{9b}b", "a\x7f"] {
            let err = check_created_by(bad).expect_err(bad).to_string();
            assert!(err.contains("control characters"), "{err}");
        }
    }

    #[test]
    fn bounded_text_cuts_at_a_character_boundary() {
        assert_eq!(bounded_text("héllo".as_bytes(), 2), "h");
        assert_eq!(bounded_text("héllo".as_bytes(), 3), "hé");
        assert_eq!(bounded_text(b"ok", 10), "ok");
        assert_eq!(bounded_text(b"a\xffb", 10), "a\u{fffd}b");
        assert_eq!(bounded_text(&[b'x'; 10_000], 1024).len(), 1024);
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
