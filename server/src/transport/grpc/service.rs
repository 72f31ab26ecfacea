//! `vtr.v1.Vtr` over any `Coordinator`.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use vtr_shared::proto as pb;

use super::auth::Identity;
use super::encoded::{LastList, SessionList};
use crate::core::{Coordinator, Events, GrepQuery, IdleWait, Input, RunSpec, limits};
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
        _request: Request<pb::DescribeRequest>,
    ) -> Result<Response<pb::Description>, Status> {
        let description = self.coordinator.describe().await?;
        Ok(Response::new(map::description(description)))
    }

    async fn spawn(
        &self,
        request: Request<pb::SpawnRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        // Behind the hub's front door the caller is known: what it started
        // is recorded as theirs, whatever the request claims.
        let identity = request.extensions().get::<Identity>().cloned();
        let mut r = request.into_inner();
        if let Some(Identity(who)) = identity {
            r.created_by = who;
        }
        let summary = self
            .coordinator
            .spawn(crate::transport::unmap::spawn_spec(r))
            .await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn list(
        &self,
        _request: Request<pb::ListRequest>,
    ) -> Result<Response<SessionList>, Status> {
        let list = self.coordinator.list().await?;
        Ok(Response::new(self.last_list.encoded(list)))
    }

    type WatchSessionsStream = EventStream<SessionList>;

    async fn watch_sessions(
        &self,
        _request: Request<pb::WatchSessionsRequest>,
    ) -> Result<Response<Self::WatchSessionsStream>, Status> {
        let rx = self.coordinator.watch_sessions().await?;
        Ok(Response::new(stream(rx, |list: Vec<_>| {
            SessionList::encode(&list)
        })))
    }

    async fn info(
        &self,
        request: Request<pb::SessionRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        let r = request.into_inner();
        let summary = self.coordinator.info(&r.session).await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn kill(&self, request: Request<pb::KillRequest>) -> Result<Response<pb::Empty>, Status> {
        let r = request.into_inner();
        self.coordinator.kill(&r.session, &r.signal).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn remove(
        &self,
        request: Request<pb::RemoveRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let r = request.into_inner();
        self.coordinator.remove(&r.session, r.force).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn rename(
        &self,
        request: Request<pb::RenameRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        let r = request.into_inner();
        let summary = self.coordinator.rename(&r.session, &r.new_name).await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn resize(
        &self,
        request: Request<pb::ResizeRequest>,
    ) -> Result<Response<pb::SessionInfo>, Status> {
        let r = request.into_inner();
        let summary = self.coordinator.resize(&r.session, r.cols, r.rows).await?;
        Ok(Response::new(map::session_info(&summary)))
    }

    async fn get_screen(
        &self,
        request: Request<pb::SessionRequest>,
    ) -> Result<Response<pb::Screen>, Status> {
        let r = request.into_inner();
        let screen = self.coordinator.screen(&r.session).await?;
        Ok(Response::new(map::screen(screen)))
    }

    async fn grep(
        &self,
        request: Request<pb::GrepRequest>,
    ) -> Result<Response<pb::GrepResponse>, Status> {
        let r = request.into_inner();
        let query = GrepQuery {
            before: r.before,
            after: r.after,
            max_matches: r.max_matches,
        };
        let result = self.coordinator.grep(&r.session, &r.pattern, query).await?;
        Ok(Response::new(map::grep(result)))
    }

    async fn send_text(
        &self,
        request: Request<pb::SendTextRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let r = request.into_inner();
        let input = Input::Text {
            text: r.text,
            submit: r.submit,
        };
        let input = Input::once(r.request_id, input);
        let offset = self.coordinator.send(&r.session, input).await?;
        Ok(Response::new(pb::SendResponse { offset }))
    }

    async fn send_key(
        &self,
        request: Request<pb::SendKeyRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let r = request.into_inner();
        let offset = self
            .coordinator
            .send(&r.session, Input::once(r.request_id, Input::Keys(r.keys)))
            .await?;
        Ok(Response::new(pb::SendResponse { offset }))
    }

    async fn send_bytes(
        &self,
        request: Request<pb::SendBytesRequest>,
    ) -> Result<Response<pb::SendResponse>, Status> {
        let r = request.into_inner();
        let offset = self
            .coordinator
            .send(&r.session, Input::once(r.request_id, Input::Bytes(r.data)))
            .await?;
        Ok(Response::new(pb::SendResponse { offset }))
    }

    async fn wait_for(
        &self,
        request: Request<pb::WaitForRequest>,
    ) -> Result<Response<pb::WaitForResponse>, Status> {
        let r = request.into_inner();
        let m = self
            .coordinator
            .wait_for(&r.session, &r.pattern, r.timeout_ms, r.from_offset)
            .await?;
        Ok(Response::new(map::wait_match(m)))
    }

    async fn wait_for_idle(
        &self,
        request: Request<pb::WaitForIdleRequest>,
    ) -> Result<Response<pb::WaitForIdleResponse>, Status> {
        let r = request.into_inner();
        let wait = IdleWait {
            idle_for: limits::timeout(r.idle_ms, DEFAULT_IDLE, "idle_ms")?,
            timeout: limits::timeout(r.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?,
            include_screen: r.include_screen,
        };
        let result = self.coordinator.wait_idle(&r.session, wait).await?;
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
        let r = request.into_inner();
        let rx = self
            .coordinator
            .subscribe(&r.session, r.from_offset)
            .await?;
        Ok(Response::new(stream(rx, map::stream_event)))
    }

    type AttachStream = super::attach::AttachStream;

    async fn attach(
        &self,
        request: Request<tonic::Streaming<pb::AttachRequest>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let stream = super::attach::open(self.coordinator.clone(), request.into_inner()).await?;
        Ok(Response::new(stream))
    }

    type RecordStream = EventStream<pb::RecordChunk>;

    async fn record(
        &self,
        request: Request<pb::RecordRequest>,
    ) -> Result<Response<Self::RecordStream>, Status> {
        let r = request.into_inner();
        let rx = self.coordinator.record(&r.session, r.follow).await?;
        Ok(Response::new(stream(rx, |data| pb::RecordChunk { data })))
    }

    async fn list_commands(
        &self,
        request: Request<pb::ListCommandsRequest>,
    ) -> Result<Response<pb::CommandList>, Status> {
        let r = request.into_inner();
        let list = self
            .coordinator
            .commands(&r.session, r.limit as usize)
            .await?;
        Ok(Response::new(map::command_list(&list)))
    }

    async fn run(
        &self,
        request: Request<pb::RunRequest>,
    ) -> Result<Response<pb::RunResponse>, Status> {
        let r = request.into_inner();
        let spec = RunSpec {
            line: r.command,
            timeout: limits::timeout(r.timeout_ms, DEFAULT_TIMEOUT, "timeout_ms")?,
            max_output: limits::run_output(r.max_output_bytes)?,
            request_id: r.request_id,
        };
        let result = self.coordinator.run(&r.session, spec).await?;
        Ok(Response::new(map::run_result(&result)))
    }
}
