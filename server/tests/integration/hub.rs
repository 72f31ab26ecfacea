//! The hub with real spokes: an embedded one and spokes it dials over TCP.
//! Merged lists, routing, health, stale sessions, retries, fan-out.

use std::time::{Duration, Instant};

use tokio_stream::StreamExt;
use vtr_shared::proto as pb;

use crate::harness::*;

fn info(session: &str) -> pb::SessionRequest {
    pb::SessionRequest {
        session: session.to_owned(),
    }
}

fn names(list: &pb::SessionList) -> Vec<String> {
    let mut names: Vec<String> = list
        .sessions
        .iter()
        .map(|s| format!("{}:{}", s.spoke, s.name))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn merges_sessions_and_routes_calls_to_their_spokes() {
    let a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let b = Spoke::start_named("beta", &["--listen", "127.0.0.1:0"]);
    let hub = Hub::start(&[a.dial("a"), b.dial("b")], &[]);
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    hub.wait_state("b", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;

    // Spawn on each spoke through the hub: by prefix, and by default on
    // the embedded spoke.
    spawn(&mut c, "a:one", "/bin/sh", &[]).await;
    spawn(&mut c, "b:two", "/bin/sh", &[]).await;
    spawn(&mut c, "three", "/bin/sh", &[]).await;
    let list = wait_until("all three sessions listed", || async {
        let list = hub
            .client()
            .await
            .list(pb::ListRequest {})
            .await
            .ok()?
            .into_inner();
        (list.sessions.len() == 3).then_some(list)
    })
    .await;
    assert_eq!(names(&list), ["a:one", "b:two", "hub:three"]);
    assert!(
        list.sessions
            .iter()
            .all(|s| !s.stale && s.spoke_last_seen_ms > 0)
    );

    // The session really runs on its spoke (which knows itself as alpha).
    let direct = a
        .client()
        .await
        .info(info("one"))
        .await
        .expect("on a")
        .into_inner();
    assert_eq!(direct.spoke, "alpha");

    // Input and output through the hub, by address and by unique name.
    let line = send_and_wait(&mut c, "b:two", "echo via-$((20+22))-hub", "via-42-hub").await;
    assert_eq!(line, "via-42-hub");
    send_and_wait(&mut c, "one", "echo short-name-works", "short-name-works").await;
    let screen = c
        .get_screen(info("b:two"))
        .await
        .expect("screen")
        .into_inner();
    assert!(
        screen.lines.iter().any(|l| l == "via-42-hub"),
        "{:?}",
        screen.lines
    );

    // Errors name the spoke, or the spokes there are.
    let err = c.info(info("a:nope")).await.expect_err("no such session");
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(err.message().contains("spoke \"a\""), "{}", err.message());
    let err = c.info(info("zz:one")).await.expect_err("no such spoke");
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(err.message().contains("hub, a, b"), "{}", err.message());

    // A name on two spokes is ambiguous without its spoke.
    spawn(&mut c, "a:dup", "/bin/sh", &[]).await;
    spawn(&mut c, "b:dup", "/bin/sh", &[]).await;
    wait_until("both dups listed", || async {
        let list = hub
            .client()
            .await
            .list(pb::ListRequest {})
            .await
            .ok()?
            .into_inner();
        (list.sessions.iter().filter(|s| s.name == "dup").count() == 2).then_some(())
    })
    .await;
    let err = c.info(info("dup")).await.expect_err("ambiguous");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("a, b"), "{}", err.message());

    // The CLI against the hub socket: spoke:session addresses.
    let out = hub.cli(&["ls"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a:one") && text.contains("hub:three"),
        "{text}"
    );
    let out = hub.cli(&["kill", "b:two"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hub.cli(&["wait", "zz:x", "y"]);
    assert_eq!(out.status.code(), Some(3), "not found");
}

#[tokio::test]
async fn spokes_report_health_as_json() {
    let a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0", "--label", "zone=lab"]);
    let hub = Hub::start(&[a.dial("a")], &[]);
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    let out = hub.cli(&["spokes", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let spokes = list.as_array().expect("a list");
    assert_eq!(spokes.len(), 2);
    let a = spokes.iter().find(|s| s["name"] == "a").expect("a listed");
    assert_eq!(a["state"], "healthy");
    assert_eq!(a["joined"], "dialled");
    assert_eq!(a["labels"]["zone"], "lab");
    assert_eq!(a["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(a["sessions"], 0);
    assert!(a["rtt_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{a}");
    assert!(
        a["last_seen"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{a}"
    );
    let local = spokes
        .iter()
        .find(|s| s["name"] == "hub")
        .expect("embedded spoke");
    assert_eq!(local["joined"], "local");
}

#[tokio::test]
async fn a_killed_spoke_goes_stale_while_others_stream_on() {
    let mut a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let b = Spoke::start_named("beta", &["--listen", "127.0.0.1:0"]);
    let hub = Hub::start(&[a.dial("a"), b.dial("b")], &[]);
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    hub.wait_state("b", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    spawn(&mut c, "a:doomed", "/bin/sh", &[]).await;
    // A steady stream on b: a line every 20 ms.
    spawn(
        &mut c,
        "b:ticker",
        "/bin/sh",
        &[
            "-c",
            "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.02; done",
        ],
    )
    .await;
    let mut stream = c
        .subscribe(pb::SubscribeRequest {
            session: "b:ticker".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe")
        .into_inner();
    next_event(&mut stream).await;
    wait_until("a's session listed", || async {
        let list = hub
            .client()
            .await
            .list(pb::ListRequest {})
            .await
            .ok()?
            .into_inner();
        list.sessions
            .iter()
            .any(|s| s.name == "doomed")
            .then_some(())
    })
    .await;

    a.kill();
    let killed = Instant::now();
    let info = hub.wait_state("a", pb::SpokeState::Unreachable).await;
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "unreachable after {:?}",
        killed.elapsed()
    );
    assert!(info.last_seen_ms > 0);
    let list = c
        .list(pb::ListRequest {})
        .await
        .expect("list is partial, not an error")
        .into_inner();
    let doomed = list
        .sessions
        .iter()
        .find(|s| s.name == "doomed")
        .expect("still listed");
    assert!(doomed.stale, "marked stale");
    assert_eq!(doomed.spoke_last_seen_ms, info.last_seen_ms);
    let err = c.info(self::info("a:doomed")).await.expect_err("a is down");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert!(
        err.message().contains("spoke \"a\" unreachable"),
        "{}",
        err.message()
    );

    // b's stream goes on: output produced after the kill arrives.
    let after_kill = c
        .info(self::info("b:ticker"))
        .await
        .expect("b")
        .into_inner()
        .output_offset;
    within("b's output after a died", async {
        while let Some(event) = stream.next().await {
            if let Some(pb::subscribe_event::Event::Output(o)) = event.expect("event").event
                && o.offset > after_kill
            {
                return;
            }
        }
        panic!("b's stream ended");
    })
    .await;

    // Back on its port: healthy again; its old sessions died with it.
    a.restart_same_port();
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    wait_until("a's dead sessions dropped", || async {
        let list = hub
            .client()
            .await
            .list(pb::ListRequest {})
            .await
            .ok()?
            .into_inner();
        (!list.sessions.iter().any(|s| s.name == "doomed")).then_some(())
    })
    .await;
    spawn(&mut c, "a:reborn", "/bin/sh", &[]).await;
    send_and_wait(&mut c, "a:reborn", "echo back-$((6*7))", "back-42").await;
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good");
    let bad = dir.path().join("bad");
    write_token(&good, "the-right-token-0123456789");
    write_token(&bad, "the-wrong-token-0123456789");
    let good_arg = good.display().to_string();
    let a = Spoke::start_named(
        "alpha",
        &["--listen", "127.0.0.1:0", "--listen-token-file", &good_arg],
    );
    let hub = Hub::start(
        &[
            Dial {
                name: "wrong",
                url: a.url(),
                token_file: Some(bad),
            },
            Dial {
                name: "right",
                url: a.url(),
                token_file: Some(good),
            },
        ],
        &[],
    );
    hub.wait_state("right", pb::SpokeState::Healthy).await;
    let wrong = hub.wait_state("wrong", pb::SpokeState::Unreachable).await;
    assert!(wrong.last_error.contains("token"), "{}", wrong.last_error);
}

#[tokio::test]
async fn a_spoke_name_taken_by_the_embedded_spoke_is_refused() {
    let a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("vtrpc.toml");
    std::fs::write(
        &config,
        format!(
            "[[federation.spokes]]\nname = \"hub\"\naddress = \"{}\"\n",
            a.url()
        ),
    )
    .expect("write");
    let out = vtr(dir.path())
        .args([
            "--config",
            &config.display().to_string(),
            "hub",
            "--name",
            "hub",
        ])
        .args(["--listen", "127.0.0.1:0", "--socket"])
        .arg(dir.path().join("hub.sock"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"hub\" is already taken"), "{err}");
}

#[tokio::test]
async fn sixty_four_subscribers_share_one_upstream_stream() {
    let a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let hub = Hub::start(&[a.dial("a")], &["--no-local-spoke"]);
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    spawn(
        &mut c,
        "a:cat",
        "/bin/sh",
        &["-c", "read go; seq 1 2000; read end"],
    )
    .await;
    let mut streams = Vec::new();
    for _ in 0..64 {
        let stream = c
            .subscribe(pb::SubscribeRequest {
                session: "a:cat".into(),
                from_offset: None,
            })
            .await
            .expect("subscribe")
            .into_inner();
        streams.push(stream);
    }
    // Every subscriber has its snapshot before the output starts.
    for stream in &mut streams {
        let first = next_event(stream).await;
        assert!(matches!(
            first.event,
            Some(pb::subscribe_event::Event::Snapshot(_))
        ));
    }
    let subscribers = a
        .client()
        .await
        .info(info("cat"))
        .await
        .expect("info")
        .into_inner()
        .subscribers;
    assert_eq!(subscribers, 1, "the spoke serves one stream");
    let metrics = hub.metrics().await;
    assert_eq!(
        metric(&metrics, "vtr_upstream_streams"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(metric(&metrics, "vtr_subscribers"), Some(64.0), "{metrics}");

    c.send_bytes(pb::SendBytesRequest {
        session: "a:cat".into(),
        data: b"go\n".to_vec().into(),
        ..Default::default()
    })
    .await
    .expect("send");
    let expected: String = std::iter::once("go".to_owned())
        .chain((1..=2000).map(|i| i.to_string()))
        .map(|l| l + "\r\n")
        .collect();
    for stream in &mut streams {
        let mut got = Vec::new();
        within("every subscriber's copy", async {
            while got.len() < expected.len() {
                match next_event(stream).await.event {
                    Some(pb::subscribe_event::Event::Output(o)) => got.extend_from_slice(&o.data),
                    other => panic!("unexpected {other:?}"),
                }
            }
        })
        .await;
        assert_eq!(String::from_utf8_lossy(&got), expected);
    }
}

#[tokio::test]
async fn a_stream_resumes_by_offset_across_a_hub_restart() {
    let a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let mut hub = Hub::start(&[a.dial("a")], &[]);
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    let script = "for i in $(seq 1 300); do echo n$i; sleep 0.01; done; read end";
    spawn(&mut c, "a:count", "/bin/sh", &["-c", script]).await;
    let subscribe = |from| pb::SubscribeRequest {
        session: "a:count".into(),
        from_offset: Some(from),
    };
    let mut got = Vec::new();
    let mut stream = c
        .subscribe(subscribe(0))
        .await
        .expect("subscribe")
        .into_inner();
    while got.len() < 100 {
        match next_event(&mut stream).await.event {
            Some(pb::subscribe_event::Event::Output(o)) => {
                assert_eq!(o.offset, got.len() as u64, "contiguous");
                got.extend_from_slice(&o.data);
            }
            Some(pb::subscribe_event::Event::Idle(_) | pb::subscribe_event::Event::Resized(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(stream);

    hub.restart();
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    let expected: String = (1..=300).map(|i| format!("n{i}\r\n")).collect();
    let mut stream = c
        .subscribe(subscribe(got.len() as u64))
        .await
        .expect("resubscribe")
        .into_inner();
    within("the rest of the output", async {
        while got.len() < expected.len() {
            match next_event(&mut stream).await.event {
                Some(pb::subscribe_event::Event::Output(o)) => {
                    assert_eq!(o.offset, got.len() as u64, "resumed where it left off");
                    got.extend_from_slice(&o.data);
                }
                Some(pb::subscribe_event::Event::Snapshot(s)) => {
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
async fn watch_spokes_pushes_health_changes() {
    let mut a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let hub = Hub::start(&[a.dial("a")], &[]);
    let mut watch = hub
        .federation()
        .await
        .watch_spokes(pb::WatchSpokesRequest {})
        .await
        .expect("watch")
        .into_inner();
    let state_of_a =
        |list: &pb::SpokeList| list.spokes.iter().find(|s| s.name == "a").map(|s| s.state);
    within("a healthy, pushed", async {
        while state_of_a(&next_event(&mut watch).await) != Some(pb::SpokeState::Healthy as i32) {}
    })
    .await;
    a.kill();
    within("a unreachable, pushed", async {
        while state_of_a(&next_event(&mut watch).await) != Some(pb::SpokeState::Unreachable as i32)
        {
        }
    })
    .await;
}

#[test]
fn a_failed_start_leaves_no_socket_file() {
    // The TCP port is taken: hub and spoke fail after binding their
    // sockets, and take the socket files with them.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("dir");
    for (role, socket) in [("hub", "hub.sock"), ("spoke", "spoke.sock")] {
        let socket = dir.path().join(socket);
        let out = vtr(dir.path())
            .args([role, "--name", "late", "--listen", &port, "--socket"])
            .arg(&socket)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{role}: {stderr}");
        assert!(stderr.contains(&port), "{role} names the address: {stderr}");
        assert!(!socket.exists(), "{role} left {}", socket.display());
    }
}

#[tokio::test]
async fn the_hub_lists_what_was_just_done_through_it() {
    // Read your writes: a script's `vtr spawn x; vtr ls` sees x, on the
    // embedded spoke and on a dialled one, however the spoke's own list
    // updates are scheduled.
    let remote = Spoke::start_named("far", &["--listen", "127.0.0.1:0"]);
    let hub = Hub::start(&[remote.dial("far")], &[]);
    hub.wait_state("far", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    let list = |mut c: vtr::transport::grpc::client::VtrClient| async move {
        names(&c.list(pb::ListRequest {}).await.expect("list").into_inner())
    };
    for spoke in ["hub", "far"] {
        for i in 0..20 {
            let name = format!("{spoke}:s{i}");
            spawn(&mut c, &name, "/bin/sh", &[]).await;
            assert!(
                list(c.clone()).await.contains(&name),
                "{name} listed after spawn"
            );
            let renamed = format!("{spoke}:r{i}");
            c.rename(pb::RenameRequest {
                session: name.clone(),
                new_name: format!("r{i}"),
            })
            .await
            .expect("rename");
            let names = list(c.clone()).await;
            assert!(
                names.contains(&renamed) && !names.contains(&name),
                "{names:?}"
            );
            c.remove(pb::RemoveRequest {
                session: renamed.clone(),
                force: true,
            })
            .await
            .expect("remove");
            assert!(
                !list(c.clone()).await.contains(&renamed),
                "{renamed} gone after remove"
            );
        }
    }
}
