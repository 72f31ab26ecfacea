//! A session's tunables.

use std::time::Duration;

/// Tunables of a session; `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Scrollback lines kept by the terminal state.
    pub scrollback: usize,
    /// Bytes of output the log keeps for resuming subscribers.
    pub log_capacity: usize,
    /// Silence after which a session counts as idle.
    pub idle_after: Duration,
    /// How long input may wait for room in the PTY before the request fails.
    pub input_timeout: Duration,
    /// Output the parser may lag behind the live stream, in bytes. During a
    /// burst the parser stands aside until 8 MiB (or half of this) is
    /// waiting; full, the PTY waits. Screen reads parse the backlog first.
    pub parse_backlog: usize,
    /// Where the shell integration's startup files are (`shell::install`);
    /// `None`: shells start as they are.
    pub shell_integration: Option<std::path::PathBuf>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            scrollback: 10_000,
            log_capacity: 4 << 20,
            idle_after: Duration::from_secs(5),
            input_timeout: Duration::from_secs(5),
            parse_backlog: 128 << 20,
            shell_integration: None,
        }
    }
}
