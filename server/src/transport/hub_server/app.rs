//! The hub's TCP port as one router behind the front door: gRPC (by
//! content type), `/healthz`, `/metrics`, the tunnel, the web app and its
//! sign-in, and `/mcp` for agents.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::HubOptions;
use crate::hub::Hub;
use crate::hub::pins::Pins;
use crate::hub::signins::SignIns;
use crate::transport::grpc::{self, auth::Token};
use crate::transport::mcp;
use crate::transport::throttle::Throttle;
use crate::transport::tunnel;
use crate::transport::tunnel_proof::{self, ProofKey};
use crate::transport::web::front_door::{FrontDoor, MCP_PATH, front_door};
use crate::transport::web::{self, auth::WebAuth, auth::token_fingerprint};
use crate::transport::web_state::WebState;

/// Every route of the TCP port; the front door checks every request's
/// Host, origin and identity first, gRPC included.
pub(super) async fn tcp_app(
    opts: &HubOptions,
    hub: &Hub,
    state: WebState,
    token: Option<Token>,
    public_url: Arc<str>,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<axum::Router> {
    // HTTPS here or at a proxy in front: cookies are Secure, and only
    // `https://` origins are this hub's.
    let secure = opts.behind_tls_proxy || opts.tls.is_some();
    let sign_ins = SignIns::open(&opts.state_dir, &token_fingerprint(token.as_ref()))?;
    let throttle = Arc::new(Throttle::default());
    let auth = WebAuth::new(
        token.clone(),
        Arc::new(sign_ins),
        throttle.clone(),
        opts.tailscale_socket.is_some(),
        secure,
    )
    .with_grants(state.grants.clone());
    let tunnel_token = match &opts.tunnel_token_file {
        Some(path) => Some(Token::from_file(path)?),
        None => token,
    };
    let pins = Pins::open(&opts.state_dir)?;
    // Spokes that joined before: known while they reconnect.
    for name in pins.names()? {
        hub.expect_tunnel(&name);
    }
    let acceptor = tunnel::Acceptor {
        hub: hub.clone(),
        throttle,
        pins: Arc::new(pins),
        proof_key: tunnel_token.as_ref().map(|t| Arc::new(ProofKey::derive(t))),
        token: tunnel_token,
    };
    let door = FrontDoor {
        auth: auth.clone(),
        public_url,
        secure,
    };
    Ok(grpc::routes(
        Arc::new(hub.clone()),
        Some(hub.clone()),
        Some(state.clone()),
    )
    .await?
    .into_axum_router()
    .route("/healthz", get(|| async { "ok\n" }))
    .route("/metrics", get(metrics).with_state(hub.clone()))
    .merge(tunnel_routes(acceptor))
    .merge(web::router(state))
    .merge(web::auth_router(auth))
    .route_service(MCP_PATH, mcp::hub_service(hub, shutdown))
    .fallback(web::fallback)
    .layer(axum::middleware::from_fn_with_state(door, front_door)))
}

/// The tunnel's two steps: the hub proves itself, then the upgrade.
fn tunnel_routes(acceptor: tunnel::Acceptor) -> axum::Router {
    axum::Router::new()
        .route(tunnel_proof::HELLO_PATH, get(tunnel_proof::hello))
        .route(tunnel::TUNNEL_PATH, get(tunnel::accept))
        .with_state(acceptor)
}

async fn metrics(axum::extract::State(hub): axum::extract::State<Hub>) -> axum::response::Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        hub.metrics(),
    )
        .into_response()
}
