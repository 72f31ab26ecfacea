//! The open TCP connections of one listener, and what the accept loop
//! (`accept`) knows of each: whether it has signed in, whether it has a
//! request in flight, whether it became a WebSocket or tunnel. The table
//! decides who gives way when the cap is reached; each connection's
//! watchdog decides when an idle one is closed.
//!
//! Knows nothing of HTTP routes or credentials: the front door and the
//! gRPC token check report a sign-in through `ConnectionMark`.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Every open connection of one listener, oldest first.
pub struct Table {
    cap: usize,
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
}

/// What happened to a new connection at the door.
pub enum Admission {
    /// Served; the slot must live as long as its socket.
    In(Arc<Conn>, Slot),
    /// The table is full of signed-in or upgraded connections.
    Full,
}

impl Table {
    pub fn new(cap: usize) -> Arc<Table> {
        Arc::new(Table {
            cap: cap.max(1),
            next_id: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
        })
    }

    /// Admits a connection. At the cap, the oldest connection that has
    /// neither signed in nor been upgraded is closed to make room: a
    /// flood of idle or half-sent connections only ever displaces itself,
    /// never a signed-in user or an open WebSocket.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let mut open = self.lock();
        if open.len() >= self.cap {
            let oldest = open
                .iter()
                .find(|(_, conn)| conn.evictable())
                .map(|(id, _)| *id);
            let Some(evicted) = oldest.and_then(|id| open.remove(&id)) else {
                return Admission::Full;
            };
            // Its task drops the socket; it no longer counts from now.
            evicted.close.cancel();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new());
        open.insert(id, conn.clone());
        Admission::In(
            conn,
            Slot {
                table: self.clone(),
                id,
            },
        )
    }

    /// How many connections hold a slot.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A place in the table, given back when dropped. It travels inside the
/// socket (`Guarded`), so an upgraded connection keeps it while the
/// WebSocket or tunnel lives.
pub struct Slot {
    table: Arc<Table>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // An evicted connection was removed already: this is a no-op then.
        self.table.lock().remove(&self.id);
    }
}

/// One connection's standing.
pub struct Conn {
    signed_in: AtomicBool,
    activity: Mutex<Activity>,
    /// Woken when the last request in flight ends.
    idle: Notify,
    /// Cancelled when the table evicts this connection.
    pub close: CancellationToken,
}

struct Activity {
    in_flight: usize,
    idle_since: Instant,
    upgraded: bool,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            signed_in: AtomicBool::new(false),
            activity: Mutex::new(Activity {
                in_flight: 0,
                idle_since: Instant::now(),
                upgraded: false,
            }),
            idle: Notify::new(),
            close: CancellationToken::new(),
        }
    }

    fn activity(&self) -> MutexGuard<'_, Activity> {
        self.activity.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn evictable(&self) -> bool {
        !self.signed_in.load(Ordering::Relaxed) && !self.activity().upgraded
    }

    /// Returns once the connection has had nothing in flight for
    /// `anonymous` (never signed in) or `signed_in`; never for an
    /// upgraded one, which its WebSocket or tunnel looks after.
    pub async fn idle_for(&self, anonymous: Duration, signed_in: Duration) {
        loop {
            let deadline = {
                let activity = self.activity();
                let limit = if self.signed_in.load(Ordering::Relaxed) {
                    signed_in
                } else {
                    anonymous
                };
                (activity.in_flight == 0 && !activity.upgraded).then(|| activity.idle_since + limit)
            };
            match deadline {
                // `notify_one` keeps a permit, so a request that ended
                // between the check and this wait is not missed.
                None => self.idle.notified().await,
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => tokio::time::sleep_until(deadline).await,
            }
        }
    }
}

/// Put in every request's extensions; whoever checks identity calls
/// `signed_in` once the request proved it.
#[derive(Clone)]
pub struct ConnectionMark(Arc<Conn>);

impl ConnectionMark {
    pub fn new(conn: Arc<Conn>) -> Self {
        ConnectionMark(conn)
    }

    /// The connection carried a valid credential: it is never evicted and
    /// may idle longer.
    pub fn signed_in(&self) {
        self.0.signed_in.store(true, Ordering::Relaxed);
    }
}

/// A request in flight, from its head until its response body is done
/// or dropped (a gRPC stream is in flight as long as it streams).
pub struct Busy(Arc<Conn>);

impl Busy {
    pub fn begin(conn: Arc<Conn>) -> Busy {
        conn.activity().in_flight += 1;
        Busy(conn)
    }

    /// The response switched protocols: the connection is now a
    /// WebSocket or tunnel.
    pub fn upgraded(&self) {
        self.0.activity().upgraded = true;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut activity = self.0.activity();
        activity.in_flight = activity.in_flight.saturating_sub(1);
        if activity.in_flight == 0 {
            activity.idle_since = Instant::now();
            drop(activity);
            self.0.idle.notify_one();
        }
    }
}

/// A response body that keeps its request `Busy` until it ends.
pub struct Tracked {
    pub body: axum::body::Body,
    pub busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A socket with something that must live exactly as long as it (a
/// `Slot`, a semaphore permit).
pub struct Guarded<IO, G> {
    io: IO,
    _guard: G,
}

impl<IO, G> Guarded<IO, G> {
    pub fn new(io: IO, guard: G) -> Self {
        Guarded { io, _guard: guard }
    }

    pub fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead + Unpin, G: Unpin> AsyncRead for Guarded<IO, G> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin, G: Unpin> AsyncWrite for Guarded<IO, G> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(table: &Arc<Table>) -> (Arc<Conn>, Slot) {
        match table.admit() {
            Admission::In(conn, slot) => (conn, slot),
            Admission::Full => panic!("refused"),
        }
    }

    #[test]
    fn at_the_cap_the_oldest_anonymous_connection_gives_way() {
        let table = Table::new(3);
        let (signed, _s1) = admitted(&table);
        ConnectionMark::new(signed.clone()).signed_in();
        let (anon, _s2) = admitted(&table);
        let (_newer, _s3) = admitted(&table);
        let (_fourth, _s4) = admitted(&table);
        assert!(!signed.close.is_cancelled(), "a signed-in connection stays");
        assert!(anon.close.is_cancelled(), "the oldest anonymous one goes");
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn a_table_of_signed_in_and_upgraded_connections_refuses() {
        let table = Table::new(2);
        let (a, _s1) = admitted(&table);
        ConnectionMark::new(a).signed_in();
        let (b, _s2) = admitted(&table);
        Busy::begin(b).upgraded();
        assert!(matches!(table.admit(), Admission::Full));
    }

    #[test]
    fn a_dropped_slot_frees_its_place() {
        let table = Table::new(1);
        let (_conn, slot) = admitted(&table);
        drop(slot);
        assert_eq!(table.len(), 0);
    }

    #[tokio::test]
    async fn idle_counts_from_the_end_of_the_last_request() {
        let conn = Arc::new(Conn::new());
        let busy = Busy::begin(conn.clone());
        let waiter = {
            let conn = conn.clone();
            tokio::spawn(async move {
                conn.idle_for(Duration::from_millis(100), Duration::from_secs(100))
                    .await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let ended = Instant::now();
        drop(busy);
        let closed = waiter.await.expect("watchdog");
        assert!(closed - ended >= Duration::from_millis(100));
    }
}
