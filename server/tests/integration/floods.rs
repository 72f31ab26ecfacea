//! Connection floods (audit V7): thousands of idle or half-sent TCP
//! connections must not stop health checks, the CLI on the Unix socket,
//! or signed-in users; idle ones are closed after the header timeout.
//!
//! The processes under test run with `ulimit -n 1024`, as many systems
//! start them: without caps, a flood exhausts their file descriptors and
//! every listener stops accepting.

use std::process::Output;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vtr::transport::grpc::auth::Token;
use vtr::transport::grpc::client::{self, Target};
use vtr_shared::proto as pb;

use crate::harness::*;

/// What a user tolerates from a health check or `vtr ls`; without the
/// defence they hang for good.
const DEADLINE: Duration = Duration::from_secs(10);
/// The limit many systems give a process (soft and hard here, so the
/// server cannot raise it).
const OPEN_FILES: u64 = 1024;

/// Opens `idle` connections that send nothing and `half` that send half
/// a request head, and keeps them open. Stops early if the server stops
/// taking connections (its backlog is full): the flood has won then, and
/// the checks that follow say so.
async fn flood(addr: &str, idle: usize, half: usize) -> Vec<TcpStream> {
    // The test holds every one of them itself.
    vtr::nofile::raise();
    let mut streams = Vec::with_capacity(idle + half);
    for i in 0..idle + half {
        let connect = TcpStream::connect(addr);
        let Ok(connected) = tokio::time::timeout(Duration::from_secs(2), connect).await else {
            eprintln!("the server stopped taking connections after {i}");
            break;
        };
        let mut stream = connected.expect("connect");
        if i >= idle {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await
                .expect("half a request");
        }
        streams.push(stream);
    }
    streams
}

async fn within_deadline<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {DEADLINE:?}"))
}

/// Runs the CLI off the async threads, within the deadline.
async fn cli_within_deadline(run: impl FnOnce() -> Output + Send + 'static) -> Output {
    let out = within_deadline(
        "vtr ls on the Unix socket",
        tokio::task::spawn_blocking(run),
    )
    .await
    .expect("cli thread");
    assert!(
        out.status.success(),
        "vtr ls: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One request on a kept-alive connection; the status and body.
async fn keep_alive_request(stream: &mut TcpStream, addr: &str, bearer: &str) -> (u16, String) {
    let request =
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bearer}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed a signed-in connection");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("a content-length");
        if body.len() >= length {
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status");
            return (status, body.to_owned());
        }
    }
}

#[tokio::test]
async fn a_flood_of_idle_connections_leaves_room_for_health_the_cli_and_signed_in_users() {
    // A long header timeout: only the cap can make room here.
    let hub = Hub::start_launched(
        &[],
        Launch {
            env: vec![("VTR_TEST_HEADER_TIMEOUT_MS".into(), "60000".into())],
            open_files: Some(OPEN_FILES),
        },
    );
    let addr = hub.ready.get("listen").expect("listen").to_owned();
    let token = hub.token();
    let mut signed_in = TcpStream::connect(&addr).await.expect("connect");
    let (status, _) = keep_alive_request(&mut signed_in, &addr, &token).await;
    assert_eq!(status, 200);

    let _flood = flood(&addr, 2000, 100).await;

    // Timed for the record (`--nocapture`); the deadlines are the gate.
    let started = std::time::Instant::now();
    let health = within_deadline("/healthz", http(&addr, "GET", "/healthz", &[], "")).await;
    let health_took = started.elapsed();
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let mut ls = hub.command();
    ls.arg("--socket").arg(&hub.socket).arg("ls");
    let started = std::time::Instant::now();
    let out = cli_within_deadline(move || ls.output().expect("run vtr")).await;
    let cli_took = started.elapsed();
    // No sessions yet: the header line answers.
    assert!(
        !out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bearer = format!("Bearer {token}");
    let started = std::time::Instant::now();
    let metrics = within_deadline(
        "a request with the hub's token",
        http(&addr, "GET", "/metrics", &[("authorization", &bearer)], ""),
    )
    .await;
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(metrics.body.contains("vtr_"), "{}", metrics.body);
    // A connection that signed in before the flood was not the one to go.
    let (status, body) = within_deadline(
        "the signed-in connection",
        keep_alive_request(&mut signed_in, &addr, &token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    eprintln!(
        "after 2000 idle and 100 half-sent connections: /healthz {health_took:?}, vtr ls on \
         the socket {cli_took:?}, a new request with the token {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_after_the_header_timeout() {
    let hub = Hub::start_launched(
        &[],
        Launch {
            env: vec![("VTR_TEST_HEADER_TIMEOUT_MS".into(), "500".into())],
            open_files: None,
        },
    );
    let addr = hub.ready.get("listen").expect("listen").to_owned();
    let mut streams = flood(&addr, 20, 20).await;
    // HTTP/2 that sends its preface and then nothing.
    for _ in 0..5 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            .await
            .expect("preface");
        streams.push(stream);
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        let mut rest = Vec::new();
        // EOF or a reset: either way the server let go. HTTP/1 may say 408
        // first, HTTP/2 a GOAWAY.
        let read = within_deadline(
            &format!("the server closing idle connection {i}"),
            stream.read_to_end(&mut rest),
        )
        .await;
        if let Ok(n) = read {
            assert!(
                n == 0 || !String::from_utf8_lossy(&rest).contains("200 OK"),
                "connection {i} was served: {}",
                String::from_utf8_lossy(&rest)
            );
        }
    }
}

#[tokio::test]
async fn a_flood_on_a_spokes_listener_leaves_room_for_its_clients_and_cli() {
    let spoke = Spoke::start_launched(
        &["--listen", "127.0.0.1:0"],
        Launch {
            env: vec![("VTR_TEST_HEADER_TIMEOUT_MS".into(), "60000".into())],
            open_files: Some(OPEN_FILES),
        },
    );
    let addr = spoke.ready.get("grpc").expect("grpc").to_owned();
    let token = Token::from_file(&spoke.token_file().expect("token file")).expect("token");
    let target = Target::Tcp {
        url: format!("http://{addr}"),
        token: Some(token),
        ca_file: None,
    };
    // A hub, say, connected and signed in before the flood.
    let mut before = client::connect(&target).await.expect("connect");
    spawn(&mut before, "kept", "sh", &["-c", "read x"]).await;

    let _flood = flood(&addr, 1200, 50).await;

    let listed = within_deadline("the signed-in connection", before.list(pb::ListRequest {}))
        .await
        .expect("list");
    assert_eq!(listed.into_inner().sessions.len(), 1);
    let mut after = within_deadline("a new client with the token", client::connect(&target))
        .await
        .expect("connect");
    let listed = within_deadline("a list from the new client", after.list(pb::ListRequest {}))
        .await
        .expect("list");
    assert_eq!(listed.into_inner().sessions.len(), 1);
    let socket = spoke.socket.clone();
    let out = cli_within_deadline(move || Spoke::cli_without_spoke(&socket, &["ls"])).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("kept"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
