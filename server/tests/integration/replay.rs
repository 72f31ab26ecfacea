//! A recorded byte stream of a real full-screen program, replayed into a
//! fresh terminal whole and split at every byte, always gives the same
//! screen: PTY reads split escape sequences anywhere.

use vtr_shared::proto as pb;
use vtr_shared::proto::subscribe_event::Event;

use vtr::core::terminal::Terminal;

use crate::harness::*;

fn replay(chunks: &[&[u8]]) -> Terminal {
    let mut term = Terminal::new(24, 80, 1000);
    for chunk in chunks {
        term.process(chunk);
    }
    term
}

#[tokio::test]
async fn a_recorded_stream_split_at_every_byte_gives_the_same_screen() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let file = spoke.dir.path().join("poem.txt");
    std::fs::write(
        &file,
        "Roses are red,\nviolets are blue,\nünïcödé and 中文 too.\n",
    )
    .expect("write");
    let file_arg = file.display().to_string();
    // Subscribe before anything is printed: from offset 0 is the full stream.
    spawn(
        &mut c,
        "v",
        "sh",
        &[
            "-c",
            &format!("read x; vim -u NONE -i NONE -N -n {file_arg}"),
        ],
    )
    .await;
    let mut stream = c
        .subscribe(pb::SubscribeRequest {
            session: "v".into(),
            from_offset: Some(0),
        })
        .await
        .expect("subscribe")
        .into_inner();
    send_and_wait(&mut c, "v", "", "Roses are red").await;
    c.send_key(pb::SendKeyRequest {
        session: "v".into(),
        keys: ["G", "o"].map(String::from).to_vec(),
        ..Default::default()
    })
    .await
    .expect("keys");
    c.send_text(pb::SendTextRequest {
        session: "v".into(),
        text: "a new line, ünïcödé 中文".into(),
        submit: false,
        ..Default::default()
    })
    .await
    .expect("text");
    c.send_key(pb::SendKeyRequest {
        session: "v".into(),
        keys: ["esc"].map(String::from).to_vec(),
        ..Default::default()
    })
    .await
    .expect("esc");
    wait_screen(&mut c, "v", "the new line", |l| {
        l[3] == "a new line, ünïcödé 中文"
    })
    .await;
    let screen = c
        .get_screen(pb::SessionRequest {
            session: "v".into(),
        })
        .await
        .expect("screen")
        .into_inner();

    // Everything the stream carried up to the screen's offset.
    let mut bytes = Vec::new();
    while (bytes.len() as u64) < screen.offset {
        match next_event(&mut stream).await.event {
            Some(Event::Output(o)) => {
                assert_eq!(o.offset, bytes.len() as u64);
                bytes.extend_from_slice(&o.data);
            }
            Some(Event::Snapshot(_)) => panic!("offset 0 is held: no snapshot expected"),
            _ => {}
        }
    }
    bytes.truncate(screen.offset as usize);
    assert!(
        bytes.len() > 500,
        "a real full-screen stream ({} bytes)",
        bytes.len()
    );

    let whole = replay(&[&bytes]).screen_state();
    // The screen read at the same offset (vim may have redrawn since the
    // wait above, e.g. clearing `-- INSERT --`).
    assert_eq!(
        whole.lines, screen.lines,
        "replay matches the spoke's screen"
    );
    let spoke_cells: Vec<Vec<String>> = screen
        .cells
        .iter()
        .map(|r| r.cells.iter().map(|c| c.text.clone()).collect())
        .collect();
    let replay_cells: Vec<Vec<String>> = whole
        .cells
        .iter()
        .map(|r| r.iter().map(|c| c.text.clone()).collect())
        .collect();
    assert_eq!(replay_cells, spoke_cells, "cell by cell");
    for i in 0..=bytes.len() {
        let split = replay(&[&bytes[..i], &bytes[i..]]).screen_state();
        assert_eq!(
            split.cells,
            whole.cells,
            "split at byte {i} of {}",
            bytes.len()
        );
        assert_eq!(
            (split.cursor_row, split.cursor_col),
            (whole.cursor_row, whole.cursor_col),
            "cursor after a split at byte {i}"
        );
    }
}
