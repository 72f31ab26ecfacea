//! The systemd units in assets/systemd: `systemd-analyze verify` accepts
//! each one, and each one's ExecStart line, run as systemd would run it,
//! says READY=1 on the notify socket, lives through SIGHUP, and on SIGTERM
//! says STOPPING=1, exits 0 and removes its socket.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::*;

struct Unit {
    path: PathBuf,
    /// `--user` units, else system ones.
    user: bool,
    text: String,
}

fn units() -> Vec<Unit> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/systemd");
    let mut units = Vec::new();
    for (dir, user) in [("user", true), ("system", false)] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("assets/systemd")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("unit");
            units.push(Unit { path, user, text });
        }
    }
    assert_eq!(units.len(), 4, "hub and spoke, user and system");
    units
}

/// Where the unit expects the binary: `cargo install`'s for user units,
/// /usr/local/bin for system ones.
fn installed_binary(unit: &Unit) -> &'static str {
    if unit.user {
        "%h/.cargo/bin/vtr"
    } else {
        "/usr/local/bin/vtr"
    }
}

#[test]
fn systemd_analyze_verifies_every_unit() {
    let dir = tempfile::tempdir().expect("dir");
    // `Documentation=man:` pages must exist: the ones `vtr man` writes.
    let man = dir.path().join("man");
    let out = vtr(dir.path())
        .args(["man", "--dir"])
        .arg(man.join("man1"))
        .output()
        .expect("vtr man");
    assert!(out.status.success());
    for unit in units() {
        let name = unit
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .replace("@.", "@root.");
        let copy = dir.path().join(&name);
        let text = unit.text.replace(installed_binary(&unit), vtr_bin());
        std::fs::write(&copy, text).expect("copy");
        let mut verify = Command::new("systemd-analyze");
        verify.arg("verify");
        if unit.user {
            verify.arg("--user").env("XDG_RUNTIME_DIR", dir.path());
        }
        let out = verify
            .arg(&copy)
            .env("MANPATH", &man)
            .output()
            .expect("systemd-analyze (systemd, installed by .ci/setup)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{name}: {stderr}"
        );
    }
}

/// The unit's `Environment=` settings.
fn environment(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The ExecStart line, its specifiers and variables expanded as systemd
/// would: `%h` the home, `%i` the instance, `${NAME}` from `vars`.
fn exec_start(unit: &Unit, home: &Path, vars: &HashMap<&str, String>) -> Vec<String> {
    let line = unit
        .text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let line = line
        .replace(installed_binary(unit), vtr_bin())
        .replace("%h", &home.display().to_string())
        .replace("%i", "test");
    line.split_whitespace()
        .map(|word| {
            let mut word = word.to_owned();
            for (name, value) in vars {
                word = word.replace(&format!("${{{name}}}"), value);
            }
            word
        })
        .collect()
}

fn next_state(notify: &UnixDatagram) -> String {
    let mut buf = [0u8; 256];
    let n = notify
        .recv(&mut buf)
        .expect("a state on the notify socket in time");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn each_units_exec_start_says_ready_survives_hup_and_stops_on_term() {
    for unit in units() {
        let dir = tempfile::tempdir().expect("dir");
        let home = dir.path();
        let vars = HashMap::from([
            ("STATE_DIRECTORY", home.join("state").display().to_string()),
            ("RUNTIME_DIRECTORY", home.join("run").display().to_string()),
        ]);
        for dir in vars.values() {
            std::fs::create_dir_all(dir).expect("dir");
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .expect("chmod");
        }
        let notify_path = home.join("notify");
        let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
        notify.set_read_timeout(Some(timeout())).expect("timeout");
        let argv = exec_start(&unit, home, &vars);
        let mut command = Command::new(&argv[0]);
        clean_env(&mut command, home);
        command
            .args(&argv[1..])
            .envs(environment(&unit.text))
            // The unit's port may be taken here; the line stays as written.
            .env("VTR_LISTEN", "127.0.0.1:0")
            .env("NOTIFY_SOCKET", &notify_path)
            .env("STATE_DIRECTORY", vars["STATE_DIRECTORY"].as_str())
            .env("RUNTIME_DIRECTORY", vars["RUNTIME_DIRECTORY"].as_str())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("run ExecStart");
        let name = unit.path.display().to_string();
        assert_eq!(next_state(&notify), "READY=1", "{name}");
        let ready = BufReader::new(child.stdout.take().expect("stdout"))
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("READY "))
            .expect("a READY line");
        let socket = ready
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("socket="))
            .map(PathBuf::from)
            .expect("socket=");
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));

        kill(pid, Signal::SIGHUP).expect("SIGHUP");
        let out = vtr(home)
            .arg("--socket")
            .arg(&socket)
            .arg("ls")
            .output()
            .expect("vtr ls");
        assert!(out.status.success(), "{name} answers after SIGHUP");
        assert!(child.try_wait().expect("wait").is_none(), "{name} lives");

        kill(pid, Signal::SIGTERM).expect("SIGTERM");
        assert_eq!(next_state(&notify), "STOPPING=1", "{name}");
        let status = child.wait().expect("exit");
        assert!(status.success(), "{name}: {status}");
        assert!(!socket.exists(), "{name} left {}", socket.display());
    }
}
