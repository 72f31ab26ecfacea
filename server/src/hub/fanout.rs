//! Subscribe through the hub: one upstream stream per session, however many
//! subscribers, fanned out with the same rules as on a spoke (each
//! subscriber pulls from a log at its own offset; one that falls off the
//! log gets a resync snapshot). Upstream breaks resume by offset.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::watch;

use super::Inner;
use super::breaker::backoff;
use super::spoke::Entry;
use crate::core::error::ErrorKind;
use crate::core::log::{OutputLog, Read};
use crate::core::session::{LiveState, lock};
use crate::core::subscribe::{self, Snapshot, Source};
use crate::core::{Events, SessionSummary, SnapshotReason, StreamEvent};

/// Bytes of each upstream's output kept for subscribers to catch up from
/// (as a spoke's default log).
const LOG_BYTES: usize = 4 << 20;
/// A snapshot older than this much output is not replayed to a new
/// subscriber; a fresh one is fetched instead.
const MAX_BASE_REPLAY: u64 = 1 << 20;
/// How long a subscriber waits for a snapshot from the spoke.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(10);
/// How often an upstream checks whether anyone still subscribes.
const UNWATCHED_CHECK: Duration = Duration::from_secs(1);
/// Longest wait between attempts to reopen a broken upstream.
const MAX_RETRY: Duration = super::breaker::MAX_DELAY;

#[derive(Default)]
pub struct Fanout {
    /// `spoke:id` to its upstream, while one runs.
    upstreams: Mutex<HashMap<String, Weak<Upstream>>>,
}

impl Fanout {
    pub fn upstreams(&self) -> usize {
        lock(&self.upstreams)
            .values()
            .filter(|u| u.strong_count() > 0)
            .count()
    }

    pub fn subscribers(&self) -> u64 {
        lock(&self.upstreams)
            .values()
            .filter_map(Weak::upgrade)
            .map(|u| u64::from(u.subscribers.load(Ordering::Relaxed)))
            .sum()
    }

    /// A subscription to `session` (as the spoke described it) through the
    /// inner upstream, which starts if none runs yet.
    pub fn subscribe(
        inner: &Arc<Inner>,
        entry: Arc<Entry>,
        session: &SessionSummary,
        from_offset: Option<u64>,
    ) -> Events<StreamEvent> {
        let key = format!("{}:{}", entry.name, session.id);
        let mut upstreams = lock(&inner.fanout.upstreams);
        let upstream = match upstreams.get(&key).and_then(Weak::upgrade) {
            Some(upstream) => upstream,
            None => {
                let upstream = Arc::new(Upstream::new(key.clone(), entry, session, from_offset));
                upstreams.insert(key, Arc::downgrade(&upstream));
                tokio::spawn(pump(inner.clone(), upstream.clone(), from_offset));
                upstream
            }
        };
        // Counted before the lock is released, so a winding-down upstream
        // sees this subscriber.
        subscribe::stream(upstream, from_offset)
    }
}

pub struct Upstream {
    key: String,
    entry: Arc<Entry>,
    session: String,
    pipe: Mutex<Pipe>,
    end_tx: watch::Sender<u64>,
    /// Dropped when the upstream ends for good: subscribers' streams end.
    state_tx: Mutex<Option<watch::Sender<LiveState>>>,
    state_rx: watch::Receiver<LiveState>,
    /// Set once the first upstream event arrived (or the upstream ended).
    ready: watch::Sender<bool>,
    subscribers: AtomicU32,
}

struct Pipe {
    log: OutputLog,
    /// The last snapshot the spoke sent, if the log still follows it.
    base: Option<Base>,
    /// An event has arrived: the log's end is the resume point.
    started: bool,
    /// The furthest end the log had before a snapshot set it back (the
    /// spoke answered a resume from beyond its end): subscribers up to
    /// here wait for nothing and are resynced.
    rewound_from: u64,
}

#[derive(Clone)]
struct Base {
    offset: u64,
    screen: Bytes,
    cols: u16,
    rows: u16,
}

impl Base {
    fn snapshot(&self, reason: SnapshotReason, bridge: Option<Events<StreamEvent>>) -> Snapshot {
        let event = StreamEvent::Snapshot {
            screen: self.screen.clone(),
            cols: self.cols,
            rows: self.rows,
            offset: self.offset,
            reason,
        };
        Snapshot {
            offset: self.offset,
            event,
            bridge,
        }
    }
}

