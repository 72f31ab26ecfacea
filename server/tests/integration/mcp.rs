//! The MCP endpoint driven by a client we did not write: the official MCP
//! Python SDK (PyPI `mcp`, in the venv .ci/setup makes), over Streamable
//! HTTP at a hub's `/mcp` with its token, and over stdio through `vtr mcp`.
//! Tools are listed with their hints; a command runs on a tunnelled spoke
//! with its exit code; waits, screens and errors come back as the tools
//! say. Without the token, or from another site's page, `/mcp` refuses.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::*;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/mcp_client.py");

fn python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/mcp-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run .ci/setup (it installs the MCP Python SDK there)",
        python.display()
    );
    python
}

/// Runs the SDK client with `args` and `script`; its report, or its
/// stderr when it failed.
pub(crate) fn client(args: &[&str], script: &Value) -> Result<Value, String> {
    let out = Command::new(python())
        .arg(CLIENT)
        .args(args)
        .arg(script.to_string())
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .output()
        .expect("run the MCP client");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("the client's JSON report"))
}

/// The text of each call, parsed as JSON when it is.
pub(crate) fn answers(report: &Value) -> Vec<(bool, Value)> {
    report["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| {
            let text = c["text"].as_str().unwrap_or_default();
            let value = serde_json::from_str(text).unwrap_or_else(|_| json!(text));
            (c["is_error"] == true, value)
        })
        .collect()
}

fn hints(report: &Value, tool: &str) -> Value {
    report["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == tool))
        .map(|t| t["annotations"].clone())
        .unwrap_or_else(|| panic!("no tool {tool}: {report}"))
}

fn script(spoke: &str) -> Value {
    let s = format!("{spoke}:agent");
    json!([
        {"tool": "spawn", "args": {"name": s, "command": "bash"}},
        {"tool": "run", "args": {"session": s, "command": "echo from-$((40 + 2)); (exit 4)"}},
        {"tool": "send_text", "args": {"session": s, "text": "printf 'ready\\n'", "submit": true}},
        {"tool": "wait_for", "args": {"session": s, "regex": "ready\\n", "timeout_ms": 10000}},
        {"tool": "read_screen", "args": {"session": s}},
        {"tool": "list_commands", "args": {"session": s}},
        {"tool": "list_spokes", "args": {}},
        {"tool": "read_screen", "args": {"session": format!("{spoke}:nosuch")}},
        {"tool": "run", "args": {"session": s, "command": "sleep 5", "timeout_ms": 200}},
        {"tool": "kill", "args": {"session": s, "signal": "KILL"}},
        {"tool": "read_output", "args": {"session": s, "since_offset": 0, "max_bytes": 64}},
        {"tool": "read_screen", "args": {"session": s, "cells": true}},
    ])
}

fn assert_session_tools(report: &Value, spoke: &str) {
    assert_eq!(report["server"]["name"], "vtr");
    let names: Vec<&str> = report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "grep",
            "kill",
            "list_commands",
            "list_sessions",
            "list_spokes",
            "read_output",
            "read_screen",
            "remove",
            "run",
            "send_keys",
            "send_text",
            "spawn",
            "wait_for",
            "wait_idle",
        ]
    );
    assert_eq!(hints(report, "read_screen")["readOnlyHint"], true);
    assert_eq!(hints(report, "kill")["destructiveHint"], true);
    assert_eq!(hints(report, "run")["readOnlyHint"], false);

    let a = answers(report);
    let ok = |i: usize| {
        assert!(!a[i].0, "call {i} failed: {}", a[i].1);
        &a[i].1
    };
    assert_eq!(ok(0)["address"], format!("{spoke}:agent"));
    let run = ok(1);
    assert_eq!(run["exit_code"], 4, "{run}");
    assert_eq!(run["output"], "from-42\n");
    assert_eq!(run["finished"], true);
    assert_eq!(ok(3)["outcome"], "matched");
    let screen = ok(4)["text"].as_str().expect("screen text").to_owned();
    assert!(
        screen.contains("from-42") && screen.contains("\nready"),
        "{screen}"
    );
    let commands = &ok(5)["commands"];
    assert_eq!(commands[0]["command"], "echo from-$((40 + 2)); (exit 4)");
    assert_eq!(commands[0]["exit_code"], 4);
    assert!(
        ok(6)["spokes"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == spoke)),
        "{}",
        a[6].1
    );
    // A tool error, with a message a person can act on.
    assert!(a[7].0, "{}", a[7].1);
    assert!(
        a[7].1
            .as_str()
            .is_some_and(|m| m.contains("\"nosuch\" not found")),
        "{}",
        a[7].1
    );
    let slow = ok(8);
    assert_eq!(slow["finished"], false);
    assert!(
        slow["reason"]
            .as_str()
            .is_some_and(|r| r.contains("still running")),
        "{slow}"
    );
    ok(9);
    // Pages of output: the next one starts where this one ended.
    let page = ok(10);
    assert_eq!(page["start_offset"], 0);
    let next = page["next_offset"].as_u64().expect("next offset");
    assert!(next > 0 && next <= 64, "{page}");
    assert_eq!(page["more"], true);
    assert!(
        page["output"]
            .as_str()
            .is_some_and(|o| !o.contains('\u{1b}')),
        "{page}"
    );
    let cells = &ok(11)["cells"];
    assert_eq!(
        cells.as_array().map(Vec::len),
        Some(24),
        "a row per screen row"
    );
    assert_eq!(cells[0].as_array().map(Vec::len), Some(80));
}

