//! Commands as a shell reports them through its prompt marks: OSC 133, the
//! FinalTerm marks that iTerm2, kitty, WezTerm and VS Code share.
//!
//! - `ESC ] 133 ; A ST`: a prompt starts;
//! - `B`: the prompt ends, the command line is typed after it;
//! - `C`: the command runs, its output starts (kitty's `C;cmdline=TEXT` or
//!   `C;cmdline_url=PERCENT-ENCODED` name the command line);
//! - `D ; CODE`: it ended with that exit status.
//!
//! `ST` is BEL or `ESC \`. The scan runs on the raw output with its stream
//! offsets, so a command's output is exactly the bytes between the end of
//! its `C` and the start of its `D`. Everything kept is bounded: the list,
//! each command's text and a mark's payload.

use std::collections::VecDeque;
use std::time::SystemTime;

use super::limits::bounded_text;
use super::strip::Stripper;

/// Commands kept per session; the oldest go first.
pub const MAX_COMMANDS: usize = 1000;
/// A command line's text, in bytes.
pub const MAX_COMMAND_TEXT: usize = 1024;
/// A mark's payload kept: the rest of a longer one is dropped.
const MAX_MARK: usize = 4096;
/// The echoed command line kept between `B` and `C`, raw.
const MAX_ECHO: usize = 4096;

/// One command line run at a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// 1 for the session's first command, then one more for each.
    pub seq: u64,
    /// The command line: as the shell named it, or else as echoed.
    pub text: String,
    /// Where its output starts: just after the `C` mark.
    pub start_offset: u64,
    /// Where it ended: the `D` mark (or the next prompt, when no `D` came).
    pub end_offset: Option<u64>,
    /// From `D`; `None` while it runs or when the shell did not say.
    pub exit_code: Option<i32>,
    /// When its output started and ended, from the output's arrival.
    pub started: SystemTime,
    pub ended: Option<SystemTime>,
}

impl Command {
    pub fn finished(&self) -> bool {
        self.end_offset.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No prompt yet, or a command ended and no prompt followed.
    Outside,
    /// Between `A` and `B`.
    Prompt,
    /// Between `B` and `C`: the command line is being typed.
    Typing,
    /// Between `C` and `D`: the last command in the list runs.
    Running,
}

/// A session's commands, fed its output in order.
#[derive(Debug)]
pub struct Commands {
    scan: Scanner,
    phase: Phase,
    echo: Vec<u8>,
    list: VecDeque<Command>,
    next_seq: u64,
    /// Any mark seen: the shell speaks OSC 133.
    integrated: bool,
    /// Prompts shown (`B` marks): a line typed that starts no command
    /// (empty, a syntax error) shows in a new prompt without a `C`.
    prompts: u64,
    /// Bumped on every change a reader could see.
    version: u64,
    /// The key vtr gave the shell: only marks carrying it (`vtr=KEY`)
    /// count. `None`: any mark counts (a shell set up by its user).
    key: Option<String>,
}

impl Default for Commands {
    fn default() -> Self {
        Commands {
            scan: Scanner::default(),
            phase: Phase::Outside,
            echo: Vec::new(),
            list: VecDeque::new(),
            next_seq: 1,
            integrated: false,
            prompts: 0,
            version: 0,
            key: None,
        }
    }
}

impl Commands {
    /// Commands of a shell whose marks carry `key` (see `session::shell`).
    pub fn with_key(key: Option<String>) -> Self {
        Commands {
            key,
            ..Commands::default()
        }
    }

    /// Takes the output chunk at stream offset `offset`, which arrived `at`.
    pub fn feed(&mut self, offset: u64, chunk: &[u8], at: SystemTime) {
        let mut marks = Vec::new();
        self.scan.feed(offset, chunk, |m| marks.push(m));
        // While a line is typed, every byte is kept, marks and other
        // escapes too (however the reads split them): the text is taken
        // with the escapes removed.
        let mut echoed_to = offset;
        for mark in marks {
            if self.phase == Phase::Typing {
                self.echoed(offset, chunk, echoed_to, mark.end);
            }
            echoed_to = mark.end.max(offset);
            self.mark(&mark, at);
        }
        if self.phase == Phase::Typing {
            self.echoed(offset, chunk, echoed_to, offset + chunk.len() as u64);
        }
    }

