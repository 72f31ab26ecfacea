//! `vtr.v1.Vtr` over any `Coordinator`. A call made with a grant's token
//! (the front door put its `GrantPass` on the request) goes through the
//! coordinator as that grant may use it (`hub::grants::Guarded`).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use vtr_shared::proto as pb;

use super::auth::Identity;
use super::encoded::{LastList, SessionList};
use crate::core::{Coordinator, Events, GrepQuery, IdleWait, Input, RunSpec, limits};
use crate::hub::grants::{GrantPass, Guarded, Via};
use crate::transport::map;

/// Largest gRPC message either way: room for a 1 MiB input plus framing,
/// and for a full screen of cells.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
const DEFAULT_IDLE: Duration = Duration::from_millis(1000);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

pub struct VtrService<C> {
    coordinator: Arc<C>,
    last_list: LastList,
}

impl<C> VtrService<C> {
    pub fn new(coordinator: Arc<C>) -> Self {
        VtrService {
            coordinator,
            last_list: LastList::default(),
        }
    }
}

/// Who a call acts as: the owner (the whole coordinator) or a grant.
enum Caller<'a, C> {
    Owner(&'a Arc<C>),
    Grant(Arc<Guarded>),
}

impl<C: Coordinator> Caller<'_, C> {
    fn c(&self) -> &dyn Coordinator {
        match self {
            Caller::Owner(c) => c.as_ref(),
            Caller::Grant(g) => g.as_ref(),
        }
    }

    /// `events` as sent: under a grant, the grant is checked before each
    /// item goes out, so once it is revoked or expired nothing more is
    /// sent (not even items already queued) and the stream ends with
    /// `UNAUTHENTICATED` saying why. A session's own end is no error.
    fn streamed<U: Send + 'static>(&self, events: EventStream<U>) -> EventStream<U> {
        match self {
            Caller::Owner(_) => events,
            Caller::Grant(g) => {
                let g = g.clone();
                Box::pin(futures_util::stream::unfold(Some(events), move |events| {
                    let g = g.clone();
                    async move {
                        let mut events = events?;
                        let item = events.next().await;
                        if let Some(why) = g.ended_reason() {
                            return Some((Err(Status::unauthenticated(why)), None));
                        }
                        Some((item?, Some(events)))
                    }
                }))
            }
        }
    }
}

impl<C: Coordinator> VtrService<C> {
    /// The coordinator as `request`'s caller may use it for `method`.
    fn caller<T>(&self, request: &Request<T>, method: &str) -> Caller<'_, C> {
        match request.extensions().get::<GrantPass>() {
            Some(pass) => {
                let guarded = pass.guard(self.coordinator.clone(), Via::Grpc, method);
                Caller::Grant(Arc::new(guarded))
            }
            None => Caller::Owner(&self.coordinator),
        }
    }
}

fn stream<T: Send + 'static, U: Send + 'static>(
    events: impl Into<Events<T>>,
    f: fn(T) -> U,
) -> EventStream<U> {
    Box::pin(events.into().map(move |t| Ok(f(t))))
}

#[tonic::async_trait]
impl<C: Coordinator> super::pb::vtr_server::Vtr for VtrService<C> {
    async fn describe(
        &self,
        request: Request<pb::DescribeRequest>,
    ) -> Result<Response<pb::Description>, Status> {
        let caller = self.caller(&request, "Describe");
        let description = caller.c().describe().await?;
        Ok(Response::new(map::description(description)))
    }

