//! `vtr mcp`: the session tools over stdio for a local agent host, as an
//! MCP server in this process that calls the hub or spoke through its
//! socket (or `--addr`). Only MCP goes to stdout; logs go to stderr.

use std::sync::Arc;

use vtr_shared::proto as pb;

use super::exit::ExitCode;
use crate::transport::grpc::client::{self, FederationClient, Target};
use crate::transport::grpc::remote::RemoteSpoke;
use crate::transport::mcp::handler::{self, Server};
use crate::transport::mcp::tools::{Backend, Spokes};

/// The spokes of the hub at the other end, or, for a spoke, itself.
struct Remote {
    federation: FederationClient,
    vtr: client::VtrClient,
    /// The token is a grant's: the hub would refuse it the spoke list.
    grant: bool,
}

#[async_trait::async_trait]
impl Spokes for Remote {
    async fn spokes(&self) -> Result<Vec<pb::SpokeInfo>, String> {
        let asked = if self.grant {
            Err(tonic::Status::permission_denied("a grant's token"))
        } else {
            self.federation
                .clone()
                .list_spokes(pb::ListSpokesRequest {})
                .await
        };
        match asked {
            Ok(list) => Ok(list.into_inner().spokes),
            Err(status) if status.code() == tonic::Code::Unimplemented => {
                let d = self
                    .vtr
                    .clone()
                    .describe(pb::DescribeRequest {})
                    .await
                    .map_err(|s| s.message().to_owned())?
                    .into_inner();
                Ok(vec![pb::SpokeInfo {
                    name: d.name,
                    version: d.version,
                    state: pb::SpokeState::Healthy as i32,
                    ..Default::default()
                }])
            }
            // A grant's token may not ask the hub for its spokes: those of
            // the sessions it reaches are the ones it may know of.
            Err(status) if status.code() == tonic::Code::PermissionDenied => {
                let list = self
                    .vtr
                    .clone()
                    .list(pb::ListRequest {})
                    .await
                    .map_err(|s| s.message().to_owned())?
                    .into_inner();
                let mut names: Vec<String> = list.sessions.into_iter().map(|s| s.spoke).collect();
                names.sort();
                names.dedup();
                Ok(names
                    .into_iter()
                    .map(|name| pb::SpokeInfo {
                        name,
                        ..Default::default()
                    })
                    .collect())
            }
            Err(status) => Err(status.message().to_owned()),
        }
    }
}

pub async fn run(target: &Target) -> anyhow::Result<ExitCode> {
    let channel = client::channel(target).await?;
    let token = match target {
        Target::Tcp { token, .. } => token.as_ref(),
        Target::Unix(_) => None,
    };
    let backend = Backend {
        coordinator: Arc::new(RemoteSpoke::client_of(channel, token)?),
        spokes: Arc::new(Remote {
            federation: client::connect_federation(target).await?,
            vtr: client::connect(target).await?,
            grant: token.is_some_and(|t| crate::hub::grants::is_grant_token(t.secret())),
        }),
    };
    handler::serve_stdio(Server::new(backend, crate::paths::user_name())).await?;
    Ok(ExitCode::Ok)
}
