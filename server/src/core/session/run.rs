//! A session's commands (see `core::commands`) and running one command
//! line at its shell's prompt: typed as a user would, then waited for until
//! the shell marks its end.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{EXACT_KEYS_BACKLOG, Session, lock};
use crate::core::commands::Command;
use crate::core::error::{Result, SessionError};
use crate::core::strip::Stripper;

/// Output a run returns by default, and at most.
pub const DEFAULT_RUN_OUTPUT: usize = 64 << 10;
pub const MAX_RUN_OUTPUT: usize = 1 << 20;
/// How long a shell vtr did not integrate gets to show a prompt mark
/// before a run is refused.
const FIRST_MARK_GRACE: Duration = Duration::from_secs(1);
/// How long a run waits for the prompt after a command's end.
const PROMPT_GRACE: Duration = Duration::from_secs(2);
/// A command line to run, in bytes.
pub const MAX_RUN_LINE: usize = 16 << 10;

/// The commands a session's shell has reported.
#[derive(Debug, Clone, Default)]
pub struct CommandList {
    /// The shell sends prompt marks (OSC 133): without them the list stays
    /// empty and nothing can be run.
    pub integrated: bool,
    /// Oldest first.
    pub commands: Vec<Command>,
}

/// What to run, and how long to wait for it.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// One line, without its newline.
    pub line: String,
    pub timeout: Duration,
    /// The output's text is cut to its last this many bytes.
    pub max_output: usize,
    /// Applied at most once for this id (see `once`); empty: no id.
    pub request_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The shell marked its end; the exit code is the command's.
    Finished,
    /// Still running at the deadline (or never started).
    TimedOut,
    /// The session ended first.
    Exited,
    /// The shell showed a new prompt without starting it: an empty line,
    /// a syntax error, a failed history expansion. The output is what the
    /// shell printed.
    NotStarted,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub end: RunEnd,
    /// The command as tracked; `None` if the shell never started it.
    pub command: Option<Command>,
    /// Its output so far as text (escapes and carriage returns removed),
    /// its last `max_output` bytes.
    pub output: String,
    /// Bytes of text left out before `output` (over the cap, or gone from
    /// the output log).
    pub omitted: u64,
    /// From typing the line to the end (or the deadline).
    pub elapsed: Duration,
}

impl Session {
    /// The last `limit` commands (all kept when 0).
    pub async fn commands(&self, limit: usize) -> Result<CommandList> {
        // The marks are read by the parser: bring it up to now.
        self.with_terminal(|_| ()).await?;
        let c = lock(&self.inner().commands);
        Ok(CommandList {
            integrated: c.integrated(),
            commands: c.last(limit),
        })
    }

    /// Types `spec.line` and Enter at the prompt, and waits for the shell
    /// to mark the command's end. Refused when the shell sends no prompt
    /// marks or another command runs.
    pub async fn run(&self, spec: RunSpec) -> Result<RunResult> {
        check_line(&spec.line)?;
        let inner = self.inner().clone();
        let not_ready = |reason: &str| SessionError::NotReady {
            session: self.name(),
            reason: reason.to_owned(),
        };
        // One run at a time: two would type into each other's commands.
        let Ok(_one) = inner.run_lock.try_lock() else {
            return Err(not_ready(
                "another run is waiting for its command in this session",
            ));
        };
        self.with_terminal(|_| ()).await?;
        let mut versions = inner.commands_tx.subscribe();
        let mut ends = inner.end_rx();
        let mut states = inner.state_rx();
        let started = Instant::now();
        let deadline = started + spec.timeout;
        // A shell just started may not have drawn its first prompt yet.
        let first_prompt = if inner.shell_integration {
            deadline
        } else {
            started + FIRST_MARK_GRACE
        };
        self.first_mark(first_prompt.min(deadline)).await?;
        if states.borrow_and_update().exit.is_some() {
            return Err(SessionError::Exited {
                session: self.name(),
            });
        }
        {
            let c = lock(&inner.commands);
            if !c.integrated() && inner.shell_integration {
                return Err(not_ready(
                    "vtr started its shell with prompt marks (OSC 133) but none came: see its \
                     screen for an error in the startup files, or a shell that replaced itself",
                ));
            }
            if !c.integrated() {
                return Err(not_ready(
                    "its shell sends no prompt marks (OSC 133); vtr adds them to the bash and \
                     zsh it starts with no arguments, other shells need them in their prompt",
                ));
            }
            if let Some(r) = c.running() {
                return Err(not_ready(&format!(
                    "command {} ({:?}) is still running",
                    r.seq, r.text
                )));
            }
        }
        // Between a command's end and the next prompt: type at the prompt
        // (a shell whose prompt shows no marks is waited for 2 s at most).
        self.until_prompt(deadline.min(Instant::now() + PROMPT_GRACE))
            .await?;
        let (seq, prompts) = {
            let c = lock(&inner.commands);
            (c.next_seq(), c.prompts())
        };
        let from = self.send(Bytes::from(format!("{}\r", spec.line))).await?;
        let end = loop {
            {
                let c = lock(&inner.commands);
                if c.get(seq).is_some_and(Command::finished) {
                    break RunEnd::Finished;
                }
                if c.get(seq).is_none() && c.prompts() > prompts {
                    break RunEnd::NotStarted;
                }
            }
            // Every byte is in: the rest parsed, the end may be there.
            if states.borrow_and_update().exit.is_some() {
                break self.ended_else(seq, RunEnd::Exited).await?;
            }
            tokio::select! {
                _ = versions.changed() => {}
                _ = ends.changed() => self.keep_up().await?,
                _ = states.changed() => {}
                // What a busy parser has not read yet may hold the end.
                _ = tokio::time::sleep_until(deadline) => {
                    break self.ended_else(seq, RunEnd::TimedOut).await?;
                }
            }
        };
        let elapsed = started.elapsed();
        let command = lock(&inner.commands).get(seq).cloned();
        let (output, omitted) = match &command {
            Some(c) => self.output_text(c.start_offset, c.end_offset, spec.max_output),
            // What the shell printed instead (its error, a continuation
            // prompt).
            None => self.output_text(from, None, spec.max_output),
        };
        Ok(RunResult {
            end,
            command,
            output,
            omitted,
            elapsed,
        })
    }

