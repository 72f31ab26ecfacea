//! Human and JSON output of client commands. Human output shows every
//! string that came from a session, a spoke or a link through `escape`.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;
use vtr_shared::proto as pb;

pub use crate::transport::json::{joined, session_json, spoke_json, spoke_state, status_name};

/// Text from a session, a spoke or a link, made safe to print on a
/// terminal: ESC shows as `\e` and every other control character (C0, DEL,
/// C1) as `\xNN`, so a command, title or name a program or client chose
/// cannot move the cursor, retitle or clear the user's terminal.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Standard output was closed by its reader, as in `vtr screen s | head -1`.
/// Not an error to report: the command ends quietly with
/// [`ExitCode::StdoutClosed`](super::ExitCode::StdoutClosed), as Unix tools
/// ended by SIGPIPE do.
#[derive(Debug, thiserror::Error)]
#[error("standard output closed")]
pub struct StdoutClosed;

/// An error writing to standard output: [`StdoutClosed`] for a closed
/// pipe, the error itself otherwise (a full disk is worth reporting).
pub fn stdout_error(err: std::io::Error) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::Error::new(err).context("writing to standard output")
    }
}

/// Writes one line to standard output (the `outln!` macro), never
/// panicking as `println!` does when the reader has gone.
pub fn write_line(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(stdout_error)
}

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn command_line(s: &pb::SessionInfo) -> String {
    std::iter::once(&s.command)
        .chain(&s.args)
        .map(|part| escape(part))
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_text(s: &pb::SessionInfo) -> String {
    let text = match (status_name(s), s.exit_code, s.exit_signal.as_str()) {
        ("exited", Some(code), _) => format!("exited({code})"),
        ("exited", None, sig) if !sig.is_empty() => format!("exited({})", escape(sig)),
        (name, _, _) => name.to_owned(),
    };
    if s.stale {
        format!("{text} (stale)")
    } else {
        text
    }
}

pub fn print_sessions(list: &[pb::SessionInfo]) -> anyhow::Result<()> {
    if list.is_empty() {
        outln!("no sessions");
        return Ok(());
    }
    // Sessions listed by a hub (which says when it saw their spoke) are
    // shown as spoke:session.
    let qualify = list
        .iter()
        .any(|s| s.spoke != list[0].spoke || s.stale || s.spoke_last_seen_ms > 0);
    let names: Vec<String> = list
        .iter()
        .map(|s| {
            if qualify {
                format!("{}:{}", escape(&s.spoke), escape(&s.name))
            } else {
                escape(&s.name).into_owned()
            }
        })
        .collect();
    let statuses: Vec<String> = list.iter().map(status_text).collect();
    let width = names.iter().map(String::len).max().unwrap_or(4).max(4);
    let status_width = statuses.iter().map(String::len).max().unwrap_or(6).max(12);
    outln!(
        "{:<width$}  {:<status_width$}  {:>7}  COMMAND",
        "NAME",
        "STATUS",
        "SIZE"
    );
    for ((s, name), status) in list.iter().zip(&names).zip(&statuses) {
        outln!(
            "{:<width$}  {:<status_width$}  {:>7}  {}",
            name,
            status,
            format!("{}x{}", s.cols, s.rows),
            command_line(s)
        );
    }
    Ok(())
}

pub fn print_session(s: &pb::SessionInfo) -> anyhow::Result<()> {
    outln!("name     {}", escape(&s.name));
    outln!("id       {}", escape(&s.id));
    outln!("spoke    {}", escape(&s.spoke));
    outln!("command  {}", command_line(s));
    outln!("cwd      {}", escape(&s.cwd));
    outln!("size     {}x{}", s.cols, s.rows);
    outln!("status   {}", status_text(s));
    if s.pid != 0 {
        outln!("pid      {}", s.pid);
    }
    if !s.title.is_empty() {
        outln!("title    {}", escape(&s.title));
    }
    if !s.created_by.is_empty() {
        outln!("by       {}", escape(&s.created_by));
    }
    outln!("output   {} bytes", s.output_offset);
    Ok(())
}

#[derive(Serialize)]
struct CellJson<'a> {
    text: &'a str,
    fg: u32,
    bg: u32,
    attrs: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    wide: bool,
}

#[derive(Serialize)]
struct ScreenJson<'a> {
    cols: u32,
    rows: u32,
    cursor: [u32; 2],
    cursor_visible: bool,
    alternate_screen: bool,
    title: &'a str,
    offset: u64,
    lines: &'a [String],
    cells: Vec<Vec<CellJson<'a>>>,
}

pub fn print_screen(screen: &pb::Screen, json: bool) -> anyhow::Result<()> {
    if !json {
        for line in &screen.lines {
            outln!("{}", escape(line));
        }
        return Ok(());
    }
    let cells = screen
        .cells
        .iter()
        .map(|row| {
            row.cells
                .iter()
                .map(|c| CellJson {
                    text: &c.text,
                    fg: c.fg,
                    bg: c.bg,
                    attrs: c.attrs,
                    wide: c.wide,
                })
                .collect()
        })
        .collect();
    print_json(&ScreenJson {
        cols: screen.cols,
        rows: screen.rows,
        cursor: [screen.cursor_row, screen.cursor_col],
        cursor_visible: screen.cursor_visible,
        alternate_screen: screen.alternate_screen,
        title: &screen.title,
        offset: screen.offset,
        lines: &screen.lines,
        cells,
    })
}

pub fn print_spokes(list: &[pb::SpokeInfo], now_ms: i64) -> anyhow::Result<()> {
    if list.is_empty() {
        outln!("no spokes");
        return Ok(());
    }
    let names: Vec<Cow<'_, str>> = list.iter().map(|s| escape(&s.name)).collect();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(4).max(4);
    outln!(
        "{:<width$}  {:<11}  {:>10}  {:>8}  {:>8}  {:<9}  VERSION",
        "NAME",
        "STATE",
        "LAST SEEN",
        "RTT",
        "SESSIONS",
        "JOINED"
    );
    for (s, name) in list.iter().zip(&names) {
        let seen = if s.last_seen_ms > 0 {
            format!("{}s ago", (now_ms - s.last_seen_ms).max(0) / 1000)
        } else {
            "never".to_owned()
        };
        let rtt = if s.last_seen_ms > 0 {
            format!("{:.1}ms", f64::from(s.rtt_us) / 1000.0)
        } else {
            "-".to_owned()
        };
        outln!(
            "{:<width$}  {:<11}  {:>10}  {:>8}  {:>8}  {:<9}  {}",
            name,
            spoke_state(s),
            seen,
            rtt,
            s.sessions,
            joined(s),
            escape(&s.version)
        );
        if !s.last_error.is_empty() {
            outln!("{:<width$}  last error: {}", "", escape(&s.last_error));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_shows_control_characters() {
        assert!(matches!(escape("plain é 中"), Cow::Borrowed("plain é 中")));
        assert_eq!(
            escape("a\x1b]2;pwned\x07\x1b[2J\tb\n\x7f\u{9b}c"),
            "a\\e]2;pwned\\x07\\e[2J\\x09b\\x0a\\x7f\\x9bc"
        );
    }

    #[test]
    fn rfc3339_dates() {
        use crate::transport::json::rfc3339;
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_255_200_123), "2026-11-21T10:00:00.123Z");
    }
}