    async fn spawn(
        &self,
        request: Request<pb::SpawnRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        let caller = self.caller(&request, "Spawn");
        // Behind the hub's front door the caller is known: what it started
        // is recorded as theirs, whatever the request claims.
        let identity = request.extensions().get::<Identity>().cloned();
        let mut r = request.into_inner();
        if let Some(Identity(who)) = identity {
            r.created_by = who;
        }
        let summary = caller
            .c()
            .spawn(crate::transport::unmap::spawn_spec(r))
            .await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<SessionList>, Status> {
        let caller = self.caller(&request, "List");
        let list = caller.c().list().await?;
        // A grant's list is its own: never the one kept for everyone.
        let encoded = match caller {
            Caller::Owner(_) => self.last_list.encoded(list),
            Caller::Grant(_) => SessionList::encode(&list),
        };
        Ok(Response::new(encoded))
    }

    type WatchSessionsStream = EventStream<SessionList>;

    async fn watch_sessions(
        &self,
        request: Request<pb::WatchSessionsRequest>,
    ) -> Result<Response<Self::WatchSessionsStream>, Status> {
        let caller = self.caller(&request, "WatchSessions");
        let rx = caller.c().watch_sessions().await?;
        let lists = stream(rx, |list: Vec<_>| SessionList::encode(&list));
        Ok(Response::new(caller.streamed(lists)))
    }

    async fn info(
        &self,
        request: Request<pb::SessionRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        let caller = self.caller(&request, "Info");
        let r = request.into_inner();
        let summary = caller.c().info(&r.session).await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn kill(&self, request: Request<pb::KillRequest>) -> Result<Response<pb::Empty>, Status> {
        let caller = self.caller(&request, "Kill");
        let r = request.into_inner();
        caller.c().kill(&r.session, &r.signal).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn remove(
        &self,
        request: Request<pb::RemoveRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let caller = self.caller(&request, "Remove");
        let r = request.into_inner();
        caller.c().remove(&r.session, r.force).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn rename(
        &self,
        request: Request<pb::RenameRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        let caller = self.caller(&request, "Rename");
        let r = request.into_inner();
        let summary = caller.c().rename(&r.session, &r.new_name).await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn resize(
        &self,
        request: Request<pb::ResizeRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        let caller = self.caller(&request, "Resize");
        let r = request.into_inner();
        let summary = caller.c().resize(&r.session, r.cols, r.rows).await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn get_screen(
        &self,
        request: Request<pb::SessionRequest>,
    ) -> Result<Response<pb::Screen>, Status> {
        let caller = self.caller(&request, "GetScreen");
        let r = request.into_inner();
        let screen = caller.c().screen(&r.session).await?;
        Ok(Response::new(map::screen(screen)))
    }

    async fn grep(
        &self,
        request: Request<pb::GrepRequest>,
    ) -> Result<Response<pb::GrepResponse>, Status> {
        let caller = self.caller(&request, "Grep");
        let r = request.into_inner();
        let query = GrepQuery {
            before: r.before,
            after: r.after,
            max_matches: r.max_matches,
        };
        let result = caller.c().grep(&r.session, &r.pattern, query).await?;
        Ok(Response::new(map::grep(result)))
    }

    async fn send_text(
        &self,
        request: Request<pb::SendTextRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let caller = self.caller(&request, "SendText");
        let r = request.into_inner();
        let input = Input::Text {
            text: r.text,
            submit: r.submit,
        };
        let input = Input::once(r.request_id, input);
        let offset = caller.c().send(&r.session, input).await?;
        Ok(Response::new(pb::SendResponse { offset }))
    }

    async fn send_key(
        &self,
        request: Request<pb::SendKeyRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let caller = self.caller(&request, "SendKey");
        let r = request.into_inner();
        let offset = caller
            .c()
            .send(&r.session, Input::once(r.request_id, Input::Keys(r.keys)))
            .await?;
        Ok(Response::new(pb::SendResponse { offset }))
    }

    async fn send_bytes(
        &self,
        request: Request<pb::SendBytesRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let caller = self.caller(&request, "SendBytes");
        let r = request.into_inner();
        let offset = caller
            .c()
            .send(&r.session, Input::once(r.request_id, Input::Bytes(r.data)))
            .await?;
        Ok(Response::new(pb::SendResponse { offset }))
    }

    async fn wait_for(
        &self,
        request: Request<pb::WaitForRequest>,
    ) -> Result<Response<pb::WaitForResponse>, Status> {
        let caller = self.caller(&request, "WaitFor");
        let r = request.into_inner();
        let m = caller
            .c()
            .wait_for(&r.session, &r.pattern, r.timeout_ms, r.from_offset)
            .await?;
        Ok(Response::new(map::wait_match(m)))
    }

    async fn wait_for_idle(
        &self,
        request: Request<pb::WaitForIdleRequest>,
    ) -> Result<Response<pb::WaitForIdleResponse>, Status> {
        let caller = self.caller(&request, "WaitForIdle");
        let r = request.into_inner();
        let wait = IdleWait {
            idle_for: limits::timeout(r.idle_ms, DEFAULT_IDLE, "idle_ms")?,
            timeout: limits::timeout(r.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?,
            include_screen: r.include_screen,
        };
        let result = caller.c().wait_idle(&r.session, wait).await?;
        Ok(Response::new(pb::WaitForIdleResponse {
            outcome: map::outcome(result.outcome),
            screen: result.screen.map(map::screen),
        }))
    }

    type SubscribeStream = EventStream<pb::SubscribeEvent>;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = self.caller(&request, "Subscribe");
        let r = request.into_inner();
        let rx = caller.c().subscribe(&r.session, r.from_offset).await?;
        Ok(Response::new(
            caller.streamed(stream(rx, map::stream_event)),
        ))
    }

    type AttachStream = EventStream<pb::SubscribeEvent>;

    async fn attach(
        &self,
        request: Request<tonic::Streaming<pb::AttachRequest>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let caller = self.caller(&request, "Attach");
        let requests = request.into_inner();
        let stream: EventStream<pb::SubscribeEvent> = match &caller {
            Caller::Owner(c) => Box::pin(super::attach::open((*c).clone(), requests).await?),
            Caller::Grant(g) => Box::pin(super::attach::open(g.clone(), requests).await?),
        };
        Ok(Response::new(caller.streamed(stream)))
    }

    type RecordStream = EventStream<pb::RecordChunk>;

    async fn record(
        &self,
        request: Request<pb::RecordRequest>,
    ) -> Result<Response<Self::RecordStream>, Status> {
        let caller = self.caller(&request, "Record");
        let r = request.into_inner();
        let rx = caller.c().record(&r.session, r.follow).await?;
        let chunks = stream(rx, |data| pb::RecordChunk { data });
        Ok(Response::new(caller.streamed(chunks)))
    }

    async fn list_commands(
        &self,
        request: Request<pb::ListCommandsRequest>,
    ) -> Result<Response<pb::CommandList>, Status> {
        let caller = self.caller(&request, "ListCommands");
        let r = request.into_inner();
        let list = caller.c().commands(&r.session, r.limit as usize).await?;
        Ok(Response::new(map::command_list(&list)))
    }

    async fn run(
        &self,
        request: Request<pb::RunRequest>,
    ) -> Result<Response<pb::RunResponse>, Status> {
        let caller = self.caller(&request, "Run");
        let r = request.into_inner();
        let spec = RunSpec {
            line: r.command,
            timeout: limits::timeout(r.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?,
            max_output: limits::run_output(r.max_output_bytes)?,
            request_id: r.request_id,
        };
        let result = caller.c().run(&r.session, spec).await?;
        Ok(Response::new(map::run_result(&result)))
    }
}
