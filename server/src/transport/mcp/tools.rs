//! The MCP tools: what an agent may do with the sessions a hub (or spoke)
//! serves, each a thin call into the same `Coordinator` every other front
//! end uses, with `spoke:session` addresses. Every answer is JSON text of
//! at most `MAX_ANSWER` bytes; a longer one is cut with a marker saying
//! how much was left out. A failure is a tool error with a readable
//! message, not a protocol error.

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
/// Output `read_output` returns at most.
const MAX_READ: usize = 32 << 10;
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
const WRITE: Hints = Hints {
    read_only: false,
    destructive: false,
    idempotent: false,
};
const DESTROY: Hints = Hints {
    read_only: false,
    destructive: true,
    idempotent: true,
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
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

/// Every tool.
pub fn specs() -> Vec<ToolSpec> {
    let int = |d: &str| json!({"type": "integer", "minimum": 0, "description": d});
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
            description: "Every terminal session on every spoke: address (spoke:name), command, status (running, idle, exited), exit code, size, title and output offset.",
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
                    "cols": int("Width, default 80."),
                    "rows": int("Height, default 24."),
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
                    "keys": {"type": "array", "items": {"type": "string"}},
                    "request_id": id.clone(),
                }),
            ),
        },
        ToolSpec {
            name: "run",
            description: "Run one command line at a shell prompt and wait for it to finish: exit code, output (escapes removed, its last max_output_bytes) and duration; or why it did not finish (timed out: still running; session ended). Needs shell integration (bash or zsh started by vtr). Refused while another command runs.",
            hints: WRITE,
            schema: schema(
                &["session", "command"],
                json!({
                    "session": session_prop(),
                    "command": {"type": "string", "description": "One line."},
                    "timeout_ms": int("Default 30000."),
                    "max_output_bytes": int("Default 65536, at most 1048576."),
                    "request_id": id,
                }),
            ),
        },
        ToolSpec {
            name: "read_screen",
            description: "The session's screen as text, with the cursor position, size and title (optionally every cell's colours and attributes).",
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
                    "since_offset": int("Where to start; default 0."),
                    "max_bytes": int("Default and most 32768."),
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
                    "timeout_ms": int("Default 30000."),
                    "from_offset": int("Match output from here (e.g. send_text's offset); default: the last input."),
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
                    "timeout_ms": int("Default 30000."),
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
                    "before": int("Lines of context before."),
                    "after": int("Lines of context after."),
                    "max_matches": int("Default 100."),
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
                    "limit": int("The last this many; default all kept."),
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
    limits::timeout(ms.unwrap_or(0), default, what).map_err(|e| e.to_string())
}

