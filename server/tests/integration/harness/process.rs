//! One way to run `vtr` in a test: a clean environment and a private
//! configuration and state directory, so a developer's own `VTR_*`
//! settings, config file or running hub never leak into a test. Every
//! `vtr` a test starts, short-lived command or long-running hub or spoke,
//! goes through [`vtr`].

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

use vtr::transport::grpc::client::{self, Target, VtrClient};

use super::timeout;

pub fn vtr_bin() -> &'static str {
    env!("CARGO_BIN_EXE_vtr")
}

/// `vtr` with `home` as its home, configuration, state and runtime
/// directory, no inherited `VTR_*` variables and stdin closed.
pub fn vtr(home: &Path) -> Command {
    let mut command = Command::new(vtr_bin());
    clean_env(&mut command, home);
    command
}

/// Makes `command` (a `vtr`, or a wrapper that runs one) see only `home`.
pub fn clean_env(command: &mut Command, home: &Path) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("VTR_") {
            command.env_remove(key);
        }
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_STATE_HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .stdin(Stdio::null());
}

/// A READY line's `key=value` fields.
#[derive(Debug, Clone, Default)]
pub struct Ready {
    pub fields: Vec<(String, String)>,
}

impl Ready {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Environment variables and an open-file limit for a process under test.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub env: Vec<(String, String)>,
    /// RLIMIT_NOFILE, soft and hard, as a user's `ulimit -n` would set.
    pub open_files: Option<u64>,
}

/// A running `vtr hub` or `vtr spoke`: its private directory (home, log),
/// its Unix socket and READY line; killed when dropped.
pub struct Process {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub ready: Ready,
    args: Vec<String>,
    pub launch: Launch,
}

impl Process {
    /// Starts `vtr ARGS` in `dir` and waits for its READY line.
    pub fn start(
        dir: tempfile::TempDir,
        socket: PathBuf,
        args: Vec<String>,
        launch: Launch,
    ) -> Self {
        let mut process = Process {
            child: None,
            dir,
            socket,
            ready: Ready::default(),
            args,
            launch,
        };
        process.launch();
        process
    }

    fn launch(&mut self) {
        let (child, ready) = start_launched(&self.args, self.dir.path(), &self.launch);
        self.child = Some(child);
        self.ready = ready;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills and starts again with the same arguments.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Kills and starts again, listening on the address its READY line
    /// gave under `key` (a hub or a dialling hub expects a fixed port).
    pub fn restart_on_same(&mut self, key: &str) {
        let addr = self.ready.get(key).expect("a TCP listener").to_owned();
        if let Some(i) = self.args.iter().position(|a| a == "--listen") {
            self.args[i + 1] = addr;
        }
        self.restart();
    }

    /// Its log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// A client on its Unix socket.
    pub async fn client(&self) -> VtrClient {
        client::connect(&Target::Unix(self.socket.clone()))
            .await
            .expect("connect to its socket")
    }

    /// `vtr` with this process's home, before any arguments.
    pub fn command(&self) -> Command {
        vtr(self.dir.path())
    }

    /// Runs the CLI against its socket.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command()
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run vtr")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `vtr ARGS` with these environment variables and waits for its
/// READY line; `home` is its private directory (see [`vtr`]).
pub fn start_process_env(args: &[String], home: &Path, env: &[(&str, &str)]) -> (Child, Ready) {
    let launch = Launch {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        open_files: None,
    };
    start_launched(args, home, &launch)
}

/// Starts `vtr ARGS` as `launch` says and waits for its READY line. Its
/// stderr goes to `home/stderr.log`.
pub fn start_launched(args: &[String], home: &Path, launch: &Launch) -> (Child, Ready) {
    let stderr = std::fs::File::create(home.join("stderr.log")).expect("log file");
    let mut command = match launch.open_files {
        None => Command::new(vtr_bin()),
        // `exec` keeps the pid, so killing the child kills vtr.
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(vtr_bin());
            sh
        }
    };
    clean_env(&mut command, home);
    let mut child = command
        .args(args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "vtr=debug")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start vtr");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(rest) = line.strip_prefix("READY ") {
                let fields = rest
                    .split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                let _ = tx.send(Ready { fields });
            }
        }
    });
    match rx.recv_timeout(timeout()) {
        Ok(ready) => (child, ready),
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(home.join("stderr.log")).unwrap_or_default();
            panic!("vtr {args:?} printed no READY line in time; stderr:\n{log}");
        }
    }
}
