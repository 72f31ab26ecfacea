//! The MCP tools: what an agent may do with the sessions a hub (or spoke)
//! serves, each a thin call into the same `Coordinator` every other front
//! end uses, with `spoke:session` addresses. Every answer is compact JSON
//! of at most `MAX_ANSWER` bytes: lists drop items and say how many
//! (`omitted`), texts are capped below it, and an answer that still does
//! not fit is a tool error saying so (never cut JSON). A failure is a tool
//! error with a readable message of at most `MAX_ERROR` bytes.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::core::strip::Stripper;
use crate::core::{
    Coordinator, GrepQuery, IdleWait, Input, RunSpec, SpawnSpec, StreamEvent, WaitOutcome, limits,
};
use crate::transport::json::{session_json, spoke_json};
use crate::transport::map;
use vtr_shared::proto as pb;

/// An answer's size, in bytes.
pub const MAX_ANSWER: usize = 64 << 10;
/// A tool error's message, in bytes (it may quote what the caller sent).
pub const MAX_ERROR: usize = 2 << 10;
/// Output `read_output` returns at most, raw.
const MAX_READ: usize = 16 << 10;
/// A run's output text returned by default, and at most.
const DEFAULT_RUN_TEXT: usize = 16 << 10;
const MAX_RUN_TEXT: usize = 32 << 10;
/// Commands `list_commands` returns by default.
const DEFAULT_COMMANDS: usize = 50;
/// Longest wait a tool takes: MCP clients give up on requests long before
/// the API's 24 h (often after 60 s); wait again instead.
const MAX_WAIT: Duration = Duration::from_secs(600);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_IDLE: Duration = Duration::from_secs(1);
/// How long `read_output` waits for the stream to reach the end it saw.
const READ_CATCH_UP: Duration = Duration::from_secs(2);

/// Where the spoke list comes from: a hub's own, or none (a spoke is the
/// only one).
#[async_trait::async_trait]
pub trait Spokes: Send + Sync {
    async fn spokes(&self) -> Result<Vec<pb::SpokeInfo>, String>;
}

/// What the tools act on.
#[derive(Clone)]
pub struct Backend {
    pub coordinator: Arc<dyn Coordinator>,
    pub spokes: Arc<dyn Spokes>,
}

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

/// Whether `tool` only reads (a read-only grant may call it).
pub fn read_only(tool: &str) -> bool {
    specs().iter().any(|s| s.name == tool && s.hints.read_only)
}

fn args<T: DeserializeOwned>(tool: &str, value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("{tool}: bad arguments: {e}"))
}

fn millis(ms: Option<u64>, default: Duration, what: &str) -> Result<Duration, String> {
    let wait = limits::timeout(ms.unwrap_or(0), default, what).map_err(|e| e.to_string())?;
    if wait > MAX_WAIT {
        return Err(format!(
            "{what} {} is over {} (10 minutes): MCP clients give up on long requests; \
             wait again instead",
            wait.as_millis(),
            MAX_WAIT.as_millis()
        ));
    }
    Ok(wait)
}

/// `answer` as compact JSON, or why it does not fit in one answer.
fn fit(answer: &Value) -> Result<String, String> {
    let text = serde_json::to_string(answer).map_err(|e| e.to_string())?;
    if text.len() > MAX_ANSWER {
        return Err(format!(
            "the answer would be {} bytes, over the {MAX_ANSWER}-byte limit of one answer: \
             ask for less",
            text.len()
        ));
    }
    Ok(text)
}

/// A list within one answer: as many items as fit (the first ones, or
/// the last with `newest`), `wrap`ped with how many were left out.
fn fit_list(
    items: Vec<Value>,
    newest: bool,
    wrap: impl Fn(Vec<Value>, usize) -> Value,
) -> Result<String, String> {
    // Room for the wrapping and the count.
    let mut room = MAX_ANSWER - 512;
    let size = |v: &Value| serde_json::to_string(v).map_or(usize::MAX, |t| t.len() + 1);
    let mut keep = 0;
    let mut take = |v: &Value| {
        let n = size(v);
        if n > room {
            return false;
        }
        room -= n;
        keep += 1;
        true
    };
    if newest {
        items.iter().rev().take_while(|v| take(v)).for_each(drop);
    } else {
        items.iter().take_while(|v| take(v)).for_each(drop);
    }
    let omitted = items.len() - keep;
    let kept = if newest {
        items[omitted..].to_vec()
    } else {
        items[..keep].to_vec()
    };
    fit(&wrap(kept, omitted))
}

