//! Runs a hub: the federated coordinator over the embedded spoke and the
//! dialled ones, served on one TCP port (gRPC, routed by content type;
//! `/healthz`, `/metrics`, the tunnel, and the web app with its
//! WebSockets) and on a Unix socket (0600) for the CLI.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use super::grpc::{self, auth::Token, client, remote::RemoteSpoke};
use super::sharing::Sharing;
use super::spoke_server::{TlsFiles, bind_unix};
use super::tunnel;
use super::web::auth::WebAuth;
use crate::core::SessionConfig;
use crate::hub::presence::Presence;
use crate::hub::secret::Secret;
use crate::hub::share::Shares;
use crate::hub::{Hub, Join};
use crate::spoke::LocalSpoke;

/// How long open streams may hold up shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Everything a hub needs; built by the CLI, never from clap types.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// The hub's name, and its embedded spoke's.
    pub name: String,
    pub socket: PathBuf,
    pub listen: SocketAddr,
    /// Require this bearer token on the TCP port.
    pub token_file: Option<PathBuf>,
    /// Token tunnelled spokes must present [default: the TCP token; with
    /// neither, any spoke may join].
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
    /// Web requests from loopback may sign in with Tailscale's headers.
    pub trust_tailscale_headers: bool,
}

/// A spoke from the configuration, which the hub dials.
#[derive(Debug, Clone)]
pub struct DialledSpoke {
    pub name: String,
    pub address: String,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
}

/// Serves until `shutdown` is cancelled. Prints one `READY ...` line on
/// stdout once bound.
pub async fn run_hub(opts: HubOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    vtr_shared::address::validate_name(&opts.name)
        .with_context(|| format!("hub name {:?}", opts.name))?;
    let token = opts
        .token_file
        .as_deref()
        .map(Token::from_file)
        .transpose()?;
    if opts.trust_tailscale_headers {
        if token.is_none() {
            bail!(
                "--trust-tailscale-headers needs --listen-token-file too: what `tailscale serve` \
                 forwards reaches gRPC and the tunnel as well, which check the token"
            );
        }
        if opts.behind_tls_proxy {
            bail!(
                "--trust-tailscale-headers cannot go with --behind-tls-proxy: behind another \
                 local proxy every peer is loopback, so anyone could send Tailscale's headers"
            );
        }
    }
    if !opts.listen.ip().is_loopback() {
        if opts.tls.is_none() && !opts.behind_tls_proxy {
            bail!(
                "refusing to listen on non-loopback address {} without TLS: give --tls-cert \
                 and --tls-key, or put a TLS proxy in front and pass --behind-tls-proxy",
                opts.listen
            );
        }
        if token.is_none() {
            bail!(
                "refusing to listen on non-loopback address {} without a token: pass \
                 --listen-token-file (browsers sign in with it at /login)",
                opts.listen
            );
        }
    }
    let tunnel_token = match &opts.tunnel_token_file {
        Some(path) => Some(Token::from_file(path)?),
        None => token.clone(),
    };
    let hub = Hub::new(opts.name.clone());
    let local = opts
        .local_spoke
        .clone()
        .map(|config| Arc::new(LocalSpoke::new(opts.name.clone(), config)));
    if let Some(local) = &local {
        hub.add_spoke(opts.name.clone(), Join::Local, local.clone())?;
    }
    for spoke in &opts.dialled {
        let link = dial(spoke).with_context(|| format!("spoke {:?}", spoke.name))?;
        let join = Join::Dialled {
            address: spoke.address.clone(),
        };
        hub.add_spoke(spoke.name.clone(), join, Arc::new(link))?;
    }

    crate::paths::ensure_private_dir(&opts.state_dir)?;
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
    let tcp = TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    let tcp_addr = tcp.local_addr()?;
    println!(
        "READY role=hub name={} socket={} listen={} tls={} spokes={}",
        opts.name,
        opts.socket.display(),
        tcp_addr,
        if tls.is_some() { "on" } else { "off" },
        hub.spokes().len(),
    );
    tracing::info!(name = %opts.name, listen = %tcp_addr, "hub ready");

    let sharing = Sharing {
        hub: hub.clone(),
        shares,
        presence: Arc::new(Presence::default()),
        public_url: opts
            .public_url
            .clone()
            .unwrap_or_else(|| {
                let scheme = if tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{tcp_addr}")
            })
            .into(),
    };
    let auth = WebAuth::new(
        token.clone(),
        secret,
        opts.trust_tailscale_headers,
        opts.behind_tls_proxy || tls.is_some(),
    );
    let coordinator = Arc::new(hub.clone());
    let local_routes = grpc::routes(
        coordinator.clone(),
        Some(hub.clone()),
        Some(sharing.clone()),
        None,
    )
    .await?;
    let unix_server = Server::builder()
        .add_routes(local_routes)
        .serve_with_incoming_shutdown(
            UnixListenerStream::new(unix),
            shutdown.clone().cancelled_owned(),
        );
    let app = grpc::routes(
        coordinator,
        Some(hub.clone()),
        Some(sharing.clone()),
        token.clone(),
    )
    .await?
    .into_axum_router()
    .route("/healthz", get(|| async { "ok\n" }))
    .route("/metrics", get(metrics).with_state((hub.clone(), token)))
    .route(
        tunnel::TUNNEL_PATH,
        get(tunnel::accept).with_state(tunnel::Acceptor {
            hub: hub.clone(),
            token: tunnel_token,
        }),
    )
    .merge(super::web::router(sharing))
    .merge(super::web::auth_router(auth.clone()))
    .fallback(super::web::fallback)
    .layer(axum::middleware::from_fn_with_state(
        auth,
        super::web::auth::require,
    ));
    let tcp_server: std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> = match tls {
        Some(acceptor) => Box::pin(super::tls::serve(tcp, acceptor, app, shutdown.clone())),
        None => {
            // Small messages (keystrokes, echoes) must not wait for
            // Nagle's algorithm.
            let tcp = tcp.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            let server = axum::serve(tcp, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
            Box::pin(async move { Ok(server.await?) })
        }
    };

    let serve = async {
        let (unix_result, tcp_result) = tokio::join!(unix_server, tcp_server);
        unix_result.context("gRPC over the Unix socket")?;
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
    result
}

/// A link to a configured spoke; it connects on first use and reconnects
/// by itself.
fn dial(spoke: &DialledSpoke) -> anyhow::Result<RemoteSpoke> {
    let token = spoke
        .token_file
        .as_deref()
        .map(Token::from_file)
        .transpose()?;
    let channel = client::lazy_channel(&spoke.address, spoke.ca_file.as_deref())?;
    let client = client::client(channel, token.as_ref())?;
    Ok(RemoteSpoke::new(spoke.name.clone(), client))
}

async fn metrics(
    axum::extract::State((hub, token)): axum::extract::State<(Hub, Option<Token>)>,
    headers: HeaderMap,
) -> axum::response::Response {
    if let Some(token) = token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|p| token.matches(p)) {
            return (StatusCode::UNAUTHORIZED, "bearer token required\n").into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        hub.metrics(),
    )
        .into_response()
}
