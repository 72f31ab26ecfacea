//! Request ids: an input or a run retried with the same id is applied
//! once and answered as the first was, on a spoke and through a hub to a
//! tunnelled spoke (over its link); an id reused for another request, or
//! too long, is refused.

use tonic::Code;
use vtr::transport::grpc::client::VtrClient;
use vtr_shared::proto as pb;

use crate::harness::*;

fn text(session: &str, text: &str, id: &str) -> pb::SendTextRequest {
    pb::SendTextRequest {
        session: session.to_owned(),
        text: text.to_owned(),
        submit: true,
        request_id: id.to_owned(),
    }
}

fn run_request(session: &str, line: &str, id: &str) -> pb::RunRequest {
    pb::RunRequest {
        session: session.to_owned(),
        command: line.to_owned(),
        timeout_ms: 20_000,
        request_id: id.to_owned(),
        ..Default::default()
    }
}

/// The command lines the shell ran, once `true` has run after them.
async fn ran(c: &mut VtrClient, session: &str) -> Vec<String> {
    let r = c
        .run(run_request(session, "true", ""))
        .await
        .expect("run true")
        .into_inner();
    assert_eq!(r.end(), pb::RunEnd::Finished);
    let list = c
        .list_commands(pb::ListCommandsRequest {
            session: session.to_owned(),
            limit: 0,
        })
        .await
        .expect("list")
        .into_inner();
    list.commands.into_iter().map(|c| c.text).collect()
}

async fn typed_once(c: &mut VtrClient, session: &str) {
    spawn(c, session, "bash", &[]).await;
    // The first prompt: a run waits for it.
    ran(c, session).await;
    let first = c
        .send_text(text(session, "echo hit", "k1"))
        .await
        .expect("send");
    let again = c
        .send_text(text(session, "echo hit", "k1"))
        .await
        .expect("retry");
    assert_eq!(
        first.into_inner().offset,
        again.into_inner().offset,
        "answered as the first"
    );
    assert_eq!(
        ran(c, session).await,
        ["true", "echo hit", "true"],
        "typed once"
    );

    let other = c
        .send_text(text(session, "echo other", "k1"))
        .await
        .expect_err("another request under the same id");
    assert_eq!(other.code(), Code::InvalidArgument);
    assert!(
        other.message().contains("another request"),
        "{}",
        other.message()
    );
    let long = c
        .send_text(text(session, "x", &"i".repeat(129)))
        .await
        .expect_err("too long an id");
    assert_eq!(long.code(), Code::InvalidArgument);
    assert!(long.message().contains("128"), "{}", long.message());
}

#[tokio::test]
async fn an_input_retried_with_its_request_id_is_typed_once() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    typed_once(&mut c, "s").await;
}

#[tokio::test]
async fn through_a_hub_and_a_tunnel_too() {
    let hub = Hub::start(&[], &[]);
    let _spoke = hub.tunnelled_spoke("far").await;
    let mut c = hub.client().await;
    c.spawn(spawn_request("far:s", "bash", &[]))
        .await
        .expect("spawn");
    ran(&mut c, "far:s").await;
    let first = c
        .send_text(text("far:s", "echo hit", "k1"))
        .await
        .expect("send");
    let again = c
        .send_text(text("far:s", "echo hit", "k1"))
        .await
        .expect("retry");
    assert_eq!(first.into_inner().offset, again.into_inner().offset);
    let first = c
        .run(run_request("far:s", "echo ran", "r1"))
        .await
        .expect("run");
    let again = c
        .run(run_request("far:s", "echo ran", "r1"))
        .await
        .expect("retry");
    assert_eq!(first.into_inner().command, again.into_inner().command);
    assert_eq!(
        ran(&mut c, "far:s").await,
        ["true", "echo hit", "echo ran", "true"]
    );
}

#[tokio::test]
async fn a_run_retried_while_it_runs_waits_for_it_and_gets_its_answer() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "s", "bash", &[]).await;
    ran(&mut c, "s").await;
    let line = "sleep 1; echo done";
    let first = {
        let mut c = c.clone();
        tokio::spawn(async move { c.run(run_request("s", line, "r1")).await })
    };
    // The first is typed before the retry comes.
    wait_until("the first run typed", || {
        let mut c = c.clone();
        async move {
            let list = c
                .list_commands(pb::ListCommandsRequest {
                    session: "s".into(),
                    limit: 0,
                })
                .await
                .ok()?
                .into_inner();
            list.commands.iter().any(|c| c.text == line).then_some(())
        }
    })
    .await;
    let retry = c
        .run(run_request("s", line, "r1"))
        .await
        .expect("retry")
        .into_inner();
    let first = first.await.expect("task").expect("first run").into_inner();
    assert_eq!(first.end(), pb::RunEnd::Finished);
    assert_eq!(first.output, "done\n");
    assert_eq!(retry, first, "the same answer");
    // Later too, from what was kept.
    let later = c
        .run(run_request("s", line, "r1"))
        .await
        .expect("later")
        .into_inner();
    assert_eq!(later, first);
    assert_eq!(ran(&mut c, "s").await, ["true", line, "true"], "run once");
}
