//! A spoke reached over gRPC, as a `Coordinator`: what a hub holds for each
//! dialled or tunnelled spoke. Errors name the spoke.

use std::sync::Arc;

use bytes::Bytes;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};
use vtr_shared::proto as pb;

use super::auth::{Attach, Token};
use super::client::{self, VtrClient};
use super::error;
use super::link_client::{self, SpokeLink};
use crate::core::error::Result;
use crate::core::{CommandList, RunResult, RunSpec};
use crate::core::{
    Coordinator, Description, Events, GrepQuery, GrepResult, IdleResult, IdleWait, Input,
    ScreenState, SessionError, SessionSummary, SpawnSpec, StreamEvent, WaitMatch,
};
use crate::transport::unmap;
use vtr_shared::proto::link_request::Request as Asked;

/// Events or chunks relayed from a spoke's stream; the spoke's own stream
/// is the buffer, so this stays small.
const RELAY_QUEUE: usize = 16;

#[derive(Clone)]
pub struct RemoteSpoke {
    /// The name the hub knows the spoke by; empty for a client of a hub or
    /// spoke (`client_of`), whose sessions keep their spokes' names.
    name: String,
    client: VtrClient,
    /// Input and watched output go on one long-lived stream, not a call
    /// per keystroke and a stream per session.
    link: Arc<SpokeLink>,
}

impl RemoteSpoke {
    /// The spoke at the other end of `channel`, which sends `token` (if
    /// any) with every call.
    pub fn new(name: String, channel: Channel, token: Option<&Token>) -> anyhow::Result<Self> {
        let client = client::client(channel.clone(), token)?;
        let link = Arc::new(SpokeLink::new(channel, Attach::new(token)?));
        Ok(RemoteSpoke { name, client, link })
    }

    /// The hub or spoke at the other end of `channel` as a client sees
    /// it: sessions keep their spokes' names, errors their messages.
    pub fn client_of(channel: Channel, token: Option<&Token>) -> anyhow::Result<Self> {
        Self::new(String::new(), channel, token)
    }

    fn client(&self) -> VtrClient {
        self.client.clone()
    }

    /// A spoke's status as a domain error naming the spoke. Transport
    /// failures (no connection, connection lost) make it unreachable.
    fn error(&self, status: Status) -> SessionError {
        let message = status.message().to_owned();
        if self.name.is_empty() {
            let message = match status.code() {
                Code::Unavailable | Code::Unknown | Code::Cancelled => transport_reason(&status),
                _ => message,
            };
            return SessionError::Remote {
                kind: error::kind(status.code()),
                message,
            };
        }
        match status.code() {
            Code::Unavailable | Code::Unknown | Code::Cancelled => SessionError::Unreachable {
                spoke: self.name.clone(),
                reason: transport_reason(&status),
            },
            code => SessionError::Spoke {
                spoke: self.name.clone(),
                kind: error::kind(code),
                message,
            },
        }
    }

    fn summary(&self, info: pb::SessionInfo) -> SessionSummary {
        let mut summary = unmap::session_info(info);
        if !self.name.is_empty() {
            summary.spoke.clone_from(&self.name);
        }
        summary
    }

