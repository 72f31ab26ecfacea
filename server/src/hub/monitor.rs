//! Keeps one spoke's health and session list current: probes it (Describe,
//! timed for the RTT) and watches its sessions. A returning tunnel
//! triggers a probe at once, and so does a broken watch or a failed call
//! while the spoke is up; once a probe has failed, probes follow the
//! breaker's backoff only, so calls to a dead spoke cannot hurry them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::Inner;
use super::breaker::backoff;
use super::spoke::Entry;
use crate::core::SessionError;

/// Between probes of a healthy spoke.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// A probe slower than this failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// A session watch that lasted this long was working (see
/// `watch_failures`).
const WATCH_SOUND: Duration = Duration::from_secs(30);

/// Runs until the entry is stopped.
pub async fn run(inner: Arc<Inner>, entry: Arc<Entry>) {
    let mut watch: Option<JoinHandle<()>> = None;
    let mut wait = Duration::ZERO;
    let mut up = true;
    loop {
        tokio::select! {
            () = entry.stop.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
            () = entry.back.notified() => {}
            () = entry.wake.notified(), if up => {}
        }
        let before = entry.status();
        let outcome = probe(&entry).await;
        up = outcome.is_ok();
        wait = match outcome {
            Ok(()) => {
                if watch.as_ref().is_none_or(JoinHandle::is_finished) {
                    watch = Some(tokio::spawn(watch_sessions(inner.clone(), entry.clone())));
                }
                PROBE_INTERVAL
            }
            Err(reason) => {
                tracing::debug!(spoke = %entry.name, %reason, "spoke probe failed");
                if let Some(task) = watch.take() {
                    task.abort();
                }
                entry.failure(reason)
            }
        };
        // Lists are pushed only when what they show changed: a probe of a
        // healthy spoke changes nothing but its RTT and last-seen time.
        if !before.same_for_lists(&entry.status()) {
            inner.changed();
        }
    }
    if let Some(task) = watch {
        task.abort();
    }
}

async fn probe(entry: &Entry) -> Result<(), String> {
    let handle = entry
        .handle()
        .ok_or_else(|| "its tunnel is closed".to_owned())?;
    let started = Instant::now();
    let description = match tokio::time::timeout(PROBE_TIMEOUT, handle.describe()).await {
        Ok(Ok(d)) => d,
        Ok(Err(SessionError::Unreachable { reason, .. })) => return Err(reason),
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => {
            return Err(format!(
                "no answer within {} s",
                PROBE_TIMEOUT.as_secs_f64()
            ));
        }
    };
    let rtt = started.elapsed();
    if let Some(old) = entry.instance()
        && old != description.instance
    {
        tracing::info!(spoke = %entry.name, "spoke restarted: new instance");
        entry.forget_sessions();
    }
    entry.success(rtt, description);
    Ok(())
}

/// Follows the spoke's session list. Each time the watch ends or fails it
/// asks for a probe, then re-opens the watch after a wait that doubles
/// (with jitter, capped like the breaker's) while the watch keeps failing:
/// a spoke that answers probes but cannot send its list (one over the
/// message limit, say) must not be asked again in a hot loop. The monitor
/// aborts this task when a probe fails and starts a fresh one after.
async fn watch_sessions(inner: Arc<Inner>, entry: Arc<Entry>) {
    let mut failures = 0;
    loop {
        let started = Instant::now();
        follow_sessions(&inner, &entry).await;
        entry.wake.notify_one();
        failures = watch_failures(failures, started.elapsed());
        tokio::time::sleep(backoff(failures, fastrand::f64())).await;
    }
}

/// Failures in a row after a watch that lasted `lasted`: one that held for
/// `WATCH_SOUND` was working, so the count starts again.
fn watch_failures(failures: u32, lasted: Duration) -> u32 {
    if lasted >= WATCH_SOUND {
        1
    } else {
        failures.saturating_add(1)
    }
}

/// One session watch, until its stream ends.
async fn follow_sessions(inner: &Inner, entry: &Entry) {
    let Some(handle) = entry.handle() else {
        return;
    };
    match handle.watch_sessions().await {
        Ok(mut lists) => {
            while let Some(list) = lists.recv().await {
                entry.seen(Some(list));
                inner.changed();
            }
            tracing::debug!(spoke = %entry.name, "session watch ended");
        }
        Err(e) => tracing::debug!(spoke = %entry.name, error = %e, "session watch failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_watch_backs_off_and_a_sound_one_starts_again() {
        let quick = Duration::from_millis(5);
        let mut failures = 0;
        let waits: Vec<Duration> = (0..12)
            .map(|_| {
                failures = watch_failures(failures, quick);
                backoff(failures, 0.5)
            })
            .collect();
        assert_eq!(waits[0], Duration::from_millis(250));
        assert_eq!(waits[2], Duration::from_secs(1));
        assert_eq!(waits[3], super::super::breaker::MAX_DELAY, "capped");
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(waits[11], super::super::breaker::MAX_DELAY);
        assert_eq!(watch_failures(failures, WATCH_SOUND), 1);
    }
}
