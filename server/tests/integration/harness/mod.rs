//! Multi-process harness: real `vtr` processes on temporary sockets and
//! loopback ports, started and killed like a user would, and waits on
//! conditions with deadlines (never sleeps).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

mod hub;
mod process;
pub mod ws;

pub use hub::*;
pub use process::*;
use tokio_stream::StreamExt;
use vtr::transport::grpc::client::VtrClient;
use vtr_shared::proto as pb;

/// Deadline for any single condition; `VTR_TEST_TIMEOUT` (seconds) overrides.
pub fn timeout() -> Duration {
    std::env::var("VTR_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_secs)
}

/// A running `vtr spoke`, killed when dropped.
pub struct Spoke(Process);

impl std::ops::Deref for Spoke {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.0
    }
}

impl std::ops::DerefMut for Spoke {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.0
    }
}

impl Spoke {
    pub fn start() -> Spoke {
        Spoke::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Spoke {
        Spoke::start_named("test", extra)
    }

    pub fn start_named(name: &str, extra: &[&str]) -> Spoke {
        Spoke::start_full(name, extra, Launch::default())
    }

    /// As `start_with`, started as `launch` says.
    pub fn start_launched(extra: &[&str], launch: Launch) -> Spoke {
        Spoke::start_full("test", extra, launch)
    }

    fn start_full(name: &str, extra: &[&str], launch: Launch) -> Spoke {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("spoke.sock");
        let mut args = vec![
            "spoke".to_owned(),
            "--socket".to_owned(),
            socket.display().to_string(),
            "--name".to_owned(),
            name.to_owned(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Spoke(Process::start(dir, socket, args, launch))
    }

    /// The token file its TCP listener requires, if it has one.
    pub fn token_file(&self) -> Option<PathBuf> {
        self.ready
            .get("token_file")
            .filter(|p| *p != "-")
            .map(PathBuf::from)
    }

    /// An entry for a hub's configuration that dials this spoke, named
    /// `name` there, with its token.
    pub fn dial<'a>(&self, name: &'a str) -> Dial<'a> {
        Dial {
            name,
            url: self.url(),
            token_file: self.token_file(),
        }
    }

    /// `http://ADDR` of the TCP listener (started with `--listen`).
    pub fn url(&self) -> String {
        format!("http://{}", self.ready.get("grpc").expect("a TCP listener"))
    }

    /// Restarts on the TCP port it had (a hub dials a fixed address).
    pub fn restart_same_port(&mut self) {
        self.restart_on_same("grpc");
    }

    /// Runs the CLI against a socket where nothing listens.
    pub fn cli_without_spoke(socket: &Path, args: &[&str]) -> Output {
        let home = tempfile::tempdir().expect("temp dir");
        vtr(home.path())
            .arg("--socket")
            .arg(socket)
            .args(args)
            .output()
            .expect("run vtr")
    }
}

/// Writes a token file as a careful user would (mode 0600: a token file
/// others may read is refused).
pub fn write_token(path: &Path, token: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("token file");
    file.write_all(token.as_bytes()).expect("write token");
}

/// Polls `check` until it returns `Some`, failing after the deadline with
/// `what`. For conditions no event announces (e.g. a file's content).
pub async fn wait_until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Awaits `fut`, failing with `what` after the deadline.
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(timeout(), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next event of a stream, within the deadline.
pub async fn next_event<T>(stream: &mut tonic::Streaming<T>) -> T {
    within("the next stream event", stream.next())
        .await
        .expect("stream ended early")
        .expect("stream error")
}

pub fn spawn_request(name: &str, command: &str, args: &[&str]) -> pb::SpawnRequest {
    pb::SpawnRequest {
        name: name.to_owned(),
        command: command.to_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

pub async fn spawn(client: &mut VtrClient, name: &str, command: &str, args: &[&str]) {
    client
        .spawn(spawn_request(name, command, args))
        .await
        .expect("spawn");
}

/// Sends text and waits for output matching `pattern` caused by it.
pub async fn send_and_wait(
    client: &mut VtrClient,
    session: &str,
    text: &str,
    pattern: &str,
) -> String {
    let sent = client
        .send_text(pb::SendTextRequest {
            session: session.to_owned(),
            text: text.to_owned(),
            submit: true,
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    let m = client
        .wait_for(pb::WaitForRequest {
            session: session.to_owned(),
            pattern: pattern.to_owned(),
            timeout_ms: timeout().as_millis() as u64,
            from_offset: Some(sent.offset),
        })
        .await
        .expect("wait_for")
        .into_inner();
    assert_eq!(
        m.outcome,
        pb::WaitOutcome::Matched as i32,
        "no {pattern:?} after sending {text:?}"
    );
    m.line
}

pub async fn screen_lines(client: &mut VtrClient, session: &str) -> Vec<String> {
    client
        .get_screen(pb::SessionRequest {
            session: session.to_owned(),
        })
        .await
        .expect("screen")
        .into_inner()
        .lines
}

/// Waits until the screen satisfies `check`.
pub async fn wait_screen(
    client: &mut VtrClient,
    session: &str,
    what: &str,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let c = client.clone();
    wait_until(what, || {
        let mut c = c.clone();
        let session = session.to_owned();
        let check = &check;
        async move {
            let lines = screen_lines(&mut c, &session).await;
            check(&lines).then_some(lines)
        }
    })
    .await
}

/// Reads a Subscribe stream to its end (Exited), returning every event.
pub async fn collect_events(
    stream: &mut tonic::Streaming<pb::SubscribeEvent>,
) -> Vec<pb::subscribe_event::Event> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout();
    while let Some(item) = tokio::time::timeout_at(deadline, stream.next())
        .await
        .expect("stream ended in time")
    {
        let event = item.expect("stream item").event.expect("event set");
        let last = matches!(event, pb::subscribe_event::Event::Exited(_));
        events.push(event);
        if last {
            break;
        }
    }
    events
}

/// Waits for a session to exit (its stream's last event) and returns its info.
pub async fn wait_exit(client: &mut VtrClient, session: &str) -> pb::SessionInfo {
    let mut stream = client
        .subscribe(pb::SubscribeRequest {
            session: session.to_owned(),
            from_offset: None,
        })
        .await
        .expect("subscribe")
        .into_inner();
    let events = collect_events(&mut stream).await;
    assert!(
        matches!(events.last(), Some(pb::subscribe_event::Event::Exited(_))),
        "stream of {session} ended without Exited"
    );
    client
        .info(pb::SessionRequest {
            session: session.to_owned(),
        })
        .await
        .expect("info")
        .into_inner()
}
