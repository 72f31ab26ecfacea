//! The front door of a spoke's `--listen` port, which serves gRPC alone:
//! every request must be a gRPC call from a program (HTTP/2, a gRPC
//! content type, no browser's `Origin` or `Sec-Fetch-Site`, the same rule
//! as the hub's door), and carry the spoke's token. Wrong tokens are
//! counted per peer (`throttle`) and logged with its address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::connections::ConnectionMark;
use super::grpc::auth::{Token, bearer};
use super::throttle::Throttle;
use super::web::front_door::grpc_refusal;

#[derive(Clone)]
pub struct SpokeDoor {
    /// `None`: `--no-token` (loopback only).
    pub token: Option<Token>,
    pub throttle: Arc<Throttle>,
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn spoke_door(
    State(door): State<SpokeDoor>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(refusal) = grpc_refusal(&request, peer) {
        return refusal;
    }
    if let Some(token) = &door.token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer);
        let refuse = |status: tonic::Status| status.into_http::<axum::body::Body>();
        let Some(presented) = presented else {
            return refuse(tonic::Status::unauthenticated(
                "missing token: send `authorization: Bearer <token>`",
            ));
        };
        if let Err(wait) = door.throttle.check(peer.ip()) {
            return refuse(tonic::Status::resource_exhausted(format!(
                "too many failed tokens from {}: try again in {} s",
                peer.ip(),
                wait.as_secs().max(1)
            )));
        }
        if !token.matches(presented) {
            door.throttle.failed(peer.ip());
            tracing::warn!(%peer, path = %request.uri().path(), "refused: wrong token");
            return refuse(tonic::Status::unauthenticated("invalid token"));
        }
        door.throttle.succeeded(peer.ip());
    }
    if let Some(mark) = request.extensions().get::<ConnectionMark>() {
        mark.signed_in();
    }
    next.run(request).await
}
