//! One session: a PTY, its child process, the output log and the terminal
//! state.
//!
//! Tasks and threads, and why each exists. An idle session holds no thread:
//! the PTY master is non-blocking and the child's exit is a pidfd, both
//! waited on by the runtime (see `pty_fd`).
//! - reader task: PTY reads; appends each read to the output log and wakes
//!   subscribers. It is the forwarding path: it never parses.
//! - parser thread: applies output to the vt100 parser in batches, from the
//!   log's tail it has not parsed yet. Started by the reader when output
//!   arrives, it ends after `PARSER_LINGER` without any. The reader waits
//!   for it only when that backlog is full (backpressure to the PTY): the
//!   live stream runs ahead of the parser during bursts, and no byte escapes
//!   the scrollback. A thread, at a lower priority, because parsing is CPU
//!   work that must not hold up the runtime's threads.
//! - writer task: PTY writes fed by a bounded queue (input and replies to
//!   terminal queries), waiting for room as the program reads.
//! - waiter task: reaps the child, frees the PTY, records the exit.
//! - idle monitor task: flips `idle` after a quiet period.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use portable_pty::{MasterPty, PtySize, native_pty_system};
use tokio::sync::watch;

mod config;
mod input;
pub mod once;
mod program;
mod pty_fd;
mod run;
pub mod shell;
mod threads;

pub use config::SessionConfig;
pub use run::{CommandList, DEFAULT_RUN_OUTPUT, MAX_RUN_OUTPUT, RunEnd, RunResult, RunSpec};

use input::{InputPath, Sent, input_path};
use pty_fd::PtyFd;

use crate::core::clock::from_unix_ms;
use crate::core::commands::Commands;
use crate::core::error::{Result, SessionError};
use crate::core::log::{OutputLog, Read as LogRead};
use crate::core::terminal::{Attention, Terminal};
use crate::core::types::{ExitInfo, ScreenState, SessionSummary, SpawnSpec, Status};

/// Size of one PTY read. Bigger reads mean fewer, larger log chunks.
const READ_BUFFER: usize = 64 << 10;
/// Most bytes the parser takes from its backlog at once.
const PARSE_BATCH: usize = 64 << 10;
/// The parser defers to forwarding while output arrives this fast: at
/// least `BURST_BYTES` per `BURST_WINDOW` (12.5 MB/s).
const BURST_WINDOW: Duration = Duration::from_millis(20);
const BURST_BYTES: u64 = 256 << 10;
/// Backlog up to which the parser stands aside during a burst. Past it the
/// parser works alongside (at its lower priority): what waits for it is
/// memory, and a resync snapshot parses it first.
const STAND_ASIDE: usize = 8 << 20;
/// How long a parser thread waits for more output before it ends.
const PARSER_LINGER: Duration = Duration::from_secs(5);
/// Input queue towards the writer task. Full: senders wait (up to
/// `input_timeout`), which is backpressure from a program that reads slowly.
const INPUT_QUEUE: usize = 64;
/// How long the waiter lets the reader drain output after the child exits.
/// Only reached when a background process keeps the PTY open.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// Resize history kept for recordings; the oldest entries are dropped.
const MAX_RESIZES: usize = 256;
/// Unparsed output up to which named keys wait for the exact cursor mode.
const EXACT_KEYS_BACKLOG: usize = 1 << 20;

/// State that changes rarely and is watched by subscribers and waiters.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveState {
    pub cols: u16,
    pub rows: u16,
    pub idle: bool,
    /// Set once, last: how the process ended and the final stream offset.
    pub exit: Option<(ExitInfo, u64)>,
}

/// A resize as recorded for asciinema `r` events.
#[derive(Debug, Clone, Copy)]
pub struct ResizeMark {
    pub offset: u64,
    pub at: Duration,
    pub cols: u16,
    pub rows: u16,
}

struct PipeState {
    /// Keeps every byte from the parser's offset on (see
    /// [`OutputLog::keep_after`]): the backlog is the log's tail, and a
    /// snapshot's offset is always still there to stream from.
    log: OutputLog,
    /// Bytes the parser has taken: the start of its backlog.
    parsed: u64,
    /// A parser thread runs (or is starting).
    parser: bool,
    /// The reader has stopped: no more bytes will arrive.
    closed: bool,
    /// The session was removed: the parser thread stops.
    removed: bool,
}

impl PipeState {
    /// Output the parser has not taken yet.
    fn unparsed(&self) -> usize {
        (self.log.end() - self.parsed) as usize
    }
}

