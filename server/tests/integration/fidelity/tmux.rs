//! The oracle's side: a tmux server, and `capture-pane -e` read back as
//! cells.

use std::process::Command;

use unicode_width::UnicodeWidthChar as _;

use super::{ATTR_BOLD, ATTR_FAINT, ATTR_INVERSE, ATTR_ITALIC, ATTR_UNDERLINE};
use super::{Cell, Screen, Script, player, row_text};

/// A tmux server on its own socket with no configuration, killed on drop.
pub(super) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(super) fn start() -> Tmux {
        Tmux {
            socket: format!("vtr-fidelity-{}", std::process::id()),
        }
    }

    pub(super) fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("tmux output is UTF-8")
    }

    pub(super) fn play(&self, session: &str, s: &Script) {
        let (cols, rows) = (s.cols.to_string(), s.rows.to_string());
        self.run(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            &cols,
            "-y",
            &rows,
            &player(&s.path),
        ]);
    }

    pub(super) fn title(&self, session: &str) -> String {
        self.run(&["display", "-p", "-t", session, "#{pane_title}"])
            .trim_end()
            .to_owned()
    }

    pub(super) fn screen(&self, session: &str, cols: u16, rows: u16) -> Screen {
        let text = self.run(&["capture-pane", "-p", "-e", "-N", "-t", session]);
        let mut pen = Cell::default();
        let (mut cells, mut known): (Vec<Vec<Cell>>, Vec<usize>) = text
            .lines()
            .map(|line| parse_capture_line(line, cols.into(), &mut pen))
            .unzip();
        cells.resize(rows.into(), vec![Cell::default(); cols.into()]);
        known.resize(rows.into(), 0);
        let cursor = self.run(&["display", "-p", "-t", session, "#{cursor_y} #{cursor_x}"]);
        let (y, x) = cursor.trim_end().split_once(' ').expect("cursor");
        Screen {
            cells,
            known,
            cursor: (y.parse().expect("cursor_y"), x.parse().expect("cursor_x")),
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// One line of `capture-pane -e`: text with SGR sequences before each change
/// of attributes, relative to the line before (`pen` carries over). A wide
/// character fills two cells (the second one empty), a zero-width one joins
/// the cell before it. Also returns how many cells the line held.
fn parse_capture_line(line: &str, cols: usize, pen: &mut Cell) -> (Vec<Cell>, usize) {
    let mut cells = Vec::with_capacity(cols);
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            let mut params = String::new();
            for p in chars.by_ref() {
                if p == 'm' {
                    break;
                }
                params.push(p);
            }
            apply_sgr(pen, &params);
            continue;
        }
        match ch.width().unwrap_or(0) {
            0 => {
                if let Some(last) = cells
                    .iter_mut()
                    .rev()
                    .find(|c: &&mut Cell| !c.text.is_empty())
                {
                    last.text.push(ch);
                }
            }
            width => {
                let text = if ch == ' ' {
                    String::new()
                } else {
                    ch.to_string()
                };
                cells.push(Cell {
                    text,
                    ..pen.clone()
                });
                for _ in 1..width {
                    cells.push(Cell {
                        text: String::new(),
                        ..pen.clone()
                    });
                }
            }
        }
    }
    let known = cells.len();
    cells.resize(cols, Cell::default());
    (cells, known)
}

/// tmux writes `;` between parameters, `:` only inside `4:n` underline styles.
fn apply_sgr(pen: &mut Cell, params: &str) {
    let list: Vec<&str> = if params.is_empty() {
        vec!["0"]
    } else {
        params.split(';').collect()
    };
    let mut i = 0;
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    while i < list.len() {
        let p = list[i];
        i += 1;
        if let Some(style) = p.strip_prefix("4:") {
            set(&mut pen.attrs, ATTR_UNDERLINE, style != "0");
            continue;
        }
        match num(p) {
            0 => *pen = Cell::default(),
            1 => pen.attrs |= ATTR_BOLD,
            2 => pen.attrs |= ATTR_FAINT,
            3 => pen.attrs |= ATTR_ITALIC,
            4 => pen.attrs |= ATTR_UNDERLINE,
            7 => pen.attrs |= ATTR_INVERSE,
            22 => pen.attrs &= !(ATTR_BOLD | ATTR_FAINT),
            23 => pen.attrs &= !ATTR_ITALIC,
            24 => pen.attrs &= !ATTR_UNDERLINE,
            27 => pen.attrs &= !ATTR_INVERSE,
            n @ 30..=37 => pen.fg = 0x0100_0000 | (n - 30),
            n @ 90..=97 => pen.fg = 0x0100_0000 | (n - 90 + 8),
            n @ 40..=47 => pen.bg = 0x0100_0000 | (n - 40),
            n @ 100..=107 => pen.bg = 0x0100_0000 | (n - 100 + 8),
            39 => pen.fg = 0,
            49 => pen.bg = 0,
            // The underline colour: not in vtr's model, parameters skipped.
            58 => match list.get(i).map(|s| num(s)) {
                Some(5) => i += 2,
                Some(2) => i += 4,
                _ => {}
            },
            n @ (38 | 48) => {
                let colour = match list.get(i).map(|s| num(s)) {
                    Some(5) => {
                        i += 2;
                        0x0100_0000 | num(list.get(i - 1).copied().unwrap_or("0"))
                    }
                    Some(2) => {
                        i += 4;
                        let c = |k: usize| num(list.get(i - k).copied().unwrap_or("0"));
                        0x0200_0000 | c(3) << 16 | c(2) << 8 | c(1)
                    }
                    _ => 0,
                };
                if n == 38 {
                    pen.fg = colour;
                } else {
                    pen.bg = colour;
                }
            }
            // Blink, hidden, strikethrough, overline, on and off: not in
            // vtr's model.
            5 | 6 | 8 | 9 | 25 | 28 | 29 | 53 | 55 | 59 => {}
            // Anything else would be misread here as vt100 once misread 58.
            _ => panic!("unexpected SGR {p:?} in tmux output {params:?}"),
        }
    }
}

fn set(attrs: &mut u32, bit: u32, on: bool) {
    if on {
        *attrs |= bit;
    } else {
        *attrs &= !bit;
    }
}

#[test]
fn parses_tmux_capture_lines() {
    let mut pen = Cell::default();
    let (cells, known) = parse_capture_line(
        "\x1b[1;2mB\x1b[0m\x1b[38;2;10;20;30m\x1b[48;5;4mT\x1b[4:3m中\x1b[0me\u{301}\x1b[7m",
        8,
        &mut pen,
    );
    assert_eq!(cells[0].attrs, ATTR_BOLD | ATTR_FAINT);
    assert_eq!((cells[1].fg, cells[1].bg), (0x020a_141e, 0x0100_0004));
    assert_eq!(cells[2].text, "中");
    assert_eq!(cells[2].attrs, ATTR_UNDERLINE);
    assert_eq!(cells[3].text, "");
    assert_eq!(cells[4].text, "e\u{301}");
    assert_eq!(cells[4].attrs, 0);
    assert_eq!((cells.len(), known), (8, 5));
    let (cells, _) = parse_capture_line("\x1b[0;4;58;2;255;0;0mu", 2, &mut pen.clone());
    assert_eq!(cells[0].attrs, ATTR_UNDERLINE);
    // The next line starts with the attributes this one ended with.
    let (cells, _) = parse_capture_line("x", 8, &mut pen);
    assert_eq!(cells[0].attrs, ATTR_INVERSE);
    assert_eq!(row_text(&cells), "x       ");
}
