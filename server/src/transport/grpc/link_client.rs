//! `vtr.v1.Link`, called: a hub's input to and output from one spoke, on
//! one stream opened on first use and reopened after it breaks. Each input
//! waits for its own reply, matched by id; each watch's events go to its
//! own queue. A spoke too old to serve `Link` answers UNIMPLEMENTED; the
//! caller is then told to fall back to unary calls and Subscribe streams.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
use crate::core::session::lock;
use crate::core::{Events, Input, StreamEvent};
use crate::transport::unmap;

/// Requests written to the stream ahead of the connection; a sender waits
/// for room beyond that.
const REQUEST_QUEUE: usize = 256;
/// Events of one watch waiting for its consumer (the hub's upstream).
const WATCH_QUEUE: usize = 64;
/// How long the link's reader waits for room in a watch's queue. Longer,
/// and the watch is ended, as a broken Subscribe stream would be; its
/// consumer resumes from its offset with a new one. A consumer briefly
/// short of CPU holds the link back (and so the spoke), as a stream's flow
/// control would; one that stopped cannot hold up another session's
/// events or any input's reply for longer than this.
const WATCH_STALL: Duration = Duration::from_millis(500);

type Client = LinkClient<InterceptedService<Channel, Attach>>;
type Answer = oneshot::Sender<Result<u64, Status>>;

pub struct SpokeLink {
    client: Client,
    state: tokio::sync::Mutex<State>,
}

enum State {
    Closed,
    Open(Open),
    /// The spoke does not serve `Link`.
    Unsupported,
}

#[derive(Clone)]
struct Open {
    requests: mpsc::Sender<pb::LinkRequest>,
    waiting: Arc<Waiting>,
}

/// Inputs and watch starts waiting for their answers, and the watches'
/// queues. Once the stream has ended nothing is added, so nothing waits
/// for a reply that cannot come.
struct Waiting {
    next_id: AtomicU64,
    pending: Mutex<Option<Pending>>,
}

#[derive(Default)]
struct Pending {
    answers: HashMap<u64, Answer>,
    watches: HashMap<u64, mpsc::Sender<StreamEvent>>,
}

impl SpokeLink {
    pub fn new(channel: Channel, attach: Attach) -> Self {
        let client = LinkClient::with_interceptor(channel, attach)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        SpokeLink {
            client,
            state: tokio::sync::Mutex::new(State::Closed),
        }
    }

    /// Sends `input` to `session` on the link and waits for the reply: the
    /// offset, or the status the unary call would have failed with. The
    /// input comes back when the spoke does not serve `Link`.
    pub async fn send(&self, session: &str, input: Input) -> Result<Result<u64, Status>, Input> {
        let open = match self.open().await {
            None => return Err(input),
            Some(Ok(open)) => open,
            Some(Err(status)) => return Ok(Err(status)),
        };
        let request = request(session.to_owned(), input);
        Ok(open.ask(request, None).await.map(|(_, offset)| offset))
    }

    /// A watch of `session` (as Subscribe): its events, once the spoke has
    /// started it. None when the spoke does not serve `Link`.
    pub async fn watch(
        &self,
        session: &str,
        from_offset: Option<u64>,
    ) -> Option<Result<Events<StreamEvent>, Status>> {
        let open = match self.open().await? {
            Ok(open) => open,
            Err(status) => return Some(Err(status)),
        };
        let request = Asked::Watch(pb::SubscribeRequest {
            session: session.to_owned(),
            from_offset,
        });
        let (tx, mut rx) = mpsc::channel(WATCH_QUEUE);
        let (id, _) = match open.ask(request, Some(tx)).await {
            Ok(started) => started,
            Err(status) => return Some(Err(status)),
        };
        let stop = Unwatch { id, open };
        // Polled by the consumer: no task of its own. Dropping the events
        // stops the watch on the spoke.
        Some(Ok(Events::driven(1, move |out| async move {
            let _stop = stop;
            while let Some(event) = rx.recv().await {
                if out.send(event).await.is_err() {
                    return;
                }
            }
        })))
    }

