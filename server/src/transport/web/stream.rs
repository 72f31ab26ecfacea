//! What the browser's sockets have in common: frames sent with a deadline
//! (pane, share-link viewer, dashboard), close codes with reasons, and the
//! flow-control window (pane and viewer).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use prost::Message as _;
use vtr_shared::web::{self, pane_event::Event};
use vtr_shared::{close, flow};

use crate::core::StreamEvent;

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
    send_frame(socket, web::PaneEvent { event: Some(event) }.encode_to_vec()).await
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
