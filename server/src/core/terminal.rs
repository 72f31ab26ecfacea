//! Terminal state: a vt100 parser (screen + scrollback) that answers the
//! queries a headless terminal must answer, and reads of screen, scrollback
//! and formatted snapshots.

use super::grep::grep_lines;
use super::limits::{MAX_TITLE_BYTES, bounded_text};
use super::types::{
    ATTR_BOLD, ATTR_FAINT, ATTR_INVERSE, ATTR_ITALIC, ATTR_UNDERLINE, CellData, Color, GrepQuery,
    GrepResult, ScreenState,
};

/// Collects what the parser cannot act on itself: replies to terminal
/// queries (written back to the PTY), the window title, and what asked for
/// attention.
#[derive(Debug, Default)]
pub struct Replies {
    pub out: Vec<u8>,
    pub title: String,
    pub attention: Attention,
}

/// What a program did to ask for its user's attention: a bell, or a
/// desktop notification (OSC 9 as iTerm2 has it, OSC 777 `notify` as
/// urxvt and VTE have it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Attention {
    /// How many times, since the session started.
    pub count: u64,
    /// The last one: "bell", or the notification's text.
    pub text: String,
}

impl Attention {
    fn asked(&mut self, text: &[u8]) {
        self.count += 1;
        // The program controls it and every list carries it: bounded.
        self.text = bounded_text(text, MAX_TITLE_BYTES);
    }
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let first = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        let (row, col) = screen.cursor_position();
        let reply = match (i1, c, first) {
            // DSR: operating status, then cursor position report (1-based).
            (None, 'n', 5) => "\x1b[0n".to_owned(),
            (None, 'n', 6) => format!("\x1b[{};{}R", row + 1, col + 1),
            (Some(b'?'), 'n', 6) => format!("\x1b[?{};{}R", row + 1, col + 1),
            // Primary device attributes: a VT220-class terminal with ANSI colour.
            (None, 'c', 0) => "\x1b[?62;22c".to_owned(),
            // Secondary device attributes.
            (Some(b'>'), 'c', 0) => "\x1b[>1;10;0c".to_owned(),
            // Text area size in characters.
            (None, 't', 18) => {
                let (rows, cols) = screen.size();
                format!("\x1b[8;{rows};{cols}t")
            }
            _ => return,
        };
        self.out.extend_from_slice(reply.as_bytes());
    }

    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.attention.asked(b"bell");
    }

    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        match params {
            // OSC 9 ; text. ConEmu's OSC 9 ; N ; ... (progress and the
            // like) are commands, not notifications.
            [b"9", text, ..] if !text.iter().all(u8::is_ascii_digit) => {
                self.attention.asked(&params[1..].join(&b';'));
            }
            // OSC 777 ; notify ; title ; body.
            [b"777", b"notify", title, rest @ ..] => {
                let mut text = title.to_vec();
                if !rest.is_empty() {
                    text.extend_from_slice(b": ");
                    text.extend_from_slice(&rest.join(&b';'));
                }
                self.attention.asked(&text);
            }
            _ => {}
        }
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        // The program controls it and every list carries it: bounded.
        self.title = bounded_text(title, MAX_TITLE_BYTES);
    }
}

/// The parser plus the stream offset it has applied.
///
/// vt100 0.16 garbles a UTF-8 character split across two `process` calls,
/// and PTY reads split anywhere, so an incomplete character at the end of
/// a chunk is held back (at most 3 bytes) and fed with the next one.
pub struct Terminal {
    parser: vt100::Parser<Replies>,
    /// Bytes taken from the stream, including any held back.
    consumed: u64,
    held: Vec<u8>,
}

