//! Scoped grants, tried as an agent holding one would: through clients we
//! did not write (the official MCP Python SDK at `/mcp`, Python's grpcio on
//! the gRPC port), against a hub with a tunnelled spoke. An observe grant
//! reads and cannot type; a grant for one session sees and touches no
//! other; a spoke grant may start sessions there; an expired or revoked
//! grant is refused at the door; a grant's token opens no page, socket or
//! other service; a revoked grant's stream ends. Every call made under a
//! grant is in `vtr audit`.

use serde_json::{Value, json};
use vtr::transport::grpc::auth::Token;
use vtr::transport::grpc::client::{self, Target};
use vtr_shared::proto as pb;

use crate::harness::*;
use crate::interop::{grpcio, tcp_target};
use crate::mcp::{answers, client as mcp_client};

/// A grant made with `vtr grant create ARGS --json`: its id and token.
pub(crate) fn grant(hub: &Hub, args: &[&str]) -> (String, String) {
    let mut all = vec!["--json", "grant", "create"];
    all.extend(args);
    let out = hub.cli(&all);
    assert!(
        out.status.success(),
        "vtr grant create {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).expect("grant JSON");
    let token = made["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("vtrg_"), "{made}");
    (made["id"].as_str().expect("id").to_owned(), token)
}

/// The token in a file, as agent hosts and the test clients read it.
pub(crate) fn token_file(dir: &std::path::Path, name: &str, token: &str) -> String {
    let path = dir.join(name);
    write_token(&path, token);
    path.display().to_string()
}

/// `vtr audit --json` rows (newest first), of `grant` only if given.
pub(crate) fn audit(hub: &Hub, grant: Option<&str>) -> Vec<Value> {
    let mut args = vec!["--json", "audit"];
    if let Some(grant) = grant {
        args.extend(["--grant", grant]);
    }
    let out = hub.cli(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("audit JSON")
}

pub(crate) fn row<'a>(rows: &'a [Value], call: &str, outcome: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["call"] == call && r["outcome"] == outcome)
        .unwrap_or_else(|| panic!("no {outcome} row for {call}: {rows:#?}"))
}

fn tool_names(report: &Value) -> Vec<String> {
    report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

pub(crate) async fn hub_with_far_sessions() -> (Hub, Spoke) {
    let hub = Hub::start(&[], &[]);
    let spoke = hub.tunnelled_spoke("far").await;
    let mut c = hub.client().await;
    spawn(&mut c, "far:work", "bash", &[]).await;
    spawn(&mut c, "far:other", "/bin/sh", &[]).await;
    (hub, spoke)
}

#[tokio::test]
async fn an_observe_grant_reads_its_session_and_nothing_else_through_the_python_sdk() {
    let (hub, _spoke) = hub_with_far_sessions().await;
    let (id, token) = grant(
        &hub,
        &["--session", "far:work", "--ttl", "1h", "--note", "watcher"],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = token_file(dir.path(), "grant", &token);
    let url = format!("{}/mcp", hub.url());
    let report = mcp_client(
        &["http", &url, "--token", &file],
        &json!([
            {"tool": "list_sessions", "args": {}},
            {"tool": "read_screen", "args": {"session": "far:work"}},
            {"tool": "send_text", "args": {"session": "far:work", "text": "touch /tmp/x", "submit": true}},
            {"tool": "read_screen", "args": {"session": "far:other"}},
            {"tool": "run", "args": {"session": "far:work", "command": "true"}},
            {"tool": "list_spokes", "args": {}},
            {"tool": "read_screen", "args": {"session": "far:work", "bogus": 1}},
        ]),
    )
    .expect("the client");
    // Only the reading tools are offered to a grant that only observes.
    let names = tool_names(&report);
    assert!(names.contains(&"read_screen".to_owned()), "{names:?}");
    for writing in ["send_text", "send_keys", "run", "spawn", "kill", "remove"] {
        assert!(!names.iter().any(|n| n == writing), "{writing}: {names:?}");
    }
    let a = answers(&report);
    assert!(!a[0].0, "{}", a[0].1);
    let listed: Vec<&str> = a[0].1["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["address"].as_str())
        .collect();
    assert_eq!(listed, ["far:work"], "only the granted session is listed");
    assert!(!a[1].0, "reading is allowed: {}", a[1].1);
    for (i, what) in [(2, "only observe"), (3, "not among"), (4, "only observe")] {
        assert!(a[i].0, "call {i} must be refused: {}", a[i].1);
        let message = a[i].1.as_str().unwrap_or_default();
        assert!(message.contains(what), "call {i}: {message}");
        assert!(message.contains(&id), "names the grant: {message}");
    }
    let spokes: Vec<&str> = a[5].1["spokes"]
        .as_array()
        .expect("spokes")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(spokes, ["far"], "only the spoke it reaches");

    // Every call is in the audit log, refusals with their reason.
    let rows = audit(&hub, Some(&id));
    let denied = row(&rows, "send_text", "denied");
    assert_eq!(denied["via"], "mcp");
    assert_eq!(denied["action"], "send");
    assert_eq!(denied["session"], "far:work");
    assert!(
        denied["detail"]
            .as_str()
            .is_some_and(|d| d.contains("observe")),
        "{denied}"
    );
    let read = row(&rows, "read_screen", "ok");
    assert_eq!(read["action"], "screen");
    assert!(
        read["session"]
            .as_str()
            .is_some_and(|s| s.starts_with("far:"))
    );
    assert_eq!(row(&rows, "read_screen", "denied")["session"], "far:other");
    assert_eq!(row(&rows, "list_spokes", "ok")["action"], "spokes");
    // A call refused for its arguments, before it acted: recorded, with why.
    let unacted = row(&rows, "read_screen", "error");
    assert_eq!(unacted["action"], "none");
    assert!(
        unacted["detail"]
            .as_str()
            .is_some_and(|d| d.contains("bogus")),
        "{unacted}"
    );
    assert!(rows.iter().all(|r| r["grant"] == id.as_str()));
}

#[tokio::test]
async fn a_control_grant_runs_on_its_session_and_a_spoke_grant_starts_sessions_there() {
    let (hub, _spoke) = hub_with_far_sessions().await;
    let (_, session_token) = grant(
        &hub,
        &[
            "--session",
            "far:work",
            "--scope",
            "control",
            "--ttl",
            "10m",
        ],
    );
    let (spoke_id, spoke_token) = grant(
        &hub,
        &["--spoke", "far", "--scope", "control", "--ttl", "10m"],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("{}/mcp", hub.url());
    let file = token_file(dir.path(), "session", &session_token);
    let report = mcp_client(
        &["http", &url, "--token", &file],
        &json!([
            {"tool": "run", "args": {"session": "far:work", "command": "echo granted-$((6 * 7))"}},
            {"tool": "send_text", "args": {"session": "far:other", "text": "echo no", "submit": true}},
            {"tool": "spawn", "args": {"name": "far:mine", "command": "bash"}},
        ]),
    )
    .expect("the client");
    let a = answers(&report);
    assert!(!a[0].0, "{}", a[0].1);
    assert_eq!(a[0].1["exit_code"], 0);
    assert_eq!(a[0].1["output"], "granted-42\n");
    assert!(a[1].0 && a[1].1.as_str().is_some_and(|m| m.contains("not among")));
    assert!(
        a[2].0 && a[2].1.as_str().is_some_and(|m| m.contains("may not start")),
        "{}",
        a[2].1
    );

    let file = token_file(dir.path(), "spoke", &spoke_token);
    let report = mcp_client(
        &["http", &url, "--token", &file],
        &json!([
            {"tool": "spawn", "args": {"name": "far:mine", "command": "bash"}},
            {"tool": "run", "args": {"session": "far:mine", "command": "(exit 3)"}},
            {"tool": "spawn", "args": {"name": "hub:elsewhere", "command": "bash"}},
            {"tool": "read_screen", "args": {"session": "hub:elsewhere"}},
        ]),
    )
    .expect("the client");
    let a = answers(&report);
    assert!(!a[0].0, "{}", a[0].1);
    assert_eq!(a[0].1["address"], "far:mine");
    assert_eq!(a[1].1["exit_code"], 3, "{}", a[1].1);
    assert!(
        a[2].0
            && a[2]
                .1
                .as_str()
                .is_some_and(|m| m.contains("on spoke far only")),
        "{}",
        a[2].1
    );
    assert!(a[3].0, "{}", a[3].1);
    let rows = audit(&hub, Some(&spoke_id));
    assert_eq!(
        row(&rows, "spawn", "ok")["session"]
            .as_str()
            .map(|s| s.starts_with("far:")),
        Some(true)
    );
    assert_eq!(row(&rows, "run", "ok")["action"], "run");
    assert_eq!(row(&rows, "spawn", "denied")["session"], "hub:new");
}

#[tokio::test]
async fn expired_and_revoked_grants_are_refused_at_the_door() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "work", "/bin/sh", &[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("{}/mcp", hub.url());
    let addr = tcp_target(&hub.url());
    let script = json!([{"tool": "read_screen", "args": {"session": "hub:work"}}]);

    let (revoked_id, revoked) = grant(&hub, &["--session", "hub:work", "--ttl", "1h"]);
    let revoked_file = token_file(dir.path(), "revoked", &revoked);
    let report = mcp_client(&["http", &url, "--token", &revoked_file], &script).expect("works");
    assert!(!answers(&report)[0].0);
    let out = hub.cli(&["grant", "revoke", &revoked_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = mcp_client(&["http", &url, "--token", &revoked_file], &script)
        .expect_err("a revoked grant");
    assert!(refused.contains("401"), "{refused}");
    // Its holder knew the secret: refusing it again and again is not
    // guessing, and does not hold up the owner's token from the same
    // address.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let post = |bearer: String| {
        let addr = addr.clone();
        async move {
            http(
                &addr,
                "POST",
                "/mcp",
                &[
                    ("Authorization", bearer.as_str()),
                    ("Content-Type", "application/json"),
                    ("Accept", "application/json, text/event-stream"),
                ],
                body,
            )
            .await
        }
    };
    for _ in 0..8 {
        assert_eq!(post(format!("Bearer {revoked}")).await.status, 401);
    }
    assert_eq!(post(format!("Bearer {}", hub.token())).await.status, 200);
    let probe = |file: &str| grpcio(&addr, &["--probe", "--token", file]);
    // Health is not the grant's to call at all; a revoked grant does not
    // even get that far.
    let status = probe(&revoked_file);
    assert_eq!(status["health_code"], "UNAUTHENTICATED", "{status}");
    assert!(
        status["details"]
            .as_str()
            .is_some_and(|d| d.contains("revoked")),
        "{status}"
    );

    let (_, short) = grant(&hub, &["--session", "hub:work", "--ttl", "1s"]);
    let short_file = token_file(dir.path(), "short", &short);
    let bearer = format!("Bearer {short}");
    let expired = wait_until("the grant to expire", || async {
        let r = http(
            &addr,
            "POST",
            "/mcp",
            &[
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ],
            body,
        )
        .await;
        (r.status == 401).then_some(r)
    })
    .await;
    assert!(expired.body.contains("expired"), "{}", expired.body);
    assert_eq!(
        expired.header("www-authenticate"),
        Some("Bearer realm=\"vtr\", error=\"invalid_token\"")
    );
    let refused =
        mcp_client(&["http", &url, "--token", &short_file], &script).expect_err("expired");
    assert!(refused.contains("401"), "{refused}");

    // Listed with their state; the token is never shown again.
    let out = hub.cli(&["--json", "grant", "ls"]);
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("ls JSON");
    let mine = listed
        .iter()
        .find(|g| g["id"] == revoked_id.as_str())
        .expect("the revoked grant is listed until it expires");
    assert_eq!(mine["state"], "revoked");
    assert!(
        listed.iter().all(|g| g.get("token").is_none()),
        "{listed:?}"
    );
}

#[tokio::test]
async fn grpcio_under_a_grant_gets_its_session_only_and_no_other_service() {
    let (hub, _spoke) = hub_with_far_sessions().await;
    let (id, token) = grant(&hub, &["--session", "far:work", "--ttl", "1h"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = token_file(dir.path(), "grant", &token);
    let calls = json!([
        {"service": "vtr.v1.Vtr", "method": "List"},
        {"service": "vtr.v1.Vtr", "method": "GetScreen", "fields": {"session": "far:work"}},
        {"service": "vtr.v1.Vtr", "method": "SendText", "fields": {"session": "far:work", "text": "x"}},
        {"service": "vtr.v1.Vtr", "method": "GetScreen", "fields": {"session": "far:other"}},
        {"service": "vtr.v1.Vtr", "method": "GetScreen", "fields": {"session": "far:nosuch"}},
        {"service": "vtr.v1.Grants", "method": "ListGrants"},
        // The hub's own spoke, which it does not touch, and a spoke that
        // does not exist: refused alike, naming no spokes.
        {"service": "vtr.v1.Vtr", "method": "GetScreen", "fields": {"session": "hub:work"}},
        {"service": "vtr.v1.Vtr", "method": "GetScreen", "fields": {"session": "nowhere:x"}},
        {"service": "vtr.v1.Vtr", "method": "GetScreen", "fields": {"session": "other"}},
        // Refused for its arguments before it acted on anything.
        {"service": "vtr.v1.Vtr", "method": "WaitForIdle",
         "fields": {"session": "far:work", "idle_ms": 999_999_999_999_u64}},
        // A wait its caller gives up on is recorded as cancelled.
        {"service": "vtr.v1.Vtr", "method": "WaitFor",
         "fields": {"session": "far:work", "pattern": "never-printed", "timeout_ms": 20000},
         "deadline_s": 0.5},
        {"service": "vtr.v1.Shares", "method": "ListShares"},
        {"service": "vtr.v1.Federation", "method": "ListSpokes"},
    ]);
    let hub_token = hub.token_file().display().to_string();
    let report = grpcio(
        &tcp_target(&hub.url()),
        &[
            "--token",
            &hub_token,
            "--as",
            &file,
            "--calls",
            &calls.to_string(),
        ],
    );
    let calls = report["calls"].as_array().expect("calls");
    let codes: Vec<&str> = calls.iter().filter_map(|c| c["code"].as_str()).collect();
    assert_eq!(
        codes,
        [
            "OK",
            "OK",
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
            // Whether another session exists is not the grant's business.
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
            "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED",
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
        ],
        "{report}"
    );
    for (i, call) in calls.iter().enumerate().take(9).skip(6) {
        let details = call["details"].as_str().unwrap_or_default();
        assert!(details.contains("not among"), "call {i}: {details}");
        assert!(
            !details.contains("spokes:"),
            "call {i} names spokes: {details}"
        );
    }
    let listed: Vec<&str> = calls[0]["answer"]["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(listed, ["work"]);
    assert!(
        calls[5]["details"]
            .as_str()
            .is_some_and(|d| d.contains("opens only /mcp and the vtr.v1.Vtr service")),
        "{report}"
    );
    let rows = audit(&hub, Some(&id));
    let denied = row(&rows, "SendText", "denied");
    assert_eq!(denied["via"], "grpc");
    assert_eq!(row(&rows, "GetScreen", "ok")["session"], "far:work");
    // Knocking on another service is recorded at the door.
    let door = row(&rows, "/vtr.v1.Grants/ListGrants", "denied");
    assert_eq!(door["action"], "door");
    // The wait its caller gave up on: recorded, as cancelled.
    let rows = wait_until("the cancelled wait's row", || async {
        let rows = audit(&hub, Some(&id));
        rows.iter().any(|r| r["call"] == "WaitFor").then_some(rows)
    })
    .await;
    let cancelled = row(&rows, "WaitFor", "cancelled");
    assert_eq!(row(&rows, "WaitForIdle", "error")["action"], "none");
    assert_eq!(cancelled["session"], "far:work");
    assert!(
        cancelled["detail"]
            .as_str()
            .is_some_and(|d| d.contains("went away"))
    );
}

#[tokio::test]
async fn a_grants_token_opens_no_page_or_socket_and_its_streams_end_when_revoked() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "work", "/bin/sh", &[]).await;
    let (id, token) = grant(&hub, &["--session", "hub:work", "--ttl", "1h"]);
    let addr = tcp_target(&hub.url());
    let bearer = format!("Bearer {token}");
    for path in ["/", "/s/hub:work", "/metrics", "/ws/dashboard"] {
        let r = http(
            &addr,
            "GET",
            path,
            &[("Authorization", bearer.as_str())],
            "",
        )
        .await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    // The grant's token cannot sign a browser in either.
    let form = format!("token={token}&next=/");
    let r = http(
        &addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    )
    .await;
    assert!(
        r.header("location").is_some_and(|l| l.contains("failed")),
        "{}",
        r.head
    );

    // Streams opened under the grant end when it is revoked.
    let target = Target::Tcp {
        url: hub.url(),
        token: Some(Token::new(&token).expect("a grant token is a token")),
        ca_file: None,
    };
    let mut granted = client::connect(&target).await.expect("connect");
    let mut stream = granted
        .subscribe(pb::SubscribeRequest {
            session: "hub:work".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe under the grant")
        .into_inner();
    next_event(&mut stream).await;
    let (_input, mut attached) =
        crate::attach::attach(&mut granted, crate::attach::open("hub:work", None))
            .await
            .expect("attach under the grant");
    next_event(&mut attached).await;
    let out = hub.cli(&["grant", "revoke", &id]);
    assert!(out.status.success());
    // Each ends saying why, though its input side is still open.
    ends_revoked(&mut stream).await;
    ends_revoked(&mut attached).await;
    let status = granted.list(pb::ListRequest {}).await.expect_err("revoked");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status}");
    assert!(status.message().contains("revoked"), "{status}");
}

/// Reads `stream` to its end, which must be `UNAUTHENTICATED`, "revoked".
async fn ends_revoked<T: std::fmt::Debug>(stream: &mut tonic::Streaming<T>) {
    let ended = within("the stream to end", async {
        loop {
            match tokio_stream::StreamExt::next(stream).await {
                Some(Ok(_)) => continue,
                other => break other,
            }
        }
    })
    .await;
    let status = match ended {
        Some(Err(status)) => status,
        other => panic!("the stream ended without a reason: {other:?}"),
    };
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status}");
    assert!(status.message().contains("revoked"), "{status}");
}

#[test]
fn vtr_grant_explains_bad_input() {
    let hub = Hub::start(&[], &[]);
    let out = hub.cli(&["grant", "create", "--ttl", "1h"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--session") && err.contains("--spoke"),
        "{err}"
    );
    let out = hub.cli(&["grant", "create", "--spoke", "nowhere"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no spoke named \"nowhere\"") && err.contains("hub"),
        "{err}"
    );
    let out = hub.cli(&["grant", "create", "--session", "hub:nosuch"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not found"), "{err}");
    let out = hub.cli(&["grant", "create", "--spoke", "hub", "--ttl", "31d"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("30 days"), "{err}");
    let out = hub.cli(&["grant", "create", "--spoke", "hub", "--scope", "admin"]);
    assert_eq!(out.status.code(), Some(2));
    let out = hub.cli(&["grant", "ls"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no grants\n");
    let out = hub.cli(&["audit"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no calls under grants\n"
    );

    let spoke = Spoke::start();
    let out = spoke.cli(&["grant", "ls"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is a spoke, not a hub"), "{err}");
}
