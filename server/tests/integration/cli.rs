//! The client CLI against a real spoke: output, --json, exit codes, attach.

use std::os::unix::fs::PermissionsExt;

use vtr_shared::proto as pb;

use crate::harness::*;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn cli_commands_and_exit_codes() {
    let spoke = Spoke::start();
    let mode = std::fs::metadata(&spoke.socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "socket is owner-only");

    let out = spoke.cli(&[
        "spawn",
        "c1",
        "--cols",
        "100",
        "--rows",
        "30",
        "--env",
        "GREETING=hi",
        "--",
        "/bin/sh",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "c1");

    let out = spoke.cli(&[
        "send",
        "c1",
        "echo $GREETING-$((40+2))",
        "--submit",
        "--wait",
        "hi-42",
        "--timeout",
        "10s",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).trim().ends_with("hi-42"), "{}", stdout(&out));

    let out = spoke.cli(&["screen", "c1"]);
    assert!(
        stdout(&out).lines().any(|l| l.ends_with("hi-42")),
        "{}",
        stdout(&out)
    );
    let out = spoke.cli(&["screen", "c1", "--json"]);
    let screen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("screen json");
    assert_eq!(screen["cols"], 100);
    assert_eq!(screen["rows"], 30);
    assert!(screen["cells"][0].as_array().expect("cells").len() == 100);

    let out = spoke.cli(&["ls", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ls json");
    assert_eq!(list[0]["name"], "c1");
    assert_eq!(
        list[0]["status"]
            .as_str()
            .map(|s| s == "running" || s == "idle"),
        Some(true)
    );
    let out = spoke.cli(&["ls"]);
    assert!(stdout(&out).contains("c1") && stdout(&out).contains("100x30"));

    let out = spoke.cli(&["grep", "c1", "hi-4[0-9]", "-B", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("hi-42"), "{}", stdout(&out));
    let out = spoke.cli(&["grep", "c1", "nothing-like-this"]);
    assert_eq!(out.status.code(), Some(1), "grep without matches exits 1");

    // Documented exit codes: 2 usage, 3 not found, 4 timed out, 5 exited.
    let out = spoke.cli(&["spawn"]);
    assert_eq!(out.status.code(), Some(2));
    let out = spoke.cli(&["resize", "c1", "0", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cols 0 out of range"),
        "{}",
        stderr(&out)
    );
    let out = spoke.cli(&["info", "ghost"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("session \"ghost\" not found"));
    let out = spoke.cli(&["wait", "c1", "never-printed", "--timeout", "300ms"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("timed out"));
    let out = spoke.cli(&["send", "c1", "exit", "--submit"]);
    assert!(out.status.success());
    let out = spoke.cli(&["idle", "c1", "--timeout", "10s", "--idle", "5s"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));

    let cast = spoke.dir.path().join("c1.cast");
    let out = spoke.cli(&["record", "c1", "-o", cast.to_str().expect("path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&cast).expect("cast");
    assert!(text.starts_with("{") && text.contains("hi-42"));

    let out = spoke.cli(&["rm", "c1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A killed spoke leaves its socket file behind; a restart replaces it.
    let mut spoke = spoke;
    spoke.kill();
    assert!(spoke.socket.exists(), "SIGKILL leaves the socket file");
    spoke.restart();
    let out = spoke.cli(&["ls", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "[]", "a restarted spoke starts empty");
    // A second spoke on a live socket is refused clearly.
    let second = spoke
        .command()
        .args(["spoke", "--socket"])
        .arg(&spoke.socket)
        .output()
        .expect("second spoke");
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("is in use by a running vtr"),
        "{}",
        stderr(&second)
    );

    let out = Spoke::cli_without_spoke(&spoke.dir.path().join("nothing.sock"), &["ls"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no socket at"), "{}", stderr(&out));
}

#[tokio::test]
async fn attach_is_interactive_detaches_and_resumes() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    // Sizes that differ: attaching must carry the outer terminal's size in.
    c.spawn(pb::SpawnRequest {
        cols: 100,
        rows: 30,
        ..spawn_request("inner", "/bin/sh", &[])
    })
    .await
    .expect("spawn inner");
    send_and_wait(
        &mut c,
        "inner",
        "echo before-$((0))-attach",
        "before-0-attach",
    )
    .await;
    // `vtr attach` runs in a session of its own: a real terminal for it.
    let socket = spoke.socket.display().to_string();
    c.spawn(pb::SpawnRequest {
        cols: 91,
        rows: 27,
        ..spawn_request(
            "outer",
            vtr_bin(),
            &["--socket", &socket, "attach", "inner"],
        )
    })
    .await
    .expect("spawn outer");
    // The attached terminal shows the inner screen (snapshot first)...
    wait_screen(&mut c, "outer", "snapshot of inner", |l| {
        l.iter().any(|l| l.ends_with("before-0-attach"))
    })
    .await;
    // ...passes typed keys through and shows live output.
    c.send_text(pb::SendTextRequest {
        session: "outer".into(),
        text: "echo through-$((1+1))\r".into(),
        submit: false,
        ..Default::default()
    })
    .await
    .expect("type");
    wait_screen(&mut c, "inner", "input reached inner", |l| {
        l.iter().any(|l| l.ends_with("through-2"))
    })
    .await;
    wait_screen(&mut c, "outer", "output reached outer", |l| {
        l.iter().any(|l| l.ends_with("through-2"))
    })
    .await;
    // Attaching resized the inner session to the outer terminal.
    let info = c
        .info(pb::SessionRequest {
            session: "inner".into(),
        })
        .await
        .expect("info")
        .into_inner();
    assert_eq!((info.cols, info.rows), (91, 27));
    // The detach key ends attach; the inner session lives on.
    c.send_key(pb::SendKeyRequest {
        session: "outer".into(),
        keys: vec!["ctrl+]".into()],
        ..Default::default()
    })
    .await
    .expect("detach");
    let outer = wait_exit(&mut c, "outer").await;
    assert_eq!(outer.exit_code, Some(0));
    wait_screen(&mut c, "outer", "detach message", |l| {
        l.iter().any(|l| l.contains("[vtr: detached from inner]"))
    })
    .await;
    let inner = c
        .info(pb::SessionRequest {
            session: "inner".into(),
        })
        .await
        .expect("info")
        .into_inner();
    assert_eq!(inner.status, pb::SessionStatus::Running as i32);
}

/// A session whose command line carries escape sequences must not reach
/// the user's terminal through `vtr ls` or `vtr info` (audit V13).
#[tokio::test]
async fn human_output_escapes_control_characters() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let evil = "innocent\x1b]2;pwned\x07\x1b[2J\u{9b}31m";
    spawn(&mut c, "calm", "sh", &["-c", "exec cat", evil]).await;
    for args in [&["ls"][..], &["info", "calm"]] {
        let out = spoke.cli(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            !out.stdout.iter().any(|&b| b == 0x1b || b == 0x07),
            "{args:?} printed raw control bytes: {text:?}"
        );
        assert!(!text.contains('\u{9b}'), "{args:?}: {text:?}");
        assert!(
            text.contains("innocent\\e]2;pwned\\x07\\e[2J\\x9b31m"),
            "{args:?}: {text}"
        );
    }
    // Scripts still get the exact bytes.
    let out = spoke.cli(&["info", "calm", "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["args"][2], evil);
}