impl Upstream {
    fn new(
        key: String,
        entry: Arc<Entry>,
        session: &SessionSummary,
        from_offset: Option<u64>,
    ) -> Self {
        let mut log = OutputLog::new(LOG_BYTES);
        if let Some(offset) = from_offset {
            log.reset_to(offset);
        }
        let (state_tx, state_rx) = watch::channel(LiveState {
            cols: session.cols,
            rows: session.rows,
            idle: session.idle,
            exit: None,
        });
        Upstream {
            key,
            entry,
            session: session.id.clone(),
            end_tx: watch::Sender::new(log.end()),
            pipe: Mutex::new(Pipe {
                log,
                base: None,
                started: false,
                rewound_from: 0,
            }),
            state_tx: Mutex::new(Some(state_tx)),
            state_rx,
            ready: watch::Sender::new(false),
            subscribers: AtomicU32::new(0),
        }
    }

    fn unwatched(&self) -> bool {
        self.subscribers.load(Ordering::Relaxed) == 0
    }

    fn set_state(&self, f: impl FnOnce(&mut LiveState)) {
        if let Some(tx) = lock(&self.state_tx).as_ref() {
            tx.send_modify(f);
        }
    }

    /// Where a reopened upstream resumes: the log's end once anything
    /// arrived, else what the first subscriber asked for.
    fn resume_point(&self, first: Option<u64>) -> Option<u64> {
        let pipe = lock(&self.pipe);
        if pipe.started {
            Some(pipe.log.end())
        } else {
            first
        }
    }

    /// Applies one upstream event; true once the session has exited.
    fn apply(&self, event: StreamEvent, inner: &Inner) -> bool {
        let mut pipe = lock(&self.pipe);
        pipe.started = true;
        let exited = match event {
            StreamEvent::Snapshot {
                screen,
                cols,
                rows,
                offset,
                ..
            } => {
                let end = pipe.log.end();
                if offset < end {
                    pipe.rewound_from = pipe.rewound_from.max(end);
                }
                if offset != end {
                    pipe.log.reset_to(offset);
                }
                pipe.base = Some(Base {
                    offset,
                    screen,
                    cols,
                    rows,
                });
                self.set_state(|s| (s.cols, s.rows) = (cols, rows));
                false
            }
            StreamEvent::Output { offset, data } => {
                let end = pipe.log.end();
                let len = data.len() as u64;
                if offset > end {
                    // A gap the spoke did not cover with a snapshot: what
                    // the log held no longer leads here.
                    pipe.log.reset_to(offset);
                    pipe.base = None;
                    pipe.log.append(data, Duration::ZERO);
                } else if offset + len > end {
                    // Skip what a resumed stream repeats.
                    pipe.log
                        .append(data.slice((end - offset) as usize..), Duration::ZERO);
                }
                inner.counters.forwarded(len as usize);
                false
            }
            StreamEvent::Resized { cols, rows } => {
                self.set_state(|s| (s.cols, s.rows) = (cols, rows));
                false
            }
            StreamEvent::Idle(idle) => {
                self.set_state(|s| s.idle = idle);
                false
            }
            StreamEvent::Exited(exit) => {
                let end = pipe.log.end();
                self.set_state(|s| s.exit = Some((exit, end)));
                true
            }
        };
        let end = pipe.log.end();
        drop(pipe);
        self.end_tx
            .send_if_modified(|v| std::mem::replace(v, end) != end);
        self.ready.send_if_modified(|r| !std::mem::replace(r, true));
        exited
    }

    fn usable_base(&self) -> Option<Base> {
        let pipe = lock(&self.pipe);
        let base = pipe.base.as_ref()?;
        (pipe.log.start() <= base.offset && pipe.log.end() - base.offset <= MAX_BASE_REPLAY)
            .then(|| base.clone())
    }

    /// A snapshot straight from the spoke, and the rest of its stream (a
    /// second stream, read only while the log does not hold the offsets it
    /// brings).
    async fn fetch_snapshot(&self) -> Option<(Base, Events<StreamEvent>)> {
        let handle = self.entry.callable().ok()?;
        let mut events = handle.subscribe(&self.session, None).await.ok()?;
        let Ok(Some(StreamEvent::Snapshot {
            screen,
            cols,
            rows,
            offset,
            ..
        })) = tokio::time::timeout(SNAPSHOT_WAIT, events.recv()).await
        else {
            return None;
        };
        let base = Base {
            offset,
            screen,
            cols,
            rows,
        };
        let mut pipe = lock(&self.pipe);
        if pipe.log.holds(offset) {
            pipe.base = Some(base.clone());
        }
        Some((base, events))
    }
}

