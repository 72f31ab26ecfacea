//! Attacks on the hub's one front door that must fail, against a real hub
//! (SECURITY.md): a cross-site request to a gRPC method, DNS rebinding,
//! other local users on the TCP ports, framing, cross-site sign-out, and
//! a claimed creator. Each fails when its defence is removed.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use tonic::transport::Endpoint;
use vtr::transport::grpc::auth::Token;
use vtr::transport::grpc::client::{self, Target, VtrClient};
use vtr_shared::proto as pb;

use crate::harness::*;

fn addr(hub: &Hub) -> String {
    hub.ready.get("listen").expect("listen").to_owned()
}

/// A gRPC message as it travels in a body: flag, length, bytes.
fn grpc_frame(message: &impl prost::Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    frame.extend_from_slice(&bytes);
    frame
}

/// Whether the hub has a session named `name` (asked over its socket).
async fn has_session(hub: &Hub, name: &str) -> bool {
    let mut c = hub.client().await;
    let list = c.list(pb::ListRequest {}).await.expect("list").into_inner();
    list.sessions.iter().any(|s| s.name == name)
}

/// A gRPC client of the hub's TCP port with `token`, asking for `authority`.
async fn tcp_client(hub: &Hub, token: Option<&str>, authority: Option<&str>) -> VtrClient {
    let mut endpoint = Endpoint::from_shared(hub.url()).expect("endpoint");
    if let Some(authority) = authority {
        endpoint = endpoint.origin(authority.parse().expect("uri"));
    }
    let channel = endpoint.connect().await.expect("connect");
    let token = token.map(|t| Token::new(t).expect("token"));
    client::client(channel, token.as_ref()).expect("client")
}

#[tokio::test]
async fn a_cross_site_post_cannot_reach_a_grpc_method() {
    let hub = Hub::start(&[], &[]);
    let spawn = grpc_frame(&spawn_request("pwned", "/bin/sh", &["-c", "true"]));
    let body = String::from_utf8_lossy(&spawn).into_owned();
    let bearer = format!("Bearer {}", hub.token());
    // What `fetch(url, {mode: "no-cors", body})` sends, with and without
    // the token; and a program's gRPC content type over HTTP/1.1.
    for headers in [
        vec![
            ("content-type", "text/plain"),
            ("origin", "http://evil.example"),
        ],
        vec![("content-type", "text/plain"), ("authorization", &bearer)],
        vec![
            ("content-type", "application/grpc"),
            ("authorization", &bearer),
        ],
    ] {
        let r = http(&addr(&hub), "POST", "/vtr.v1.Vtr/Spawn", &headers, &body).await;
        assert_eq!(r.status, 415, "{headers:?}: {}", r.body);
    }
    // HTTP/2 and a gRPC content type, but from a browser page.
    let mut c = tcp_client(&hub, Some(&hub.token()), None).await;
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let mut request = tonic::Request::new(spawn_request("pwned", "/bin/sh", &[]));
        request
            .metadata_mut()
            .insert(name, value.parse().expect("value"));
        let err = c.spawn(request).await.expect_err("refused");
        assert_eq!(err.code(), tonic::Code::PermissionDenied, "{name}: {err}");
    }
    assert!(!has_session(&hub, "pwned").await);
    // The same call from a program with the token works.
    c.spawn(spawn_request("allowed", "/bin/sh", &[]))
        .await
        .expect("a program's call");
    assert!(has_session(&hub, "allowed").await);
}

