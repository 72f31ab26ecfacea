//! Commands at a shell prompt: real bash and zsh started with vtr's shell
//! integration report each command (OSC 133), and `Run` types one and
//! waits for its end: exit codes 0, 1, 42 and 130 (Ctrl-C), a command that
//! outlives its timeout, output over the cap, through a hub to a
//! tunnelled spoke, and the CLI's exit codes.

use tonic::Code;
use vtr::transport::grpc::client::VtrClient;
use vtr_shared::proto as pb;

use crate::harness::*;

const SHELLS: [&str; 2] = ["bash", "zsh"];

async fn run(c: &mut VtrClient, session: &str, line: &str, timeout_ms: u64) -> pb::RunResponse {
    run_capped(c, session, line, timeout_ms, 0).await
}

async fn run_capped(
    c: &mut VtrClient,
    session: &str,
    line: &str,
    timeout_ms: u64,
    max_output_bytes: u32,
) -> pb::RunResponse {
    c.run(pb::RunRequest {
        session: session.to_owned(),
        command: line.to_owned(),
        timeout_ms,
        max_output_bytes,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("run {line:?}: {e}"))
    .into_inner()
}

fn finished(r: &pb::RunResponse) -> Option<i32> {
    assert_eq!(r.end(), pb::RunEnd::Finished, "{r:?}");
    r.command.as_ref().expect("a command").exit_code
}

async fn commands(c: &mut VtrClient, session: &str) -> pb::CommandList {
    c.list_commands(pb::ListCommandsRequest {
        session: session.to_owned(),
        limit: 0,
    })
    .await
    .expect("list commands")
    .into_inner()
}

#[tokio::test]
async fn bash_and_zsh_report_each_command_with_its_exit_code_and_output() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    for shell in SHELLS {
        // Run at once after the spawn: it waits for the first prompt.
        spawn(&mut c, shell, shell, &[]).await;
        let r = run(&mut c, shell, "printf 'a\\nb\\n'", 10_000).await;
        assert_eq!(finished(&r), Some(0), "{shell}");
        assert_eq!(r.output, "a\nb\n", "{shell}: exactly the command's output");
        assert_eq!(
            finished(&run(&mut c, shell, "false", 10_000).await),
            Some(1),
            "{shell}"
        );
        let r = run(&mut c, shell, "echo out; (exit 42)", 10_000).await;
        assert_eq!(finished(&r), Some(42), "{shell}");
        assert_eq!(r.output, "out\n", "{shell}");
        assert!(r.reason.contains("exit code 42"), "{shell}: {}", r.reason);

        let list = commands(&mut c, shell).await;
        assert!(list.shell_integration, "{shell}");
        let seen: Vec<(u64, &str, Option<i32>)> = list
            .commands
            .iter()
            .map(|c| (c.seq, c.text.as_str(), c.exit_code))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "printf 'a\\nb\\n'", Some(0)),
                (2, "false", Some(1)),
                (3, "echo out; (exit 42)", Some(42)),
            ],
            "{shell}"
        );
        let last = &list.commands[2];
        assert!(last.end_offset.expect("ended") > last.start_offset);
        assert!(last.ended_at_ms >= last.started_at_ms && last.started_at_ms > 0);
    }
}

#[tokio::test]
async fn a_command_that_outlives_its_timeout_is_told_and_ctrl_c_ends_it_with_130() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    for shell in SHELLS {
        spawn(&mut c, shell, shell, &[]).await;
        let r = run(&mut c, shell, "echo started; sleep 30", 500).await;
        assert_eq!(r.end(), pb::RunEnd::TimedOut, "{shell}: {r:?}");
        assert!(r.reason.contains("still running"), "{}", r.reason);
        let cmd = r.command.expect("it started");
        assert_eq!((cmd.seq, cmd.end_offset, cmd.exit_code), (1, None, None));
        assert_eq!(r.output, "started\n", "{shell}: the output so far");

        // Another run now would type into the running command: refused.
        let busy = c
            .run(pb::RunRequest {
                session: shell.into(),
                command: "true".into(),
                ..Default::default()
            })
            .await
            .expect_err("refused while one runs");
        assert_eq!(busy.code(), Code::FailedPrecondition);
        assert!(
            busy.message().contains("still running"),
            "{}",
            busy.message()
        );

        c.send_key(pb::SendKeyRequest {
            session: shell.into(),
            keys: vec!["ctrl+c".into()],
            ..Default::default()
        })
        .await
        .expect("ctrl+c");
        let ended = wait_until("the interrupted command listed as ended", || {
            let mut c = c.clone();
            async move {
                let list = commands(&mut c, shell).await;
                list.commands
                    .first()
                    .filter(|c| c.end_offset.is_some())
                    .cloned()
            }
        })
        .await;
        assert_eq!(ended.exit_code, Some(130), "{shell}");
        assert_eq!(finished(&run(&mut c, shell, "true", 10_000).await), Some(0));
    }
}

