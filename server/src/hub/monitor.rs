//! Keeps one spoke's health and session list current: probes it (Describe,
//! timed for the RTT) and watches its sessions. A broken watch, a failed
//! call or a returning tunnel triggers a probe at once; failures back off
//! through the breaker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::Shared;
use super::spoke::Entry;
use crate::core::SessionError;

/// Between probes of a healthy spoke.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// A probe slower than this failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs until the entry is stopped.
pub async fn run(shared: Arc<Shared>, entry: Arc<Entry>) {
    let mut watch: Option<JoinHandle<()>> = None;
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            () = entry.stop.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
            () = entry.wake.notified() => {}
        }
        wait = match probe(&entry).await {
            Ok(()) => {
                if watch.as_ref().is_none_or(JoinHandle::is_finished) {
                    watch = Some(tokio::spawn(watch_sessions(shared.clone(), entry.clone())));
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
        shared.changed();
    }
    if let Some(task) = watch {
        task.abort();
    }
}

async fn probe(entry: &Entry) -> Result<(), String> {
    let link = entry
        .link()
        .ok_or_else(|| "its tunnel is closed".to_owned())?;
    let started = Instant::now();
    let description = match tokio::time::timeout(PROBE_TIMEOUT, link.describe()).await {
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

/// Follows the spoke's session list until the stream ends, then asks for a
/// probe.
async fn watch_sessions(shared: Arc<Shared>, entry: Arc<Entry>) {
    let Some(link) = entry.link() else {
        return;
    };
    match link.watch_sessions().await {
        Ok(mut lists) => {
            while let Some(list) = lists.recv().await {
                entry.seen(Some(list));
                shared.changed();
            }
            tracing::debug!(spoke = %entry.name, "session watch ended");
        }
        Err(e) => tracing::debug!(spoke = %entry.name, error = %e, "session watch failed"),
    }
    entry.wake.notify_one();
}
