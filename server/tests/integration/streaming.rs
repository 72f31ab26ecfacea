//! The live stream: resume by offset without losing a byte, resync of a
//! stalled subscriber while another keeps full speed, waits that never miss
//! output racing the call.

use sha2::{Digest, Sha256};
use tokio_stream::StreamExt;
use vtr_shared::proto as pb;
use vtr_shared::proto::subscribe_event::Event;

use crate::harness::*;

/// What `seq 1 n` prints through a PTY (which turns \n into \r\n).
fn seq_output(n: u32) -> Vec<u8> {
    (1..=n)
        .flat_map(|i| format!("{i}\r\n").into_bytes())
        .collect()
}

async fn start_and_release(c: &mut vtr::transport::grpc::client::VtrClient, name: &str, n: u32) {
    // The producer waits for a line first, so nothing is produced before
    // the test is ready; `stty -echo` keeps the trigger out of the output,
    // and "armed" says it has taken effect.
    let script = format!("stty -echo; echo armed; read x; seq 1 {n}");
    spawn(c, name, "sh", &["-c", &script]).await;
    let armed = c
        .wait_for(pb::WaitForRequest {
            session: name.to_owned(),
            pattern: "armed".into(),
            timeout_ms: timeout().as_millis() as u64,
            from_offset: Some(0),
        })
        .await
        .expect("wait armed")
        .into_inner();
    assert_eq!(armed.outcome, pb::WaitOutcome::Matched as i32);
}

async fn release(c: &mut vtr::transport::grpc::client::VtrClient, name: &str) -> u64 {
    c.send_text(pb::SendTextRequest {
        session: name.to_owned(),
        text: "go".into(),
        submit: true,
        ..Default::default()
    })
    .await
    .expect("release")
    .into_inner()
    .offset
}

#[tokio::test]
async fn reconnecting_from_an_offset_loses_no_byte() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    start_and_release(&mut c, "seq", 150_000).await;
    let start = release(&mut c, "seq").await;
    let expected = seq_output(150_000);

    let mut received = Vec::new();
    let mut offset = start;
    let mut reconnects = 0;
    'outer: loop {
        let mut stream = c
            .subscribe(pb::SubscribeRequest {
                session: "seq".into(),
                from_offset: Some(offset),
            })
            .await
            .expect("subscribe")
            .into_inner();
        let mut taken = 0;
        loop {
            match next_event(&mut stream).await.event.expect("event") {
                Event::Output(o) => {
                    assert_eq!(
                        o.offset, offset,
                        "output continues exactly where it left off"
                    );
                    offset += o.data.len() as u64;
                    taken += o.data.len();
                    received.extend_from_slice(&o.data);
                }
                Event::Snapshot(s) => panic!(
                    "unexpected snapshot at {}: the log held the offset",
                    s.offset
                ),
                Event::Exited(_) => break 'outer,
                _ => {}
            }
            // Drop the connection mid-stream, three times.
            if reconnects < 3 && taken > 200_000 {
                reconnects += 1;
                continue 'outer;
            }
        }
    }
    assert_eq!(reconnects, 3);
    assert_eq!(received.len(), expected.len());
    assert_eq!(
        Sha256::digest(&received),
        Sha256::digest(&expected),
        "byte-exact output across reconnects"
    );
}

