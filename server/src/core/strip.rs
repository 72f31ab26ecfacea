//! Turns terminal output into plain text for regex waits: escape sequences
//! (CSI, OSC, DCS and friends), carriage returns and other control bytes are
//! removed. Streaming: a sequence split across reads is handled.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Ground,
    Escape,
    /// Intermediate bytes of a two- or three-byte escape (e.g. `ESC ( B`).
    EscapeIntermediate,
    Csi,
    /// OSC, DCS, SOS, PM, APC: a string ended by BEL or `ESC \`.
    String,
    StringEscape,
}

#[derive(Debug, Default)]
pub struct Stripper {
    state: State,
}

impl Stripper {
    /// Appends the text of `input` to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            self.state = match (self.state, b) {
                (_, 0x18 | 0x1a) => State::Ground,
                (State::Ground, 0x1b) => State::Escape,
                (State::Ground, b'\n' | b'\t') => {
                    out.push(b);
                    State::Ground
                }
                (State::Ground, b) if b < 0x20 || b == 0x7f => State::Ground,
                (State::Ground, b) => {
                    out.push(b);
                    State::Ground
                }
                (State::Escape, b'[') => State::Csi,
                (State::Escape, b']' | b'P' | b'X' | b'^' | b'_') => State::String,
                (State::Escape, 0x20..=0x2f) => State::EscapeIntermediate,
                (State::Escape, 0x1b) => State::Escape,
                (State::Escape, _) => State::Ground,
                (State::EscapeIntermediate, 0x20..=0x2f) => State::EscapeIntermediate,
                (State::EscapeIntermediate, _) => State::Ground,
                (State::Csi, 0x40..=0x7e) => State::Ground,
                (State::Csi, 0x1b) => State::Escape,
                (State::Csi, _) => State::Csi,
                (State::String, 0x07) => State::Ground,
                (State::String, 0x1b) => State::StringEscape,
                (State::String, _) => State::String,
                (State::StringEscape, b'\\') => State::Ground,
                (State::StringEscape, 0x1b) => State::StringEscape,
                (State::StringEscape, _) => State::String,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(input: &[u8]) -> String {
        let mut out = Vec::new();
        Stripper::default().push(input, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn removes_sequences_and_controls() {
        assert_eq!(strip(b"\x1b[1;31mred\x1b[0m plain\r\n"), "red plain\n");
        assert_eq!(strip(b"\x1b]0;title\x07a\x1b]2;t\x1b\\b"), "ab");
        assert_eq!(strip(b"\x1b(Bx\x1b=y\x1b[?1049h"), "xy");
        assert_eq!(strip("é\tz".as_bytes()), "é\tz");
    }

    #[test]
    fn split_anywhere_gives_the_same_text() {
        let input = b"a\x1b[38;5;196mb\x1b]2;title\x1b\\c\x1bPq#0\x1b\\d\r\ne";
        let whole = strip(input);
        for i in 0..=input.len() {
            let mut out = Vec::new();
            let mut s = Stripper::default();
            s.push(&input[..i], &mut out);
            s.push(&input[i..], &mut out);
            assert_eq!(String::from_utf8(out).expect("utf8"), whole, "split at {i}");
        }
        assert_eq!(whole, "abcd\ne");
    }
}
