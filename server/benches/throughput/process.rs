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

/// A `vtr spoke` child process, killed on drop.
pub(crate) struct Spoke {
    pub(crate) child: Child,
    pub(crate) socket: PathBuf,
    pub(crate) stopped: bool,
}

impl Spoke {
    pub(crate) fn start(dir: &Path) -> anyhow::Result<Self> {
        let socket = dir.join("s.sock");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vtr"))
            .arg("spoke")
            .arg("--socket")
            .arg(&socket)
            .args(["--name", "bench"])
            .args(
                std::env::var("VTR_BENCH_SPOKE_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting `vtr spoke`")?;
        let stdout = child.stdout.take().context("spoke stdout")?;
        let mut spoke = Self {
            child,
            socket,
            stopped: false,
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
                    println!("spoke: {line}");
                    return Ok(spoke);
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    spoke.stop();
                    bail!("no READY line from the spoke within {READY_DEADLINE:?}");
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = spoke.child.wait().context("waiting for the spoke")?;
                    spoke.stopped = true;
                    bail!("the spoke exited before READY: {status}");
                }
            }
        }
    }

    pub(crate) fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Err(e) = self.child.kill() {
            println!("killing the spoke: {e}");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Spoke {
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
