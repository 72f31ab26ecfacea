//! `vtr mcp` over stdio with a grant's token (`--addr`, `--token-file`),
//! driven by the official MCP Python SDK: held to the grant like `/mcp`.

use serde_json::{Value, json};

use crate::grants::{audit, grant, hub_with_far_sessions, row, token_file};
use crate::harness::*;
use crate::mcp::{answers, client as mcp_client};

/// The SDK's report of `script` through `vtr mcp` at the hub's port, with
/// the token in `file`.
fn stdio(hub: &Hub, file: &str, script: &Value) -> Result<Value, String> {
    let addr = format!("--arg={}", hub.url());
    let token = format!("--arg={file}");
    let vtr = env!("CARGO_BIN_EXE_vtr");
    mcp_client(
        &[
            "stdio",
            "--command",
            vtr,
            "--arg",
            "mcp",
            "--arg=--addr",
            &addr,
            "--arg=--token-file",
            &token,
        ],
        script,
    )
}

#[tokio::test]
async fn vtr_mcp_over_stdio_with_a_grants_token_is_held_to_the_grant() {
    let (hub, _spoke) = hub_with_far_sessions().await;
    let (id, token) = grant(&hub, &["--session", "far:work", "--ttl", "1h"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = token_file(dir.path(), "grant", &token);
    let report = stdio(
        &hub,
        &file,
        &json!([
            {"tool": "list_spokes", "args": {}},
            {"tool": "list_sessions", "args": {}},
            {"tool": "read_screen", "args": {"session": "far:work"}},
            {"tool": "send_text", "args": {"session": "far:work", "text": "x"}},
            {"tool": "read_screen", "args": {"session": "far:other"}},
        ]),
    )
    .expect("the client");
    let a = answers(&report);
    let spokes: Vec<&str> = a[0].1["spokes"]
        .as_array()
        .expect("spokes")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(spokes, ["far"], "the spokes of what it reaches: {}", a[0].1);
    let sessions = a[1].1["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{}", a[1].1);
    assert!(!a[2].0, "{}", a[2].1);
    for i in [3, 4] {
        assert!(a[i].0, "call {i} must be refused: {}", a[i].1);
        assert!(
            a[i].1.as_str().is_some_and(|m| m.contains(&id)),
            "call {i}: {}",
            a[i].1
        );
    }
    let rows = audit(&hub, Some(&id));
    assert_eq!(row(&rows, "SendText", "denied")["via"], "grpc");

    // A control grant types and runs through the same bridge (the hub's
    // input stream is not a grant's: it falls back to plain calls).
    let (_, control) = grant(
        &hub,
        &["--session", "far:work", "--scope", "control", "--ttl", "1h"],
    );
    let file = token_file(dir.path(), "control", &control);
    let report = stdio(&hub, &file,
        &json!([
            {"tool": "run", "args": {"session": "far:work", "command": "echo via-$((1 + 1))"}},
            {"tool": "send_text", "args": {"session": "far:work", "text": "echo typed-$((2 + 2))", "submit": true}},
            {"tool": "wait_for", "args": {"session": "far:work", "regex": "typed-4", "timeout_ms": 10000}},
        ]),
    )
    .expect("the client");
    let a = answers(&report);
    assert_eq!(a[0].1["output"], "via-2\n", "{}", a[0].1);
    assert!(!a[1].0, "{}", a[1].1);
    assert_eq!(a[2].1["outcome"], "matched", "{}", a[2].1);
}
