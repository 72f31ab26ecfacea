//! Tunnelled spokes (README, "Hub and spokes"). The spoke dials the hub's TCP port
//! and asks for an HTTP/1.1 upgrade to `vtr-tunnel/1`, naming itself and
//! presenting its token. After `101`, the roles reverse: the spoke serves
//! gRPC (HTTP/2) over the connection and the hub is the client. The spoke
//! needs no listener, and reconnects by itself with backoff and jitter.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::transport::{Endpoint, Uri};

use super::grpc::{auth::Token, client, remote::RemoteSpoke};
use super::throttle::Throttle;
use super::tunnel_proof;
use crate::hub::pins::{PinError, Pinned, Pins};
use crate::hub::{Hub, backoff};

pub const TUNNEL_PATH: &str = "/vtr/tunnel";
const PROTOCOL: &str = "vtr-tunnel/1";
const SPOKE_HEADER: &str = "x-vtr-spoke";
const INSTANCE_HEADER: &str = "x-vtr-instance";
/// The spoke's own secret key: the hub pins the spoke's name to it.
const KEY_HEADER: &str = "x-vtr-spoke-key";
/// Longest response head the spoke reads from the hub.
const MAX_HEAD: usize = 8 << 10;
/// Connecting, the hub's proof and the upgrade, all told: a hub that
/// accepts but does not answer (stopped, or cut off after the handshake)
/// is given up on and dialled again.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait between attempts to reach a hub that cannot be reached.
/// Short, so a spoke is back within about two seconds of the network
/// healing; an attempt costs the hub one refused or idle connection.
const MAX_RETRY: Duration = Duration::from_millis(1500);

// ---- hub side ----

/// What the hub's tunnel endpoint needs.
#[derive(Clone)]
pub struct Acceptor {
    pub hub: Hub,
    /// Token a spoke must present; `None`: any spoke may join (loopback).
    pub token: Option<Token>,
    /// Failed tokens per peer.
    pub throttle: Arc<Throttle>,
    /// Which key each spoke name belongs to.
    pub pins: Arc<Pins>,
    /// What the hub proves itself with (derived from `token` once).
    pub proof_key: Option<Arc<tunnel_proof::ProofKey>>,
}

/// `GET /vtr/tunnel` with `Upgrade: vtr-tunnel/1`.
pub async fn accept(
    State(acceptor): State<Acceptor>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    let refuse = |status: StatusCode, message: String| {
        tracing::warn!(%peer, "tunnel refused: {message}");
        (status, format!("{message}\n")).into_response()
    };
    if !upgrade_requested(headers) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("expected `Upgrade: {PROTOCOL}`"),
        );
    }
    if let Some(token) = &acceptor.token {
        if let Err(wait) = acceptor.throttle.check(peer.ip()) {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed tokens from {}: try again in {} s",
                    peer.ip(),
                    wait.as_secs().max(1)
                ),
            );
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::transport::grpc::auth::bearer);
        if !presented.is_some_and(|p| token.matches(p)) {
            acceptor.throttle.failed(peer.ip());
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the hub refused the spoke's token".to_owned(),
            );
        }
    }
    let (name, instance) = match spoke_identity(headers) {
        Ok(named) => named,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    if let Err(e) = acceptor.hub.tunnel_available(&name, &instance) {
        return refuse(StatusCode::CONFLICT, e.to_string());
    }
    // Only the key the name was first seen with joins under it: neither a
    // published instance id nor the shared token is enough.
    let key = headers
        .get(KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match acceptor.pins.check(&name, key) {
        Ok(Pinned::New) => {
            acceptor.throttle.succeeded(peer.ip());
            tracing::info!(%peer, spoke = %name, "spoke name pinned to its key");
        }
        Ok(Pinned::Known) => acceptor.throttle.succeeded(peer.ip()),
        Err(e @ PinError::Mismatch(_)) => {
            acceptor.throttle.failed(peer.ip());
            return refuse(StatusCode::FORBIDDEN, e.to_string());
        }
        Err(e @ PinError::BadKey) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e @ PinError::Store(_)) => {
            tracing::error!("{e}");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the hub cannot check spoke keys now".to_owned(),
            );
        }
    }
    let Some(on_upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "this connection cannot be upgraded".to_owned(),
        );
    };
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(io) => join(acceptor.hub, name, instance, peer, io).await,
            Err(e) => tracing::warn!(%peer, "tunnel upgrade failed: {e}"),
        }
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [(header::CONNECTION, "upgrade"), (header::UPGRADE, PROTOCOL)],
    )
        .into_response()
}

