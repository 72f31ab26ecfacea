//! A session's PTY master and child process as things the async runtime
//! waits on, so an idle session holds no thread: output is read, queued
//! input written and the exit noticed by tasks woken through epoll.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The PTY master, non-blocking and registered with the runtime.
pub(super) struct PtyFd(AsyncFd<OwnedFd>);

impl PtyFd {
    /// A duplicate of `master`, registered with the runtime (which must be
    /// running). Non-blocking is a flag of the open file, shared by every
    /// descriptor of this master: any other write to it must check for
    /// room first, as the direct input path does.
    pub(super) fn new(master: RawFd) -> io::Result<Self> {
        // SAFETY: the caller's master stays open for the duration of this
        // call; the duplicate is owned from here on.
        #[allow(unsafe_code)]
        let borrowed = unsafe { BorrowedFd::borrow_raw(master) };
        let fd = borrowed.try_clone_to_owned()?;
        let flags = OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL)?);
        fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        Ok(PtyFd(register(
            fd,
            Interest::READABLE | Interest::WRITABLE,
        )?))
    }

    /// Reads what the PTY has, up to `buf`'s size, once there is some.
    /// `Ok(0)` or an error (EIO once the child side has closed): the end.
    pub(super) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut ready = self.0.readable().await?;
            if let Ok(result) =
                ready.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(io::Error::from))
            {
                return result;
            }
        }
    }

    /// Writes all of `data`, waiting for room as the program reads.
    pub(super) async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut ready = self.0.writable().await?;
            if let Ok(result) =
                ready.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from))
            {
                data = &data[result?..];
            }
        }
        Ok(())
    }
}

/// Waits until process `pid` (our child, not yet reaped) has exited, so that
/// reaping it does not block. `Err`: this kernel cannot tell (no pidfd,
/// before Linux 5.3); the caller must wait some other way.
pub(super) async fn exited(pid: u32) -> io::Result<()> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // (or -1), which is owned from here on.
    #[allow(unsafe_code)]
    let fd = unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        OwnedFd::from_raw_fd(fd as RawFd)
    };
    let fd = register(fd, Interest::READABLE)?;
    // Readable once the process has terminated.
    let _ready = fd.readable().await?;
    Ok(())
}

fn register(fd: OwnedFd, interest: Interest) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the `OwnedFd` is open, owned by the `AsyncFd` from here on and
    // never replaced, so it refers to the same file for its whole life.
    #[allow(unsafe_code)]
    unsafe { AsyncFd::register_with_interest(fd, interest) }.map_err(|e| e.into_parts().1)
}