/// Whether `tool` is one of these.
pub fn known(tool: &str) -> bool {
    specs().iter().any(|s| s.name == tool)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

/// Calls `tool` for caller `who`: its answer as text, or a message for a
/// tool error (at most `MAX_ERROR` bytes).
pub async fn call(
    backend: &Backend,
    who: &str,
    tool: &str,
    value: Value,
) -> Result<String, String> {
    answer(backend, who, tool, value)
        .await
        .map_err(|e| limits::bounded_text(e.as_bytes(), MAX_ERROR))
}

async fn answer(backend: &Backend, who: &str, tool: &str, value: Value) -> Result<String, String> {
    let c = &backend.coordinator;
    let answer = match tool {
        "list_spokes" => {
            let Nothing {} = args(tool, value)?;
            let spokes = backend.spokes.spokes().await?;
            let items = spokes.iter().map(|s| json!(spoke_json(s))).collect();
            return fit_list(
                items,
                false,
                |spokes, omitted| json!({"spokes": spokes, "omitted": omitted}),
            );
        }
        "list_sessions" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                spoke: Option<String>,
            }
            let a: A = args(tool, value)?;
            if let Some(spoke) = &a.spoke {
                let spokes = backend.spokes.spokes().await?;
                if !spokes.iter().any(|s| s.name == *spoke) {
                    let known: Vec<&str> = spokes.iter().map(|s| s.name.as_str()).collect();
                    return Err(format!(
                        "no spoke named {spoke:?} (spokes: {})",
                        known.join(", ")
                    ));
                }
            }
            let list = c.list().await.map_err(|e| e.to_string())?;
            let items = list
                .iter()
                .filter(|s| a.spoke.as_ref().is_none_or(|spoke| s.spoke == *spoke))
                .map(|s| json!(session_json(&map::session_info(s))))
                .collect();
            return fit_list(
                items,
                false,
                |sessions, omitted| json!({"sessions": sessions, "omitted": omitted}),
            );
        }
        "spawn" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                name: Option<String>,
                command: Option<String>,
                #[serde(default)]
                args: Option<Vec<String>>,
                cwd: Option<String>,
                cols: Option<u32>,
                rows: Option<u32>,
            }
            let a: A = args(tool, value)?;
            let name = a.name.unwrap_or_default();
            let (spoke, name) = match name.split_once(':') {
                Some((spoke, name)) => (spoke.to_owned(), name.to_owned()),
                None => (String::new(), name),
            };
            let spec = SpawnSpec {
                spoke,
                name,
                command: a.command.unwrap_or_default(),
                args: a.args.unwrap_or_default(),
                cwd: a.cwd.unwrap_or_default(),
                cols: a.cols.unwrap_or(0),
                rows: a.rows.unwrap_or(0),
                created_by: who.to_owned(),
                ..SpawnSpec::default()
            };
            limits::check_spawn(&spec).map_err(|e| e.to_string())?;
            let s = c.spawn(spec).await.map_err(|e| e.to_string())?;
            json!(session_json(&map::session_info(&s)))
        }
        "send_text" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                text: String,
                submit: Option<bool>,
                request_id: Option<String>,
            }
            let a: A = args(tool, value)?;
            let input = Input::Text {
                text: a.text,
                submit: a.submit.unwrap_or(false),
            };
            let input = Input::once(a.request_id.unwrap_or_default(), input);
            let offset = c.send(&a.session, input).await.map_err(|e| e.to_string())?;
            json!({"offset": offset})
        }
        "send_keys" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                keys: Vec<String>,
                request_id: Option<String>,
            }
            let a: A = args(tool, value)?;
            let input = Input::once(a.request_id.unwrap_or_default(), Input::Keys(a.keys));
            let offset = c.send(&a.session, input).await.map_err(|e| e.to_string())?;
            json!({"offset": offset})
        }
        "run" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                command: String,
                timeout_ms: Option<u64>,
                max_output_bytes: Option<usize>,
                request_id: Option<String>,
            }
            let a: A = args(tool, value)?;
            let max_output = match a.max_output_bytes.unwrap_or(0) {
                0 => DEFAULT_RUN_TEXT,
                n if n > MAX_RUN_TEXT => {
                    return Err(format!(
                        "max_output_bytes {n} is over {MAX_RUN_TEXT}, the most one answer holds"
                    ));
                }
                n => n,
            };
            let spec = RunSpec {
                line: a.command,
                timeout: millis(a.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?,
                max_output,
                request_id: a.request_id.unwrap_or_default(),
            };
            let r = c.run(&a.session, spec).await.map_err(|e| e.to_string())?;
            let p = map::run_result(&r);
            let command = p.command.as_ref();
            json!({
                "finished": p.end() == pb::RunEnd::Finished,
                "reason": p.reason,
                "exit_code": command.and_then(|c| c.exit_code),
                "seq": command.map(|c| c.seq),
                "duration_ms": command.map(|c| c.duration_ms),
                "output": p.output,
                "output_omitted_bytes": p.output_omitted,
            })
        }
        "read_screen" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                cells: Option<bool>,
            }
            let a: A = args(tool, value)?;
            let s = c.screen(&a.session).await.map_err(|e| e.to_string())?;
            let mut answer = json!({
                "cols": s.cols, "rows": s.rows,
                "cursor": {"row": s.cursor_row, "col": s.cursor_col, "visible": s.cursor_visible},
                "title": s.title,
                "alternate_screen": s.alternate_screen,
                "offset": s.offset,
                "text": s.lines.join("\n").trim_end(),
            });
            if a.cells.unwrap_or(false) {
                let p = map::screen(s);
                // Per row, [text, fg, bg, attrs] per cell: compact.
                answer["cells"] = json!(
                    p.cells
                        .iter()
                        .map(|r| r
                            .cells
                            .iter()
                            .map(|c| json!([c.text, c.fg, c.bg, c.attrs]))
                            .collect::<Vec<_>>())
                        .collect::<Vec<_>>()
                );
            }
            answer
        }
        "read_output" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                since_offset: Option<u64>,
                max_bytes: Option<usize>,
            }
            let a: A = args(tool, value)?;
            let max = match a.max_bytes.unwrap_or(0) {
                0 => MAX_READ,
                n => n.min(MAX_READ),
            };
            read_output(c.as_ref(), &a.session, a.since_offset.unwrap_or(0), max).await?
        }
        "wait_for" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                regex: String,
                timeout_ms: Option<u64>,
                from_offset: Option<u64>,
            }
            let a: A = args(tool, value)?;
            let from = match a.from_offset {
                Some(offset) => Some(offset),
                None => {
                    let info = c.info(&a.session).await.map_err(|e| e.to_string())?;
                    // As `vtr wait`: from the last input, when the spoke
                    // says; else from now.
                    info.last_input_offset
                }
            };
            let timeout = millis(a.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?;
            let m = c
                .wait_for(&a.session, &a.regex, timeout.as_millis() as u64, from)
                .await
                .map_err(|e| e.to_string())?;
            json!({"outcome": outcome(m.outcome), "matched": m.matched, "line": m.line, "offset": m.offset})
        }
        "wait_idle" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                idle_ms: Option<u64>,
                timeout_ms: Option<u64>,
            }
            let a: A = args(tool, value)?;
            let wait = IdleWait {
                idle_for: millis(a.idle_ms, DEFAULT_IDLE, "idle_ms")?,
                timeout: millis(a.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?,
                include_screen: true,
            };
            let r = c
                .wait_idle(&a.session, wait)
                .await
                .map_err(|e| e.to_string())?;
            let screen = r.screen.map(|s| s.lines.join("\n").trim_end().to_owned());
            json!({"outcome": outcome(r.outcome), "screen": screen})
        }
        "grep" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                regex: String,
                before: Option<u32>,
                after: Option<u32>,
                max_matches: Option<u32>,
            }
            let a: A = args(tool, value)?;
            let query = GrepQuery {
                before: a.before.unwrap_or(0),
                after: a.after.unwrap_or(0),
                max_matches: match a.max_matches.unwrap_or(0) {
                    0 => 100,
                    n => n,
                },
            };
            let r = c
                .grep(&a.session, &a.regex, query)
                .await
                .map_err(|e| e.to_string())?;
            let items = r
                .matches
                .iter()
                .map(|m| {
                    json!({
                        "line_number": m.line_number + 1, "line": m.line,
                        "before": m.before, "after": m.after,
                    })
                })
                .collect();
            let truncated = r.truncated;
            return fit_list(
                items,
                true,
                |matches, omitted| json!({"matches": matches, "omitted": omitted, "truncated": truncated}),
            );
        }
        "list_commands" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                limit: Option<usize>,
            }
            let a: A = args(tool, value)?;
            let limit = match a.limit.unwrap_or(0) {
                0 => DEFAULT_COMMANDS,
                n => n,
            };
            let list = c
                .commands(&a.session, limit)
                .await
                .map_err(|e| e.to_string())?;
            let p = map::command_list(&list);
            let items = p
                .commands
                .iter()
                .map(|c| {
                    json!({
                        "seq": c.seq, "command": c.text, "exit_code": c.exit_code,
                        "running": c.end_offset.is_none(), "duration_ms": c.duration_ms,
                        "start_offset": c.start_offset, "end_offset": c.end_offset,
                    })
                })
                .collect();
            let integrated = p.shell_integration;
            return fit_list(
                items,
                true,
                |commands, omitted| json!({"shell_integration": integrated, "commands": commands, "omitted": omitted}),
            );
        }
        "kill" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                signal: Option<String>,
            }
            let a: A = args(tool, value)?;
            let signal = a.signal.unwrap_or_else(|| "HUP".to_owned());
            c.kill(&a.session, &signal)
                .await
                .map_err(|e| e.to_string())?;
            json!({"signalled": signal})
        }
        "remove" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                force: Option<bool>,
            }
            let a: A = args(tool, value)?;
            c.remove(&a.session, a.force.unwrap_or(false))
                .await
                .map_err(|e| e.to_string())?;
            json!({"removed": a.session})
        }
        _ => return Err(format!("no tool named {tool:?}")),
    };
    fit(&answer)
}