#[tokio::test]
async fn a_rebound_host_name_gets_nothing() {
    let hub = Hub::start(&[], &[]);
    let at = addr(&hub);
    let port = at.rsplit(':').next().expect("port");
    let rebound = format!("rebind.example:{port}");
    let bearer = format!("Bearer {}", hub.token());
    for path in ["/", "/metrics", "/healthz", "/login", "/s/hub:x"] {
        let headers = [("host", rebound.as_str()), ("authorization", &bearer)];
        let r = raw_http(&at, "GET", path, &headers).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let mut c = tcp_client(&hub, Some(&hub.token()), Some(&format!("http://{rebound}"))).await;
    let err = c.list(pb::ListRequest {}).await.expect_err("refused");
    assert_ne!(err.code(), tonic::Code::Ok);
    // By IP address it answers.
    let mut c = tcp_client(&hub, Some(&hub.token()), None).await;
    c.list(pb::ListRequest {}).await.expect("by IP address");
}

/// An HTTP/1.1 request whose headers are exactly `headers` (Host included).
async fn raw_http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    raw_request(addr, &request).await
}

/// `vtr ARGS` as another local user (`nobody`) where this test may switch
/// users (root with `setpriv`), else as this one: either way without the
/// owner's token.
fn as_other_user(args: &[&str]) -> std::process::Output {
    let root = nix::unistd::getuid().is_root();
    let setpriv = std::path::Path::new("/usr/bin/setpriv").exists();
    let mut command = if root && setpriv {
        let mut c = Command::new("/usr/bin/setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            vtr_bin(),
        ]);
        c
    } else {
        Command::new(vtr_bin())
    };
    let home = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    command.args(args).env_clear();
    clean_env(&mut command, home.path());
    command.output().expect("run vtr")
}