    /// Keeps the part of `chunk` in `[from, to)` as echoed command line.
    fn echoed(&mut self, offset: u64, chunk: &[u8], from: u64, to: u64) {
        let lo = (from.max(offset) - offset) as usize;
        let hi = (to.max(offset) - offset).min(chunk.len() as u64) as usize;
        if lo < hi {
            let room = MAX_ECHO.saturating_sub(self.echo.len());
            self.echo
                .extend_from_slice(&chunk[lo..hi][..room.min(hi - lo)]);
        }
    }

    fn mark(&mut self, mark: &Mark, at: SystemTime) {
        if let Some(key) = &self.key {
            let keyed = mark
                .params
                .split(|&b| b == b';')
                .any(|field| field.strip_prefix(b"vtr=") == Some(key.as_bytes()));
            if !keyed {
                return;
            }
        }
        self.integrated = true;
        self.version += 1;
        match mark.kind {
            b'A' => {
                // A prompt while a command runs: it ended without a `D`.
                self.end_running(mark.start, None, at);
                self.phase = Phase::Prompt;
            }
            b'B' => {
                self.end_running(mark.start, None, at);
                self.phase = Phase::Typing;
                self.prompts += 1;
                self.echo.clear();
            }
            // A second start while one runs (a terminal's own integration
            // sourced by the user's startup files, say): the first stands.
            b'C' if self.phase == Phase::Running => self.version -= 1,
            b'C' => {
                self.end_running(mark.start, None, at);
                let text = cmdline(&mark.params).unwrap_or_else(|| echo_text(&self.echo));
                self.echo.clear();
                if self.list.len() == MAX_COMMANDS {
                    self.list.pop_front();
                }
                self.list.push_back(Command {
                    seq: self.next_seq,
                    text,
                    start_offset: mark.end,
                    end_offset: None,
                    exit_code: None,
                    started: at,
                    ended: None,
                });
                self.next_seq += 1;
                self.phase = Phase::Running;
            }
            b'D' => {
                let code = mark
                    .params
                    .split(|&b| b == b';')
                    .next()
                    .and_then(|c| std::str::from_utf8(c).ok()?.parse().ok());
                self.end_running(mark.start, code, at);
                self.phase = Phase::Outside;
            }
            _ => self.version -= 1,
        }
    }

    fn end_running(&mut self, offset: u64, code: Option<i32>, at: SystemTime) {
        if self.phase != Phase::Running {
            return;
        }
        if let Some(last) = self.list.back_mut() {
            last.end_offset = Some(offset);
            last.exit_code = code;
            last.ended = Some(at);
        }
        self.phase = Phase::Outside;
    }

    /// Whether the shell has sent any mark.
    pub fn integrated(&self) -> bool {
        self.integrated
    }

    /// At a prompt (after `A` or `B`, before `C`): ready for a command line.
    pub fn at_prompt(&self) -> bool {
        matches!(self.phase, Phase::Prompt | Phase::Typing)
    }

    /// The command that runs now, if any.
    pub fn running(&self) -> Option<&Command> {
        (self.phase == Phase::Running)
            .then(|| self.list.back())
            .flatten()
    }

    /// Prompts shown so far.
    pub fn prompts(&self) -> u64 {
        self.prompts
    }

