//! The work behind a session: the PTY reader, the parser following the
//! output log, the reaper and the idle monitor (see the parent module for
//! why each exists).

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::core::clock::unix_ms;

use bytes::Bytes;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::pty_fd::{self, PtyFd};
use super::{
    BURST_BYTES, BURST_WINDOW, DRAIN_AFTER_EXIT, Inner, PARSE_BATCH, PARSER_LINGER, READ_BUFFER,
    STAND_ASIDE, lock,
};
use crate::core::terminal::Terminal;
use crate::core::types::ExitInfo;

impl Inner {
    pub(super) fn bump_list(&self) {
        crate::core::changes::bump(&self.list_changed);
    }

    /// Applies the parser backlog up to the output seen at the call and
    /// returns the terminal locked, so the caller reads the state at (at
    /// least) that output. Output arriving meanwhile is left to the parser
    /// thread: a program that writes faster than the parser reads would
    /// otherwise keep the caller chasing the end forever. Lock order:
    /// terminal, then pipe.
    pub(crate) fn catch_up(&self) -> MutexGuard<'_, Terminal> {
        let target = lock(&self.pipe).log.end();
        let mut term = lock(&self.term);
        while term.consumed() < target && self.parse_batch(&mut term) {}
        term
    }

    /// Parses up to `PARSE_BATCH` bytes of the backlog; false if it was
    /// empty.
    fn parse_batch(&self, term: &mut Terminal) -> bool {
        let from = term.consumed();
        let batch = lock(&self.pipe).log.slices(from, from + PARSE_BATCH as u64);
        if batch.is_empty() {
            return false;
        }
        let version = {
            let mut commands = lock(&self.commands);
            for (offset, chunk, at) in &batch {
                term.process(chunk);
                commands.feed(*offset, chunk, self.created_at + *at);
            }
            commands.version()
        };
        self.commands_tx
            .send_if_modified(|v| std::mem::replace(v, version) != version);
        {
            let mut pipe = lock(&self.pipe);
            pipe.parsed = term.consumed();
            // Bytes held back (a split UTF-8 sequence) are not in the state
            // yet: a snapshot's stream starts before them.
            pipe.log.keep_after(term.offset());
        }
        // Room in the backlog: a waiting reader may go on.
        self.parsed_some.notify_one();
        let replies = term.take_replies();
        if !replies.is_empty() {
            self.reply(replies);
        }
        self.application_cursor
            .store(term.application_cursor(), Ordering::Relaxed);
        {
            let mut title = lock(&self.title);
            if *title != term.title() {
                *title = term.title().to_owned();
            }
        }
        let mut attention = lock(&self.attention);
        if attention.0 != *term.attention() {
            *attention = (term.attention().clone(), Some(std::time::SystemTime::now()));
        }
        true
    }

    /// Answers a terminal query. Dropped (and logged) if the input queue is
    /// full: the program is not reading its input, so it is not waiting.
    fn reply(&self, bytes: Vec<u8>) {
        if let Some(input) = lock(&self.input).as_ref()
            && !input.try_queue(Bytes::from(bytes))
        {
            tracing::warn!(session = %self.name(), "input queue full; terminal query reply dropped");
        }
    }

    /// Reads the PTY into the log until the child side closes, then
    /// reports on `done`. Waits while the parser's backlog is full
    /// (backpressure to the program). It is the forwarding path: it never
    /// parses.
    pub(super) async fn read_task(
        self: Arc<Self>,
        pty: Arc<PtyFd>,
        done: tokio::sync::oneshot::Sender<()>,
    ) {
        let mut buf = vec![0u8; READ_BUFFER];
        let mut removed = self.removed.subscribe();
        loop {
            let read = async {
                self.room_for_output().await;
                pty.read(&mut buf).await
            };
            let n = tokio::select! {
                // Removed: let go of the PTY (see `Session::stop_parsing`).
                _ = removed.wait_for(|removed| *removed) => break,
                read = read => match read {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::debug!(session = %self.name(), "PTY read ended: {e}");
                        break;
                    }
                },
            };
            let chunk = Bytes::copy_from_slice(&buf[..n]);
            let (end, start_parser) = {
                let mut pipe = lock(&self.pipe);
                pipe.log.append(chunk, self.started.elapsed());
                let start = !pipe.parser && !pipe.removed;
                pipe.parser |= start;
                (pipe.log.end(), start)
            };
            self.pipe_changed.notify_all();
            self.last_output_ms
                .store(unix_ms(SystemTime::now()), Ordering::Relaxed);
            self.end_tx.send_replace(end);
            // After the subscribers have been told: they come first.
            if start_parser {
                self.start_parser();
            }
        }
        lock(&self.pipe).closed = true;
        self.pipe_changed.notify_all();
        // The waiter may have stopped listening; nothing to do then.
        let _ = done.send(());
    }

    /// Until the parser's backlog has room for another read.
    async fn room_for_output(&self) {
        loop {
            let room = self.parsed_some.notified();
            {
                let pipe = lock(&self.pipe);
                let unparsed = pipe.unparsed();
                if unparsed == 0 || unparsed + READ_BUFFER <= self.config.parse_backlog {
                    return;
                }
            }
            room.await;
        }
    }

    /// Starts a parser thread (the caller has marked one running). Should
    /// the system refuse a thread, the work goes to the blocking pool.
    fn start_parser(self: &Arc<Self>) {
        let inner = self.clone();
        let started = std::thread::Builder::new()
            .name("vtr-parse".to_owned())
            .spawn(move || inner.parse_loop());
        if let Err(e) = started {
            tracing::warn!(session = %self.name(), "starting a parser thread: {e}; parsing on the shared pool");
            let inner = self.clone();
            tokio::task::spawn_blocking(move || inner.parse_loop());
        }
    }

    /// Follows the output log with the parser, in batches, and ends once
    /// nothing has arrived for `PARSER_LINGER` (the reader starts another
    /// when output comes): an idle session holds no thread. During a burst
    /// it stands aside: forwarding gets the CPU, and the parser catches up
    /// once the output slows down or its backlog reaches `STAND_ASIDE` (or
    /// half its bound, if less).
    /// Nobody waits on it: screen readers catch the parser up themselves.
    pub(super) fn parse_loop(&self) {
        lower_thread_priority();
        loop {
            let (flowing, end) = {
                let mut pipe = lock(&self.pipe);
                while pipe.unparsed() == 0 || pipe.removed {
                    if pipe.closed || pipe.removed {
                        pipe.parser = false;
                        return;
                    }
                    let (guard, waited) = self
                        .pipe_changed
                        .wait_timeout(pipe, PARSER_LINGER)
                        .unwrap_or_else(PoisonError::into_inner);
                    pipe = guard;
                    if waited.timed_out() && pipe.unparsed() == 0 {
                        pipe.parser = false;
                        return;
                    }
                }
                let stand_aside = (self.config.parse_backlog / 2).min(STAND_ASIDE);
                let flowing = !pipe.closed && pipe.unparsed() < stand_aside;
                (flowing, pipe.log.end())
            };
            if flowing {
                std::thread::sleep(BURST_WINDOW);
                if lock(&self.pipe).log.end() - end >= BURST_BYTES {
                    continue;
                }
            }
            // A batch at a time: the terminal lock is released in between, so
            // a screen reader never waits long behind this low-priority
            // thread (it catches up the rest itself).
            while self.parse_batch(&mut lock(&self.term)) {}
        }
    }

    /// Reaps the child, lets the reader drain, frees the PTY and records
    /// the exit.
    pub(super) async fn wait_task(
        self: Arc<Self>,
        child: Box<dyn portable_pty::Child + Send + Sync>,
        reader_done: tokio::sync::oneshot::Receiver<()>,
    ) {
        let exit = match child.process_id() {
            Some(pid) => reap(pid).await,
            None => ExitInfo::default(),
        };
        if tokio::time::timeout(DRAIN_AFTER_EXIT, reader_done)
            .await
            .is_err()
        {
            tracing::info!(session = %self.name(), "output still open after exit (a background process holds the PTY)");
        }
        // Free the PTY: closing our writer and master ends the writer task.
        lock(&self.input).take();
        lock(&self.master).take();
        drop(child);
        // Every byte is in the log now: the reader has stopped (or given up).
        // The parser may still be behind; screen readers catch it up.
        let final_offset = self.log_bounds().1;
        *lock(&self.exited_at) = Some(SystemTime::now());
        self.state_tx.send_modify(|s| {
            s.idle = false;
            s.exit = Some((exit, final_offset));
        });
        self.bump_list();
    }

    /// Flips `idle` after `idle_after` without output, and back on output.
    pub(super) async fn idle_monitor(self: Arc<Self>) {
        let mut end_rx = self.end_rx();
        let mut state_rx = self.state_rx();
        let mut last_output = tokio::time::Instant::now();
        loop {
            let state = state_rx.borrow_and_update().clone();
            if state.exit.is_some() {
                return;
            }
            let quiet_until = last_output + self.config.idle_after;
            tokio::select! {
                // Output: the session is busy again.
                changed = end_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    last_output = tokio::time::Instant::now();
                    if state.idle {
                        self.set_idle(false);
                    }
                }
                // Exit or resize: re-read the state.
                changed = state_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(quiet_until), if !state.idle => {
                    self.set_idle(true);
                }
            }
        }
    }

    fn set_idle(&self, idle: bool) {
        let changed = self.state_tx.send_if_modified(|s| {
            let changed = s.idle != idle && s.exit.is_none();
            if changed {
                s.idle = idle;
            }
            changed
        });
        if changed {
            self.bump_list();
        }
    }
}

