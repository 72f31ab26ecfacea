//! The layering the README describes (Architecture), checked on the
//! source: `core` knows no transport, no protocol types and no layer above
//! it; `config` never reaches up into `cli`. A `use` that breaks a rule
//! fails here with its file and line.

use std::path::{Path, PathBuf};

/// Crates that carry a wire protocol, a web stack or storage: transports'
/// and the hub's business, never `core`'s.
const TRANSPORT_CRATES: &[&str] = &[
    "axum",
    "http",
    "hyper",
    "hyper_util",
    "prost",
    "rusqlite",
    "rustls",
    "tokio_rustls",
    "tokio_tungstenite",
    "tonic",
    "tonic_health",
    "tonic_reflection",
    "tower",
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every path a file names (`a::b` sequences outside comments), with its
/// line number.
fn paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("::") {
            let start = rest[..at]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(0, |i| i + 1);
            let end = rest[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(rest.len(), |i| at + i);
            found.push((n + 1, rest[start..end].trim_start_matches("::").to_owned()));
            rest = &rest[end..];
        }
        // `use tonic;`, `use axum::{...}` and the like name the crate first.
        if let Some(used) = code.trim_start().strip_prefix("use ") {
            found.push((n + 1, used.trim_end_matches(';').to_owned()));
        }
    }
    found
}

/// Places in `layer` (a folder of `src`) whose paths match `forbidden`.
fn offences(layer: &str, forbidden: impl Fn(&str) -> bool) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for file in rust_files(&src.join(layer)) {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (line, path) in paths(&text) {
            if forbidden(&path) {
                let shown = file.strip_prefix(&src).unwrap_or(&file).display();
                bad.push(format!("src/{shown}:{line}: {path}"));
            }
        }
    }
    bad
}

fn first_segment(path: &str) -> &str {
    path.split("::").next().unwrap_or("")
}

#[test]
fn core_names_no_transport_protocol_or_higher_layer() {
    let bad = offences("core", |path| {
        let head = first_segment(path);
        TRANSPORT_CRATES.contains(&head)
            || path.starts_with("vtr_shared::proto")
            || path.starts_with("pb::")
            || (head == "crate" && !path.starts_with("crate::core"))
    });
    assert!(
        bad.is_empty(),
        "core reaches outside its layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn config_never_reaches_into_the_cli() {
    let bad = offences("config", |path| {
        path.starts_with("crate::cli") || first_segment(path) == "clap"
    });
    assert!(
        bad.is_empty(),
        "config depends on the CLI:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    // A check that finds nothing because it parses nothing would pass for
    // ever: the parser must find these.
    let found = paths("use tonic::Status;\nlet x = crate::transport::map::f(); // crate::cli\n");
    assert!(
        found
            .iter()
            .any(|(l, p)| *l == 1 && p.starts_with("tonic::Status")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(l, p)| *l == 2 && p == "crate::transport::map::f"),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, p)| p.starts_with("crate::cli")),
        "comments are skipped"
    );
    assert!(!offences("transport", |p| p.starts_with("tonic")).is_empty());
}