fn outcome(o: WaitOutcome) -> &'static str {
    match o {
        WaitOutcome::Matched => "matched",
        WaitOutcome::Idle => "idle",
        WaitOutcome::TimedOut => "timed_out",
        WaitOutcome::Exited => "exited",
    }
}

/// Output from `since` up to the end seen at the call, at most `max`
/// bytes of it; from a later offset when `since` is no longer held.
async fn read_output(
    c: &dyn Coordinator,
    session: &str,
    since: u64,
    max: usize,
) -> Result<Value, String> {
    let end = c
        .info(session)
        .await
        .map_err(|e| e.to_string())?
        .output_offset;
    if since > end {
        return Err(format!(
            "since_offset {since} is past the end of the output ({end})"
        ));
    }
    if since == end {
        return Ok(
            json!({"output": "", "start_offset": end, "next_offset": end, "end_offset": end, "more": false}),
        );
    }
    let mut events = c
        .subscribe(session, Some(since))
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut start = since;
    let mut next = since;
    let mut gap = None;
    let deadline = tokio::time::Instant::now() + READ_CATCH_UP;
    while next < end && raw.len() < max {
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => break,
        };
        match event {
            // The offset is no longer held: what the screen shows then
            // stands for what was lost.
            StreamEvent::Snapshot { offset, screen, .. } => {
                if offset > next {
                    gap = Some((offset, strip(&screen)));
                }
                start = offset;
                next = offset;
            }
            StreamEvent::Output { offset, data } => {
                let skip = next.saturating_sub(offset).min(data.len() as u64) as usize;
                let room = max - raw.len();
                let take = (data.len() - skip).min(room);
                raw.extend_from_slice(&data[skip..skip + take]);
                next = offset.max(next) + take as u64;
            }
            StreamEvent::Exited(_) => break,
            StreamEvent::Resized { .. } | StreamEvent::Idle(_) => {}
        }
    }
    // A page that ends inside an escape or a character leaves it for the
    // next one, which then reads it whole.
    if next < end {
        let keep = page_end(&raw);
        next -= (raw.len() - keep) as u64;
        raw.truncate(keep);
    }
    let mut answer = json!({
        "output": strip(&raw),
        "start_offset": start,
        "next_offset": next,
        "end_offset": end,
        "more": next < end,
    });
    if let Some((offset, screen)) = gap {
        answer["note"] = json!(format!(
            "output from {since} to {offset} is no longer held (a session keeps its last \
             4 MiB); `screen` is what the screen showed at {offset}"
        ));
        answer["screen"] = json!(screen);
    }
    Ok(answer)
}

