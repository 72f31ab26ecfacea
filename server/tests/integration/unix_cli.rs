//! The CLI as a Unix tool: a closed pipe, exit codes, line numbers, help,
//! and scripts that split one job over several commands.

use std::process::{Command, Output, Stdio};

use crate::harness::*;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `vtr --socket SOCKET ARGS`, started as the harness starts every `vtr`
/// (its home: the socket's directory).
fn cli(socket: &std::path::Path, args: &[&str]) -> Command {
    let mut command = vtr(socket.parent().expect("the socket's directory"));
    command.arg("--socket").arg(socket).args(args);
    command
}

/// A reader that went away before the output came (`vtr ... | head -1`
/// once `head` has its line): the command ends quietly with 141, the
/// status of a Unix tool that SIGPIPE ended, never a panic.
#[tokio::test]
async fn closed_stdout_ends_quietly_with_141() {
    let spoke = Spoke::start();
    let out = cli(
        &spoke.socket,
        &[
            "spawn",
            "p",
            "--",
            "sh",
            "-c",
            "seq 1 40; echo done-$((6*7)); exec sleep 60",
        ],
    )
    .output()
    .expect("spawn");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&spoke.socket, &["wait", "p", "done-42", "--timeout", "20s"])
        .output()
        .expect("wait");
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [
        &["screen", "p", "--json"][..],
        &["screen", "p"],
        &["idle", "p", "--idle", "100ms", "--screen"],
        &["grep", "p", "[0-9]"],
        &["ls"],
        &["record", "p"],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = cli(&spoke.socket, args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("run vtr");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?} said something on stderr");
    }
    // The same through a shell pipeline, with a reader that stops after
    // one line of a long output.
    let socket = spoke.socket.display().to_string();
    let script = format!(
        "\"$0\" --socket '{socket}' screen p --json | head -1; \"$0\" --socket '{socket}' grep p . | head -1"
    );
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(script).arg(vtr_bin());
    clean_env(&mut sh, spoke.dir.path());
    let out = sh.output().expect("sh");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "{\n1:1\n", "first line of each");
    assert_eq!(stderr(&out), "", "no panic, no message");
}

/// Runs `vtr ARGS` against `socket` and returns its output.
fn run(socket: &std::path::Path, args: &[&str]) -> Output {
    cli(socket, args).output().expect("run vtr")
}

