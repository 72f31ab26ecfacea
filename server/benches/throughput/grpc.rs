//! Output throughput through a spoke's `Subscribe`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use vtr::transport::grpc::client::VtrClient;
use vtr_shared::proto::{
    RemoveRequest, SendTextRequest, SessionRequest, SnapshotReason, SpawnRequest, SubscribeRequest,
    subscribe_event::Event,
};

use crate::raw::Throughput;
use crate::{COLS, GRPC_DEADLINE, PRODUCER, ROWS};

#[derive(Default)]
pub(crate) struct GrpcThroughput {
    pub(crate) bytes: u64,
    pub(crate) elapsed: Duration,
    pub(crate) events: u64,
    pub(crate) resyncs: u64,
    pub(crate) gaps: u64,
    pub(crate) skipped: u64,
    pub(crate) exit: String,
    /// From the start line to the `Exited` event (after the last byte).
    pub(crate) exit_after: Duration,
    /// From the start line until GetScreen answered (the parser caught up).
    pub(crate) screen_after: Duration,
}

impl GrpcThroughput {
    /// Counts one stream event (`next`: the offset the stream should go
    /// on from); true at `Exited`, the last.
    pub(crate) fn count(&mut self, event: Event, start: Instant, next: &mut u64) -> bool {
        match event {
            Event::Output(out) => {
                if out.offset != *next {
                    self.gaps += 1;
                    self.skipped += out.offset.saturating_sub(*next);
                }
                *next = out.offset + out.data.len() as u64;
                self.bytes += out.data.len() as u64;
                self.events += 1;
                // The clock stops at the last byte, as for the raw PTY.
                self.elapsed = start.elapsed();
            }
            Event::Snapshot(snap) => {
                if snap.reason == SnapshotReason::Resync as i32 {
                    self.resyncs += 1;
                    self.skipped += snap.offset.saturating_sub(*next);
                }
                *next = snap.offset;
            }
            Event::Exited(exited) => {
                self.exit_after = start.elapsed();
                self.exit = match exited.exit_code {
                    Some(code) => format!("code {code}"),
                    None => format!("signal {}", exited.signal),
                };
                return true;
            }
            Event::Resized(_) | Event::Idle(_) => {}
        }
        false
    }

    pub(crate) fn mb_per_s(&self) -> f64 {
        Throughput {
            bytes: self.bytes,
            elapsed: self.elapsed,
        }
        .mb_per_s()
    }
}

pub(crate) fn spawn_request(name: &str, script: &str, dir: &Path) -> SpawnRequest {
    SpawnRequest {
        name: name.to_owned(),
        command: "sh".to_owned(),
        args: vec!["-c".to_owned(), script.to_owned()],
        cwd: dir.display().to_string(),
        env: vec![],
        cols: u32::from(COLS),
        rows: u32::from(ROWS),
        spoke: String::new(),
        created_by: "bench".to_owned(),
        no_shell_integration: false,
    }
}

pub(crate) async fn grpc_throughput(
    client: &mut VtrClient,
    name: &str,
    dir: &Path,
) -> anyhow::Result<GrpcThroughput> {
    client
        .spawn(spawn_request(name, PRODUCER, dir))
        .await
        .context("spawning the producer")?;
    let mut stream = client
        .subscribe(SubscribeRequest {
            session: name.to_owned(),
            from_offset: Some(0),
        })
        .await
        .context("subscribing")?
        .into_inner();
    let mut sender = client.clone();
    let start = Instant::now();
    let send = sender.send_text(SendTextRequest {
        session: name.to_owned(),
        text: "\n".to_owned(),
        submit: false,
        ..Default::default()
    });
    let consume = async {
        let mut result = GrpcThroughput::default();
        let mut next = 0u64;
        while let Some(event) = stream.message().await? {
            if let Some(event) = event.event
                && result.count(event, start, &mut next)
            {
                return Ok(result);
            }
        }
        bail!("the subscribe stream ended without an Exited event")
    };
    let (sent, consumed) =
        tokio::time::timeout(GRPC_DEADLINE, async { tokio::join!(send, consume) })
            .await
            .context("the spoke throughput run timed out")?;
    sent.context("sending the start line")?;
    let mut result = consumed?;
    // The parser may still be behind; reading the screen catches it up, so
    // the next round starts on a quiet spoke.
    caught_up(client, name).await?;
    result.screen_after = start.elapsed();
    remove(client, name).await;
    Ok(result)
}

/// Reads the producer's screen (which catches its parser up) and checks
/// that it shows the producer's output.
pub(crate) async fn caught_up(client: &mut VtrClient, name: &str) -> anyhow::Result<()> {
    let screen = client
        .get_screen(SessionRequest {
            session: name.to_owned(),
        })
        .await
        .context("GetScreen after the run")?
        .into_inner();
    if !screen.lines.iter().any(|line| line.contains("lazy dog")) {
        bail!("the final screen does not show the producer's output");
    }
    Ok(())
}

pub(crate) async fn remove(client: &mut VtrClient, name: &str) {
    let request = RemoveRequest {
        session: name.to_owned(),
        force: true,
    };
    if let Err(e) = client.remove(request).await {
        println!("removing session {name}: {e}");
    }
}
