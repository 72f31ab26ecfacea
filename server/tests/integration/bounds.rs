//! Bounds on what a program or client controls and the API returns (audit
//! issue 12): Grep responses, window titles, spawn strings. Each test is an
//! attack that must fail against a real spoke.

use prost::Message;
use vtr_shared::proto as pb;

use crate::harness::*;

/// Line text one Grep response may carry (`core::limits`), plus encoding.
const GREP_BOUND: usize = (2 << 20) + (1 << 20);

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn grep_with_huge_context_is_cut_at_the_byte_bound() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    // 300 lines of ~1000 columns: unbounded, matches x context would be
    // 300 x 201 lines ~ 60 MB in one response.
    let script = "awk 'BEGIN { for (i = 0; i < 300; i++) { s = sprintf(\"%05d \", i); \
                  while (length(s) < 990) s = s \"x\"; print s } print \"DONE\" }'; exec cat";
    let mut req = spawn_request("big", "sh", &["-c", script]);
    req.cols = 1000;
    req.rows = 24;
    c.spawn(req).await.expect("spawn");
    wait_screen(&mut c, "big", "all lines printed", |lines| {
        lines.iter().any(|l| l == "DONE")
    })
    .await;

    let r = c
        .grep(pb::GrepRequest {
            session: "big".into(),
            pattern: "x{900}".into(),
            before: 100,
            after: 100,
            max_matches: 300,
        })
        .await
        .expect("grep answers within the message limit")
        .into_inner();
    assert!(r.truncated, "the byte bound cut the response");
    let size = r.encoded_len();
    assert!(size <= GREP_BOUND, "response is {size} bytes");
    assert!(size > 1 << 20, "the bound is used, not an empty answer");
    assert!(!r.matches.is_empty());

    let out = spoke.cli(&[
        "grep", "big", "x{900}", "-B", "100", "-A", "100", "-m", "300",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("vtr: grep output truncated"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.len() < GREP_BOUND * 2, "{}", out.stdout.len());
}

#[tokio::test]
async fn a_huge_window_title_does_not_break_list() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "plain", "sh", &["-c", "exec cat"]).await;
    // A 5 MB OSC 2 title, more than a whole gRPC message.
    let script = "printf '\\033]2;'; head -c 5000000 /dev/zero | tr '\\0' t; \
                  printf '\\007'; echo TITLED; exec cat";
    spawn(&mut c, "titled", "sh", &["-c", script]).await;
    wait_screen(&mut c, "titled", "the title set", |lines| {
        lines.iter().any(|l| l == "TITLED")
    })
    .await;

    let list = c
        .list(pb::ListRequest {})
        .await
        .expect("List still works")
        .into_inner()
        .sessions;
    assert_eq!(list.len(), 2);
    let titled = list.iter().find(|s| s.name == "titled").expect("listed");
    assert_eq!(titled.title, "t".repeat(1024), "cut to the 1 KiB bound");
    let screen = c
        .get_screen(pb::SessionRequest {
            session: "titled".into(),
        })
        .await
        .expect("screen")
        .into_inner();
    assert_eq!(screen.title.len(), 1024);
}

#[tokio::test]
async fn created_by_is_validated() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let with = |name: &str, who: String| pb::SpawnRequest {
        created_by: who,
        ..spawn_request(name, "sh", &["-c", "exec cat"])
    };
    for (who, needle) in [
        ("x".repeat(1 << 20), "limit 128"),
        ("a".repeat(129), "129 characters, limit 128"),
        ("evil\x1b]2;pwned\x07".to_owned(), "control characters"),
        ("line\nbreak".to_owned(), "control characters"),
    ] {
        let status = c.spawn(with("bad", who)).await.expect_err(needle);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains(needle), "{}", status.message());
    }
    c.spawn(with("alice", "alice@example".into()))
        .await
        .expect("a plain name");
    c.spawn(with("unknown", String::new()))
        .await
        .expect("empty means not known");
    let list = c
        .list(pb::ListRequest {})
        .await
        .expect("list")
        .into_inner()
        .sessions;
    let names: Vec<(&str, &str)> = list
        .iter()
        .map(|s| (s.name.as_str(), s.created_by.as_str()))
        .collect();
    assert_eq!(names, [("alice", "alice@example"), ("unknown", "")]);
}

/// A spoke that answers probes but whose session list is over the message
/// limit (72 sessions with 60 KB of arguments each): the hub's session
/// watch fails every time, and must back off rather than spin.
#[tokio::test]
async fn a_failing_session_watch_backs_off() {
    let spoke = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let mut c = spoke.client().await;
    let filler = "x".repeat(60_000);
    for i in 0..72 {
        // `filler` is $0 of the script: listed, never used.
        spawn(&mut c, &format!("s{i}"), "sh", &["-c", "exec cat", &filler]).await;
    }
    let hub = Hub::start(&[spoke.dial("a")], &[]);
    let attempts = |log: &str| log.matches("session watch").count();
    wait_until("the first failed session watch", || async {
        (attempts(&hub.log()) > 0).then_some(())
    })
    .await;
    let first = attempts(&hub.log());
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let more = attempts(&hub.log()) - first;
    // Waits of about 0.25, 0.5, 1 and 2 s: a handful, not thousands.
    assert!(
        (1..=8).contains(&more),
        "{more} session watch attempts in 3 s"
    );
}