#[tokio::test]
async fn a_stalled_subscriber_is_resynced_while_another_keeps_full_speed() {
    // The default 4 MiB log: a reader that keeps up never falls off it,
    // while a stalled one (buffering at most a few MiB in its channel and
    // HTTP/2 windows) must, since the flood is three times bigger.
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let n = 1_500_000; // about 12 MB of output
    start_and_release(&mut c, "flood", n).await;
    // The stalled subscriber: subscribes, takes the first event, then stops reading.
    let mut stalled = spoke.client().await;
    let mut stalled_stream = stalled
        .subscribe(pb::SubscribeRequest {
            session: "flood".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe stalled")
        .into_inner();
    let first = next_event(&mut stalled_stream).await;
    assert!(matches!(first.event, Some(Event::Snapshot(_))));
    let mut fast = c
        .subscribe(pb::SubscribeRequest {
            session: "flood".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe fast")
        .into_inner();
    // Its snapshot first (a stream starts when it is first read), so the
    // whole flood comes after it.
    let mut offset = match next_event(&mut fast).await.event {
        Some(Event::Snapshot(s)) => {
            assert_eq!(s.reason, pb::SnapshotReason::Initial as i32);
            Some(s.offset)
        }
        other => panic!("expected the snapshot first, got {other:?}"),
    };
    let start = release(&mut c, "flood").await;
    assert_eq!(
        offset,
        Some(start),
        "nothing was produced before the release"
    );

    // The fast subscriber gets every byte, in order, with no resync, and
    // the session runs to completion while the other one is stalled: the
    // stalled reader held back neither the PTY nor its peer.
    let mut received = Vec::new();
    for event in collect_events(&mut fast).await {
        match event {
            Event::Snapshot(s) => panic!("a second snapshot for the fast subscriber: {s:?}"),
            Event::Output(o) => {
                assert_eq!(Some(o.offset), offset, "no gap for the fast subscriber");
                offset = Some(o.offset + o.data.len() as u64);
                received.extend_from_slice(&o.data);
            }
            _ => {}
        }
    }
    assert_eq!(offset, Some(start + received.len() as u64));
    assert_eq!(Sha256::digest(&received), Sha256::digest(seq_output(n)));

    // Now the stalled one reads: a resync snapshot, a visible gap, then the end.
    let events = collect_events(&mut stalled_stream).await;
    let resync = events
        .iter()
        .find_map(|e| match e {
            Event::Snapshot(s) => Some(s.clone()),
            _ => None,
        })
        .expect("a resync snapshot");
    assert_eq!(resync.reason, pb::SnapshotReason::Resync as i32);
    let before: u64 = events
        .iter()
        .take_while(|e| !matches!(e, Event::Snapshot(_)))
        .map(|e| match e {
            Event::Output(o) => o.data.len() as u64,
            _ => 0,
        })
        .sum();
    assert!(resync.offset > before, "the gap shows in the offsets");
    // The snapshot redraws a screen of numbers from the middle of the flood.
    let mut term = vt100::Parser::new(24, 80, 0);
    term.process(&resync.screen);
    let shown: Vec<u64> = term
        .screen()
        .rows(0, 80)
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(shown.len() > 10, "{shown:?}");
    assert!(shown.windows(2).all(|w| w[1] == w[0] + 1), "{shown:?}");
    assert!(matches!(events.last(), Some(Event::Exited(_))));
}

#[tokio::test]
async fn wait_for_never_misses_output_racing_the_call() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(
        &mut c,
        "echo",
        "sh",
        &["-c", "stty -echo; while read l; do echo \"got-$l\"; done"],
    )
    .await;
    for i in 0..40 {
        // Output caused by the input, however fast, comes after its offset.
        let line = send_and_wait(&mut c, "echo", &format!("{i}"), &format!("got-{i}\\b")).await;
        assert_eq!(line, format!("got-{i}"));
    }
    // A wait started before the output arrives (without from_offset):
    // the call is in flight while a second client makes the output.
    let mut waiter = c.clone();
    let wait = tokio::spawn(async move {
        waiter
            .wait_for(pb::WaitForRequest {
                session: "echo".into(),
                pattern: "got-late".into(),
                timeout_ms: 20_000,
                from_offset: None,
            })
            .await
            .expect("wait")
            .into_inner()
    });
    // Keep producing until the waiter, whenever it started, has seen one.
    let mut sent = 0;
    while !wait.is_finished() {
        let mut s = c.clone();
        s.send_text(pb::SendTextRequest {
            session: "echo".into(),
            text: "late".into(),
            submit: true,
            ..Default::default()
        })
        .await
        .expect("send");
        sent += 1;
        assert!(sent < 10_000, "the waiter never matched");
        tokio::task::yield_now().await;
    }
    let m = within("the waiter", wait).await.expect("join");
    assert_eq!(m.outcome, pb::WaitOutcome::Matched as i32);
    assert_eq!(m.matched, "got-late");
}

#[tokio::test]
async fn record_replays_to_the_same_screen() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "r", "/bin/sh", &[]).await;
    send_and_wait(
        &mut c,
        "r",
        "printf '\\033[1;32mgreen\\033[0m done\\n'",
        "green done",
    )
    .await;
    let mut stream = c
        .record(pb::RecordRequest {
            session: "r".into(),
            follow: false,
        })
        .await
        .expect("record")
        .into_inner();
    let mut cast = Vec::new();
    while let Some(chunk) = within("recording", stream.next()).await {
        cast.extend_from_slice(&chunk.expect("chunk").data);
    }
    let text = String::from_utf8(cast).expect("utf8");
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("header")).expect("json");
    assert_eq!(header["version"], 2);
    assert_eq!(header["width"], 80);
    let mut term = vt100::Parser::new(24, 80, 0);
    let mut last_time = 0.0;
    for line in lines {
        let event: (f64, String, String) = serde_json::from_str(line).expect("event");
        assert!(event.0 >= last_time, "times never go back");
        last_time = event.0;
        if event.1 == "o" {
            term.process(event.2.as_bytes());
        }
    }
    let lines = screen_lines(&mut c, "r").await;
    let replayed: Vec<String> = term
        .screen()
        .rows(0, 80)
        .map(|l| l.trim_end().to_owned())
        .collect();
    assert_eq!(replayed, lines);
}

