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
    std::fs::write(&path, TOKEN).expect("token file");
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
    let spawn = web::DashboardRequest {
        id: 1,
        action: Some(web::dashboard_request::Action::Spawn(spawn_request(
            "hub:mine",
            "/bin/sh",
            &[],
        ))),
    };
    send_frame(&mut dash, spawn).await;
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
async fn trusted_tailscale_identities_from_loopback_need_no_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = token_file(dir.path());
    let hub = Hub::start(
        &[],
        &[
            "--listen-token-file",
            &file.display().to_string(),
            "--trust-tailscale-headers",
        ],
    );
    let headers = [("tailscale-user-login", "carol@example.com")];
    let mut dash = upgrade(&hub, "/ws/dashboard", &headers)
        .await
        .expect("dashboard as a Tailscale user");
    let spawn = web::DashboardRequest {
        id: 1,
        action: Some(web::dashboard_request::Action::Spawn(spawn_request(
            "hub:hers",
            "/bin/sh",
            &[],
        ))),
    };
    send_frame(&mut dash, spawn).await;
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
    // Without the header: nobody.
    assert_eq!(upgrade(&hub, "/ws/dashboard", &[]).await.err(), Some(401));
}

#[test]
fn a_hub_off_loopback_needs_a_tls_proxy_and_a_token() {
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
        let out = std::process::Command::new(vtr_bin())
            .args(&args)
            .env("XDG_STATE_HOME", dir.path())
            .output()
            .expect("run vtr hub");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(run(&[]).contains("--behind-tls-proxy"));
    assert!(run(&["--behind-tls-proxy"]).contains("--listen-token-file"));
}

async fn send_frame(socket: &mut Socket, request: web::DashboardRequest) {
    use futures_util::SinkExt;
    use prost::Message as _;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Binary(
            request.encode_to_vec().into(),
        ))
        .await
        .expect("send");
}