/// The spoke's name and instance from its upgrade request's headers; the
/// name must be a valid spoke name. Pure, so the fuzz harness can call it.
pub fn spoke_identity(headers: &HeaderMap) -> Result<(String, String), String> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (name, instance) = (text(SPOKE_HEADER), text(INSTANCE_HEADER));
    if let Err(e) = vtr_shared::address::validate_name(&name) {
        return Err(format!("spoke name {name:?}: {e}"));
    }
    Ok((name, instance))
}

pub fn upgrade_requested(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(PROTOCOL))
}

/// Makes the upgraded connection the hub's gRPC handle on the spoke, until
/// it closes.
async fn join(
    hub: Hub,
    name: String,
    instance: String,
    peer: SocketAddr,
    io: hyper::upgrade::Upgraded,
) {
    let closed = CancellationToken::new();
    let io = Arc::new(Mutex::new(Some(TunnelIo {
        io,
        _closed: closed.clone().drop_guard(),
    })));
    // The connector hands out the one connection; once it is gone, so is
    // the tunnel (the spoke dials again).
    let channel = Endpoint::from_static("http://tunnel")
        .http2_keep_alive_interval(super::LINK_PING_AFTER)
        .keep_alive_timeout(super::LINK_PONG_WITHIN)
        .keep_alive_while_idle(true)
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let io = io.lock().map(|mut io| io.take()).ok().flatten();
            async move { io.ok_or_else(|| std::io::Error::other("the tunnel is closed")) }
        }))
        .await;
    let channel = match channel {
        Ok(channel) => channel,
        Err(e) => {
            tracing::warn!(%peer, spoke = %name, "tunnel handshake failed: {e}");
            return;
        }
    };
    let handle = match RemoteSpoke::new(name.clone(), channel, None) {
        Ok(spoke) => Arc::new(spoke),
        Err(e) => {
            tracing::warn!(spoke = %name, "tunnel client: {e}");
            return;
        }
    };
    let generation = match hub.claim_tunnel(&name, &peer.to_string(), &instance, handle) {
        Ok(generation) => generation,
        Err(e) => {
            tracing::warn!(%peer, "tunnel refused: {e}");
            return;
        }
    };
    tracing::info!(%peer, spoke = %name, "tunnelled spoke joined");
    closed.cancelled().await;
    tracing::info!(%peer, spoke = %name, "tunnel closed");
    hub.tunnel_closed(&name, generation);
}

/// The upgraded connection; dropping it (the HTTP/2 client is done with
/// it) tells the hub the tunnel closed.
struct TunnelIo {
    io: hyper::upgrade::Upgraded,
    _closed: DropGuard,
}

impl hyper::rt::Read for TunnelIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for TunnelIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

// ---- spoke side ----

/// How a spoke reaches its hub.
#[derive(Debug, Clone)]
pub struct TunnelOptions {
    /// `http://HOST:PORT` of the hub.
    pub hub: String,
    pub name: String,
    pub instance: String,
    pub token: Option<Token>,
    /// This spoke's own secret key (see `hub::pins`).
    pub key: Option<Token>,
}