    /// The next command's `seq`.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn get(&self, seq: u64) -> Option<&Command> {
        let first = self.list.front()?.seq;
        self.list
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    /// The last `limit` commands (all when 0), oldest first.
    pub fn last(&self, limit: usize) -> Vec<Command> {
        let skip = match limit {
            0 => 0,
            n => self.list.len().saturating_sub(n),
        };
        self.list.iter().skip(skip).cloned().collect()
    }
}

/// kitty's `cmdline=TEXT` or `cmdline_url=PERCENT-ENCODED` in a `C` mark.
fn cmdline(params: &[u8]) -> Option<String> {
    for field in params.split(|&b| b == b';') {
        if let Some(text) = field.strip_prefix(b"cmdline=") {
            return Some(bounded_text(text, MAX_COMMAND_TEXT));
        }
        if let Some(url) = field.strip_prefix(b"cmdline_url=") {
            return Some(bounded_text(&percent_decode(url), MAX_COMMAND_TEXT));
        }
    }
    None
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The command line as the terminal showed it typed: escapes removed, a
/// backspace takes back the character before it.
fn echo_text(echo: &[u8]) -> String {
    // Backspaces first: the stripper drops them with the other controls.
    let mut kept: Vec<u8> = Vec::with_capacity(echo.len());
    for &b in echo {
        if b == 0x08 {
            // A whole UTF-8 character.
            while let Some(last) = kept.pop() {
                if last & 0xc0 != 0x80 {
                    break;
                }
            }
        } else {
            kept.push(b);
        }
    }
    let mut text = Vec::new();
    Stripper::default().push(&kept, &mut text);
    bounded_text(text.trim_ascii(), MAX_COMMAND_TEXT)
}

/// An OSC 133 mark found in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    kind: u8,
    /// What follows `KIND;`.
    params: Vec<u8>,
    /// The stream offsets of its `ESC` and just past its terminator.
    start: u64,
    end: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    #[default]
    Ground,
    Escape,
    /// In an OSC string.
    Osc,
    /// `ESC` in an OSC string: `\` ends it.
    OscEscape,
}

/// Finds OSC 133 marks in a stream fed in pieces split anywhere.
#[derive(Debug, Default)]
struct Scanner {
    state: ScanState,
    /// The OSC so far, while it can still be a mark.
    payload: Vec<u8>,
    /// Not a mark (another OSC): skipped to its end.
    skipping: bool,
    start: u64,
}

impl Scanner {
    fn feed(&mut self, offset: u64, bytes: &[u8], mut found: impl FnMut(Mark)) {
        let mut i = 0;
        while i < bytes.len() {
            if self.state == ScanState::Ground {
                // Most output is text: jump to the next ESC.
                match memchr::memchr(0x1b, &bytes[i..]) {
                    Some(at) => i += at,
                    None => return,
                }
            }
            let b = bytes[i];
            let here = offset + i as u64;
            self.state = match (self.state, b) {
                (ScanState::Ground, _) => {
                    self.start = here;
                    ScanState::Escape
                }
                (ScanState::Escape, b']') => {
                    self.payload.clear();
                    self.skipping = false;
                    ScanState::Osc
                }
                (ScanState::Escape, 0x1b) => {
                    self.start = here;
                    ScanState::Escape
                }
                (ScanState::Escape, _) => ScanState::Ground,
                (ScanState::Osc | ScanState::OscEscape, 0x18 | 0x1a) => ScanState::Ground,
                (ScanState::Osc, 0x07) => {
                    self.finish(here + 1, &mut found);
                    ScanState::Ground
                }
                (ScanState::Osc, 0x1b) => ScanState::OscEscape,
                (ScanState::Osc, b) => {
                    self.take(b);
                    ScanState::Osc
                }
                (ScanState::OscEscape, b'\\') => {
                    self.finish(here + 1, &mut found);
                    ScanState::Ground
                }
                // Another sequence starts: this OSC was cut short.
                (ScanState::OscEscape, b']') => {
                    self.start = here - 1;
                    self.payload.clear();
                    self.skipping = false;
                    ScanState::Osc
                }
                (ScanState::OscEscape, 0x1b) => {
                    self.start = here;
                    ScanState::Escape
                }
                (ScanState::OscEscape, _) => ScanState::Ground,
            };
            i += 1;
        }
    }

