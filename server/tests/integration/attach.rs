//! `Attach`: output, input and resize on one stream, and its errors.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use vtr_shared::proto as pb;
use vtr_shared::proto::attach_request::Request;
use vtr_shared::proto::subscribe_event::Event;

use crate::harness::*;

pub fn open(session: &str, from_offset: Option<u64>) -> pb::AttachRequest {
    pb::AttachRequest {
        request: Some(Request::Open(pb::SubscribeRequest {
            session: session.to_owned(),
            from_offset,
        })),
    }
}

pub fn input(data: &[u8]) -> pb::AttachRequest {
    pb::AttachRequest {
        request: Some(Request::Input(bytes::Bytes::copy_from_slice(data))),
    }
}

fn resize(cols: u32, rows: u32) -> pb::AttachRequest {
    pb::AttachRequest {
        request: Some(Request::Resize(pb::TerminalSize { cols, rows })),
    }
}

/// Opens an Attach stream; the sender carries further requests.
pub async fn attach(
    client: &mut vtr::transport::grpc::client::VtrClient,
    first: pb::AttachRequest,
) -> Result<
    (
        mpsc::Sender<pb::AttachRequest>,
        tonic::Streaming<pb::SubscribeEvent>,
    ),
    tonic::Status,
> {
    let (tx, rx) = mpsc::channel(16);
    tx.send(first).await.expect("queue the first request");
    let stream = client.attach(ReceiverStream::new(rx)).await?.into_inner();
    Ok((tx, stream))
}

/// Output text (snapshot and output events) until `needle` shows up.
async fn read_until(stream: &mut tonic::Streaming<pb::SubscribeEvent>, needle: &str) -> String {
    let mut seen = String::new();
    within(&format!("output containing {needle:?}"), async {
        while !seen.contains(needle) {
            match next_event(stream).await.event {
                Some(Event::Output(o)) => seen.push_str(&String::from_utf8_lossy(&o.data)),
                Some(Event::Snapshot(s)) => seen.push_str(&String::from_utf8_lossy(&s.screen)),
                Some(Event::Exited(_)) => panic!("exited before {needle:?}; saw {seen:?}"),
                _ => {}
            }
        }
    })
    .await;
    seen
}

/// The error that ends the stream, skipping events before it.
async fn stream_error(stream: &mut tonic::Streaming<pb::SubscribeEvent>) -> tonic::Status {
    within("the stream to fail", async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the stream ended without an error"),
                Err(status) => break status,
            }
        }
    })
    .await
}

#[tokio::test]
async fn typing_and_resizing_on_one_stream() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "att", "sh", &[]).await;
    let (tx, mut stream) = attach(&mut c, open("att", Some(0))).await.expect("attach");

    // The arithmetic result differs from the echoed command line.
    tx.send(input(b"echo $((6 * 7))x\r")).await.expect("send");
    read_until(&mut stream, "42x").await;

    tx.send(resize(101, 33)).await.expect("send resize");
    within("a Resized event", async {
        loop {
            if let Some(Event::Resized(r)) = next_event(&mut stream).await.event {
                assert_eq!((r.cols, r.rows), (101, 33));
                break;
            }
        }
    })
    .await;
    tx.send(input(b"stty size\r")).await.expect("send");
    read_until(&mut stream, "33 101").await;

    // Closing our side ends input only; output still arrives through the
    // same stream until the session exits.
    c.send_text(pb::SendTextRequest {
        session: "att".into(),
        text: "exit 3".into(),
        submit: true,
        ..Default::default()
    })
    .await
    .expect("SendText");
    drop(tx);
    within("Exited as the last event", async {
        loop {
            if let Some(Event::Exited(e)) = next_event(&mut stream).await.event {
                assert_eq!(e.exit_code, Some(3));
                break;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn attach_errors_name_the_problem() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "errs", "sh", &[]).await;

    let status = attach(&mut c, open("nope", None))
        .await
        .expect_err("unknown session");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    let status = attach(&mut c, input(b"x"))
        .await
        .expect_err("input before open");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("open"), "{}", status.message());

    // A bad request after a good open ends the stream with its error.
    let (tx, mut stream) = attach(&mut c, open("errs", None)).await.expect("attach");
    tx.send(resize(1, 24)).await.expect("send");
    let status = stream_error(&mut stream).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("cols"), "{}", status.message());

    let (tx, mut stream) = attach(&mut c, open("errs", None)).await.expect("attach");
    tx.send(input(&vec![b'a'; (1 << 20) + 1]))
        .await
        .expect("send");
    let status = stream_error(&mut stream).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("limit"), "{}", status.message());
}