#[tokio::test]
async fn screen_keys_and_interrupt_answer_while_a_program_writes_without_end() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(
        &mut c,
        "flood",
        "/bin/sh",
        &["-c", "PS1=prompt-is-back; export PS1; exec sh"],
    )
    .await;
    wait_screen(&mut c, "flood", "the prompt", |l| {
        l.iter().any(|l| l.contains("prompt-is-back"))
    })
    .await;
    c.send_text(pb::SendTextRequest {
        session: "flood".to_owned(),
        text: "yes 'The quick brown fox jumps over the lazy dog'".to_owned(),
        submit: true,
        ..Default::default()
    })
    .await
    .expect("text");
    // The screen reads catch the parser up to the output at the call, not
    // to an end that keeps moving faster than it parses.
    let fox = |l: &[String]| l.iter().filter(|l| l.contains("quick brown fox")).count() > 3;
    // Far enough in that the parser is behind (it stands aside in a burst).
    wait_until("32 MiB of flood", || {
        let mut c = c.clone();
        async move {
            let info = c
                .info(pb::SessionRequest {
                    session: "flood".to_owned(),
                })
                .await
                .expect("info")
                .into_inner();
            (info.output_offset > 32 << 20).then_some(())
        }
    })
    .await;
    let lines = within("a screen during the flood", screen_lines(&mut c, "flood")).await;
    assert!(fox(&lines), "{lines:?}");
    // Named keys need the cursor mode; during a burst they take it as last
    // parsed rather than wait for the backlog.
    within(
        "ctrl+c during the flood",
        c.send_key(pb::SendKeyRequest {
            session: "flood".to_owned(),
            keys: vec!["ctrl+c".to_owned()],
            ..Default::default()
        }),
    )
    .await
    .expect("keys");
    wait_screen(&mut c, "flood", "the prompt after ctrl+c", |l| {
        l.iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with("prompt-is-back"))
    })
    .await;
}