#[tokio::test]
async fn output_over_the_cap_keeps_its_end_and_says_how_much_was_left_out() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "b", "bash", &[]).await;
    let r = run_capped(&mut c, "b", "seq 1 20000", 10_000, 100).await;
    assert_eq!(finished(&r), Some(0));
    assert!(r.output.len() <= 100, "{} bytes", r.output.len());
    assert!(r.output.ends_with("19999\n20000\n"), "{:?}", r.output);
    let total: usize = (1..=20000).map(|n: u32| n.to_string().len() + 1).sum();
    // Left out: the text before the kept end, counted in raw bytes (with
    // their carriage returns) beyond what is read to find that end.
    let omitted = r.output_omitted as usize;
    assert!(
        omitted + r.output.len() >= total && omitted + r.output.len() <= total + 20_000,
        "{omitted} + {} against {total}",
        r.output.len()
    );

    let over = c
        .run(pb::RunRequest {
            session: "b".into(),
            command: "true".into(),
            max_output_bytes: 2 << 20,
            ..Default::default()
        })
        .await
        .expect_err("over the limit");
    assert_eq!(over.code(), Code::InvalidArgument);
    assert!(
        over.message().contains("max_output_bytes"),
        "{}",
        over.message()
    );
    let two_lines = c
        .run(pb::RunRequest {
            session: "b".into(),
            command: "true\nfalse".into(),
            ..Default::default()
        })
        .await
        .expect_err("two lines");
    assert_eq!(two_lines.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_shell_without_prompt_marks_cannot_run_and_says_why() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "plain", "sh", &[]).await;
    let mut request = spawn_request("opted-out", "bash", &[]);
    request.no_shell_integration = true;
    c.spawn(request).await.expect("spawn");
    for session in ["plain", "opted-out"] {
        let e = c
            .run(pb::RunRequest {
                session: session.into(),
                command: "true".into(),
                ..Default::default()
            })
            .await
            .expect_err("no marks");
        assert_eq!(e.code(), Code::FailedPrecondition, "{session}");
        assert!(
            e.message().contains("OSC 133"),
            "{session}: {}",
            e.message()
        );
        assert!(!commands(&mut c, session).await.shell_integration);
    }
}

#[tokio::test]
async fn run_goes_through_a_hub_to_a_tunnelled_spoke() {
    let hub = Hub::start(&[], &[]);
    let _spoke = hub.tunnelled_spoke("far").await;
    let mut c = hub.client().await;
    spawn(&mut c, "far:sh", "bash", &[]).await;
    let r = run(&mut c, "far:sh", "echo from-far; (exit 3)", 10_000).await;
    assert_eq!(finished(&r), Some(3));
    assert_eq!(r.output, "from-far\n");
    let list = commands(&mut c, "far:sh").await;
    assert_eq!(list.commands.len(), 1);
    assert_eq!(list.commands[0].text, "echo from-far; (exit 3)");
}

#[tokio::test]
async fn vtr_run_exits_with_the_commands_code_and_history_lists_them() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "s", "bash", &[]).await;
    let ok = spoke.cli(&["run", "s", "--", "echo", "hello"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "hello\n");
    let failed = spoke.cli(&["run", "s", "--", "(exit 7)"]);
    assert_eq!(failed.status.code(), Some(7), "{failed:?}");
    let slow = spoke.cli(&["run", "s", "--timeout", "300ms", "--", "sleep 2"]);
    assert_eq!(slow.status.code(), Some(124), "{slow:?}");
    assert!(
        String::from_utf8_lossy(&slow.stderr).contains("still running"),
        "{slow:?}"
    );
    wait_until("the slow command ended", || {
        let mut c = c.clone();
        async move {
            let list = commands(&mut c, "s").await;
            list.commands.last().and_then(|c| c.end_offset)
        }
    })
    .await;
    let history = spoke.cli(&["history", "s"]);
    let text = String::from_utf8_lossy(&history.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["SEQ", "EXIT", "DURATION", "COMMAND"]);
    assert_eq!((rows[1][0], rows[1][1], rows[1][3]), ("1", "0", "echo"));
    assert_eq!((rows[2][0], rows[2][1], rows[2][3]), ("2", "7", "(exit"));
    assert_eq!((rows[3][0], rows[3][1], rows[3][3]), ("3", "0", "sleep"));
    let json = spoke.cli(&["--json", "history", "s", "-n", "1"]);
    let items: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(items[0]["seq"], 3);
    assert_eq!(items[0]["command"], "sleep 2");
    assert_eq!(items.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_line_the_shell_does_not_start_returns_at_its_next_prompt_with_what_it_printed() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    for (shell, complaint) in [("bash", "syntax error"), ("zsh", "parse error")] {
        spawn(&mut c, shell, shell, &[]).await;
        assert_eq!(finished(&run(&mut c, shell, "true", 10_000).await), Some(0));
        let started = std::time::Instant::now();
        let r = run(&mut c, shell, "fi", 20_000).await;
        assert_eq!(r.end(), pb::RunEnd::NotStarted, "{shell}: {r:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{shell}: waited out the timeout"
        );
        assert!(r.output.contains(complaint), "{shell}: {:?}", r.output);
        assert!(r.command.is_none());
        // The shell is at its prompt again: the next run works.
        assert_eq!(
            finished(&run(&mut c, shell, "(exit 6)", 10_000).await),
            Some(6)
        );
    }
}

#[tokio::test]
async fn one_run_at_a_time_and_no_control_characters() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    spawn(&mut c, "b", "bash", &[]).await;
    assert_eq!(finished(&run(&mut c, "b", "true", 10_000).await), Some(0));
    let first = {
        let mut c = c.clone();
        tokio::spawn(async move { run(&mut c, "b", "sleep 1; echo one", 10_000).await })
    };
    wait_until("the first run's command started", || {
        let mut c = c.clone();
        async move {
            let list = commands(&mut c, "b").await;
            list.commands
                .iter()
                .any(|c| c.text == "sleep 1; echo one")
                .then_some(())
        }
    })
    .await;
    let second = c
        .run(pb::RunRequest {
            session: "b".into(),
            command: "echo two".into(),
            ..Default::default()
        })
        .await
        .expect_err("a second run while the first waits");
    assert_eq!(second.code(), Code::FailedPrecondition);
    assert!(
        second.message().contains("another run"),
        "{}",
        second.message()
    );
    assert_eq!(first.await.expect("task").output, "one\n");

    for line in ["echo a\tb", "   ", "echo \u{1b}[A"] {
        let e = c
            .run(pb::RunRequest {
                session: "b".into(),
                command: line.into(),
                ..Default::default()
            })
            .await
            .expect_err("refused");
        assert_eq!(e.code(), Code::InvalidArgument, "{line:?}: {}", e.message());
    }
}

