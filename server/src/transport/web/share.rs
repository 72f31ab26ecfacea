//! `/ws/share?token=TOKEN`: a share link's viewer. The token names one
//! session, and this socket is the whole of what it opens: the session's
//! stream, read-only. There is no input, resize or link path here at all;
//! the viewer may acknowledge stream bytes (flow control) and nothing else.
//! Any other frame is refused, logged and ends the socket (`READ_ONLY`). The
//! socket ends with `LINK_REVOKED` or `LINK_EXPIRED` the moment the link is
//! revoked or expires.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use prost::Message as _;
use serde::Deserialize;
use vtr_shared::close;
use vtr_shared::proto as pb;
use vtr_shared::web::{self, pane_event::Event, pane_request::Request};

use super::stream::{self, Ending, Window, gone_away};
use crate::core::clock::now_ms;
use crate::core::error::ErrorKind;
use crate::core::{Coordinator, SessionError};
use crate::hub::share::{Record, ShareError};
use crate::transport::map;
use crate::transport::web_state::WebState;

/// Viewers send acks only (a few bytes each). Frames are capped too, so a
/// larger one is refused from its header, not read first.
const MAX_VIEWER_FRAME: usize = 1024;

/// The token, and where to resume; a `session=` (or anything else) is
/// refused with 400.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareQuery {
    token: String,
    /// Resume here when the hub's log still holds it and the link existed
    /// then (`Record::viewer_from`).
    from: Option<u64>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    Query(query): Query<ShareQuery>,
    State(state): State<WebState>,
) -> Response {
    // Viewers send acks only: small frames.
    ws.max_message_size(MAX_VIEWER_FRAME)
        .max_frame_size(MAX_VIEWER_FRAME)
        .on_upgrade(move |mut socket| async move {
            let ending = view(&state, &mut socket, &query).await;
            stream::close(&mut socket, ending).await;
        })
}

async fn view(state: &WebState, socket: &mut WebSocket, query: &ShareQuery) -> Ending {
    // Watched from before the link is checked: a revoke meanwhile is seen.
    let mut links_rx = state.shares.changes();
    let link = match state.shares.open_token(&query.token) {
        Ok(link) => link,
        Err(e) => return refuse(socket, &e).await,
    };
    // Counted from here on; refused when the link or the hub is full.
    let _watching = match state.presence.enter_viewer(&link.session, &link.id) {
        Ok(watching) => watching,
        Err(full) => {
            tracing::warn!(link = %link.id, "share-link viewer refused: {full}");
            let message = full.to_string();
            let _ = stream::send(socket, Event::Error(message.clone())).await;
            return (close::TOO_MANY_VIEWERS, message);
        }
    };
    let info = match state.hub.info(&link.session).await {
        // The session the link was made for, by id (not one that took its
        // id as a name).
        Ok(info) if info.id_address() == link.session => info,
        Ok(_)
        | Err(
            SessionError::NotFound { .. }
            | SessionError::Spoke {
                kind: ErrorKind::NotFound,
                ..
            },
        ) => return ended(socket).await,
        Err(e) => return unavailable(socket, &link, &e).await,
    };
    // What the viewer is shown of the session: its name and size, not
    // its command line, where it runs or who started it.
    let full = map::session_info(&info);
    let info = pb::SessionInfo {
        id: full.id,
        name: full.name,
        cols: full.cols,
        rows: full.rows,
        status: full.status,
        exit_code: full.exit_code,
        exit_signal: full.exit_signal,
        ..Default::default()
    };
    if stream::send(socket, Event::Session(info)).await.is_err() {
        return gone_away();
    }
    // Never from before the link existed: an earlier `from` is ignored.
    let from = link.viewer_from(query.from);
    let mut events = match state.hub.subscribe(&link.session, from).await {
        Ok(events) => events,
        Err(e) => return unavailable(socket, &link, &e).await,
    };
    // Checked again now that everything is set up.
    if let Err(e) = state.shares.check(&link.id) {
        return refuse(socket, &e).await;
    }
    let expiry = tokio::time::sleep_until(until(&link));
    tokio::pin!(expiry);
    let mut window = Window::default();
    loop {
        tokio::select! {
            event = events.recv(), if window.open() => {
                if let Err(ending) = stream::forward(socket, &mut window, event).await {
                    return ending;
                }
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Text(_))) => return read_only(&link, "a text frame"),
                message => match stream::frame(message) {
                    Ok(Some(frame)) => {
                        if let Err(ending) = ack_only(&link, &frame, &mut window) {
                            return ending;
                        }
                    }
                    Ok(None) => {}
                    Err(ending) => return ending,
                },
            },
            // Revoked (or otherwise changed): check again.
            changed = links_rx.changed() => {
                if changed.is_err() {
                    return gone_away();
                }
                if let Err(e) = state.shares.check(&link.id) {
                    return refuse(socket, &e).await;
                }
            }
            () = &mut expiry => return refuse(socket, &ShareError::Expired).await,
        }
    }
}

