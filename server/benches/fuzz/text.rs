//! Text a user or a file supplies: `vtrpc.toml` (the `vtr config validate`
//! path and the loader), and the CLI's durations, names, addresses, key
//! names and signal names.

use vtr::config;
use vtr::core::signal::parse_signal;
use vtr_shared::keys::key_bytes;

use crate::Target;
use crate::input::{pick, text};
use crate::props::{check_address, check_name};

const CONFIG: &str = r#"[hub]
listen = "127.0.0.1:4620"
socket = "/run/vtr/hub.sock"
name = "hub"
local_spoke = true
listen_token_file = "~/.config/vtr/token"

[spoke]
name = "build-a"
listen = "[::1]:4621"
scrollback = 5_000
log_bytes = 0x100000
idle_after = "2s"
parse_backlog = 64

[federation]
mode = "hub"
hub = "http://127.0.0.1:4620"

[[federation.spokes]]
name = "build-a"
address = "https://build-a.example:8443"
token_file = "~/.config/vtr/build-a.token"
ca_file = "ca.pem"
"#;

pub fn config() -> Target {
    Target {
        name: "config",
        seeds: || {
            vec![
                CONFIG.as_bytes().to_vec(),
                b"[spoke]\nscrollback = -1\nidle_after = \"soon\"\n".to_vec(),
                b"[[federation.spokes]]\nname = \"a\"\naddress = \"http://x\"\n".to_vec(),
                b"hub.name = 'a'\nspoke = { scrollback = 1 }\n".to_vec(),
            ]
        },
        dictionary: &[
            b"[hub]\n",
            b"[spoke]\n",
            b"[federation]\n",
            b"[[federation.spokes]]\n",
            b" = ",
            b"\"",
            b"'''",
            b"\n",
            b"0x",
            b"0o7",
            b"+1",
            b"-0",
            b"1e3",
            b"_",
            b"inf",
            b"true",
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b".",
            b"#",
            b"\\u00e9",
            b"1979-05-27",
            b"\r\n",
            b"\xc3\xa9",
        ],
        generate: |rng| {
            let mut out = String::new();
            for _ in 0..rng.usize(0..8) {
                let section = pick(
                    rng,
                    &["hub", "spoke", "federation", "[federation.spokes]", "other"],
                );
                out.push_str(&format!("[{section}]\n"));
                for _ in 0..rng.usize(0..5) {
                    let key = pick(
                        rng,
                        &[
                            "listen",
                            "socket",
                            "name",
                            "local_spoke",
                            "scrollback",
                            "log_bytes",
                            "idle_after",
                            "parse_backlog",
                            "mode",
                            "hub",
                            "address",
                            "token_file",
                            "x",
                        ],
                    );
                    let value = match rng.u32(0..5) {
                        0 => format!("{}", rng.i64(..)),
                        1 => format!("{}", rng.bool()),
                        2 => format!("\"{}\"", text(rng, "ab1:./ms")),
                        3 => format!("0x{:x}", rng.u64(..)),
                        _ => format!("[{}]", rng.u8(..)),
                    };
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
            out.into_bytes()
        },
        run: |input| {
            let Ok(text) = std::str::from_utf8(input) else {
                // A file that is not UTF-8 never reaches the parser.
                return;
            };
            let problems = config::check(text);
            let lines = text.matches('\n').count() + 1;
            for p in &problems {
                assert!(
                    (1..=lines).contains(&p.line),
                    "problem at line {} of {lines}",
                    p.line
                );
            }
            // The validator and the loader agree: what `vtr config
            // validate` passes, `vtr hub` and `vtr spoke` load.
            match config::parse(text) {
                Ok(_) => assert!(problems.is_empty()),
                Err(e) => assert!(
                    !problems.is_empty(),
                    "validate passed but loading failed: {e:#}"
                ),
            }
        },
    }
}

pub fn cli() -> Target {
    Target {
        name: "cli",
        seeds: || {
            [
                "\x0030s",
                "\x00500ms",
                "\x001.5",
                "\x01build-a",
                "\x02hub:tests",
                "\x03ctrl+c",
                "\x03alt+up",
                "\x04SIGTERM",
            ]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect()
        },
        dictionary: &[
            b"ms",
            b"s",
            b"m",
            b"h",
            b"d",
            b".",
            b"e9",
            b"alt+",
            b"ctrl-",
            b"m-",
            b"^",
            b"meta+",
            b"c-",
            b"SIG",
            b":",
            b"-",
            b"9",
            b"\xc3\xa9",
        ],
        generate: |rng| {
            let body = match rng.u32(0..5) {
                0 => format!(
                    "{}{}",
                    rng.f64() * 10f64.powi(rng.i32(0..25)),
                    pick(rng, &["", "s", "ms", "m", "h", "d", "x"])
                ),
                1 => text(rng, "ab1.-_"),
                2 => text(rng, "ab1.-_:"),
                3 => {
                    let mods: String = (0..rng.usize(0..4))
                        .map(|_| pick(rng, &["alt+", "ctrl+", "^", "m-"]).to_owned())
                        .collect();
                    format!(
                        "{mods}{}",
                        pick(rng, &["x", "up", "space", "f12", "@", "?", "é", ""])
                    )
                }
                _ => text(rng, "SIGTERMKILL0123456789 "),
            };
            [vec![rng.u8(0..5)], body.into_bytes()].concat()
        },
        run: |input| {
            let Some((&kind, data)) = input.split_first() else {
                return;
            };
            let text = String::from_utf8_lossy(data);
            match kind % 5 {
                0 => check_duration(&text),
                1 => check_name(&text),
                2 => check_address(&text),
                3 => {
                    if let Ok(bytes) = key_bytes(&text, kind & 0x80 != 0) {
                        assert!(!bytes.is_empty(), "key {text:?} sends nothing");
                        assert!(
                            bytes.len() <= 4 * text.len() + 8,
                            "key {text:?} sends {} bytes",
                            bytes.len()
                        );
                    }
                }
                _ => {
                    if let Ok(signal) = parse_signal(&text) {
                        assert!((1..=31).contains(&(signal as i32)), "{signal:?}");
                    }
                }
            }
        },
    }
}

/// Only `NUMBER[UNIT]` is a duration.
fn check_duration(text: &str) {
    let Ok(_) = vtr::config::duration::parse(text) else {
        return;
    };
    let t = text.trim();
    let number_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(number_end);
    assert!(
        number.bytes().any(|b| b.is_ascii_digit()),
        "duration {text:?} has no digits"
    );
    assert!(
        ["", "ms", "s", "m", "h", "d"].contains(&unit),
        "unit {unit:?} accepted"
    );
}
