//! `vtr.v1.Link`, served: input for every session on one long-lived
//! stream. Each session's requests go to a queue of their own, applied in
//! order by a task that lives while the queue has work, so a program that
//! stops reading its input holds up only its own session's requests.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use vtr_shared::proto as pb;
use vtr_shared::proto::link_reply::Reply;
use vtr_shared::proto::link_request::Request as Asked;

use crate::core::session::lock;
use crate::core::{Coordinator, Input};

/// Requests of one session waiting on one link; one more is refused with
/// RESOURCE_EXHAUSTED (the program is not reading its input).
pub const SESSION_QUEUE: usize = 64;
/// Sessions with requests waiting on one link at once.
pub const MAX_SESSIONS: usize = 1024;
/// Replies waiting to be written; when the caller stops reading them, the
/// link stops reading its requests.
const REPLY_QUEUE: usize = 256;

type Replies = Pin<Box<dyn Stream<Item = Result<pb::LinkReply, Status>> + Send>>;
type Queues = Arc<Mutex<HashMap<String, mpsc::Sender<(u64, Input)>>>>;

pub struct LinkService<C> {
    coordinator: Arc<C>,
}

impl<C> LinkService<C> {
    pub fn new(coordinator: Arc<C>) -> Self {
        LinkService { coordinator }
    }
}

#[tonic::async_trait]
impl<C: Coordinator> super::pb::link_server::Link for LinkService<C> {
    type OpenStream = Replies;

    async fn open(
        &self,
        request: Request<Streaming<pb::LinkRequest>>,
    ) -> Result<Response<Self::OpenStream>, Status> {
        let requests = request.into_inner();
        let (replies, rx) = mpsc::channel(REPLY_QUEUE);
        tokio::spawn(read(self.coordinator.clone(), requests, replies));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Reads requests until the caller closes its side or the stream fails,
/// handing each to its session's queue.
async fn read<C: Coordinator>(
    coordinator: Arc<C>,
    mut requests: Streaming<pb::LinkRequest>,
    replies: mpsc::Sender<Result<pb::LinkReply, Status>>,
) {
    let queues: Queues = Arc::default();
    loop {
        let request = match requests.message().await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(status) => {
                tracing::debug!(%status, "link request stream failed");
                return;
            }
        };
        let id = request.id;
        let Some((session, input)) = request.request.map(input) else {
            let refused = Status::invalid_argument("a link request needs bytes, text or keys");
            if replies.send(Ok(error(id, &refused))).await.is_err() {
                return;
            }
            continue;
        };
        let refused = match queue(&queues, &coordinator, &replies, session, id, input) {
            Ok(()) => continue,
            Err(refused) => refused,
        };
        if replies.send(Ok(error(id, &refused))).await.is_err() {
            return;
        }
    }
}

fn input(request: Asked) -> (String, Input) {
    match request {
        Asked::Bytes(r) => (r.session, Input::Bytes(r.data)),
        Asked::Text(r) => (
            r.session,
            Input::Text {
                text: r.text,
                submit: r.submit,
            },
        ),
        Asked::Keys(r) => (r.session, Input::Keys(r.keys)),
    }
}

/// Puts a request on its session's queue, starting the queue's task if
/// none runs.
fn queue<C: Coordinator>(
    queues: &Queues,
    coordinator: &Arc<C>,
    replies: &mpsc::Sender<Result<pb::LinkReply, Status>>,
    session: String,
    id: u64,
    input: Input,
) -> Result<(), Status> {
    let mut map = lock(queues);
    let count = map.len();
    let tx = match map.entry(session) {
        Entry::Occupied(queue) => queue.into_mut(),
        Entry::Vacant(_) if count >= MAX_SESSIONS => {
            return Err(Status::resource_exhausted(format!(
                "input for {MAX_SESSIONS} sessions already waits on this link"
            )));
        }
        Entry::Vacant(slot) => {
            let (tx, rx) = mpsc::channel(SESSION_QUEUE);
            let session = slot.key().clone();
            tokio::spawn(apply(
                coordinator.clone(),
                queues.clone(),
                session,
                rx,
                replies.clone(),
            ));
            slot.insert(tx)
        }
    };
    match tx.try_send((id, input)) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full((_, _))) => Err(Status::resource_exhausted(format!(
            "{SESSION_QUEUE} inputs already wait for this session (is its program reading?)"
        ))),
        // The task only ends once removed from the map, under this lock.
        Err(mpsc::error::TrySendError::Closed(_)) => {
            Err(Status::internal("the session's input queue closed"))
        }
    }
}

/// Applies one session's requests in order and answers each. Ends once
/// the queue is empty, leaving the map under the lock new requests are
/// queued under, so none is left behind.
async fn apply<C: Coordinator>(
    coordinator: Arc<C>,
    queues: Queues,
    session: String,
    mut rx: mpsc::Receiver<(u64, Input)>,
    replies: mpsc::Sender<Result<pb::LinkReply, Status>>,
) {
    loop {
        let next = {
            let mut map = lock(&queues);
            match rx.try_recv() {
                Ok(next) => next,
                Err(_) => {
                    map.remove(&session);
                    return;
                }
            }
        };
        let (id, input) = next;
        let reply = match coordinator.send(&session, input).await {
            Ok(offset) => pb::LinkReply {
                id,
                reply: Some(Reply::Sent(pb::SendResponse { offset })),
            },
            Err(e) => error(id, &Status::from(e)),
        };
        if replies.send(Ok(reply)).await.is_err() {
            lock(&queues).remove(&session);
            return;
        }
    }
}

fn error(id: u64, status: &Status) -> pb::LinkReply {
    pb::LinkReply {
        id,
        reply: Some(Reply::Error(pb::LinkError {
            code: status.code() as i32,
            message: status.message().to_owned(),
        })),
    }
}
