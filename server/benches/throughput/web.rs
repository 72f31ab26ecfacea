//! The browser protocol through the hub: a headless WebSocket client on
//! `/ws/pane` (no browser), acknowledging stream bytes as soon as it has
//! read them, as a page that keeps up does (`vtr_shared::flow`).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vtr::transport::grpc::client::VtrClient;
use vtr_shared::flow;
use vtr_shared::proto::subscribe_event::Event;
use vtr_shared::web::{self, pane_event, pane_request::Request};

use crate::echo::EchoPath;
use crate::grpc::{GrpcThroughput, caught_up, remove, spawn_request};
use crate::{COOKED_ECHO, ECHO, GRPC_DEADLINE, PRODUCER};

/// One `/ws/pane` socket.
/// A hub's web port and the token it requires.
pub(crate) struct HubWeb {
    pub(crate) address: String,
    pub(crate) token: String,
}

impl HubWeb {
    /// From a hub's READY line (`listen=`, `token_file=`).
    pub(crate) fn of(hub: &crate::process::Process) -> anyhow::Result<Self> {
        let address = hub.field("listen").context("hub web address")?.to_owned();
        let file = hub.field("token_file").context("hub token file")?;
        let token = std::fs::read_to_string(file)
            .with_context(|| format!("reading {file}"))?
            .trim()
            .to_owned();
        Ok(HubWeb { address, token })
    }
}

pub(crate) struct WebPane {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Stream bytes read, and how many of them the hub has been told of.
    read: u64,
    acked: u64,
}

impl WebPane {
    /// Opens a pane on `session` at the hub's web address (`HOST:PORT`) and
    /// reads the session event the hub sends first.
    pub(crate) async fn open(
        hub: &HubWeb,
        session: &str,
        from: Option<u64>,
    ) -> anyhow::Result<Self> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let from = from.map_or_else(String::new, |offset| format!("&from={offset}"));
        let url = format!("ws://{}/ws/pane?session={session}{from}", hub.address);
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {}", hub.token).parse()?);
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .context("opening /ws/pane")?;
        let mut pane = Self {
            socket,
            read: 0,
            acked: 0,
        };
        match pane.next().await? {
            pane_event::Event::Session(_) => Ok(pane),
            other => bail!("expected the session first, got {other:?}"),
        }
    }

    async fn send(&mut self, request: Request) -> anyhow::Result<()> {
        let frame = web::PaneRequest {
            request: Some(request),
        }
        .encode_to_vec();
        self.socket
            .send(Message::Binary(frame.into()))
            .await
            .context("sending on /ws/pane")
    }

    async fn next(&mut self) -> anyhow::Result<pane_event::Event> {
        loop {
            let frame = match self.socket.next().await {
                Some(frame) => frame.context("reading /ws/pane")?,
                None => bail!("the hub closed /ws/pane"),
            };
            match frame {
                Message::Binary(data) => {
                    let event = web::PaneEvent::decode(data).context("an undecodable frame")?;
                    match event.event {
                        Some(pane_event::Event::Error(e)) => bail!("the hub says: {e}"),
                        Some(event) => return Ok(event),
                        None => {}
                    }
                }
                Message::Close(frame) => bail!("the hub closed /ws/pane: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next stream event; its bytes count as processed at once.
    pub(crate) async fn event(&mut self) -> anyhow::Result<Event> {
        loop {
            let pane_event::Event::Stream(stream) = self.next().await? else {
                continue;
            };
            let Some(event) = stream.event else { continue };
            self.read += match &event {
                Event::Output(out) => out.data.len() as u64,
                Event::Snapshot(snap) => snap.screen.len() as u64,
                _ => 0,
            };
            if self.read - self.acked >= flow::ACK_EVERY {
                self.acked = self.read;
                self.send(Request::Ack(self.read)).await?;
            }
            return Ok(event);
        }
    }

    pub(crate) async fn input(&mut self, data: &[u8]) -> anyhow::Result<()> {
        self.send(Request::Input(Bytes::copy_from_slice(data)))
            .await
    }
}

impl EchoPath for WebPane {
    async fn send_byte(&mut self, byte: u8) -> anyhow::Result<()> {
        self.input(&[byte]).await
    }

    async fn output(&mut self) -> anyhow::Result<Bytes> {
        loop {
            match self.event().await? {
                Event::Output(out) => return Ok(out.data),
                Event::Exited(_) => bail!("the echo session exited"),
                _ => {}
            }
        }
    }
}

/// The producer run through the hub, read on `/ws/pane` from offset 0.
pub(crate) async fn web_throughput(
    client: &mut VtrClient,
    hub: &HubWeb,
    name: &str,
    dir: &Path,
) -> anyhow::Result<GrpcThroughput> {
    client
        .spawn(spawn_request(name, PRODUCER, dir))
        .await
        .context("spawning the producer")?;
    let mut pane = WebPane::open(hub, name, Some(0)).await?;
    let start = Instant::now();
    pane.input(b"\n").await?;
    let mut result = GrpcThroughput::default();
    let mut next = 0u64;
    tokio::time::timeout(GRPC_DEADLINE, async {
        while !result.count(pane.event().await?, start, &mut next) {}
        anyhow::Ok(())
    })
    .await
    .context("the browser-protocol throughput run timed out")??;
    // The parser may still be behind; reading the screen catches it up, so
    // CPU measured around this run includes keeping the screen, and the
    // next run starts on quiet servers.
    caught_up(client, name).await?;
    result.screen_after = start.elapsed();
    remove(client, name).await;
    Ok(result)
}

/// An echo session read and typed into on `/ws/pane`.
pub(crate) async fn web_echo(
    client: &mut VtrClient,
    hub: &HubWeb,
    name: &str,
    dir: &Path,
) -> anyhow::Result<WebPane> {
    let mut pane = echo_pane(client, hub, name, dir, ECHO, None).await?;
    crate::echo::until_raw(&mut pane).await?;
    Ok(pane)
}

/// As [`web_echo`], for the cooked echo (`COOKED_ECHO`).
pub(crate) async fn web_echo_cooked(
    client: &mut VtrClient,
    hub: &HubWeb,
    name: &str,
    dir: &Path,
) -> anyhow::Result<WebPane> {
    // From offset 0: the ready check's echo comes as output, never folded
    // into an opening snapshot.
    let mut pane = echo_pane(client, hub, name, dir, COOKED_ECHO, Some(0)).await?;
    crate::echo::until_cooked(&mut pane).await?;
    Ok(pane)
}

/// Spawns `command` as `name` and opens a pane on it from `from`.
async fn echo_pane(
    client: &mut VtrClient,
    hub: &HubWeb,
    name: &str,
    dir: &Path,
    command: &str,
    from: Option<u64>,
) -> anyhow::Result<WebPane> {
    client
        .spawn(spawn_request(name, command, dir))
        .await
        .context("spawning the echo session")?;
    WebPane::open(hub, name, from).await
}
