//! Every limit and syntax rule of the API: INVALID_ARGUMENT (or the right
//! code) with a message naming the limit.

use bytes::Bytes;
use tonic::Code;
use vtr_shared::proto as pb;

use crate::harness::*;

fn expect_code<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    code: Code,
    needle: &str,
) {
    let status = result.expect_err(needle);
    assert_eq!(status.code(), code, "{}", status.message());
    assert!(
        status.message().contains(needle),
        "message {:?} should name {needle:?}",
        status.message()
    );
}

#[tokio::test]
async fn bad_inputs_get_clear_errors() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "ok", "sh", &["-c", "read x"]).await;
    let invalid = Code::InvalidArgument;

    // Spawn.
    expect_code(
        c.spawn(spawn_request("-bad", "sh", &[])).await,
        invalid,
        "names match",
    );
    expect_code(
        c.spawn(spawn_request(&"a".repeat(65), "sh", &[])).await,
        invalid,
        "limit 64",
    );
    expect_code(
        c.spawn(spawn_request("a:b", "sh", &[])).await,
        invalid,
        "contains ':'",
    );
    expect_code(
        c.spawn(spawn_request("ok", "sh", &[])).await,
        Code::AlreadyExists,
        "already taken",
    );
    // Another session's id is no name: the address would mean two
    // sessions.
    let ok_id = c
        .info(pb::SessionRequest {
            session: "ok".into(),
        })
        .await
        .expect("info")
        .into_inner()
        .id;
    expect_code(
        c.spawn(spawn_request(&ok_id, "sh", &[])).await,
        Code::AlreadyExists,
        "already taken",
    );
    let mut wide = spawn_request("wide", "sh", &[]);
    wide.cols = 5000;
    wide.rows = 24;
    expect_code(
        c.spawn(wide).await,
        invalid,
        "cols 5000 out of range 2..=1000",
    );
    let mut tall = spawn_request("tall", "sh", &[]);
    tall.cols = 80;
    tall.rows = 501;
    expect_code(
        c.spawn(tall).await,
        invalid,
        "rows 501 out of range 1..=500",
    );
    let many: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let mut args = spawn_request("args", "echo", &[]);
    args.args = many;
    expect_code(c.spawn(args).await, invalid, "300 args, limit 256");
    let mut env = spawn_request("env", "sh", &[]);
    env.env = vec!["NOEQUALS".into()];
    expect_code(c.spawn(env).await, invalid, "not KEY=VALUE");
    let mut big = spawn_request("big", "sh", &[]);
    big.args = vec!["x".repeat(70_000)];
    expect_code(c.spawn(big).await, invalid, "limit 65536");
    let mut cwd = spawn_request("cwd", "sh", &[]);
    cwd.cwd = "/no/such/dir".into();
    expect_code(
        c.spawn(cwd).await,
        Code::FailedPrecondition,
        "does not exist",
    );
    expect_code(
        c.spawn(spawn_request("nocmd", "/no/such/program", &[]))
            .await,
        Code::FailedPrecondition,
        "/no/such/program",
    );

    // Input.
    let text = pb::SendTextRequest {
        session: "ok".into(),
        text: "x".repeat((1 << 20) + 1),
        submit: false,
        ..Default::default()
    };
    expect_code(c.send_text(text).await, invalid, "limit 1048576 bytes");
    let bytes = pb::SendBytesRequest {
        session: "ok".into(),
        data: Bytes::from(vec![b'x'; (1 << 20) + 1]),
        ..Default::default()
    };
    expect_code(c.send_bytes(bytes).await, invalid, "limit 1048576 bytes");
    let keys = pb::SendKeyRequest {
        session: "ok".into(),
        keys: vec!["hyper+x".into()],
        ..Default::default()
    };
    expect_code(c.send_key(keys).await, invalid, "unknown key \"hyper+x\"");
    let keys = pb::SendKeyRequest {
        session: "ok".into(),
        keys: vec!["a".into(); 257],
        ..Default::default()
    };
    expect_code(c.send_key(keys).await, invalid, "257 keys, limit 256");

    // Regexes.
    let wait = |pattern: String| pb::WaitForRequest {
        session: "ok".into(),
        pattern,
        timeout_ms: 1000,
        from_offset: None,
    };
    expect_code(
        c.wait_for(wait("a".repeat(5000))).await,
        invalid,
        "limit 4096",
    );
    expect_code(
        c.wait_for(wait(r"\w{1000}\w{1000}".into())).await,
        invalid,
        "limit 1048576",
    );
    expect_code(
        c.wait_for(wait("(unclosed".into())).await,
        invalid,
        "bad regex",
    );
    expect_code(
        c.wait_for(wait(String::new())).await,
        invalid,
        "regex is empty",
    );
    let mut long = wait("x".into());
    long.timeout_ms = 100 * 24 * 3600 * 1000;
    expect_code(c.wait_for(long).await, invalid, "over the limit");
    let grep = pb::GrepRequest {
        session: "ok".into(),
        pattern: "x".into(),
        max_matches: 20_000,
        ..Default::default()
    };
    expect_code(
        c.grep(grep).await,
        invalid,
        "at most 10000 matches per search; 20000 asked",
    );
    let grep = pb::GrepRequest {
        session: "ok".into(),
        pattern: "x".into(),
        before: 5000,
        ..Default::default()
    };
    expect_code(c.grep(grep).await, invalid, "limit 1000");

    // Sizes, names, signals.
    let resize = pb::ResizeRequest {
        session: "ok".into(),
        cols: 1,
        rows: 24,
    };
    expect_code(c.resize(resize).await, invalid, "cols 1 out of range");
    let rename = pb::RenameRequest {
        session: "ok".into(),
        new_name: "has space".into(),
    };
    expect_code(c.rename(rename).await, invalid, "contains ' '");
    let kill = pb::KillRequest {
        session: "ok".into(),
        signal: "NOPE".into(),
    };
    expect_code(c.kill(kill).await, invalid, "unknown signal \"NOPE\"");

    // Unknown sessions and spokes.
    let info = |session: &str| pb::SessionRequest {
        session: session.into(),
    };
    expect_code(
        c.info(info("ghost")).await,
        Code::NotFound,
        "session \"ghost\" not found",
    );
    expect_code(
        c.info(info("other:ok")).await,
        Code::NotFound,
        "no spoke named \"other\" (spokes: test)",
    );
    expect_code(c.info(info("")).await, invalid, "empty");

    // A message over the transport limit is refused, not buffered.
    let huge = pb::SendBytesRequest {
        session: "ok".into(),
        data: Bytes::from(vec![b'x'; 5 << 20]),
        ..Default::default()
    };
    let status = c.send_bytes(huge).await.expect_err("too big");
    assert!(
        matches!(
            status.code(),
            Code::OutOfRange | Code::ResourceExhausted | Code::Internal
        ),
        "{status:?}"
    );

    // After all that, the spoke still works.
    let r = c
        .send_text(pb::SendTextRequest {
            session: "ok".into(),
            text: "".into(),
            submit: true,
            ..Default::default()
        })
        .await;
    assert!(r.is_ok());
}