#[tokio::test]
async fn marks_a_command_prints_do_not_end_it() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    for shell in SHELLS {
        spawn(&mut c, shell, shell, &[]).await;
        // Output that holds marks (a file shown with cat, say): an end, a
        // prompt, a start. Only the shell's own marks count.
        let line = "printf '\\033]133;D;0\\007\\033]133;A\\007\\033]133;B\\007\\033]133;C\\007'; \
                    sleep 0.3; echo real-end; (exit 5)";
        let r = run(&mut c, shell, line, 10_000).await;
        assert_eq!(finished(&r), Some(5), "{shell}: {r:?}");
        assert!(r.output.ends_with("real-end\n"), "{shell}: {:?}", r.output);
        assert_eq!(commands(&mut c, shell).await.commands.len(), 1, "{shell}");
    }
}

/// `shell` with `rc` as the user's own startup file in a home of its own.
async fn spawn_with_rc(c: &mut VtrClient, name: &str, shell: &str, rc: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("home");
    let file = if shell == "bash" { ".bashrc" } else { ".zshrc" };
    std::fs::write(home.path().join(file), rc).expect("rc file");
    let mut request = spawn_request(name, shell, &[]);
    request.env = vec![format!("HOME={}", home.path().display())];
    c.spawn(request).await.expect("spawn");
    home
}

#[tokio::test]
async fn the_users_own_prompt_code_sees_the_status_and_themes_keep_the_marks() {
    let spoke = Spoke::start();
    let mut c = spoke.client().await;
    // bash: the user's PROMPT_COMMAND (ending in `;`, with set -u) sees
    // the command's status; it prints after the command's end.
    let _b = spawn_with_rc(
        &mut c,
        "b",
        "bash",
        "set -u\nPROMPT_COMMAND='echo saw-$?;'\n",
    )
    .await;
    let r = run(&mut c, "b", "(exit 3)", 10_000).await;
    assert_eq!(finished(&r), Some(3));
    assert_eq!(
        r.output, "",
        "the user's prompt output is not the command's"
    );
    wait_screen(&mut c, "b", "the user's hook saw 3", |l| {
        l.iter().any(|l| l == "saw-3")
    })
    .await;
    // zsh: a theme that rebuilds PS1 at every prompt keeps the marks (a
    // line the shell does not start returns at the next prompt).
    let _z = spawn_with_rc(
        &mut c,
        "z",
        "zsh",
        "setopt nounset\ntheme() { PS1='themed> ' }\nprecmd_functions+=(theme)\n",
    )
    .await;
    let started = std::time::Instant::now();
    let r = run(&mut c, "z", "fi", 20_000).await;
    assert_eq!(r.end(), pb::RunEnd::NotStarted, "{r:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(finished(&run(&mut c, "z", "true", 10_000).await), Some(0));
    wait_screen(&mut c, "z", "the theme's prompt", |l| {
        l.iter().any(|l| l.starts_with("themed>"))
    })
    .await;
}
