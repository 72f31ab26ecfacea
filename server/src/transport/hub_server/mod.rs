//! Runs a hub: the federated coordinator over the embedded spoke and the
//! dialled ones, served on one TCP port (gRPC, routed by content type;
//! `/healthz`, `/metrics`, the tunnel, and the web app with its
//! WebSockets) and on a Unix socket (0600) for the CLI.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::accept::Limits;
use super::grpc::{self, auth::Token, client, remote::RemoteSpoke};
use super::spoke_server::{SocketFile, TlsFiles, bind_unix, unix_builder};
use super::unix_incoming;
use super::web::front_door::TailscaleSocket;
use super::web_state::WebState;
use crate::core::SessionConfig;
use crate::hub::grants::Grants;
use crate::hub::presence::Presence;
use crate::hub::secret::Secret;
use crate::hub::share::Shares;
use crate::hub::{Hub, Join};
use crate::spoke::LocalSpoke;

mod app;

/// The hub's token, in its state directory unless `--listen-token-file`.
pub const TOKEN_FILE: &str = "token";

/// Connections the Tailscale socket holds at most (beside the TCP port's).
const TAILSCALE_CONNECTIONS: usize = 256;

/// How often the hub does its housekeeping, at most.
const MAINTAIN_EVERY: Duration = Duration::from_secs(60);

/// How long open streams may hold up shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Everything a hub needs; built by the CLI, never from clap types.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// The hub's name, and its embedded spoke's.
    pub name: String,
    pub socket: PathBuf,
    pub listen: SocketAddr,
    /// The token the TCP port requires [default: `token` in the state
    /// directory, made on first start].
    pub token_file: Option<PathBuf>,
    /// Require no token on the TCP port (loopback only; every local user
    /// then controls the hub).
    pub no_token: bool,
    /// Tunnelled spokes gone this long are forgotten.
    pub forget_spokes_after: Duration,
    /// Token tunnelled spokes must present [default: the TCP token].
    pub tunnel_token_file: Option<PathBuf>,
    /// Settings of the embedded spoke's sessions; `None`: no embedded spoke.
    pub local_spoke: Option<SessionConfig>,
    pub dialled: Vec<DialledSpoke>,
    /// Share links and their secret.
    pub state_dir: PathBuf,
    /// Base of share-link URLs; `None`: `http://` and the bound address.
    pub public_url: Option<String>,
    /// HTTPS ends at a proxy in front: a non-loopback address is allowed.
    pub behind_tls_proxy: bool,
    /// HTTPS (and gRPC over TLS) on `listen`.
    pub tls: Option<TlsFiles>,
    /// A Unix socket (0600) for `tailscale serve` to forward to: only
    /// there are Tailscale's identity headers believed.
    pub tailscale_socket: Option<PathBuf>,
}

pub use crate::config::DialledSpoke;

/// Serves until `shutdown` is cancelled. Prints one `READY ...` line on
/// stdout once bound. Socket files it made are gone when it returns, also
/// after a failed start.
pub async fn run_hub(opts: HubOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    check_options(&opts)?;
    crate::paths::ensure_private_dir(&opts.state_dir)?;
    let limits = Limits::for_open_files(crate::nofile::raise());
    let token = hub_token(&opts)?;
    let (hub, local) = federate(&opts)?;
    let secret = Arc::new(Secret::load_or_create(&opts.state_dir.join("secret"))?);
    let shares = Arc::new(
        Shares::open(&opts.state_dir, secret)
            .with_context(|| format!("hub state in {}", opts.state_dir.display()))?,
    );
    let grants = Arc::new(
        Grants::open(&opts.state_dir)
            .with_context(|| format!("hub grants in {}", opts.state_dir.display()))?,
    );
    let listeners = Listeners::bind(&opts).await?;
    let public_url = public_url(&opts, &listeners);
    announce(&opts, &hub, &listeners, token.as_ref(), &public_url);
    tokio::spawn(maintain(
        hub.clone(),
        shares.clone(),
        opts.forget_spokes_after,
        shutdown.clone(),
    ));
    let state = WebState {
        hub: hub.clone(),
        shares,
        grants: grants.clone(),
        presence: Arc::new(Presence::default()),
        public_url: public_url.clone(),
        previews: Arc::default(),
    };
    let cli_routes = grpc::routes(
        Arc::new(hub.clone()),
        Some(hub.clone()),
        Some(state.clone()),
    );
    let app = app::tcp_app(
        &opts,
        &hub,
        state,
        token.map(|(t, _)| t),
        public_url,
        shutdown.clone(),
    )
    .await?;
    let result = serve(listeners, cli_routes.await?, app, limits, shutdown).await;
    crate::service::stopping();
    // Calls made under grants before the stop are all on disk.
    grants.audit().flush().await;
    hub.shutdown();
    if let Some(local) = local {
        local.kill_all();
    }
    result
}

