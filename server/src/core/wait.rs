//! Waiting on a session: for output matching a regex, or for silence.

use std::time::Duration;

use regex::bytes::Regex;
use tokio::time::Instant;

use super::error::Result;
use super::log::Read;
use super::matcher::Matcher;
use super::session::Session;
use super::strip::Stripper;
use super::types::{IdleResult, IdleWait, WaitMatch, WaitOutcome};

/// Plain text kept for matching: at least this much, at most twice it.
/// Older text is dropped from the front in one go once the window has
/// doubled, so each byte is moved about once, not once per chunk.
const WAIT_WINDOW: usize = 1 << 20;
const READ_MAX: usize = 256 << 10;

impl Session {
    /// Waits until output from `from_offset` (default: the end of output
    /// when the call starts) matches `regex`, with escape sequences and CR
    /// removed. The start offset is taken before the first await, so output
    /// racing the call is never missed.
    pub async fn wait_for(
        &self,
        regex: &Regex,
        timeout: Duration,
        from_offset: Option<u64>,
    ) -> Result<WaitMatch> {
        let inner = self.inner().clone();
        let mut end_rx = inner.end_rx();
        let mut state_rx = inner.state_rx();
        let end = *end_rx.borrow_and_update();
        let mut pos = from_offset.map_or(end, |o| o.min(end));
        let deadline = Instant::now() + timeout;
        let mut stripper = Stripper::default();
        let mut text: Vec<u8> = Vec::new();
        let outcome = |outcome, pos| WaitMatch {
            outcome,
            matched: String::new(),
            line: String::new(),
            offset: pos,
        };
        let mut matcher = Matcher::new(regex);
        loop {
            let mut grew = false;
            let before = text.len();
            loop {
                match inner.read_log(pos, READ_MAX) {
                    Read::Data(data) => {
                        pos += data.len() as u64;
                        stripper.push(&data, &mut text);
                        grew = true;
                    }
                    // Fell behind the log: continue from its oldest byte.
                    Read::Gone { start } => pos = start,
                    Read::AtEnd | Read::Future { .. } => break,
                }
            }
            if grew {
                // Each new byte once; the regex over the window only when
                // a match is there to find.
                let maybe = matcher.feed(&text[before..]);
                if text.len() > 2 * WAIT_WINDOW {
                    text.drain(..text.len() - WAIT_WINDOW);
                }
                if let Some(m) = maybe.then(|| regex.find(&text)).flatten() {
                    let line_start = text[..m.start()]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    let line_end = text[m.end()..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(text.len(), |i| m.end() + i);
                    return Ok(WaitMatch {
                        outcome: WaitOutcome::Matched,
                        matched: String::from_utf8_lossy(m.as_bytes()).into_owned(),
                        line: String::from_utf8_lossy(&text[line_start..line_end]).into_owned(),
                        offset: pos,
                    });
                }
            }
            let exit = state_rx.borrow_and_update().exit.clone();
            if let Some((_, final_offset)) = exit
                && pos >= final_offset
            {
                return Ok(outcome(WaitOutcome::Exited, pos));
            }
            tokio::select! {
                // New output to scan.
                _ = end_rx.changed() => {}
                // Exit: scan the rest, then report it.
                _ = state_rx.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Ok(outcome(WaitOutcome::TimedOut, pos));
                }
            }
        }
    }

    /// Waits until there has been no output for `idle_for`, counting from
    /// the later of the call's start and the last output.
    pub async fn wait_idle(&self, wait: IdleWait) -> Result<IdleResult> {
        let inner = self.inner().clone();
        let mut end_rx = inner.end_rx();
        let mut state_rx = inner.state_rx();
        end_rx.borrow_and_update();
        let deadline = Instant::now() + wait.timeout;
        let mut quiet_since = Instant::now();
        let outcome = loop {
            if state_rx.borrow_and_update().exit.is_some() {
                break WaitOutcome::Exited;
            }
            let quiet_at = quiet_since + wait.idle_for;
            tokio::select! {
                // Output: the silence starts over.
                changed = end_rx.changed() => {
                    if changed.is_err() {
                        break WaitOutcome::Exited;
                    }
                    quiet_since = Instant::now();
                }
                _ = state_rx.changed() => {}
                _ = tokio::time::sleep_until(quiet_at), if quiet_at <= deadline => {
                    break WaitOutcome::Idle;
                }
                _ = tokio::time::sleep_until(deadline) => break WaitOutcome::TimedOut,
            }
        };
        let screen = if wait.include_screen {
            Some(self.screen().await?)
        } else {
            None
        };
        Ok(IdleResult { outcome, screen })
    }
}
