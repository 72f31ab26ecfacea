//! Dead links. A hub-spoke link whose far end stops answering (its process
//! stopped with SIGSTOP: from this end, the same as a network partition)
//! is noticed within about 5 s, streaming or not, and the spoke is back
//! within about 2 s of the far end answering again.

use std::time::{Duration, Instant};

use vtr_shared::proto as pb;
use vtr_shared::proto::subscribe_event::Event;

use crate::harness::*;

/// The bounds the design promises (5 s, 2 s), with room for a loaded
/// 2-core machine; before keepalives were tightened these took 10-50 s.
const NOTICED_WITHIN: Duration = Duration::from_secs(7);
const BACK_WITHIN: Duration = Duration::from_secs(4);

fn signal(pid: u32, which: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{which}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{which} {pid}");
}

/// Reads the stream in the background (the hub stays a busy upstream);
/// the number of output bytes read so far.
fn drain(mut stream: tonic::Streaming<pb::SubscribeEvent>) -> tokio::sync::watch::Receiver<u64> {
    let (tx, rx) = tokio::sync::watch::channel(0);
    tokio::spawn(async move {
        while let Ok(Some(event)) = stream.message().await {
            if let Some(Event::Output(o)) = event.event {
                tx.send_modify(|n| *n += o.data.len() as u64);
            }
        }
    });
    rx
}

async fn state(hub: &Hub, spoke: &str) -> Option<i32> {
    hub.spokes()
        .await
        .into_iter()
        .find(|s| s.name == spoke)
        .map(|s| s.state)
}

#[tokio::test]
async fn a_stopped_peer_is_noticed_within_seconds_and_the_spoke_is_back_soon_after() {
    let hub = Hub::start(&[], &[]);
    let spoke = hub.tunnelled_spoke("tun").await;
    let mut c = hub.client().await;
    let ticker = "while :; do echo tick; sleep 0.01; done";
    spawn(&mut c, "tun:ticks", "sh", &["-c", ticker]).await;
    let stream = c
        .subscribe(pb::SubscribeRequest {
            session: "tun:ticks".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe")
        .into_inner();
    let mut read = drain(stream);
    within("output streaming", read.wait_for(|n| *n > 0))
        .await
        .expect("stream");

    // The spoke stops answering, mid-stream: the hub notices.
    signal(spoke.pid(), "STOP");
    let stopped = Instant::now();
    wait_until("the hub to notice", || async {
        (state(&hub, "tun").await != Some(pb::SpokeState::Healthy as i32)).then_some(())
    })
    .await;
    let noticed = stopped.elapsed();
    signal(spoke.pid(), "CONT");
    let resumed = Instant::now();
    hub.wait_state("tun", pb::SpokeState::Healthy).await;
    let back = resumed.elapsed();
    println!("spoke stopped: noticed by the hub after {noticed:?}, back {back:?} after");
    assert!(noticed < NOTICED_WITHIN, "noticed after {noticed:?}");
    assert!(back < BACK_WITHIN, "back after {back:?}");
    // The same subscription carries on.
    let before = *read.borrow_and_update();
    within("output again", read.wait_for(|n| *n > before))
        .await
        .expect("stream");

    // The hub stops answering: the spoke notices, keeps dialling, and is
    // back soon after the hub is.
    let closed = |log: &str| log.matches("tunnel to the hub closed").count();
    let closes = closed(&spoke.log());
    signal(hub.pid(), "STOP");
    let stopped = Instant::now();
    wait_until("the spoke to notice", || async {
        (closed(&spoke.log()) > closes).then_some(())
    })
    .await;
    let noticed = stopped.elapsed();
    // A few attempts go unanswered while the hub stays stopped.
    tokio::time::sleep(Duration::from_secs(3)).await;
    signal(hub.pid(), "CONT");
    let resumed = Instant::now();
    hub.wait_state("tun", pb::SpokeState::Healthy).await;
    let back = resumed.elapsed();
    println!("hub stopped: noticed by the spoke after {noticed:?}, back {back:?} after");
    assert!(noticed < NOTICED_WITHIN, "spoke noticed after {noticed:?}");
    assert!(back < BACK_WITHIN, "spoke back after {back:?}");
    let before = *read.borrow_and_update();
    within(
        "output after the hub's pause",
        read.wait_for(|n| *n > before),
    )
    .await
    .expect("stream");
}
