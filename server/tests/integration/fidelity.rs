//! The screen model against an oracle we did not write: every byte script in
//! `server/tests/screen/` is played by `cat` in a vtr session and in a tmux
//! pane of the same size, and `vtr screen --json` must show what
//! `tmux capture-pane -e` shows, cell by cell (text, colours, bold, faint,
//! italic, underline, inverse) and the cursor. Skipped, loudly, where tmux is
//! not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use unicode_width::UnicodeWidthChar as _;
use vtr_shared::proto as pb;

use crate::harness::*;

mod tmux;
use tmux::Tmux;

/// Set as the window title after each script: both terminals apply bytes
/// in order, so once it shows, every byte of the script has been applied.
const END_TITLE: &str = "vtr-corpus-end";

/// Scripts where tmux 3.3a departs from xterm (and ECMA-48), so it is no
/// oracle for them. vtr must show the text in `NAME.xterm.txt` (what
/// xterm's documented behaviour gives), and tmux must still differ from it:
/// when tmux is fixed, the exception is removed.
const TMUX_EXCEPTIONS: &[(&str, &str)] = &[
    ("tab-cht-forward", "tmux ignores CHT (CSI I)"),
    (
        "insert-chars-past-line-end",
        "tmux does nothing for an ICH (CSI @) that reaches past the last column; \
         xterm blanks from the cursor to the end of the line",
    ),
    (
        "wide-right-half-overwritten",
        "tmux keeps a wide character whose right half was overwritten; xterm \
         blanks its left half",
    ),
    (
        "insert-delete-lines-outside-region",
        "tmux inserts and deletes lines below and above the scroll region; DEC \
         and xterm ignore IL and DL there",
    ),
];

/// Scripts where vtr and tmux differ on purpose-less edge cases that
/// terminals handle differently and no oracle here settles (see the corpus
/// README). The test keeps them visible: it checks that they still differ,
/// so a change on either side is noticed and the entry revisited.
const UNSETTLED: &[(&str, &str)] = &[
    (
        "erase-line-on-wide",
        "EL from the right half of a wide character: tmux keeps the character, \
         vtr blanks it",
    ),
    (
        "tab-after-pending-wrap",
        "a tab at the last column with a wrap pending: tmux keeps the wrap \
         pending, vtr cancels it",
    ),
    (
        "wide-insert-delete",
        "DCH or ECH on one half of a wide character: tmux deletes the whole \
         character or nothing, vtr blanks the other half",
    ),
];

const ATTR_BOLD: u32 = 1;
const ATTR_ITALIC: u32 = 2;
const ATTR_UNDERLINE: u32 = 4;
const ATTR_INVERSE: u32 = 8;
const ATTR_FAINT: u32 = 16;

/// One cell as both sides are compared: text ("" for a blank cell and for
/// the right half of a wide character), packed colours as in the proto,
/// `ATTR_*` bits.
#[derive(Debug, Clone, PartialEq, Default)]
struct Cell {
    text: String,
    fg: u32,
    bg: u32,
    attrs: u32,
}

#[derive(Debug)]
struct Screen {
    cells: Vec<Vec<Cell>>,
    /// Per row, how many cells carry known attributes. `capture-pane`
    /// prints nothing past the last cell written on a line, so a background
    /// an erase painted past it is not captured: those cells are compared
    /// as text only.
    known: Vec<usize>,
    /// `(row, col)`.
    cursor: (u32, u32),
}

struct Script {
    name: String,
    path: PathBuf,
    cols: u16,
    rows: u16,
}

fn corpus() -> Vec<Script> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screen");
    let mut scripts: Vec<Script> = std::fs::read_dir(&dir)
        .expect("read the corpus directory")
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|path| {
            let name = path
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            // `NAME-COLSxROWS.bin` plays at that size, anything else at 40x10.
            let (cols, rows) = name
                .rsplit_once('-')
                .and_then(|(_, size)| size.split_once('x'))
                .and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?)))
                .unwrap_or((40, 10));
            Script {
                name,
                path,
                cols,
                rows,
            }
        })
        .collect();
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    scripts
}

