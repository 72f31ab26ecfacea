//! `vtr.v1.Shares`: the hub's read-only share links.

use tonic::{Request, Response, Status};
use vtr_shared::proto as pb;

use crate::transport::web_state::WebState;

pub struct SharesService {
    state: WebState,
}

impl SharesService {
    pub fn new(state: WebState) -> Self {
        SharesService { state }
    }
}

/// Who made a link through the API (the web app records its user).
const API_USER: &str = "api";

#[tonic::async_trait]
impl super::pb::shares_server::Shares for SharesService {
    async fn create_share(
        &self,
        request: Request<pb::CreateShareRequest>,
    ) -> Result<Response<pb::ShareInfo>, Status> {
        let r = request.into_inner();
        let info = self
            .state
            .create(&r.session, r.ttl_seconds, API_USER)
            .await?;
        Ok(Response::new(info))
    }

    async fn list_shares(
        &self,
        _: Request<pb::ListSharesRequest>,
    ) -> Result<Response<pb::ShareList>, Status> {
        let shares = self.state.list(None).await?;
        Ok(Response::new(pb::ShareList { shares }))
    }

    async fn revoke_share(
        &self,
        request: Request<pb::RevokeShareRequest>,
    ) -> Result<Response<pb::ShareInfo>, Status> {
        let info = self.state.revoke(&request.into_inner().id).await?;
        Ok(Response::new(info))
    }
}
