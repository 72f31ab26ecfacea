//! Multi-process harness: real `vtr` processes on temporary sockets and
//! loopback ports, started and killed like a user would, and waits on
//! conditions with deadlines (never sleeps).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod hub;
pub mod ws;

pub use hub::*;
use tokio_stream::StreamExt;
use vtr::transport::grpc::client::{self, Target, VtrClient};
use vtr_shared::proto as pb;

/// Deadline for any single condition; `VTR_TEST_TIMEOUT` (seconds) overrides.
pub fn timeout() -> Duration {
    std::env::var("VTR_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_secs)
}

pub fn vtr_bin() -> &'static str {
    env!("CARGO_BIN_EXE_vtr")
}

/// A READY line's `key=value` fields.
#[derive(Debug, Clone, Default)]
pub struct Ready {
    pub fields: Vec<(String, String)>,
}

impl Ready {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A running `vtr spoke`, killed when dropped.
pub struct Spoke {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub ready: Ready,
    args: Vec<String>,
    /// How the process is started (environment, open-file limit).
    pub launch: Launch,
}

/// Environment variables and an open-file limit for a process under test.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub env: Vec<(String, String)>,
    /// RLIMIT_NOFILE, soft and hard, as a user's `ulimit -n` would set.
    pub open_files: Option<u64>,
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
        let mut spoke = Spoke {
            child: None,
            dir,
            socket,
            ready: Ready::default(),
            args,
            launch,
        };
        spoke.launch();
        spoke
    }

    fn launch(&mut self) {
        let (child, ready) = start_launched(&self.args, self.dir.path(), &self.launch);
        self.child = Some(child);
        self.ready = ready;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.launch();
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
        let addr = self.ready.get("grpc").expect("a TCP listener").to_owned();
        if let Some(i) = self.args.iter().position(|a| a == "--listen") {
            self.args[i + 1] = addr;
        }
        self.restart();
    }

    pub async fn client(&self) -> VtrClient {
        client::connect(&Target::Unix(self.socket.clone()))
            .await
            .expect("connect to spoke")
    }

    /// Runs the CLI against this spoke.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(vtr_bin())
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run vtr")
    }
}

impl Spoke {
    /// Runs the CLI against a socket where nothing listens.
    pub fn cli_without_spoke(socket: &Path, args: &[&str]) -> Output {
        Command::new(vtr_bin())
            .arg("--socket")
            .arg(socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run vtr")
    }
}

impl Drop for Spoke {
    fn drop(&mut self) {
        self.kill();
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

/// Starts `vtr ARGS` with these environment variables and waits for its
/// READY line. The config
/// directory is `log_dir` and inherited `VTR_*` settings are cleared, so a
/// developer's own configuration never leaks into a test.
pub fn start_process_env(args: &[String], log_dir: &Path, env: &[(&str, &str)]) -> (Child, Ready) {
    let launch = Launch {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        open_files: None,
    };
    start_launched(args, log_dir, &launch)
}

/// Starts `vtr ARGS` as `launch` says and waits for its READY line.
pub fn start_launched(args: &[String], log_dir: &Path, launch: &Launch) -> (Child, Ready) {
    let stderr = std::fs::File::create(log_dir.join("stderr.log")).expect("log file");
    let mut command = match launch.open_files {
        None => Command::new(vtr_bin()),
        // `exec` keeps the pid, so killing the child kills vtr.
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(vtr_bin());
            sh
        }
    };
    for (key, _) in std::env::vars() {
        if key.starts_with("VTR_") && key != "VTR_TEST_TIMEOUT" {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args(args)
        .env("XDG_CONFIG_HOME", log_dir)
        .env("XDG_STATE_HOME", log_dir)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "vtr=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start vtr");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(rest) = line.strip_prefix("READY ") {
                let fields = rest
                    .split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                let _ = tx.send(Ready { fields });
            }
        }
    });
    match rx.recv_timeout(timeout()) {
        Ok(ready) => (child, ready),
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(log_dir.join("stderr.log")).unwrap_or_default();
            panic!("vtr {args:?} printed no READY line in time; stderr:\n{log}");
        }
    }
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
