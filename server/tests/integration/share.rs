//! Read-only share links at the wire: a WebSocket client (no browser) on
//! `/ws/share` of a real hub. The link opens its one session, read-only;
//! revoked, expired and forged tokens are refused with their own close
//! codes; links survive a hub restart; `vtr share` drives it all.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vtr_shared::web::pane_event::Event;
use vtr_shared::web::pane_request::Request;
use vtr_shared::{close, proto as pb};

use crate::harness::ws::{Socket, closed, open, pane_event, send};
use crate::harness::*;

async fn create(hub: &Hub, session: &str) -> pb::ShareInfo {
    hub.shares()
        .await
        .create_share(pb::CreateShareRequest {
            session: session.to_owned(),
            ttl_seconds: 3600,
        })
        .await
        .expect("create a link")
        .into_inner()
}

/// A viewer socket, past the session event (checked to be `name`).
async fn viewer(hub: &Hub, token: &str, name: &str) -> Socket {
    let mut socket = open(hub, &format!("/ws/share?token={token}")).await;
    match pane_event(&mut socket).await {
        Event::Session(info) => assert_eq!(info.name, name),
        other => panic!("expected the session first, got {other:?}"),
    }
    socket
}

/// A viewer that is refused: its error event and close code.
async fn refused(hub: &Hub, token: &str) -> (String, u16) {
    let mut socket = open(hub, &format!("/ws/share?token={token}")).await;
    let error = match pane_event(&mut socket).await {
        Event::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    };
    (error, closed(&mut socket).await.0)
}

/// Output text on a viewer until `want` shows up.
async fn watch_for(socket: &mut Socket, want: &str) {
    crate::harness::ws::text_until(socket, want).await;
}

#[tokio::test]
async fn a_link_opens_its_session_read_only_and_nothing_else() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "shared", "/bin/sh", &[]).await;
    spawn(&mut c, "private", "/bin/sh", &[]).await;
    let link = create(&hub, "hub:shared").await;
    assert_eq!(link.session, "hub:shared");
    assert!(
        link.url.ends_with(&format!("/share/{}", link.token)),
        "{}",
        link.url
    );

    // Live output reaches the viewer.
    let mut socket = viewer(&hub, &link.token, "shared").await;
    send_and_wait(
        &mut c,
        "hub:shared",
        "echo live-for-viewers",
        "live-for-viewers",
    )
    .await;
    watch_for(&mut socket, "live-for-viewers").await;

    // Input, resize, link and grant requests are refused, and end the socket.
    let attempts = [
        Request::Input("echo typed-by-viewer\r".into()),
        Request::Resize(pb::TerminalSize { cols: 20, rows: 5 }),
        Request::ShareTtlSeconds(3600),
        Request::Grant(vtr_shared::web::PaneGrant {
            scope: pb::GrantScope::Control as i32,
            ttl_seconds: 3600,
            note: String::new(),
        }),
    ];
    for attempt in attempts {
        let mut socket = viewer(&hub, &link.token, "shared").await;
        send(&mut socket, attempt).await;
        let (code, reason) = closed(&mut socket).await;
        assert_eq!(code, close::READ_ONLY, "{reason}");
        assert!(reason.contains("read-only"), "{reason}");
    }
    assert!(hub.log().contains("refused (the link is read-only)"));
    // Nothing reached the session: a marker sent after the attempts
    // shows, the viewer's command never ran, the size is unchanged.
    send_and_wait(
        &mut c,
        "hub:shared",
        "echo after-attempts",
        "after-attempts",
    )
    .await;
    let lines = screen_lines(&mut c, "hub:shared").await;
    assert!(
        !lines.iter().any(|l| l.contains("typed-by-viewer")),
        "{lines:?}"
    );
    let info = c
        .info(pb::SessionRequest {
            session: "hub:shared".to_owned(),
        })
        .await
        .expect("info")
        .into_inner();
    assert_eq!((info.cols, info.rows), (80, 24), "the spawn size, not 20x5");

    // The socket takes the token and nothing else: no other session.
    let url = format!(
        "{}/ws/share?token={}&session=hub:private",
        hub.url().replace("http://", "ws://"),
        link.token
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("expected 400, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn revoked_forged_and_expired_links_are_refused() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "shared", "/bin/sh", &[]).await;
    let link = create(&hub, "hub:shared").await;

    // One flipped character anywhere: refused as invalid.
    for i in [0, link.token.len() / 2, link.token.len() - 1] {
        let mut bytes = link.token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
        let forged = String::from_utf8(bytes).expect("ascii");
        let (error, code) = refused(&hub, &forged).await;
        assert_eq!(code, close::LINK_INVALID, "{error}");
    }

    // Revoking cuts a live viewer off at once, and the link stays dead.
    let mut socket = viewer(&hub, &link.token, "shared").await;
    hub.shares()
        .await
        .revoke_share(pb::RevokeShareRequest {
            id: link.id.clone(),
        })
        .await
        .expect("revoke");
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, close::LINK_REVOKED, "{reason}");
    let (error, code) = refused(&hub, &link.token).await;
    assert_eq!(code, close::LINK_REVOKED);
    assert!(error.contains("revoked"), "{error}");

    // A link past its expiry, signed with the hub's own secret: expired.
    let secret = std::fs::read(hub.state_dir().join("secret")).expect("secret");
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 10;
    let payload = format!("{}.{past}", "ab".repeat(16));
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).expect("key");
    mac.update(format!("vtr-share-v1:{payload}").as_bytes());
    let mac: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (error, code) = refused(&hub, &format!("{payload}.{mac}")).await;
    assert_eq!(code, close::LINK_EXPIRED);
    assert!(error.contains("expired"), "{error}");

    // Bad requests name the limit.
    let status = hub
        .shares()
        .await
        .create_share(pb::CreateShareRequest {
            session: "hub:shared".to_owned(),
            ttl_seconds: 5,
        })
        .await
        .expect_err("too short");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("60 s"), "{}", status.message());
}

