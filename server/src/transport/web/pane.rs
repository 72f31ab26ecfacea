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

use std::time::Duration;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use prost::Message as _;
use serde::Deserialize;
use tonic::Status;
use vtr_shared::cards::Place;
use vtr_shared::close;
use vtr_shared::proto as pb;
use vtr_shared::web::{self, pane_event::Event, pane_request::Request};

use super::auth::{Identity, SignIn};
use super::stream::{self, Ending, Window, gone_away};
use super::{MAX_FRAME, who};
use crate::core::clock::unix_ms;
use crate::core::error::ErrorKind;
use crate::core::{Coordinator, Input, SessionError, SessionSummary};
use crate::hub::grants::{NewGrant, Targets};
use crate::hub::presence::Via;
use crate::hub::{Hub, SpokeState, SpokeStatus};
use crate::transport::grpc::grants;
use crate::transport::map;
use crate::transport::web_state::WebState;

#[derive(Debug, Deserialize)]
pub struct PaneQuery {
    session: String,
    /// Resume here when the hub's log still holds it.
    from: Option<u64>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    Query(query): Query<PaneQuery>,
    State(state): State<WebState>,
    identity: Option<axum::Extension<Identity>>,
    sign_in: Option<axum::Extension<SignIn>>,
) -> Response {
    let who = who(identity);
    let sign_in = sign_in.map(|axum::Extension(s)| s);
    // Frames too, so a larger one is refused from its header, not read.
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            let mut pane = Pane {
                hub: state.hub.clone(),
                state,
                socket,
                window: Window::default(),
                who,
            };
            let ending = tokio::select! {
                ending = pane.run(query) => ending,
                () = stream::signed_out(sign_in.as_ref()) => stream::signed_out_ending(),
            };
            stream::close(&mut pane.socket, ending).await;
        })
}

struct Pane {
    hub: Hub,
    state: WebState,
    socket: WebSocket,
    window: Window,
    /// Who opened it (links made here are theirs).
    who: String,
}