#[tokio::test]
async fn another_local_user_gets_nothing_from_the_tcp_ports() {
    let hub = Hub::start(&[], &[]);
    let spoke = Spoke::start_named("lone", &["--listen", "127.0.0.1:0"]);
    for (url, token_file) in [
        (hub.url(), hub.token_file()),
        (spoke.url(), spoke.token_file().expect("a token")),
    ] {
        let mode = std::fs::metadata(&token_file)
            .expect("token")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", token_file.display());
        let out = as_other_user(&["--addr", &url, "ls"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.contains("token"), "{url}: {stderr}");
        // The owner, with the token, gets in.
        let target = Target::Tcp {
            url: url.clone(),
            token: Some(Token::from_file(&token_file).expect("token")),
            ca_file: None,
        };
        let mut c = client::connect(&target).await.expect("connect");
        c.list(pb::ListRequest {}).await.expect("with the token");
    }
}

#[tokio::test]
async fn pages_cannot_be_framed_and_send_no_referrer() {
    let hub = Hub::start(&[], &[]);
    let bearer = format!("Bearer {}", hub.token());
    for path in ["/login", "/", "/share/abc.1.ff", "/s/hub:x", "/nothing.js"] {
        let r = http(&addr(&hub), "GET", path, &[("authorization", &bearer)], "").await;
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn another_site_cannot_sign_people_in_or_out() {
    let hub = Hub::start(&[], &[]);
    let at = addr(&hub);
    let form = format!("token={}&next=%2F", hub.token());
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let evil = ("origin", "http://evil.example");
    let cross = ("sec-fetch-site", "cross-site");
    for headers in [[form_type, evil], [form_type, cross]] {
        let r = http(&at, "POST", "/login", &headers, &form).await;
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(r.header("set-cookie").is_none());
        let r = http(&at, "POST", "/logout", &headers, "").await;
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(r.header("set-cookie").is_none());
    }
    // From the hub's own page, both work.
    let own = format!("http://{at}");
    let headers = [form_type, ("origin", own.as_str())];
    let r = http(&at, "POST", "/login", &headers, &form).await;
    assert_eq!(r.status, 303);
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("HttpOnly"))
    );
    let r = http(&at, "POST", "/logout", &headers, "").await;
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn the_hub_prints_its_sign_in_url_and_guards_its_token_file() {
    let hub = Hub::start(&[], &[]);
    let out = hub
        .command()
        .args(["hub", "url", "--name", "hub", "--listen", &addr(&hub)])
        .output()
        .expect("vtr hub url");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(url, format!("{}/login#token={}", hub.url(), hub.token()));
    // The page takes the token from the fragment, which no server sees.
    let page = http(&addr(&hub), "GET", "/login", &[], "").await.body;
    assert!(page.contains("location.hash"), "{page}");

    // A token file others may read is refused, naming the fix.
    let dir = tempfile::tempdir().expect("dir");
    let loose = dir.path().join("loose");
    write_token(&loose, "a-token-others-can-read-0123");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = vtr(dir.path())
        .args(["hub", "--name", "loose", "--listen", "127.0.0.1:0"])
        .arg("--listen-token-file")
        .arg(&loose)
        .arg("--socket")
        .arg(dir.path().join("h.sock"))
        .output()
        .expect("run hub");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("readable by group or others"), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[tokio::test]
async fn no_token_is_for_loopback_and_says_so() {
    let hub = Hub::start(&[], &["--no-token"]);
    assert_eq!(hub.ready.get("token_file"), Some("-"));
    let mut c = tcp_client(&hub, None, None).await;
    c.list(pb::ListRequest {}).await.expect("open by choice");
    assert!(hub.log().contains("--no-token"), "{}", hub.log());
}

#[tokio::test]
async fn what_a_caller_starts_is_recorded_as_theirs_whatever_it_claims() {
    let hub = Hub::start(&[], &[]);
    let mut c = tcp_client(&hub, Some(&hub.token()), None).await;
    let mut request = spawn_request("claimed", "/bin/sh", &[]);
    request.created_by = "someone-else".to_owned();
    let info = c.spawn(request).await.expect("spawn").into_inner();
    assert_eq!(info.created_by, "token");
}

#[tokio::test]
async fn token_files_named_in_the_configuration_are_enforced() {
    let dir = tempfile::tempdir().expect("dir");
    let token = dir.path().join("configured");
    write_token(&token, "configured-token-0123456789");
    let hub = Hub::start_with_config(
        &format!(
            "[hub]\nlisten_token_file = {:?}\n",
            token.display().to_string()
        ),
        &[],
        &[],
    );
    assert_eq!(hub.token_file(), token);
    let config = dir.path().join("spoke.toml");
    std::fs::write(
        &config,
        format!(
            "[spoke]\nlisten_token_file = {:?}\n",
            token.display().to_string()
        ),
    )
    .expect("config");
    let spoke = Spoke::start_named(
        "configured",
        &[
            "--config",
            &config.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(spoke.token_file(), Some(token.clone()));
    for url in [hub.url(), spoke.url()] {
        for (presented, works) in [
            ("configured-token-0123456789", true),
            ("not-the-token-0123456789", false),
        ] {
            let target = Target::Tcp {
                url: url.clone(),
                token: Some(Token::new(presented).expect("token")),
                ca_file: None,
            };
            let mut c = client::connect(&target).await.expect("connect");
            let result = c.list(pb::ListRequest {}).await;
            match result {
                Ok(_) => assert!(works, "{url} took {presented}"),
                Err(status) => {
                    assert!(!works, "{url}: {status}");
                    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{url}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_web_page_cannot_call_a_spokes_listener_even_without_a_token() {
    let spoke = Spoke::start_named("open", &["--listen", "127.0.0.1:0", "--no-token"]);
    let addr = spoke.ready.get("grpc").expect("grpc").to_owned();
    let spawn = grpc_frame(&spawn_request("pwned", "/bin/sh", &["-c", "true"]));
    let body = String::from_utf8_lossy(&spawn).into_owned();
    let headers = [
        ("content-type", "text/plain"),
        ("origin", "http://evil.example"),
    ];
    let r = http(&addr, "POST", "/vtr.v1.Vtr/Spawn", &headers, &body).await;
    assert_eq!(r.status, 415, "{}", r.body);
    let mut c = spoke.client().await;
    let list = c.list(pb::ListRequest {}).await.expect("list").into_inner();
    assert!(list.sessions.iter().all(|s| s.name != "pwned"));
}
