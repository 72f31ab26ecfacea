//! Proto types back to domain types: what a hub receives from a spoke it
//! calls. The inverse of `map`.

use std::time::UNIX_EPOCH;

use vtr_shared::proto as pb;

use crate::core::clock::from_unix_ms;
use crate::core::{
    CellData, Color, Command, CommandList, Description, ExitInfo, GrepMatch, GrepResult, RunEnd,
    RunResult, ScreenState, SessionSummary, SnapshotReason, SpawnSpec, Status, StreamEvent,
    WaitMatch, WaitOutcome,
};

/// Sizes are u32 on the wire and u16 in the terminal; a spoke never sends
/// more than the limits (1000 x 500), so saturating is only a guard.
fn size(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

pub fn session_info(s: pb::SessionInfo) -> SessionSummary {
    let exited = s.status == pb::SessionStatus::Exited as i32;
    SessionSummary {
        id: s.id,
        name: s.name,
        spoke: s.spoke,
        command: s.command,
        args: s.args,
        cwd: s.cwd,
        cols: size(s.cols),
        rows: size(s.rows),
        status: if exited {
            Status::Exited
        } else {
            Status::Running
        },
        exit: exited.then(|| ExitInfo {
            code: s.exit_code,
            signal: (!s.exit_signal.is_empty()).then_some(s.exit_signal),
        }),
        idle: s.idle,
        created_at: from_unix_ms(s.created_at_ms).unwrap_or(UNIX_EPOCH),
        exited_at: from_unix_ms(s.exited_at_ms),
        last_output_at: from_unix_ms(s.last_output_at_ms),
        output_offset: s.output_offset,
        pid: (s.pid != 0).then_some(s.pid),
        title: s.title,
        subscribers: s.subscribers,
        stale: s.stale,
        spoke_last_seen: from_unix_ms(s.spoke_last_seen_ms),
        created_by: s.created_by,
        last_input_offset: s.last_input_offset,
        attention: s.attention,
        attention_text: s.attention_text,
        attention_at: from_unix_ms(s.attention_at_ms),
    }
}

pub fn description(d: pb::Description) -> Description {
    Description {
        name: d.name,
        version: d.version,
        labels: d.labels.into_iter().map(|l| (l.key, l.value)).collect(),
        instance: d.instance,
    }
}

pub fn color(v: u32) -> Color {
    let [tag, r, g, b] = v.to_be_bytes();
    match tag {
        1 => Color::Indexed(b),
        2 => Color::Rgb(r, g, b),
        _ => Color::Default,
    }
}

pub fn screen(s: pb::Screen) -> ScreenState {
    ScreenState {
        cols: size(s.cols),
        rows: size(s.rows),
        cursor_row: size(s.cursor_row),
        cursor_col: size(s.cursor_col),
        cursor_visible: s.cursor_visible,
        cells: s
            .cells
            .into_iter()
            .map(|row| {
                row.cells
                    .into_iter()
                    .map(|c| CellData {
                        text: c.text,
                        fg: color(c.fg),
                        bg: color(c.bg),
                        attrs: c.attrs,
                        wide: c.wide,
                    })
                    .collect()
            })
            .collect(),
        lines: s.lines,
        offset: s.offset,
        alternate_screen: s.alternate_screen,
        title: s.title,
    }
}

pub fn grep(r: pb::GrepResponse) -> GrepResult {
    GrepResult {
        matches: r
            .matches
            .into_iter()
            .map(|m| GrepMatch {
                line_number: m.line_number,
                line: m.line,
                before: m.before,
                after: m.after,
            })
            .collect(),
        truncated: r.truncated,
    }
}

pub fn outcome(v: i32) -> WaitOutcome {
    match pb::WaitOutcome::try_from(v) {
        Ok(pb::WaitOutcome::Matched) => WaitOutcome::Matched,
        Ok(pb::WaitOutcome::Idle) => WaitOutcome::Idle,
        Ok(pb::WaitOutcome::Exited) => WaitOutcome::Exited,
        _ => WaitOutcome::TimedOut,
    }
}

pub fn wait_match(m: pb::WaitForResponse) -> WaitMatch {
    WaitMatch {
        outcome: outcome(m.outcome),
        matched: m.matched,
        line: m.line,
        offset: m.offset,
    }
}

/// `None` for an event without a body (a newer spoke's unknown event).
pub fn stream_event(e: pb::SubscribeEvent) -> Option<StreamEvent> {
    use pb::subscribe_event::Event;
    Some(match e.event? {
        Event::Snapshot(s) => StreamEvent::Snapshot {
            reason: if s.reason == pb::SnapshotReason::Resync as i32 {
                SnapshotReason::Resync
            } else {
                SnapshotReason::Initial
            },
            screen: s.screen,
            cols: size(s.cols),
            rows: size(s.rows),
            offset: s.offset,
        },
        Event::Output(o) => StreamEvent::Output {
            offset: o.offset,
            data: o.data,
        },
        Event::Resized(r) => StreamEvent::Resized {
            cols: size(r.cols),
            rows: size(r.rows),
        },
        Event::Idle(i) => StreamEvent::Idle(i.idle),
        Event::Exited(x) => StreamEvent::Exited(ExitInfo {
            code: x.exit_code,
            signal: (!x.signal.is_empty()).then_some(x.signal),
        }),
    })
}

/// A spawn request as the coordinator takes it.
pub fn spawn_spec(r: pb::SpawnRequest) -> SpawnSpec {
    SpawnSpec {
        spoke: r.spoke,
        name: r.name,
        command: r.command,
        args: r.args,
        cwd: r.cwd,
        env: r.env,
        cols: r.cols,
        rows: r.rows,
        created_by: r.created_by,
        no_shell_integration: r.no_shell_integration,
    }
}

pub fn command(c: pb::CommandInfo) -> Command {
    Command {
        seq: c.seq,
        text: c.text,
        start_offset: c.start_offset,
        end_offset: c.end_offset,
        exit_code: c.exit_code,
        started: from_unix_ms(c.started_at_ms).unwrap_or(UNIX_EPOCH),
        ended: from_unix_ms(c.ended_at_ms),
    }
}

pub fn command_list(l: pb::CommandList) -> CommandList {
    CommandList {
        integrated: l.shell_integration,
        commands: l.commands.into_iter().map(command).collect(),
    }
}

pub fn run_result(r: pb::RunResponse) -> RunResult {
    RunResult {
        end: match pb::RunEnd::try_from(r.end).unwrap_or_default() {
            pb::RunEnd::Finished => RunEnd::Finished,
            pb::RunEnd::Exited => RunEnd::Exited,
            pb::RunEnd::NotStarted => RunEnd::NotStarted,
            pb::RunEnd::TimedOut | pb::RunEnd::Unspecified => RunEnd::TimedOut,
        },
        command: r.command.map(command),
        output: r.output,
        omitted: r.output_omitted,
        elapsed: std::time::Duration::from_millis(r.elapsed_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::map;

    #[test]
    fn colours_round_trip() {
        for c in [Color::Default, Color::Indexed(7), Color::Rgb(1, 2, 3)] {
            assert_eq!(color(map::color(c)), c);
        }
    }

    #[test]
    fn events_round_trip() {
        let events = [
            StreamEvent::Output {
                offset: 5,
                data: bytes::Bytes::from_static(b"hi"),
            },
            StreamEvent::Resized { cols: 90, rows: 30 },
            StreamEvent::Idle(true),
            StreamEvent::Exited(ExitInfo {
                code: None,
                signal: Some("SIGKILL".into()),
            }),
            StreamEvent::Snapshot {
                screen: bytes::Bytes::from_static(b"\x1b[H"),
                cols: 80,
                rows: 24,
                offset: 9,
                reason: SnapshotReason::Resync,
            },
        ];
        for e in events {
            assert_eq!(stream_event(map::stream_event(e.clone())), Some(e));
        }
    }
}
