//! Agent grants made in a web pane (`PaneRequest.grant`), at the wire: a
//! WebSocket client on `/ws/pane` of a real hub. The grant reaches the
//! pane's session alone, with the scope and expiry asked, and its token
//! works through gRPC; a bad request gets a notice naming the limit and
//! the pane goes on. (A share-link viewer's request is refused: share.rs.)

use serde_json::Value;
use vtr::transport::grpc::auth::Token;
use vtr::transport::grpc::client::{self, Target};
use vtr_shared::proto as pb;
use vtr_shared::web::{self, pane_event::Event, pane_request::Request};

use crate::harness::ws::{Socket, open, pane_event, send};
use crate::harness::*;

/// What the pane answered a grant request: the grant, or the notice.
async fn answer(socket: &mut Socket) -> Result<pb::GrantInfo, String> {
    within("the grant request's answer", async {
        loop {
            match pane_event(socket).await {
                Event::Granted(made) => return Ok(made),
                Event::Notice(text) => return Err(text),
                Event::Error(e) => panic!("the pane ended: {e}"),
                _ => continue,
            }
        }
    })
    .await
}

fn asked(scope: pb::GrantScope, ttl_seconds: u64, note: &str) -> Request {
    Request::Grant(web::PaneGrant {
        scope: scope as i32,
        ttl_seconds,
        note: note.to_owned(),
    })
}

#[tokio::test]
async fn a_pane_makes_a_grant_for_its_session_alone() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "work", "/bin/sh", &[]).await;
    spawn(&mut c, "other", "/bin/sh", &[]).await;
    let mut socket = open(&hub, "/ws/pane?session=hub:work").await;

    let before = vtr::core::clock::unix_ms(std::time::SystemTime::now());
    send(
        &mut socket,
        asked(pb::GrantScope::Control, 3600, "an agent"),
    )
    .await;
    let made = answer(&mut socket).await.expect("a grant");
    assert!(made.token.starts_with("vtrg_"), "{made:?}");
    assert_eq!(made.scope, pb::GrantScope::Control as i32);
    assert_eq!(made.labels, ["hub:work"]);
    assert_eq!(made.sessions.len(), 1, "{made:?}");
    assert!(made.spoke.is_empty(), "a session grant, not the spoke's");
    assert_eq!(made.note, "an agent");
    // Made by whoever opened the pane (here, with the hub's token).
    assert_eq!(made.created_by, "token");
    let lasts = made.expires_at_ms - before;
    assert!((3_540_000..=3_660_000).contains(&lasts), "{lasts} ms");

    // The owner's list has it, without its token.
    let out = hub.cli(&["--json", "grant", "ls"]);
    assert!(out.status.success());
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("grant JSON");
    let mine = listed
        .iter()
        .find(|g| g["id"] == made.id.as_str())
        .expect("listed");
    assert!(!mine.to_string().contains(&made.token), "{mine}");

    // Its token works through gRPC, on this session and no other.
    let target = Target::Tcp {
        url: hub.url(),
        token: Some(Token::new(&made.token).expect("a grant token is a token")),
        ca_file: None,
    };
    let mut agent = client::connect(&target).await.expect("connect");
    let names: Vec<String> = agent
        .list(pb::ListRequest {})
        .await
        .expect("list under the grant")
        .into_inner()
        .sessions
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["work"]);
    send_and_wait(
        &mut agent,
        "hub:work",
        "echo typed-by-agent",
        "typed-by-agent",
    )
    .await;
    let status = agent
        .info(pb::SessionRequest {
            session: "hub:other".into(),
        })
        .await
        .expect_err("another session");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status}");
}

#[tokio::test]
async fn a_bad_grant_request_gets_a_notice_naming_the_limit() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "work", "/bin/sh", &[]).await;
    let mut socket = open(&hub, "/ws/pane?session=hub:work").await;
    let observe = pb::GrantScope::Observe;
    let cases = [
        (asked(observe, 0, ""), "from 1 s to 30 days; 0 s asked"),
        (
            asked(observe, 31 * 86_400, ""),
            "from 1 s to 30 days; 2678400 s asked",
        ),
        (
            asked(pb::GrantScope::Unspecified, 3600, ""),
            "observe or control",
        ),
        (asked(observe, 3600, &"n".repeat(201)), "at most 200 bytes"),
        (
            asked(observe, 3600, "red \x1b[31m"),
            "no control characters",
        ),
    ];
    for (request, says) in cases {
        send(&mut socket, request).await;
        let notice = answer(&mut socket).await.expect_err("refused");
        assert!(notice.starts_with("no grant made: "), "{notice}");
        assert!(notice.contains(says), "{notice:?} should say {says:?}");
    }
    // None was made, and the pane went on: a good request still works.
    let out = hub.cli(&["--json", "grant", "ls"]);
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("grant JSON");
    assert!(listed.is_empty(), "{listed:?}");
    send(&mut socket, asked(observe, 60, "")).await;
    let made = answer(&mut socket).await.expect("a grant");
    assert_eq!(made.scope, observe as i32);
}