    /// `Finished` if command `seq` ended once everything output so far is
    /// parsed; else `otherwise`.
    async fn ended_else(&self, seq: u64, otherwise: RunEnd) -> Result<RunEnd> {
        self.with_terminal(|_| ()).await?;
        let ended = lock(&self.inner().commands)
            .get(seq)
            .is_some_and(Command::finished);
        Ok(if ended { RunEnd::Finished } else { otherwise })
    }

    /// Output came: parse it now (marks in it may be awaited), unless a
    /// flood is under way (the parser thread then keeps up on its own).
    async fn keep_up(&self) -> Result<()> {
        if lock(&self.inner().pipe).unparsed() < EXACT_KEYS_BACKLOG {
            self.with_terminal(|_| ()).await?;
        }
        Ok(())
    }

    /// Until the shell has sent a prompt mark, or `until`.
    async fn first_mark(&self, until: Instant) -> Result<()> {
        self.wait_commands(until, |c| c.integrated()).await
    }

    /// Until the shell shows a prompt (or a command runs), or `until`.
    async fn until_prompt(&self, until: Instant) -> Result<()> {
        self.wait_commands(until, |c| c.at_prompt() || c.running().is_some())
            .await
    }

    /// Until `done` holds for the session's commands, the session exits,
    /// or `until`.
    async fn wait_commands(
        &self,
        until: Instant,
        done: impl Fn(&crate::core::commands::Commands) -> bool,
    ) -> Result<()> {
        let inner = self.inner().clone();
        let mut versions = inner.commands_tx.subscribe();
        let mut ends = inner.end_rx();
        let mut states = inner.state_rx();
        loop {
            if done(&lock(&inner.commands)) || states.borrow_and_update().exit.is_some() {
                return Ok(());
            }
            tokio::select! {
                _ = versions.changed() => {}
                _ = ends.changed() => self.keep_up().await?,
                _ = states.changed() => {}
                _ = tokio::time::sleep_until(until) => return Ok(()),
            }
        }
    }

    /// The output from `start` to `end` (or now) as text: its last `max`
    /// bytes, and how many bytes came before them.
    fn output_text(&self, start: u64, end: Option<u64>, max: usize) -> (String, u64) {
        let inner = self.inner();
        let (held, now) = inner.log_bounds();
        let to = end.unwrap_or(now);
        // Only the end is read: text is never longer than its raw bytes,
        // so the raw window covers it, escapes and all. Bytes before the
        // window, or gone from the log, count as omitted, raw.
        let window = (4 * max + (64 << 10)) as u64;
        let from = start.max(held).max(to.saturating_sub(window));
        let mut omitted = from.saturating_sub(start);
        let mut stripper = Stripper::default();
        let mut text = Vec::new();
        for (_, chunk, _) in inner.log_slices(from, to) {
            stripper.push(&chunk, &mut text);
            // Keep at most twice the cap while collecting.
            if text.len() > 2 * max + 4 {
                let cut = text.len() - max - 4;
                omitted += cut as u64;
                text.drain(..cut);
            }
        }
        if text.len() > max {
            let mut cut = text.len() - max;
            // Start on a character.
            while cut < text.len() && text[cut] & 0xc0 == 0x80 {
                cut += 1;
            }
            omitted += cut as u64;
            text.drain(..cut);
        }
        (String::from_utf8_lossy(&text).into_owned(), omitted)
    }
}

fn check_line(line: &str) -> Result<()> {
    if line.is_empty() {
        return Err(SessionError::invalid("the command line is empty"));
    }
    if line.len() > MAX_RUN_LINE {
        return Err(SessionError::invalid(format!(
            "the command line is {} bytes, limit {MAX_RUN_LINE}",
            line.len()
        )));
    }
    if line.contains(['\n', '\r']) {
        return Err(SessionError::invalid(
            "the command line holds a line break: run one line at a time",
        ));
    }
    if let Some(c) = line.chars().find(|c| c.is_control()) {
        return Err(SessionError::invalid(format!(
            "the command line holds a control character ({c:?}), which the shell would take \
             as an editing key: send keys for those"
        )));
    }
    if line.trim().is_empty() {
        return Err(SessionError::invalid("the command line is blank"));
    }
    Ok(())
}
