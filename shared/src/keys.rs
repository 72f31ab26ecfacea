//! Named keys and the bytes a terminal sends for them.

use std::fmt;

/// Longest key name, in bytes; the longest real one (`meta+pagedown`) is
/// far shorter. Modifiers recurse once per prefix, so without a bound a
/// name of a million `alt+` (a 4 MiB SendKey request) overflows the stack
/// and takes the spoke down, and costs quadratic time before that.
pub const MAX_KEY_NAME: usize = 32;

/// Why a key name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub name: String,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown key {:?} (known: enter, tab, esc, backspace, space, up, down, left, right, \
             home, end, pageup, pagedown, insert, delete, f1-f12, ctrl+<c>, alt+<key>, \
             or a single character)",
            self.name
        )
    }
}

impl std::error::Error for UnknownKey {}

/// The bytes for a named key. `application_cursor` selects the `ESC O`
/// forms of the arrow, home and end keys that full-screen programs ask for.
/// Names are case-insensitive; `ctrl-c`, `c-c` and `^c` mean `ctrl+c`.
pub fn key_bytes(name: &str, application_cursor: bool) -> Result<Vec<u8>, UnknownKey> {
    let unknown = || UnknownKey {
        // A long name is cut: the error goes back to the caller.
        name: if name.len() > MAX_KEY_NAME {
            let cut: String = name
                .char_indices()
                .take_while(|(i, _)| *i < MAX_KEY_NAME)
                .map(|(_, c)| c)
                .collect();
            format!("{cut}...")
        } else {
            name.to_owned()
        },
    };
    if name.len() > MAX_KEY_NAME {
        return Err(unknown());
    }
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Ok(c.to_string().into_bytes());
    }
    let lower = name.to_ascii_lowercase();
    if let Some(rest) = strip_modifier(&lower, &["alt+", "alt-", "m-", "meta+"]) {
        let mut bytes = vec![0x1b];
        let original = &name[name.len() - rest.len()..];
        bytes.extend(key_bytes(original, application_cursor).map_err(|_| unknown())?);
        return Ok(bytes);
    }
    if let Some(rest) = strip_modifier(&lower, &["ctrl+", "ctrl-", "c-", "^"]) {
        return ctrl_byte(rest).map(|b| vec![b]).ok_or_else(unknown);
    }
    let cursor = |c: u8| {
        if application_cursor {
            vec![0x1b, b'O', c]
        } else {
            vec![0x1b, b'[', c]
        }
    };
    let bytes = match lower.as_str() {
        "enter" | "return" | "cr" => b"\r".to_vec(),
        "tab" => b"\t".to_vec(),
        "esc" | "escape" => b"\x1b".to_vec(),
        "backspace" | "bs" => b"\x7f".to_vec(),
        "space" => b" ".to_vec(),
        "up" => cursor(b'A'),
        "down" => cursor(b'B'),
        "right" => cursor(b'C'),
        "left" => cursor(b'D'),
        "home" => cursor(b'H'),
        "end" => cursor(b'F'),
        "pageup" | "pgup" => b"\x1b[5~".to_vec(),
        "pagedown" | "pgdn" => b"\x1b[6~".to_vec(),
        "insert" | "ins" => b"\x1b[2~".to_vec(),
        "delete" | "del" => b"\x1b[3~".to_vec(),
        "f1" => b"\x1bOP".to_vec(),
        "f2" => b"\x1bOQ".to_vec(),
        "f3" => b"\x1bOR".to_vec(),
        "f4" => b"\x1bOS".to_vec(),
        "f5" => b"\x1b[15~".to_vec(),
        "f6" => b"\x1b[17~".to_vec(),
        "f7" => b"\x1b[18~".to_vec(),
        "f8" => b"\x1b[19~".to_vec(),
        "f9" => b"\x1b[20~".to_vec(),
        "f10" => b"\x1b[21~".to_vec(),
        "f11" => b"\x1b[23~".to_vec(),
        "f12" => b"\x1b[24~".to_vec(),
        _ => return Err(unknown()),
    };
    Ok(bytes)
}

fn strip_modifier<'a>(name: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .filter(|rest| !rest.is_empty())
}

/// Control characters: ctrl+a..z, ctrl+@ [ \ ] ^ _ and ctrl+space, ctrl+?.
fn ctrl_byte(key: &str) -> Option<u8> {
    let mut chars = key.chars();
    let c = chars.next()?;
    if key == "space" {
        return Some(0);
    }
    if chars.next().is_some() {
        return None;
    }
    match c {
        'a'..='z' => Some(c as u8 - b'a' + 1),
        '@' | ' ' | '2' => Some(0),
        '[' | '3' => Some(0x1b),
        '\\' | '4' => Some(0x1c),
        ']' | '5' => Some(0x1d),
        '^' | '6' => Some(0x1e),
        '_' | '7' | '/' => Some(0x1f),
        '?' | '8' => Some(0x7f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_keys() {
        assert_eq!(key_bytes("enter", false).expect("enter"), b"\r");
        assert_eq!(key_bytes("Esc", false).expect("esc"), b"\x1b");
        assert_eq!(key_bytes("up", false).expect("up"), b"\x1b[A");
        assert_eq!(key_bytes("up", true).expect("app up"), b"\x1bOA");
        assert_eq!(key_bytes("f1", false).expect("f1"), b"\x1bOP");
        assert_eq!(key_bytes("f12", false).expect("f12"), b"\x1b[24~");
        assert_eq!(key_bytes("x", false).expect("char"), b"x");
        assert_eq!(key_bytes("é", false).expect("utf8"), "é".as_bytes());
    }

    #[test]
    fn modifiers() {
        assert_eq!(key_bytes("ctrl+c", false).expect("^c"), [3]);
        assert_eq!(key_bytes("CTRL-C", false).expect("^c"), [3]);
        assert_eq!(key_bytes("^d", false).expect("^d"), [4]);
        assert_eq!(key_bytes("ctrl+]", false).expect("^]"), [0x1d]);
        assert_eq!(key_bytes("alt+x", false).expect("M-x"), b"\x1bx");
        assert_eq!(key_bytes("alt+X", false).expect("M-X"), b"\x1bX");
        assert_eq!(key_bytes("alt+up", false).expect("M-up"), b"\x1b\x1b[A");
    }

    #[test]
    fn long_names_are_refused_without_deep_recursion() {
        assert_eq!(key_bytes("alt+alt+x", false).expect("nested"), b"\x1b\x1bx");
        // On a small stack: a million nested modifiers used to recurse a
        // million times.
        let refused = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(|| key_bytes(&"alt+".repeat(1 << 20), false).is_err())
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert!(refused);
        assert!(key_bytes(&"x".repeat(MAX_KEY_NAME + 1), false).is_err());
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = key_bytes("hyper+x", false).expect_err("unknown");
        assert_eq!(err.name, "hyper+x");
        assert!(err.to_string().contains("f1-f12"));
        assert!(key_bytes("ctrl+", false).is_err());
        assert!(key_bytes("ctrl+ab", false).is_err());
        assert!(key_bytes("", false).is_err());
    }
}
