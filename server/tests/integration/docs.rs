//! Shell completions and manual pages, checked by the programs that use
//! them: bash completes with the script, nroff renders the pages.

use std::process::Command;

use crate::harness::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asks bash, with vtr's completion script loaded, to complete `words`.
fn bash_completes(home: &std::path::Path, words: &[&str]) -> Vec<String> {
    let script = format!(
        "source <(\"$0\" completions bash) && COMP_WORDS=({}) && COMP_CWORD={} && \
         _vtr vtr \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\" && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words.join(" "),
        words.len() - 1
    );
    let mut bash = Command::new("bash");
    bash.arg("-c").arg(script).arg(vtr_bin());
    clean_env(&mut bash, home);
    let out = bash.output().expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out).lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_commands_and_their_subcommands() {
    let home = tempfile::tempdir().expect("dir");
    let words = bash_completes(home.path(), &["vtr", "sp"]);
    assert_eq!(words, ["spoke", "spokes", "spawn"], "{words:?}");
    let words = bash_completes(home.path(), &["vtr", "share", ""]);
    for expected in ["create", "ls", "revoke"] {
        assert!(
            words.iter().any(|w| w == expected),
            "{expected} in {words:?}"
        );
    }
    for (shell, marker) in [("zsh", "#compdef vtr"), ("fish", "complete -c vtr")] {
        let out = vtr(home.path())
            .args(["completions", shell])
            .output()
            .expect("vtr");
        assert!(stdout(&out).contains(marker), "{shell}: {}", stdout(&out));
    }
    let out = vtr(home.path())
        .args(["completions", "tcsh"])
        .output()
        .expect("vtr");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

/// Renders a roff page as `man` would.
fn nroff(page: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("nroff")
        .args(["-man", "-Tutf8"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("nroff (groff-base, installed by .ci/setup)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(page)
        .expect("write page");
    let out = child.wait_with_output().expect("nroff");
    assert!(out.status.success());
    // Bold and underline are overstrikes: keep the letters.
    let text = stdout(&out);
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn manual_pages_render_with_every_command() {
    let home = tempfile::tempdir().expect("dir");
    let out = vtr(home.path()).arg("man").output().expect("vtr man");
    assert!(out.status.success());
    let text = nroff(&out.stdout);
    assert!(text.contains("NAME") && text.contains("vtr"), "{text}");
    for command in [
        "hub",
        "spoke",
        "spawn",
        "wait",
        "grep",
        "share",
        "completions",
    ] {
        assert!(text.contains(command), "{command} in vtr(1):\n{text}");
    }
    let dir = home.path().join("man1");
    let out = vtr(home.path())
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .expect("vtr man --dir");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spawn = std::fs::read(dir.join("vtr-spawn.1")).expect("vtr-spawn.1");
    let text = nroff(&spawn);
    assert!(text.contains("vtr-spawn"), "{text}");
    assert!(
        text.contains("--cols") && text.contains("Terminal width"),
        "{text}"
    );
    assert!(dir.join("vtr-share-create.1").exists());
}
