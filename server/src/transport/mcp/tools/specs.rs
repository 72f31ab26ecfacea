//! Each tool's name, description, hints and JSON Schema, as agent hosts
//! list them.

use serde_json::{Value, json};

use super::{MAX_READ, MAX_RUN_TEXT, MAX_WAIT};

/// How a tool behaves, for the clients' hints.
#[derive(Debug, Clone, Copy)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

const READ: Hints = Hints {
    read_only: true,
    destructive: false,
    idempotent: true,
};
/// Types into a terminal or starts a program: whatever the program does,
/// so destructive as far as a host's approval is concerned.
const WRITE: Hints = Hints {
    read_only: false,
    destructive: true,
    idempotent: false,
};
const DESTROY: Hints = Hints {
    read_only: false,
    destructive: true,
    idempotent: false,
};

/// A tool's name, description, hints and JSON Schema of its arguments.
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub hints: Hints,
    pub schema: Value,
}

fn session_prop() -> Value {
    json!({"type": "string", "description": "The session: spoke:name (or its id); on a spoke, its name alone."})
}

fn schema(required: &[&str], props: Value) -> Value {
    let mut schema = json!({"type": "object", "properties": props, "additionalProperties": false});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// Every tool.
pub fn specs() -> Vec<ToolSpec> {
    let int = |d: &str| json!({"type": "integer", "minimum": 0, "description": d});
    let timeout = json!({"type": "integer", "minimum": 0, "maximum": MAX_WAIT.as_millis() as u64,
        "description": "Milliseconds; default 30000 (0 too), at most 600000: stay under your client's request timeout and wait again."});
    let id = json!({"type": "string", "description": "Optional, of your choosing (at most 128 bytes): a retry with the same id is applied once and answered as the first was."});
    vec![
        ToolSpec {
            name: "list_spokes",
            description: "The machines (spokes) this hub knows, with their health and last-seen time.",
            hints: READ,
            schema: schema(&[], json!({})),
        },
        ToolSpec {
            name: "list_sessions",
            description: "Every terminal session on every spoke: address (spoke:name), command, status (running, idle, exited), exit code, size, title and output offset. Sessions that do not fit in one answer are counted in `omitted`.",
            hints: READ,
            schema: schema(
                &[],
                json!({"spoke": {"type": "string", "description": "Only this spoke's sessions."}}),
            ),
        },
        ToolSpec {
            name: "spawn",
            description: "Start a session: a real terminal running a command (default: the spoke user's shell; bash and zsh get shell integration, so `run` and `list_commands` work).",
            hints: WRITE,
            schema: schema(
                &[],
                json!({
                    "name": {"type": "string", "description": "spoke:name, or name on the hub's own spoke; empty: generated."},
                    "command": {"type": "string", "description": "Program to run; empty: the shell."},
                    "args": {"type": "array", "items": {"type": "string"}},
                    "cwd": {"type": "string"},
                    "cols": {"type": "integer", "minimum": 0, "maximum": 1000, "description": "Width; default 80 (0 too)."},
                    "rows": {"type": "integer", "minimum": 0, "maximum": 500, "description": "Height; default 24 (0 too)."},
                }),
            ),
        },
        ToolSpec {
            name: "send_text",
            description: "Type text into a session, as a user would; submit presses Enter after it. Returns the output offset at that moment (for wait_for and read_output).",
            hints: WRITE,
            schema: schema(
                &["session", "text"],
                json!({
                    "session": session_prop(),
                    "text": {"type": "string"},
                    "submit": {"type": "boolean", "description": "Press Enter after the text."},
                    "request_id": id.clone(),
                }),
            ),
        },
        ToolSpec {
            name: "send_keys",
            description: "Press named keys: enter, tab, esc, backspace, up, down, left, right, home, end, pageup, pagedown, delete, f1-f12, ctrl+<c>, alt+<c>, or one character.",
            hints: WRITE,
            schema: schema(
                &["session", "keys"],
                json!({
                    "session": session_prop(),
                    "keys": {"type": "array", "items": {"type": "string"}, "maxItems": 256},
                    "request_id": id.clone(),
                }),
            ),
        },
        ToolSpec {
            name: "run",
            description: "Run one command line at a shell prompt and wait for it to finish: exit code, output (escapes removed, its last max_output_bytes, output_omitted_bytes before them) and duration; or why it did not finish (finished false: still running at the timeout, or the session ended). Needs shell integration (bash or zsh started by vtr with no command). Refused while another command runs.",
            hints: WRITE,
            schema: schema(
                &["session", "command"],
                json!({
                    "session": session_prop(),
                    "command": {"type": "string", "description": "One line."},
                    "timeout_ms": timeout.clone(),
                    "max_output_bytes": {"type": "integer", "minimum": 0, "maximum": MAX_RUN_TEXT, "description": "The output's last this many bytes; default 16384 (0 too), at most 32768."},
                    "request_id": id,
                }),
            ),
        },
        ToolSpec {
            name: "read_screen",
            description: "The session's screen as text, with the cursor position, size and title; with cells, each row as [text, fg, bg, attrs] per cell (refused when that does not fit in an answer).",
            hints: READ,
            schema: schema(
                &["session"],
                json!({
                    "session": session_prop(),
                    "cells": {"type": "boolean", "description": "Include cells (large)."},
                }),
            ),
        },
        ToolSpec {
            name: "read_output",
            description: "Output since a stream offset, as text (escapes removed), and the next offset to read from. Offset 0 reads all the session still holds.",
            hints: READ,
            schema: schema(
                &["session"],
                json!({
                    "session": session_prop(),
                    "since_offset": int("Where to start; default 0: all the session still holds (its last 4 MiB)."),
                    "max_bytes": {"type": "integer", "minimum": 0, "maximum": MAX_READ, "description": "Raw bytes to read; default and most 16384 (0: the default)."},
                }),
            ),
        },
        ToolSpec {
            name: "wait_for",
            description: "Wait until the session's output matches a regex (escapes removed), from its last input or from an offset; says why it returned: matched, timed_out or exited.",
            hints: READ,
            schema: schema(
                &["session", "regex"],
                json!({
                    "session": session_prop(),
                    "regex": {"type": "string", "description": "Rust regex syntax."},
                    "timeout_ms": timeout.clone(),
                    "from_offset": int("Match output from here (e.g. send_text's offset); default: from the session's last input (anyone's)."),
                }),
            ),
        },
        ToolSpec {
            name: "wait_idle",
            description: "Wait until the session has been quiet for idle_ms; says why it returned (idle, timed_out, exited) and shows the screen.",
            hints: READ,
            schema: schema(
                &["session"],
                json!({
                    "session": session_prop(),
                    "idle_ms": int("Default 1000."),
                    "timeout_ms": timeout.clone(),
                }),
            ),
        },
        ToolSpec {
            name: "grep",
            description: "Search the session's scrollback and screen with a regex: matching lines with context.",
            hints: READ,
            schema: schema(
                &["session", "regex"],
                json!({
                    "session": session_prop(),
                    "regex": {"type": "string"},
                    "before": {"type": "integer", "minimum": 0, "maximum": 1000, "description": "Lines of context before."},
                    "after": {"type": "integer", "minimum": 0, "maximum": 1000, "description": "Lines of context after."},
                    "max_matches": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "Default 100 (0 too); the newest are kept when the answer would be too long."},
                }),
            ),
        },
        ToolSpec {
            name: "list_commands",
            description: "The commands a session's shell ran (from its prompt marks): text, exit code, duration, output offsets.",
            hints: READ,
            schema: schema(
                &["session"],
                json!({
                    "session": session_prop(),
                    "limit": int("The last this many; default 50 (0 too)."),
                }),
            ),
        },
        ToolSpec {
            name: "kill",
            description: "Send a signal to the session's process (default HUP, which ends a shell).",
            hints: DESTROY,
            schema: schema(
                &["session"],
                json!({
                    "session": session_prop(),
                    "signal": {"type": "string", "description": "HUP, INT, TERM, KILL, ..."},
                }),
            ),
        },
        ToolSpec {
            name: "remove",
            description: "Forget an exited session (force: kill a running one first).",
            hints: DESTROY,
            schema: schema(
                &["session"],
                json!({
                    "session": session_prop(),
                    "force": {"type": "boolean"},
                }),
            ),
        },
    ]
}
