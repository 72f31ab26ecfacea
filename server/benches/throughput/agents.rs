//! An agent's round trip (`VTR_BENCH_ONLY=agents`): `run` of `true` in a
//! bash on a spoke tunnelled to a hub, timed 200 times through gRPC `Run`
//! on the hub's socket and 200 times as an MCP `tools/call` of `run` posted
//! to the hub's `/mcp` (HTTP/1.1 keep-alive, the hub's token as bearer),
//! then 200 times the same with a control grant for that session as the
//! bearer (the grant checked, the call audited). Prints p50 and p99 of each
//! in milliseconds.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vtr::transport::grpc::client::{Target, connect, connect_grants};
use vtr_shared::proto::{CreateGrantRequest, GrantScope, RunEnd, RunRequest, SpawnRequest};

use crate::process::{start_named_hub, start_tunnelled_spoke};
use crate::stats::percentiles;
use crate::web::HubWeb;

const RUNS: usize = 200;
const WARMUP: usize = 20;

pub(crate) struct AgentTimes {
    /// p50, p99 in milliseconds.
    pub(crate) grpc: (f64, f64),
    pub(crate) mcp: (f64, f64),
    pub(crate) granted: (f64, f64),
}

pub(crate) async fn agents(dir: &Path) -> anyhow::Result<AgentTimes> {
    let mut hub = start_named_hub(dir, "agt", &[])?;
    let mut spoke = start_tunnelled_spoke(dir, "tun", &hub)?;
    let mut client = connect(&Target::Unix(hub.socket.clone())).await?;
    let spawn = SpawnRequest {
        name: "tun:agent".into(),
        command: "bash".into(),
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.spawn(spawn.clone()).await.is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the tunnelled spoke never joined"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let run = RunRequest {
        session: "tun:agent".into(),
        command: "true".into(),
        timeout_ms: 10_000,
        ..Default::default()
    };
    let mut grpc = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let started = Instant::now();
        let r = client.run(run.clone()).await?.into_inner();
        anyhow::ensure!(r.end() == RunEnd::Finished, "run {i}: {}", r.reason);
        if i >= WARMUP {
            grpc.push(started.elapsed());
        }
    }
    let web = HubWeb::of(&hub)?;
    let mut posted = mcp_runs(&mut Mcp::connect(&web, &web.token).await?).await?;
    let grant = connect_grants(&Target::Unix(hub.socket.clone()))
        .await?
        .create_grant(CreateGrantRequest {
            scope: GrantScope::Control as i32,
            sessions: vec!["tun:agent".into()],
            ttl_seconds: 3600,
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut granted = mcp_runs(&mut Mcp::connect(&web, &grant.token).await?).await?;
    hub.stop();
    spoke.stop();
    let ms = |(p50, p99): (f64, f64)| (p50 / 1000.0, p99 / 1000.0);
    Ok(AgentTimes {
        grpc: ms(percentiles(&mut grpc)),
        mcp: ms(percentiles(&mut posted)),
        granted: ms(percentiles(&mut granted)),
    })
}

/// `RUNS` timed MCP runs of `true` (after a warm-up).
async fn mcp_runs(mcp: &mut Mcp) -> anyhow::Result<Vec<Duration>> {
    let mut posted = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let started = Instant::now();
        let answer = mcp.run_true(i).await?;
        anyhow::ensure!(
            answer.contains(r#"\"exit_code\":0,"#),
            "MCP run {i}: {answer}"
        );
        if i >= WARMUP {
            posted.push(started.elapsed());
        }
    }
    Ok(posted)
}

/// A keep-alive HTTP/1.1 connection to the hub's `/mcp`.
struct Mcp {
    stream: BufReader<TcpStream>,
    address: String,
    token: String,
}

impl Mcp {
    /// With `token` as the bearer (the hub's, or a grant's).
    async fn connect(web: &HubWeb, token: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(&web.address).await?;
        stream.set_nodelay(true)?;
        Ok(Mcp {
            stream: BufReader::new(stream),
            address: web.address.clone(),
            token: token.to_owned(),
        })
    }

    /// One stateless `tools/call` of `run` with `true`: the answer's body.
    async fn run_true(&mut self, id: usize) -> anyhow::Result<String> {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"run","arguments":{{"session":"tun:agent","command":"true"}}}}}}"#
        );
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
             MCP-Protocol-Version: 2025-11-25\r\nContent-Length: {}\r\n\r\n{body}",
            self.address,
            self.token,
            body.len()
        );
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut length = None;
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>()?);
            }
        }
        let mut body = vec![0; length.context("an answer without content-length")?];
        self.stream.read_exact(&mut body).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}