#[tokio::test]
async fn a_resume_from_beyond_the_end_through_the_hub_gets_a_snapshot() {
    // The web app's reconnect after a session was re-created under the
    // same name: its offset is past the new session's end, and it is the
    // first subscriber through the hub.
    let a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let hub = Hub::start(&[a.dial("a")], &[]);
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    spawn(
        &mut c,
        "a:again",
        "sh",
        &["-c", "echo first-life; read x; cat"],
    )
    .await;
    wait_screen(&mut c, "a:again", "first-life", |lines| {
        lines.iter().any(|l| l.contains("first-life"))
    })
    .await;
    let mut stream = c
        .subscribe(pb::SubscribeRequest {
            session: "a:again".into(),
            from_offset: Some(1 << 30),
        })
        .await
        .expect("subscribe")
        .into_inner();
    let at = within("a snapshot", async {
        loop {
            match next_event(&mut stream).await.event {
                Some(Event::Snapshot(s)) => {
                    let screen = String::from_utf8_lossy(&s.screen).to_string();
                    assert!(screen.contains("first-life"), "{screen:?}");
                    break s.offset;
                }
                Some(Event::Idle(_) | Event::Resized(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert!(at < 1 << 20, "the session's own offset: {at}");
    // ...and live output follows from there.
    c.send_text(pb::SendTextRequest {
        session: "a:again".into(),
        text: "go".into(),
        submit: true,
        ..Default::default()
    })
    .await
    .expect("send");
    within("output after the snapshot", async {
        loop {
            match next_event(&mut stream).await.event {
                Some(Event::Output(o)) => {
                    assert_eq!(o.offset, at, "contiguous from the snapshot");
                    break;
                }
                Some(Event::Idle(_) | Event::Resized(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
}

/// Parser backlog for the flood tests: a catch-up takes a fraction of a
/// second, during which the flood moves well past the 4 MiB log.
const FLOOD_BACKLOG: &str = "16777216";

#[tokio::test]
async fn a_viewer_that_fell_behind_an_endless_flood_rejoins_live_output() {
    let spoke = Spoke::start_with(&["--parse-backlog", FLOOD_BACKLOG]);
    rejoins_after_falling_behind(spoke.client().await, "flood").await;
}

#[tokio::test]
async fn a_viewer_through_the_hub_that_fell_behind_a_flood_rejoins_live_output() {
    let hub = Hub::start(&[], &[]);
    let _spoke = hub
        .tunnelled_spoke_with("t", &["--parse-backlog", FLOOD_BACKLOG])
        .await;
    rejoins_after_falling_behind(hub.client().await, "t:flood").await;
}

/// Falls behind an endless flood (`yes`), then reads as fast as it can: it
/// must rejoin the live output, a contiguous run of several logs' worth
/// after a resync, not one fresh screen after another (each of which was
/// out of date by the time it arrived).
async fn rejoins_after_falling_behind(
    mut c: vtr::transport::grpc::client::VtrClient,
    session: &str,
) {
    const RUN: u64 = 16 << 20;
    spawn(&mut c, session, "yes", &["The quick brown fox jumps"]).await;
    let mut stream = c
        .subscribe(pb::SubscribeRequest {
            session: session.into(),
            from_offset: None,
        })
        .await
        .expect("subscribe")
        .into_inner();
    let first = next_event(&mut stream).await.event;
    assert!(matches!(first, Some(Event::Snapshot(_))), "{first:?}");
    // Stalled far past what the logs and the transport windows hold.
    let info = |mut c: vtr::transport::grpc::client::VtrClient| async move {
        c.info(pb::SessionRequest {
            session: session.to_owned(),
        })
        .await
        .expect("info")
        .into_inner()
        .output_offset
    };
    let stalled_at = info(c.clone()).await;
    wait_until("64 MiB of flood while stalled", || {
        let c = c.clone();
        async move { (info(c).await > stalled_at + (64 << 20)).then_some(()) }
    })
    .await;
    let (mut next, mut run, mut resyncs) = (None, 0, 0);
    within("a contiguous run of output after a resync", async {
        while run < RUN {
            match next_event(&mut stream).await.event {
                Some(Event::Snapshot(s)) => {
                    assert_eq!(s.reason, pb::SnapshotReason::Resync as i32);
                    (next, run) = (Some(s.offset), 0);
                    resyncs += 1;
                }
                Some(Event::Output(o)) => {
                    assert!(
                        next.is_none_or(|n| n == o.offset),
                        "a gap without a snapshot: {next:?} to {}",
                        o.offset
                    );
                    next = Some(o.offset + o.data.len() as u64);
                    run += o.data.len() as u64;
                }
                Some(Event::Idle(_) | Event::Resized(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert!(resyncs >= 1, "the viewer fell behind, so it was resynced");
}
