//! Domain errors to gRPC status codes, mapped once here. Internal details
//! are logged, not sent.

use tonic::{Code, Status};

use crate::core::SessionError;

impl From<SessionError> for Status {
    fn from(e: SessionError) -> Self {
        let code = match &e {
            SessionError::NotFound { .. } | SessionError::UnknownSpoke { .. } => Code::NotFound,
            SessionError::NameTaken { .. } => Code::AlreadyExists,
            SessionError::Invalid(_) => Code::InvalidArgument,
            SessionError::Exited { .. } | SessionError::StillRunning { .. } => {
                Code::FailedPrecondition
            }
            SessionError::SpawnFailed { .. } => Code::FailedPrecondition,
            SessionError::InputBlocked { .. } => Code::ResourceExhausted,
            SessionError::Internal { .. } => {
                tracing::error!("{e}");
                return Status::internal("internal error (see the spoke's log)");
            }
        };
        Status::new(code, e.to_string())
    }
}
