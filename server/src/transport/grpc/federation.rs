//! `vtr.v1.Federation`: the hub's spokes and their health.

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use vtr_shared::proto as pb;

use crate::core::clock::unix_ms;
use crate::hub::{Hub, Join, SpokeState, SpokeStatus};
use crate::transport::map::labels;

pub struct FederationService {
    hub: Hub,
}

impl FederationService {
    pub fn new(hub: Hub) -> Self {
        FederationService { hub }
    }
}

pub fn spoke_info(s: SpokeStatus) -> pb::SpokeInfo {
    let (joined, address) = match s.join {
        Join::Local => (pb::SpokeJoin::Local, String::new()),
        Join::Dialled { address } => (pb::SpokeJoin::Dialled, address),
        Join::Tunnelled { peer } => (pb::SpokeJoin::Tunnelled, peer),
    };
    pb::SpokeInfo {
        name: s.name,
        state: match s.state {
            SpokeState::Connecting => pb::SpokeState::Connecting,
            SpokeState::Healthy => pb::SpokeState::Healthy,
            SpokeState::Degraded => pb::SpokeState::Degraded,
            SpokeState::Unreachable => pb::SpokeState::Unreachable,
        } as i32,
        last_seen_ms: s.last_seen.map_or(0, unix_ms),
        rtt_us: s
            .rtt
            .map_or(0, |d| u32::try_from(d.as_micros()).unwrap_or(u32::MAX)),
        version: s.version,
        labels: labels(s.labels),
        sessions: s.sessions,
        joined: joined as i32,
        address,
        last_error: s.last_error,
        failures: s.failures,
        next_attempt_ms: s.next_attempt.map_or(0, unix_ms),
        instance: s.instance,
    }
}

fn spoke_list(spokes: Vec<SpokeStatus>) -> pb::SpokeList {
    pb::SpokeList {
        spokes: spokes.into_iter().map(spoke_info).collect(),
    }
}

type SpokeStream = std::pin::Pin<Box<dyn Stream<Item = Result<pb::SpokeList, Status>> + Send>>;

#[tonic::async_trait]
impl super::pb::federation_server::Federation for FederationService {
    async fn list_spokes(
        &self,
        _request: Request<pb::ListSpokesRequest>,
    ) -> Result<Response<pb::SpokeList>, Status> {
        Ok(Response::new(spoke_list(self.hub.spokes())))
    }

    type WatchSpokesStream = SpokeStream;

    async fn watch_spokes(
        &self,
        _request: Request<pb::WatchSpokesRequest>,
    ) -> Result<Response<Self::WatchSpokesStream>, Status> {
        let rx = self.hub.watch_spokes();
        Ok(Response::new(Box::pin(
            ReceiverStream::new(rx).map(|list| Ok(spoke_list(list))),
        )))
    }
}
