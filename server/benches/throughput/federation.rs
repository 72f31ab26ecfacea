//! The federation's table, in one run: the bare PTY next to a session on
//! a hub's embedded spoke and one on a tunnelled spoke, both read and
//! typed into on the hub's browser protocol (`/ws/pane`, the page's own
//! path). Per configuration: output MB/s for the 64 MiB producer, keystroke
//! echo p50/p99 (`stty raw; cat`, then cooked `cat`), the servers' CPU per forwarded MB
//! (until the screen has caught up: keeping the terminal state is part of
//! the cost) and their peak RSS during the flood (hub, plus the spoke when
//! tunnelled). `VTR_PARSE_BACKLOG` (in the environment) sets the servers'
//! `--parse-backlog`.
//! Rounds rotate the order so no configuration always runs first.

use std::path::Path;
use std::time::{Duration, Instant};

use vtr::transport::grpc::client::{Target, VtrClient, connect};

use crate::echo::round_trips;
use crate::grpc::{GrpcThroughput, remove, spawn_request};
use crate::process::{Process, cpu_seconds, memory_mib, start_named_hub, start_tunnelled_spoke};
use crate::raw::{RawEcho, raw_throughput};
use crate::stats::{median, percentiles};
use crate::web::{HubWeb, WebPane, web_echo, web_echo_cooked, web_throughput};
use crate::{ECHO, ECHO_BLOCK, ECHO_ITERATIONS, ECHO_WARMUP, ROUNDS};

/// One configuration's figures.
#[derive(Default)]
pub(crate) struct Row {
    pub(crate) rates: Vec<f64>,
    /// Server CPU, % of one core per MB/s forwarded (CPU seconds per MB).
    pub(crate) cpu_per_mb: Vec<f64>,
    /// Peak RSS of the servers during a flood, MiB (summed over them).
    pub(crate) peak_rss: Vec<f64>,
    pub(crate) echo: Vec<Duration>,
    /// The same in cooked mode.
    pub(crate) echo_cooked: Vec<Duration>,
    pub(crate) resyncs: u64,
}

impl Row {
    pub(crate) fn rate(&mut self) -> f64 {
        median(&mut self.rates)
    }

    pub(crate) fn cpu_per_mb(&mut self) -> f64 {
        median(&mut self.cpu_per_mb)
    }

    pub(crate) fn peak_rss(&self) -> f64 {
        self.peak_rss.iter().copied().fold(0.0, f64::max)
    }

    /// Raw or cooked echo round trips.
    fn echo_samples(&mut self, cooked: bool) -> &mut Vec<Duration> {
        if cooked {
            &mut self.echo_cooked
        } else {
            &mut self.echo
        }
    }

    /// p50, p99 in microseconds.
    pub(crate) fn echo(&mut self) -> (f64, f64) {
        percentiles(&mut self.echo)
    }
}

pub(crate) struct Table {
    pub(crate) pty: Row,
    pub(crate) embedded: Row,
    pub(crate) tunnelled: Row,
}

/// A hub with its embedded spoke, and a spoke tunnelled to it.
struct Federation {
    hub: Process,
    spoke: Process,
    client: VtrClient,
    web: HubWeb,
}

