//! A program asking for its user's attention: bells and desktop
//! notifications (OSC 9, OSC 777 notify) counted by the spoke and listed,
//! directly and through a hub; look-alikes are not counted.

use vtr::transport::grpc::client::VtrClient;
use vtr_shared::proto as pb;

use crate::harness::*;

/// Three requests for attention, and three look-alikes: a BEL that ends an
/// OSC (a title), ConEmu's OSC 9 ; 4 progress, and an OSC 777 that is not
/// `notify`.
const RINGS: &str = "printf 'one\\a'; printf '\\033]2;a title\\a'; \
    printf '\\033]9;4;1;50\\a'; printf '\\033]777;preexec\\a'; \
    printf '\\033]9;build finished\\a'; \
    printf '\\033]777;notify;CI;all 116 tests passed\\033\\\\'; \
    echo RANG; exec cat";

async fn attention_of(c: &mut VtrClient, address: &str) -> pb::SessionInfo {
    attention_of_at_least(c, address, 3).await
}

async fn attention_of_at_least(c: &mut VtrClient, address: &str, n: u64) -> pb::SessionInfo {
    let address = address.to_owned();
    wait_until("requests for attention listed", || {
        let mut c = c.clone();
        let address = address.clone();
        async move {
            let list = c.list(pb::ListRequest {}).await.ok()?.into_inner().sessions;
            list.into_iter()
                .find(|s| format!("{}:{}", s.spoke, s.name) == address || s.name == address)
                .filter(|s| s.attention >= n)
        }
    })
    .await
}

#[tokio::test]
async fn bells_and_notifications_are_counted_and_listed_with_the_last_text() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "ringing", "sh", &["-c", RINGS]).await;
    let s = attention_of(&mut c, "ringing").await;
    assert_eq!(
        s.attention, 3,
        "a bell, OSC 9 and OSC 777 notify; nothing else"
    );
    assert_eq!(s.attention_text, "CI: all 116 tests passed");
    assert!(s.attention_at_ms > 0);
    assert_eq!(s.title, "a title");

    // A quiet session has none.
    spawn(&mut c, "quiet", "sh", &["-c", "echo hi; exec cat"]).await;
    wait_screen(&mut c, "quiet", "its output", |l| {
        l.iter().any(|l| l == "hi")
    })
    .await;
    let list = c.list(pb::ListRequest {}).await.expect("list").into_inner();
    let quiet = list
        .sessions
        .iter()
        .find(|s| s.name == "quiet")
        .expect("listed");
    assert_eq!((quiet.attention, quiet.attention_text.as_str()), (0, ""));
}

#[tokio::test]
async fn a_hub_lists_what_its_spokes_counted() {
    let hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "hub:ringing", "sh", &["-c", RINGS]).await;
    let s = attention_of(&mut c, "hub:ringing").await;
    assert_eq!(s.attention, 3);
    assert_eq!(s.attention_text, "CI: all 116 tests passed");
}

#[tokio::test]
async fn vtr_events_prints_a_notice_per_line_as_it_happens() {
    use std::io::BufRead as _;
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    // Before `events` starts: not told.
    spawn(&mut c, "earlier", "sh", &["-c", "printf '\\a'; exec cat"]).await;
    attention_of_at_least(&mut c, "earlier", 1).await;
    let mut events = spoke
        .command()
        .arg("--socket")
        .arg(&spoke.socket)
        .args(["events", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vtr events");
    let stdout = events.stdout.take().expect("stdout");
    let stderr = events.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.expect("a line")).is_err() {
                return;
            }
        }
    });
    // It says when it has its first list: from then on it tells.
    let watching = std::io::BufReader::new(stderr)
        .lines()
        .next()
        .expect("a line on stderr")
        .expect("readable");
    assert_eq!(watching, "vtr events: watching 1 sessions");
    spawn(
        &mut c,
        "later",
        "sh",
        &["-c", "read x; printf '\\033]9;%s\\a' \"$x\"; exit 3"],
    )
    .await;
    c.send_text(pb::SendTextRequest {
        session: "later".into(),
        text: "tests passed".into(),
        submit: true,
        ..Default::default()
    })
    .await
    .expect("send");
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while lines.len() < 2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).expect("two notices within 20 s");
        lines.push(serde_json::from_str::<serde_json::Value>(&line).expect("JSON"));
    }
    let _ = events.kill();
    let _ = events.wait();
    let mut told: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l["session"].as_str().unwrap_or_default().to_owned(),
                l["kind"].clone(),
                l["text"].clone(),
            )
        })
        .collect();
    // An exit is known at once, a notification once the screen is parsed:
    // they may come in either order.
    told.sort_by_key(|(_, kind, _)| kind.to_string());
    let spoke_name = lines[0]["session"]
        .as_str()
        .and_then(|s| s.split(':').next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        told,
        [
            (
                format!("{spoke_name}:later"),
                "attention".into(),
                "tests passed".into()
            ),
            (
                format!("{spoke_name}:later"),
                "exited".into(),
                "exited with code 3".into()
            ),
        ],
        "{lines:?}"
    );
}