/// The shell command both terminals run: raw output (no newline
/// translation), the script, the end marker, then stay.
fn player(path: &Path) -> String {
    format!(
        "stty -opost -echo; cat '{}'; printf '\\033]2;{END_TITLE}\\007'; exec sleep 1000",
        path.display()
    )
}

#[tokio::test]
async fn screen_matches_tmux_for_every_corpus_script() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (.ci/setup installs it)");
        return;
    }
    let scripts = corpus();
    assert!(scripts.len() >= 30, "corpus has {} scripts", scripts.len());

    let tmux = Tmux::start();
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    for (i, s) in scripts.iter().enumerate() {
        let session = format!("s{i}");
        tmux.play(&session, s);
        let mut req = spawn_request(&session, "sh", &["-c", &player(&s.path)]);
        req.cols = s.cols.into();
        req.rows = s.rows.into();
        c.spawn(req).await.expect("spawn");
    }

    let mut failures = Vec::new();
    for (i, s) in scripts.iter().enumerate() {
        let session = format!("s{i}");
        let what = format!("{} played in vtr", s.name);
        wait_until(&what, || {
            let mut c = c.clone();
            let session = session.clone();
            async move {
                let screen = c
                    .get_screen(pb::SessionRequest { session })
                    .await
                    .expect("screen")
                    .into_inner();
                (screen.title == END_TITLE).then_some(())
            }
        })
        .await;
        let what = format!("{} played in tmux", s.name);
        wait_until(&what, || {
            let done = tmux.title(&session) == END_TITLE;
            async move { done.then_some(()) }
        })
        .await;
        let ours = vtr_screen(&spoke, &session);
        let theirs = tmux.screen(&session, s.cols, s.rows);
        let exception = TMUX_EXCEPTIONS.iter().find(|(name, _)| *name == s.name);
        if let Some((_, why)) = exception {
            let expected = xterm_text(s);
            if text_lines(&ours) != expected {
                failures.push(format!(
                    "{}: vtr differs from xterm's screen\n  vtr:   {:?}\n  xterm: {expected:?}",
                    s.name,
                    text_lines(&ours)
                ));
            }
            if text_lines(&theirs) == expected {
                failures.push(format!(
                    "{}: tmux now agrees with xterm; drop the exception ({why})",
                    s.name
                ));
            }
        } else if let Some((_, why)) = UNSETTLED.iter().find(|(name, _)| *name == s.name) {
            if first_difference(&ours, &theirs).is_none() {
                failures.push(format!(
                    "{}: vtr and tmux now agree; drop it from UNSETTLED ({why})",
                    s.name
                ));
            }
        } else if let Some(diff) = first_difference(&ours, &theirs) {
            failures.push(format!("{}: {diff}", s.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scripts differ from tmux:\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n")
    );
}

/// Each row's text without trailing blanks.
fn text_lines(screen: &Screen) -> Vec<String> {
    screen
        .cells
        .iter()
        .map(|row| row_text(row).trim_end().to_owned())
        .collect()
}

/// `NAME.xterm.txt` as screen rows: the listed ones, then blank rows.
fn xterm_text(s: &Script) -> Vec<String> {
    let path = s.path.with_extension("xterm.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_owned()).collect();
    lines.resize(s.rows.into(), String::new());
    lines
}

/// Where two screens differ first, in words; `None` when they match.
fn first_difference(ours: &Screen, theirs: &Screen) -> Option<String> {
    for (row, (a, b)) in ours.cells.iter().zip(&theirs.cells).enumerate() {
        let known = ours.known[row].min(theirs.known[row]);
        for (col, (a, b)) in a.iter().zip(b).enumerate() {
            let differ = if col < known {
                a != b
            } else {
                a.text != b.text
            };
            if differ {
                return Some(format!(
                    "cell row {row} col {col}: vtr {a:?}, tmux {b:?}\n{}",
                    side_by_side(ours, theirs)
                ));
            }
        }
    }
    if ours.cursor != theirs.cursor {
        return Some(format!(
            "cursor (row, col): vtr {:?}, tmux {:?}\n{}",
            ours.cursor,
            theirs.cursor,
            side_by_side(ours, theirs)
        ));
    }
    None
}

/// Both screens' text, row by row, for the failure message.
fn side_by_side(ours: &Screen, theirs: &Screen) -> String {
    let mut out = String::from("  vtr | tmux\n");
    for (a, b) in ours.cells.iter().zip(&theirs.cells) {
        out.push_str(&format!("  {:?} | {:?}\n", row_text(a), row_text(b)));
    }
    out
}

/// A row as it looks: a blank cell is a space, the right half of a wide
/// character nothing.
fn row_text(row: &[Cell]) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in row {
        if std::mem::take(&mut skip) && c.text.is_empty() {
            continue;
        }
        if c.text.is_empty() {
            out.push(' ');
        } else {
            out.push_str(&c.text);
            skip = c.text.chars().next().and_then(|ch| ch.width()) == Some(2);
        }
    }
    out
}

/// `vtr screen NAME --json`, as a script would read it.
fn vtr_screen(spoke: &Spoke, session: &str) -> Screen {
    let out = spoke.cli(&["screen", session, "--json"]);
    assert!(out.status.success(), "vtr screen: {out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("screen json");
    let num = |v: &serde_json::Value| v.as_u64().expect("number") as u32;
    let cells: Vec<Vec<Cell>> = json["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|c| {
                    let text = c["text"].as_str().expect("text");
                    Cell {
                        text: if text == " " { "" } else { text }.to_owned(),
                        fg: num(&c["fg"]),
                        bg: num(&c["bg"]),
                        attrs: num(&c["attrs"]),
                    }
                })
                .collect()
        })
        .collect();
    let cursor = &json["cursor"];
    Screen {
        known: cells.iter().map(Vec::len).collect(),
        cells,
        cursor: (num(&cursor[0]), num(&cursor[1])),
    }
}

