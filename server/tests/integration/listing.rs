//! What a hub lists of its spokes' sessions stays current: figures that
//! move without any other change (output offsets, subscriber counts)
//! reach the hub's list within about a second.

use vtr_shared::proto as pb;

use crate::harness::*;

async fn listed(hub: &Hub, name: &str) -> Option<pb::SessionInfo> {
    let mut c = hub.client().await;
    c.list(pb::ListRequest::default())
        .await
        .expect("list")
        .into_inner()
        .sessions
        .into_iter()
        .find(|s| s.name == name)
}

#[tokio::test]
async fn the_hub_lists_live_offsets_and_subscriber_counts() {
    let a = Spoke::start_named("alpha", &["--listen", "127.0.0.1:0"]);
    let hub = Hub::start(&[a.dial("a")], &[]);
    hub.wait_state("a", pb::SpokeState::Healthy).await;
    let mut c = hub.client().await;
    spawn(&mut c, "a:watched", "cat", &[]).await;
    let before = wait_until("listed", || listed(&hub, "watched")).await;
    assert_eq!(before.subscribers, 0);

    // Someone watches it on the spoke itself, not through the hub.
    let mut direct = a.client().await;
    let _stream = direct
        .subscribe(pb::SubscribeRequest {
            session: "watched".into(),
            from_offset: None,
        })
        .await
        .expect("subscribe on the spoke")
        .into_inner();
    wait_until("the hub to list the subscriber", || async {
        listed(&hub, "watched").await.filter(|s| s.subscribers == 1)
    })
    .await;

    // Output, typed on the spoke: the hub's list follows the offset.
    let sent = direct
        .send_text(pb::SendTextRequest {
            session: "watched".into(),
            text: "some output".into(),
            submit: true,
            ..Default::default()
        })
        .await
        .expect("send")
        .into_inner();
    let end = direct
        .wait_for(pb::WaitForRequest {
            session: "watched".into(),
            pattern: "(?s)some output.*some output".into(),
            timeout_ms: timeout().as_millis() as u64,
            from_offset: Some(sent.offset),
        })
        .await
        .expect("echoed")
        .into_inner()
        .offset;
    wait_until("the hub to list the new offset", || async {
        listed(&hub, "watched")
            .await
            .filter(|s| s.output_offset >= end)
    })
    .await;
}
