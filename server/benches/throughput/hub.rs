//! The hub in the bench: a real `vtr hub` process dialling the bench's
//! spoke, and, for the merged-list scale test only, 200 lightweight fake
//! spokes (named as such: in-process gRPC servers that answer Describe,
//! List and WatchSessions with 25 canned sessions each and refuse the rest).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use vtr::core::error::Result;
use vtr::core::{
    Coordinator, Description, Events, GrepQuery, GrepResult, IdleResult, IdleWait, Input,
    ScreenState, SessionError, SessionSummary, SpawnSpec, Status, StreamEvent, WaitMatch,
};
use vtr::transport::grpc::client::{Target, VtrClient, connect};
use vtr_shared::proto::ListRequest;

use crate::process::Process;

pub(crate) const FAKE_SPOKES: usize = 200;
pub(crate) const FAKE_SESSIONS: usize = 25;
const LIST_CALLS: usize = 200;

/// Starts `vtr hub` (no embedded spoke) dialling `spokes` (name, URL).
pub(crate) fn start_hub(
    dir: &Path,
    tag: &str,
    spokes: &[(String, String, Option<String>)],
) -> anyhow::Result<Process> {
    let config = dir.join(format!("{tag}.toml"));
    let text: String = spokes
        .iter()
        .map(|(name, url, token_file)| {
            let token = token_file
                .as_ref()
                .map_or_else(String::new, |f| format!("token_file = {f:?}\n"));
            format!("[[federation.spokes]]\nname = {name:?}\naddress = {url:?}\n{token}")
        })
        .collect();
    std::fs::write(&config, text).context("writing the hub config")?;
    let socket = dir.join(format!("{tag}.sock"));
    let state = dir.join(format!("{tag}-state"));
    Process::start(
        dir,
        &[
            "--config",
            &config.display().to_string(),
            "hub",
            "--no-local-spoke",
            "--listen",
            "127.0.0.1:0",
            "--socket",
            &socket.display().to_string(),
            "--state-dir",
            &state.display().to_string(),
        ],
        socket,
    )
}

/// Waits until the hub lists `sessions` sessions; returns the client.
pub(crate) async fn hub_client(hub: &Process, sessions: usize) -> anyhow::Result<VtrClient> {
    let mut client = connect(&Target::Unix(hub.socket.clone())).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = client
            .list(ListRequest {})
            .await?
            .into_inner()
            .sessions
            .len();
        if n >= sessions {
            return Ok(client);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the hub lists {n} of {sessions} sessions after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Merged-list latency over `LIST_CALLS` calls, in microseconds.
pub(crate) async fn list_latency(client: &mut VtrClient) -> anyhow::Result<Vec<Duration>> {
    let mut lat = Vec::with_capacity(LIST_CALLS);
    for _ in 0..LIST_CALLS {
        let start = Instant::now();
        client.list(ListRequest {}).await.context("List")?;
        lat.push(start.elapsed());
    }
    Ok(lat)
}

/// Runs the fake spokes on their own runtime thread; their URLs.
pub(crate) fn start_fake_spokes() -> anyhow::Result<Vec<(String, String, Option<String>)>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("fake-spokes".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(anyhow::Error::new(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                let mut urls = Vec::new();
                for i in 0..FAKE_SPOKES {
                    match serve_fake(i).await {
                        Ok(url) => urls.push((format!("fake{i:03}"), url, None)),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                let _ = tx.send(Ok(urls));
                std::future::pending::<()>().await;
            });
        })?;
    rx.recv().context("the fake spokes thread")?
}

async fn serve_fake(i: usize) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let name = format!("fake{i:03}");
    let routes = vtr::transport::grpc::routes(Arc::new(FakeSpoke::new(name)), None, None).await?;
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    Ok(url)
}

/// A lightweight fake spoke for the scale test: canned sessions, no PTYs.
struct FakeSpoke {
    name: String,
    sessions: Vec<SessionSummary>,
}

impl FakeSpoke {
    fn new(name: String) -> Self {
        let sessions = (0..FAKE_SESSIONS)
            .map(|j| SessionSummary {
                id: format!("{name}-{j}"),
                name: format!("s{j}"),
                spoke: name.clone(),
                command: "/bin/sh".into(),
                args: vec![],
                cwd: "/".into(),
                cols: 80,
                rows: 24,
                status: Status::Running,
                exit: None,
                idle: true,
                created_at: SystemTime::now(),
                exited_at: None,
                last_output_at: None,
                output_offset: 0,
                pid: None,
                title: String::new(),
                subscribers: 0,
                stale: false,
                spoke_last_seen: None,
                created_by: String::new(),
                last_input_offset: Some(0),
                attention: 0,
                attention_text: String::new(),
                attention_at: None,
            })
            .collect();
        FakeSpoke { name, sessions }
    }
}

fn fake() -> SessionError {
    SessionError::invalid("a lightweight fake spoke (bench only) lists sessions and nothing else")
}

#[async_trait]
impl Coordinator for FakeSpoke {
    async fn describe(&self) -> Result<Description> {
        Ok(Description {
            name: self.name.clone(),
            version: "fake".into(),
            labels: vec![("fake".into(), "lightweight".into())],
            instance: self.name.clone(),
        })
    }
    async fn spawn(&self, _: SpawnSpec) -> Result<SessionSummary> {
        Err(fake())
    }
    async fn list(&self) -> Result<std::sync::Arc<[SessionSummary]>> {
        Ok(self.sessions.as_slice().into())
    }
    async fn watch_sessions(&self) -> Result<Events<Vec<SessionSummary>>> {
        let list = self.sessions.clone();
        Ok(Events::driven(1, |tx| async move {
            let _ = tx.send(list).await;
            tx.closed().await;
        }))
    }
    async fn info(&self, _: &str) -> Result<SessionSummary> {
        Err(fake())
    }
    async fn kill(&self, _: &str, _: &str) -> Result<()> {
        Err(fake())
    }
    async fn remove(&self, _: &str, _: bool) -> Result<()> {
        Err(fake())
    }
    async fn rename(&self, _: &str, _: &str) -> Result<SessionSummary> {
        Err(fake())
    }
    async fn resize(&self, _: &str, _: u32, _: u32) -> Result<SessionSummary> {
        Err(fake())
    }
    async fn screen(&self, _: &str) -> Result<ScreenState> {
        Err(fake())
    }
    async fn grep(&self, _: &str, _: &str, _: GrepQuery) -> Result<GrepResult> {
        Err(fake())
    }
    async fn send(&self, _: &str, _: Input) -> Result<u64> {
        Err(fake())
    }
    async fn wait_for(&self, _: &str, _: &str, _: u64, _: Option<u64>) -> Result<WaitMatch> {
        Err(fake())
    }
    async fn wait_idle(&self, _: &str, _: IdleWait) -> Result<IdleResult> {
        Err(fake())
    }
    async fn subscribe(&self, _: &str, _: Option<u64>) -> Result<Events<StreamEvent>> {
        Err(fake())
    }
    async fn record(&self, _: &str, _: bool) -> Result<Events<Bytes>> {
        Err(fake())
    }
    async fn commands(&self, _: &str, _: usize) -> Result<vtr::core::CommandList> {
        Err(fake())
    }
    async fn run(&self, _: &str, _: vtr::core::RunSpec) -> Result<vtr::core::RunResult> {
        Err(fake())
    }
}
