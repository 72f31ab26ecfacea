//! The Unix socket's connections, bounded: its own listener and its own
//! budget, so a flood on a TCP port never reaches the CLI. The socket is
//! owner-only, so the one who could fill it is its owner; at the cap a new
//! connection waits (in the kernel's backlog) until one closes, rather
//! than being refused.
//!
//! Imports no gRPC services: it yields sockets for tonic's server.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_stream::Stream;
use tokio_util::sync::PollSemaphore;
use tonic::transport::server::{Connected, UdsConnectInfo};

use super::connections::Guarded;
use super::unix_authority::Mended;

/// Open connections on a Unix socket: the CLI opens one per command, the
/// web of programs driving sessions a few each.
pub const MAX_CONNECTIONS: usize = 256;
/// HTTP/2 pings on the Unix socket: a peer that stopped answering (a
/// stopped process) gives its connection back.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// A Unix socket's connection, holding its place in the budget; what its
/// client sends is mended (path-like `:authority` values) before h2 reads it.
pub type UnixConnection = Guarded<Mended<UnixStream>, OwnedSemaphorePermit>;

impl Connected for UnixConnection {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> UdsConnectInfo {
        self.get_ref().get_ref().connect_info()
    }
}

/// Accepts only while fewer than `MAX_CONNECTIONS` are open.
pub struct Bounded {
    listener: UnixListener,
    permits: PollSemaphore,
    /// A permit taken before accepting, so that the accept itself waits
    /// for room.
    held: Option<OwnedSemaphorePermit>,
}

impl Bounded {
    pub fn new(listener: UnixListener) -> Bounded {
        Bounded {
            listener,
            permits: PollSemaphore::new(Arc::new(Semaphore::new(MAX_CONNECTIONS))),
            held: None,
        }
    }
}

impl Stream for Bounded {
    type Item = std::io::Result<UnixConnection>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let permit = match this.held.take() {
            Some(permit) => permit,
            // The semaphore is never closed, so `None` does not happen;
            // ending the stream would be the honest answer if it did.
            None => match ready!(this.permits.poll_acquire(cx)) {
                Some(permit) => permit,
                None => return Poll::Ready(None),
            },
        };
        match this.listener.poll_accept(cx) {
            Poll::Ready(Ok((stream, _))) => {
                Poll::Ready(Some(Ok(Guarded::new(Mended::new(stream), permit))))
            }
            Poll::Ready(Err(e)) => {
                this.held = Some(permit);
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => {
                this.held = Some(permit);
                Poll::Pending
            }
        }
    }
}
