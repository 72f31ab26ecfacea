//! Fan-out of a session's live stream to one subscriber.
//!
//! Each subscriber is a task that pulls from the output log at its own
//! offset, so nothing is queued per subscriber beyond a small channel. A
//! slow subscriber never slows the PTY or the others: while it lags, the log
//! moves on; once its offset has fallen off the log it gets a fresh snapshot
//! (a resync) and the skipped range shows in the offsets.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::log::Read;
use super::session::{Inner, LiveState, Session};
use super::types::{SnapshotReason, StreamEvent};

/// Events a subscriber may have in flight. Small on purpose: the log is the
/// real buffer, and data pulled late is coalesced into bigger events.
pub const SUBSCRIBER_QUEUE: usize = 8;
/// Largest output event.
pub const MAX_EVENT_BYTES: usize = 256 << 10;

impl Session {
    /// Starts streaming. `from_offset` still held by the log: a replay from
    /// there. Otherwise a snapshot, then live output. The stream ends after
    /// `Exited`, or when the receiver is dropped.
    pub fn subscribe(&self, from_offset: Option<u64>) -> mpsc::Receiver<StreamEvent> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        tokio::spawn(run(self.inner().clone(), from_offset, tx));
        rx
    }
}

async fn run(inner: Arc<Inner>, from_offset: Option<u64>, tx: mpsc::Sender<StreamEvent>) {
    let mut end_rx = inner.end_rx();
    let mut state_rx = inner.state_rx();
    let mut seen: LiveState = state_rx.borrow_and_update().clone();
    let (start, end) = inner.log_bounds();
    let mut pos = match from_offset {
        Some(offset) if (start..=end).contains(&offset) => offset,
        _ => match snapshot(&inner, SnapshotReason::Initial).await {
            Some((offset, event)) => {
                if tx.send(event).await.is_err() {
                    return;
                }
                // The snapshot shows the size at its offset.
                let state = state_rx.borrow_and_update().clone();
                seen.cols = state.cols;
                seen.rows = state.rows;
                offset
            }
            None => return,
        },
    };
    loop {
        end_rx.borrow_and_update();
        let state = state_rx.borrow_and_update().clone();
        if (state.cols, state.rows) != (seen.cols, seen.rows) {
            let event = StreamEvent::Resized {
                cols: state.cols,
                rows: state.rows,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
        if state.idle != seen.idle
            && state.exit.is_none()
            && tx.send(StreamEvent::Idle(state.idle)).await.is_err()
        {
            return;
        }
        seen = state.clone();
        // Drain what the log holds. Reserve first, then read: data pulled at
        // the last moment is the freshest and the most coalesced.
        loop {
            let Ok(permit) = tx.reserve().await else {
                return;
            };
            match inner.read_log(pos, MAX_EVENT_BYTES) {
                Read::Data(data) => {
                    let offset = pos;
                    pos += data.len() as u64;
                    permit.send(StreamEvent::Output { offset, data });
                }
                Read::Gone { .. } => {
                    drop(permit);
                    match snapshot(&inner, SnapshotReason::Resync).await {
                        Some((offset, event)) => {
                            tracing::debug!(session = %inner.name(), skipped = offset - pos, "subscriber resynced");
                            pos = offset;
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        None => return,
                    }
                }
                Read::AtEnd | Read::Future { .. } => break,
            }
        }
        if let Some((exit, final_offset)) = &state.exit
            && pos >= *final_offset
        {
            // Exited is last: everything before the final offset went out.
            let _ = tx.send(StreamEvent::Exited(exit.clone())).await;
            return;
        }
        tokio::select! {
            // New output.
            changed = end_rx.changed() => if changed.is_err() { return },
            // Resize, idle or exit.
            changed = state_rx.changed() => if changed.is_err() { return },
            // The subscriber went away while nothing happened.
            () = tx.closed() => return,
        }
    }
}

/// A snapshot of the screen at the parser's offset, brought up to the log's
/// end. `None` only if the blocking task failed.
async fn snapshot(inner: &Arc<Inner>, reason: SnapshotReason) -> Option<(u64, StreamEvent)> {
    let inner = inner.clone();
    tokio::task::spawn_blocking(move || {
        let term = inner.catch_up();
        let (cols, rows) = term.size();
        let offset = term.offset();
        let event = StreamEvent::Snapshot {
            screen: Bytes::from(term.snapshot()),
            cols,
            rows,
            offset,
            reason,
        };
        (offset, event)
    })
    .await
    .ok()
}
