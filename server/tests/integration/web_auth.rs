//! Web sign-in on a hub with a token: pages send people to /login, which
//! trades the token for an HttpOnly, SameSite=Strict cookie; sockets need
//! it; a share link's token opens its viewer and nothing else; Tailscale
//! identities from loopback when trusted; who started a session is kept.

use std::path::PathBuf;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vtr::transport::grpc::auth::Token;
use vtr::transport::grpc::client::{self, Target};
use vtr_shared::proto as pb;
use vtr_shared::web::{self, dashboard_event::Event as DashEvent};

use crate::harness::ws::{Socket, next};
use crate::harness::*;

const TOKEN: &str = "web-sign-in-token-0123456789";

fn token_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("web-token");
    write_token(&path, TOKEN);
    path
}

fn addr(hub: &Hub) -> String {
    hub.ready.get("listen").expect("listen").to_owned()
}

/// A WebSocket upgrade with extra headers: the socket, or the HTTP status
/// it was refused with.
async fn upgrade(hub: &Hub, path: &str, headers: &[(&'static str, &str)]) -> Result<Socket, u16> {
    let url = format!("ws://{}{path}", addr(hub));
    let mut request = url.into_client_request().expect("request");
    for (k, v) in headers {
        request.headers_mut().insert(*k, v.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("upgrade {path}: {e}"),
    }
}

/// Signs in as `name`; returns the `Cookie` header value.
async fn sign_in(hub: &Hub, name: &str) -> String {
    let form = format!("token={TOKEN}&name={name}&next=%2Fs%2Fhub%3Ax");
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = http(&addr(hub), "POST", "/login", &form_type, &form).await;
    assert_eq!(r.status, 303, "{}", r.head);
    assert_eq!(r.header("location"), Some("/s/hub:x"));
    let cookie = r.header("set-cookie").expect("a cookie").to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    cookie.split(';').next().expect("name=value").to_owned()
}

#[tokio::test]
async fn a_token_hub_signs_people_in_and_a_share_token_opens_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = token_file(dir.path());
    let hub = Hub::start(&[], &["--listen-token-file", &file.display().to_string()]);
    let at = addr(&hub);

    // Pages send people to sign in; sockets say 401; health stays open.
    let r = http(&at, "GET", "/s/hub:x", &[], "").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login?next=/s/hub:x"));
    assert!(
        http(&at, "GET", "/login", &[], "")
            .await
            .body
            .contains("name=\"token\"")
    );
    assert_eq!(http(&at, "GET", "/healthz", &[], "").await.status, 200);
    assert_eq!(upgrade(&hub, "/ws/dashboard", &[]).await.err(), Some(401));
    // Claiming to be gRPC does not skip the sign-in.
    let grpc = [("content-type", "application/grpc")];
    assert_eq!(
        upgrade(&hub, "/ws/pane?session=hub:x", &grpc).await.err(),
        Some(401)
    );

    // A wrong token goes back to the form, saying so.
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = http(
        &at,
        "POST",
        "/login",
        &form_type,
        "token=wrong-token-0123456789",
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/login?failed=1"))
    );
    assert!(r.header("set-cookie").is_none());

    // Signed in: the dashboard opens and what it starts is alice's.
    let cookie = sign_in(&hub, "alice").await;
    let mut dash = upgrade(&hub, "/ws/dashboard", &[("cookie", &cookie)])
        .await
        .expect("dashboard with the cookie");
    spawn_through(&mut dash, "hub:mine").await;
    let mine = loop {
        if let Some(DashEvent::Dashboard(d)) = next::<web::DashboardEvent>(&mut dash).await.event
            && let Some(s) = d.sessions.into_iter().find(|s| s.name == "mine")
        {
            break s;
        }
    };
    assert_eq!(mine.created_by, "alice");

    // A share link's token: its viewer opens without signing in...
    let link = hub
        .shares()
        .await
        .create_share(pb::CreateShareRequest {
            session: "hub:mine".to_owned(),
            ttl_seconds: 600,
        })
        .await
        .expect("link")
        .into_inner();
    let viewer = format!("/ws/share?token={}", link.token);
    assert!(upgrade(&hub, &viewer, &[]).await.is_ok());
    assert_eq!(
        http(&at, "GET", &format!("/share/{}", link.token), &[], "")
            .await
            .status,
        200
    );
    // ...and nothing else: not as a cookie, not as a bearer token, not on
    // a page, another socket or gRPC.
    let as_cookie = format!("vtr_session={}", link.token);
    let as_bearer = format!("Bearer {}", link.token);
    for (k, v) in [
        ("cookie", as_cookie.as_str()),
        ("authorization", as_bearer.as_str()),
    ] {
        assert_eq!(
            upgrade(&hub, "/ws/pane?session=hub:mine", &[(k, v)])
                .await
                .err(),
            Some(401)
        );
        assert_eq!(
            upgrade(&hub, "/ws/dashboard", &[(k, v)]).await.err(),
            Some(401)
        );
        assert_eq!(http(&at, "GET", "/", &[(k, v)], "").await.status, 303);
    }
    let target = Target::Tcp {
        url: hub.url(),
        token: Some(Token::new(&link.token).expect("token shape")),
        ca_file: None,
    };
    let mut grpc = client::connect(&target).await.expect("channel");
    let status = grpc.list(pb::ListRequest {}).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    // Signing out forgets the cookie.
    let r = http(&at, "POST", "/logout", &[("cookie", &cookie)], "").await;
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn tailscale_identities_count_only_through_the_tailscale_socket() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("ts").join("hub-tailscale.sock");
    let hub = Hub::start(&[], &["--tailscale-socket", &socket.display().to_string()]);
    let mode = std::fs::metadata(&socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Any local process can send Tailscale's header over TCP: nobody.
    let forged = [("tailscale-user-login", "carol@example.com")];
    assert_eq!(
        upgrade(&hub, "/ws/dashboard", &forged).await.err(),
        Some(401)
    );
    // Through the socket `tailscale serve` forwards to, it is who Tailscale says.
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .expect("connect");
    let mut request = "ws://localhost/ws/dashboard"
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "tailscale-user-login",
        "carol@example.com".parse().expect("header"),
    );
    let (mut dash, _) = within(
        "the dashboard over the Tailscale socket",
        tokio_tungstenite::client_async(request, stream),
    )
    .await
    .expect("upgrade");
    spawn_through(&mut dash, "hub:hers").await;
    let c = hub.client().await;
    let hers = wait_until("the session listed", || {
        let mut c = c.clone();
        async move {
            let list = c.list(pb::ListRequest {}).await.expect("list").into_inner();
            list.sessions.into_iter().find(|s| s.name == "hers")
        }
    })
    .await;
    assert_eq!(hers.created_by, "tailscale:carol@example.com");
}

#[test]
fn unsafe_hub_settings_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| {
        let socket = dir.path().join("h.sock");
        let socket = socket.display().to_string();
        let mut args = vec![
            "hub",
            "--name",
            "open",
            "--listen",
            "0.0.0.0:0",
            "--socket",
            &socket,
        ];
        args.extend_from_slice(extra);
        let out = vtr(dir.path()).args(&args).output().expect("run vtr hub");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(run(&[]).contains("--behind-tls-proxy"));
    // No credential is for loopback only.
    assert!(run(&["--behind-tls-proxy", "--no-token"]).contains("--no-token is for loopback"));
    // Tailscale identities need the token on the hub's port.
    let out = vtr(dir.path())
        .args([
            "hub",
            "--name",
            "ts",
            "--listen",
            "127.0.0.1:0",
            "--no-token",
        ])
        .arg("--tailscale-socket")
        .arg(dir.path().join("ts-web.sock"))
        .arg("--socket")
        .arg(dir.path().join("ts.sock"))
        .output()
        .expect("run vtr hub");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot go with --no-token"));
}

/// Asks a dashboard socket to spawn a shell named `name`.
async fn spawn_through<S>(socket: &mut tokio_tungstenite::WebSocketStream<S>, name: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::SinkExt;
    use prost::Message as _;
    let request = web::DashboardRequest {
        id: 1,
        action: Some(web::dashboard_request::Action::Spawn(spawn_request(
            name,
            "/bin/sh",
            &[],
        ))),
    };
    socket
        .send(tokio_tungstenite::tungstenite::Message::Binary(
            request.encode_to_vec().into(),
        ))
        .await
        .expect("send");
}

/// One HTTP/1.1 request over TLS (trusting `ca`), the response whole.
async fn https(addr: &str, ca: &std::path::Path, request: &str) -> String {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(cert.expect("cert")).expect("root");
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    // An upgraded socket stays open: read what arrives until a pause.
    loop {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(std::time::Duration::from_secs(2), tls.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => response.extend_from_slice(&chunk[..n]),
        }
        if response.windows(4).any(|w| w == b"\r\n\r\n") && response.starts_with(b"HTTP/1.1 101") {
            break;
        }
    }
    String::from_utf8_lossy(&response).to_string()
}

#[tokio::test]
async fn a_hub_serves_https_websockets_and_grpc_over_tls() {
    let dir = tempfile::tempdir().expect("dir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let file = token_file(dir.path());
    let hub = Hub::start(
        &[],
        &[
            "--tls-cert",
            cert_path.to_str().expect("path"),
            "--tls-key",
            key_path.to_str().expect("path"),
            "--listen-token-file",
            &file.display().to_string(),
        ],
    );
    assert_eq!(hub.ready.get("tls"), Some("on"));
    let at = addr(&hub);

    // HTTPS: health, and a sign-in whose cookie is Secure.
    let health = https(
        &at,
        &cert_path,
        &format!("GET /healthz HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
        "{health}"
    );
    let form = format!("token={TOKEN}&name=tls");
    let login = https(
        &at,
        &cert_path,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    )
    .await;
    let cookie_line = login
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("a cookie")
        .to_owned();
    assert!(cookie_line.contains("; Secure"), "{cookie_line}");
    let cookie = cookie_line
        .split_once(':')
        .and_then(|(_, v)| v.trim().split(';').next())
        .expect("name=value")
        .to_owned();

    // A WebSocket upgrade over TLS (HTTP/1.1).
    let upgrade = https(
        &at,
        &cert_path,
        &format!(
            "GET /ws/dashboard HTTP/1.1\r\nHost: {at}\r\nCookie: {cookie}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ),
    )
    .await;
    assert!(upgrade.starts_with("HTTP/1.1 101"), "{upgrade}");

    // gRPC over TLS (HTTP/2 by ALPN), with the token.
    let target = Target::Tcp {
        url: format!("https://{at}"),
        token: Some(Token::new(TOKEN).expect("token")),
        ca_file: Some(cert_path.clone()),
    };
    let mut grpc = client::connect(&target).await.expect("connect over TLS");
    grpc.list(pb::ListRequest {}).await.expect("List over TLS");
}

#[tokio::test]
async fn signing_out_ends_the_sign_in_on_the_hub_not_just_in_the_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = token_file(dir.path());
    let hub = Hub::start(&[], &["--listen-token-file", &file.display().to_string()]);
    let at = addr(&hub);
    let alice = sign_in(&hub, "alice").await;
    let alice_elsewhere = sign_in(&hub, "alice").await;
    let bob = sign_in(&hub, "bob").await;
    assert!(
        upgrade(&hub, "/ws/dashboard", &[("cookie", &alice)])
            .await
            .is_ok()
    );
    // Sign out, then replay the same cookie (as a thief who copied it would).
    let r = http(&at, "POST", "/logout", &[("cookie", &alice)], "").await;
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(
        upgrade(&hub, "/ws/dashboard", &[("cookie", &alice)])
            .await
            .err(),
        Some(401)
    );
    assert!(
        upgrade(&hub, "/ws/dashboard", &[("cookie", &bob)])
            .await
            .is_ok()
    );
    // Sign-ins survive a restart; "everywhere" ends all of them.
    let mut hub = hub;
    hub.restart();
    assert!(
        upgrade(&hub, "/ws/dashboard", &[("cookie", &bob)])
            .await
            .is_ok()
    );
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let r = http(
        &addr(&hub),
        "POST",
        "/logout",
        &[("cookie", &alice_elsewhere), form_type],
        "everywhere=1",
    )
    .await;
    assert_eq!(r.status, 303);
    for cookie in [&alice_elsewhere, &bob] {
        assert_eq!(
            upgrade(&hub, "/ws/dashboard", &[("cookie", cookie)])
                .await
                .err(),
            Some(401)
        );
    }
}

#[tokio::test]
async fn guessing_the_token_is_slowed_down_and_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = token_file(dir.path());
    let hub = Hub::start(&[], &["--listen-token-file", &file.display().to_string()]);
    let at = addr(&hub);
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    let guess = "token=guess-0123456789abcdef";
    for _ in 0..5 {
        let r = http(&at, "POST", "/login", &form_type, guess).await;
        assert_eq!(r.status, 303, "the first few are only refused");
    }
    let r = http(&at, "POST", "/login", &form_type, guess).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    // While it waits, even the right token is not looked at from there...
    let right = format!("token={TOKEN}");
    assert_eq!(
        http(&at, "POST", "/login", &form_type, &right).await.status,
        429
    );
    // ...nor a bearer token on gRPC.
    let target = Target::Tcp {
        url: hub.url(),
        token: Some(Token::new(TOKEN).expect("token")),
        ca_file: None,
    };
    let mut grpc = client::connect(&target).await.expect("channel");
    let status = grpc.list(pb::ListRequest {}).await.expect_err("held back");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
    // Every failure is logged with the peer's address.
    let log = hub.log();
    assert!(log.contains("web sign-in refused: wrong token"), "{log}");
    assert!(log.contains("peer=127.0.0.1"), "{log}");
}
