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
    async fn snapshot(&self, reason: SnapshotReason) -> Option<Snapshot>;
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

/// A snapshot for a subscriber, and how it streams on from there.
pub struct Snapshot {
    pub offset: u64,
    /// A [`StreamEvent::Snapshot`].
    pub event: StreamEvent,
    /// The stream from `offset` on, for a source whose log may no longer
    /// hold it (a hub's copy of a flooded session, given an older snapshot
    /// by its spoke): the subscriber reads it until it reaches the log.
    pub bridge: Option<Events<StreamEvent>>,
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

    /// The screen at the parser's offset, brought up to the log's end at
    /// the call. The log keeps everything from the parser's offset on, so a
    /// subscriber can always stream on from the snapshot.
    async fn snapshot(&self, reason: SnapshotReason) -> Option<Snapshot> {
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
            Snapshot {
                offset,
                event,
                bridge: None,
            }
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
    let mut bridge = None;
    let mut pos = match from_offset {
        Some(offset) if (start..=end).contains(&offset) => offset,
        _ => match source.snapshot(SnapshotReason::Initial).await {
            Some(Snapshot {
                offset,
                event,
                bridge: more,
            }) => {
                bridge = more;
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
            let read = source.read_log(pos, MAX_EVENT_BYTES);
            if !matches!(read, Read::Gone { .. }) {
                // At the log (or ahead of it): the bridge has done its work.
                bridge = None;
            }
            match read {
                Read::Data(data) => {
                    let offset = pos;
                    pos += data.len() as u64;
                    permit.send(StreamEvent::Output { offset, data });
                }
                Read::Future { .. } if !source.rewound_past(pos) => break,
                Read::Gone { .. } if let Some(from) = bridge.as_mut() => {
                    drop(permit);
                    match bridged(from.recv().await, &mut pos) {
                        Ok(Some(event)) => {
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        // Ended: a resync from the source, next round.
                        Err(()) => bridge = None,
                    }
                }
                // Fallen off the log's start, or left beyond an end that
                // was set back: the screen as it is, and on from there.
                Read::Gone { .. } | Read::Future { .. } => {
                    drop(permit);
                    match source.snapshot(SnapshotReason::Resync).await {
                        Some(snapshot) => {
                            tracing::debug!(stream = %source.label(), from = pos, to = snapshot.offset, "subscriber resynced");
                            pos = snapshot.offset;
                            bridge = snapshot.bridge;
                            if tx.send(snapshot.event).await.is_err() {
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

/// What a subscriber at `pos` sends for one event of its bridge: `Err` once
/// the bridge has ended or no longer follows on from `pos`.
fn bridged(event: Option<StreamEvent>, pos: &mut u64) -> Result<Option<StreamEvent>, ()> {
    match event {
        Some(StreamEvent::Output { offset, data }) => {
            let end = offset + data.len() as u64;
            if offset > *pos {
                return Err(());
            }
            if end <= *pos {
                return Ok(None);
            }
            let data = data.slice((*pos - offset) as usize..);
            let offset = std::mem::replace(pos, end);
            Ok(Some(StreamEvent::Output { offset, data }))
        }
        Some(StreamEvent::Snapshot {
            screen,
            cols,
            rows,
            offset,
            ..
        }) => {
            *pos = offset;
            Ok(Some(StreamEvent::Snapshot {
                screen,
                cols,
                rows,
                offset,
                reason: SnapshotReason::Resync,
            }))
        }
        // The source's own state says these.
        Some(StreamEvent::Resized { .. } | StreamEvent::Idle(_)) => Ok(None),
        Some(StreamEvent::Exited(_)) | None => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(offset: u64, data: &'static [u8]) -> Option<StreamEvent> {
        Some(StreamEvent::Output {
            offset,
            data: Bytes::from_static(data),
        })
    }

    #[test]
    fn a_bridge_sends_only_what_follows_on_from_the_subscriber() {
        let mut pos = 10;
        // Seen already: nothing.
        assert!(matches!(bridged(output(4, b"abcdef"), &mut pos), Ok(None)));
        // Overlapping: the new part, from `pos`.
        let Ok(Some(StreamEvent::Output { offset, data })) = bridged(output(8, b"abcd"), &mut pos)
        else {
            panic!("the new part");
        };
        assert_eq!((offset, &data[..], pos), (10, &b"cd"[..], 12));
        // A gap, an exit or the end: the bridge is of no more use.
        assert!(bridged(output(13, b"x"), &mut pos).is_err());
        assert!(bridged(None, &mut pos).is_err());
        assert_eq!(pos, 12);
    }

    #[test]
    fn a_snapshot_on_a_bridge_is_a_resync_the_subscriber_moves_to() {
        let mut pos = 10;
        let snapshot = StreamEvent::Snapshot {
            screen: Bytes::new(),
            cols: 80,
            rows: 24,
            offset: 99,
            reason: SnapshotReason::Initial,
        };
        let Ok(Some(StreamEvent::Snapshot { reason, .. })) = bridged(Some(snapshot), &mut pos)
        else {
            panic!("a snapshot");
        };
        assert_eq!((reason, pos), (SnapshotReason::Resync, 99));
    }
}