/// Holds a tunnel to the hub open, serving `router` over it, until
/// `shutdown`. Network failures are retried with backoff; a refusal (a
/// wrong token, a name in use) ends it with that error.
pub async fn hold(
    opts: TunnelOptions,
    router: axum::Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let address = hub_address(&opts.hub)?;
    // The spoke's key (and token) go in the upgrade request.
    client::refuse_plain_http_off_loopback(&opts.hub)?;
    // Derived once: it takes a while, on purpose (see `tunnel_proof`).
    let proof_key = opts.token.as_ref().map(tunnel_proof::ProofKey::derive);
    let mut failures = 0;
    loop {
        let opening = tokio::time::timeout(OPEN_TIMEOUT, open(&address, &opts, proof_key.as_ref()));
        let attempt = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            attempt = opening => attempt.unwrap_or_else(|_| Err(Failure::Network(anyhow::anyhow!(
                "no answer from {address} within {} s", OPEN_TIMEOUT.as_secs_f64()
            )))),
        };
        match attempt {
            Ok(stream) => {
                failures = 0;
                tracing::info!(hub = %opts.hub, "tunnel to the hub open");
                serve(stream, router.clone(), &shutdown).await;
                if shutdown.is_cancelled() {
                    return Ok(());
                }
                tracing::warn!(hub = %opts.hub, "tunnel to the hub closed; reconnecting");
            }
            Err(Failure::Refused(reason)) => {
                bail!("the hub at {} refused this spoke: {reason}", opts.hub)
            }
            Err(Failure::Network(e)) => {
                // Retried every second or so: said at once, then less and
                // less often (attempts 1, 2, 4, 8, ...).
                if (failures + 1u32).is_power_of_two() {
                    tracing::warn!(hub = %opts.hub, attempts = failures + 1, "cannot reach the hub: {e:#}");
                } else {
                    tracing::debug!(hub = %opts.hub, "cannot reach the hub: {e:#}");
                }
            }
        }
        failures += 1;
        let wait = backoff(failures, fastrand::f64()).min(MAX_RETRY);
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

enum Failure {
    /// The hub answered and said no: retrying will not help.
    Refused(String),
    Network(anyhow::Error),
}

/// `HOST:PORT` from `--hub http://HOST:PORT[/]`.
pub fn hub_address(url: &str) -> anyhow::Result<String> {
    if url.starts_with("https://") {
        bail!("--hub {url}: TLS to the hub is not supported yet; use http:// on loopback");
    }
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("--hub {url:?} must start with http://"))?;
    let authority = rest.trim_end_matches('/');
    // It is written into the upgrade request's head (`Host:`): a space,
    // CR or LF there would end or add header lines.
    if authority.is_empty()
        || authority.contains('/')
        || !authority.bytes().all(|b| b.is_ascii_graphic())
    {
        bail!("--hub {url:?} must be http://HOST:PORT");
    }
    Ok(authority.to_owned())
}

/// Dials the hub and performs the upgrade; the connection after `101`.
async fn open(
    address: &str,
    opts: &TunnelOptions,
    proof_key: Option<&tunnel_proof::ProofKey>,
) -> Result<TcpStream, Failure> {
    let network = |e: anyhow::Error| Failure::Network(e);
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|e| network(anyhow::Error::new(e).context(format!("connecting to {address}"))))?;
    let _ = stream.set_nodelay(true);
    hub_proves_itself(&mut stream, address, proof_key).await?;
    let mut head = format!(
        "GET {TUNNEL_PATH} HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\n\
         Upgrade: {PROTOCOL}\r\n{SPOKE_HEADER}: {}\r\n{INSTANCE_HEADER}: {}\r\n",
        opts.name, opts.instance
    );
    if let Some(token) = &opts.token {
        head.push_str(&format!("Authorization: Bearer {}\r\n", token.secret()));
    }
    if let Some(key) = &opts.key {
        head.push_str(&format!("{KEY_HEADER}: {}\r\n", key.secret()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| network(e.into()))?;
    let text = read_head(&mut stream).await?;
    let status = response_status(text.as_bytes());
    match status {
        101 => Ok(stream),
        400 | 401 | 403 | 409 => {
            let mut body = vec![0; 1024];
            let n = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut body))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let reason = String::from_utf8_lossy(&body[..n]).trim().to_owned();
            Err(Failure::Refused(if reason.is_empty() {
                format!("HTTP {status}")
            } else {
                reason
            }))
        }
        _ => Err(network(anyhow::anyhow!(
            "unexpected answer from the hub: {}",
            text.lines().next().unwrap_or_default()
        ))),
    }
}