    /// Relays a server stream, read as the consumer polls, until it ends,
    /// fails, or the consumer goes away. A failure just ends the events: the
    /// caller sees a stream that stopped early.
    fn relay<T, U>(
        &self,
        mut stream: Streaming<T>,
        f: impl Fn(T) -> Option<U> + Send + 'static,
    ) -> Events<U>
    where
        T: Send + 'static,
        U: Send + 'static,
    {
        let spoke = self.name.clone();
        Events::driven(RELAY_QUEUE, move |tx| async move {
            loop {
                match stream.message().await {
                    Ok(Some(item)) => {
                        if let Some(item) = f(item)
                            && tx.send(item).await.is_err()
                        {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(status) => {
                        tracing::debug!(%spoke, %status, "stream from spoke ended");
                        return;
                    }
                }
            }
        })
    }
}

impl RemoteSpoke {
    /// Input by one unary call, for a spoke that does not serve `Link`.
    async fn send_unary(&self, session: &str, input: Input) -> Result<u64, Status> {
        let session = session.to_owned();
        let mut client = self.client();
        let r = match link_client::request(session, input) {
            Asked::Bytes(r) => client.send_bytes(r).await,
            Asked::Text(r) => client.send_text(r).await,
            Asked::Keys(r) => client.send_key(r).await,
            Asked::Watch(_) | Asked::Unwatch(_) => {
                return Err(Status::internal("input made a watch request"));
            }
        };
        Ok(r?.into_inner().offset)
    }
}

/// A transport failure's message with its causes ("tcp connect error:
/// Connection refused (os error 111)").
fn transport_reason(status: &Status) -> String {
    let mut reason = if status.message().is_empty() {
        format!("{:?}", status.code())
    } else {
        status.message().to_owned()
    };
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        source = cause.source();
    }
    reason
}

#[async_trait::async_trait]
impl Coordinator for RemoteSpoke {
    async fn describe(&self) -> Result<Description> {
        let r = self.client().describe(pb::DescribeRequest {}).await;
        Ok(unmap::description(
            r.map_err(|s| self.error(s))?.into_inner(),
        ))
    }

    async fn spawn(&self, spec: SpawnSpec) -> Result<SessionSummary> {
        let request = pb::SpawnRequest {
            name: spec.name,
            command: spec.command,
            args: spec.args,
            cwd: spec.cwd,
            env: spec.env,
            cols: spec.cols,
            rows: spec.rows,
            // The spoke's own name for itself may differ from the hub's; a
            // client (`client_of`) names the spoke as its caller asked.
            spoke: if self.name.is_empty() {
                spec.spoke
            } else {
                String::new()
            },
            created_by: spec.created_by,
            no_shell_integration: spec.no_shell_integration,
        };
        let r = self.client().spawn(request).await;
        Ok(self.summary(r.map_err(|s| self.error(s))?.into_inner()))
    }

    async fn list(&self) -> Result<Arc<[SessionSummary]>> {
        let r = self.client().list(pb::ListRequest {}).await;
        let list = r.map_err(|s| self.error(s))?.into_inner();
        Ok(list.sessions.into_iter().map(|i| self.summary(i)).collect())
    }

    async fn watch_sessions(&self) -> Result<Events<Vec<SessionSummary>>> {
        let r = self
            .client()
            .watch_sessions(pb::WatchSessionsRequest {})
            .await;
        let stream = r.map_err(|s| self.error(s))?.into_inner();
        let this = self.clone();
        Ok(self.relay(stream, move |list: pb::SessionList| {
            Some(list.sessions.into_iter().map(|i| this.summary(i)).collect())
        }))
    }

    async fn info(&self, session: &str) -> Result<SessionSummary> {
        let request = pb::SessionRequest {
            session: session.to_owned(),
        };
        let r = self.client().info(request).await;
        Ok(self.summary(r.map_err(|s| self.error(s))?.into_inner()))
    }

    async fn kill(&self, session: &str, signal: &str) -> Result<()> {
        let request = pb::KillRequest {
            session: session.to_owned(),
            signal: signal.to_owned(),
        };
        self.client()
            .kill(request)
            .await
            .map_err(|s| self.error(s))?;
        Ok(())
    }

    async fn remove(&self, session: &str, force: bool) -> Result<()> {
        let request = pb::RemoveRequest {
            session: session.to_owned(),
            force,
        };
        self.client()
            .remove(request)
            .await
            .map_err(|s| self.error(s))?;
        Ok(())
    }

    async fn rename(&self, session: &str, new_name: &str) -> Result<SessionSummary> {
        let request = pb::RenameRequest {
            session: session.to_owned(),
            new_name: new_name.to_owned(),
        };
        let r = self.client().rename(request).await;
        Ok(self.summary(r.map_err(|s| self.error(s))?.into_inner()))
    }

    async fn resize(&self, session: &str, cols: u32, rows: u32) -> Result<SessionSummary> {
        let request = pb::ResizeRequest {
            session: session.to_owned(),
            cols,
            rows,
        };
        let r = self.client().resize(request).await;
        Ok(self.summary(r.map_err(|s| self.error(s))?.into_inner()))
    }

