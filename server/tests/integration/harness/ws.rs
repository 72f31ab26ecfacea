//! A WebSocket client of the hub's browser protocol (no browser).

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vtr_shared::web::{self, pane_event::Event};

use super::hub::Hub;
use super::within;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A socket on `path`, signed in with the hub's token as a program would.
pub async fn open(hub: &Hub, path: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}{path}", hub.url().replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", hub.token()).parse().expect("header"),
    );
    let (socket, _) = within(
        "WebSocket upgrade",
        tokio_tungstenite::connect_async(request),
    )
    .await
    .expect("WebSocket upgrade");
    socket
}

/// The next binary frame, decoded.
pub async fn next<M: prost::Message + Default>(socket: &mut Socket) -> M {
    loop {
        let frame = within("a WebSocket frame", socket.next())
            .await
            .expect("socket open")
            .expect("frame");
        if let Message::Binary(data) = frame {
            return M::decode(data).expect("decodable frame");
        }
    }
}

pub async fn pane_event(socket: &mut Socket) -> Event {
    next::<web::PaneEvent>(socket)
        .await
        .event
        .expect("an event")
}

pub async fn send(socket: &mut Socket, request: web::pane_request::Request) {
    let frame = web::PaneRequest {
        request: Some(request),
    }
    .encode_to_vec();
    socket
        .send(Message::Binary(frame.into()))
        .await
        .expect("send");
}

/// The close frame that ends the socket (frames before it are skipped).
pub async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        match within("a close frame", socket.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// The next stream event (presence and state events are skipped).
pub async fn stream_event(socket: &mut Socket) -> vtr_shared::proto::subscribe_event::Event {
    loop {
        if let Event::Stream(vtr_shared::proto::SubscribeEvent { event: Some(e) }) =
            pane_event(socket).await
        {
            return e;
        }
    }
}

/// The text a pane or viewer is sent (snapshots and output) until `want`
/// shows up.
pub async fn text_until(socket: &mut Socket, want: &str) -> String {
    let mut text = String::new();
    while !text.contains(want) {
        match stream_event(socket).await {
            vtr_shared::proto::subscribe_event::Event::Output(o) => {
                text.push_str(&String::from_utf8_lossy(&o.data));
            }
            vtr_shared::proto::subscribe_event::Event::Snapshot(s) => {
                text.push_str(&String::from_utf8_lossy(&s.screen));
            }
            _ => {}
        }
    }
    text
}
