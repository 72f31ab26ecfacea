//! Shell prompt marks (OSC 133) in a program's output: whatever a program
//! prints, the command list stays bounded and consistent, and it does not
//! depend on where the PTY reads split the output.

use std::time::SystemTime;

use vtr::core::commands::{Commands, MAX_COMMAND_TEXT, MAX_COMMANDS};

use crate::Target;
use crate::input::pick;

const PROMPT: &[u8] = b"\x1b]133;D;0\x07\x1b]133;A\x07$ \x1b]133;B\x07";

pub fn target() -> Target {
    Target {
        name: "prompt_marks",
        seeds: || {
            vec![
                [
                    PROMPT,
                    b"ls\r\n\x1b]133;C\x07a b\r\n\x1b]133;D;2\x07",
                    PROMPT,
                ]
                .concat(),
                [PROMPT, b"x\x1b]133;C;cmdline_url=echo%20hi%3B\x1b\\hi\r\n"].concat(),
                [PROMPT, b"vi\x08m\r\n\x1b]133;C\x07\x1b[?1049h", PROMPT].concat(),
                b"\x1b]1337;A\x07\x1b]133\x07\x1b]0;title\x07plain".to_vec(),
            ]
        },
        dictionary: &[
            b"\x1b]133;",
            b"A",
            b"B",
            b"C",
            b"D;",
            b"D;130",
            b"\x07",
            b"\x1b\\",
            b"\x1b",
            b";cmdline_url=",
            b";cmdline=",
            b"%",
            b"%E2%82",
            b"\x08",
            b"\x18",
            b"\r\n",
        ],
        generate: |rng| {
            let mut out = Vec::new();
            for _ in 0..rng.usize(1..40) {
                let piece: &[u8] = match rng.u32(0..6) {
                    0 => PROMPT,
                    1 => b"\x1b]133;C\x07",
                    2 => b"\x1b]133;D;1\x07",
                    3 => pick(rng, &[b"ls\r\n".as_slice(), b"\x08", b"\x1b]133;", b"%zz"]),
                    _ => b"output line\r\n",
                };
                out.extend_from_slice(piece);
            }
            out
        },
        run,
    }
}

fn fed(pieces: &[&[u8]]) -> Commands {
    let mut c = Commands::default();
    let mut offset = 0;
    for piece in pieces {
        c.feed(offset, piece, SystemTime::UNIX_EPOCH);
        offset += piece.len() as u64;
    }
    c
}

fn run(input: &[u8]) {
    let whole = fed(&[input]);
    let (a, b) = (input.len() / 3, input.len() * 2 / 3);
    let split = fed(&[&input[..a], &input[a..b], &input[b..]]);
    let bytewise: Vec<&[u8]> = input.chunks(1).collect();
    let single = fed(&bytewise);
    for other in [&split, &single] {
        assert_eq!(
            whole.last(0),
            other.last(0),
            "the split changed the commands"
        );
        assert_eq!(whole.integrated(), other.integrated());
        assert_eq!(whole.at_prompt(), other.at_prompt());
    }
    let list = whole.last(0);
    assert!(list.len() <= MAX_COMMANDS);
    for c in &list {
        assert!(
            c.text.len() <= MAX_COMMAND_TEXT,
            "text of {} bytes",
            c.text.len()
        );
        assert!(c.start_offset <= input.len() as u64);
        if let Some(end) = c.end_offset {
            assert!(c.start_offset <= end && end <= input.len() as u64, "{c:?}");
        }
    }
}