    fn take(&mut self, b: u8) {
        if self.skipping {
            return;
        }
        let len = self.payload.len() + 1;
        if len <= 4 && b"133;"[len - 1] != b {
            self.skipping = true;
            self.payload.clear();
            return;
        }
        // A mark longer than this (a long command line, say) still counts,
        // with what follows cut.
        if len <= MAX_MARK {
            self.payload.push(b);
        }
    }

    fn finish(&mut self, end: u64, found: &mut impl FnMut(Mark)) {
        if self.skipping || self.payload.len() < 5 {
            return;
        }
        let rest = &self.payload[5..];
        found(Mark {
            kind: self.payload[4],
            params: rest.strip_prefix(b";").unwrap_or(rest).to_vec(),
            start: self.start,
            end,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn fed(pieces: &[&[u8]]) -> Commands {
        let mut c = Commands::default();
        let mut offset = 0;
        for (i, piece) in pieces.iter().enumerate() {
            c.feed(
                offset,
                piece,
                SystemTime::UNIX_EPOCH + Duration::from_millis(i as u64),
            );
            offset += piece.len() as u64;
        }
        c
    }

    const PROMPT: &[u8] = b"\x1b]133;A\x07$ \x1b]133;B\x07";

    #[test]
    fn a_command_runs_from_its_c_mark_to_its_d_mark_with_the_exit_code() {
        let out = [
            PROMPT,
            b"ls\r\n\x1b]133;C\x07a b\r\n\x1b]133;D;2\x07",
            PROMPT,
        ]
        .concat();
        let c = fed(&[&out]);
        let [cmd] = &c.last(0)[..] else {
            panic!("{:?}", c.last(0))
        };
        assert_eq!(cmd.text, "ls");
        assert_eq!(
            &out[cmd.start_offset as usize..cmd.end_offset.expect("ended") as usize],
            b"a b\r\n"
        );
        assert_eq!(cmd.exit_code, Some(2));
        assert!(c.at_prompt() && c.integrated());
    }

    #[test]
    fn marks_split_anywhere_and_st_terminators_are_found() {
        let out = [
            PROMPT,
            b"true\r\n\x1b]133;C\x1b\\\x1b]0;title\x07ok\x1b]133;D;0\x1b\\".as_slice(),
        ]
        .concat();
        for split in 0..out.len() {
            let c = fed(&[&out[..split], &out[split..]]);
            let cmds = c.last(0);
            assert_eq!(cmds.len(), 1, "split at {split}");
            let cmd = &cmds[0];
            assert_eq!(cmd.text, "true", "split at {split}");
            let output = &out[cmd.start_offset as usize..cmd.end_offset.expect("ended") as usize];
            assert_eq!(output, b"\x1b]0;title\x07ok", "split at {split}");
            assert_eq!(cmd.exit_code, Some(0));
        }
    }

    #[test]
    fn a_typed_line_reads_the_same_however_the_reads_split_it() {
        // Found by the fuzz target: an unknown mark while the line is typed.
        let out = [
            PROMPT,
            b"ls\r\n\x1b]133;]133;B\x07ls\r\n\x1b]133;C\x07ab\r\n\x1b]133;D;2\x07",
        ]
        .concat();
        let seen = |c: Commands| {
            c.last(0)
                .into_iter()
                .map(|c| (c.text, c.start_offset, c.end_offset, c.exit_code))
                .collect::<Vec<_>>()
        };
        let bytewise: Vec<&[u8]> = out.chunks(1).collect();
        let whole = seen(fed(&[&out]));
        assert_eq!(whole, seen(fed(&bytewise)));
        assert_eq!(whole[0].0, "ls\nls");
    }

    #[test]
    fn the_shell_may_name_the_command_line_and_edits_are_taken_back() {
        let c = fed(&[PROMPT, b"lx\x08s -l\r\n\x1b]133;C\x07\x1b]133;D;0\x07"]);
        assert_eq!(c.last(0)[0].text, "ls -l");
        let c = fed(&[
            PROMPT,
            b"x\x1b]133;C;cmdline_url=echo%20hi%3B\x07\x1b]133;D\x07",
        ]);
        assert_eq!(c.last(0)[0].text, "echo hi;");
        assert_eq!(c.last(0)[0].exit_code, None);
        assert!(c.last(0)[0].finished());
    }

    #[test]
    fn a_second_start_while_one_runs_is_not_a_new_command_and_prompts_are_counted() {
        let c = fed(&[
            PROMPT,
            b"ls\r\n\x1b]133;C\x07\x1b]133;C\x07a\r\n\x1b]133;D;0\x07",
            PROMPT,
        ]);
        let list = c.last(0);
        assert_eq!((list.len(), list[0].exit_code), (1, Some(0)));
        assert_eq!(c.prompts(), 2);
    }

    #[test]
    fn with_a_key_only_marks_carrying_it_count() {
        let mut c = Commands::with_key(Some("k1".into()));
        let out = [
            b"\x1b]133;A;vtr=k1\x07$ \x1b]133;B;vtr=k1\x07".as_slice(),
            b"cat f\r\n\x1b]133;C;vtr=k1\x07",
            // What the file holds: marks without the key, or another key.
            b"\x1b]133;D;0\x07\x1b]133;D;0;vtr=k2\x07\x1b]133;A\x07",
            b"\x1b]133;D;3;vtr=k1\x07",
        ]
        .concat();
        c.feed(0, &out, SystemTime::UNIX_EPOCH);
        let list = c.last(0);
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0].text.as_str(), list[0].exit_code),
            ("cat f", Some(3))
        );
        let mut unkeyed = Commands::with_key(Some("k1".into()));
        unkeyed.feed(0, PROMPT, SystemTime::UNIX_EPOCH);
        assert!(!unkeyed.integrated());
    }