    /// The open stream, opening one if there is none or the last ended.
    async fn open(&self) -> Option<Result<Open, Status>> {
        let mut state = self.state.lock().await;
        match &*state {
            State::Unsupported => return None,
            State::Open(open) if lock(&open.waiting.pending).is_some() => {
                return Some(Ok(open.clone()));
            }
            State::Open(_) | State::Closed => {}
        }
        let (requests, rx) = mpsc::channel(REQUEST_QUEUE);
        let replies = match self.client.clone().open(ReceiverStream::new(rx)).await {
            Ok(replies) => replies.into_inner(),
            Err(status) if status.code() == Code::Unimplemented => {
                tracing::info!("spoke does not serve vtr.v1.Link: unary calls and streams instead");
                *state = State::Unsupported;
                return None;
            }
            // A hub lets a grant's token use `vtr.v1.Vtr` only: the same
            // calls, one by one.
            Err(status) if status.code() == Code::PermissionDenied => {
                tracing::info!(
                    "vtr.v1.Link refused to this caller: unary calls and streams instead"
                );
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
            pending: Mutex::new(Some(Pending::default())),
        });
        let open = Open {
            requests: requests.clone(),
            waiting,
        };
        tokio::spawn(read(replies, open.waiting.clone(), requests.downgrade()));
        *state = State::Open(open.clone());
        Some(Ok(open))
    }
}

impl Open {
    /// Sends a request and waits for its first reply; a watch's queue is
    /// registered before the request goes out, so no event can miss it.
    async fn ask(
        &self,
        request: Asked,
        watch: Option<mpsc::Sender<StreamEvent>>,
    ) -> Result<(u64, u64), Status> {
        let id = self.waiting.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match lock(&self.waiting.pending).as_mut() {
            Some(pending) => {
                pending.answers.insert(id, tx);
                if let Some(watch) = watch {
                    pending.watches.insert(id, watch);
                }
            }
            None => return Err(closed()),
        }
        let request = pb::LinkRequest {
            id,
            request: Some(request),
        };
        if self.requests.send(request).await.is_err() {
            self.waiting.forget(id);
            return Err(closed());
        }
        let answer = rx.await.unwrap_or_else(|_| Err(closed()));
        if answer.is_err() {
            self.waiting.forget(id);
        }
        answer.map(|value| (id, value))
    }
}

impl Waiting {
    fn forget(&self, id: u64) {
        if let Some(pending) = lock(&self.pending).as_mut() {
            pending.answers.remove(&id);
            pending.watches.remove(&id);
        }
    }
}

/// Stops a watch when its events are dropped.
struct Unwatch {
    id: u64,
    open: Open,
}

impl Drop for Unwatch {
    fn drop(&mut self) {
        self.open.waiting.forget(self.id);
        // A full request queue leaves the watch running; its next event
        // finds no queue and asks again.
        let _ = self.open.requests.try_send(unwatch(self.id));
    }
}

fn unwatch(id: u64) -> pb::LinkRequest {
    pb::LinkRequest {
        id,
        request: Some(Asked::Unwatch(id)),
    }
}