/// Asks the hub to prove it knows the tunnel token before anything secret
/// is sent (see `tunnel_proof`). A spoke without a token has nothing to
/// protect and asks nothing.
async fn hub_proves_itself(
    stream: &mut TcpStream,
    address: &str,
    proof_key: Option<&tunnel_proof::ProofKey>,
) -> Result<(), Failure> {
    let Some(key) = proof_key else {
        return Ok(());
    };

    let nonce = tunnel_proof::nonce().map_err(Failure::Network)?;
    let hello = format!(
        "GET {} HTTP/1.1\r\nHost: {address}\r\n{}: {nonce}\r\n\r\n",
        tunnel_proof::HELLO_PATH,
        tunnel_proof::NONCE_HEADER
    );
    stream
        .write_all(hello.as_bytes())
        .await
        .map_err(|e| Failure::Network(e.into()))?;
    let head = read_head(stream).await?;
    let proof = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case(tunnel_proof::PROOF_HEADER)
            .then(|| value.trim().to_owned())
    });
    if response_status(head.as_bytes()) == 204 && proof.is_some_and(|p| key.verify(&nonce, &p)) {
        return Ok(());
    }
    // A hub with another token, or not the hub at all: the secrets stay
    // here either way, and retrying will not help.
    Err(Failure::Refused(format!(
        "whatever answers at {address} could not prove it knows this spoke's token (a wrong \
         --token-file, or something other than the hub listens there); the token and key \
         were not sent"
    )))
}

/// Reads a response head byte by byte up to the blank line: what follows
/// belongs to the next response, or to HTTP/2.
async fn read_head(stream: &mut TcpStream) -> Result<String, Failure> {
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        if response.len() >= MAX_HEAD {
            return Err(Failure::Network(anyhow::anyhow!(
                "the hub's response head is too long"
            )));
        }
        let byte = stream.read_u8().await.map_err(|e| {
            Failure::Network(anyhow::Error::new(e).context("reading the hub's response"))
        })?;
        response.push(byte);
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The status code in an HTTP response head (`HTTP/1.1 101 ...`); 0 if
/// there is none. Pure, so the fuzz harness can call it.
pub fn response_status(head: &[u8]) -> u16 {
    String::from_utf8_lossy(head)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0)
}

/// Serves gRPC (HTTP/2, this side the server) until the connection closes
/// or `shutdown`.
async fn serve(stream: TcpStream, router: axum::Router, shutdown: &CancellationToken) {
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .keep_alive_interval(super::LINK_PING_AFTER)
        .keep_alive_timeout(super::LINK_PONG_WITHIN);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = &mut connection => if let Err(e) = result {
            tracing::debug!("tunnel connection ended: {e}");
        },
        () = shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_address_is_one_printable_authority() {
        assert_eq!(
            hub_address("http://127.0.0.1:4620/").expect("valid"),
            "127.0.0.1:4620"
        );
        assert_eq!(hub_address("http://[::1]:1").expect("valid"), "[::1]:1");
        for bad in [
            "http://",
            "http://a/b",
            "https://a:1",
            "a:1",
            "http://a:1\r\nX-Evil: 1",
            "http://a b:1",
            "http://h\u{e9}:1",
        ] {
            assert!(hub_address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_status_is_the_second_word_of_the_head() {
        assert_eq!(response_status(b"HTTP/1.1 101 Switching\r\n\r\n"), 101);
        assert_eq!(response_status(b"HTTP/1.1 409 Conflict\r\n\r\n"), 409);
        assert_eq!(response_status(b"garbage"), 0);
        assert_eq!(response_status(b""), 0);
    }
}