#[async_trait]
impl Source for Upstream {
    fn label(&self) -> String {
        self.key.clone()
    }

    fn end_rx(&self) -> watch::Receiver<u64> {
        self.end_tx.subscribe()
    }

    fn state_rx(&self) -> watch::Receiver<LiveState> {
        self.state_rx.clone()
    }

    fn log_bounds(&self) -> (u64, u64) {
        let pipe = lock(&self.pipe);
        (pipe.log.start(), pipe.log.end())
    }

    fn read_log(&self, offset: u64, max: usize) -> Read {
        lock(&self.pipe).log.read(offset, max)
    }

    async fn snapshot(&self, reason: SnapshotReason) -> Option<Snapshot> {
        // A new upstream's first event is often the snapshot itself.
        let mut ready = self.ready.subscribe();
        let _ = tokio::time::timeout(SNAPSHOT_WAIT, ready.wait_for(|r| *r)).await;
        if let Some(base) = self.usable_base() {
            return Some(base.snapshot(reason, None));
        }
        // During a flood the spoke's snapshot may be older than anything
        // the log still holds: the rest of its stream bridges the gap.
        let (base, rest) = self.fetch_snapshot().await?;
        Some(base.snapshot(reason, Some(rest)))
    }

    fn subscribers(&self) -> &AtomicU32 {
        &self.subscribers
    }

    fn rewound_past(&self, pos: u64) -> bool {
        pos <= lock(&self.pipe).rewound_from
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Exited,
    /// The session is gone from its spoke.
    Gone,
    Unwatched,
}

/// Runs the upstream until it ends for good, then removes it: subscribers
/// of a session that did not exit see their stream end (those of an exited
/// one still get `Exited`), and the next subscriber starts a new upstream.
async fn pump(inner: Arc<Inner>, up: Arc<Upstream>, first: Option<u64>) {
    loop {
        let ending = stream_until_end(&inner, &up, first).await;
        let mut upstreams = lock(&inner.fanout.upstreams);
        // Someone subscribed while it was winding down: go on.
        if ending == Ending::Unwatched && !up.unwatched() {
            continue;
        }
        if upstreams
            .get(&up.key)
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&up)))
        {
            upstreams.remove(&up.key);
        }
        drop(upstreams);
        if ending != Ending::Exited {
            lock(&up.state_tx).take();
        }
        up.ready.send_replace(true);
        return;
    }
}

/// Reads the spoke's stream into the upstream's log. A broken stream is
/// reopened from the log's end, backing off while the spoke is away.
async fn stream_until_end(inner: &Inner, up: &Upstream, first: Option<u64>) -> Ending {
    let mut failures = 0;
    let mut check = tokio::time::interval(UNWATCHED_CHECK);
    loop {
        let opened = match up.entry.callable() {
            Ok(handle) => handle.subscribe(&up.session, up.resume_point(first)).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(mut events) => {
                let mut delivered = false;
                loop {
                    tokio::select! {
                        event = events.recv() => match event {
                            Some(event) => {
                                delivered = true;
                                if up.apply(event, inner) {
                                    return Ending::Exited;
                                }
                            }
                            None => break,
                        },
                        _ = check.tick() => if up.unwatched() { return Ending::Unwatched },
                    }
                }
                // A stream that worked and ended (the link ended a watch
                // this side read too slowly, or the connection was
                // replaced) is reopened at once; only failures back off.
                if delivered {
                    failures = 0;
                    continue;
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                tracing::debug!(upstream = %up.key, error = %e, "upstream session gone");
                return Ending::Gone;
            }
            Err(e) => {
                tracing::debug!(upstream = %up.key, error = %e, "upstream failed");
                up.entry.wake.notify_one();
            }
        }
        failures += 1;
        let deadline =
            tokio::time::Instant::now() + backoff(failures, fastrand::f64()).min(MAX_RETRY);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                _ = check.tick() => if up.unwatched() { return Ending::Unwatched },
            }
        }
    }
}
