//! Fan-out of a live stream to one subscriber, from a local session or
//! from a hub's copy of a remote session's stream (any [`Source`]).
//!
//! Each subscriber is a task that pulls from the output log at its own
//! offset, so nothing is queued per subscriber beyond a small channel. A
//! slow subscriber never slows the PTY or the others: while it lags, the log
//! moves on; once its offset has fallen off the log it gets a fresh snapshot
//! (a resync) and the skipped range shows in the offsets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::events::Events;
use super::log::Read;
use super::session::{Inner, LiveState, Session};
use super::types::{SnapshotReason, StreamEvent};

/// Events a subscriber may have in flight. Small on purpose: the log is the
/// real buffer, and data pulled late is coalesced into bigger events.
pub const SUBSCRIBER_QUEUE: usize = 8;
/// Largest output event.
pub const MAX_EVENT_BYTES: usize = 256 << 10;

/// A stream subscribers pull from: an output log by absolute offset, the
/// live state (size, idle, exit), and screen snapshots.
#[async_trait::async_trait]
pub trait Source: Send + Sync + 'static {
    /// For logs.
    fn label(&self) -> String;
    /// The end offset of the log; changes wake subscribers.
    fn end_rx(&self) -> watch::Receiver<u64>;
    /// Size, idle and exit. The stream ends when every sender is gone.
    fn state_rx(&self) -> watch::Receiver<LiveState>;
    fn log_bounds(&self) -> (u64, u64);
    fn read_log(&self, offset: u64, max: usize) -> Read;
    /// A snapshot of the screen and the offset it describes. `None`: none
    /// can be had, and the stream ends.
    async fn snapshot(&self, reason: SnapshotReason) -> Option<(u64, StreamEvent)>;
    /// Live subscribers, counted while their tasks run.
    fn subscribers(&self) -> &AtomicU32;
    /// Whether the stream was set back to before `pos`: a reader there
    /// will never see `pos` come round (a hub's copy of a session whose
    /// spoke answered a resume from beyond its end). A reader ahead of the
    /// end otherwise waits: a snapshot may run ahead of the output it
    /// describes.
    fn rewound_past(&self, _pos: u64) -> bool {
        false
    }
}

/// Starts streaming `source`. `from_offset` still held by the log: a replay
/// from there. Otherwise a snapshot, then live output. The stream ends
/// after `Exited`, or when the receiver is dropped. The consumer's polls
/// drive it (see [`Events`]): no task between the log and the consumer.
pub fn stream<S: Source>(source: Arc<S>, from_offset: Option<u64>) -> Events<StreamEvent> {
    let counted = Counted::new(source);
    Events::driven(SUBSCRIBER_QUEUE, move |tx| async move {
        run(&*counted.0, from_offset, tx).await;
    })
}

/// Counts a subscriber while its stream lives, however it ends.
struct Counted<S: Source>(Arc<S>);

impl<S: Source> Counted<S> {
    fn new(source: Arc<S>) -> Self {
        source.subscribers().fetch_add(1, Ordering::Relaxed);
        Counted(source)
    }
}

impl<S: Source> Drop for Counted<S> {
    fn drop(&mut self) {
        self.0.subscribers().fetch_sub(1, Ordering::Relaxed);
    }
}

impl Session {
    /// Starts streaming the session (see [`stream`]).
    pub fn subscribe(&self, from_offset: Option<u64>) -> Events<StreamEvent> {
        stream(Arc::new(self.clone()), from_offset)
    }
}

#[async_trait::async_trait]
impl Source for Session {
    fn label(&self) -> String {
        self.name()
    }

    fn end_rx(&self) -> watch::Receiver<u64> {
        self.inner().end_rx()
    }

    fn state_rx(&self) -> watch::Receiver<LiveState> {
        self.inner().state_rx()
    }

    fn log_bounds(&self) -> (u64, u64) {
        self.inner().log_bounds()
    }

    fn read_log(&self, offset: u64, max: usize) -> Read {
        self.inner().read_log(offset, max)
    }

    /// The screen at the parser's offset, brought up to the log's end.
    async fn snapshot(&self, reason: SnapshotReason) -> Option<(u64, StreamEvent)> {
        let inner: Arc<Inner> = self.inner().clone();
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

    fn subscribers(&self) -> &AtomicU32 {
        &self.inner().subscribers
    }
}

async fn run<S: Source + ?Sized>(
    source: &S,
    from_offset: Option<u64>,
    tx: mpsc::Sender<StreamEvent>,
) {
    let mut end_rx = source.end_rx();
    let mut state_rx = source.state_rx();
    let mut seen: LiveState = state_rx.borrow_and_update().clone();
    let (start, end) = source.log_bounds();
    let mut pos = match from_offset {
        Some(offset) if (start..=end).contains(&offset) => offset,
        _ => match source.snapshot(SnapshotReason::Initial).await {
            Some((offset, event)) => {
                // The snapshot shows the size at its offset; a later
                // resize still gets its own event.
                if let StreamEvent::Snapshot { cols, rows, .. } = &event {
                    (seen.cols, seen.rows) = (*cols, *rows);
                }
                if tx.send(event).await.is_err() {
                    return;
                }
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
            match source.read_log(pos, MAX_EVENT_BYTES) {
                Read::Data(data) => {
                    let offset = pos;
                    pos += data.len() as u64;
                    permit.send(StreamEvent::Output { offset, data });
                }
                Read::Future { .. } if !source.rewound_past(pos) => break,
                // Fallen off the log's start, or left beyond an end that
                // was set back: the screen as it is, and on from there.
                Read::Gone { .. } | Read::Future { .. } => {
                    drop(permit);
                    match source.snapshot(SnapshotReason::Resync).await {
                        Some((offset, event)) => {
                            tracing::debug!(stream = %source.label(), from = pos, to = offset, "subscriber resynced");
                            pos = offset;
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        None => return,
                    }
                }
                Read::AtEnd => break,
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
