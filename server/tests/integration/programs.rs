//! Full-screen programs headless: vim and less need answers to terminal
//! queries and a correct screen model.

use vtr_shared::proto as pb;

use crate::harness::*;

async fn keys(c: &mut vtr::transport::grpc::client::VtrClient, session: &str, keys: &[&str]) {
    c.send_key(pb::SendKeyRequest {
        session: session.to_owned(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
        ..Default::default()
    })
    .await
    .expect("keys");
}

async fn text(c: &mut vtr::transport::grpc::client::VtrClient, session: &str, text: &str) {
    c.send_text(pb::SendTextRequest {
        session: session.to_owned(),
        text: text.to_owned(),
        submit: false,
        ..Default::default()
    })
    .await
    .expect("text");
}

#[tokio::test]
async fn vim_edits_and_writes_a_file() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let file = spoke.dir.path().join("notes.txt");
    let file_arg = file.display().to_string();
    spawn(
        &mut c,
        "vim",
        "vim",
        &["-u", "NONE", "-i", "NONE", "-N", "-n", &file_arg],
    )
    .await;
    // vim draws its empty buffer: tildes and the file name in the message line.
    wait_screen(&mut c, "vim", "vim's empty buffer", |l| {
        l.iter().filter(|l| l.starts_with('~')).count() > 10
            && l.last().is_some_and(|l| l.contains("notes.txt"))
    })
    .await;
    keys(&mut c, "vim", &["i"]).await;
    text(&mut c, "vim", "hello from vtr").await;
    keys(&mut c, "vim", &["enter"]).await;
    text(&mut c, "vim", "second line").await;
    keys(&mut c, "vim", &["esc"]).await;
    let lines = wait_screen(&mut c, "vim", "typed text while vim runs", |l| {
        l[0] == "hello from vtr" && l[1] == "second line"
    })
    .await;
    assert!(lines[2].starts_with('~'));
    // Cells carry the cursor position too: vim leaves it on the last char.
    let screen = c
        .get_screen(pb::SessionRequest {
            session: "vim".into(),
        })
        .await
        .expect("screen")
        .into_inner();
    assert_eq!(screen.cursor_row, 1);
    assert_eq!(screen.cells[0].cells[0].text, "h");
    // Arrow keys reach vim (application cursor mode): go up, delete a line.
    keys(&mut c, "vim", &["up", "d", "d"]).await;
    wait_screen(&mut c, "vim", "first line deleted", |l| {
        l[0] == "second line"
    })
    .await;
    keys(&mut c, "vim", &["u"]).await;
    wait_screen(&mut c, "vim", "undo", |l| l[0] == "hello from vtr").await;
    text(&mut c, "vim", ":wq").await;
    keys(&mut c, "vim", &["enter"]).await;
    let info = wait_exit(&mut c, "vim").await;
    assert_eq!(info.exit_code, Some(0));
    let content = std::fs::read_to_string(&file).expect("file written");
    assert_eq!(content, "hello from vtr\nsecond line\n");
}

#[tokio::test]
async fn less_pages_through_a_file() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let file = spoke.dir.path().join("numbers.txt");
    let body: String = (1..=200).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&file, body).expect("write");
    let file_arg = file.display().to_string();
    spawn(&mut c, "less", "less", &[&file_arg]).await;
    wait_screen(&mut c, "less", "first page", |l| {
        l[0] == "line 1" && l[22] == "line 23"
    })
    .await;
    keys(&mut c, "less", &["space"]).await;
    wait_screen(&mut c, "less", "second page", |l| l[0] == "line 24").await;
    keys(&mut c, "less", &["G"]).await;
    wait_screen(&mut c, "less", "end of file", |l| {
        l.iter().any(|l| l == "line 200")
    })
    .await;
    keys(&mut c, "less", &["q"]).await;
    let info = wait_exit(&mut c, "less").await;
    assert_eq!(info.exit_code, Some(0));
}
