//! gRPC: the `Vtr` service, health and reflection, auth, and the client.

pub mod attach;
pub mod auth;
pub mod client;
pub mod encoded;
mod error;
pub mod federation;
pub mod grants;
mod link;
mod link_client;
pub mod remote;
pub mod service;
mod share;

/// Generated service code; messages live in `vtr_shared::proto`.
#[allow(clippy::all, clippy::unwrap_used)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/client/vtr.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/server/vtr.v1.rs"));

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

/// Every service a coordinator serves: `vtr.v1.Vtr` and `vtr.v1.Link`, health, reflection
/// (v1 and v1alpha: many clients still ask the older one), and on a hub
/// `vtr.v1.Federation`, `vtr.v1.Shares` and `vtr.v1.Grants`. Reflection lists exactly the
/// services these routes answer. Who may call them is decided in front
/// (the hub's and the spoke's doors; the Unix socket's mode), never here.
pub async fn routes<C: Coordinator>(
    coordinator: Arc<C>,
    hub: Option<Hub>,
    state: Option<WebState>,
) -> anyhow::Result<Routes> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::vtr_server::VtrServer<service::VtrService<C>>>()
        .await;
    let vtr = pb::vtr_server::VtrServer::new(service::VtrService::new(coordinator.clone()))
        .max_decoding_message_size(service::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(service::MAX_MESSAGE_BYTES);
    let link = pb::link_server::LinkServer::new(link::LinkService::new(coordinator))
        .max_decoding_message_size(service::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(service::MAX_MESSAGE_BYTES);
    let mut names = vec![
        pb::vtr_server::SERVICE_NAME,
        pb::link_server::SERVICE_NAME,
        tonic_health::pb::health_server::SERVICE_NAME,
        REFLECTION_V1,
        REFLECTION_V1ALPHA,
    ];
    let federation = hub.map(|hub| {
        names.push(pb::federation_server::SERVICE_NAME);
        pb::federation_server::FederationServer::new(federation::FederationService::new(hub))
    });
    let grants = state.clone().map(|state| {
        names.push(pb::grants_server::SERVICE_NAME);
        pb::grants_server::GrantsServer::new(grants::GrantsService::new(state))
    });
    let shares = state.map(|state| {
        names.push(pb::shares_server::SERVICE_NAME);
        pb::shares_server::SharesServer::new(share::SharesService::new(state))
    });
    let mut routes = Routes::new(health)
        .add_service(reflection(&names).build_v1()?)
        .add_service(reflection(&names).build_v1alpha()?)
        .add_service(vtr)
        .add_service(link);
    if let Some(federation) = federation {
        routes = routes.add_service(federation);
    }
    if let Some(shares) = shares {
        routes = routes.add_service(shares);
    }
    if let Some(grants) = grants {
        routes = routes.add_service(grants);
    }
    Ok(routes)
}

const REFLECTION_V1: &str = tonic_reflection::pb::v1::server_reflection_server::SERVICE_NAME;
const REFLECTION_V1ALPHA: &str =
    tonic_reflection::pb::v1alpha::server_reflection_server::SERVICE_NAME;

/// Reflection that lists `services` (and nothing else in the descriptors:
/// proto/ declares the hub's services too) and describes every file they
/// and the standard services use.
fn reflection<'a>(services: &[&str]) -> tonic_reflection::server::Builder<'a> {
    let builder = tonic_reflection::server::Builder::configure()
        .include_reflection_service(false)
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET);
    services
        .iter()
        .fold(builder, |builder, name| builder.with_service_name(*name))
}
