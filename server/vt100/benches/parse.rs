//! Parse speed of `Parser::process` on a realistic mix, in MB/s.
//!
//! Run with `cargo bench -p vt100 --bench parse`. The mix: the screen corpus
//! (`server/tests/screen/*.bin`, which includes recordings of vim, less and
//! top) repeated, a `yes`-like stream of short plain lines, an `ls --color`-like
//! stream of coloured names, and a vim-like redraw stream (cursor moves,
//! erases, 256-colour and truecolor SGR, scroll regions). Each stream is fed in
//! 4 KiB chunks, as PTY reads arrive, to a 50x200 screen with 10,000 lines of
//! scrollback (the spoke's default).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

const CHUNK: usize = 4096;
const TARGET: usize = 32 << 20;

fn main() {
    let streams = [
        ("corpus", repeat(&corpus())),
        ("yes", repeat(b"y\r\n")),
        ("ls --color", repeat(&ls_color())),
        ("vim-like", repeat(&vim_like())),
    ];
    let mut total_bytes = 0;
    let mut total_time = Duration::ZERO;
    // `PARSE_ONLY=yes` (a stream's name) runs just that one, for a profiler.
    let only = std::env::var("PARSE_ONLY").ok();
    for (name, bytes) in &streams {
        if only.as_deref().is_some_and(|only| only != *name) {
            continue;
        }
        // One warm-up pass, then the best of three.
        let _ = run(bytes);
        let best = (0..3).map(|_| run(bytes)).min().unwrap_or_default();
        total_bytes += bytes.len();
        total_time += best;
        println!("{name:>12}: {:8.1} MB/s", mb_per_s(bytes.len(), best));
    }
    println!(
        "{:>12}: {:8.1} MB/s",
        "mix",
        mb_per_s(total_bytes, total_time)
    );
}

fn run(bytes: &[u8]) -> Duration {
    let mut parser = vt100::Parser::new(50, 200, 10_000);
    let start = Instant::now();
    for chunk in bytes.chunks(CHUNK) {
        parser.process(chunk);
    }
    let took = start.elapsed();
    std::hint::black_box(parser.screen().cursor_position());
    took
}

fn mb_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

fn repeat(unit: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TARGET + unit.len());
    while out.len() < TARGET && !unit.is_empty() {
        out.extend_from_slice(unit);
    }
    out
}

fn corpus() -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/screen");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "bin"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        if let Ok(bytes) = std::fs::read(&file) {
            out.extend_from_slice(&bytes);
            // Each script assumes a fresh terminal.
            out.extend_from_slice(b"\x1b[?1049l\x1b[r\x1b[0m\x1b[H\x1b[2J");
        }
    }
    out
}

fn ls_color() -> Vec<u8> {
    let mut s = String::new();
    for i in 0..500 {
        let (code, suffix) = match i % 5 {
            0 => ("01;34", "/"),
            1 => ("01;32", "*"),
            2 => ("01;36", "@"),
            3 => ("00", ""),
            _ => ("01;31", ""),
        };
        let _ = write!(
            s,
            "\x1b[0m\x1b[{code}mentry-{i:04}.name\x1b[0m{suffix}  "
        );
        if i % 6 == 5 {
            s.push_str("\r\n");
        }
    }
    s.into_bytes()
}

fn vim_like() -> Vec<u8> {
    let mut s = String::from("\x1b[?1049h\x1b[1;49r\x1b[H\x1b[2J");
    for row in 1..=49 {
        let _ = write!(
            s,
            "\x1b[{row};1H\x1b[38;5;130m{row:>4} \x1b[m\x1b[38;2;200;100;50mfn\x1b[m \
             name_{row}(\x1b[1;38;5;33marg\x1b[m: u32) {{ \x1b[3;38;5;244m// \
             comment ünïcödé 中文\x1b[m\x1b[K"
        );
    }
    s.push_str("\x1b[50;1H\x1b[7m-- INSERT --\x1b[m\x1b[K");
    for _ in 0..10 {
        s.push_str(
            "\x1b[1;49r\x1b[49;1H\n\x1b[r\x1b[49;1H    let x = 1;\x1b[K",
        );
        s.push_str("\x1b[10;5H\x1b[2P\x1b[3@abc\x1b[5;1H\x1b[L\x1b[M");
    }
    s.push_str("\x1b[?1049l");
    s.into_bytes()
}
