//! The README's CLI tour, run as written: each line of the block marked
//! `<!-- cli-tour ... -->` goes to `sh` against a real hub, and must exit 0
//! with the output the tour promises.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::*;

/// The lines of the tour's code block.
fn tour() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let after = readme
        .split_once("<!-- cli-tour")
        .expect("the README marks its CLI tour with <!-- cli-tour")
        .1;
    let block = after
        .split_once("```sh\n")
        .expect("a sh block after the marker")
        .1;
    let block = block.split_once("```").expect("the block ends").0;
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn sh(line: &str, hub: &Hub, cwd: &Path) -> Output {
    let bin_dir = Path::new(vtr_bin()).parent().expect("bin dir");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(line).current_dir(cwd).env_clear();
    clean_env(&mut sh, cwd);
    sh.env("PATH", path)
        .env("VTR_SOCKET", &hub.socket)
        .output()
        .expect("run sh")
}

/// What a tour line must print (on stdout), by its command.
fn promised(line: &str) -> Option<&'static str> {
    let mut words = line.split_whitespace().skip(1);
    let command = words.next()?;
    Some(match command {
        "grant" if words.next() == Some("create") => "vtrg_",
        "grant" => "ci-agent",
        "audit" => "no calls under grants\n",
        "spawn" => "build\n",
        "send" | "screen" => "42 tests passed",
        "grep" => ":42 tests passed",
        "ls" => "build",
        "run" => "42 tests passed\n",
        "history" => "echo $((6 * 7)) tests passed",
        _ => return None,
    })
}

#[tokio::test]
async fn the_readme_cli_tour_runs_as_written() {
    let lines = tour();
    assert!(lines.len() >= 10, "the tour: {lines:?}");
    let hub = Hub::start(&[], &[]);
    let cwd = tempfile::tempdir().expect("temp dir");
    for line in &lines {
        let out = sh(line, &hub, cwd.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "`{line}` exited {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status.code()
        );
        if let Some(want) = promised(line) {
            if want.ends_with('\n') {
                assert_eq!(stdout, want, "`{line}`");
            } else {
                assert!(stdout.contains(want), "`{line}` printed: {stdout}");
            }
        }
    }
    let cast = std::fs::read_to_string(cwd.path().join("build.cast")).expect("the recording");
    assert!(
        cast.starts_with('{') && cast.contains("42 tests passed"),
        "{cast}"
    );
    // The tour ends with the session killed and removed.
    let out = sh("vtr ls", &hub, cwd.path());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no sessions\n");
}
