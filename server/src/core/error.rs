//! Domain errors. Each variant carries the ids involved; transports map them
//! once at their edge (gRPC status codes, CLI exit codes).

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SessionError {
    #[error("session {session:?} not found")]
    NotFound { session: String },
    #[error("spoke {spoke:?} not found (this is spoke {local:?})")]
    UnknownSpoke { spoke: String, local: String },
    #[error("session name {name:?} is already taken")]
    NameTaken { name: String },
    /// A request broke a limit or a syntax rule; the message names it.
    #[error("{0}")]
    Invalid(String),
    #[error("session {session:?} has exited")]
    Exited { session: String },
    #[error("session {session:?} is still running: kill it first, or remove with force")]
    StillRunning { session: String },
    #[error("spawning {command:?} failed: {reason}")]
    SpawnFailed { command: String, reason: String },
    #[error(
        "session {session:?} is not reading its input: {pending} bytes waited {waited_ms} ms \
         for room in the PTY"
    )]
    InputBlocked {
        session: String,
        pending: usize,
        waited_ms: u64,
    },
    #[error("session {session:?}: {reason}")]
    Internal { session: String, reason: String },
}

impl SessionError {
    pub fn invalid(message: impl Into<String>) -> Self {
        SessionError::Invalid(message.into())
    }
}

pub type Result<T, E = SessionError> = std::result::Result<T, E>;
