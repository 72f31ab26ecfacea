//! Domain types exchanged between coordinators and transports.

use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// What to start in a new session.
#[derive(Debug, Clone, Default)]
pub struct SpawnSpec {
    /// The spoke to run on (a hub routes by it). Empty: the local spoke.
    pub spoke: String,
    /// Empty: a name is generated.
    pub name: String,
    /// Empty: `$SHELL`, else `/bin/sh`.
    pub command: String,
    pub args: Vec<String>,
    /// Empty: the home directory.
    pub cwd: String,
    /// `KEY=VALUE` pairs added to the environment.
    pub env: Vec<String>,
    /// 0: the default size.
    pub cols: u32,
    pub rows: u32,
    /// Who starts it (recorded and listed). Empty: not known.
    pub created_by: String,
    /// A bash or zsh started as it is, without prompt marks (see
    /// `session::shell`).
    pub no_shell_integration: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Exited,
}

/// How a session's process ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitInfo {
    pub code: Option<i32>,
    /// Name of the signal that ended the process, if one did.
    pub signal: Option<String>,
}

/// A session as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    pub id: String,
    pub name: String,
    pub spoke: String,
    pub command: String,
    pub args: Vec<String>,
    pub cwd: String,
    pub cols: u16,
    pub rows: u16,
    pub status: Status,
    pub exit: Option<ExitInfo>,
    pub idle: bool,
    pub created_at: SystemTime,
    pub exited_at: Option<SystemTime>,
    pub last_output_at: Option<SystemTime>,
    pub output_offset: u64,
    pub pid: Option<u32>,
    pub title: String,
    /// Live subscribers of the session's stream on its spoke.
    pub subscribers: u32,
    /// Listed from a hub's last view of a spoke it cannot reach now.
    pub stale: bool,
    /// On a hub: the last successful exchange with the owning spoke.
    pub spoke_last_seen: Option<SystemTime>,
    /// Who started it; empty when not known.
    pub created_by: String,
    /// The output offset when the session last took input (0 before any);
    /// `None` when the owning spoke does not say.
    pub last_input_offset: Option<u64>,
    /// Bells and notifications so far, the last one, and when.
    pub attention: u64,
    pub attention_text: String,
    pub attention_at: Option<SystemTime>,
}

impl SessionSummary {
    /// `spoke:name`, as people address it.
    pub fn address(&self) -> String {
        format!("{}:{}", self.spoke, self.name)
    }

    /// `spoke:id`: the same session after a rename, on a spoke and a hub
    /// alike.
    pub fn id_address(&self) -> String {
        format!("{}:{}", self.spoke, self.id)
    }
}

/// A coordinator's identity, as a hub shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description {
    pub name: String,
    pub version: String,
    /// `key=value` pairs given at start-up, in order.
    pub labels: Vec<(String, String)>,
    /// Random per run: tells a restarted spoke from a reconnecting one.
    pub instance: String,
}

/// Colours as the terminal holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Color {
    #[default]
    Default,
    Indexed(u8),
    Rgb(u8, u8, u8),
}

pub const ATTR_BOLD: u32 = 1;
pub const ATTR_ITALIC: u32 = 2;
pub const ATTR_UNDERLINE: u32 = 4;
pub const ATTR_INVERSE: u32 = 8;
/// Faint (SGR 2); independent of bold, both can be set.
pub const ATTR_FAINT: u32 = 16;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellData {
    pub text: String,
    pub fg: Color,
    pub bg: Color,
    /// `ATTR_*` bits.
    pub attrs: u32,
    pub wide: bool,
}

/// The visible screen at a known stream offset.
#[derive(Debug, Clone, Default)]
pub struct ScreenState {
    pub cols: u16,
    pub rows: u16,
    pub cursor_row: u16,
    pub cursor_col: u16,
    pub cursor_visible: bool,
    pub cells: Vec<Vec<CellData>>,
    pub lines: Vec<String>,
    pub offset: u64,
    pub alternate_screen: bool,
    pub title: String,
}

#[derive(Debug, Clone, Copy)]
pub struct GrepQuery {
    pub before: u32,
    pub after: u32,
    pub max_matches: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GrepMatch {
    pub line_number: u64,
    pub line: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GrepResult {
    pub matches: Vec<GrepMatch>,
    pub truncated: bool,
}

/// Input for a session.
#[derive(Debug, Clone, Hash)]
pub enum Input {
    Text {
        text: String,
        submit: bool,
    },
    Keys(Vec<String>),
    Bytes(Bytes),
    /// `input`, applied at most once for the client's request `id`: a
    /// retry with the same id gets the first one's answer (see
    /// `session::once`).
    Once {
        id: String,
        input: Box<Input>,
    },
}

impl Input {
    /// `input` under request `id`; as it is when `id` is empty.
    pub fn once(id: String, input: Input) -> Input {
        if id.is_empty() {
            input
        } else {
            Input::Once {
                id,
                input: Box::new(input),
            }
        }
    }

    /// The request id (empty if none) and the input itself.
    pub fn split(self) -> (String, Input) {
        match self {
            Input::Once { id, input } => (id, input.split().1),
            input => (String::new(), input),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    Matched,
    Idle,
    TimedOut,
    Exited,
}

#[derive(Debug, Clone)]
pub struct WaitMatch {
    pub outcome: WaitOutcome,
    pub matched: String,
    pub line: String,
    pub offset: u64,
}

#[derive(Debug, Clone)]
pub struct IdleWait {
    pub idle_for: Duration,
    pub timeout: Duration,
    pub include_screen: bool,
}

#[derive(Debug, Clone)]
pub struct IdleResult {
    pub outcome: WaitOutcome,
    pub screen: Option<ScreenState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotReason {
    Initial,
    Resync,
}

/// One event of a session's live stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Snapshot {
        screen: Bytes,
        cols: u16,
        rows: u16,
        offset: u64,
        reason: SnapshotReason,
    },
    Output {
        offset: u64,
        data: Bytes,
    },
    Resized {
        cols: u16,
        rows: u16,
    },
    Idle(bool),
    /// Always last.
    Exited(ExitInfo),
}
