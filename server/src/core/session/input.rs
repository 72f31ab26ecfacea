//! The way into a session's PTY: a bounded queue to the writer task, and
//! a shortcut that writes a keystroke at once.
//!
//! Through the queue, every keystroke wakes the writer task, a hop that
//! costs an interactive echo about as much as the PTY itself. So a small
//! write with nothing queued goes straight to the PTY from the caller, when
//! the PTY says it has room: `POLLOUT` on a Linux PTY master means the
//! other side's buffer (accounted in 256-byte units) can take at least
//! [`DIRECT_MAX`] bytes, so that write does not block. Anything else (a
//! paste, a full PTY, a write while the thread is busy) takes the queue,
//! which keeps the order: the shortcut is only taken while nothing is
//! queued or being written.

use std::io::Write;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use tokio::sync::mpsc;

use super::pty_fd::PtyFd;

/// Largest write that may skip the queue.
pub(super) const DIRECT_MAX: usize = 256;

/// Held by the session while the PTY is open; dropped at exit, before the
/// master is closed.
pub(super) struct InputPath {
    queue: mpsc::Sender<Bytes>,
    writer: Mutex<Box<dyn Write + Send>>,
    /// Writes queued or being written by the writer task.
    queued: Arc<AtomicUsize>,
    /// The PTY master, for the readiness check. Open while this exists.
    master: RawFd,
}

/// What the writer task owns.
pub(super) struct WriterEnd {
    queue: mpsc::Receiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

/// How a write went.
pub(super) enum Sent {
    /// Written to the PTY.
    Written,
    /// Not taken: queue it.
    Queue(mpsc::Sender<Bytes>, Bytes),
    /// The PTY failed: it is going away.
    Failed,
}

pub(super) fn input_path(
    writer: Box<dyn Write + Send>,
    master: RawFd,
    capacity: usize,
) -> (InputPath, WriterEnd) {
    let (tx, rx) = mpsc::channel(capacity);
    let writer = Mutex::new(writer);
    let queued = Arc::new(AtomicUsize::new(0));
    let path = InputPath {
        queue: tx,
        writer,
        queued: queued.clone(),
        master,
    };
    let end = WriterEnd { queue: rx, queued };
    (path, end)
}

impl InputPath {
    /// Writes `data` now if it may skip the queue; otherwise hands back
    /// the queue, with the write already counted as queued (see
    /// [`InputPath::unqueued`] for when it cannot be).
    pub(super) fn write_or_queue(&self, data: Bytes) -> Sent {
        match self.try_write_now(&data) {
            Some(true) => Sent::Written,
            Some(false) => Sent::Failed,
            None => {
                self.queued.fetch_add(1, Ordering::AcqRel);
                Sent::Queue(self.queue.clone(), data)
            }
        }
    }

    /// Writes `data` now if it may skip the queue: `Some(false)` if the PTY
    /// failed, `None` if it must queue (nothing done).
    pub(super) fn try_write_now(&self, data: &[u8]) -> Option<bool> {
        if data.len() <= DIRECT_MAX
            && self.queued.load(Ordering::Acquire) == 0
            && let Ok(mut writer) = self.writer.try_lock()
            && self.has_room()
        {
            return Some(writer.write_all(data).and_then(|()| writer.flush()).is_ok());
        }
        None
    }

    /// Takes back the count of a write that was handed out for queueing
    /// but never queued (timed out or closed).
    pub(super) fn unqueued(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }

    /// Queues without waiting (terminal query replies); false if full.
    pub(super) fn try_queue(&self, data: Bytes) -> bool {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let queued = self.queue.try_send(data).is_ok();
        if !queued {
            self.unqueued();
        }
        queued
    }

    fn has_room(&self) -> bool {
        // SAFETY: the master stays open while this `InputPath` exists: the
        // session drops its input path before it closes the master.
        #[allow(unsafe_code)]
        let fd = unsafe { BorrowedFd::borrow_raw(self.master) };
        let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(1))
            && fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLOUT))
    }
}

impl WriterEnd {
    /// The writer task: writes queued input, waiting for room as the
    /// program reads, until the session lets go of its `InputPath` or the
    /// PTY fails. The direct path writes only while nothing is queued or
    /// being written here, so the two never interleave.
    pub(super) async fn run(mut self, pty: Arc<PtyFd>) {
        while let Some(data) = self.queue.recv().await {
            let written = pty.write_all(&data).await;
            self.queued.fetch_sub(1, Ordering::AcqRel);
            if written.is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    use super::*;

    /// A pipe stands in for the PTY: same readiness rules for `POLLOUT`
    /// (room for at least `PIPE_BUF` bytes).
    fn pipe_path() -> (InputPath, WriterEnd, File) {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let fd = write.as_raw_fd();
        let (path, end) = input_path(Box::new(File::from(write)), fd, 8);
        (path, end, File::from(read))
    }

    #[test]
    fn a_keystroke_is_written_at_once_without_the_thread() {
        let (path, _end, mut read) = pipe_path();
        assert!(matches!(
            path.write_or_queue(Bytes::from_static(b"x")),
            Sent::Written
        ));
        let mut buf = [0u8; 1];
        read.read_exact(&mut buf).expect("read the pipe");
        assert_eq!(&buf, b"x");
    }

    #[tokio::test]
    async fn a_keystroke_after_a_queued_paste_waits_its_turn() {
        let (path, end, mut read) = pipe_path();
        let pty = Arc::new(PtyFd::new(path.master).expect("register the pipe"));
        let paste = Bytes::from(vec![b'p'; DIRECT_MAX + 1]);
        let Sent::Queue(queue, data) = path.write_or_queue(paste.clone()) else {
            panic!("a paste must take the queue");
        };
        queue.try_send(data).expect("room in the queue");
        drop(queue);
        // The paste is queued but not written (no thread yet): the keystroke
        // must not overtake it.
        let Sent::Queue(queue, data) = path.write_or_queue(Bytes::from_static(b"k")) else {
            panic!("a keystroke behind a queued write must take the queue");
        };
        queue.try_send(data).expect("room in the queue");
        drop((path, queue));
        end.run(pty).await;
        let mut got = Vec::new();
        read.read_to_end(&mut got).expect("read the pipe");
        let mut want = paste.to_vec();
        want.push(b'k');
        assert_eq!(got, want);
    }

    #[test]
    fn a_full_pty_sends_a_keystroke_to_the_queue_instead_of_blocking() {
        let (path, _end, _read) = pipe_path();
        // Fill the pipe without blocking, then make it blocking again.
        let flags =
            nix::fcntl::fcntl(borrow(path.master), nix::fcntl::FcntlArg::F_GETFL).expect("F_GETFL");
        let nonblocking =
            nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        set_flags(path.master, nonblocking);
        let chunk = [0u8; 4096];
        while nix::unistd::write(borrow(path.master), &chunk).is_ok() {}
        set_flags(path.master, nix::fcntl::OFlag::from_bits_truncate(flags));
        assert!(matches!(
            path.write_or_queue(Bytes::from_static(b"x")),
            Sent::Queue(..)
        ));
    }

    fn set_flags(fd: RawFd, flags: nix::fcntl::OFlag) {
        nix::fcntl::fcntl(borrow(fd), nix::fcntl::FcntlArg::F_SETFL(flags)).expect("F_SETFL");
    }

    fn borrow(fd: RawFd) -> BorrowedFd<'static> {
        // SAFETY: the pipe outlives each test's use of it.
        #[allow(unsafe_code)]
        unsafe {
            BorrowedFd::borrow_raw(fd)
        }
    }
}
