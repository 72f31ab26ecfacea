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
    let address = address.to_owned();
    wait_until("three requests for attention listed", || {
        let mut c = c.clone();
        let address = address.clone();
        async move {
            let list = c.list(pb::ListRequest {}).await.ok()?.into_inner().sessions;
            list.into_iter()
                .find(|s| format!("{}:{}", s.spoke, s.name) == address || s.name == address)
                .filter(|s| s.attention >= 3)
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