impl Pane {
    async fn run(&mut self, query: PaneQuery) -> Ending {
        let info = match self.hub.session(&query.session).await {
            Ok(info) => info,
            Err(e) => return self.fail(e).await,
        };
        let spoke = info.spoke.clone();
        let address = info.id_address();
        if self
            .send(Event::Session(map::session_info(&info)))
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
        // The session's name, as the page shows it: a rename is told; and
        // the sessions around it, for the page's shortcuts.
        let mut sessions = self.hub.watch_merged();
        let mut name = info.name.clone();
        let mut around = None;
        let _watching = self.state.presence.enter(&address, Via::Pane);
        let mut watchers_rx = self.state.presence.changes();
        let mut links_rx = self.state.shares.changes();
        let mut presence = None;
        // The first presence goes out at once.
        watchers_rx.mark_changed();
        loop {
            tokio::select! {
                // The session's stream; it ends after `Exited`, or when the
                // hub lets go of the session (removed, or its spoke forgot it).
                event = events.recv(), if self.window.open() => {
                    if let Err(ending) = stream::forward(&mut self.socket, &mut self.window, event).await {
                        return ending;
                    }
                }
                // Keystrokes and resizes from the page.
                message = self.socket.recv() => match stream::frame(message) {
                    Ok(Some(frame)) => {
                        if let Err(ending) = self.apply(&address, &frame).await {
                            return ending;
                        }
                    }
                    Ok(None) => {}
                    Err(ending) => return ending,
                },
                // Who watches, through which links.
                changed = stream::either_changed(&mut watchers_rx, &mut links_rx) => {
                    if changed.is_err() {
                        continue;
                    }
                    let now = watchers(&self.state, &address).await;
                    if presence.as_ref() != Some(&now) {
                        presence = Some(now.clone());
                        if self.send(Event::Presence(now)).await.is_err() {
                            return gone_away();
                        }
                    }
                }
                // A rename, and the neighbours, from the hub's list.
                list = sessions.recv() => {
                    let Some(list) = list else { continue };
                    let this = list.iter().find(|s| s.spoke == spoke && s.id == info.id);
                    if let Some(s) = this.filter(|s| s.name != name) {
                        name.clone_from(&s.name);
                        if self.send(Event::Renamed(s.address())).await.is_err() {
                            return gone_away();
                        }
                    }
                    let now = neighbours(&list, &info);
                    if around.as_ref() != Some(&now) {
                        around = Some(now.clone());
                        if self.send(Event::Neighbours(now)).await.is_err() {
                            return gone_away();
                        }
                    }
                }
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
        let result = match decode_request(frame)? {
            Request::Input(data) => self.hub.send(address, Input::Bytes(data)).await.map(|_| ()),
            Request::Resize(size) => self
                .hub
                .resize(address, size.cols, size.rows)
                .await
                .map(|_| ()),
            Request::Ack(ack) => return self.window.ack(ack),
            Request::ShareTtlSeconds(ttl) => {
                let event = match self.state.create(address, ttl, &self.who).await {
                    Ok(share) => Event::Shared(share),
                    Err(e) => notice("no link made", e.into()),
                };
                return self.send(event).await.map_err(|_| gone_away());
            }
            Request::Grant(asked) => {
                let made = grant(&self.hub, &self.state, &self.who, address, asked).await;
                let event = match made {
                    Ok(made) => Event::Granted(made),
                    Err(status) => notice("no grant made", status),
                };
                return self.send(event).await.map_err(|_| gone_away());
            }
            Request::RevokeShare(id) => {
                // Only this session's links.
                let event = match self.state.list(Some(address)).await {
                    Ok(links) if links.iter().any(|l| l.id == id) => {
                        match self.state.revoke(&id).await {
                            Ok(_) => return Ok(()),
                            Err(e) => Event::Notice(format!("not revoked: {e}")),
                        }
                    }
                    Ok(_) => Event::Notice(format!("no link {id:?} to this session")),
                    Err(e) => Event::Notice(format!("not revoked: {e}")),
                };
                return self.send(event).await.map_err(|_| gone_away());
            }
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

    /// Tells the page why the pane cannot go on now. A spoke that is not
    /// (yet) connected, or unreachable, is worth retrying: the page hears
    /// SPOKE_DOWN and a TRY_AGAIN close. Anything else is final.
    async fn fail(&mut self, e: SessionError) -> Ending {
        let retry =
            matches!(e, SessionError::UnknownSpoke { .. }) || e.kind() == ErrorKind::Unavailable;
        if retry {
            let _ = self
                .send(Event::State(web::PaneState::SpokeDown as i32))
                .await;
            return (close::TRY_AGAIN, e.to_string());
        }
        let (code, message) = stream::ending(&e);
        let _ = self.send(Event::Error(message.clone())).await;
        (code, message)
    }

    async fn send(&mut self, event: Event) -> Result<(), axum::Error> {
        stream::send(&mut self.socket, event).await
    }
}

/// An agent's grant to the pane's session alone, made by its user.
async fn grant(
    hub: &Hub,
    state: &WebState,
    who: &str,
    address: &str,
    asked: web::PaneGrant,
) -> Result<pb::GrantInfo, Status> {
    let scope = grants::scope(asked.scope)?;
    let session = hub.info(address).await?;
    // The pane's own session and no other, whatever its spoke answers.
    if session.id_address() != address {
        tracing::warn!(pane = %address, answered = %session.id_address(), "grant refused: the spoke answered for another session");
        return Err(Status::failed_precondition(
            "the spoke answered for another session; no grant made",
        ));
    }
    let new = NewGrant {
        scope,
        targets: Targets::Sessions(vec![(session.id_address(), session.address())]),
        ttl: Duration::from_secs(asked.ttl_seconds),
        note: asked.note,
        created_by: who.to_owned(),
    };
    Ok(grants::create(&state.grants, new)?)
}

/// A request's failure as the page is told it: as a gRPC client would be
/// (internal details logged, not sent).
fn notice(what: &str, status: Status) -> Event {
    Event::Notice(format!("{what}: {}", status.message()))
}

/// One frame from the page as a request: undecodable or empty frames end
/// the pane with `BAD_REQUEST`. Pure, so the fuzz harness can call it.
pub fn decode_request(frame: &[u8]) -> Result<Request, Ending> {
    web::PaneRequest::decode(frame)
        .map_err(|e| (close::BAD_REQUEST, format!("undecodable pane request: {e}")))?
        .request
        .ok_or_else(|| (close::BAD_REQUEST, "empty pane request".to_owned()))
}

fn is_down(spokes: &[SpokeStatus], name: &str) -> bool {
    spokes
        .iter()
        .find(|s| s.name == name)
        .is_some_and(|s| matches!(s.state, SpokeState::Unreachable))
}

/// The session's watchers and live links.
async fn watchers(state: &WebState, address: &str) -> web::Presence {
    let watchers = state.presence.of(address);
    let links = state
        .list(Some(address))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.revoked_at_ms == 0)
        .collect();
    web::Presence {
        panes: watchers.panes,
        links,
    }
}

/// The sessions around `this` in the dashboard's order.
fn neighbours(list: &[SessionSummary], this: &SessionSummary) -> web::Neighbours {
    fn place(s: &SessionSummary) -> Place<'_> {
        (s.spoke.as_str(), unix_ms(s.created_at), s.id.as_str())
    }
    match vtr_shared::cards::neighbours(list, place, place(this)) {
        Some((before, after)) => web::Neighbours {
            previous: list[before].address(),
            next: list[after].address(),
        },
        None => web::Neighbours::default(),
    }
}
