//! `vtr.v1.Link`, called: a hub's input to one spoke, on one stream opened
//! on first use and reopened after it breaks. Each send waits for its own
//! reply, matched by id. A spoke too old to serve `Link` answers
//! UNIMPLEMENTED; the caller is then told to fall back to unary calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};
use vtr_shared::proto as pb;
use vtr_shared::proto::link_reply::Reply;
use vtr_shared::proto::link_request::Request as Asked;

use super::auth::Attach;
use super::pb::link_client::LinkClient;
use super::service::MAX_MESSAGE_BYTES;
use crate::core::Input;
use crate::core::session::lock;

/// Requests written to the stream ahead of the connection; a sender waits
/// for room beyond that.
const REQUEST_QUEUE: usize = 256;

type Client = LinkClient<InterceptedService<Channel, Attach>>;
type Answer = oneshot::Sender<Result<u64, Status>>;

pub struct InputLink {
    client: Client,
    state: tokio::sync::Mutex<State>,
}

enum State {
    Closed,
    Open(Open),
    /// The spoke does not serve `Link`.
    Unsupported,
}

struct Open {
    requests: mpsc::Sender<pb::LinkRequest>,
    waiting: Arc<Waiting>,
}

/// Sends waiting for their replies. Once the stream has ended nothing is
/// added, so no send waits for a reply that cannot come.
#[derive(Default)]
struct Waiting {
    next_id: AtomicU64,
    answers: Mutex<Option<HashMap<u64, Answer>>>,
}

impl InputLink {
    pub fn new(channel: Channel, attach: Attach) -> Self {
        let client = LinkClient::with_interceptor(channel, attach)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        InputLink {
            client,
            state: tokio::sync::Mutex::new(State::Closed),
        }
    }

    /// Sends `input` to `session` on the link and waits for the reply: the
    /// offset, or the status the unary call would have failed with. The
    /// input comes back when the spoke does not serve `Link`.
    pub async fn send(&self, session: &str, input: Input) -> Result<Result<u64, Status>, Input> {
        let (requests, waiting) = match self.open().await {
            None => return Err(input),
            Some(Ok(open)) => open,
            Some(Err(status)) => return Ok(Err(status)),
        };
        let id = waiting.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match lock(&waiting.answers).as_mut() {
            Some(answers) => answers.insert(id, tx),
            None => return Ok(Err(closed())),
        };
        let request = pb::LinkRequest {
            id,
            request: Some(request(session.to_owned(), input)),
        };
        if requests.send(request).await.is_err() {
            if let Some(answers) = lock(&waiting.answers).as_mut() {
                answers.remove(&id);
            }
            return Ok(Err(closed()));
        }
        Ok(rx.await.unwrap_or_else(|_| Err(closed())))
    }

    /// The open stream, opening one if there is none or the last ended.
    async fn open(&self) -> Option<Result<(mpsc::Sender<pb::LinkRequest>, Arc<Waiting>), Status>> {
        let mut state = self.state.lock().await;
        match &*state {
            State::Unsupported => return None,
            State::Open(open) if lock(&open.waiting.answers).is_some() => {
                return Some(Ok((open.requests.clone(), open.waiting.clone())));
            }
            State::Open(_) | State::Closed => {}
        }
        let (requests, rx) = mpsc::channel(REQUEST_QUEUE);
        let replies = match self.client.clone().open(ReceiverStream::new(rx)).await {
            Ok(replies) => replies.into_inner(),
            Err(status) if status.code() == Code::Unimplemented => {
                tracing::info!("spoke does not serve vtr.v1.Link: input goes by unary calls");
                *state = State::Unsupported;
                return None;
            }
            Err(status) => {
                *state = State::Closed;
                return Some(Err(status));
            }
        };
        let waiting = Arc::new(Waiting {
            next_id: AtomicU64::new(0),
            answers: Mutex::new(Some(HashMap::new())),
        });
        tokio::spawn(read(replies, waiting.clone()));
        *state = State::Open(Open {
            requests: requests.clone(),
            waiting: waiting.clone(),
        });
        Some(Ok((requests, waiting)))
    }
}

/// Hands each reply to its sender until the stream ends; then every send
/// still waiting fails as a lost connection would fail it.
async fn read(mut replies: Streaming<pb::LinkReply>, waiting: Arc<Waiting>) {
    let ended = loop {
        match replies.message().await {
            Ok(Some(reply)) => {
                let answer = lock(&waiting.answers)
                    .as_mut()
                    .and_then(|answers| answers.remove(&reply.id));
                if let Some(answer) = answer {
                    let _ = answer.send(result(reply.reply));
                }
            }
            Ok(None) => break Status::unavailable("the spoke ended the link"),
            Err(status) => break status,
        }
    };
    tracing::debug!(status = %ended, "input link ended");
    let answers = lock(&waiting.answers).take().unwrap_or_default();
    for (_, answer) in answers {
        let _ = answer.send(Err(ended.clone()));
    }
}

fn result(reply: Option<Reply>) -> Result<u64, Status> {
    match reply {
        Some(Reply::Sent(sent)) => Ok(sent.offset),
        Some(Reply::Error(e)) => Err(Status::new(Code::from_i32(e.code), e.message)),
        None => Err(Status::internal("the spoke sent an empty link reply")),
    }
}

fn closed() -> Status {
    Status::unavailable("the link to the spoke closed")
}

fn request(session: String, input: Input) -> Asked {
    match input {
        Input::Bytes(data) => Asked::Bytes(pb::SendBytesRequest { session, data }),
        Input::Text { text, submit } => Asked::Text(pb::SendTextRequest {
            session,
            text,
            submit,
        }),
        Input::Keys(keys) => Asked::Keys(pb::SendKeyRequest { session, keys }),
    }
}