/// Hands each reply to its input or watch until the stream ends; then
/// every input still waiting fails as a lost connection would fail it, and
/// every watch's events end.
async fn read(
    mut replies: Streaming<pb::LinkReply>,
    waiting: Arc<Waiting>,
    requests: mpsc::WeakSender<pb::LinkRequest>,
) {
    let ended = loop {
        let reply = match replies.message().await {
            Ok(Some(reply)) => reply,
            Ok(None) => break Status::unavailable("the spoke ended the link"),
            Err(status) => break status,
        };
        let id = reply.id;
        match reply.reply {
            Some(Reply::Event(event)) => {
                let queue = lock(&waiting.pending)
                    .as_ref()
                    .and_then(|p| p.watches.get(&id).cloned());
                let delivered = match (queue, unmap::stream_event(event)) {
                    (Some(queue), Some(event)) => {
                        let sent = tokio::time::timeout(WATCH_STALL, queue.send(event));
                        matches!(sent.await, Ok(Ok(())))
                    }
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if !delivered {
                    // Gone, or stalled: its events end here.
                    waiting.forget(id);
                    if let Some(requests) = requests.upgrade() {
                        let _ = requests.try_send(unwatch(id));
                    }
                }
            }
            Some(Reply::Ended(_)) => {
                if let Some(pending) = lock(&waiting.pending).as_mut() {
                    pending.watches.remove(&id);
                }
            }
            reply => {
                let answer = lock(&waiting.pending)
                    .as_mut()
                    .and_then(|p| p.answers.remove(&id));
                if let Some(answer) = answer {
                    let _ = answer.send(result(reply));
                }
            }
        }
    };
    tracing::debug!(status = %ended, "spoke link ended");
    let pending = lock(&waiting.pending).take().unwrap_or_default();
    for (_, answer) in pending.answers {
        let _ = answer.send(Err(ended.clone()));
    }
}

fn result(reply: Option<Reply>) -> Result<u64, Status> {
    match reply {
        Some(Reply::Sent(sent)) => Ok(sent.offset),
        Some(Reply::Watching(_)) => Ok(0),
        Some(Reply::Error(e)) => Err(Status::new(Code::from_i32(e.code), e.message)),
        Some(Reply::Event(_) | Reply::Ended(_)) | None => {
            Err(Status::internal("the spoke sent a link reply out of turn"))
        }
    }
}

fn closed() -> Status {
    Status::unavailable("the link to the spoke closed")
}

/// `input` for `session` as the request that carries it (on a link, or
/// unary: the messages are the same).
pub(super) fn request(session: String, input: Input) -> Asked {
    match input {
        Input::Bytes(data) => Asked::Bytes(pb::SendBytesRequest {
            session,
            data,
            request_id: String::new(),
        }),
        Input::Text { text, submit } => Asked::Text(pb::SendTextRequest {
            session,
            text,
            submit,
            request_id: String::new(),
        }),
        Input::Keys(keys) => Asked::Keys(pb::SendKeyRequest {
            session,
            keys,
            request_id: String::new(),
        }),
        Input::Once { id, input } => {
            let mut asked = request(session, *input);
            match &mut asked {
                Asked::Bytes(r) => r.request_id = id,
                Asked::Text(r) => r.request_id = id,
                Asked::Keys(r) => r.request_id = id,
                Asked::Watch(_) | Asked::Unwatch(_) => {}
            }
            asked
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_stream::wrappers::TcpListenerStream;
    use tonic::transport::{Endpoint, Server};

    use super::*;
    use crate::core::session::SessionConfig;
    use crate::core::{Coordinator, SpawnSpec};
    use crate::spoke::LocalSpoke;

    const DEADLINE: Duration = Duration::from_secs(20);

    /// `routes` served on a real TCP socket, and a link to them.
    async fn served(routes: tonic::service::Routes) -> SpokeLink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(
            Server::builder()
                .add_routes(routes)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_lazy();
        SpokeLink::new(channel, Attach::new(None).expect("no token"))
    }

    /// A real spoke (real PTYs) with every service a spoke serves, and a
    /// link to it.
    async fn spoke_and_link() -> (std::sync::Arc<LocalSpoke>, SpokeLink) {
        let spoke = std::sync::Arc::new(LocalSpoke::new("t".into(), SessionConfig::default()));
        let routes = super::super::routes(spoke.clone(), None, None)
            .await
            .expect("routes");
        (spoke, served(routes).await)
    }

    async fn spawn(spoke: &LocalSpoke, name: &str, script: &str) {
        spoke
            .spawn(SpawnSpec {
                name: name.into(),
                command: "/bin/sh".into(),
                args: vec!["-c".into(), script.into()],
                ..SpawnSpec::default()
            })
            .await
            .expect("spawn");
    }

    /// A watch whose events nobody takes is ended after a short wait: the
    /// other session's events and the input replies on the same link go
    /// on, and the unread watch's events end after what was queued.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unread_watch_is_ended_without_holding_up_the_link() {
        let (spoke, link) = spoke_and_link().await;
        spawn(&spoke, "flood", "yes flood").await;
        spawn(&spoke, "quiet", "stty -echo; exec cat").await;
        let mut unread = link
            .watch("flood", None)
            .await
            .expect("link served")
            .expect("watch the flood");
        let mut quiet = link
            .watch("quiet", Some(0))
            .await
            .expect("link served")
            .expect("watch the quiet one");
        for i in 0..20 {
            let line = format!("ping{i}");
            let sent = link.send("quiet", Input::Bytes(format!("{line}\n").into()));
            tokio::time::timeout(DEADLINE, sent)
                .await
                .expect("the input's reply in time")
                .expect("link served")
                .expect("input taken");
            let mut seen = String::new();
            let echoed = tokio::time::timeout(DEADLINE, async {
                while !seen.contains(&line) {
                    match quiet.recv().await {
                        Some(StreamEvent::Output { data, .. }) => {
                            seen.push_str(&String::from_utf8_lossy(&data));
                        }
                        Some(_) => {}
                        None => panic!("the quiet watch ended"),
                    }
                }
            })
            .await;
            assert!(echoed.is_ok(), "no echo of {line} beside the unread flood");
        }
        // The flood's watch was cut off: what was queued, then the end.
        let ended = tokio::time::timeout(DEADLINE, async {
            let mut events = 0;
            while unread.recv().await.is_some() {
                events += 1;
            }
            events
        })
        .await
        .expect("the unread watch ends");
        assert!(ended <= WATCH_QUEUE + 1, "{ended} events after the cut");
        for session in ["flood", "quiet"] {
            spoke.kill(session, "KILL").await.expect("kill");
        }
    }

    /// Keystrokes the spoke writes at once and pastes it queues reach the
    /// program in the order sent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn input_written_at_once_never_overtakes_queued_input() {
        let (spoke, link) = spoke_and_link().await;
        spawn(&spoke, "cat", "stty -echo; exec cat").await;
        let mut watch = link
            .watch("cat", Some(0))
            .await
            .expect("link served")
            .expect("watch");
        let (a, d) = ("a".repeat(1000), "d".repeat(1000));
        let inputs = [
            format!("{a}\n"),
            "b\n".into(),
            "c\n".into(),
            format!("{d}\n"),
            "e\n".into(),
        ];
        let sends = inputs
            .iter()
            .map(|text| link.send("cat", Input::Bytes(text.clone().into())));
        // Polled in order, so the requests go out in order, unanswered.
        for sent in futures_util::future::join_all(sends).await {
            sent.expect("link served").expect("input taken");
        }
        let want = format!("{a}\r\nb\r\nc\r\n{d}\r\ne\r\n");
        let mut seen = String::new();
        tokio::time::timeout(DEADLINE, async {
            while seen.len() < want.len() {
                match watch.recv().await {
                    Some(StreamEvent::Output { data, .. }) => {
                        seen.push_str(&String::from_utf8_lossy(&data));
                    }
                    Some(_) => {}
                    None => panic!("the watch ended"),
                }
            }
        })
        .await
        .expect("all the input echoed");
        assert_eq!(seen, want);
        spoke.kill("cat", "KILL").await.expect("kill");
    }

    /// A spoke from before `Link` existed answers UNIMPLEMENTED for it (as
    /// any gRPC server does for a service it lacks): the link says so, so
    /// the caller falls back, and keeps saying so without asking again.
    #[tokio::test]
    async fn a_server_without_link_sends_the_caller_back_to_unary_calls() {
        let (_reporter, health) = tonic_health::server::health_reporter();
        let link = served(tonic::service::Routes::new(health)).await;
        for _ in 0..2 {
            let sent = link.send("s", Input::Bytes("x".into())).await;
            assert!(
                matches!(sent, Err(Input::Bytes(ref b)) if b == "x"),
                "the input comes back for a unary call"
            );
            assert!(link.watch("s", None).await.is_none(), "no watch either");
        }
        assert!(matches!(*link.state.lock().await, State::Unsupported));
    }
}
