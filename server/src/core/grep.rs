//! Grep over a session's lines (scrollback then screen) with context,
//! bounded in matches and in total bytes while the result is built, so one
//! request cannot make a spoke copy its scrollback many times over.

use super::limits::{GREP_LINE_OVERHEAD, MAX_GREP_RESPONSE_BYTES};
use super::types::{GrepMatch, GrepQuery, GrepResult};

/// Matches of `regex` in `lines`, at most `query.max_matches` and at most
/// `MAX_GREP_RESPONSE_BYTES` of line text (each line also counts
/// `GREP_LINE_OVERHEAD`); `truncated` says either bound cut the result.
pub fn grep_lines(lines: &[String], regex: &regex::bytes::Regex, query: GrepQuery) -> GrepResult {
    grep_within(lines, regex, query, MAX_GREP_RESPONSE_BYTES)
}

fn grep_within(
    lines: &[String],
    regex: &regex::bytes::Regex,
    query: GrepQuery,
    budget: usize,
) -> GrepResult {
    let mut result = GrepResult::default();
    let mut left = budget;
    let max = query.max_matches as usize;
    for (i, line) in lines.iter().enumerate() {
        if !regex.is_match(line.as_bytes()) {
            continue;
        }
        if result.matches.len() == max || !take(&mut left, line) {
            result.truncated = true;
            break;
        }
        let lo = i.saturating_sub(query.before as usize);
        let hi = (i + 1 + query.after as usize).min(lines.len());
        // Nearest context first, so a cut keeps the lines closest to the match.
        let before_len = lines[lo..i]
            .iter()
            .rev()
            .take_while(|l| take(&mut left, l))
            .count();
        let after_len = lines[i + 1..hi]
            .iter()
            .take_while(|l| take(&mut left, l))
            .count();
        result.matches.push(GrepMatch {
            line_number: i as u64,
            line: line.clone(),
            before: lines[i - before_len..i].to_vec(),
            after: lines[i + 1..i + 1 + after_len].to_vec(),
        });
        if before_len < i - lo || after_len < hi - (i + 1) {
            result.truncated = true;
            break;
        }
    }
    result
}

/// Charges `line` to the budget if it fits.
fn take(left: &mut usize, line: &str) -> bool {
    let cost = line.len() + GREP_LINE_OVERHEAD;
    if cost > *left {
        return false;
    }
    *left -= cost;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, width: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{i:05} {}", "x".repeat(width)))
            .collect()
    }

    fn size(r: &GrepResult) -> usize {
        r.matches
            .iter()
            .flat_map(|m| m.before.iter().chain([&m.line]).chain(&m.after))
            .map(|l| l.len() + GREP_LINE_OVERHEAD)
            .sum()
    }

    #[test]
    fn stops_at_the_byte_budget_and_says_so() {
        let all = lines(1000, 100);
        let re = regex::bytes::Regex::new("x").expect("regex");
        let query = GrepQuery {
            before: 50,
            after: 50,
            max_matches: 10_000,
        };
        let r = grep_within(&all, &re, query, 20_000);
        assert!(r.truncated);
        assert!(size(&r) <= 20_000, "{}", size(&r));
        assert!(size(&r) > 19_000, "fills the budget: {}", size(&r));
        // The last match's context was cut, nearest lines kept.
        let last = r.matches.last().expect("a match");
        assert_eq!(last.before.last(), all.get(last.line_number as usize - 1));
    }

    #[test]
    fn within_the_budget_nothing_is_cut() {
        let all = lines(30, 10);
        let re = regex::bytes::Regex::new("^0001[05]").expect("regex");
        let query = GrepQuery {
            before: 2,
            after: 2,
            max_matches: 10,
        };
        let r = grep_within(&all, &re, query, 1 << 20);
        assert!(!r.truncated);
        assert_eq!(r.matches.len(), 2);
        assert_eq!(r.matches[1].line_number, 15);
        assert_eq!(r.matches[1].before, all[13..15].to_vec());
        assert_eq!(r.matches[1].after, all[16..18].to_vec());
    }
}
