//! The hub at scale with real processes (`VTR_BENCH_ONLY=scale`): a hub
//! with no embedded spoke, `VTR_SCALE_SPOKES` (default 100) real `vtr
//! spoke` processes tunnelled to it with 25 idle sessions each (`cat`),
//! then:
//!
//! - one idle dashboard (`/ws/dashboard`, no browser): pushes and bytes per
//!   second over 10 s while nothing changes, then what it is sent when one
//!   session is spawned;
//! - 20 idle dashboards: the hub's CPU and RSS over 10 s, and its RSS
//!   once they have closed;
//! - merged `List` p50/p99 over 200 calls.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use vtr_shared::proto::ListRequest;

use crate::grpc::spawn_request;
use crate::hub::hub_client;
use crate::process::{cpu_seconds, memory_mib, start_named_hub, start_tunnelled_spoke};
use crate::stats::percentiles;
use crate::web::HubWeb;

const SESSIONS_PER_SPOKE: usize = 25;
const WINDOW: Duration = Duration::from_secs(10);
const DASHBOARDS: usize = 20;

pub(crate) struct Scale {
    pub(crate) spokes: usize,
    pub(crate) sessions: usize,
    /// A new dashboard's first push and previews: frames, seconds.
    pub(crate) fill_frames: u64,
    pub(crate) fill_secs: f64,
    /// One idle dashboard: pushes and bytes per second.
    pub(crate) idle_pushes: f64,
    pub(crate) idle_bytes: f64,
    /// One session spawned: frames and bytes that dashboard is sent.
    pub(crate) change_frames: u64,
    pub(crate) change_bytes: u64,
    /// Twenty idle dashboards: hub CPU (% of a core) and RSS (MiB).
    pub(crate) many_cpu: f64,
    pub(crate) many_rss: f64,
    /// Hub RSS before the dashboards opened and after they closed.
    pub(crate) rss_before: f64,
    pub(crate) rss_after: f64,
    pub(crate) list_p50_ms: f64,
    pub(crate) list_p99_ms: f64,
}

pub(crate) async fn scale(dir: &Path) -> anyhow::Result<Scale> {
    let spokes: usize = std::env::var("VTR_SCALE_SPOKES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let hub = start_named_hub(dir, "scale", &["--no-local-spoke"])?;
    let procs = (0..spokes)
        .map(|i| start_tunnelled_spoke(dir, &format!("s{i:03}"), &hub))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut client = hub_client(&hub, 0).await?;
    let sessions = spokes * SESSIONS_PER_SPOKE;
    for i in 0..spokes {
        for j in 0..SESSIONS_PER_SPOKE {
            let name = format!("s{i:03}:idle{j}");
            let deadline = Instant::now() + Duration::from_secs(60);
            // A spoke counts once it has joined: retry until it has.
            while let Err(e) = client.spawn(spawn_request(&name, "exec cat", dir)).await {
                anyhow::ensure!(Instant::now() < deadline, "spawning {name}: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let mut client = hub_client(&hub, sessions).await?;
    // Let spawning's changes settle (idle flips come 5 s after output).
    tokio::time::sleep(Duration::from_secs(7)).await;

    let web = HubWeb::of(&hub)?;
    let pid = hub.child.id();
    let rss_before = memory_mib(pid, "VmRSS").unwrap_or_default();

    // One idle dashboard.
    let mut one = Dashboard::open(&web).await?;
    // Previews are taken at 32 a second (`web/previews.rs`): the first
    // dashboard's fill takes sessions / 32 seconds.
    let rest_within = Duration::from_secs(60 + sessions as u64 / 32);
    let (fill_frames, fill_secs) = one.first(rest_within).await?;
    let (pushes, bytes) = one.count_for(WINDOW).await?;
    // One session more: what an idle dashboard is sent for it (the push,
    // and its card's preview).
    client
        .spawn(spawn_request("s000:extra", "exec cat", dir))
        .await
        .context("spawning s000:extra")?;
    let (change_frames, change_bytes) = one.count_for(Duration::from_secs(3)).await?;
    drop(one);

    // Twenty idle dashboards.
    let mut many = Vec::with_capacity(DASHBOARDS);
    for _ in 0..DASHBOARDS {
        let mut d = Dashboard::open(&web).await?;
        d.first(rest_within).await?;
        many.push(d);
    }
    let cpu_before = cpu_seconds(pid).context("hub CPU")?;
    let started = Instant::now();
    let counting = many.iter_mut().map(|d| d.count_for(WINDOW));
    for result in futures_util::future::join_all(counting).await {
        result?;
    }
    let many_cpu = (cpu_seconds(pid).context("hub CPU")? - cpu_before)
        / started.elapsed().as_secs_f64()
        * 100.0;
    let many_rss = memory_mib(pid, "VmRSS").unwrap_or_default();
    drop(many);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = memory_mib(pid, "VmRSS").unwrap_or_default();

    let mut lat = Vec::with_capacity(200);
    for _ in 0..200 {
        let start = Instant::now();
        client.list(ListRequest {}).await.context("List")?;
        lat.push(start.elapsed());
    }
    let (p50, p99) = percentiles(&mut lat);
    drop(procs);
    drop(hub);
    Ok(Scale {
        spokes,
        sessions,
        fill_frames,
        fill_secs,
        idle_pushes: pushes as f64 / WINDOW.as_secs_f64(),
        idle_bytes: bytes as f64 / WINDOW.as_secs_f64(),
        change_frames,
        change_bytes,
        many_cpu,
        many_rss,
        rss_before,
        rss_after,
        list_p50_ms: p50 / 1000.0,
        list_p99_ms: p99 / 1000.0,
    })
}

struct Dashboard {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Dashboard {
    async fn open(hub: &HubWeb) -> anyhow::Result<Self> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/ws/dashboard", hub.address).into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {}", hub.token).parse()?);
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .context("opening /ws/dashboard")?;
        Ok(Dashboard { socket })
    }

    /// The first push (the whole dashboard), then the previews a new tab
    /// is sent (a batch a second), until two seconds pass without a frame:
    /// what follows is the dashboard at rest. Frames and seconds taken.
    async fn first(&mut self, within: Duration) -> anyhow::Result<(u64, f64)> {
        let started = Instant::now();
        self.socket.next().await.context("the dashboard closed")??;
        let mut frames = 1;
        loop {
            let (n, _) = self.count_for(Duration::from_secs(2)).await?;
            if n == 0 {
                return Ok((frames, started.elapsed().as_secs_f64() - 2.0));
            }
            frames += n;
            anyhow::ensure!(
                started.elapsed() < within,
                "the dashboard never came to rest"
            );
        }
    }

    /// Frames and bytes received over `window`.
    async fn count_for(&mut self, window: Duration) -> anyhow::Result<(u64, u64)> {
        let (mut frames, mut bytes) = (0, 0);
        let until = tokio::time::Instant::now() + window;
        while let Ok(frame) = tokio::time::timeout_at(until, self.socket.next()).await {
            match frame.context("the dashboard closed")?? {
                Message::Binary(data) => {
                    frames += 1;
                    bytes += data.len() as u64;
                }
                Message::Close(_) => anyhow::bail!("the dashboard closed"),
                _ => {}
            }
        }
        Ok((frames, bytes))
    }
}
