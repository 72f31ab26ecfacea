//! The browser protocol at the wire: a WebSocket client (no browser)
//! against a real hub. Dashboard pushes and actions; a pane's stream,
//! input, resize and resume by offset; refusals.

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vtr_shared::web::{self, dashboard_event::Event as DashEvent, pane_event::Event};
use vtr_shared::{close, proto as pb};

use crate::harness::ws::{Socket, next, open, pane_event, send, stream_event};
use crate::harness::*;

/// Output bytes until `want` shows up; returns them and the end offset.
async fn output_until(socket: &mut Socket, want: &str) -> (String, u64) {
    let mut text = String::new();
    let mut end = 0;
    while !text.contains(want) {
        match pane_event(socket).await {
            Event::Stream(pb::SubscribeEvent {
                event: Some(pb::subscribe_event::Event::Output(o)),
            }) => {
                text.push_str(&String::from_utf8_lossy(&o.data));
                end = o.offset + o.data.len() as u64;
            }
            Event::Stream(pb::SubscribeEvent {
                event: Some(pb::subscribe_event::Event::Snapshot(s)),
            }) => {
                text.push_str(&String::from_utf8_lossy(&s.screen));
                end = s.offset;
            }
            _ => {}
        }
    }
    (text, end)
}

#[tokio::test]
async fn the_dashboard_pushes_spokes_and_sessions_and_runs_actions() {
    let hub = Hub::start(&[], &[]);
    let mut socket = open(&hub, "/ws/dashboard").await;
    let first = match next::<web::DashboardEvent>(&mut socket).await.event {
        Some(DashEvent::Dashboard(d)) => d,
        other => panic!("expected the dashboard first, got {other:?}"),
    };
    assert_eq!(first.hub, "hub");
    assert!(first.spokes.iter().any(|s| s.name == "hub"));

    // Spawn through the socket: answered, then listed in a push.
    let spawn = web::DashboardRequest {
        id: 7,
        action: Some(web::dashboard_request::Action::Spawn(spawn_request(
            "web1",
            "/bin/sh",
            &[],
        ))),
    };
    socket
        .send(Message::Binary(spawn.encode_to_vec().into()))
        .await
        .expect("send");
    let mut answered = false;
    let mut listed = false;
    while !(answered && listed) {
        match next::<web::DashboardEvent>(&mut socket).await.event {
            Some(DashEvent::Result(r)) => {
                assert_eq!((r.id, r.error.as_str()), (7, ""));
                assert_eq!(r.session, "hub:web1");
                answered = true;
            }
            Some(DashEvent::Dashboard(d)) => {
                listed |= d.sessions.iter().any(|s| s.name == "web1");
            }
            _ => {}
        }
    }

    // A failing action says why, with its id.
    let kill = web::DashboardRequest {
        id: 8,
        action: Some(web::dashboard_request::Action::Kill(pb::KillRequest {
            session: "hub:nope".to_owned(),
            signal: String::new(),
        })),
    };
    socket
        .send(Message::Binary(kill.encode_to_vec().into()))
        .await
        .expect("send");
    loop {
        if let Some(DashEvent::Result(r)) = next::<web::DashboardEvent>(&mut socket).await.event {
            assert_eq!(r.id, 8);
            assert!(r.error.contains("nope"), "{}", r.error);
            break;
        }
    }
}

