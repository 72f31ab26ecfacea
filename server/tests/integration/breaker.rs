//! The circuit breaker against a dead dialled spoke: attempts back off,
//! and calls refused meanwhile never hurry them.

use std::time::{Duration, Instant};

use vtr_shared::proto as pb;

use crate::harness::*;

#[tokio::test]
async fn a_dead_dialled_spoke_is_retried_at_growing_intervals() {
    // Something that accepts and hangs up at once, counting attempts.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
            if tx.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    let hub = Hub::start(&[Dial::new("ghost", format!("http://{addr}"))], &[]);
    let mut attempts = Vec::new();
    while attempts.len() < 5 {
        let at = rx.recv_timeout(timeout()).expect("another attempt");
        attempts.push(at);
    }
    // The waits themselves are the breaker's unit tests (`backoff`); here
    // only what a slow machine cannot break: no gap is shorter than the
    // least the jittered backoff allows (250 ms doubling, less 20%, up to
    // the 1.5 s cap).
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let least = Duration::from_millis(200 << i).min(Duration::from_millis(1200));
        assert!(*gap >= least, "gap {i} under {least:?}: {gaps:?}");
    }
    let ghost = hub.wait_state("ghost", pb::SpokeState::Unreachable).await;
    assert!(ghost.failures >= 4, "{ghost:?}");
    assert!(ghost.next_attempt_ms > 0);
    assert_eq!(ghost.last_seen_ms, 0);
    // Calls fail fast while the breaker is open, and however many arrive
    // they do not hurry the attempts: in 3 s, at most 3 (one per 1.2 s
    // or more).
    let mut c = hub.client().await;
    let _ = rx.try_iter().count();
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let err = c
            .info(pb::SessionRequest {
                session: "ghost:x".into(),
            })
            .await
            .expect_err("unreachable");
        assert_eq!(err.code(), tonic::Code::Unavailable);
        assert!(err.message().contains("next attempt in"), "{err:?}");
        calls += 1;
    }
    assert!(calls >= 50, "only {calls} calls in 3 s");
    let during = rx.try_iter().count();
    assert!(
        during <= 3,
        "{during} connection attempts during {calls} refused calls in 3 s"
    );
}
