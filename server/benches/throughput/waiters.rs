//! What `WaitFor` costs a busy spoke: the spoke's CPU while N calls wait
//! on a pattern that never matches, on a session printing about 1 MB/s,
//! for N = 0, 1 and 20.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use vtr::transport::grpc::client::VtrClient;
use vtr_shared::proto::{SessionRequest, WaitForRequest};

use crate::grpc::{remove, spawn_request};
use crate::process::cpu_seconds;

/// About 1 MB/s in small writes, as a chatty build prints: 1,000-byte
/// lines, a thousand a second at most (perl is in every Debian).
const PRINTER: &str =
    r#"perl -e '$|=1; while (1) { print "x" x 999, "\n"; select(undef, undef, undef, 0.001) }'"#;
/// How long each count of waiters waits.
const WINDOW: Duration = Duration::from_secs(5);
pub(crate) const COUNTS: [usize; 3] = [0, 1, 20];

pub(crate) struct WaiterCost {
    pub(crate) waiters: usize,
    /// Spoke CPU, percent of one core.
    pub(crate) cpu_percent: f64,
    /// The session's output rate meanwhile.
    pub(crate) mb_per_s: f64,
}

pub(crate) async fn waiter_cost(
    client: &mut VtrClient,
    spoke_pid: u32,
    dir: &Path,
) -> anyhow::Result<Vec<WaiterCost>> {
    let name = "waiters";
    client
        .spawn(spawn_request(name, PRINTER, dir))
        .await
        .context("spawning the printer")?;
    let mut costs = Vec::new();
    for waiters in COUNTS {
        let offset = output_offset(client, name).await?;
        let cpu_before = cpu_seconds(spoke_pid).context("reading the spoke's CPU time")?;
        let started = Instant::now();
        let calls: Vec<_> = (0..waiters)
            .map(|_| {
                let mut client = client.clone();
                tokio::spawn(async move {
                    client
                        .wait_for(WaitForRequest {
                            session: name.to_owned(),
                            pattern: "never-[0-9]{40}".to_owned(),
                            timeout_ms: WINDOW.as_millis() as u64,
                            from_offset: None,
                        })
                        .await
                })
            })
            .collect();
        if calls.is_empty() {
            tokio::time::sleep(WINDOW).await;
        }
        for call in calls {
            call.await.context("waiter task")?.context("WaitFor")?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(spoke_pid).context("reading the spoke's CPU time")? - cpu_before;
        let bytes = output_offset(client, name).await? - offset;
        costs.push(WaiterCost {
            waiters,
            cpu_percent: cpu / elapsed * 100.0,
            mb_per_s: bytes as f64 / elapsed / 1e6,
        });
    }
    remove(client, name).await;
    Ok(costs)
}

async fn output_offset(client: &mut VtrClient, name: &str) -> anyhow::Result<u64> {
    let info = client
        .info(SessionRequest {
            session: name.to_owned(),
        })
        .await
        .context("Info")?
        .into_inner();
    Ok(info.output_offset)
}
