//! Session lifecycle through the gRPC API: shell round trip, exit, info,
//! resize, rename, kill, remove, watch, idle.

use tokio_stream::StreamExt;
use vtr_shared::proto as pb;

use crate::harness::*;

#[tokio::test]
async fn shell_round_trip_and_exit_keeps_the_final_screen() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let info = c
        .spawn(spawn_request("sh1", "/bin/sh", &[]))
        .await
        .expect("spawn")
        .into_inner();
    assert_eq!(info.name, "sh1");
    assert_eq!(info.spoke, "test");
    assert_eq!((info.cols, info.rows), (80, 24));
    assert_eq!(info.status, pb::SessionStatus::Running as i32);

    let line = send_and_wait(&mut c, "sh1", "echo answer=$((6*7))", "answer=42").await;
    assert!(line.ends_with("answer=42"), "{line}");
    wait_screen(&mut c, "sh1", "the answer on screen", |l| {
        l.iter().any(|l| l.ends_with("answer=42"))
    })
    .await;

    c.send_text(pb::SendTextRequest {
        session: "sh1".into(),
        text: "echo bye; exit 3".into(),
        submit: true,
        ..Default::default()
    })
    .await
    .expect("send");
    let info = wait_exit(&mut c, "sh1").await;
    assert_eq!(info.status, pb::SessionStatus::Exited as i32);
    assert_eq!(info.exit_code, Some(3));
    assert!(info.exited_at_ms >= info.created_at_ms);
    // The final screen outlives the process.
    let lines = screen_lines(&mut c, "sh1").await;
    assert!(lines.iter().any(|l| l.ends_with("bye")), "{lines:?}");
    // Input to an exited session is refused clearly.
    let err = c
        .send_text(pb::SendTextRequest {
            session: "sh1".into(),
            text: "x".into(),
            submit: false,
            ..Default::default()
        })
        .await
        .expect_err("exited");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(err.message().contains("has exited"), "{}", err.message());

    c.remove(pb::RemoveRequest {
        session: "sh1".into(),
        force: false,
    })
    .await
    .expect("remove");
    let err = c
        .info(pb::SessionRequest {
            session: "sh1".into(),
        })
        .await
        .expect_err("removed");
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn the_pty_is_freed_at_exit() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let ptys = || {
        std::fs::read_dir(format!("/proc/{}/fd", spoke.pid()))
            .expect("fd dir")
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|p| p.to_string_lossy().contains("ptmx"))
            .count()
    };
    for i in 0..3 {
        spawn(&mut c, &format!("t{i}"), "sh", &["-c", "read x"]).await;
    }
    assert!(ptys() >= 3, "a PTY per running session");
    for i in 0..3 {
        c.send_text(pb::SendTextRequest {
            session: format!("t{i}"),
            text: "go".into(),
            submit: true,
            ..Default::default()
        })
        .await
        .expect("send");
        let info = wait_exit(&mut c, &format!("t{i}")).await;
        assert_eq!(info.exit_code, Some(0));
    }
    wait_until("PTYs closed", || async { (ptys() == 0).then_some(()) }).await;
}

/// Threads of a process, from /proc.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

#[tokio::test]
async fn idle_sessions_hold_no_threads() {
    // Each session used to cost four threads (reader, parser, writer,
    // waiter): 2,500 sessions took about 10,000.
    const SESSIONS: usize = 40;
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let before = threads(spoke.pid());
    for i in 0..SESSIONS {
        let name = format!("idle{i}");
        spawn(&mut c, &name, "cat", &[]).await;
        send_and_wait(&mut c, &name, "ping", "ping").await;
    }
    // The parsers have run; each ends a few seconds after its output.
    // What may remain is the runtime's own (its pool of blocking threads).
    let settled = wait_until("the sessions' threads to end", || async {
        let now = threads(spoke.pid());
        (now <= before + 8).then_some(now)
    })
    .await;
    // Still alive and answering, with no thread of their own.
    for i in 0..SESSIONS {
        send_and_wait(&mut c, &format!("idle{i}"), "pong", "pong").await;
    }
    assert!(
        settled < before + SESSIONS,
        "{before} threads before, {settled} after"
    );
}

