//! Human and JSON output of client commands.

use serde::Serialize;
use vtr_shared::proto as pb;

#[derive(Serialize)]
pub struct SessionJson<'a> {
    id: &'a str,
    name: &'a str,
    spoke: &'a str,
    command: &'a str,
    args: &'a [String],
    cwd: &'a str,
    cols: u32,
    rows: u32,
    status: &'static str,
    exit_code: Option<i32>,
    exit_signal: Option<&'a str>,
    idle: bool,
    pid: u32,
    title: &'a str,
    created_at_ms: i64,
    exited_at_ms: Option<i64>,
    last_output_at_ms: Option<i64>,
    output_offset: u64,
}

pub fn status_name(s: &pb::SessionInfo) -> &'static str {
    match pb::SessionStatus::try_from(s.status) {
        Ok(pb::SessionStatus::Exited) => "exited",
        Ok(pb::SessionStatus::Running) if s.idle => "idle",
        Ok(pb::SessionStatus::Running) => "running",
        _ => "unknown",
    }
}

pub fn session_json(s: &pb::SessionInfo) -> SessionJson<'_> {
    SessionJson {
        id: &s.id,
        name: &s.name,
        spoke: &s.spoke,
        command: &s.command,
        args: &s.args,
        cwd: &s.cwd,
        cols: s.cols,
        rows: s.rows,
        status: status_name(s),
        exit_code: s.exit_code,
        exit_signal: (!s.exit_signal.is_empty()).then_some(s.exit_signal.as_str()),
        idle: s.idle,
        pid: s.pid,
        title: &s.title,
        created_at_ms: s.created_at_ms,
        exited_at_ms: (s.exited_at_ms > 0).then_some(s.exited_at_ms),
        last_output_at_ms: (s.last_output_at_ms > 0).then_some(s.last_output_at_ms),
        output_offset: s.output_offset,
    }
}

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn command_line(s: &pb::SessionInfo) -> String {
    std::iter::once(s.command.as_str())
        .chain(s.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_text(s: &pb::SessionInfo) -> String {
    match (status_name(s), s.exit_code, s.exit_signal.as_str()) {
        ("exited", Some(code), _) => format!("exited({code})"),
        ("exited", None, sig) if !sig.is_empty() => format!("exited({sig})"),
        (name, _, _) => name.to_owned(),
    }
}

pub fn print_sessions(list: &[pb::SessionInfo]) {
    if list.is_empty() {
        println!("no sessions");
        return;
    }
    let width = list.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<12}  {:>7}  COMMAND",
        "NAME", "STATUS", "SIZE"
    );
    for s in list {
        println!(
            "{:<width$}  {:<12}  {:>7}  {}",
            s.name,
            status_text(s),
            format!("{}x{}", s.cols, s.rows),
            command_line(s)
        );
    }
}

pub fn print_session(s: &pb::SessionInfo) {
    println!("name     {}", s.name);
    println!("id       {}", s.id);
    println!("spoke    {}", s.spoke);
    println!("command  {}", command_line(s));
    println!("cwd      {}", s.cwd);
    println!("size     {}x{}", s.cols, s.rows);
    println!("status   {}", status_text(s));
    if s.pid != 0 {
        println!("pid      {}", s.pid);
    }
    if !s.title.is_empty() {
        println!("title    {}", s.title);
    }
    println!("output   {} bytes", s.output_offset);
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
            println!("{line}");
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
