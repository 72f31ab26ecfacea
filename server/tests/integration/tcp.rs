//! gRPC over TCP: always a token (the spoke's own unless given), TLS off
//! loopback, refusal to listen off loopback unprotected.

use vtr::transport::grpc::auth::Token;
use vtr::transport::grpc::client::{self, Target};
use vtr_shared::proto as pb;

use crate::harness::*;

#[tokio::test]
async fn loopback_tcp_works_without_tls_with_the_spokes_own_token() {
    let spoke = Spoke::start_with(&["--listen", "127.0.0.1:0"]);
    let addr = spoke.ready.get("grpc").expect("grpc address").to_owned();
    let token_file = spoke.token_file().expect("a token made on first start");
    let mut c = client::connect(&Target::Tcp {
        url: format!("http://{addr}"),
        token: Some(Token::from_file(&token_file).expect("token")),
        ca_file: None,
    })
    .await
    .expect("connect");
    spawn(&mut c, "t", "/bin/sh", &[]).await;
    send_and_wait(&mut c, "t", "echo over-$((1+1))-tcp", "over-2-tcp").await;
}

#[tokio::test]
async fn tls_and_token_are_enforced() {
    let dir = tempfile::tempdir().expect("dir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    let token_path = dir.path().join("token");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    write_token(&token_path, "s3cret-token-0123456789\n");
    let spoke = Spoke::start_with(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert_path.to_str().expect("path"),
        "--tls-key",
        key_path.to_str().expect("path"),
        "--listen-token-file",
        token_path.to_str().expect("path"),
    ]);
    assert_eq!(spoke.ready.get("tls"), Some("on"));
    let url = format!("https://{}", spoke.ready.get("grpc").expect("grpc"));
    let target = |token: Option<&str>| Target::Tcp {
        url: url.clone(),
        token: token.map(|t| Token::new(t).expect("token")),
        ca_file: Some(cert_path.clone()),
    };

    let mut good = client::connect(&target(Some("s3cret-token-0123456789")))
        .await
        .expect("connect with token");
    good.list(pb::ListRequest {})
        .await
        .expect("list with the token");

    let mut wrong = client::connect(&target(Some("s3cret-token-0123456780")))
        .await
        .expect("connect");
    let err = wrong
        .list(pb::ListRequest {})
        .await
        .expect_err("wrong token");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    assert!(err.message().contains("invalid token"));

    let mut none = client::connect(&target(None)).await.expect("connect");
    let err = none.list(pb::ListRequest {}).await.expect_err("no token");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    assert!(err.message().contains("missing token"));

    // Plain HTTP/2 against the TLS port does not get through.
    let plain = client::connect(&Target::Tcp {
        url: url.replace("https://", "http://"),
        token: None,
        ca_file: None,
    })
    .await;
    if let Ok(mut plain) = plain {
        plain
            .list(pb::ListRequest {})
            .await
            .expect_err("plaintext refused");
    }

    // The CLI takes the same options.
    let home = tempfile::tempdir().expect("dir");
    let out = vtr(home.path())
        .args([
            "--addr",
            &url,
            "--ca-file",
            cert_path.to_str().expect("path"),
        ])
        .args([
            "--token-file",
            token_path.to_str().expect("path"),
            "ls",
            "--json",
        ])
        .output()
        .expect("cli");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn refuses_non_loopback_without_tls() {
    let dir = tempfile::tempdir().expect("dir");
    let out = vtr(dir.path())
        .args(["spoke", "--socket"])
        .arg(dir.path().join("s.sock"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on non-loopback address 0.0.0.0:0 without TLS"),
        "{err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "no READY line"
    );
}