#[tokio::test]
async fn a_pane_streams_takes_input_and_resizes_and_resumes_by_offset() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "pane1", "/bin/sh", &[]).await;

    let mut socket = open(&hub, "/ws/pane?session=hub:pane1&from=0").await;
    match pane_event(&mut socket).await {
        Event::Session(info) => assert_eq!(info.name, "pane1"),
        other => panic!("expected the session first, got {other:?}"),
    }
    send(
        &mut socket,
        web::pane_request::Request::Input("echo he''llo-web\r".into()),
    )
    .await;
    let (_, end) = output_until(&mut socket, "hello-web").await;

    send(
        &mut socket,
        web::pane_request::Request::Resize(pb::TerminalSize { cols: 91, rows: 33 }),
    )
    .await;
    send(
        &mut socket,
        web::pane_request::Request::Input("stty size\r".into()),
    )
    .await;
    output_until(&mut socket, "33 91").await;
    drop(socket);

    // Resume from an offset: the replay starts exactly there.
    let mut again = open(&hub, &format!("/ws/pane?session=hub:pane1&from={end}")).await;
    let _session = pane_event(&mut again).await;
    match stream_event(&mut again).await {
        pb::subscribe_event::Event::Output(o) => assert_eq!(o.offset, end),
        other => panic!("expected output from offset {end}, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_sessions_bad_frames_and_other_origins_are_refused() {
    let hub = Hub::start(&[], &[]);

    // Unknown session: an error event, then close code NOT_FOUND.
    let mut socket = open(&hub, "/ws/pane?session=hub:ghost").await;
    match pane_event(&mut socket).await {
        Event::Error(e) => assert!(e.contains("ghost"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
    let closed = within("close frame", socket.next()).await;
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), close::NOT_FOUND);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }

    // An undecodable frame: close code BAD_REQUEST.
    let mut c = hub.client().await;
    spawn(&mut c, "bad", "/bin/sh", &[]).await;
    let mut socket = open(&hub, "/ws/pane?session=bad").await;
    let _session = pane_event(&mut socket).await;
    socket
        .send(Message::Binary(vec![0xff, 0xff, 0xff].into()))
        .await
        .expect("send");
    loop {
        match within("close frame", socket.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), close::BAD_REQUEST);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    // A page of another site may not open the hub's sockets.
    let url = format!("{}/ws/dashboard", hub.url().replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
}

/// Stream bytes (Output data, Snapshot screens) read until the hub has
/// sent nothing for `quiet`: what it sent ahead without acknowledgement.
async fn drain_unacked(socket: &mut Socket, quiet: std::time::Duration) -> (u64, u64) {
    let (mut bytes, mut end) = (0, 0);
    while let Ok(frame) = tokio::time::timeout(quiet, socket.next()).await {
        let Some(Ok(Message::Binary(data))) = frame else {
            panic!("the pane closed while draining: {frame:?}");
        };
        let event = web::PaneEvent::decode(data).expect("decodable frame");
        if let Some(Event::Stream(pb::SubscribeEvent {
            event: Some(pb::subscribe_event::Event::Output(o)),
        })) = event.event
        {
            bytes += o.data.len() as u64;
            end = o.offset + o.data.len() as u64;
        }
    }
    (bytes, end)
}

#[tokio::test]
async fn a_pane_that_does_not_ack_is_held_at_the_window_then_resyncs() {
    use vtr::core::subscribe::MAX_EVENT_BYTES;
    use vtr_shared::flow;

    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    let script =
        "read go; head -c 16777216 /dev/zero | tr '\\0' x; echo; echo burst-done; exec cat";
    spawn(&mut c, "burst", "/bin/sh", &["-c", script]).await;
    let mut socket = open(&hub, "/ws/pane?session=hub:burst&from=0").await;
    let _session = pane_event(&mut socket).await;
    send(&mut socket, web::pane_request::Request::Input("\r".into())).await;

    // The whole burst reaches the spoke's screen while this page acks
    // nothing: the hub sends at most a window and one event ahead.
    wait_screen(&mut c, "hub:burst", "the burst to finish", |lines| {
        lines.iter().any(|l| l.contains("burst-done"))
    })
    .await;
    let (unacked, end) = drain_unacked(&mut socket, std::time::Duration::from_millis(500)).await;
    assert!(unacked > 0, "nothing was sent before the first ack");
    assert!(
        unacked <= flow::WINDOW + MAX_EVENT_BYTES as u64,
        "{unacked} bytes sent without an ack (window {})",
        flow::WINDOW
    );

    // Acknowledging reopens the stream. The pane fell off the hub's log
    // during the burst, so a resync snapshot tells it what it missed.
    let mut acked = unacked;
    send(&mut socket, web::pane_request::Request::Ack(acked)).await;
    let snapshot = loop {
        match pane_event(&mut socket).await {
            Event::Stream(pb::SubscribeEvent {
                event: Some(pb::subscribe_event::Event::Output(o)),
            }) => {
                acked += o.data.len() as u64;
                send(&mut socket, web::pane_request::Request::Ack(acked)).await;
            }
            Event::Stream(pb::SubscribeEvent {
                event: Some(pb::subscribe_event::Event::Snapshot(s)),
            }) => break s,
            _ => {}
        }
    };
    assert_eq!(snapshot.reason, pb::SnapshotReason::Resync as i32);
    assert!(snapshot.offset > end, "a resync skips ahead of {end}");
    acked += snapshot.screen.len() as u64;
    send(&mut socket, web::pane_request::Request::Ack(acked)).await;

    // Input went on working; its echo follows the snapshot.
    send(
        &mut socket,
        web::pane_request::Request::Input("after-burst\r".into()),
    )
    .await;
    output_until(&mut socket, "after-burst").await;

    // An ack beyond what was sent is refused with a reason.
    send(&mut socket, web::pane_request::Request::Ack(u64::MAX)).await;
    loop {
        match within("close frame", socket.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), close::BAD_REQUEST);
                assert!(frame.reason.contains("ack"), "{}", frame.reason);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_idle_dashboard_is_pushed_nothing_while_nothing_changes() {
    let spokes: Vec<Spoke> = (0..3)
        .map(|i| Spoke::start_named(&format!("s{i}"), &["--listen", "127.0.0.1:0"]))
        .collect();
    let dials: Vec<Dial<'_>> = ["a", "b", "c"]
        .iter()
        .zip(&spokes)
        .map(|(name, spoke)| spoke.dial(name))
        .collect();
    // And one that is down for good: its failing probes change nothing
    // the dashboard shows either.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let ghost = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let mut dials = dials;
    dials.push(Dial::new("ghost", ghost));
    let hub = Hub::start(&dials, &[]);
    for name in ["a", "b", "c"] {
        hub.wait_state(name, pb::SpokeState::Healthy).await;
    }
    hub.wait_state("ghost", pb::SpokeState::Unreachable).await;
    let mut socket = open(&hub, "/ws/dashboard").await;
    let first = match next::<web::DashboardEvent>(&mut socket).await.event {
        Some(DashEvent::Dashboard(d)) => d,
        other => panic!("expected the dashboard first, got {other:?}"),
    };
    assert_eq!(first.spokes.len(), 5);
    // Four spokes probed every 2 s and one about every 1.5 s: a dozen
    // probes in 4.5 s, none of which changes what the dashboard shows.
    let quiet = tokio::time::timeout(
        std::time::Duration::from_millis(4500),
        next::<web::DashboardEvent>(&mut socket),
    )
    .await;
    assert!(quiet.is_err(), "pushed while nothing changed: {quiet:?}");

    // A real change is still pushed.
    let mut c = hub.client().await;
    spawn(&mut c, "b:new", "/bin/sh", &[]).await;
    within("the new session pushed", async {
        loop {
            if let Some(DashEvent::Dashboard(d)) =
                next::<web::DashboardEvent>(&mut socket).await.event
                && d.sessions.iter().any(|s| s.name == "new")
            {
                break;
            }
        }
    })
    .await;
}

/// The next dashboard push (skipping results and previews).
async fn next_push(socket: &mut Socket) -> web::Dashboard {
    loop {
        if let Some(DashEvent::Dashboard(d)) = next::<web::DashboardEvent>(socket).await.event {
            return d;
        }
    }
}

#[tokio::test]
async fn after_the_first_push_a_dashboard_is_sent_only_what_changed() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    for i in 0..20 {
        spawn(&mut c, &format!("old{i}"), "/bin/cat", &[]).await;
    }
    let mut socket = open(&hub, "/ws/dashboard").await;
    let first = next_push(&mut socket).await;
    assert!(!first.partial);
    assert_eq!(
        first.sessions.len(),
        20,
        "the first push holds every session"
    );
    assert!(first.spokes.iter().any(|s| s.name == "hub"));

    // One session more: the next push holds it alone.
    spawn(&mut c, "new", "/bin/cat", &[]).await;
    let d = within("the new session pushed", async {
        loop {
            let d = next_push(&mut socket).await;
            if !d.sessions.is_empty() {
                break d;
            }
        }
    })
    .await;
    assert!(d.partial);
    let names: Vec<_> = d.sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["new"]);
    assert!(d.removed.is_empty(), "{:?}", d.removed);
    let id = d.sessions[0].id.clone();

    // Removed: named as gone, by `spoke:id`, and nothing else sent.
    c.remove(pb::RemoveRequest {
        session: "hub:new".to_owned(),
        force: true,
    })
    .await
    .expect("remove");
    let d = within("the removal pushed", async {
        loop {
            let d = next_push(&mut socket).await;
            if !d.removed.is_empty() {
                break d;
            }
        }
    })
    .await;
    assert!(d.partial);
    assert_eq!(d.removed, [format!("hub:{id}")]);
    assert!(d.sessions.is_empty(), "{:?}", d.sessions);
}
