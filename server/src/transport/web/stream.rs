//! What the browser's sockets have in common: frames sent with a deadline
//! (pane, share-link viewer, dashboard), close codes with reasons, and the
//! flow-control window (pane and viewer).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use prost::Message as _;
use vtr_shared::web::{self, pane_event::Event};
use vtr_shared::{close, flow};

use crate::core::error::ErrorKind;
use crate::core::{SessionError, StreamEvent};

/// Why a socket ended: a close code and a reason the page shows.
pub type Ending = (u16, String);

pub fn gone_away() -> Ending {
    (1001, "going away".to_owned())
}

/// A page that takes no frame for this long is gone: its socket ends
/// rather than hold its subscription (and, for a share link, its revoke
/// check) for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn send(socket: &mut WebSocket, event: Event) -> Result<(), axum::Error> {
    send_frame(
        socket,
        web::PaneEvent { event: Some(event) }.encode_to_vec(),
    )
    .await
}

/// Sends one binary frame, or gives up on a page that takes none for
/// [`SEND_TIMEOUT`].
pub async fn send_frame(socket: &mut WebSocket, frame: Vec<u8>) -> Result<(), axum::Error> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Binary(frame.into()))).await {
        Ok(sent) => sent,
        Err(_) => Err(axum::Error::new(format!(
            "the page took no frame for {} s",
            SEND_TIMEOUT.as_secs()
        ))),
    }
}

pub async fn close(socket: &mut WebSocket, (code, reason): Ending) {
    // Close reasons are limited to 123 bytes.
    let mut reason = reason;
    while reason.len() > 123 {
        reason.pop();
    }
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// Sends one event of a session's stream to the page (`None`: the stream
/// ended), counting it in `window`: the step the pane and the share-link
/// viewer loops share. `Err` ends the socket.
pub async fn forward(
    socket: &mut WebSocket,
    window: &mut Window,
    event: Option<StreamEvent>,
) -> Result<(), Ending> {
    let Some(event) = event else {
        return Err((close::GONE, "the session is gone".to_owned()));
    };
    let exited = matches!(event, StreamEvent::Exited(_));
    window.sending(&event);
    send(
        socket,
        Event::Stream(crate::transport::map::stream_event(event)),
    )
    .await
    .map_err(|_| gone_away())?;
    if exited {
        return Err((close::GONE, "the session exited".to_owned()));
    }
    Ok(())
}

/// What the page sent: a binary frame, nothing worth acting on (`None`:
/// pings, pongs), or the end of the socket.
pub fn frame(
    message: Option<Result<Message, axum::Error>>,
) -> Result<Option<bytes::Bytes>, Ending> {
    match message {
        Some(Ok(Message::Binary(frame))) => Ok(Some(frame)),
        Some(Ok(Message::Text(_))) => Err((
            close::BAD_REQUEST,
            "frames are binary protobuf messages".to_owned(),
        )),
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Err(gone_away()),
        Some(Ok(_)) => Ok(None),
    }
}

/// Resolves when the sign-in a socket was opened with ends; never for a
/// socket opened otherwise (a token, Tailscale, a share link).
pub async fn signed_out(sign_in: Option<&super::auth::SignIn>) {
    match sign_in {
        Some(sign_in) => sign_in.ended().await,
        None => std::future::pending().await,
    }
}

/// The close that tells a page its sign-in ended.
pub fn signed_out_ending() -> Ending {
    (close::SIGNED_OUT, "signed out".to_owned())
}

/// The one mapping from a session error to what a browser is told: a
/// close code and a message meant for people. Internal details stay in the
/// hub's log.
pub fn ending(e: &SessionError) -> Ending {
    match e.kind() {
        ErrorKind::NotFound => (close::NOT_FOUND, e.to_string()),
        ErrorKind::Unavailable => (close::TRY_AGAIN, e.to_string()),
        ErrorKind::Internal => {
            tracing::error!("{e}");
            (
                close::BAD_REQUEST,
                "the hub hit an internal error (it is in the hub's log)".to_owned(),
            )
        }
        _ => (close::BAD_REQUEST, e.to_string()),
    }
}

/// Stream bytes sent and acknowledged on one socket (see
/// `PaneRequest.ack`).
#[derive(Debug, Default)]
pub struct Window {
    sent: u64,
    acked: u64,
}

impl Window {
    /// Whether another stream event may go out.
    pub fn open(&self) -> bool {
        self.sent - self.acked < flow::WINDOW
    }

    pub fn sending(&mut self, event: &StreamEvent) {
        self.sent += match event {
            StreamEvent::Output { data, .. } => data.len() as u64,
            StreamEvent::Snapshot { screen, .. } => screen.len() as u64,
            _ => 0,
        };
    }

    pub fn ack(&mut self, ack: u64) -> Result<(), Ending> {
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
}

/// Waits until either watch changes; `Err` once both senders are gone.
pub async fn either_changed(
    a: &mut tokio::sync::watch::Receiver<u64>,
    b: &mut tokio::sync::watch::Receiver<u64>,
) -> Result<(), tokio::sync::watch::error::RecvError> {
    tokio::select! {
        r = a.changed() => r,
        r = b.changed() => r,
    }
}
