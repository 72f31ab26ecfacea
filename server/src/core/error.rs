//! Domain errors. Each variant carries the ids involved; transports map them
//! once at their edge (gRPC status codes, CLI exit codes).

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SessionError {
    #[error("session {session:?} not found")]
    NotFound { session: String },
    /// An address names a spoke this coordinator does not know; `known`
    /// lists those it does (a spoke knows only itself).
    #[error("no spoke named {spoke:?} (spokes: {known})")]
    UnknownSpoke { spoke: String, known: String },
    #[error("session name {name:?} is already taken")]
    NameTaken { name: String },
    /// A request broke a limit or a syntax rule; the message names it.
    #[error("{0}")]
    Invalid(String),
    #[error("session {session:?} has exited")]
    Exited { session: String },
    #[error("session {session:?} is still running: kill it first, or remove with force")]
    StillRunning { session: String },
    /// A command line cannot be run now (no shell integration, or another
    /// command runs); the reason says which.
    #[error("session {session:?} cannot run a command now: {reason}")]
    NotReady { session: String, reason: String },
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
    /// A hub could not reach the spoke that owns the session.
    #[error("spoke {spoke:?} unreachable: {reason}")]
    Unreachable { spoke: String, reason: String },
    /// The server a client called refused a request: its message as is.
    #[error("{message}")]
    Remote { kind: ErrorKind, message: String },
    /// The caller's grant does not allow this; the message says why.
    #[error("{0}")]
    Denied(String),
    /// A spoke refused a request a hub forwarded to it.
    #[error("spoke {spoke:?}: {message}")]
    Spoke {
        spoke: String,
        kind: ErrorKind,
        message: String,
    },
}

/// What kind of failure an error is, for transports to map (status codes,
/// exit codes) without matching every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    Invalid,
    FailedPrecondition,
    Exhausted,
    Unavailable,
    TimedOut,
    /// Outside what the caller's grant allows.
    Denied,
    Internal,
}

impl SessionError {
    pub fn invalid(message: impl Into<String>) -> Self {
        SessionError::Invalid(message.into())
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            SessionError::NotFound { .. } | SessionError::UnknownSpoke { .. } => {
                ErrorKind::NotFound
            }
            SessionError::NameTaken { .. } => ErrorKind::AlreadyExists,
            SessionError::Invalid(_) => ErrorKind::Invalid,
            SessionError::Exited { .. }
            | SessionError::StillRunning { .. }
            | SessionError::NotReady { .. }
            | SessionError::SpawnFailed { .. } => ErrorKind::FailedPrecondition,
            SessionError::InputBlocked { .. } => ErrorKind::Exhausted,
            SessionError::Internal { .. } => ErrorKind::Internal,
            SessionError::Unreachable { .. } => ErrorKind::Unavailable,
            SessionError::Denied(_) => ErrorKind::Denied,
            SessionError::Spoke { kind, .. } | SessionError::Remote { kind, .. } => *kind,
        }
    }
}

pub type Result<T, E = SessionError> = std::result::Result<T, E>;
