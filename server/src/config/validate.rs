//! Checks a `vtrpc.toml` against its schema and reports every problem with
//! its line, not just the first (serde stops at one).

use std::collections::HashSet;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What a key holds.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Count,
    Text,
    Name,
    SocketAddr,
    Url,
    Duration,
}

const HUB: &[(&str, Kind)] = &[
    ("listen", Kind::SocketAddr),
    ("socket", Kind::Text),
    ("name", Kind::Name),
    ("local_spoke", Kind::Bool),
    ("listen_token_file", Kind::Text),
];
const SPOKE: &[(&str, Kind)] = &[
    ("name", Kind::Name),
    ("socket", Kind::Text),
    ("listen", Kind::SocketAddr),
    ("listen_token_file", Kind::Text),
    ("tls_cert", Kind::Text),
    ("tls_key", Kind::Text),
    ("scrollback", Kind::Count),
    ("log_bytes", Kind::Count),
    ("idle_after", Kind::Duration),
    ("parse_backlog", Kind::Count),
];
const FEDERATION: &[(&str, Kind)] = &[("hub", Kind::Url), ("token_file", Kind::Text)];
const FEDERATED_SPOKE: &[(&str, Kind)] = &[
    ("name", Kind::Name),
    ("address", Kind::Url),
    ("token_file", Kind::Text),
    ("ca_file", Kind::Text),
];

