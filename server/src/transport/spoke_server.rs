//! Runs a spoke: the local coordinator served over a Unix socket (0600) and
//! optionally TCP (TLS and a token required off loopback).

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use super::accept::{self, Limits};
use super::grpc::{self, auth::Token};
use super::spoke_door::{SpokeDoor, spoke_door};
use super::tunnel::TunnelOptions;
use super::unix_incoming;
use crate::core::SessionConfig;
use crate::spoke::LocalSpoke;

/// The spoke's own key for joining hubs, in its state directory.
pub const KEY_FILE: &str = "spoke-key";

/// Everything a spoke needs; built by the CLI, never from clap types.
#[derive(Debug, Clone)]
pub struct SpokeOptions {
    pub name: String,
    pub socket: PathBuf,
    pub listen: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
    /// The token `listen` requires [default: `token` in `state_dir`, made
    /// on first start].
    pub token_file: Option<PathBuf>,
    /// `listen` takes no token (loopback only).
    pub no_token: bool,
    /// Where the spoke keeps its token.
    pub state_dir: PathBuf,
    /// Hold a tunnel open to this hub.
    pub tunnel: Option<TunnelOptions>,
    /// `key=value` labels a hub shows.
    pub labels: Vec<(String, String)>,
    pub session: SessionConfig,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Serves until `shutdown` is cancelled, then kills the sessions and
/// removes the socket. Prints one `READY ...` line on stdout once bound.
pub async fn run_spoke(opts: SpokeOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    vtr_shared::address::validate_name(&opts.name)
        .with_context(|| format!("spoke name {:?}", opts.name))?;
    if let Some(addr) = opts.listen
        && !addr.ip().is_loopback()
        && opts.tls.is_none()
    {
        bail!(
            "refusing to listen on non-loopback address {addr} without TLS: give --tls-cert \
             and --tls-key"
        );
    }
    let limits = Limits::for_open_files(crate::nofile::raise());
    let token = listen_token(&opts)?;
    let tls = opts
        .tls
        .as_ref()
        .map(|f| super::tls::acceptor(&f.cert, &f.key))
        .transpose()?;
    let spoke = Arc::new(
        LocalSpoke::new(opts.name.clone(), opts.session.clone()).with_labels(opts.labels.clone()),
    );
    let unix = bind_unix(&opts.socket)?;
    // Removed on every way out from here, a failed bind of `--listen` too.
    let _socket_file = SocketFile::new(&opts.socket);
    let tcp = match opts.listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding gRPC listener on {addr}"))?,
        ),
        None => None,
    };
    let tcp_addr = tcp.as_ref().map(TcpListener::local_addr).transpose()?;
    println!(
        "READY role=spoke name={} socket={} grpc={} tls={} hub={} token_file={}",
        opts.name,
        opts.socket.display(),
        tcp_addr.map_or_else(|| "-".to_owned(), |a| a.to_string()),
        if tls.is_some() { "on" } else { "off" },
        opts.tunnel.as_ref().map_or("-", |t| t.hub.as_str()),
        token
            .as_ref()
            .map_or_else(|| "-".to_owned(), |(_, path)| path.display().to_string()),
    );
    let token = token.map(|(token, _)| token);
    tracing::info!(name = %opts.name, socket = %opts.socket.display(), "spoke ready");
    crate::service::ready();

    // The Unix socket is owner-only, so it needs no token; its own
    // budget keeps it answering through a flood on `--listen`.
    let local = unix_builder()
        .add_routes(grpc::routes(spoke.clone(), None, None).await?)
        .serve_with_incoming_shutdown(
            unix_incoming::Bounded::new(unix),
            shutdown.clone().cancelled_owned(),
        );
    let remote = async {
        let Some(tcp) = tcp else {
            return Ok(());
        };
        // The hub's accept loop, caps and timeouts, behind the spoke's
        // door (gRPC from programs only, the token; it marks a connection
        // signed in).
        let door = SpokeDoor {
            token,
            throttle: Arc::default(),
        };
        let router = grpc::routes(spoke.clone(), None, None)
            .await?
            .into_axum_router()
            .layer(axum::middleware::from_fn_with_state(door, spoke_door));
        accept::serve(tcp, tls, router, limits, shutdown.clone())
            .await
            .context("gRPC over TCP")
    };
    let tunnel = async {
        let Some(mut tunnel) = opts.tunnel.clone() else {
            return Ok(());
        };
        tunnel.instance = spoke.instance().to_owned();
        crate::paths::ensure_private_dir(&opts.state_dir)?;
        tunnel.key = Some(Token::load_or_create(&opts.state_dir.join(KEY_FILE))?.0);
        let router = grpc::routes(spoke.clone(), None, None)
            .await?
            .into_axum_router();
        let result = super::tunnel::hold(tunnel, router, shutdown.clone()).await;
        // A refused spoke stops: its error says why.
        shutdown.cancel();
        result
    };
    let (local, remote, tunnel) = tokio::join!(local, remote, tunnel);
    crate::service::stopping();
    spoke.kill_all();
    tunnel?;
    local.context("gRPC over the Unix socket")?;
    remote
}

/// The token `--listen` requires, and its file: the one given, else the
/// state directory's (made now if missing); `None` without `--listen` or
/// with `--no-token` (loopback only, and loudly).
fn listen_token(opts: &SpokeOptions) -> anyhow::Result<Option<(Token, PathBuf)>> {
    let Some(addr) = opts.listen else {
        return Ok(None);
    };
    if opts.no_token {
        if !addr.ip().is_loopback() {
            bail!("--no-token is for loopback addresses only; {addr} needs a token");
        }
        tracing::warn!(
            listen = %addr,
            "--no-token: the spoke's TCP port takes no credential; every local user controls \
             its shells"
        );
        return Ok(None);
    }
    match &opts.token_file {
        Some(path) => Ok(Some((Token::from_file(path)?, path.clone()))),
        None => {
            crate::paths::ensure_private_dir(&opts.state_dir)?;
            let path = opts.state_dir.join("token");
            let (token, made) = Token::load_or_create(&path)?;
            if made {
                tracing::info!(file = %path.display(), "made the spoke's --listen token");
            }
            Ok(Some((token, path)))
        }
    }
}

/// tonic's server for a Unix socket: pings find peers that stopped
/// answering. No per-request timeout: `WaitFor` and streams rightly last.
pub fn unix_builder() -> Server {
    Server::builder()
        .http2_keepalive_interval(Some(unix_incoming::KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(unix_incoming::KEEPALIVE_TIMEOUT))
}

/// Binds a Unix socket with mode 0600. A stale socket file (nothing
/// listening) is replaced; a live one is an error.
pub fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        crate::paths::ensure_private_dir(dir)?;
    }
    if path.parent() == Some(&crate::paths::runtime_dir()) {
        crate::paths::ensure_private_dir(&crate::paths::runtime_dir())?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "{} is in use by a running vtr; stop it or choose another --socket",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing stale socket {}", path.display()))?;
    }
    // Owner-only from the first moment: no window in which others may connect.
    let old_mask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let listener = UnixListener::bind(path);
    nix::sys::stat::umask(old_mask);
    let listener = listener.with_context(|| format!("binding socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} owner-only", path.display()))?;
    Ok(listener)
}

/// A socket file this process made, removed when dropped: at a clean exit
/// and after a start that failed once it was bound.
pub struct SocketFile(PathBuf);

impl SocketFile {
    pub fn new(path: &Path) -> Self {
        SocketFile(path.to_path_buf())
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
