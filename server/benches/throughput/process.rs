//! The processes and files a bench run needs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use crate::READY_DEADLINE;

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> anyhow::Result<Self> {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path = std::env::temp_dir().join(format!("vtr-bench-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `vtr` child process (spoke or hub), killed on drop.
pub(crate) struct Process {
    pub(crate) child: Child,
    pub(crate) socket: PathBuf,
    pub(crate) stopped: bool,
    /// The READY line's `key=value` fields.
    pub(crate) ready: Vec<(String, String)>,
}

/// The bench's spoke: a Unix socket, and TCP on loopback for the hub.
pub(crate) fn start_spoke(dir: &Path) -> anyhow::Result<Process> {
    let socket = dir.join("s.sock");
    let mut args = vec![
        "spoke".to_owned(),
        "--socket".to_owned(),
        socket.display().to_string(),
        "--name".to_owned(),
        "bench".to_owned(),
        "--listen".to_owned(),
        "127.0.0.1:0".to_owned(),
    ];
    args.extend(
        std::env::var("VTR_BENCH_SPOKE_ARGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Process::start(dir, &args, socket)
}

impl Process {
    pub(crate) fn start(dir: &Path, args: &[&str], socket: PathBuf) -> anyhow::Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vtr"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting `vtr {}`", args.join(" ")))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut spoke = Self {
            child,
            socket,
            stopped: false,
            ready: Vec::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining stdout after READY so the spoke never blocks on it.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("READY ") => {
                    println!("{line}");
                    spoke.ready = line
                        .split_whitespace()
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    return Ok(spoke);
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    spoke.stop();
                    bail!("no READY line within {READY_DEADLINE:?}");
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = spoke.child.wait().context("waiting for the process")?;
                    spoke.stopped = true;
                    bail!("`vtr {}` exited before READY: {status}", args.join(" "));
                }
            }
        }
    }

    pub(crate) fn field(&self, key: &str) -> Option<&str> {
        self.ready
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Err(e) = self.child.kill() {
            println!("killing a vtr process: {e}");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// User + system CPU seconds of a process (Linux `/proc`, 100 ticks/s).
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// `vtr hub --name NAME` on loopback, with its socket and state in `dir`,
/// then `extra` flags.
pub(crate) fn start_named_hub(dir: &Path, name: &str, extra: &[&str]) -> anyhow::Result<Process> {
    let socket = dir.join(format!("{name}.sock"));
    let state = dir.join(format!("{name}-state"));
    let (socket_arg, state_arg) = (socket.display().to_string(), state.display().to_string());
    let mut args = vec![
        "hub",
        "--name",
        name,
        "--listen",
        "127.0.0.1:0",
        "--socket",
        &socket_arg,
        "--state-dir",
        &state_arg,
    ];
    args.extend_from_slice(extra);
    Process::start(dir, &args, socket)
}

/// `vtr spoke --name NAME` tunnelled to `hub` with the hub's token.
pub(crate) fn start_tunnelled_spoke(
    dir: &Path,
    name: &str,
    hub: &Process,
) -> anyhow::Result<Process> {
    let listen = hub.field("listen").context("hub address")?;
    let token = hub.field("token_file").context("hub token")?;
    let socket = dir.join(format!("{name}.sock"));
    Process::start(
        dir,
        &[
            "spoke",
            "--name",
            name,
            "--hub",
            &format!("http://{listen}"),
            "--token-file",
            token,
            "--socket",
            &socket.display().to_string(),
            "--state-dir",
            &dir.join(format!("{name}-state")).display().to_string(),
        ],
        socket,
    )
}

/// A memory figure of a process from `/proc/PID/status` (`VmRSS`,
/// `VmHWM`), in MiB.
pub(crate) fn memory_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
