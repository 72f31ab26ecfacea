//! Runs a hub: the federated coordinator over the embedded spoke and the
//! dialled ones, served on one TCP port (gRPC, routed by content type;
//! `/healthz`, `/metrics`, the tunnel, and the web app with its
//! WebSockets) and on a Unix socket (0600) for the CLI.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::accept::Limits;
use super::grpc::{self, auth::Token, client, remote::RemoteSpoke};
use super::spoke_server::{TlsFiles, bind_unix, unix_builder};
use super::throttle::Throttle;
use super::tunnel;
use super::unix_incoming;
use super::web::auth::{WebAuth, token_fingerprint};
use super::web::front_door::{FrontDoor, TailscaleSocket, front_door};
use super::web_state::WebState;
use crate::core::SessionConfig;
use crate::hub::pins::Pins;
use crate::hub::presence::Presence;
use crate::hub::secret::Secret;
use crate::hub::share::Shares;
use crate::hub::signins::SignIns;
use crate::hub::{Hub, Join};
use crate::spoke::LocalSpoke;

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
/// stdout once bound.
pub async fn run_hub(opts: HubOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
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
    crate::paths::ensure_private_dir(&opts.state_dir)?;
    let limits = Limits::for_open_files(crate::nofile::raise());
    let token = hub_token(&opts)?;
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

    let secret = Arc::new(Secret::load_or_create(&opts.state_dir.join("secret"))?);
    let shares = Arc::new(
        Shares::open(&opts.state_dir, secret.clone())
            .with_context(|| format!("hub state in {}", opts.state_dir.display()))?,
    );
    let tls = opts
        .tls
        .as_ref()
        .map(|f| super::tls::acceptor(&f.cert, &f.key))
        .transpose()?;
    let unix = bind_unix(&opts.socket)?;
    let tailscale = opts
        .tailscale_socket
        .as_deref()
        .map(bind_unix)
        .transpose()?;
    let tcp = TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    let tcp_addr = tcp.local_addr()?;
    let token_path = token.as_ref().map(|(_, path)| path.clone());
    let token = token.map(|(token, _)| token);
    println!(
        "READY role=hub name={} socket={} listen={} tls={} spokes={} token_file={}",
        opts.name,
        opts.socket.display(),
        tcp_addr,
        if tls.is_some() { "on" } else { "off" },
        hub.spokes().len(),
        token_path
            .as_ref()
            .map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
    );
    tracing::info!(name = %opts.name, listen = %tcp_addr, "hub ready");

    let tunnel_token = match &opts.tunnel_token_file {
        Some(path) => Some(Token::from_file(path)?),
        None => token.clone(),
    };
    let public_url: Arc<str> = opts
        .public_url
        .clone()
        .unwrap_or_else(|| {
            let scheme = if tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{tcp_addr}")
        })
        .into();
    match &token {
        Some(token) => announce_sign_in(&public_url, token),
        None => tracing::warn!(
            listen = %tcp_addr,
            "--no-token: the hub's port takes no credential; every local user, and every \
             program on this machine, controls its shells"
        ),
    }
    tokio::spawn(maintain(
        hub.clone(),
        shares.clone(),
        opts.forget_spokes_after,
        shutdown.clone(),
    ));
    let state = WebState {
        hub: hub.clone(),
        shares,
        presence: Arc::new(Presence::default()),
        public_url: public_url.clone(),
    };
    // HTTPS here or at a proxy in front: cookies are Secure, and only
    // `https://` origins are this hub's.
    let secure = opts.behind_tls_proxy || tls.is_some();
    let sign_ins = SignIns::open(&opts.state_dir, &token_fingerprint(token.as_ref()))?;
    let throttle = Arc::new(Throttle::default());
    let auth = WebAuth::new(
        token.clone(),
        Arc::new(sign_ins),
        throttle.clone(),
        opts.tailscale_socket.is_some(),
        secure,
    );
    let coordinator = Arc::new(hub.clone());
    let local_routes =
        grpc::routes(coordinator.clone(), Some(hub.clone()), Some(state.clone())).await?;
    // Its own listener and budget: a flood on the TCP port never
    // reaches the CLI.
    let unix_server = unix_builder()
        .add_routes(local_routes)
        .serve_with_incoming_shutdown(
            unix_incoming::Bounded::new(unix),
            shutdown.clone().cancelled_owned(),
        );
    // The front door checks every request's identity, gRPC included.
    let app = grpc::routes(coordinator, Some(hub.clone()), Some(state.clone()))
        .await?
        .into_axum_router()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics).with_state(hub.clone()))
        .merge(tunnel_routes(tunnel::Acceptor {
            hub: hub.clone(),
            throttle,
            pins: Arc::new(Pins::open(&opts.state_dir)?),
            proof_key: tunnel_token
                .as_ref()
                .map(|t| Arc::new(super::tunnel_proof::ProofKey::derive(t))),
            token: tunnel_token,
        }))
        .merge(super::web::router(state))
        .merge(super::web::auth_router(auth.clone()))
        .fallback(super::web::fallback)
        .layer(axum::middleware::from_fn_with_state(
            FrontDoor {
                auth,
                public_url,
                secure,
            },
            front_door,
        ));
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
            let limits = super::accept::Limits {
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
    let result = tokio::select! {
        result = &mut serve => result,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    };
    hub.shutdown();
    if let Some(local) = local {
        local.kill_all();
    }
    let _ = std::fs::remove_file(&opts.socket);
    if let Some(path) = &opts.tailscale_socket {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// The tunnel's two steps: the hub proves itself, then the upgrade.
fn tunnel_routes(acceptor: tunnel::Acceptor) -> axum::Router {
    axum::Router::new()
        .route(
            super::tunnel_proof::HELLO_PATH,
            get(super::tunnel_proof::hello),
        )
        .route(tunnel::TUNNEL_PATH, get(tunnel::accept))
        .with_state(acceptor)
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
    let client = client::client(channel, token.as_ref())?;
    Ok(RemoteSpoke::new(spoke.name.clone(), client))
}

async fn metrics(axum::extract::State(hub): axum::extract::State<Hub>) -> axum::response::Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        hub.metrics(),
    )
        .into_response()
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
