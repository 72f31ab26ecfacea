//! `vtr.v1.Link`, served: input and output for every session on one
//! long-lived stream. Each session's input goes to a queue of its own,
//! applied in order by a task that lives while the queue has work, so a
//! program that stops reading its input holds up only its own session's
//! requests. Each watch is a task reading a subscriber (`core::subscribe`)
//! into the shared reply queue: when the caller reads slowly, the watch
//! falls behind the session's log and is resynced as any subscriber is.

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
use crate::transport::map;

/// Requests of one session waiting on one link; one more is refused with
/// RESOURCE_EXHAUSTED (the program is not reading its input).
pub const SESSION_QUEUE: usize = 64;
/// Sessions with requests waiting on one link at once.
pub const MAX_SESSIONS: usize = 1024;
/// Watches on one link at once.
pub const MAX_WATCHES: usize = 4096;
/// Replies waiting to be written (an output event is a slice of the
/// session's log, up to 256 KiB); when the caller stops reading them, the
/// link stops reading its requests and its watches fall behind.
const REPLY_QUEUE: usize = 32;

type Replies = Pin<Box<dyn Stream<Item = Result<pb::LinkReply, Status>> + Send>>;
type Queues = Arc<Mutex<HashMap<String, mpsc::Sender<(u64, Input)>>>>;
type Watches = Arc<Mutex<HashMap<u64, tokio::task::AbortHandle>>>;
type ReplyTx = mpsc::Sender<Result<pb::LinkReply, Status>>;

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
/// handing each input to its session's queue and starting or stopping
/// watches. Every watch stops with it.
async fn read<C: Coordinator>(
    coordinator: Arc<C>,
    mut requests: Streaming<pb::LinkRequest>,
    replies: ReplyTx,
) {
    let queues: Queues = Arc::default();
    let watches: Watches = Arc::default();
    loop {
        let request = match requests.message().await {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(status) => {
                tracing::debug!(%status, "link request stream failed");
                break;
            }
        };
        let id = request.id;
        let apply_now_or_queue = |session: String, input: Input| {
            // Nothing of this link waits for the session: a keystroke that
            // cannot block is applied here, without a task.
            if !lock(&queues).contains_key(&session)
                && let Some(sent) = coordinator.try_send_now(&session, &input)
            {
                return Some(answer(id, sent));
            }
            queue(&queues, &coordinator, &replies, session, id, input)
                .err()
                .map(|refused| error(id, &refused))
        };
        let reply = match request.request {
            Some(Asked::Watch(r)) => watch(&coordinator, &watches, &replies, id, r)
                .err()
                .map(|refused| error(id, &refused)),
            Some(Asked::Unwatch(watch)) => {
                if let Some(task) = lock(&watches).remove(&watch) {
                    task.abort();
                }
                None
            }
            Some(Asked::Bytes(r)) => {
                apply_now_or_queue(r.session, Input::once(r.request_id, Input::Bytes(r.data)))
            }
            Some(Asked::Text(r)) => apply_now_or_queue(
                r.session,
                Input::once(
                    r.request_id,
                    Input::Text {
                        text: r.text,
                        submit: r.submit,
                    },
                ),
            ),
            Some(Asked::Keys(r)) => {
                apply_now_or_queue(r.session, Input::once(r.request_id, Input::Keys(r.keys)))
            }
            None => Some(error(
                id,
                &Status::invalid_argument(
                    "a link request needs bytes, text, keys, watch or unwatch",
                ),
            )),
        };
        if let Some(reply) = reply
            && replies.send(Ok(reply)).await.is_err()
        {
            break;
        }
    }
    for (_, task) in lock(&watches).drain() {
        task.abort();
    }
}

/// Starts watch `id`: its replies are `watching` or `error`, then events,
/// then `ended`.
fn watch<C: Coordinator>(
    coordinator: &Arc<C>,
    watches: &Watches,
    replies: &ReplyTx,
    id: u64,
    request: pb::SubscribeRequest,
) -> Result<(), Status> {
    let mut map = lock(watches);
    if map.contains_key(&id) {
        return Err(Status::already_exists(format!("watch {id} already runs")));
    }
    if map.len() >= MAX_WATCHES {
        return Err(Status::resource_exhausted(format!(
            "{MAX_WATCHES} watches already run on this link"
        )));
    }
    let task = tokio::spawn(run_watch(
        coordinator.clone(),
        watches.clone(),
        replies.clone(),
        id,
        request,
    ));
    map.insert(id, task.abort_handle());
    Ok(())
}

async fn run_watch<C: Coordinator>(
    coordinator: Arc<C>,
    watches: Watches,
    replies: ReplyTx,
    id: u64,
    request: pb::SubscribeRequest,
) {
    let reply = |reply| {
        Ok(pb::LinkReply {
            id,
            reply: Some(reply),
        })
    };
    let subscribed = coordinator
        .subscribe(&request.session, request.from_offset)
        .await;
    let mut events = match subscribed {
        Ok(events) => events,
        Err(e) => {
            lock(&watches).remove(&id);
            let _ = replies.send(Ok(error(id, &Status::from(e)))).await;
            return;
        }
    };
    if replies
        .send(reply(Reply::Watching(pb::Empty {})))
        .await
        .is_err()
    {
        return;
    }
    while let Some(event) = events.recv().await {
        let event = Reply::Event(map::stream_event(event));
        if replies.send(reply(event)).await.is_err() {
            return;
        }
    }
    lock(&watches).remove(&id);
    let _ = replies.send(reply(Reply::Ended(pb::Empty {}))).await;
}

/// Puts a request on its session's queue, starting the queue's task if
/// none runs.
fn queue<C: Coordinator>(
    queues: &Queues,
    coordinator: &Arc<C>,
    replies: &ReplyTx,
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
    replies: ReplyTx,
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
        let reply = answer(id, coordinator.send(&session, input).await);
        if replies.send(Ok(reply)).await.is_err() {
            lock(&queues).remove(&session);
            return;
        }
    }
}

/// The reply to input `id`: its offset, or the status `send` would give.
fn answer(id: u64, sent: crate::core::error::Result<u64>) -> pb::LinkReply {
    match sent {
        Ok(offset) => pb::LinkReply {
            id,
            reply: Some(Reply::Sent(pb::SendResponse { offset })),
        },
        Err(e) => error(id, &Status::from(e)),
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