/// What vtr's screen holds after `bytes`, as the comparison sees it.
fn parsed(s: &Script, chunks: &[&[u8]]) -> vtr::core::types::ScreenState {
    let mut term = vtr::core::terminal::Terminal::new(s.rows, s.cols, 0);
    for chunk in chunks {
        term.process(chunk);
    }
    term.screen_state()
}

/// PTY reads split escape sequences and characters anywhere, and a
/// subscriber that joins late or falls behind gets a snapshot instead of the
/// bytes: both must give the screen the whole script gives.
#[test]
fn corpus_screens_survive_any_split_and_a_snapshot() {
    for s in corpus() {
        let bytes = std::fs::read(&s.path).expect("read script");
        let whole = parsed(&s, &[&bytes]);
        // Every split point of the short scripts; about 300 of the long ones.
        let step = (bytes.len() / 300).max(1);
        for at in (0..=bytes.len()).step_by(step) {
            let (a, b) = bytes.split_at(at);
            let split = parsed(&s, &[a, b]);
            assert_eq!(split.cells, whole.cells, "{} split at byte {at}", s.name);
            assert_eq!(
                (split.cursor_row, split.cursor_col),
                (whole.cursor_row, whole.cursor_col),
                "{} split at byte {at}: cursor",
                s.name
            );
        }
        let mut term = vtr::core::terminal::Terminal::new(s.rows, s.cols, 0);
        term.process(&bytes);
        let redrawn = parsed(&s, &[&term.snapshot()]);
        for (row, (a, b)) in redrawn.cells.iter().zip(&whole.cells).enumerate() {
            assert_eq!(a, b, "{}: row {row} redrawn from a snapshot", s.name);
        }
        assert_eq!(
            (
                redrawn.cursor_row,
                redrawn.cursor_col,
                redrawn.cursor_visible
            ),
            (whole.cursor_row, whole.cursor_col, whole.cursor_visible),
            "{}: cursor redrawn from a snapshot",
            s.name
        );
    }
}
