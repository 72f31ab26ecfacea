//! A running `vtr hub` with its configuration, and helpers to read its
//! spokes' health.

use std::path::PathBuf;

use vtr::transport::grpc::client::{self, FederationClient, SharesClient, Target};
use vtr_shared::proto as pb;

use super::{Launch, Process, wait_until};

/// A dialled spoke's entry in the hub's configuration.
pub struct Dial<'a> {
    pub name: &'a str,
    pub url: String,
    pub token_file: Option<PathBuf>,
}

impl<'a> Dial<'a> {
    pub fn new(name: &'a str, url: String) -> Self {
        Dial {
            name,
            url,
            token_file: None,
        }
    }
}

/// A running `vtr hub`, killed when dropped.
pub struct Hub(Process);

impl std::ops::Deref for Hub {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.0
    }
}

impl std::ops::DerefMut for Hub {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.0
    }
}

impl Hub {
    /// A hub named `hub` with an embedded spoke, dialling `spokes`.
    pub fn start(spokes: &[Dial<'_>], extra: &[&str]) -> Hub {
        Hub::start_with_config("", spokes, extra)
    }

    /// As `start`, with more configuration (TOML) first.
    pub fn start_with_config(more: &str, spokes: &[Dial<'_>], extra: &[&str]) -> Hub {
        Hub::start_full(more, spokes, extra, Launch::default())
    }

    /// A hub with no dialled spokes, started as `launch` says.
    pub fn start_launched(extra: &[&str], launch: Launch) -> Hub {
        Hub::start_full("", &[], extra, launch)
    }

    fn start_full(more: &str, spokes: &[Dial<'_>], extra: &[&str], launch: Launch) -> Hub {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("hub.sock");
        let mut config = format!("{more}\n");
        for s in spokes {
            config.push_str(&format!(
                "[[federation.spokes]]\nname = {:?}\naddress = {:?}\n",
                s.name, s.url
            ));
            if let Some(token) = &s.token_file {
                config.push_str(&format!("token_file = {:?}\n", token.display().to_string()));
            }
        }
        let config_path = dir.path().join("vtrpc.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut args = vec![
            "--config".to_owned(),
            config_path.display().to_string(),
            "hub".to_owned(),
            "--socket".to_owned(),
            socket.display().to_string(),
            "--name".to_owned(),
            "hub".to_owned(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Hub(Process::start(dir, socket, args, launch))
    }

    /// Restarts on the same socket and TCP port.
    pub fn restart(&mut self) {
        self.0.restart_on_same("listen");
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.ready.get("listen").expect("listen"))
    }

    /// The file of the token the hub's port requires (made by the hub
    /// unless given).
    pub fn token_file(&self) -> PathBuf {
        PathBuf::from(self.ready.get("token_file").expect("a hub with a token"))
    }

    /// The token the hub's port requires.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.token_file())
            .expect("token file")
            .trim()
            .to_owned()
    }

    /// `--hub URL --token-file FILE`: what a spoke needs to join.
    pub fn join_args(&self) -> Vec<String> {
        vec![
            "--hub".to_owned(),
            self.url(),
            "--token-file".to_owned(),
            self.token_file().display().to_string(),
        ]
    }

    /// A spoke named `name` that dials this hub, once the hub lists it
    /// healthy.
    pub async fn tunnelled_spoke(&self, name: &str) -> super::Spoke {
        self.tunnelled_spoke_with(name, &[]).await
    }

    /// As [`Self::tunnelled_spoke`], with more arguments for the spoke.
    pub async fn tunnelled_spoke_with(&self, name: &str, extra: &[&str]) -> super::Spoke {
        let mut args = self.join_args();
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let spoke = super::Spoke::start_named(name, &args);
        self.wait_state(name, pb::SpokeState::Healthy).await;
        spoke
    }

    pub async fn federation(&self) -> FederationClient {
        client::connect_federation(&Target::Unix(self.socket.clone()))
            .await
            .expect("connect to hub")
    }

    pub async fn shares(&self) -> SharesClient {
        client::connect_shares(&Target::Unix(self.socket.clone()))
            .await
            .expect("connect to hub")
    }

    /// The hub's state directory (share links, their secret).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("vtr").join("hub-hub")
    }

    pub async fn spokes(&self) -> Vec<pb::SpokeInfo> {
        self.federation()
            .await
            .list_spokes(pb::ListSpokesRequest {})
            .await
            .expect("list spokes")
            .into_inner()
            .spokes
    }

    /// Waits until `spoke` is in `state`; returns its info.
    pub async fn wait_state(&self, spoke: &str, state: pb::SpokeState) -> pb::SpokeInfo {
        wait_until(&format!("spoke {spoke} {state:?}"), || async {
            self.spokes()
                .await
                .into_iter()
                .find(|s| s.name == spoke && s.state == state as i32)
        })
        .await
    }

    /// The hub's /metrics text.
    pub async fn metrics(&self) -> String {
        let addr = self.ready.get("listen").expect("listen").to_owned();
        let bearer = format!("Bearer {}", self.token());
        let r = http(&addr, "GET", "/metrics", &[("authorization", &bearer)], "").await;
        assert_eq!(r.status, 200, "metrics: {}", r.body);
        r.body
    }
}

/// An HTTP/1.1 response, read whole.
pub struct HttpResponse {
    pub status: u16,
    /// Header lines, as sent.
    pub head: String,
    pub body: String,
}

impl HttpResponse {
    /// The value of the first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One request on a fresh connection (`Connection: close`).
pub async fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    HttpResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// A metric's value from Prometheus text, e.g. `vtr_upstream_streams`.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Sends `request` (a whole HTTP/1.1 head and body, as written) and reads
/// one response: its head, then as many body bytes as `Content-Length`
/// says (the connection may stay open).
pub async fn raw_request(addr: &str, request: &str) -> HttpResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut data = Vec::new();
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("a status line");
                return HttpResponse { status, head, body };
            }
        }
        let mut chunk = [0u8; 4096];
        let n = super::within("the response", stream.read(&mut chunk))
            .await
            .expect("read response");
        assert!(
            n > 0,
            "connection closed mid-response: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&chunk[..n]);
    }
}
