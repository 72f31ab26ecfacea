//! Keystroke echo through a spoke, with input on two paths: the `Attach`
//! stream (what interactive clients use) and unary `SendBytes` beside a
//! `Subscribe` stream.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use vtr::transport::grpc::client::VtrClient;
use vtr_shared::proto::{
    AttachRequest, SendBytesRequest, SubscribeEvent, SubscribeRequest, attach_request,
    subscribe_event::Event,
};

use crate::grpc::{remove, spawn_request};
use crate::{COOKED_SYNC, ECHO, GRPC_DEADLINE, PROBE, READY_DEADLINE, SYNC};

/// A way to type into an echo session and read its output.
pub(crate) trait EchoPath {
    async fn send_byte(&mut self, byte: u8) -> anyhow::Result<()>;
    /// The data of the next `Output` event.
    async fn output(&mut self) -> anyhow::Result<bytes::Bytes>;
}

/// Waits until `cat` echoes verbatim (`stty raw` took effect), then until
/// everything sent before is through.
pub(crate) async fn until_raw(path: &mut impl EchoPath) -> anyhow::Result<()> {
    tokio::time::timeout(READY_DEADLINE, async {
        let mut seen = Vec::new();
        loop {
            path.send_byte(PROBE).await?;
            seen.extend_from_slice(&path.output().await?);
            if seen.contains(&PROBE) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        path.send_byte(SYNC).await?;
        while !path.output().await?.contains(&SYNC) {}
        anyhow::Ok(())
    })
    .await
    .context("echo: `stty raw` never took effect")?
}

/// Until a cooked session echoes: one printable byte back.
pub(crate) async fn until_cooked(path: &mut impl EchoPath) -> anyhow::Result<()> {
    tokio::time::timeout(READY_DEADLINE, async {
        path.send_byte(COOKED_SYNC).await?;
        while !path.output().await?.contains(&COOKED_SYNC) {}
        anyhow::Ok(())
    })
    .await
    .context("echo: the cooked session never echoed")?
}

/// Times `iterations` round trips on `path`: from sending a byte until its
/// echo arrives.
pub(crate) async fn round_trips(
    path: &mut impl EchoPath,
    iterations: usize,
    latencies: &mut Vec<Duration>,
) -> anyhow::Result<()> {
    for byte in (b'a'..=b'z').cycle().take(iterations) {
        let start = Instant::now();
        let elapsed = tokio::time::timeout(GRPC_DEADLINE, async {
            path.send_byte(byte).await?;
            while !path.output().await?.contains(&byte) {}
            anyhow::Ok(start.elapsed())
        })
        .await
        .context("echo timed out")??;
        latencies.push(elapsed);
    }
    Ok(())
}

/// How a byte reaches the session.
pub(crate) enum Input {
    /// Requests on the open `Attach` stream.
    Attach(mpsc::Sender<AttachRequest>),
    /// One unary `SendBytes` per byte.
    Unary,
}

/// An echo session (`stty raw -echo; exec cat`) and the stream its output
/// comes back on.
pub(crate) struct GrpcEcho {
    client: VtrClient,
    input: Input,
    stream: tonic::Streaming<SubscribeEvent>,
    name: String,
}

impl GrpcEcho {
    /// Spawns the session and waits until `cat` echoes verbatim.
    pub(crate) async fn start(
        client: &mut VtrClient,
        name: &str,
        dir: &Path,
        attach: bool,
    ) -> anyhow::Result<Self> {
        client
            .spawn(spawn_request(name, ECHO, dir))
            .await
            .context("spawning the echo session")?;
        let open = SubscribeRequest {
            session: name.to_owned(),
            from_offset: None,
        };
        let (input, stream) = if attach {
            let (tx, rx) = mpsc::channel(16);
            tx.send(AttachRequest {
                request: Some(attach_request::Request::Open(open)),
            })
            .await
            .context("queueing `open`")?;
            let stream = client
                .attach(ReceiverStream::new(rx))
                .await
                .context("attaching to the echo session")?
                .into_inner();
            (Input::Attach(tx), stream)
        } else {
            let stream = client
                .subscribe(open)
                .await
                .context("subscribing to the echo session")?
                .into_inner();
            (Input::Unary, stream)
        };
        let mut echo = Self {
            client: client.clone(),
            input,
            stream,
            name: name.to_owned(),
        };
        until_raw(&mut echo).await?;
        Ok(echo)
    }

    /// Times `iterations` round trips: from sending a byte until its echo
    /// arrives. With unary input, sending and waiting overlap, as a client
    /// typing would.
    pub(crate) async fn run(
        &mut self,
        iterations: usize,
        latencies: &mut Vec<Duration>,
    ) -> anyhow::Result<()> {
        if let Input::Attach(_) = self.input {
            return round_trips(self, iterations, latencies).await;
        }
        for byte in (b'a'..=b'z').cycle().take(iterations) {
            let start = Instant::now();
            let request = SendBytesRequest {
                session: self.name.clone(),
                data: bytes::Bytes::copy_from_slice(&[byte]),
                ..Default::default()
            };
            let mut client = self.client.clone();
            let elapsed = tokio::time::timeout(GRPC_DEADLINE, async {
                let send = client.send_bytes(request);
                let wait = async {
                    while !self.output().await?.contains(&byte) {}
                    anyhow::Ok(())
                };
                let (sent, echoed) = tokio::join!(send, wait);
                sent.context("SendBytes")?;
                echoed?;
                anyhow::Ok(start.elapsed())
            })
            .await
            .context("gRPC echo timed out")??;
            latencies.push(elapsed);
        }
        Ok(())
    }

    pub(crate) async fn stop(mut self) {
        let name = self.name.clone();
        // Closing the Attach stream's input side first.
        self.input = Input::Unary;
        remove(&mut self.client, &name).await;
    }
}

impl EchoPath for GrpcEcho {
    async fn send_byte(&mut self, byte: u8) -> anyhow::Result<()> {
        let data = bytes::Bytes::copy_from_slice(&[byte]);
        match &self.input {
            Input::Attach(tx) => tx
                .send(AttachRequest {
                    request: Some(attach_request::Request::Input(data)),
                })
                .await
                .context("the Attach stream closed")?,
            Input::Unary => {
                self.client
                    .send_bytes(SendBytesRequest {
                        session: self.name.clone(),
                        data,
                        ..Default::default()
                    })
                    .await
                    .context("SendBytes")?;
            }
        }
        Ok(())
    }

    async fn output(&mut self) -> anyhow::Result<bytes::Bytes> {
        loop {
            let Some(event) = self.stream.message().await? else {
                bail!("the subscribe stream ended");
            };
            match event.event {
                Some(Event::Output(out)) => return Ok(out.data),
                Some(Event::Exited(_)) => bail!("the echo session exited"),
                _ => {}
            }
        }
    }
}
