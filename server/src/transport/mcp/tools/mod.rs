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

use crate::core::{
    Coordinator, GrepQuery, IdleWait, Input, RunSpec, SpawnSpec, WaitOutcome, limits,
};
use crate::transport::json::{command_json, outcome_name, session_json, spoke_json};
use crate::transport::map;
use vtr_shared::proto as pb;

/// Output `read_output` returns at most, raw.
pub(super) const MAX_READ: usize = 16 << 10;
/// A run's output text returned by default, and at most.
const DEFAULT_RUN_TEXT: usize = 16 << 10;
pub(super) const MAX_RUN_TEXT: usize = 32 << 10;
/// Commands `list_commands` returns by default.
const DEFAULT_COMMANDS: usize = 50;
/// Longest wait a tool takes: MCP clients give up on requests long before
/// the API's 24 h (often after 60 s); wait again instead.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(600);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_IDLE: Duration = Duration::from_secs(1);

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

mod fit;
mod output;
mod specs;

pub use fit::{MAX_ANSWER, MAX_ERROR};
pub use specs::{Hints, ToolSpec, specs};

use fit::{fit, fit_list};
use output::read_output;

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
            let items = p.commands.iter().map(|c| json!(command_json(c))).collect();
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
    outcome_name(map::outcome(o))
}

#[cfg(test)]
mod tests {
    use super::*;

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
