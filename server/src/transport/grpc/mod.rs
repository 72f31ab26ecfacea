//! gRPC: the `Vtr` service, health and reflection, auth, and the client.

pub mod attach;
pub mod auth;
pub mod client;
mod error;
pub mod federation;
pub mod remote;
pub mod service;
mod share;

/// Generated service code; messages live in `vtr_shared::proto`.
#[allow(clippy::all, clippy::unwrap_used)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/vtr.v1.rs"));

    /// Encoded descriptors of proto/, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/vtr_descriptor.bin"));
}

pub use vtr_shared::proto;

use std::sync::Arc;

use tonic::service::Routes;

use crate::core::Coordinator;
use crate::hub::Hub;
use crate::transport::web_state::WebState;

/// Every service a coordinator serves: `vtr.v1.Vtr`, health, reflection,
/// and on a hub `vtr.v1.Federation` and `vtr.v1.Shares`. Who may call them
/// is decided in front (the hub's and the spoke's doors; the Unix socket's
/// mode), never here.
pub async fn routes<C: Coordinator>(
    coordinator: Arc<C>,
    hub: Option<Hub>,
    state: Option<WebState>,
) -> anyhow::Result<Routes> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::vtr_server::VtrServer<service::VtrService<C>>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let vtr = pb::vtr_server::VtrServer::new(service::VtrService::new(coordinator))
        .max_decoding_message_size(service::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(service::MAX_MESSAGE_BYTES);
    let mut routes = Routes::new(health).add_service(reflection).add_service(vtr);
    if let Some(hub) = hub {
        routes = routes.add_service(pb::federation_server::FederationServer::new(
            federation::FederationService::new(hub),
        ));
    }
    if let Some(state) = state {
        routes = routes.add_service(pb::shares_server::SharesServer::new(
            share::SharesService::new(state),
        ));
    }
    Ok(routes)
}
