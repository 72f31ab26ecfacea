//! Attacks on share links that must fail against a real hub: replaying
//! output from before a link existed, oversized frames, too many viewers.

use vtr_shared::proto as pb;
use vtr_shared::web::pane_event::Event;

use crate::harness::ws::{Socket, open, pane_event};
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

/// Everything a viewer is sent (snapshots and output) until `want` shows.
async fn received_until(socket: &mut Socket, want: &str) -> String {
    let mut text = String::new();
    while !text.contains(want) {
        if let Event::Stream(pb::SubscribeEvent { event: Some(e) }) = pane_event(socket).await {
            match e {
                pb::subscribe_event::Event::Output(o) => {
                    text.push_str(&String::from_utf8_lossy(&o.data));
                }
                pb::subscribe_event::Event::Snapshot(s) => {
                    text.push_str(&String::from_utf8_lossy(&s.screen));
                }
                _ => {}
            }
        }
    }
    text
}

#[tokio::test]
async fn a_viewer_cannot_replay_output_from_before_the_link() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    // The secret is printed, then the screen cleared, all before the link:
    // only a replay of the log could show it (the script text is never
    // output, and the printed form differs from it).
    let script = "printf 'hush-%s-hush\\n' 4242; printf '\\033[H\\033[2J\\033[3J'; \
                  echo cleared; exec cat";
    spawn(&mut c, "leaky", "sh", &["-c", script]).await;
    wait_screen(&mut c, "hub:leaky", "the secret cleared", |lines| {
        lines.first().is_some_and(|l| l == "cleared")
    })
    .await;
    let link = create(&hub, "hub:leaky").await;

    let mut socket = open(&hub, &format!("/ws/share?token={}&from=0", link.token)).await;
    match pane_event(&mut socket).await {
        Event::Session(info) => assert_eq!(info.name, "leaky"),
        other => panic!("expected the session first, got {other:?}"),
    }
    c.send_text(pb::SendTextRequest {
        session: "hub:leaky".into(),
        text: "after-link".into(),
        submit: true,
    })
    .await
    .expect("send");
    let seen = received_until(&mut socket, "after-link").await;
    assert!(
        seen.contains("cleared"),
        "the current screen is shown: {seen:?}"
    );
    assert!(
        !seen.contains("hush-4242"),
        "output from before the link was replayed: {seen:?}"
    );
}
