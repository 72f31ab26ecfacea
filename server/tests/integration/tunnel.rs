//! Tunnelled spokes: they dial the hub, which calls them back over the
//! same connection. Rejoining after a hub restart, name collisions, tokens.

use std::path::{Path, PathBuf};

use vtr_shared::proto as pb;
use vtr_shared::proto::subscribe_event::Event;

use crate::attach::{attach, input, open};
use crate::harness::*;

#[tokio::test]
async fn a_tunnelled_spoke_rejoins_a_restarted_hub_and_attach_resumes() {
    let mut hub = Hub::start(&[], &[]);
    let _spoke = hub.tunnelled_spoke("tun").await;
    let listed = hub.spokes().await;
    let tun = listed.iter().find(|s| s.name == "tun").expect("listed");
    assert_eq!(tun.joined, pb::SpokeJoin::Tunnelled as i32);

    let mut c = hub.client().await;
    let script = "read go; for i in $(seq 1 300); do echo n$i; sleep 0.01; done; read end";
    spawn(&mut c, "tun:count", "/bin/sh", &["-c", script]).await;
    let (tx, mut stream) = attach(&mut c, open("tun:count", Some(0)))
        .await
        .expect("attach");
    tx.send(input(b"go\n")).await.expect("type");
    let mut got = Vec::new();
    while got.len() < 200 {
        if let Some(Event::Output(o)) = next_event(&mut stream).await.event {
            assert_eq!(o.offset, got.len() as u64, "contiguous");
            got.extend_from_slice(&o.data);
        }
    }
    drop((tx, stream));

    hub.restart();
    hub.wait_state("tun", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    let (_tx, mut stream) = attach(&mut c, open("tun:count", Some(got.len() as u64)))
        .await
        .expect("attach again");
    let expected: String = std::iter::once("go".to_owned())
        .chain((1..=300).map(|i| format!("n{i}")))
        .map(|l| l + "\r\n")
        .collect();
    within("the rest of the output", async {
        while got.len() < expected.len() {
            match next_event(&mut stream).await.event {
                Some(Event::Output(o)) => {
                    assert_eq!(o.offset, got.len() as u64, "resumed where it left off");
                    got.extend_from_slice(&o.data);
                }
                Some(Event::Snapshot(s)) => {
                    panic!("a snapshot at {} instead of a replay", s.offset)
                }
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[tokio::test]
async fn a_known_spoke_not_yet_back_after_a_hub_restart_is_unavailable_not_unknown() {
    let mut hub = Hub::start(&[], &[]);
    let mut spoke = hub.tunnelled_spoke("tun").await;
    spoke.kill();
    hub.restart();

    // Listed, and calls for it are retryable, not "no such spoke".
    let listed = hub.spokes().await;
    let tun = listed
        .iter()
        .find(|s| s.name == "tun")
        .expect("still listed");
    assert_ne!(tun.state, pb::SpokeState::Healthy as i32);
    let mut c = hub.client().await;
    let err = c
        .info(pb::SessionRequest {
            session: "tun:x".into(),
        })
        .await
        .expect_err("not back yet");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let out = hub.cli(&["screen", "tun:x"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unavailable"), "{stderr}");
    // A name no spoke ever had is still unknown.
    let err = c
        .info(pb::SessionRequest {
            session: "never:x".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");

    // It comes back, with its address.
    spoke.restart();
    let back = hub.wait_state("tun", pb::SpokeState::Healthy).await;
    assert!(back.address.starts_with("127.0.0.1:"), "{back:?}");
}

/// Runs a spoke that should be refused; its exit status and stderr.
fn refused_spoke(name: &str, hub: &str, extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("dir");
    let out = vtr(dir.path())
        .args(["spoke", "--name", name, "--hub", hub, "--socket"])
        .arg(dir.path().join("s.sock"))
        .args(extra)
        .output()
        .expect("run spoke");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_second_spoke_claiming_a_connected_name_is_refused_on_both_sides() {
    let hub = Hub::start(&[], &[]);
    let url = hub.url();
    let token = hub.token_file().display().to_string();
    let _first = Spoke::start_named("twin", &["--hub", &url, "--token-file", &token]);
    hub.wait_state("twin", pb::SpokeState::Healthy).await;
    let token_arg = token.clone();
    let (code, stderr) = within("the second spoke to give up", async {
        tokio::task::spawn_blocking(move || {
            refused_spoke("twin", &url, &["--token-file", &token_arg])
        })
        .await
        .expect("join")
    })
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("\"twin\" is already taken"), "{stderr}");
    assert!(
        hub.log().contains("\"twin\" is already taken"),
        "{}",
        hub.log()
    );
    // The embedded spoke's name is taken too.
    let url = hub.url();
    let (code, stderr) =
        tokio::task::spawn_blocking(move || refused_spoke("hub", &url, &["--token-file", &token]))
            .await
            .expect("join");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("embedded"), "{stderr}");
    // The first one is still the one listed, and healthy.
    hub.wait_state("twin", pb::SpokeState::Healthy).await;
}

/// A spoke with `bad` (or none) is refused with a clear error; one with
/// `good` joins.
async fn only_the_tunnel_token_joins(hub: &Hub, good: &Path, bad: &Path) {
    for presented in [Some(bad.display().to_string()), None] {
        let url = hub.url();
        let (code, stderr) = within("the spoke to give up", async {
            tokio::task::spawn_blocking(move || {
                let extra: Vec<&str> = presented
                    .as_deref()
                    .map_or_else(Vec::new, |p| vec!["--token-file", p]);
                refused_spoke("intruder", &url, &extra)
            })
            .await
            .expect("join")
        })
        .await;
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("refused the spoke's token") || stderr.contains("could not prove"),
            "{stderr}"
        );
    }
    let good_arg = good.display().to_string();
    let url = hub.url();
    let _spoke = Spoke::start_named("friend", &["--hub", &url, "--token-file", &good_arg]);
    hub.wait_state("friend", pb::SpokeState::Healthy).await;
    assert!(!hub.spokes().await.iter().any(|s| s.name == "intruder"));
}

fn tokens(dir: &Path) -> (PathBuf, PathBuf) {
    let good = dir.join("good");
    let bad = dir.join("bad");
    write_token(&good, "tunnel-token-0123456789");
    write_token(&bad, "wrong-token-0123456789");
    (good, bad)
}

#[tokio::test]
async fn the_configured_tunnel_token_is_enforced() {
    let dir = tempfile::tempdir().expect("dir");
    let (good, bad) = tokens(dir.path());
    let config = format!(
        "[federation]\ntoken_file = {:?}\n",
        good.display().to_string()
    );
    let hub = Hub::start_with_config(&config, &[], &[]);
    only_the_tunnel_token_joins(&hub, &good, &bad).await;
}

#[tokio::test]
async fn the_hub_token_file_flag_is_the_tunnel_token() {
    let dir = tempfile::tempdir().expect("dir");
    let (good, bad) = tokens(dir.path());
    let hub = Hub::start(&[], &["--token-file", &good.display().to_string()]);
    only_the_tunnel_token_joins(&hub, &good, &bad).await;
    // The hub's own token is for its users, not spokes, once one is set.
    let url = hub.url();
    let own = hub.token_file().display().to_string();
    let (code, stderr) = within("the spoke to give up", async {
        tokio::task::spawn_blocking(move || refused_spoke("other", &url, &["--token-file", &own]))
            .await
            .expect("join")
    })
    .await;
    assert_eq!(code, Some(1), "{stderr}");
}

#[tokio::test]
async fn by_default_tunnels_need_the_hub_token() {
    let hub = Hub::start(&[], &[]);
    let bad = tempfile::tempdir().expect("dir");
    let (_, wrong) = tokens(bad.path());
    only_the_tunnel_token_joins(&hub, &hub.token_file(), &wrong).await;
}

/// A tunnel upgrade by hand, as an impostor would send it: the status and
/// body of the hub's answer.
async fn hand_made_tunnel(
    hub: &Hub,
    name: &str,
    instance: &str,
    key: Option<&str>,
) -> (u16, String) {
    let key = key.map_or_else(String::new, |k| format!("x-vtr-spoke-key: {k}\r\n"));
    let head = format!(
        "GET /vtr/tunnel HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\n\
         Upgrade: vtr-tunnel/1\r\nx-vtr-spoke: {name}\r\nx-vtr-instance: {instance}\r\n\
         Authorization: Bearer {token}\r\n{key}\r\n",
        addr = hub.ready.get("listen").expect("listen"),
        token = hub.token(),
    );
    let r = raw_request(hub.ready.get("listen").expect("listen"), &head).await;
    (r.status, r.body)
}

#[tokio::test]
async fn a_published_instance_id_and_the_shared_token_do_not_make_a_spoke() {
    let hub = Hub::start(&[], &[]);
    let join = hub.join_args();
    let join: Vec<&str> = join.iter().map(String::as_str).collect();
    let mut victim = Spoke::start_named("victim", &join);
    let listed = hub.wait_state("victim", pb::SpokeState::Healthy).await;
    assert!(!listed.instance.is_empty(), "the instance id is published");

    // Its published instance id, the hub's token, but not its key.
    let forged = "a-forged-key-0123456789abcdef0123456789";
    let (status, body) = hand_made_tunnel(&hub, "victim", &listed.instance, Some(forged)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("belongs to another spoke"), "{body}");
    let (status, _) = hand_made_tunnel(&hub, "victim", &listed.instance, None).await;
    assert_eq!(status, 400);
    hub.wait_state("victim", pb::SpokeState::Healthy).await;

    // Gone for a while, its name is still its own...
    victim.kill();
    let url = hub.url();
    let token = hub.token_file().display().to_string();
    let (code, stderr) = within("the impostor to give up", async {
        tokio::task::spawn_blocking(move || {
            refused_spoke("victim", &url, &["--token-file", &token])
        })
        .await
        .expect("join")
    })
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("belongs to another spoke"), "{stderr}");
    // ...and it takes it back with its own key.
    victim.restart();
    hub.wait_state("victim", pb::SpokeState::Healthy).await;

    // The hub's owner can hand the name to a rebuilt spoke.
    victim.kill();
    let out = hub
        .command()
        .args(["hub", "forget-spoke", "victim", "--name", "hub"])
        .output()
        .expect("forget-spoke");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _rebuilt = Spoke::start_named("victim", &join);
    hub.wait_state("victim", pb::SpokeState::Healthy).await;
}

#[tokio::test]
async fn a_tunnelled_spoke_gone_long_enough_is_forgotten() {
    let hub = Hub::start(&[], &["--forget-spokes-after", "1s"]);
    let mut brief = hub.tunnelled_spoke("brief").await;
    let mut c = hub.client().await;
    spawn(&mut c, "brief:s", "/bin/sh", &[]).await;
    brief.kill();
    wait_until("the gone spoke to be forgotten", || async {
        let spokes = hub.spokes().await;
        (!spokes.iter().any(|s| s.name == "brief")).then_some(())
    })
    .await;
    let list = c.list(pb::ListRequest {}).await.expect("list").into_inner();
    assert!(list.sessions.iter().all(|s| s.spoke != "brief"));
    // It may come back: its name is still its own.
    brief.restart();
    hub.wait_state("brief", pb::SpokeState::Healthy).await;
}

#[tokio::test]
async fn a_spoke_sends_no_secret_to_a_hub_impostor() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Someone else listens where the spoke expects its hub, and answers
    // the hello as a hub would, but cannot prove it knows the token.
    let squatter = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", squatter.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("dir");
    let token = dir.path().join("token");
    write_token(&token, "the-real-hub-token-0123456789");
    let token_arg = token.display().to_string();
    let spoke = tokio::task::spawn_blocking(move || {
        refused_spoke("careful", &url, &["--token-file", &token_arg])
    });
    let (mut conn, _) = within("the spoke to call", squatter.accept())
        .await
        .expect("accept");
    let mut heard = Vec::new();
    let mut buf = vec![0u8; 8192];
    let n = within("the hello", conn.read(&mut buf))
        .await
        .expect("read");
    heard.extend_from_slice(&buf[..n]);
    let forged = "HTTP/1.1 204 No Content\r\nx-vtr-hub-proof: 00ff00ff\r\n\r\n";
    conn.write_all(forged.as_bytes()).await.expect("answer");
    // Everything else the spoke sends on this connection, until it gives up.
    let rest = within("the spoke to hang up", async {
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).await.map(|_| rest)
    })
    .await
    .unwrap_or_default();
    heard.extend_from_slice(&rest);
    let (code, stderr) = within("the spoke to give up", spoke).await.expect("join");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("could not prove"), "{stderr}");
    let heard = String::from_utf8_lossy(&heard);
    assert!(heard.contains("/vtr/tunnel/hello"), "{heard}");
    assert!(
        !heard.contains("the-real-hub-token"),
        "the token leaked: {heard}"
    );
    assert!(
        !heard.contains("x-vtr-spoke-key"),
        "the key leaked: {heard}"
    );
}
