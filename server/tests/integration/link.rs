//! The hub's one stream per spoke link (`vtr.v1.Link`): a flooding session
//! and a quiet one on the same tunnelled spoke share it, and the quiet
//! one's keystrokes still echo promptly while the flood goes on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use vtr_shared::proto as pb;
use vtr_shared::proto::subscribe_event::Event;

use crate::attach::{attach, input, open};
use crate::harness::*;

/// Slowest echo allowed for the quiet session while the flood runs: what
/// waits ahead of it on the link is bounded (32 events), so it is a
/// fraction of this even on a loaded machine.
const ECHO_WITHIN: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_quiet_session_echoes_promptly_beside_a_flood_on_the_same_link() {
    let hub = Hub::start(&[], &[]);
    let spoke = hub.tunnelled_spoke("tun").await;
    let mut c = hub.client().await;
    // A burst, not an endless flood: the other tests share the machine.
    let burst = "yes flood | head -c 16777216";
    spawn(&mut c, "tun:flood", "/bin/sh", &["-c", burst]).await;
    spawn(
        &mut c,
        "tun:quiet",
        "/bin/sh",
        &["-c", "stty -echo; exec cat"],
    )
    .await;

    let mut flood = c
        .subscribe(pb::SubscribeRequest {
            session: "tun:flood".to_owned(),
            from_offset: None,
        })
        .await
        .expect("subscribe to the flood")
        .into_inner();
    let flooded = Arc::new(AtomicU64::new(0));
    let counter = flooded.clone();
    let reader = tokio::spawn(async move {
        // How far the flood's stream has come: its output, or a resync
        // snapshot when this reader fell behind.
        while let Ok(Some(event)) = flood.message().await {
            let end = match event.event {
                Some(Event::Output(o)) => o.offset + o.data.len() as u64,
                Some(Event::Snapshot(s)) => s.offset,
                _ => continue,
            };
            counter.fetch_max(end, Ordering::Relaxed);
        }
    });
    wait_until("the flood to flow through the hub", || {
        let flooded = flooded.load(Ordering::Relaxed);
        async move { (flooded > 1 << 20).then_some(()) }
    })
    .await;

    // From offset 0: a replay, so every echo comes as output (with no
    // offset, the first echo can land in the opening snapshot instead).
    let (tx, mut quiet) = attach(&mut c, open("tun:quiet", Some(0)))
        .await
        .expect("attach to the quiet session");
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let line = format!("ping{i}");
        let sent = Instant::now();
        tx.send(input(format!("{line}\n").as_bytes()))
            .await
            .expect("type");
        let mut seen = String::new();
        let echoed = tokio::time::timeout(timeout(), async {
            while !seen.contains(&line) {
                if let Some(Event::Output(o)) = next_event(&mut quiet).await.event {
                    seen.push_str(&String::from_utf8_lossy(&o.data));
                }
            }
        })
        .await;
        assert!(
            echoed.is_ok(),
            "no echo of {line} (saw {seen:?})\nhub log:\n{}\nspoke log:\n{}",
            hub.log(),
            spoke.log()
        );
        slowest = slowest.max(sent.elapsed());
    }
    wait_until("the whole burst through the hub", || {
        let flooded = flooded.load(Ordering::Relaxed);
        async move { (flooded >= 16 << 20).then_some(()) }
    })
    .await;
    reader.abort();
    assert!(
        slowest < ECHO_WITHIN,
        "the slowest echo beside the flood took {slowest:?}"
    );
}