/// Applies an ack; anything else a viewer sends is refused.
fn ack_only(link: &Record, frame: &[u8], window: &mut Window) -> Result<(), Ending> {
    match web::PaneRequest::decode(frame) {
        Ok(web::PaneRequest {
            request: Some(Request::Ack(ack)),
        }) => window.ack(ack),
        Ok(web::PaneRequest {
            request: Some(Request::Input(_)),
        }) => Err(read_only(link, "input")),
        Ok(web::PaneRequest {
            request: Some(Request::Resize(_)),
        }) => Err(read_only(link, "a resize")),
        Ok(web::PaneRequest {
            request: Some(Request::ShareTtlSeconds(_) | Request::RevokeShare(_)),
        }) => Err(read_only(link, "a link request")),
        Ok(web::PaneRequest {
            request: Some(Request::Grant(_)),
        }) => Err(read_only(link, "a grant request")),
        Ok(web::PaneRequest { request: None }) | Err(_) => Err(read_only(link, "an unknown frame")),
    }
}

fn read_only(link: &Record, what: &str) -> Ending {
    tracing::warn!(
        link = %link.id,
        session = %link.session,
        "share-link viewer sent {what}; refused (the link is read-only)"
    );
    (
        close::READ_ONLY,
        format!("this link is read-only: {what} is refused"),
    )
}

/// The shared session cannot be shown now. A viewer is told only that:
/// which spoke it runs on and why it is away are not theirs to know.
async fn unavailable(socket: &mut WebSocket, link: &Record, e: &SessionError) -> Ending {
    tracing::info!(link = %link.id, session = %link.session, "share-link viewer: {e}");
    let message = "the shared session is not available now".to_owned();
    let _ = stream::send(socket, Event::Error(message.clone())).await;
    (close::GONE, message)
}

/// The shared session no longer exists (removed, or ended with its spoke).
async fn ended(socket: &mut WebSocket) -> Ending {
    let message = "the shared session has ended".to_owned();
    let _ = stream::send(socket, Event::Error(message.clone())).await;
    (close::GONE, message)
}

/// Tells the viewer why the link does not (or no longer) work.
async fn refuse(socket: &mut WebSocket, e: &ShareError) -> Ending {
    let code = match e {
        ShareError::Expired => close::LINK_EXPIRED,
        ShareError::Revoked => close::LINK_REVOKED,
        _ => close::LINK_INVALID,
    };
    let message = e.to_string();
    let _ = stream::send(socket, Event::Error(message.clone())).await;
    (code, message)
}

fn until(link: &Record) -> tokio::time::Instant {
    let left = u64::try_from(link.expires_ms - now_ms()).unwrap_or(0);
    tokio::time::Instant::now() + Duration::from_millis(left)
}