#[tokio::test]
async fn the_python_sdk_runs_a_command_on_a_tunnelled_spoke_through_the_hubs_mcp_endpoint() {
    let hub = Hub::start(&[], &[]);
    let _spoke = hub.tunnelled_spoke("far").await;
    let url = format!("{}/mcp", hub.url());
    let token = hub.token_file().display().to_string();
    let report = client(&["http", &url, "--token", &token], &script("far")).expect("the client");
    assert_session_tools(&report, "far");

    // A wrong token: the front door refuses before MCP starts.
    let wrong = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(wrong.path(), "not-the-hubs-token").expect("write");
    let refused = client(
        &["http", &url, "--token", &wrong.path().display().to_string()],
        &json!([]),
    )
    .expect_err("a wrong token");
    assert!(refused.contains("401"), "{refused}");

    // Another site's page cannot post to it, token or not (the browser
    // would attach a signed-in user's cookie).
    let addr = hub.url().trim_start_matches("http://").to_owned();
    let bearer = format!("Bearer {}", hub.token());
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let cross = http(
        &addr,
        "POST",
        "/mcp",
        &[
            ("Origin", "http://evil.example"),
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        body,
    )
    .await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    // No credential: a 401 naming the scheme (not the sign-in page).
    for method in ["GET", "POST"] {
        let none = http(
            &addr,
            method,
            "/mcp",
            &[("Content-Type", "application/json")],
            body,
        )
        .await;
        assert_eq!(none.status, 401, "{method}: {}", none.head);
        assert_eq!(
            none.header("www-authenticate"),
            Some("Bearer realm=\"vtr\"")
        );
    }
}

#[tokio::test]
async fn vtr_mcp_serves_the_same_tools_over_stdio_through_the_hubs_socket() {
    let hub = Hub::start(&[], &[]);
    let vtr = env!("CARGO_BIN_EXE_vtr");
    let socket = format!("--arg={}", hub.socket.display());
    let report = client(
        &[
            "stdio",
            "--command",
            vtr,
            "--arg",
            "mcp",
            "--arg=--socket",
            &socket,
        ],
        &script("hub"),
    )
    .expect("the client");
    assert_session_tools(&report, "hub");
}
