//! The one accept loop of every HTTP-speaking TCP port (the hub's port,
//! a spoke's `--listen`), plain or TLS: each connection is served by
//! hyper's HTTP/1.1 + HTTP/2 server with upgrades (WebSockets, the
//! tunnel), and carries its peer address (`ConnectInfo`) and a
//! `ConnectionMark` in every request.
//!
//! What one peer can hold, and for how long (audit V7):
//! - At most `Limits::max_connections` open connections (default
//!   `MAX_CONNECTIONS`, fewer if the open-file limit is low). A slot is
//!   taken before the TLS handshake and given back when the socket
//!   closes, upgraded ones included.
//! - At the cap, a new connection takes the slot of the oldest
//!   connection that has not signed in (no request yet carried a valid
//!   token or session) and is not a WebSocket or tunnel: that one is
//!   closed. So a flood of idle or half-sent connections only displaces
//!   itself, while health checks, sign-ins and signed-in users keep
//!   getting in. Only when every slot is signed in or upgraded is a new
//!   connection closed at once.
//! - TLS handshakes: `HANDSHAKE_TIMEOUT`.
//! - A connection that has not signed in is closed once it has had no
//!   request in flight for `header_timeout` (from its opening, or the
//!   end of its last request): this also bounds the wait for the first
//!   bytes, which no HTTP/1 timer covers while the protocol is detected.
//!   hyper's own HTTP/1 `header_read_timeout` is the same duration and
//!   also closes signed-in HTTP/1 keep-alive connections idle that long.
//! - A signed-in connection idle for `idle_timeout` is closed (HTTP/2
//!   clients reconnect by themselves); HTTP/2 pings find dead peers.
//!
//! Imports no routes: it serves whatever `Router` it is given.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::connections::{Admission, Busy, Conn, ConnectionMark, Guarded, Slot, Table, Tracked};

/// Open connections per TCP listener unless the open-file limit is lower:
/// far more than one person's browsers and programs need, and few enough
/// that each costs little.
pub const MAX_CONNECTIONS: usize = 1024;
/// File descriptors kept out of the TCP cap: the Unix socket's own
/// connections (`unix_incoming::MAX_CONNECTIONS`), PTYs, the database,
/// dialled spokes.
const FD_HEADROOM: u64 = 384;
/// A connection that has not signed in may idle this long; HTTP/1
/// request heads must arrive within it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A signed-in connection with nothing in flight is closed after this.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// HTTP/2 pings: a peer that does not answer within the timeout is gone.
const H2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const H2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// A TLS handshake that takes longer is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait after a failed accept (e.g. out of file descriptors).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// How long in-flight requests may finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Tests shorten the header timeout with this (milliseconds); not a
/// user setting.
const TEST_HEADER_TIMEOUT_ENV: &str = "VTR_TEST_HEADER_TIMEOUT_MS";

/// The caps and timeouts of one listener.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    /// The defaults, with the cap lowered so that `open_files` (the
    /// process's RLIMIT_NOFILE) leaves `FD_HEADROOM` for everything else.
    pub fn for_open_files(open_files: u64) -> Limits {
        let room = open_files.saturating_sub(FD_HEADROOM).max(16);
        let max_connections =
            usize::try_from(room).map_or(MAX_CONNECTIONS, |room| room.min(MAX_CONNECTIONS));
        let header_timeout = std::env::var(TEST_HEADER_TIMEOUT_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(HEADER_TIMEOUT, Duration::from_millis);
        Limits {
            max_connections,
            header_timeout,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let accept = || async {
        let (stream, peer) = listener.accept().await?;
        // Small messages (keystrokes, echoes) must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        Ok((stream, peer))
    };
    accept_loop(accept, app, limits, shutdown, |connection, stream, slot| {
        tokio::spawn(connection.run(stream, slot, tls.clone()));
    })
    .await
}

/// Serves `app` on a Unix socket with the same caps and timeouts as a TCP
/// port. Its requests carry `peer` as their address (a Unix peer has
/// none): the caller marks what the socket means with a layer on `app`.
pub async fn serve_unix(
    listener: tokio::net::UnixListener,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let accept = || async {
        let (stream, _) = listener.accept().await?;
        Ok((stream, peer))
    };
    accept_loop(accept, app, limits, shutdown, |connection, stream, slot| {
        tokio::spawn(connection.serve(Guarded::new(stream, slot)));
    })
    .await
}

/// Accepts until `shutdown`: each connection gets a slot in the table (or
/// is closed when the table is full of signed-in ones) and is handed to
/// `start` with what serving it needs.
async fn accept_loop<S, A, F>(
    mut accept: A,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
    mut start: impl FnMut(Connection, S, Slot),
) -> anyhow::Result<()>
where
    A: FnMut() -> F,
    F: Future<Output = std::io::Result<(S, SocketAddr)>>,
{
    let table = Table::new(limits.max_connections);
    let full_warned = Mutex::new(None::<tokio::time::Instant>);
    loop {
        let accepted = tokio::select! {
            accepted = accept() => accepted,
            () = shutdown.cancelled() => return Ok(()),
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait and go on rather
                // than stop listening.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let (conn, slot) = match table.admit() {
            Admission::In(conn, slot) => (conn, slot),
            Admission::Full => {
                warn_full(&full_warned, limits.max_connections);
                continue;
            }
        };
        let connection = Connection {
            peer,
            app: app.clone(),
            conn,
            limits: limits.clone(),
            shutdown: shutdown.clone(),
        };
        start(connection, stream, slot);
    }
}

/// Says the cap is full of signed-in connections, at most once a minute.
fn warn_full(last: &Mutex<Option<tokio::time::Instant>>, cap: usize) {
    let mut last = last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = tokio::time::Instant::now();
    if last.is_none_or(|at| now - at >= Duration::from_secs(60)) {
        *last = Some(now);
        tracing::warn!(
            cap,
            "every connection slot is signed in or upgraded: refusing new connections"
        );
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    peer: SocketAddr,
    app: Router,
    conn: Arc<Conn>,
    limits: Limits,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, stream: TcpStream, slot: Slot, tls: Option<TlsAcceptor>) {
        let stream = Guarded::new(stream, slot);
        let Some(acceptor) = tls else {
            return self.serve(stream).await;
        };
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
        let tls = tokio::select! {
            result = handshake => result,
            // Evicted or shutting down: the slot goes with the socket.
            () = self.conn.close.cancelled() => return,
            () = self.shutdown.cancelled() => return,
        };
        match tls {
            Ok(Ok(tls)) => self.serve(tls).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn serve<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            peer,
            app,
            conn,
            limits,
            shutdown,
        } = self;
        let service_conn = conn.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
                .extensions_mut()
                .insert(ConnectionMark::new(service_conn.clone()));
            let busy = Busy::begin(service_conn.clone());
            let app = app.clone();
            async move {
                let response = match app.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    busy.upgraded();
                }
                Ok::<_, Infallible>(
                    response.map(|body| axum::body::Body::new(Tracked { body, busy })),
                )
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(H2_KEEPALIVE_INTERVAL)
            .keep_alive_timeout(H2_KEEPALIVE_TIMEOUT);
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
            }
            // Dropping the connection closes the socket.
            () = conn.close.cancelled() => tracing::debug!(%peer, "closed to make room"),
            () = conn.idle_for(limits.header_timeout, limits.idle_timeout) => {
                tracing::debug!(%peer, "closed idle connection");
            }
            () = shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
            }
        }
    }
}