/// Every problem in `text`, in file order; empty if it is valid.
pub fn check(text: &str) -> Vec<Problem> {
    let mut problems = Problems {
        newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        found: vec![],
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    for error in syntax {
        let at = error.span().map_or(0, |s| s.start);
        problems.add(at..at, error.message().trim().to_owned());
    }
    for (key, value) in root.get_ref() {
        match key.get_ref().as_ref() {
            "hub" => drop(problems.table("hub", value, HUB)),
            "spoke" => drop(problems.table("spoke", value, SPOKE)),
            "federation" => problems.federation(value),
            other => problems.add(
                key.span(),
                format!("unknown section `{other}` (known: hub, spoke, federation)"),
            ),
        }
    }
    problems.found.sort_by_key(|p| p.line);
    problems.found
}

struct Problems {
    /// Where each line ends. Looked up, not counted per problem: counting
    /// made a file of thousands of problems quadratic (a 64 KiB file of
    /// `[[federation.spokes]]` took 200 ms).
    newlines: Vec<usize>,
    found: Vec<Problem>,
}

impl Problems {
    fn add(&mut self, span: Range<usize>, message: String) {
        let line = self.newlines.partition_point(|&i| i < span.start) + 1;
        self.found.push(Problem { line, message });
    }

    /// A table whose keys all come from `schema`; returns it for more checks.
    fn table<'a, 'i>(
        &mut self,
        path: &str,
        value: &'a Spanned<DeValue<'i>>,
        schema: &[(&str, Kind)],
    ) -> Option<&'a DeTable<'i>> {
        let DeValue::Table(table) = value.get_ref() else {
            self.add(value.span(), format!("`{path}` must be a table"));
            return None;
        };
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            match schema.iter().find(|(known, _)| *known == name) {
                Some((_, kind)) => self.value(&format!("{path}.{name}"), value, *kind),
                None if path == "federation" && name == "spokes" => {}
                None => {
                    let known: Vec<&str> = schema.iter().map(|(k, _)| *k).collect();
                    self.add(
                        key.span(),
                        format!(
                            "unknown key `{name}` in [{path}] (known: {})",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        Some(table)
    }

    fn federation(&mut self, value: &Spanned<DeValue<'_>>) {
        let Some(table) = self.table("federation", value, FEDERATION) else {
            return;
        };
        let Some((_, spokes)) = table.iter().find(|(k, _)| k.get_ref() == "spokes") else {
            return;
        };
        let DeValue::Array(items) = spokes.get_ref() else {
            self.add(
                spokes.span(),
                "`federation.spokes` must be an array of tables ([[federation.spokes]])".into(),
            );
            return;
        };
        let mut names = HashSet::new();
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("federation.spokes[{i}]");
            let Some(spoke) = self.table(&path, item, FEDERATED_SPOKE) else {
                continue;
            };
            for required in ["name", "address"] {
                if !spoke.iter().any(|(k, _)| k.get_ref() == required) {
                    self.add(item.span(), format!("{path}: `{required}` is required"));
                }
            }
            if let Some((_, name)) = spoke.iter().find(|(k, _)| k.get_ref() == "name")
                && let Some(name_text) = name.get_ref().as_str()
                && !names.insert(name_text.to_owned())
            {
                self.add(
                    name.span(),
                    format!("{path}: spoke name `{name_text}` is used twice"),
                );
            }
        }
    }

    fn value(&mut self, path: &str, value: &Spanned<DeValue<'_>>, kind: Kind) {
        if let Err(why) = check_value(value.get_ref(), kind) {
            self.add(value.span(), format!("`{path}`: {why}"));
        }
    }
}

fn check_value(value: &DeValue<'_>, kind: Kind) -> Result<(), String> {
    match (kind, value) {
        (Kind::Bool, DeValue::Boolean(_)) => Ok(()),
        (Kind::Bool, _) => Err("expected true or false".into()),
        // In the integer's own radix (`0x`, `0o`, `0b` give only digits):
        // read as decimal, hex digits passed this check and then failed to
        // load as a `usize`.
        (Kind::Count, DeValue::Integer(n)) => {
            u64::from_str_radix(&n.as_str().replace('_', ""), n.radix())
                .map(|_| ())
                .map_err(|_| format!("expected a non-negative integer, got {}", n.as_str()))
        }
        (Kind::Count, _) => Err("expected a non-negative integer".into()),
        (_, DeValue::String(s)) => check_text(s, kind),
        _ => Err("expected a string".into()),
    }
}

fn check_text(s: &str, kind: Kind) -> Result<(), String> {
    match kind {
        Kind::Text => Ok(()),
        Kind::Name => vtr_shared::address::validate_name(s).map_err(|e| e.to_string()),
        Kind::SocketAddr => s
            .parse::<std::net::SocketAddr>()
            .map(|_| ())
            .map_err(|_| format!("{s:?} is not an address like 127.0.0.1:4620")),
        Kind::Url => match s.split_once("://") {
            Some(("http" | "https", rest)) if !rest.is_empty() => Ok(()),
            _ => Err(format!(
                "{s:?} is not a URL like https://host:port (http or https)"
            )),
        },
        Kind::Duration => super::duration::parse(s).map(|_| ()),
        Kind::Bool | Kind::Count => Err("expected a string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_file_has_no_problems() {
        let text = r#"
[hub]
listen = "127.0.0.1:4620"
local_spoke = true

[spoke]
scrollback = 5_000
idle_after = "2s"

[[federation.spokes]]
name = "build-a"
address = "https://build-a.example:8443"
token_file = "~/.config/vtr/build-a.token"
"#;
        assert_eq!(check(text), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = r#"[hub]
listen = "nowhere"
colour = "red"

[spoke]
scrollback = -1
idle_after = "soon"

[[federation.spokes]]
name = "a"
address = "ftp://x"

[[federation.spokes]]
name = "a"

[extra]
"#;
        let found: Vec<String> = check(text).iter().map(ToString::to_string).collect();
        let expect = [
            "line 2: `hub.listen`",
            "line 3: unknown key `colour` in [hub]",
            "line 6: `spoke.scrollback`",
            "line 7: `spoke.idle_after`",
            "line 11: `federation.spokes[0].address`",
            "federation.spokes[1]: `address` is required",
            "spoke name `a` is used twice",
            "unknown section `extra`",
        ];
        for e in expect {
            assert!(
                found.iter().any(|f| f.contains(e)),
                "{e:?} missing from {found:#?}"
            );
        }
        assert_eq!(found.len(), expect.len(), "{found:#?}");
    }

    #[test]
    fn counts_are_read_in_their_radix() {
        assert_eq!(
            check("[spoke]\nlog_bytes = 0x100000\nscrollback = 0o17\n"),
            vec![]
        );
        // Valid as decimal digits, too big in hex: `vtr hub` would not load it.
        let found = check("[spoke]\nparse_backlog = 0x993874247995768469\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("non-negative integer"),
            "{found:?}"
        );
        assert!(crate::config::parse("[spoke]\nlog_bytes = 0xff\n").is_ok());
    }

    #[test]
    fn many_problems_take_linear_time() {
        let text = "[[federation.spokes]]\n".repeat(3000);
        let start = std::time::Instant::now();
        let found = check(&text);
        // Name and address missing from each.
        assert_eq!(found.len(), 6000);
        assert_eq!(found.last().map(|p| p.line), Some(3000));
        assert!(
            start.elapsed() < std::time::Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let found = check("[hub]\nlisten = \n");
        assert!(!found.is_empty());
        assert!(found.iter().all(|p| p.line == 2), "{found:?}");
        assert!(found[0].message.contains("quoted"), "{found:?}");
    }
}