/// Calls `tool`: its answer as text, or a message for a tool error.
pub async fn call(backend: &Backend, tool: &str, value: Value) -> Result<String, String> {
    let c = &backend.coordinator;
    let answer = match tool {
        "list_spokes" => {
            let _: serde_json::Map<String, Value> = args(tool, value)?;
            let spokes = backend.spokes.spokes().await?;
            json!(spokes.iter().map(spoke_json).collect::<Vec<_>>())
        }
        "list_sessions" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                spoke: Option<String>,
            }
            let a: A = args(tool, value)?;
            let list = c.list().await.map_err(|e| e.to_string())?;
            let infos: Vec<pb::SessionInfo> = list
                .iter()
                .filter(|s| a.spoke.as_ref().is_none_or(|spoke| s.spoke == *spoke))
                .map(map::session_info)
                .collect();
            json!(infos.iter().map(session_json).collect::<Vec<_>>())
        }
        "spawn" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                name: Option<String>,
                command: Option<String>,
                #[serde(default)]
                args: Vec<String>,
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
                args: a.args,
                cwd: a.cwd.unwrap_or_default(),
                cols: a.cols.unwrap_or(0),
                rows: a.rows.unwrap_or(0),
                created_by: "mcp".to_owned(),
                ..SpawnSpec::default()
            };
            limits::check_spawn(&spec).map_err(|e| e.to_string())?;
            let s = c.spawn(spec).await.map_err(|e| e.to_string())?;
            json!(session_json(&map::session_info(&s)))
        }
        "send_text" | "send_keys" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                text: Option<String>,
                #[serde(default)]
                submit: bool,
                keys: Option<Vec<String>>,
                #[serde(default)]
                request_id: String,
            }
            let a: A = args(tool, value)?;
            let input = match (tool, a.text, a.keys) {
                ("send_text", Some(text), None) => Input::Text {
                    text,
                    submit: a.submit,
                },
                ("send_keys", None, Some(keys)) => Input::Keys(keys),
                _ => return Err(format!("{tool}: bad arguments: see its schema")),
            };
            let offset = c
                .send(&a.session, Input::once(a.request_id, input))
                .await
                .map_err(|e| e.to_string())?;
            json!({"offset": offset})
        }
        "run" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                command: String,
                timeout_ms: Option<u64>,
                max_output_bytes: Option<u32>,
                #[serde(default)]
                request_id: String,
            }
            let a: A = args(tool, value)?;
            let spec = RunSpec {
                line: a.command,
                timeout: millis(a.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?,
                max_output: limits::run_output(a.max_output_bytes.unwrap_or(0))
                    .map_err(|e| e.to_string())?,
                request_id: a.request_id,
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
                #[serde(default)]
                cells: bool,
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
            if a.cells {
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
            let max = a.max_bytes.unwrap_or(MAX_READ).clamp(1, MAX_READ);
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
                    Some(info.last_input_offset.unwrap_or(0))
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
                #[serde(default)]
                before: u32,
                #[serde(default)]
                after: u32,
                max_matches: Option<u32>,
            }
            let a: A = args(tool, value)?;
            let query = GrepQuery {
                before: a.before,
                after: a.after,
                max_matches: a.max_matches.unwrap_or(100),
            };
            let r = c
                .grep(&a.session, &a.regex, query)
                .await
                .map_err(|e| e.to_string())?;
            json!({
                "matches": r.matches.iter().map(|m| json!({
                    "line_number": m.line_number + 1, "line": m.line, "before": m.before, "after": m.after,
                })).collect::<Vec<_>>(),
                "truncated": r.truncated,
            })
        }
        "list_commands" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct A {
                session: String,
                limit: Option<usize>,
            }
            let a: A = args(tool, value)?;
            let list = c
                .commands(&a.session, a.limit.unwrap_or(0))
                .await
                .map_err(|e| e.to_string())?;
            let p = map::command_list(&list);
            json!({
                "shell_integration": p.shell_integration,
                "commands": p.commands.iter().map(|c| json!({
                    "seq": c.seq, "command": c.text, "exit_code": c.exit_code,
                    "running": c.end_offset.is_none(), "duration_ms": c.duration_ms,
                    "start_offset": c.start_offset, "end_offset": c.end_offset,
                })).collect::<Vec<_>>(),
            })
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
                #[serde(default)]
                force: bool,
            }
            let a: A = args(tool, value)?;
            c.remove(&a.session, a.force)
                .await
                .map_err(|e| e.to_string())?;
            json!({"removed": a.session})
        }
        _ => return Err(format!("no tool named {tool:?}")),
    };
    let text = serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?;
    Ok(capped(text))
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
    if since >= end {
        return Ok(json!({"output": "", "next_offset": since.max(end), "end_offset": end}));
    }
    let mut events = c
        .subscribe(session, Some(since))
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut start = since;
    let mut next = since;
    let mut note = None;
    let deadline = tokio::time::Instant::now() + READ_CATCH_UP;
    while next < end && raw.len() < max {
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => break,
        };
        match event {
            StreamEvent::Snapshot { offset, .. } => {
                if offset > next {
                    note = Some(format!(
                        "offset {since} is no longer held; output from {offset}"
                    ));
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
    let mut text = Vec::new();
    Stripper::default().push(&raw, &mut text);
    Ok(json!({
        "output": String::from_utf8_lossy(&text),
        "start_offset": start,
        "next_offset": next,
        "end_offset": end,
        "more": next < end,
        "note": note,
    }))
}

/// `text`, cut to `MAX_ANSWER` bytes with a marker saying how much went.
pub fn capped(mut text: String) -> String {
    if text.len() <= MAX_ANSWER {
        return text;
    }
    let mut cut = MAX_ANSWER - 64;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let left = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!("\n[truncated: {left} more bytes left out]"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_are_cut_with_a_marker() {
        let text = "é".repeat(MAX_ANSWER);
        let cut = capped(text.clone());
        assert!(cut.len() <= MAX_ANSWER);
        assert!(
            cut.ends_with("more bytes left out]"),
            "{}",
            &cut[cut.len() - 60..]
        );
        assert_eq!(capped("short".into()), "short");
    }

    #[test]
    fn every_tool_has_an_object_schema_and_only_reads_when_it_says_so() {
        let specs = specs();
        assert_eq!(specs.len(), 14);
        for s in &specs {
            assert_eq!(s.schema["type"], "object", "{}", s.name);
            assert!(!(s.hints.read_only && s.hints.destructive), "{}", s.name);
        }
        assert!(read_only("read_screen") && !read_only("send_text") && !read_only("nosuch"));
    }
}