/// Options that contradict each other or the address, refused before
/// anything is made or bound.
fn check_options(opts: &HubOptions) -> anyhow::Result<()> {
    vtr_shared::address::validate_name(&opts.name)
        .with_context(|| format!("hub name {:?}", opts.name))?;
    if opts.tailscale_socket.is_some() && opts.no_token {
        bail!(
            "--tailscale-socket cannot go with --no-token: the hub's port would take anyone, \
             whoever Tailscale says they are"
        );
    }
    if !opts.listen.ip().is_loopback() && opts.tls.is_none() && !opts.behind_tls_proxy {
        bail!(
            "refusing to listen on non-loopback address {} without TLS: give --tls-cert \
             and --tls-key, or put a TLS proxy in front and pass --behind-tls-proxy",
            opts.listen
        );
    }
    Ok(())
}

/// The hub over its spokes: the embedded one (returned, to end its
/// sessions at shutdown) and the dialled ones. Tunnelled spokes join later.
fn federate(opts: &HubOptions) -> anyhow::Result<(Hub, Option<Arc<LocalSpoke>>)> {
    let hub = Hub::new(opts.name.clone());
    let local = opts
        .local_spoke
        .clone()
        .map(|config| Arc::new(LocalSpoke::new(opts.name.clone(), config)));
    if let Some(local) = &local {
        hub.add_spoke(opts.name.clone(), Join::Local, local.clone())?;
    }
    for spoke in &opts.dialled {
        let handle = dial(spoke).with_context(|| format!("spoke {:?}", spoke.name))?;
        let join = Join::Dialled {
            address: spoke.address.clone(),
        };
        hub.add_spoke(spoke.name.clone(), join, Arc::new(handle))?;
    }
    Ok((hub, local))
}

/// Everything the hub listens on, bound; its socket files are removed
/// when this is dropped.
struct Listeners {
    unix: UnixListener,
    tailscale: Option<UnixListener>,
    tcp: TcpListener,
    tcp_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    _files: Vec<SocketFile>,
}

impl Listeners {
    async fn bind(opts: &HubOptions) -> anyhow::Result<Self> {
        let tls = opts
            .tls
            .as_ref()
            .map(|f| super::tls::acceptor(&f.cert, &f.key))
            .transpose()?;
        let mut files = Vec::new();
        let unix = bind_unix(&opts.socket)?;
        files.push(SocketFile::new(&opts.socket));
        let tailscale = match &opts.tailscale_socket {
            Some(path) => {
                let listener = bind_unix(path)?;
                files.push(SocketFile::new(path));
                Some(listener)
            }
            None => None,
        };
        let tcp = TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("binding {}", opts.listen))?;
        Ok(Listeners {
            unix,
            tailscale,
            tcp_addr: tcp.local_addr()?,
            tcp,
            tls,
            _files: files,
        })
    }
}

/// Where browsers and share links reach the hub: `--public-url`, else the
/// bound address.
fn public_url(opts: &HubOptions, listeners: &Listeners) -> Arc<str> {
    opts.public_url
        .clone()
        .unwrap_or_else(|| {
            let scheme = if listeners.tls.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", listeners.tcp_addr)
        })
        .into()
}

/// The READY line (for programs) and how to sign in (for people).
fn announce(
    opts: &HubOptions,
    hub: &Hub,
    listeners: &Listeners,
    token: Option<&(Token, PathBuf)>,
    public_url: &str,
) {
    println!(
        "READY role=hub name={} socket={} listen={} tls={} spokes={} token_file={}",
        opts.name,
        opts.socket.display(),
        listeners.tcp_addr,
        if listeners.tls.is_some() { "on" } else { "off" },
        hub.spokes().len(),
        token.map_or_else(|| "-".to_owned(), |(_, p)| p.display().to_string()),
    );
    tracing::info!(name = %opts.name, listen = %listeners.tcp_addr, "hub ready");
    crate::service::ready();
    match token {
        Some((token, _)) => announce_sign_in(public_url, token),
        None => tracing::warn!(
            listen = %listeners.tcp_addr,
            "--no-token: the hub's port takes no credential; every local user, and every \
             program on this machine, controls its shells"
        ),
    }
}

