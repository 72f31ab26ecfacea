//! The hub's state directory across vtr versions: a database written by a
//! newer vtr is refused with a clear error and left as it was; an older one
//! is upgraded in place, keeping its links, with a copy of the old file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::harness::{Hub, spawn, timeout};

fn set_version(db: &Path, version: i64) {
    let db = rusqlite::Connection::open(db).expect("open hub.db");
    db.pragma_update(None, "user_version", version)
        .expect("set user_version");
}

fn version(db: &Path) -> i64 {
    let db = rusqlite::Connection::open(db).expect("open hub.db");
    db.query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version")
}

/// Runs `command` to its end (within the test deadline): exit code, stderr.
fn run_to_exit(command: &mut Command) -> (Option<i32>, String) {
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = command
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("reopen"))
        .spawn()
        .expect("start vtr");
    let deadline = Instant::now() + timeout();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vtr did not exit within {:?}", timeout());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(log.path()).expect("read stderr");
    (status.code(), stderr)
}

#[tokio::test]
async fn a_newer_state_database_is_refused_and_an_older_one_upgraded() {
    let mut hub = Hub::start(&[], &[]);
    let mut c = hub.client().await;
    spawn(&mut c, "kept", "/bin/sh", &[]).await;
    let out = hub.cli(&["share", "create", "hub:kept", "--ttl", "2h"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    hub.kill();
    let db = hub.state_dir().join("hub.db");
    assert_eq!(version(&db), 2, "a new hub writes the current schema");

    // A newer vtr wrote it: the hub and the CLI refuse, and touch nothing.
    set_version(&db, 99);
    let other_socket = hub.dir.path().join("other.sock");
    let (code, stderr) = run_to_exit(hub.command().args([
        "hub",
        "--name",
        "hub",
        "--listen",
        "127.0.0.1:0",
        "--socket",
        other_socket.to_str().expect("utf8"),
    ]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("schema version 99"), "{stderr}");
    assert!(stderr.contains("written by a newer vtr"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (code, stderr) =
        run_to_exit(
            hub.command()
                .args(["hub", "forget-spoke", "x", "--name", "hub"]),
        );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("schema version 99"), "{stderr}");
    assert_eq!(version(&db), 99, "left as it was");

    // An older (unversioned) file: upgraded, its link kept, the old copy
    // saved beside it.
    set_version(&db, 0);
    hub.restart();
    assert_eq!(version(&db), 2);
    assert!(
        hub.log().contains("upgrading") && hub.log().contains("schema 0 to 2"),
        "the upgrade is logged: {}",
        hub.log()
    );
    let backup = hub.state_dir().join("hub.db.schema-0.bak");
    assert_eq!(version(&backup), 0, "the old file is kept as it was");
    let out = hub.cli(&["share", "ls"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hub:kept"), "the link survives: {text}");
}