    async fn screen(&self, session: &str) -> Result<ScreenState> {
        let request = pb::SessionRequest {
            session: session.to_owned(),
        };
        let r = self.client().get_screen(request).await;
        Ok(unmap::screen(r.map_err(|s| self.error(s))?.into_inner()))
    }

    async fn grep(&self, session: &str, pattern: &str, query: GrepQuery) -> Result<GrepResult> {
        let request = pb::GrepRequest {
            session: session.to_owned(),
            pattern: pattern.to_owned(),
            before: query.before,
            after: query.after,
            max_matches: query.max_matches,
        };
        let r = self.client().grep(request).await;
        Ok(unmap::grep(r.map_err(|s| self.error(s))?.into_inner()))
    }

    async fn send(&self, session: &str, input: Input) -> Result<u64> {
        let r = match self.link.send(session, input).await {
            Ok(sent) => sent,
            Err(input) => self.send_unary(session, input).await,
        };
        r.map_err(|s| self.error(s))
    }

    async fn wait_for(
        &self,
        session: &str,
        pattern: &str,
        timeout_ms: u64,
        from_offset: Option<u64>,
    ) -> Result<WaitMatch> {
        let request = pb::WaitForRequest {
            session: session.to_owned(),
            pattern: pattern.to_owned(),
            timeout_ms,
            from_offset,
        };
        let r = self.client().wait_for(request).await;
        Ok(unmap::wait_match(
            r.map_err(|s| self.error(s))?.into_inner(),
        ))
    }

    async fn wait_idle(&self, session: &str, wait: IdleWait) -> Result<IdleResult> {
        let request = pb::WaitForIdleRequest {
            session: session.to_owned(),
            idle_ms: wait.idle_for.as_millis() as u64,
            timeout_ms: wait.timeout.as_millis() as u64,
            include_screen: wait.include_screen,
        };
        let r = self.client().wait_for_idle(request).await;
        let r = r.map_err(|s| self.error(s))?.into_inner();
        Ok(IdleResult {
            outcome: unmap::outcome(r.outcome),
            screen: r.screen.map(unmap::screen),
        })
    }

    async fn subscribe(
        &self,
        session: &str,
        from_offset: Option<u64>,
    ) -> Result<Events<StreamEvent>> {
        if let Some(watched) = self.link.watch(session, from_offset).await {
            return watched.map_err(|s| self.error(s));
        }
        let request = pb::SubscribeRequest {
            session: session.to_owned(),
            from_offset,
        };
        let r = self.client().subscribe(request).await;
        let stream = r.map_err(|s| self.error(s))?.into_inner();
        Ok(self.relay(stream, unmap::stream_event))
    }

    async fn record(&self, session: &str, follow: bool) -> Result<Events<Bytes>> {
        let request = pb::RecordRequest {
            session: session.to_owned(),
            follow,
        };
        let r = self.client().record(request).await;
        let stream = r.map_err(|s| self.error(s))?.into_inner();
        Ok(self.relay(stream, |chunk: pb::RecordChunk| Some(chunk.data)))
    }

    async fn commands(&self, session: &str, limit: usize) -> Result<CommandList> {
        let request = pb::ListCommandsRequest {
            session: session.to_owned(),
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
        };
        let r = self.client().list_commands(request).await;
        Ok(unmap::command_list(
            r.map_err(|s| self.error(s))?.into_inner(),
        ))
    }

    async fn run(&self, session: &str, spec: RunSpec) -> Result<RunResult> {
        let request = pb::RunRequest {
            session: session.to_owned(),
            command: spec.line,
            timeout_ms: spec.timeout.as_millis() as u64,
            max_output_bytes: u32::try_from(spec.max_output).unwrap_or(u32::MAX),
            request_id: spec.request_id,
        };
        let r = self.client().run(request).await;
        Ok(unmap::run_result(
            r.map_err(|s| self.error(s))?.into_inner(),
        ))
    }
}
