//! Domain types to the generated proto types, for every transport that
//! speaks them (gRPC services, the web app's sockets). With `unmap`, the
//! only place the two meet.

use vtr_shared::proto as pb;

use crate::core::clock::unix_ms;

use crate::core::{
    CellData, Color, Command, CommandList, Description, ExitInfo, GrepResult, RunEnd, RunResult,
    ScreenState, SessionSummary, SnapshotReason, Status, StreamEvent, WaitMatch, WaitOutcome,
};

pub fn session_info(s: &SessionSummary) -> pb::SessionInfo {
    let (exit_code, exit_signal) = match &s.exit {
        Some(ExitInfo { code, signal }) => (*code, signal.clone().unwrap_or_default()),
        None => (None, String::new()),
    };
    pb::SessionInfo {
        id: s.id.clone(),
        name: s.name.clone(),
        spoke: s.spoke.clone(),
        command: s.command.clone(),
        args: s.args.clone(),
        cwd: s.cwd.clone(),
        cols: s.cols.into(),
        rows: s.rows.into(),
        status: match s.status {
            Status::Running => pb::SessionStatus::Running,
            Status::Exited => pb::SessionStatus::Exited,
        } as i32,
        exit_code,
        exit_signal,
        idle: s.idle,
        created_at_ms: unix_ms(s.created_at),
        exited_at_ms: s.exited_at.map_or(0, unix_ms),
        last_output_at_ms: s.last_output_at.map_or(0, unix_ms),
        output_offset: s.output_offset,
        pid: s.pid.unwrap_or(0),
        title: s.title.clone(),
        subscribers: s.subscribers,
        stale: s.stale,
        spoke_last_seen_ms: s.spoke_last_seen.map_or(0, unix_ms),
        created_by: s.created_by.clone(),
        last_input_offset: s.last_input_offset,
        attention: s.attention,
        attention_text: s.attention_text.clone(),
        attention_at_ms: s.attention_at.map_or(0, unix_ms),
    }
}

pub fn labels(labels: Vec<(String, String)>) -> Vec<pb::Label> {
    labels
        .into_iter()
        .map(|(key, value)| pb::Label { key, value })
        .collect()
}

pub fn description(d: Description) -> pb::Description {
    pb::Description {
        name: d.name,
        version: d.version,
        labels: labels(d.labels),
        instance: d.instance,
    }
}

pub fn session_list(list: &[SessionSummary]) -> pb::SessionList {
    pb::SessionList {
        sessions: list.iter().map(session_info).collect(),
    }
}

pub fn color(c: Color) -> u32 {
    match c {
        Color::Default => 0,
        Color::Indexed(i) => 0x0100_0000 | u32::from(i),
        Color::Rgb(r, g, b) => 0x0200_0000 | u32::from(r) << 16 | u32::from(g) << 8 | u32::from(b),
    }
}

fn cell(c: CellData) -> pb::Cell {
    pb::Cell {
        text: c.text,
        fg: color(c.fg),
        bg: color(c.bg),
        attrs: c.attrs,
        wide: c.wide,
    }
}

pub fn screen(s: ScreenState) -> pb::Screen {
    pb::Screen {
        cols: s.cols.into(),
        rows: s.rows.into(),
        cursor_row: s.cursor_row.into(),
        cursor_col: s.cursor_col.into(),
        cursor_visible: s.cursor_visible,
        cells: s
            .cells
            .into_iter()
            .map(|row| pb::ScreenRow {
                cells: row.into_iter().map(cell).collect(),
            })
            .collect(),
        lines: s.lines,
        offset: s.offset,
        alternate_screen: s.alternate_screen,
        title: s.title,
    }
}

pub fn grep(r: GrepResult) -> pb::GrepResponse {
    pb::GrepResponse {
        matches: r
            .matches
            .into_iter()
            .map(|m| pb::GrepMatch {
                line_number: m.line_number,
                line: m.line,
                before: m.before,
                after: m.after,
            })
            .collect(),
        truncated: r.truncated,
    }
}