/// A cheap handle; clones share the session.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    id: String,
    name: Mutex<String>,
    spoke: String,
    command: String,
    args: Vec<String>,
    cwd: String,
    created_by: String,
    created_at: SystemTime,
    exited_at: Mutex<Option<SystemTime>>,
    started: Instant,
    pid: Option<u32>,
    config: SessionConfig,
    pipe: Mutex<PipeState>,
    /// Signalled when the log grows or the reader stops (for the parser).
    pipe_changed: Condvar,
    /// Signalled when the parser takes a batch (for a reader waiting for
    /// room in the backlog).
    parsed_some: tokio::sync::Notify,
    /// Set once the session is removed: the reader lets go of the PTY.
    removed: watch::Sender<bool>,
    term: Mutex<Terminal>,
    end_tx: watch::Sender<u64>,
    state_tx: watch::Sender<LiveState>,
    input: Mutex<Option<InputPath>>,
    master: Mutex<Option<Box<dyn MasterPty + Send>>>,
    last_output_ms: AtomicI64,
    /// The output offset when input was last taken (see `Session::send`).
    last_input_offset: AtomicU64,
    /// The window title as of the last parsed batch, readable without
    /// waiting for the parser.
    title: Mutex<String>,
    /// Bells and notifications as of the last parsed batch, and when the
    /// last was seen.
    attention: Mutex<(Attention, Option<SystemTime>)>,
    /// Whether arrow keys use application mode (DECCKM), as of the last
    /// parsed batch.
    application_cursor: AtomicBool,
    resizes: Mutex<Vec<ResizeMark>>,
    /// Commands from the shell's prompt marks, fed by the parser; the
    /// channel carries their version.
    commands: Mutex<Commands>,
    commands_tx: watch::Sender<u64>,
    /// Started with vtr's shell integration: prompt marks will come.
    shell_integration: bool,
    /// Held by the one `Run` waiting for its command (see `run`).
    run_lock: tokio::sync::Mutex<()>,
    /// Request ids applied (see `once`).
    applied: Mutex<once::Applied>,
    list_changed: watch::Sender<u64>,
    /// Live subscribers of the stream (see `subscribe::Source`).
    pub(crate) subscribers: std::sync::atomic::AtomicU32,
}

