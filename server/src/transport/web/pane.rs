//! `/ws/pane?session=spoke:name[&from=OFFSET]`: one session for an xterm
//! pane. The hub's shared upstream stream (one per session, however many
//! panes watch) feeds it; input and resize go to the owning spoke.
//!
//! Flow control: a browser reads every frame off the socket at once, however
//! far behind its terminal is, so socket backpressure alone cannot stop a
//! burst from piling up in the page. The page acknowledges the stream bytes
//! its terminal has processed (`PaneRequest.ack`), and the hub stops taking
//! events from the subscription while more than `flow::WINDOW` bytes are
//! unacknowledged. A slow page holds back only its own subscription, which
//! falls behind in the hub's output log and, if it falls off the end, gets
//! a fresh snapshot (a resync whose offset shows the skipped range). No
//! queue grows, the spoke and other panes never wait, and input keeps
//! flowing while output is held.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use prost::Message as _;
use serde::Deserialize;
use vtr_shared::web::{self, pane_event::Event, pane_request::Request};
use vtr_shared::{close, flow};

use super::{MAX_FRAME, origin};
use crate::core::error::ErrorKind;
use crate::core::{Coordinator, Input, SessionError, StreamEvent};
use crate::hub::{Hub, SpokeState, SpokeStatus};
use crate::transport::grpc::map;

#[derive(Debug, Deserialize)]
pub struct PaneQuery {
    session: String,
    /// Resume here when the hub's log still holds it.
    from: Option<u64>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    Query(query): Query<PaneQuery>,
    State(hub): State<Hub>,
) -> Response {
    if let Some(refused) = origin::refusal(&headers) {
        return refused;
    }
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            let mut pane = Pane {
                hub,
                socket,
                sent: 0,
                acked: 0,
            };
            let (code, reason) = pane.run(query).await;
            pane.close(code, reason).await;
        })
}

struct Pane {
    hub: Hub,
    socket: WebSocket,
    /// Stream bytes sent and acknowledged on this socket (flow control).
    sent: u64,
    acked: u64,
}

/// Why a pane ended: a close code and a reason the page shows.
type Ending = (u16, String);

impl Pane {
    async fn run(&mut self, query: PaneQuery) -> Ending {
        let info = match self.hub.info(&query.session).await {
            Ok(info) => info,
            Err(e) => return self.fail(e).await,
        };
        let spoke = info.spoke.clone();
        let address = info.id_address();
        if self
            .send(Event::Session(map::session_info(info)))
            .await
            .is_err()
        {
            return gone_away();
        }
        let mut events = match self.hub.subscribe(&address, query.from).await {
            Ok(events) => events,
            Err(e) => return self.fail(e).await,
        };
        let mut spokes = self.hub.watch_spokes();
        let mut spoke_down = false;
        loop {
            tokio::select! {
                // The session's stream; it ends after `Exited`, or when the
                // hub lets go of the session (removed, or its spoke forgot it).
                event = events.recv(), if self.sent - self.acked < flow::WINDOW => match event {
                    Some(event) => {
                        let exited = matches!(event, StreamEvent::Exited(_));
                        self.sent += stream_bytes(&event);
                        if self.send(Event::Stream(map::stream_event(event))).await.is_err() {
                            return gone_away();
                        }
                        if exited {
                            return (close::GONE, "the session exited".to_owned());
                        }
                    }
                    None => return (close::GONE, format!("session {address} is gone")),
                },
                // Keystrokes and resizes from the page.
                message = self.socket.recv() => match message {
                    Some(Ok(Message::Binary(frame))) => {
                        if let Err(ending) = self.apply(&address, &frame).await {
                            return ending;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return gone_away(),
                    Some(Ok(_)) => {}
                },
                // The owning spoke's health, for the page's status.
                list = spokes.recv() => {
                    let Some(list) = list else { continue };
                    let down = is_down(&list, &spoke);
                    if down != spoke_down {
                        spoke_down = down;
                        let state = if down {
                            web::PaneState::SpokeDown
                        } else {
                            web::PaneState::Live
                        };
                        if self.send(Event::State(state as i32)).await.is_err() {
                            return gone_away();
                        }
                    }
                }
            }
        }
    }

    /// Applies one request from the page.
    async fn apply(&mut self, address: &str, frame: &[u8]) -> Result<(), Ending> {
        let request = web::PaneRequest::decode(frame)
            .map_err(|e| (close::BAD_REQUEST, format!("undecodable pane request: {e}")))?;
        let result = match request.request {
            Some(Request::Input(data)) => {
                self.hub.send(address, Input::Bytes(data)).await.map(|_| ())
            }
            Some(Request::Resize(size)) => self
                .hub
                .resize(address, size.cols, size.rows)
                .await
                .map(|_| ()),
            Some(Request::Ack(ack)) => return self.ack(ack),
            None => return Err((close::BAD_REQUEST, "empty pane request".to_owned())),
        };
        match result {
            Ok(()) => Ok(()),
            // Typing into an exited session, or while its spoke is away:
            // the stream says so; the pane stays.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::FailedPrecondition | ErrorKind::Unavailable
                ) =>
            {
                tracing::debug!(session = %address, "pane input not applied: {e}");
                Ok(())
            }
            Err(e) => Err(self.fail(e).await),
        }
    }

    fn ack(&mut self, ack: u64) -> Result<(), Ending> {
        if ack < self.acked || ack > self.sent {
            return Err((
                close::BAD_REQUEST,
                format!(
                    "ack {ack} is outside {}..={} (acknowledged..sent stream bytes)",
                    self.acked, self.sent
                ),
            ));
        }
        self.acked = ack;
        Ok(())
    }

    async fn send(&mut self, event: Event) -> Result<(), axum::Error> {
        let frame = web::PaneEvent { event: Some(event) }.encode_to_vec();
        self.socket.send(Message::Binary(frame.into())).await
    }

    /// Tells the page why the pane cannot go on now. A spoke that is not
    /// (yet) connected, or unreachable, is worth retrying: the page hears
    /// SPOKE_DOWN and a TRY_AGAIN close. Anything else is final.
    async fn fail(&mut self, e: SessionError) -> Ending {
        let message = e.to_string();
        let retry = matches!(e, SessionError::NoSpoke { .. }) || e.kind() == ErrorKind::Unavailable;
        if retry {
            let _ = self
                .send(Event::State(web::PaneState::SpokeDown as i32))
                .await;
            return (close::TRY_AGAIN, message);
        }
        let _ = self.send(Event::Error(message.clone())).await;
        let code = match e.kind() {
            ErrorKind::NotFound => close::NOT_FOUND,
            _ => close::BAD_REQUEST,
        };
        (code, message)
    }

    async fn close(&mut self, code: u16, reason: String) {
        // Close reasons are limited to 123 bytes.
        let mut reason = reason;
        while reason.len() > 123 {
            reason.pop();
        }
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.socket.send(Message::Close(Some(frame))).await;
    }
}

fn gone_away() -> Ending {
    (1001, "going away".to_owned())
}

/// The bytes of an event that count against the flow-control window.
fn stream_bytes(event: &StreamEvent) -> u64 {
    match event {
        StreamEvent::Output { data, .. } => data.len() as u64,
        StreamEvent::Snapshot { screen, .. } => screen.len() as u64,
        _ => 0,
    }
}

fn is_down(spokes: &[SpokeStatus], name: &str) -> bool {
    spokes
        .iter()
        .find(|s| s.name == name)
        .is_some_and(|s| matches!(s.state, SpokeState::Unreachable))
}
