//! Whether a regex matches text that keeps growing, looking at each new
//! byte once. `WaitFor` used to run the regex over its whole window (up to
//! 1 MiB) after every chunk of output: quadratic in the output, and the
//! CPU of a busy session grew with every waiter. A lazy DFA carried from
//! chunk to chunk instead costs one step per new byte; only once it says a
//! match exists does the ordinary regex run over the window, once, to find
//! it (so what is reported is exactly what `Regex::find` reports).
//!
//! Patterns the lazy DFA cannot follow (a Unicode word boundary meeting a
//! non-ASCII byte, a pattern too big for it) fall back to the old way:
//! "maybe" after every chunk.

use regex::bytes::Regex;
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::start;
use regex_automata::{nfa::thompson, util::syntax};

use super::limits::MAX_REGEX_PROGRAM;

/// Memory for the lazy DFA's states, per waiter. The DFA clears and
/// rebuilds its cache when it fills, so this bounds memory, not patterns.
const CACHE_BYTES: usize = 256 << 10;

pub struct Matcher {
    /// `None`: fell back to "maybe" after every chunk.
    dfa: Option<Stream>,
}

struct Stream {
    dfa: DFA,
    cache: Cache,
    state: LazyStateID,
}

impl Matcher {
    /// A matcher for `regex`, at the start of the text.
    pub fn new(regex: &Regex) -> Matcher {
        Matcher {
            dfa: Stream::new(regex.as_str()),
        }
    }

    /// Whether the DFA follows the pattern (else every `feed` says maybe).
    #[cfg(test)]
    pub fn is_incremental(&self) -> bool {
        self.dfa.is_some()
    }

    /// Takes text appended after everything fed so far. False: no match
    /// can be found in the text so far (its end counting as the end of the
    /// text, as `Regex::find` sees it). True: one may be; look.
    pub fn feed(&mut self, more: &[u8]) -> bool {
        let Some(stream) = &mut self.dfa else {
            return true;
        };
        match stream.feed(more) {
            Some(hit) => hit,
            None => {
                self.dfa = None;
                true
            }
        }
    }
}

impl Stream {
    fn new(pattern: &str) -> Option<Stream> {
        let dfa = DFA::builder()
            // As `regex::bytes::Regex` parses and compiles it.
            .syntax(syntax::Config::new().utf8(false))
            .thompson(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(MAX_REGEX_PROGRAM)),
            )
            .configure(
                DFA::config()
                    .cache_capacity(CACHE_BYTES)
                    .skip_cache_capacity_check(true)
                    .unicode_word_boundary(true),
            )
            .build(pattern)
            .ok()?;
        let mut cache = dfa.create_cache();
        let state = dfa
            .start_state(
                &mut cache,
                &start::Config::new().anchored(regex_automata::Anchored::No),
            )
            .ok()?;
        Some(Stream { dfa, cache, state })
    }

    /// `None`: the DFA gave up (a quit byte, a cache error).
    fn feed(&mut self, more: &[u8]) -> Option<bool> {
        for &byte in more {
            self.state = self
                .dfa
                .next_state(&mut self.cache, self.state, byte)
                .ok()?;
            if self.state.is_tagged() {
                if self.state.is_match() {
                    return Some(true);
                }
                if self.state.is_dead() {
                    return Some(false);
                }
                if self.state.is_quit() {
                    return None;
                }
            }
        }
        // Matches show one byte late: one ending at the text's end shows
        // only on the end-of-text transition, taken on a copy, since more
        // text may follow.
        let end = self.dfa.next_eoi_state(&mut self.cache, self.state).ok()?;
        Some(end.is_match())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(p: &str) -> Regex {
        Regex::new(p).expect("regex")
    }

    /// Feeds `chunks` one by one; after each, whether the matcher said
    /// maybe, checked against `Regex::find` over everything so far.
    fn agrees(pattern: &str, chunks: &[&str]) -> Vec<bool> {
        let re = regex(pattern);
        let mut m = Matcher::new(&re);
        let mut text = Vec::new();
        chunks
            .iter()
            .map(|chunk| {
                text.extend_from_slice(chunk.as_bytes());
                let said = m.feed(chunk.as_bytes());
                let found = re.find(&text).is_some();
                assert!(said || !found, "{pattern:?} missed a match in {text:?}");
                if m.is_incremental() {
                    assert_eq!(said, found, "{pattern:?} over {text:?}");
                }
                said
            })
            .collect()
    }

    #[test]
    fn a_match_split_across_chunks_is_seen_when_it_completes() {
        assert_eq!(
            agrees("hello world", &["say hel", "lo wo", "rld!"]),
            [false, false, true]
        );
        assert_eq!(agrees(r"\$ $", &["ls\r\n", "$ "]), [false, true]);
        assert_eq!(
            agrees(r"(?m)^done$", &["not done\n", "done"]),
            [false, true]
        );
        assert_eq!(
            agrees(r"a.*b", &["a", "xxxxxxxx", "b"]),
            [false, false, true]
        );
    }

    #[test]
    fn the_end_of_the_text_so_far_counts_as_the_end() {
        // `$` and `\b` at the current end, as `Regex::find` sees them.
        assert_eq!(agrees(r"abc$", &["ab", "c", "d"]), [false, true, false]);
        assert_eq!(agrees(r"\bend\b", &["the en", "d"]), [false, true]);
    }

    #[test]
    fn a_pattern_anchored_at_the_start_dies_once_past_it() {
        let re = regex("^PROMPT");
        let mut m = Matcher::new(&re);
        assert!(!m.feed(b"other\n"));
        assert!(!m.feed(b"PROMPT"), "only at the very start");
        assert_eq!(agrees("^PROMPT", &["PROM", "PT"]), [false, true]);
    }

    #[test]
    fn unicode_word_boundaries_over_non_ascii_fall_back_to_looking_every_time() {
        let re = regex(r"\bcaf\u{e9}\b");
        let mut m = Matcher::new(&re);
        assert!(!m.feed(b"the "), "ASCII so far: followed");
        assert!(m.feed("caf\u{e9}".as_bytes()));
        assert!(!m.is_incremental(), "gave up on the non-ASCII byte");
        assert!(m.feed(b"anything"), "maybe, from now on");
        agrees(r"\w+\u{e9}\b", &["x", "\u{e9}t\u{e9}", " "]);
    }

    #[test]
    fn case_flags_classes_and_invalid_utf8_are_as_the_regex_crate_has_them() {
        assert_eq!(agrees("(?i)ERROR", &["an err", "or"]), [false, true]);
        assert_eq!(agrees(r"[0-9]{3}", &["12", "3"]), [false, true]);
        assert_eq!(agrees(r"(?-u:\xff)", &["a"]), [false]);
        let re = regex(r"(?-u:\xff)");
        let mut m = Matcher::new(&re);
        assert!(m.feed(b"\xfe\xff"));
    }
}