#[tokio::test]
async fn links_and_revocations_survive_a_hub_restart() {
    // The session lives on a spoke of its own, so it outlives the hub.
    let spoke = Spoke::start_named("far", &["--listen", "127.0.0.1:0"]);
    let mut hub = Hub::start(&[spoke.dial("far")], &["--no-local-spoke"]);
    hub.wait_state("far", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    spawn(&mut c, "far:kept", "/bin/sh", &[]).await;
    let live = create(&hub, "far:kept").await;
    let dead = create(&hub, "far:kept").await;
    hub.shares()
        .await
        .revoke_share(pb::RevokeShareRequest {
            id: dead.id.clone(),
        })
        .await
        .expect("revoke");

    hub.restart();
    hub.wait_state("far", pb::SpokeState::Healthy).await;
    let list = hub
        .shares()
        .await
        .list_shares(pb::ListSharesRequest {})
        .await
        .expect("list")
        .into_inner()
        .shares;
    let live_after = list
        .iter()
        .find(|s| s.id == live.id)
        .expect("live link kept");
    assert_eq!(live_after.token, live.token, "same secret, same token");
    assert_eq!(live_after.revoked_at_ms, 0);
    assert!(!live_after.session_gone, "the spoke kept its session");
    assert!(list.iter().any(|s| s.id == dead.id && s.revoked_at_ms != 0));

    let mut socket = viewer(&hub, &live.token, "kept").await;
    let mut c = hub.client().await;
    send_and_wait(
        &mut c,
        "far:kept",
        "echo after-the-restart",
        "after-the-restart",
    )
    .await;
    watch_for(&mut socket, "after-the-restart").await;
    assert_eq!(refused(&hub, &dead.token).await.1, close::LINK_REVOKED);
}

#[tokio::test]
async fn vtr_share_creates_lists_and_revokes() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "cli", "/bin/sh", &[]).await;

    let out = hub.cli(&["share", "create", "hub:cli", "--ttl", "2h"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    assert!(url.starts_with(&format!("{}/share/", hub.url())), "{url}");
    let token = url.rsplit('/').next().expect("token").to_owned();

    let out = hub.cli(&["share", "ls"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("hub:cli") && text.contains("live"), "{text}");
    assert!(text.contains("in 1 h") || text.contains("in 2 h"), "{text}");
    let id = token.split('.').next().expect("id");

    let out = hub.cli(&["share", "revoke", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(refused(&hub, &token).await.1, close::LINK_REVOKED);

    // Clear errors: an unknown link, a ttl out of range.
    let out = hub.cli(&["share", "revoke", "nope"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no share link"));
    let out = hub.cli(&["share", "create", "hub:cli", "--ttl", "90d"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("30 days"));
}

/// The embedded spoke's sessions end with the hub (by design: the hub
/// owns their PTYs). After a restart their links are listed as gone, not
/// live, and a viewer is told the session has ended.
#[tokio::test]
async fn links_to_sessions_that_ended_with_the_hub_are_gone() {
    let mut hub = Hub::start(&[], &[]);
    let out = hub.cli(&["spawn", "hub:short", "--", "/bin/sh"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hub.cli(&["share", "create", "hub:short", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(made["state"], "live");
    let id = made["id"].as_str().expect("id").to_owned();
    let token = made["url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("token")
        .to_owned();

    hub.restart();
    hub.wait_state("hub", pb::SpokeState::Healthy).await;
    let out = hub.cli(&["ls", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[]",
        "the session ended"
    );
    let out = hub.cli(&["share", "ls", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let link = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|l| l["id"] == id.as_str())
        .expect("the link is still listed");
    assert_eq!(link["state"], "gone", "{link}");
    let out = hub.cli(&["share", "ls"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("gone") && !text.contains("live"), "{text}");

    let (error, code) = refused(&hub, &token).await;
    assert_eq!(code, close::GONE);
    assert_eq!(error, "the shared session has ended");
}
