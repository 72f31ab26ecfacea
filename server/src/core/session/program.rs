//! What a session's process is started as: its command and arguments,
//! working directory and environment, and the shell integration for a
//! bash or zsh (see `shell`).

use portable_pty::CommandBuilder;

use super::{SessionConfig, shell};
use crate::core::types::SpawnSpec;

/// The command line for `spec` (running `command` in `cwd`), and the key
/// its prompt marks carry when vtr integrated its shell.
pub(super) fn command(
    id: &str,
    spec: &SpawnSpec,
    command: &str,
    cwd: &str,
    config: &SessionConfig,
) -> (CommandBuilder, Option<String>) {
    let mut builder = CommandBuilder::new(command);
    builder.args(&spec.args);
    builder.cwd(cwd);
    builder.env("TERM", "xterm-256color");
    builder.env("VTR_SESSION", &spec.name);
    builder.env("VTR_SESSION_ID", id);
    for kv in &spec.env {
        if let Some((k, v)) = kv.split_once('=') {
            builder.env(k, v);
        }
    }
    let mark_key = match config.shell_integration.as_ref() {
        Some(dir) if !spec.no_shell_integration => {
            shell::integrate(dir, command, &spec.args, &spec.env, &mut builder)
        }
        _ => None,
    };
    (builder, mark_key)
}