#[tokio::test]
async fn removing_a_session_hangs_up_on_a_background_process_holding_its_terminal() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    // `yes` is left behind writing to the terminal, deaf to the hangup
    // signal its session leader's death sends; that leader is `sleep`.
    spawn(
        &mut c,
        "bg",
        "sh",
        &["-c", "trap '' HUP; yes & echo \"bg=$!=\"; exec sleep 1000"],
    )
    .await;
    let found = c
        .wait_for(pb::WaitForRequest {
            session: "bg".to_owned(),
            pattern: "bg=[0-9]+=".into(),
            timeout_ms: timeout().as_millis() as u64,
            from_offset: Some(0),
        })
        .await
        .expect("wait for the pid")
        .into_inner();
    assert_eq!(found.outcome, pb::WaitOutcome::Matched as i32);
    let pid: u32 = found
        .line
        .split('=')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a pid in {:?}", found.line));
    c.remove(pb::RemoveRequest {
        session: "bg".to_owned(),
        force: true,
    })
    .await
    .expect("remove");
    // The terminal hung up: its writes fail and it ends (a zombie until
    // something reaps it, or gone).
    wait_until("the background process to end", || async {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        matches!(state, None | Some("Z" | "X")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn kill_resize_rename_and_remove() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "k", "/bin/sh", &[]).await;

    let mut stream = c
        .subscribe(pb::SubscribeRequest {
            session: "k".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe")
        .into_inner();
    // The snapshot first: it fixes the size the stream started with.
    let first = next_event(&mut stream).await.event;
    assert!(matches!(
        first,
        Some(pb::subscribe_event::Event::Snapshot(_))
    ));
    let info = c
        .resize(pb::ResizeRequest {
            session: "k".into(),
            cols: 120,
            rows: 40,
        })
        .await
        .expect("resize")
        .into_inner();
    assert_eq!((info.cols, info.rows), (120, 40));
    send_and_wait(&mut c, "k", "stty size", r"\b40 120").await;
    // Subscribers hear about the new size.
    loop {
        let event = next_event(&mut stream).await.event;
        if let Some(pb::subscribe_event::Event::Resized(r)) = event {
            assert_eq!((r.cols, r.rows), (120, 40));
            break;
        }
    }

    let renamed = c
        .rename(pb::RenameRequest {
            session: "k".into(),
            new_name: "k2".into(),
        })
        .await
        .expect("rename")
        .into_inner();
    assert_eq!(renamed.name, "k2");
    // The id still works, the old name does not.
    c.info(pb::SessionRequest {
        session: renamed.id.clone(),
    })
    .await
    .expect("by id");
    let err = c
        .info(pb::SessionRequest {
            session: "k".into(),
        })
        .await
        .expect_err("old name");
    assert_eq!(err.code(), tonic::Code::NotFound);
    // `spoke:session` addresses work on a spoke too.
    c.info(pb::SessionRequest {
        session: "test:k2".into(),
    })
    .await
    .expect("spoke:session");

    let err = c
        .remove(pb::RemoveRequest {
            session: "k2".into(),
            force: false,
        })
        .await
        .expect_err("running");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);

    c.kill(pb::KillRequest {
        session: "k2".into(),
        signal: "KILL".into(),
    })
    .await
    .expect("kill");
    let info = wait_exit(&mut c, "k2").await;
    assert_eq!(info.exit_code, None);
    assert_eq!(info.exit_signal, "SIGKILL");
    c.remove(pb::RemoveRequest {
        session: "k2".into(),
        force: false,
    })
    .await
    .expect("remove exited");
}

#[tokio::test]
async fn watch_sessions_streams_full_lists_on_change() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let mut watch = c
        .watch_sessions(pb::WatchSessionsRequest {})
        .await
        .expect("watch")
        .into_inner();
    let first = next_event(&mut watch).await;
    assert!(first.sessions.is_empty());
    spawn(&mut c, "w1", "sh", &["-c", "read x"]).await;
    loop {
        let list = next_event(&mut watch).await;
        if list.sessions.iter().any(|s| s.name == "w1") {
            break;
        }
    }
    c.remove(pb::RemoveRequest {
        session: "w1".into(),
        force: true,
    })
    .await
    .expect("force remove");
    loop {
        let list = next_event(&mut watch).await;
        if list.sessions.is_empty() {
            break;
        }
    }
}

#[tokio::test]
async fn idle_is_detected_and_reported() {
    let spoke = Spoke::start_with(&["--idle-after", "300ms"]);
    let mut c = spoke.client().await;
    spawn(&mut c, "i", "/bin/sh", &[]).await;
    let mut stream = c
        .subscribe(pb::SubscribeRequest {
            session: "i".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe")
        .into_inner();
    loop {
        if let Some(pb::subscribe_event::Event::Idle(i)) = next_event(&mut stream).await.event {
            assert!(i.idle, "the first idle change is to idle");
            break;
        }
    }
    let info = c
        .info(pb::SessionRequest {
            session: "i".into(),
        })
        .await
        .expect("info")
        .into_inner();
    assert!(info.idle);
    send_and_wait(&mut c, "i", "echo bu$((0))sy", "bu0sy").await;
    loop {
        let event = next_event(&mut stream).await.event;
        if let Some(pb::subscribe_event::Event::Idle(i)) = event {
            assert!(!i.idle, "output ends idleness");
            break;
        }
    }

    // WaitForIdle: silence after the call starts, with the screen.
    let r = c
        .wait_for_idle(pb::WaitForIdleRequest {
            session: "i".into(),
            idle_ms: 200,
            timeout_ms: 10_000,
            include_screen: true,
        })
        .await
        .expect("idle")
        .into_inner();
    assert_eq!(r.outcome, pb::WaitOutcome::Idle as i32);
    assert!(
        r.screen
            .expect("screen")
            .lines
            .iter()
            .any(|l| l.ends_with("bu0sy"))
    );

    // A session that never goes quiet times out.
    spawn(&mut c, "busy", "sh", &["-c", "while :; do echo x; done"]).await;
    let r = c
        .wait_for_idle(pb::WaitForIdleRequest {
            session: "busy".into(),
            idle_ms: 500,
            timeout_ms: 1500,
            include_screen: false,
        })
        .await
        .expect("idle")
        .into_inner();
    assert_eq!(r.outcome, pb::WaitOutcome::TimedOut as i32);
}

#[tokio::test]
async fn health_and_reflection_are_served() {
    let spoke = Spoke::start();
    let channel = vtr::transport::grpc::client::channel(
        &vtr::transport::grpc::client::Target::Unix(spoke.socket.clone()),
    )
    .await
    .expect("channel");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "vtr.v1.Vtr".into(),
        })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection")
        .into_inner();
    let response = within("reflection", responses.next())
        .await
        .expect("response")
        .expect("ok");
    let text = format!("{response:?}");
    assert!(text.contains("vtr.v1.Vtr"), "{text}");
}