fn strip(raw: &[u8]) -> String {
    let mut text = Vec::new();
    Stripper::default().push(raw, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

/// Where a page of raw output may end: before an escape sequence that may
/// be cut (one started in the last 64 bytes) and before a cut character.
fn page_end(raw: &[u8]) -> usize {
    let tail = raw.len().saturating_sub(64);
    let mut end = match raw[tail..].iter().rposition(|&b| b == 0x1b) {
        // Nothing but the escape would be left: keep it all.
        Some(at) if tail + at > 0 => tail + at,
        _ => raw.len(),
    };
    // Back to the start of the last character; keep it if it is whole.
    let mut lead = end;
    while lead > 0 && end - lead < 4 && raw[lead - 1] & 0xc0 == 0x80 {
        lead -= 1;
    }
    if lead > 0 && raw[lead - 1] >= 0xc0 {
        let len = match raw[lead - 1] {
            0xf0.. => 4,
            0xe0.. => 3,
            _ => 2,
        };
        if end - (lead - 1) < len {
            end = lead - 1;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_ends_before_a_cut_escape_or_character() {
        assert_eq!(page_end(b"plain text"), 10);
        assert_eq!(page_end(b"abc\x1b[3"), 3);
        assert_eq!(
            page_end("ab\u{e9}".as_bytes()),
            4,
            "a whole character stays"
        );
        assert_eq!(
            page_end(&"ab\u{20ac}".as_bytes()[..4]),
            2,
            "a cut one waits"
        );
        assert_eq!(
            page_end(b"\x1b[31"),
            4,
            "an escape alone is not held back forever"
        );
    }

    #[test]
    fn a_long_list_keeps_what_fits_and_counts_the_rest() {
        let items: Vec<Value> = (0..10_000).map(|i| json!(format!("item {i:05}"))).collect();
        let text = fit_list(
            items.clone(),
            true,
            |v, o| json!({"items": v, "omitted": o}),
        )
        .expect("fits");
        assert!(text.len() <= MAX_ANSWER);
        let v: Value = serde_json::from_str(&text).expect("whole JSON");
        let kept = v["items"].as_array().expect("items");
        assert_eq!(
            kept.len() + v["omitted"].as_u64().expect("count") as usize,
            10_000
        );
        assert_eq!(kept.last(), Some(&json!("item 09999")), "the newest kept");
        let first = fit_list(items, false, |v, o| json!({"items": v, "omitted": o})).expect("fits");
        let v: Value = serde_json::from_str(&first).expect("whole JSON");
        assert_eq!(v["items"][0], "item 00000");
        let huge = json!({"text": "x".repeat(MAX_ANSWER)});
        assert!(fit(&huge).expect_err("too big").contains("limit"));
    }

    #[test]
    fn every_tool_has_an_object_schema_and_only_reads_when_it_says_so() {
        let specs = specs();
        assert_eq!(specs.len(), 14);
        for s in &specs {
            assert_eq!(s.schema["type"], "object", "{}", s.name);
            assert!(!(s.hints.read_only && s.hints.destructive), "{}", s.name);
        }
        assert!(known("read_screen") && !known("nosuch"));
    }
}
