//! `Attach`: a subscription and an input path on one bidirectional stream.
//!
//! Interactive clients (the CLI's `attach`, the hub's browser bridge) type
//! and read at once. On one stream, input skips a unary call's setup per
//! keystroke, and the session is resolved once, when the stream opens.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio_stream::Stream;
use tonic::{Status, Streaming};
use vtr_shared::proto as pb;
use vtr_shared::proto::attach_request::Request as AttachMessage;

use crate::core::{Coordinator, Events, Input, StreamEvent};
use crate::transport::map;

/// Reads the `open` request, subscribes, and starts the task that applies
/// the rest of the requests.
pub async fn open<C: Coordinator>(
    coordinator: Arc<C>,
    mut requests: Streaming<pb::AttachRequest>,
) -> Result<AttachStream, Status> {
    let open = match requests.message().await? {
        Some(pb::AttachRequest {
            request: Some(AttachMessage::Open(open)),
        }) => open,
        Some(_) => {
            return Err(Status::invalid_argument(
                "the first Attach request must be `open` (the session to attach to)",
            ));
        }
        None => return Err(Status::invalid_argument("Attach closed before `open`")),
    };
    // Resolve once: a rename while attached does not cut the input off.
    // `spoke:id` addresses the session on a spoke and on a hub alike.
    let summary = coordinator.info(&open.session).await?;
    let session = summary.id_address();
    let events = coordinator.subscribe(&session, open.from_offset).await?;
    let shown = open.session;
    let input = Box::pin(async move {
        apply_requests(&*coordinator, &session, requests)
            .await
            .map_err(|status| as_addressed(status, &session, &shown))
    });
    Ok(AttachStream {
        events,
        input: Some(input),
        done: false,
    })
}

/// An error about the session by its internal `spoke:id`, told with the
/// address the client gave instead (a removed session is "not found" by
/// the name the user typed, not by an id they never saw).
fn as_addressed(status: Status, internal: &str, shown: &str) -> Status {
    if !status.message().contains(internal) {
        return status;
    }
    let message = status.message().replace(internal, shown);
    Status::new(status.code(), message)
}

/// Applies input and resize requests in order until the client closes its
/// side. The first failure is returned and ends the stream.
async fn apply_requests<C: Coordinator>(
    coordinator: &C,
    session: &str,
    mut requests: Streaming<pb::AttachRequest>,
) -> Result<(), Status> {
    while let Some(request) = requests.message().await? {
        match request.request {
            Some(AttachMessage::Input(data)) => {
                coordinator.send(session, Input::Bytes(data)).await?;
            }
            Some(AttachMessage::Resize(size)) => {
                coordinator.resize(session, size.cols, size.rows).await?;
            }
            Some(AttachMessage::Open(_)) => {
                return Err(Status::invalid_argument(
                    "`open` may only be the first Attach request",
                ));
            }
            None => return Err(Status::invalid_argument("empty Attach request")),
        }
    }
    Ok(())
}

type InputTask = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// The session's events, ended early by a failed request.
///
/// The input side runs inside this stream's polls, not as a task of its
/// own: a keystroke then goes from the connection to the PTY, and its echo
/// back, without waking another task. The catch: input is read while the
/// response is being polled, so a client that stops reading output (the
/// transport's window full) also stops having its input applied, which is
/// the backpressure an interactive client should see anyway.
pub struct AttachStream {
    events: Events<StreamEvent>,
    /// `None` once the input side has finished cleanly.
    input: Option<InputTask>,
    done: bool,
}

impl Stream for AttachStream {
    type Item = Result<pb::SubscribeEvent, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        // Input that ended cleanly lets output go on.
        if let Some(input) = self.input.as_mut()
            && let Poll::Ready(result) = input.as_mut().poll(cx)
        {
            self.input = None;
            if let Err(status) = result {
                self.done = true;
                return Poll::Ready(Some(Err(status)));
            }
        }
        match self.events.poll_recv(cx) {
            Poll::Ready(Some(event)) => Poll::Ready(Some(Ok(map::stream_event(event)))),
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