impl Terminal {
    pub fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        Terminal {
            parser: vt100::Parser::new_with_callbacks(rows, cols, scrollback, Replies::default()),
            consumed: 0,
            held: Vec::new(),
        }
    }

    /// Bytes applied so far: the offset the current state describes.
    pub fn offset(&self) -> u64 {
        self.consumed - self.held.len() as u64
    }

    /// Bytes taken from the stream so far (applied or held back).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    pub fn process(&mut self, bytes: &[u8]) {
        self.consumed += bytes.len() as u64;
        let mut input = bytes;
        if let Some(&lead) = self.held.first() {
            let need = utf8_len(lead).saturating_sub(self.held.len());
            let take = input
                .iter()
                .take(need)
                .take_while(|&&b| is_continuation(b))
                .count();
            self.held.extend_from_slice(&input[..take]);
            input = &input[take..];
            if take < need && input.is_empty() {
                return;
            }
            let held = std::mem::take(&mut self.held);
            self.parser.process(&held);
        }
        let keep = incomplete_tail(input);
        let (now, later) = input.split_at(input.len() - keep);
        self.parser.process(now);
        self.held.extend_from_slice(later);
    }

    /// Replies to queries seen since the last call.
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.parser.callbacks_mut().out)
    }

    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    pub fn attention(&self) -> &Attention {
        &self.parser.callbacks().attention
    }

    /// `(cols, rows)`.
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols, rows)
    }

    pub fn set_size(&mut self, rows: u16, cols: u16) {
        self.parser.screen_mut().set_size(rows, cols);
    }

    pub fn application_cursor(&self) -> bool {
        self.parser.screen().application_cursor()
    }

    /// Escape bytes that redraw the screen from scratch on a terminal of the
    /// same size.
    pub fn snapshot(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut out = Vec::new();
        // Leave (or enter) the alternate screen and reset margins, which the
        // formatted contents do not restore, then redraw.
        out.extend_from_slice(if screen.alternate_screen() {
            b"\x1b[?1049h\x1b[r"
        } else {
            b"\x1b[?1049l\x1b[r"
        });
        out.extend_from_slice(&screen.state_formatted());
        out
    }

    pub fn screen_state(&self) -> ScreenState {
        let screen = self.parser.screen();
        let (rows, cols) = screen.size();
        let (cursor_row, cursor_col) = screen.cursor_position();
        let mut cells = Vec::with_capacity(rows as usize);
        for row in 0..rows {
            let mut line = Vec::with_capacity(cols as usize);
            for col in 0..cols {
                line.push(screen.cell(row, col).map(cell_data).unwrap_or_default());
            }
            cells.push(line);
        }
        ScreenState {
            cols,
            rows,
            cursor_row,
            cursor_col,
            cursor_visible: !screen.hide_cursor(),
            cells,
            lines: screen.rows(0, cols).map(trim_end).collect(),
            offset: self.offset(),
            alternate_screen: screen.alternate_screen(),
            title: self.title().to_owned(),
        }
    }

    /// Every line held: scrollback (oldest first) then the screen.
    pub fn all_lines(&mut self) -> Vec<String> {
        let screen = self.parser.screen_mut();
        let (rows, cols) = screen.size();
        let rows = rows as usize;
        screen.set_scrollback(usize::MAX);
        let held = screen.scrollback();
        let mut lines = Vec::with_capacity(held + rows);
        let mut back = held;
        while back > 0 {
            screen.set_scrollback(back);
            let take = back.min(rows);
            lines.extend(screen.rows(0, cols).take(take).map(trim_end));
            back -= take;
        }
        screen.set_scrollback(0);
        lines.extend(screen.rows(0, cols).map(trim_end));
        lines
    }

    pub fn grep(&mut self, regex: &regex::bytes::Regex, query: GrepQuery) -> GrepResult {
        grep_lines(&self.all_lines(), regex, query)
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

/// Length of the UTF-8 sequence a lead byte starts (1 for anything else).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

/// How many bytes at the end of `bytes` are an incomplete UTF-8 character.
fn incomplete_tail(bytes: &[u8]) -> usize {
    let tail = &bytes[bytes.len().saturating_sub(3)..];
    match tail.iter().rposition(|&b| !is_continuation(b)) {
        Some(i) if utf8_len(tail[i]) > tail.len() - i => tail.len() - i,
        _ => 0,
    }
}

fn trim_end(mut line: String) -> String {
    line.truncate(line.trim_end().len());
    line
}

fn cell_data(cell: &vt100::Cell) -> CellData {
    let mut attrs = 0;
    for (on, bit) in [
        (cell.bold(), ATTR_BOLD),
        (cell.italic(), ATTR_ITALIC),
        (cell.underline(), ATTR_UNDERLINE),
        (cell.inverse(), ATTR_INVERSE),
        (cell.dim(), ATTR_FAINT),
    ] {
        if on {
            attrs |= bit;
        }
    }
    CellData {
        text: cell.contents().to_owned(),
        fg: color(cell.fgcolor()),
        bg: color(cell.bgcolor()),
        attrs,
        wide: cell.is_wide(),
    }
}

fn color(c: vt100::Color) -> Color {
    match c {
        vt100::Color::Default => Color::Default,
        vt100::Color::Idx(i) => Color::Indexed(i),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_cursor_and_device_queries() {
        let mut term = Terminal::new(24, 80, 100);
        term.process(b"ab\r\ncd\x1b[6n\x1b[c\x1b[>c\x1b[5n");
        assert_eq!(
            String::from_utf8(term.take_replies()).expect("utf8"),
            "\x1b[2;3R\x1b[?62;22c\x1b[>1;10;0c\x1b[0n"
        );
        assert!(term.take_replies().is_empty());
    }

    #[test]
    fn screen_state_has_cells_colours_and_cursor() {
        let mut term = Terminal::new(3, 10, 100);
        term.process(b"\x1b]2;my title\x07\x1b[1;31mhi\x1b[0m \x1b[48;5;4mx");
        let s = term.screen_state();
        assert_eq!((s.cols, s.rows, s.cursor_row, s.cursor_col), (10, 3, 0, 4));
        assert_eq!(s.lines, vec!["hi x", "", ""]);
        assert_eq!(s.cells[0][0].text, "h");
        assert_eq!(s.cells[0][0].fg, Color::Indexed(1));
        assert_eq!(s.cells[0][0].attrs, ATTR_BOLD);
        assert_eq!(s.cells[0][3].bg, Color::Indexed(4));
        assert_eq!(s.title, "my title");
        assert_eq!(s.offset, term.offset());
    }

    #[test]
    fn snapshot_keeps_custom_tab_stops() {
        // A viewer redrawn from a snapshot must place later tabs as the
        // program set them.
        let mut term = Terminal::new(3, 30, 0);
        term.process(b"\x1b[3g\x1b[5G\x1bH\x1b[2;1Hx");
        let mut copy = Terminal::new(3, 30, 0);
        copy.process(&term.snapshot());
        for t in [&mut term, &mut copy] {
            t.process(b"\r\ta");
        }
        assert_eq!(copy.screen_state().lines[1], "x   a");
        assert_eq!(copy.screen_state().lines, term.screen_state().lines);
    }

    #[test]
    fn faint_and_bold_are_separate_attributes() {
        let mut term = Terminal::new(1, 10, 0);
        term.process(b"\x1b[1mb\x1b[2mx\x1b[22;2mf\x1b[0;4:3mu");
        let attrs: Vec<u32> = term.screen_state().cells[0][..4]
            .iter()
            .map(|c| c.attrs)
            .collect();
        assert_eq!(
            attrs,
            [
                ATTR_BOLD,
                ATTR_BOLD | ATTR_FAINT,
                ATTR_FAINT,
                ATTR_UNDERLINE
            ]
        );
    }

    #[test]
    fn a_huge_title_is_cut_at_a_character_boundary() {
        let mut term = Terminal::new(3, 10, 0);
        let mut input = b"\x1b]2;".to_vec();
        input.extend("é".repeat(1 << 20).bytes());
        input.push(7);
        term.process(&input);
        assert_eq!(term.title(), "é".repeat(MAX_TITLE_BYTES / 2));
        term.process(b"\x1b]0;short\x07");
        assert_eq!(term.title(), "short");
    }

    #[test]
    fn grep_reads_scrollback_with_context() {
        let mut term = Terminal::new(3, 20, 100);
        for i in 0..10 {
            term.process(format!("line {i}\r\n").as_bytes());
        }
        let lines = term.all_lines();
        assert_eq!(lines.len(), 11, "{lines:?}");
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[9], "line 9");
        let re = regex::bytes::Regex::new("line [37]").expect("regex");
        let res = term.grep(
            &re,
            GrepQuery {
                before: 1,
                after: 1,
                max_matches: 1,
            },
        );
        assert!(res.truncated);
        assert_eq!(res.matches.len(), 1);
        let m = &res.matches[0];
        assert_eq!((m.line_number, m.line.as_str()), (3, "line 3"));
        assert_eq!(m.before, vec!["line 2"]);
        assert_eq!(m.after, vec!["line 4"]);
    }

    #[test]
    fn utf8_split_across_chunks_is_kept_whole() {
        let text = "ünïcödé 中文 \u{1F600}!".as_bytes();
        let mut whole = Terminal::new(2, 30, 0);
        whole.process(text);
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let mut split = Terminal::new(2, 30, 0);
                split.process(&text[..i]);
                split.process(&text[i..j]);
                assert!(split.offset() <= split.consumed());
                split.process(&text[j..]);
                assert_eq!(
                    split.screen_state().lines,
                    whole.screen_state().lines,
                    "{i} {j}"
                );
                assert_eq!(split.offset(), text.len() as u64);
            }
        }
    }

    #[test]
    fn snapshot_redraws_the_same_screen() {
        let mut term = Terminal::new(5, 20, 0);
        term.process(b"\x1b[32mgreen\x1b[0m\r\n\x1b[3;5Hmoved");
        let mut copy = Terminal::new(5, 20, 0);
        copy.process(&term.snapshot());
        assert_eq!(copy.screen_state().lines, term.screen_state().lines);
        assert_eq!(copy.screen_state().cells, term.screen_state().cells);
    }
}