/// Serves the CLI's socket, the TCP port and the Tailscale socket until
/// `shutdown`, then gives open streams a moment to end.
async fn serve(
    listeners: Listeners,
    cli_routes: tonic::service::Routes,
    app: axum::Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Listeners {
        unix,
        tailscale,
        tcp,
        tls,
        _files,
        ..
    } = listeners;
    // Its own listener and budget: a flood on the TCP port never
    // reaches the CLI.
    let unix_server = unix_builder()
        .add_routes(cli_routes)
        .serve_with_incoming_shutdown(
            unix_incoming::Bounded::new(unix),
            shutdown.clone().cancelled_owned(),
        );
    let tailscale_server = {
        let app = app.clone().layer(axum::Extension(TailscaleSocket));
        let (limits, shutdown) = (limits.clone(), shutdown.clone());
        async move {
            let Some(listener) = tailscale else {
                return Ok(());
            };
            // A Unix peer has no address: its requests count as 0.0.0.0,
            // apart from loopback's (the throttle's buckets), within a
            // budget of their own.
            let peer = SocketAddr::from(([0, 0, 0, 0], 0));
            let limits = Limits {
                max_connections: limits.max_connections.min(TAILSCALE_CONNECTIONS),
                ..limits
            };
            super::accept::serve_unix(listener, peer, app, limits, shutdown).await
        }
    };
    let tcp_server = super::accept::serve(tcp, tls, app, limits, shutdown.clone());
    let serve = async {
        let (unix_result, tcp_result, tailscale_result) =
            tokio::join!(unix_server, tcp_server, tailscale_server);
        unix_result.context("gRPC over the Unix socket")?;
        tailscale_result.context("serving the Tailscale socket")?;
        tcp_result.context("serving TCP")
    };
    tokio::pin!(serve);
    tokio::select! {
        result = &mut serve => result,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    }
}

/// Housekeeping on a schedule: tunnelled spokes gone too long, share
/// links expired or revoked long ago.
async fn maintain(hub: Hub, shares: Arc<Shares>, forget_after: Duration, stop: CancellationToken) {
    let every = (forget_after / 2).clamp(Duration::from_millis(100), MAINTAIN_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        hub.forget_gone_tunnels(forget_after);
        if let Err(e) = shares.prune() {
            tracing::warn!("pruning share links: {e}");
        }
    }
}

/// A handle on a configured spoke; it connects on first use and reconnects
/// by itself.
fn dial(spoke: &DialledSpoke) -> anyhow::Result<RemoteSpoke> {
    let token = spoke
        .token_file
        .as_deref()
        .map(Token::from_file)
        .transpose()?;
    if token.is_some() {
        client::refuse_plain_http_off_loopback(&spoke.address)?;
    }
    let channel = client::lazy_channel(&spoke.address, spoke.ca_file.as_deref())?;
    RemoteSpoke::new(spoke.name.clone(), channel, token.as_ref())
}

/// The token the hub's port requires, and the file it is in: the one
/// given, else the state directory's (made now if missing); `None` with
/// `--no-token`, which only a loopback address may have.
fn hub_token(opts: &HubOptions) -> anyhow::Result<Option<(Token, PathBuf)>> {
    if opts.no_token {
        if !opts.listen.ip().is_loopback() {
            bail!(
                "--no-token is for loopback addresses only; {} needs a token",
                opts.listen
            );
        }
        if opts.token_file.is_some() {
            bail!("--no-token and --listen-token-file contradict each other; give one");
        }
        return Ok(None);
    }
    match &opts.token_file {
        Some(path) => Ok(Some((Token::from_file(path)?, path.clone()))),
        None => {
            let path = opts.state_dir.join(TOKEN_FILE);
            let (token, made) = Token::load_or_create(&path)?;
            if made {
                tracing::info!(file = %path.display(), "made the hub's token");
            }
            Ok(Some((token, path)))
        }
    }
}

/// The URL that signs a browser in: the token rides in the fragment,
/// which never reaches a server or a log.
pub fn sign_in_url(public_url: &str, token: &Token) -> String {
    format!("{public_url}/login#token={}", token.secret())
}

/// Tells the person who started the hub how to sign in: the URL itself
/// on a terminal, else (a log, a journal) how to get it.
fn announce_sign_in(public_url: &str, token: &Token) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!(
            "vtr hub: open {} to sign in (`vtr hub url` prints it again)",
            sign_in_url(public_url, token)
        );
    } else {
        eprintln!("vtr hub: run `vtr hub url` for the sign-in URL ({public_url})");
    }
}
