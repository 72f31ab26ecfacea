//! A hub behind a TLS proxy (`--behind-tls-proxy --public-url`), spoken to
//! as such a proxy passes requests on: the public `Host` kept, the
//! browser's `https://` origin, plain HTTP between proxy and hub.

use crate::harness::{HttpResponse, Hub, raw_request, write_token};

const TOKEN: &str = "proxied-hub-token-0123456789";
const PUBLIC: &str = "vtr.example.com";

async fn request(at: &str, head: &str, body: &str) -> HttpResponse {
    raw_request(
        at,
        &format!("{head}Content-Length: {}\r\n\r\n{body}", body.len()),
    )
    .await
}

async fn sign_in(at: &str, origin: &str) -> HttpResponse {
    let form = format!("token={TOKEN}&name=proxied");
    request(
        at,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {PUBLIC}\r\nOrigin: {origin}\r\n\
             Sec-Fetch-Site: same-origin\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n"
        ),
        &form,
    )
    .await
}

async fn upgrade(at: &str, origin: &str, cookie: &str) -> HttpResponse {
    request(
        at,
        &format!(
            "GET /ws/dashboard HTTP/1.1\r\nHost: {PUBLIC}\r\nOrigin: {origin}\r\n\
             Cookie: {cookie}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        ),
        "",
    )
    .await
}

#[tokio::test]
async fn a_proxied_hub_answers_to_its_public_name_and_https_origin_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    write_token(&token, TOKEN);
    let hub = Hub::start(
        &[],
        &[
            "--listen-token-file",
            token.to_str().expect("utf8"),
            "--behind-tls-proxy",
            "--public-url",
            &format!("https://{PUBLIC}"),
        ],
    );
    let at = hub.ready.get("listen").expect("listen").to_owned();

    // The proxy keeps the public Host: let in. Any other name: refused.
    let health = |host: &'static str| {
        let at = at.clone();
        async move {
            let head = format!(
                "GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
                 Authorization: Bearer {TOKEN}\r\n"
            );
            request(&at, &head, "").await.status
        }
    };
    assert_eq!(health(PUBLIC).await, 200);
    assert_eq!(health("other.example.com").await, 403);

    // Signing in from the public https page: a Secure cookie.
    let refused = sign_in(&at, &format!("http://{PUBLIC}")).await;
    assert_eq!(refused.status, 403, "plain-http origin: {}", refused.head);
    let r = sign_in(&at, &format!("https://{PUBLIC}")).await;
    assert_eq!(r.status, 303, "{}", r.head);
    let cookie = r.header("set-cookie").expect("a cookie").to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let cookie = cookie.split(';').next().expect("name=value");

    // The dashboard's socket opens from the https origin only.
    let r = upgrade(&at, &format!("https://{PUBLIC}"), cookie).await;
    assert_eq!(r.status, 101, "{}", r.head);
    let r = upgrade(&at, &format!("http://{PUBLIC}"), cookie).await;
    assert_eq!(r.status, 403, "{}", r.head);
}