/// Forwarding output and the programs themselves come before the parser.
/// Not `SCHED_IDLE`: a starved parser holding the terminal lock would stall
/// screen readers.
fn lower_thread_priority() {
    const NICE: libc::c_int = 10;
    let tid = nix::unistd::gettid().as_raw();
    // SAFETY: setpriority only reads its integer arguments; on Linux
    // `PRIO_PROCESS` with a thread id changes that one thread.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE) };
    if rc != 0 {
        tracing::debug!(
            "lowering the parser's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Reaps `pid` once it has exited: woken by its pidfd, or on a thread of
/// its own where the kernel has none.
async fn reap(pid: u32) -> ExitInfo {
    match pty_fd::exited(pid).await {
        Ok(()) => wait_pid(pid),
        Err(e) => {
            tracing::debug!(pid, "no pidfd ({e}): waiting on a thread");
            let (tx, rx) = tokio::sync::oneshot::channel();
            let waiter = std::thread::Builder::new()
                .name("vtr-wait".to_owned())
                .spawn(move || {
                    let _ = tx.send(wait_pid(pid));
                });
            match waiter {
                Ok(_) => rx.await.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(pid, "starting a waiter thread: {e}");
                    tokio::task::spawn_blocking(move || wait_pid(pid))
                        .await
                        .unwrap_or_default()
                }
            }
        }
    }
}

/// Reaps `pid`, keeping the exact signal (portable-pty only gives a
/// description of it).
fn wait_pid(pid: u32) -> ExitInfo {
    loop {
        match waitpid(Pid::from_raw(pid as i32), None) {
            Ok(WaitStatus::Exited(_, code)) => {
                return ExitInfo {
                    code: Some(code),
                    signal: None,
                };
            }
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return ExitInfo {
                    code: None,
                    signal: Some(signal.as_str().to_owned()),
                };
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                tracing::warn!(pid, "waitpid failed: {e}");
                return ExitInfo::default();
            }
        }
    }
}