/// `vtr wait` in a command of its own matches from the session's last
/// input, so output that came before it started is seen: after `spawn`,
/// and in the script `vtr send s 'cmd' --submit; vtr wait s 'done'`.
#[tokio::test]
async fn wait_after_a_separate_send_or_spawn_sees_earlier_output() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let out = run(
        &spoke.socket,
        &[
            "spawn",
            "s",
            "--",
            "sh",
            "-c",
            "echo ready-$((1+1)); exec sh",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The output is there before `wait` starts.
    wait_screen(&mut c, "s", "the spawned program's output", |l| {
        l.iter().any(|l| l == "ready-2")
    })
    .await;
    let out = run(&spoke.socket, &["wait", "s", "ready-2", "--timeout", "5s"]);
    assert!(out.status.success(), "wait after spawn: {}", stderr(&out));
    assert_eq!(stdout(&out), "ready-2\n");
    // `--from now` is the old behaviour: output before the call is missed.
    let out = run(
        &spoke.socket,
        &[
            "wait",
            "s",
            "ready-2",
            "--from",
            "now",
            "--timeout",
            "300ms",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));

    // The two-command script, with the command's output complete before
    // `wait` runs.
    let out = run(
        &spoke.socket,
        &["send", "s", "echo done-$((6*7))", "--submit"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    wait_screen(&mut c, "s", "the command's output", |l| {
        l.iter().any(|l| l == "done-42")
    })
    .await;
    let out = run(&spoke.socket, &["wait", "s", "done-42", "--timeout", "5s"]);
    assert!(out.status.success(), "send; wait: {}", stderr(&out));
    assert_eq!(stdout(&out), "done-42\n");

    // A later input moves the start: the earlier output no longer counts,
    // unless asked for with --from start.
    let out = run(
        &spoke.socket,
        &["send", "s", "echo next-$((2+3))", "--submit"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    wait_screen(&mut c, "s", "the second command's output", |l| {
        l.iter().any(|l| l == "next-5")
    })
    .await;
    let out = run(
        &spoke.socket,
        &["wait", "s", "done-42", "--timeout", "300ms"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let out = run(
        &spoke.socket,
        &["wait", "s", "done-42", "--from", "start", "--timeout", "5s"],
    );
    assert!(out.status.success(), "--from start: {}", stderr(&out));
    let out = run(&spoke.socket, &["wait", "s", "x", "--from", "later"]);
    assert_eq!(out.status.code(), Some(2), "a bad --from is a usage error");
    assert!(stderr(&out).contains("--from"), "{}", stderr(&out));
}

/// `vtr grep` numbers lines from 1 and exits as grep(1) does: 0 a match,
/// 1 none, 2 an error; 3 for a session that does not exist.
#[tokio::test]
async fn grep_numbers_lines_from_one_and_exits_like_grep() {
    let spoke = Spoke::start();
    let out = run(
        &spoke.socket,
        &[
            "spawn",
            "g",
            "--",
            "sh",
            "-c",
            "printf 'alpha\\nbeta\\ngamma\\n'; exec sleep 60",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&spoke.socket, &["wait", "g", "gamma", "--timeout", "10s"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(&spoke.socket, &["grep", "g", "beta", "-B", "1", "-A", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "1-alpha\n2:beta\n3-gamma\n");
    let out = run(&spoke.socket, &["grep", "g", "beta", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["matches"][0]["line_number"], 2, "{json}");
    assert_eq!(json["matches"][0]["line"], "beta");

    let out = run(&spoke.socket, &["grep", "g", "delta"]);
    assert_eq!(out.status.code(), Some(1), "no match");
    assert_eq!(stdout(&out), "");
    let out = run(&spoke.socket, &["grep", "g", "("]);
    assert_eq!(out.status.code(), Some(2), "a bad regex: {}", stderr(&out));
    let out = run(&spoke.socket, &["grep", "ghost", "x"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let gone = spoke.dir.path().join("nothing.sock");
    let out = run(&gone, &["grep", "g", "x"]);
    assert_eq!(out.status.code(), Some(2), "no spoke: {}", stderr(&out));
}

/// A hub that fails to start after binding its socket (its port is taken)
/// removes the socket file, and its log, written to a file, is plain text.
#[tokio::test]
async fn a_failed_start_leaves_no_socket_and_logs_plain_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("addr").to_string();
    let socket = dir.path().join("hub.sock");
    let log = dir.path().join("hub.log");
    let status = vtr(dir.path())
        .env("RUST_LOG", "vtr=debug")
        .args(["hub", "--name", "h", "--listen", &port, "--socket"])
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .status()
        .expect("run vtr hub");
    assert_eq!(status.code(), Some(1));
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains(&port), "the error names the port: {text}");
    assert!(!socket.exists(), "a failed start left {}", socket.display());
    assert!(
        !text.contains('\x1b'),
        "colour codes in a log file: {text:?}"
    );
    assert!(text.contains("DEBUG"), "the log has lines to check: {text}");
}

/// A session of a spoke is a terminal: logs there are coloured, unless
/// NO_COLOR is set.
#[tokio::test]
async fn logs_are_coloured_on_a_terminal_unless_no_color() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    for (name, no_color) in [("coloured", ""), ("plain", "1")] {
        let dir = spoke.dir.path().join(name);
        std::fs::create_dir(&dir).expect("dir");
        let script = format!(
            "NO_COLOR='{no_color}' RUST_LOG=vtr=debug XDG_STATE_HOME='{d}' XDG_CONFIG_HOME='{d}' \
             \"$0\" spoke --name {name} --socket '{d}/s.sock' & sleep 1; kill $!; wait; echo finished",
            d = dir.display()
        );
        spawn(&mut c, name, "sh", &["-c", &script, vtr_bin()]).await;
        wait_screen(&mut c, name, "the spoke ran", |l| {
            l.iter().any(|l| l == "finished")
        })
        .await;
        let out = run(&spoke.socket, &["record", name]);
        let cast = stdout(&out);
        assert!(cast.contains("DEBUG"), "{name}: {cast}");
        // In asciinema JSON, ESC is written \u001b.
        let coloured = cast.contains("\\u001b[");
        assert_eq!(coloured, no_color.is_empty(), "{name}: {cast}");
    }
}

/// Errors name the flag a user must pass, never a protocol detail.
#[tokio::test]
async fn errors_name_the_flag_to_pass() {
    let hub = Hub::start(&[], &[]);
    let out = hub
        .command()
        .args(["ls", "--addr", &hub.url()])
        .output()
        .expect("run vtr");
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.contains("--token-file FILE"), "{text}");
    assert!(!text.to_lowercase().contains("authorization"), "{text}");
    let out = run(&hub.socket, &["grep", "hub:none", "x", "-m", "20000"]);
    assert!(!stderr(&out).contains("max_matches"), "{}", stderr(&out));
    // A spoke's --token-file is the hub's token (with --hub); its own
    // port's token is --listen-token-file, and the error says so.
    let token = hub.dir.path().join("mine");
    write_token(&token, "a-token-meant-for-the-listen-port-0123");
    let out = hub
        .command()
        .args(["spoke", "--listen", "127.0.0.1:0", "--socket"])
        .arg(hub.dir.path().join("other.sock"))
        .arg("--token-file")
        .arg(&token)
        .output()
        .expect("run vtr spoke");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--listen-token-file"),
        "{}",
        stderr(&out)
    );
}

/// `vtr kill` waits for the process to end, so `vtr rm` right after it
/// works; a signal the program ignores is reported (exit 4), not hidden.
#[tokio::test]
async fn kill_waits_for_the_exit_and_says_when_it_does_not_come() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    let out = run(
        &spoke.socket,
        &[
            "spawn",
            "k",
            "--",
            "sh",
            "-c",
            "trap '' TERM; echo armed; exec sleep 60",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    wait_screen(&mut c, "k", "the trap is set", |l| {
        l.iter().any(|l| l == "armed")
    })
    .await;
    let out = run(
        &spoke.socket,
        &["kill", "k", "--signal", "TERM", "--timeout", "300ms"],
    );
    // `exec sleep` keeps the ignored TERM: sleep ignores it too.
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("try --signal KILL"),
        "{}",
        stderr(&out)
    );
    let out = run(&spoke.socket, &["kill", "k", "--signal", "KILL"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&spoke.socket, &["rm", "k"]);
    assert!(
        out.status.success(),
        "rm right after kill: {}",
        stderr(&out)
    );
}