pub fn outcome(o: WaitOutcome) -> i32 {
    (match o {
        WaitOutcome::Matched => pb::WaitOutcome::Matched,
        WaitOutcome::Idle => pb::WaitOutcome::Idle,
        WaitOutcome::TimedOut => pb::WaitOutcome::TimedOut,
        WaitOutcome::Exited => pb::WaitOutcome::Exited,
    }) as i32
}

pub fn wait_match(m: WaitMatch) -> pb::WaitForResponse {
    pb::WaitForResponse {
        outcome: outcome(m.outcome),
        matched: m.matched,
        line: m.line,
        offset: m.offset,
    }
}

pub fn stream_event(e: StreamEvent) -> pb::SubscribeEvent {
    use pb::subscribe_event::Event;
    let event = match e {
        StreamEvent::Snapshot {
            screen,
            cols,
            rows,
            offset,
            reason,
        } => Event::Snapshot(pb::Snapshot {
            screen,
            cols: cols.into(),
            rows: rows.into(),
            offset,
            reason: match reason {
                SnapshotReason::Initial => pb::SnapshotReason::Initial,
                SnapshotReason::Resync => pb::SnapshotReason::Resync,
            } as i32,
        }),
        StreamEvent::Output { offset, data } => Event::Output(pb::Output { offset, data }),
        StreamEvent::Resized { cols, rows } => Event::Resized(pb::Resized {
            cols: cols.into(),
            rows: rows.into(),
        }),
        StreamEvent::Idle(idle) => Event::Idle(pb::IdleChanged { idle }),
        StreamEvent::Exited(exit) => Event::Exited(pb::Exited {
            exit_code: exit.code,
            signal: exit.signal.unwrap_or_default(),
        }),
    };
    pb::SubscribeEvent { event: Some(event) }
}

pub fn command(c: &Command) -> pb::CommandInfo {
    let until = c.ended.unwrap_or_else(std::time::SystemTime::now);
    pb::CommandInfo {
        seq: c.seq,
        text: c.text.clone(),
        start_offset: c.start_offset,
        end_offset: c.end_offset,
        exit_code: c.exit_code,
        started_at_ms: unix_ms(c.started),
        ended_at_ms: c.ended.map_or(0, unix_ms),
        duration_ms: until
            .duration_since(c.started)
            .unwrap_or_default()
            .as_millis() as u64,
    }
}

pub fn command_list(l: &CommandList) -> pb::CommandList {
    pb::CommandList {
        shell_integration: l.integrated,
        commands: l.commands.iter().map(command).collect(),
    }
}

pub fn run_result(r: &RunResult) -> pb::RunResponse {
    let elapsed_ms = r.elapsed.as_millis() as u64;
    let (end, reason) = match (r.end, &r.command) {
        (
            RunEnd::Finished,
            Some(Command {
                exit_code: Some(code),
                ..
            }),
        ) => (
            pb::RunEnd::Finished,
            format!("finished with exit code {code}"),
        ),
        (RunEnd::Finished, _) => (
            pb::RunEnd::Finished,
            "finished; the shell gave no exit code".to_owned(),
        ),
        (RunEnd::TimedOut, Some(c)) => (
            pb::RunEnd::TimedOut,
            format!(
                "timed out after {elapsed_ms} ms: command {} is still running",
                c.seq
            ),
        ),
        (RunEnd::TimedOut, None) => (
            pb::RunEnd::TimedOut,
            format!(
                "timed out after {elapsed_ms} ms: the shell did not start the command (is it \
                 waiting for more input, after an open quote or a trailing backslash?)"
            ),
        ),
        (RunEnd::NotStarted, _) => (
            pb::RunEnd::NotStarted,
            "the shell showed a new prompt without starting the command (an empty line, a \
             syntax error?): the output is what it printed"
                .to_owned(),
        ),
        (RunEnd::Exited, _) => (
            pb::RunEnd::Exited,
            "the session ended before the command did".to_owned(),
        ),
    };
    pb::RunResponse {
        end: end as i32,
        reason,
        command: r.command.as_ref().map(command),
        output: r.output.clone(),
        output_omitted: r.omitted,
        elapsed_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_packed() {
        assert_eq!(color(Color::Default), 0);
        assert_eq!(color(Color::Indexed(196)), 0x0100_00c4);
        assert_eq!(color(Color::Rgb(1, 2, 3)), 0x0201_0203);
    }
}