    #[test]
    fn a_command_without_d_ends_at_the_next_prompt_and_one_running_is_told() {
        let c = fed(&[PROMPT, b"vim\r\n\x1b]133;C\x07screen"]);
        assert_eq!(c.running().map(|r| r.seq), Some(1));
        assert!(!c.at_prompt());
        let c = fed(&[PROMPT, b"vim\r\n\x1b]133;C\x07screen", PROMPT]);
        assert_eq!(c.running(), None);
        assert_eq!(c.last(0)[0].end_offset, Some((PROMPT.len() + 19) as u64));
    }

    #[test]
    fn look_alikes_are_not_marks_and_what_is_kept_is_bounded() {
        let c = fed(&[b"\x1b]1337;A\x07\x1b]13;A\x07\x1b[133;A\x1b]133\x07printf '\\e]133;A'"]);
        assert!(!c.integrated());
        // A mark longer than is kept still counts, its text cut.
        let long = [
            PROMPT,
            b"\x1b]133;C;cmdline=",
            &vec![b'x'; 4 * MAX_MARK],
            b"\x07out\x1b]133;D;0\x07",
        ]
        .concat();
        let c = fed(&[&long]);
        assert_eq!(c.last(0)[0].text.len(), MAX_COMMAND_TEXT);
        assert_eq!(c.last(0)[0].exit_code, Some(0));
        let mut c = Commands::default();
        let mut offset = 0;
        for _ in 0..MAX_COMMANDS + 5 {
            let out = [PROMPT, b"\x1b]133;C\x07\x1b]133;D;0\x07"].concat();
            c.feed(offset, &out, SystemTime::UNIX_EPOCH);
            offset += out.len() as u64;
        }
        assert_eq!(c.last(0).len(), MAX_COMMANDS);
        assert_eq!(c.last(0)[0].seq, 6);
        assert_eq!(c.get(6).map(|x| x.seq), Some(6));
        assert_eq!(c.get(5), None);
        assert_eq!(
            c.last(2).iter().map(|x| x.seq).collect::<Vec<_>>(),
            [1004, 1005]
        );
        let typed = [PROMPT, &vec![b'y'; 3 * MAX_COMMAND_TEXT], b"\x1b]133;C\x07"].concat();
        assert_eq!(fed(&[&typed]).last(0)[0].text.len(), MAX_COMMAND_TEXT);
    }
}
