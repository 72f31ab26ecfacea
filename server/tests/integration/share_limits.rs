//! Attacks on share links that must fail against a real hub: replaying
//! output from before a link existed, oversized frames, too many viewers.

use vtr_shared::proto as pb;
use vtr_shared::web::pane_event::Event;

use crate::harness::ws::{open, pane_event};
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
        ..Default::default()
    })
    .await
    .expect("send");
    let seen = crate::harness::ws::text_until(&mut socket, "after-link").await;
    assert!(
        seen.contains("cleared"),
        "the current screen is shown: {seen:?}"
    );
    assert!(
        !seen.contains("hush-4242"),
        "output from before the link was replayed: {seen:?}"
    );
}

/// A viewer announcing a 2 MiB frame is cut off from the frame's header:
/// the hub never waits for (or buffers) its payload. Only the first
/// 64 KiB is sent, so a hub reading whole frames first would hang here.
#[tokio::test]
async fn an_oversized_viewer_frame_ends_the_socket_at_once() {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::tungstenite::Message;

    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "big", "sh", &["-c", "exec cat"]).await;
    let link = create(&hub, "hub:big").await;
    let mut socket = open(&hub, &format!("/ws/share?token={}", link.token)).await;
    assert!(matches!(pane_event(&mut socket).await, Event::Session(_)));

    let len: u64 = 2 << 20;
    let mut frame = vec![0x82, 0x80 | 127];
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]); // mask key
    frame.extend(std::iter::repeat_n(0x5a, 64 << 10));
    let raw = socket.get_mut();
    raw.write_all(&frame).await.expect("send the frame's start");
    raw.flush().await.expect("flush");

    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    // A close frame, an error or the end of the stream: any, promptly.
    ended.expect("the hub ended the socket without reading the payload");
}

#[tokio::test]
async fn a_link_takes_at_most_32_viewers() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "popular", "sh", &["-c", "exec cat"]).await;
    let link = create(&hub, "hub:popular").await;
    let path = format!("/ws/share?token={}", link.token);
    let mut viewers = Vec::new();
    for _ in 0..32 {
        let mut socket = open(&hub, &path).await;
        assert!(matches!(pane_event(&mut socket).await, Event::Session(_)));
        viewers.push(socket);
    }
    let mut extra = open(&hub, &path).await;
    match pane_event(&mut extra).await {
        Event::Error(e) => assert!(e.contains("32 viewers"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (code, reason) = crate::harness::ws::closed(&mut extra).await;
    assert_eq!(code, vtr_shared::close::TOO_MANY_VIEWERS, "{reason}");
    assert!(reason.contains("this link has 32 viewers"), "{reason}");

    // A place frees when a viewer leaves.
    drop(viewers.pop());
    wait_until("the viewer's place freed", || async {
        let mut socket = open(&hub, &path).await;
        matches!(pane_event(&mut socket).await, Event::Session(_)).then_some(socket)
    })
    .await;
}

#[tokio::test]
async fn viewers_coming_and_going_do_not_flood_dashboards() {
    use futures_util::StreamExt;
    use vtr_shared::web;
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "watched", "/bin/sh", &[]).await;
    let link = create(&hub, "hub:watched").await;
    let mut dash = open(&hub, "/ws/dashboard").await;
    // The first full push, then quiet.
    crate::harness::ws::next::<web::DashboardEvent>(&mut dash).await;
    // Someone with the link opens and closes 40 viewers as fast as they can.
    let started = std::time::Instant::now();
    for _ in 0..40 {
        let mut viewer = open(&hub, &format!("/ws/share?token={}", link.token)).await;
        pane_event(&mut viewer).await;
        drop(viewer);
    }
    // A dashboard hears about it a few times, not once per viewer.
    let mut pushes = 0;
    let quiet = std::time::Duration::from_millis(1500);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(quiet, dash.next()).await {
        if let tokio_tungstenite::tungstenite::Message::Binary(data) = frame {
            let event = <web::DashboardEvent as prost::Message>::decode(data).expect("frame");
            if matches!(event.event, Some(web::dashboard_event::Event::Dashboard(_))) {
                pushes += 1;
            }
        }
    }
    // At most one per half second (plus the edges), where each viewer
    // coming and going used to cost two.
    let allowed = (started.elapsed().as_millis() / 500) as usize + 2;
    assert!(
        pushes <= allowed.min(40),
        "{pushes} dashboard pushes for 40 viewers in {:?}",
        started.elapsed()
    );
}