/// Locks a mutex, ignoring poisoning: every critical section here leaves
/// the data consistent, so a panic elsewhere must not take the session down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    /// Starts `spec` (already validated) in a new PTY. Must run inside a
    /// tokio runtime. `list_changed` is bumped on every change a session
    /// list would show.
    pub fn spawn(
        id: String,
        spoke: String,
        spec: SpawnSpec,
        size: (u16, u16),
        config: SessionConfig,
        list_changed: watch::Sender<u64>,
    ) -> Result<Session> {
        let (cols, rows) = size;
        let command = if spec.command.is_empty() {
            std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".to_owned())
        } else {
            spec.command.clone()
        };
        let shown = command.clone();
        let failed = |reason: String| SessionError::SpawnFailed {
            command: shown.clone(),
            reason,
        };
        let cwd = if spec.cwd.is_empty() {
            std::env::var("HOME").unwrap_or_else(|_| "/".to_owned())
        } else {
            spec.cwd.clone()
        };
        if !std::path::Path::new(&cwd).is_dir() {
            return Err(failed(format!("working directory {cwd:?} does not exist")));
        }
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| failed(format!("opening a PTY: {e}")))?;
        let (builder, mark_key) = program::command(&id, &spec, &command, &cwd, &config);
        let child = pair
            .slave
            .spawn_command(builder)
            .map_err(|e| failed(e.to_string()))?;
        // The child holds the slave now; dropping ours lets reads end at exit.
        drop(pair.slave);
        let pid = child.process_id();
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| failed(format!("PTY writer: {e}")))?;
        let master_fd = pair
            .master
            .as_raw_fd()
            .ok_or_else(|| failed("PTY master has no file descriptor".to_owned()))?;
        let pty = Arc::new(PtyFd::new(master_fd).map_err(|e| failed(format!("PTY master: {e}")))?);
        let (input, writer_end) = input_path(writer, master_fd, INPUT_QUEUE);
        let now = SystemTime::now();
        let inner = Arc::new(Inner {
            id,
            name: Mutex::new(spec.name.clone()),
            spoke,
            command,
            args: spec.args,
            cwd,
            created_by: spec.created_by.clone(),
            created_at: now,
            exited_at: Mutex::new(None),
            started: Instant::now(),
            pid,
            pipe: Mutex::new(PipeState {
                log: {
                    let mut log = OutputLog::new(config.log_capacity);
                    log.keep_after(0);
                    log
                },
                parsed: 0,
                parser: false,
                closed: false,
                removed: false,
            }),
            pipe_changed: Condvar::new(),
            parsed_some: tokio::sync::Notify::new(),
            removed: watch::Sender::new(false),
            term: Mutex::new(Terminal::new(rows, cols, config.scrollback)),
            end_tx: watch::Sender::new(0),
            state_tx: watch::Sender::new(LiveState {
                cols,
                rows,
                idle: false,
                exit: None,
            }),
            input: Mutex::new(Some(input)),
            master: Mutex::new(Some(pair.master)),
            last_output_ms: AtomicI64::new(0),
            last_input_offset: AtomicU64::new(0),
            title: Mutex::new(String::new()),
            attention: Mutex::new((Attention::default(), None)),
            application_cursor: AtomicBool::new(false),
            resizes: Mutex::new(vec![ResizeMark {
                offset: 0,
                at: Duration::ZERO,
                cols,
                rows,
            }]),
            shell_integration: mark_key.is_some(),
            commands: Mutex::new(Commands::with_key(mark_key)),
            run_lock: tokio::sync::Mutex::new(()),
            applied: Mutex::default(),
            commands_tx: watch::Sender::new(0),
            config,
            list_changed,
            subscribers: Default::default(),
        });
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(inner.clone().read_task(pty.clone(), done_tx));
        tokio::spawn(writer_end.run(pty));
        tokio::spawn(inner.clone().wait_task(child, done_rx));
        tokio::spawn(inner.clone().idle_monitor());
        Ok(Session { inner })
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub fn name(&self) -> String {
        lock(&self.inner.name).clone()
    }

    pub fn set_name(&self, name: String) {
        *lock(&self.inner.name) = name;
        self.inner.bump_list();
    }

    pub fn is_exited(&self) -> bool {
        self.inner.state_tx.borrow().exit.is_some()
    }

    pub fn summary(&self) -> SessionSummary {
        let i = &self.inner;
        let state = i.state_tx.borrow().clone();
        let attention = lock(&i.attention).clone();
        SessionSummary {
            id: i.id.clone(),
            name: self.name(),
            spoke: i.spoke.clone(),
            command: i.command.clone(),
            args: i.args.clone(),
            cwd: i.cwd.clone(),
            cols: state.cols,
            rows: state.rows,
            status: if state.exit.is_some() {
                Status::Exited
            } else {
                Status::Running
            },
            exit: state.exit.map(|(e, _)| e),
            idle: state.idle,
            created_at: i.created_at,
            exited_at: *lock(&i.exited_at),
            last_output_at: from_unix_ms(i.last_output_ms.load(Ordering::Relaxed)),
            output_offset: *i.end_tx.borrow(),
            pid: i.pid,
            title: lock(&i.title).clone(),
            subscribers: i.subscribers.load(Ordering::Relaxed),
            created_by: i.created_by.clone(),
            last_input_offset: Some(i.last_input_offset.load(Ordering::Acquire)),
            attention: attention.0.count,
            attention_text: attention.0.text.clone(),
            attention_at: attention.1,
            stale: false,
            spoke_last_seen: None,
        }
    }

    /// Stops the background work of a removed session: parsing (its screen
    /// is read at most by streams still draining, which catch up
    /// themselves) and reading the PTY, so its log no longer grows. Once
    /// its own handles close too (at exit), a background process that still
    /// holds the terminal gets a hangup instead of writing into it for ever.
    pub fn stop_parsing(&self) {
        lock(&self.inner.pipe).removed = true;
        self.inner.pipe_changed.notify_all();
        self.inner.removed.send_replace(true);
    }

    pub fn kill(&self, signal: Signal) -> Result<()> {
        let name = self.name();
        if self.is_exited() {
            return Err(SessionError::Exited { session: name });
        }
        let pid = self.inner.pid.ok_or_else(|| SessionError::Internal {
            session: name.clone(),
            reason: "no process id".into(),
        })?;
        nix::sys::signal::kill(Pid::from_raw(pid as i32), signal).map_err(|e| {
            SessionError::Internal {
                session: name,
                reason: format!("sending {signal}: {e}"),
            }
        })
    }

    /// Applies a new size: pending output is parsed at the old size first,
    /// then the terminal state and the PTY change together (off the async
    /// threads: the parser backlog may be long).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<()> {
        let session = self.clone();
        tokio::task::spawn_blocking(move || session.resize_now(cols, rows))
            .await
            .map_err(|e| SessionError::Internal {
                session: self.name(),
                reason: format!("resize task failed: {e}"),
            })?
    }

    fn resize_now(&self, cols: u16, rows: u16) -> Result<()> {
        let i = &self.inner;
        let mut term = i.catch_up();
        let master = lock(&i.master);
        let Some(master) = master.as_ref() else {
            return Err(SessionError::Exited {
                session: self.name(),
            });
        };
        term.set_size(rows, cols);
        master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| SessionError::Internal {
                session: self.name(),
                reason: format!("resizing the PTY: {e}"),
            })?;
        let mark = ResizeMark {
            offset: term.offset(),
            at: i.started.elapsed(),
            cols,
            rows,
        };
        drop(term);
        let mut resizes = lock(&i.resizes);
        if resizes.len() == MAX_RESIZES {
            // Keep the first mark: it is the size at spawn.
            resizes.remove(1);
        }
        resizes.push(mark);
        drop(resizes);
        i.state_tx.send_if_modified(|s| {
            let changed = (s.cols, s.rows) != (cols, rows);
            s.cols = cols;
            s.rows = rows;
            changed
        });
        i.bump_list();
        Ok(())
    }

    /// Queues bytes for the PTY. Waits while the queue is full, up to the
    /// configured input timeout. Returns the output offset when queued:
    /// output the input causes comes after it.
    /// As [`Session::send`] for input that may skip the queue (see
    /// `input`): written now, without waiting. `None`: it would have to
    /// queue, and nothing was done.
    pub fn try_send_now(&self, data: &[u8]) -> Option<Result<u64>> {
        let offset = *self.inner.end_tx.borrow();
        let written = match lock(&self.inner.input).as_ref() {
            _ if data.is_empty() => return Some(Ok(offset)),
            Some(input) => input.try_write_now(data)?,
            None => false,
        };
        if !written {
            return Some(Err(SessionError::Exited {
                session: self.name(),
            }));
        }
        self.inner
            .last_input_offset
            .fetch_max(offset, Ordering::AcqRel);
        Some(Ok(offset))
    }

    pub async fn send(&self, data: Bytes) -> Result<u64> {
        let offset = *self.inner.end_tx.borrow();
        if data.is_empty() {
            return Ok(offset);
        }
        let exited = || SessionError::Exited {
            session: self.name(),
        };
        let len = data.len();
        let sent = match lock(&self.inner.input).as_ref() {
            Some(input) => input.write_or_queue(data),
            None => return Err(exited()),
        };
        let taken = || {
            self.inner
                .last_input_offset
                .fetch_max(offset, Ordering::AcqRel);
            Ok(offset)
        };
        let (queue, data) = match sent {
            Sent::Written => return taken(),
            Sent::Failed => return Err(exited()),
            Sent::Queue(queue, data) => (queue, data),
        };
        let timeout = self.inner.config.input_timeout;
        let result = tokio::time::timeout(timeout, queue.send(data)).await;
        if !matches!(result, Ok(Ok(()))) {
            // Never queued: uncount it (if the PTY is still open).
            if let Some(input) = lock(&self.inner.input).as_ref() {
                input.unqueued();
            }
        }
        match result {
            Ok(Ok(())) => taken(),
            Ok(Err(_)) => Err(exited()),
            Err(_) => Err(SessionError::InputBlocked {
                session: self.name(),
                pending: len,
                waited_ms: timeout.as_millis() as u64,
            }),
        }
    }

    /// Whether the program asked for application cursor keys, as of now.
    /// Exact when the parser is close behind; during a burst (more than
    /// `EXACT_KEYS_BACKLOG` unparsed) the mode as of the last parsed batch,
    /// so a key such as ctrl+c never waits for a long backlog to parse.
    pub async fn application_cursor(&self) -> bool {
        if lock(&self.inner.pipe).unparsed() > EXACT_KEYS_BACKLOG {
            return self.inner.application_cursor.load(Ordering::Relaxed);
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.catch_up().application_cursor())
            .await
            .unwrap_or(false)
    }

    /// The screen after every byte output so far.
    pub async fn screen(&self) -> Result<ScreenState> {
        self.with_terminal(|t| t.screen_state()).await
    }

    /// Runs `f` on the terminal state brought up to the current end of the
    /// output (off the async threads: catching up may parse a lot).
    pub async fn with_terminal<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Terminal) -> T + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&mut inner.catch_up()))
            .await
            .map_err(|e| SessionError::Internal {
                session: self.name(),
                reason: format!("terminal task failed: {e}"),
            })
    }
}

impl Inner {
    pub(crate) fn name(&self) -> String {
        lock(&self.name).clone()
    }

    pub(crate) fn created_at(&self) -> SystemTime {
        self.created_at
    }

    pub(crate) fn end_rx(&self) -> watch::Receiver<u64> {
        self.end_tx.subscribe()
    }

    pub(crate) fn state_rx(&self) -> watch::Receiver<LiveState> {
        self.state_tx.subscribe()
    }

    pub(crate) fn resizes(&self) -> Vec<ResizeMark> {
        lock(&self.resizes).clone()
    }

    pub(crate) fn read_log(&self, offset: u64, max: usize) -> LogRead {
        lock(&self.pipe).log.read(offset, max)
    }

    pub(crate) fn log_slices(&self, from: u64, to: u64) -> Vec<(u64, Bytes, Duration)> {
        lock(&self.pipe).log.slices(from, to)
    }

    pub(crate) fn log_bounds(&self) -> (u64, u64) {
        let pipe = lock(&self.pipe);
        (pipe.log.start(), pipe.log.end())
    }
}