impl Federation {
    async fn start(dir: &Path) -> anyhow::Result<Self> {
        let hub = start_named_hub(dir, "fed", &[])?;
        let spoke = start_tunnelled_spoke(dir, "tun", &hub)?;
        let mut client = connect(&Target::Unix(hub.socket.clone())).await?;
        // Joined once a session can be spawned on it.
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .spawn(spawn_request("tun:joined", ECHO, dir))
            .await
            .is_err()
        {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the tunnelled spoke never joined"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        remove(&mut client, "tun:joined").await;
        let web = HubWeb::of(&hub)?;
        Ok(Federation {
            hub,
            spoke,
            client,
            web,
        })
    }

    /// The servers a configuration runs on.
    fn pids(&self, tunnelled: bool) -> Vec<u32> {
        let mut pids = vec![self.hub.child.id()];
        if tunnelled {
            pids.push(self.spoke.child.id());
        }
        pids
    }

    /// The producer on `session`, through the browser protocol, with the
    /// servers' CPU and peak RSS meanwhile.
    async fn flood(
        &mut self,
        session: &str,
        pids: &[u32],
        dir: &Path,
        row: &mut Row,
    ) -> anyhow::Result<GrpcThroughput> {
        for &pid in pids {
            reset_peak_rss(pid);
        }
        let cpu_before: f64 = pids.iter().filter_map(|&p| cpu_seconds(p)).sum();
        let run = web_throughput(&mut self.client, &self.web, session, dir).await?;
        let cpu: f64 = pids.iter().filter_map(|&p| cpu_seconds(p)).sum::<f64>() - cpu_before;
        let peak: f64 = pids.iter().filter_map(|&p| memory_mib(p, "VmHWM")).sum();
        row.rates.push(run.mb_per_s());
        row.cpu_per_mb
            .push(cpu * 100.0 / (run.bytes as f64 / 1e6).max(f64::MIN_POSITIVE));
        row.peak_rss.push(peak);
        row.resyncs += run.resyncs + run.gaps;
        Ok(run)
    }
}

pub(crate) async fn table(dir: &Path) -> anyhow::Result<Table> {
    let mut fed = Federation::start(dir).await?;
    let mut table = Table {
        pty: Row::default(),
        embedded: Row::default(),
        tunnelled: Row::default(),
    };
    for round in 0..ROUNDS {
        for turn in 0..3 {
            match (round + turn) % 3 {
                0 => {
                    let raw = raw_throughput(dir)?;
                    table.pty.rates.push(raw.mb_per_s());
                }
                1 => {
                    let pids = fed.pids(false);
                    let name = format!("fed:flood{round}");
                    fed.flood(&name, &pids, dir, &mut table.embedded).await?;
                }
                _ => {
                    let pids = fed.pids(true);
                    let name = format!("tun:flood{round}");
                    fed.flood(&name, &pids, dir, &mut table.tunnelled).await?;
                }
            }
        }
    }

    echo_rows(&mut fed, dir, false, &mut table).await?;
    echo_rows(&mut fed, dir, true, &mut table).await?;
    fed.spoke.stop();
    fed.hub.stop();
    Ok(table)
}

/// Echo round trips, raw or cooked, on the bare PTY and through both
/// configurations, alternating in blocks.
async fn echo_rows(
    fed: &mut Federation,
    dir: &Path,
    cooked: bool,
    table: &mut Table,
) -> anyhow::Result<()> {
    let (mut raw, kind) = if cooked {
        (RawEcho::start_cooked(dir)?, "cooked")
    } else {
        (RawEcho::start(dir)?, "echo")
    };
    let mut embedded = echo_pane(fed, &format!("fed:{kind}"), dir, cooked).await?;
    let mut tunnelled = echo_pane(fed, &format!("tun:{kind}"), dir, cooked).await?;
    raw.run(ECHO_WARMUP, &mut Vec::new())?;
    round_trips(&mut embedded, ECHO_WARMUP, &mut Vec::new()).await?;
    round_trips(&mut tunnelled, ECHO_WARMUP, &mut Vec::new()).await?;
    while table.pty.echo_samples(cooked).len() < ECHO_ITERATIONS {
        let n = ECHO_BLOCK.min(ECHO_ITERATIONS - table.pty.echo_samples(cooked).len());
        raw.run(n, table.pty.echo_samples(cooked))?;
        round_trips(&mut embedded, n, table.embedded.echo_samples(cooked)).await?;
        round_trips(&mut tunnelled, n, table.tunnelled.echo_samples(cooked)).await?;
    }
    Ok(())
}

async fn echo_pane(
    fed: &mut Federation,
    name: &str,
    dir: &Path,
    cooked: bool,
) -> anyhow::Result<WebPane> {
    if cooked {
        web_echo_cooked(&mut fed.client, &fed.web, name, dir).await
    } else {
        web_echo(&mut fed.client, &fed.web, name, dir).await
    }
}

/// Starts a new peak for `VmHWM` (Linux: `5` to `clear_refs`).
fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}
