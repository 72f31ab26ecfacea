//! The Model Context Protocol front end: the session tools (`tools`) for
//! agent hosts, served on a hub's port at `/mcp` (Streamable HTTP, behind
//! the same front door and token as everything else) and over stdio by
//! `vtr mcp`, which calls a hub or spoke through its socket.

pub mod handler;
pub mod tools;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use vtr_shared::proto as pb;

use crate::hub::Hub;
use crate::transport::grpc::federation::spoke_info;
use handler::Server;
use tools::{Backend, Spokes};

/// A hub's own spoke list.
struct HubSpokes(Hub);

#[async_trait::async_trait]
impl Spokes for HubSpokes {
    async fn spokes(&self) -> Result<Vec<pb::SpokeInfo>, String> {
        Ok(self.0.spokes().into_iter().map(spoke_info).collect())
    }
}

/// `/mcp` on a hub's port: the tools over the hub's sessions; calls still
/// waiting end when `shutdown` is cancelled.
pub fn hub_service(
    hub: &Hub,
    shutdown: CancellationToken,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    Server,
    rmcp::transport::streamable_http_server::session::never::NeverSessionManager,
> {
    let backend = Backend {
        coordinator: Arc::new(hub.clone()),
        spokes: Arc::new(HubSpokes(hub.clone())),
    };
    // Stateless, JSON answers: no stream outlives its request.
    handler::http_service(Server::new(backend, "mcp".to_owned()), shutdown)
}
