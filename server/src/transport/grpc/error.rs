//! Domain errors to gRPC status codes, mapped once here. Internal details
//! are logged, not sent.

use tonic::{Code, Status};

use crate::core::SessionError;
use crate::core::error::ErrorKind;
use crate::hub::share::ShareError;

pub fn code(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::Invalid => Code::InvalidArgument,
        ErrorKind::FailedPrecondition => Code::FailedPrecondition,
        ErrorKind::Exhausted => Code::ResourceExhausted,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::TimedOut => Code::DeadlineExceeded,
        ErrorKind::Denied => Code::PermissionDenied,
        ErrorKind::Internal => Code::Internal,
    }
}

/// The kind a status code stands for (errors relayed from a spoke).
pub fn kind(code: Code) -> ErrorKind {
    match code {
        Code::NotFound => ErrorKind::NotFound,
        Code::AlreadyExists => ErrorKind::AlreadyExists,
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::Invalid,
        Code::FailedPrecondition | Code::Aborted => ErrorKind::FailedPrecondition,
        Code::ResourceExhausted => ErrorKind::Exhausted,
        Code::Unavailable | Code::Cancelled | Code::Unauthenticated | Code::PermissionDenied => {
            ErrorKind::Unavailable
        }
        Code::DeadlineExceeded => ErrorKind::TimedOut,
        _ => ErrorKind::Internal,
    }
}

impl From<SessionError> for Status {
    fn from(e: SessionError) -> Self {
        if let SessionError::Internal { .. } = &e {
            tracing::error!("{e}");
            return Status::internal("internal error (see the spoke's log)");
        }
        Status::new(code(e.kind()), e.to_string())
    }
}

impl From<ShareError> for Status {
    fn from(e: ShareError) -> Self {
        let code = match &e {
            ShareError::Session(e) => return e.clone().into(),
            ShareError::Ttl(_) => Code::InvalidArgument,
            ShareError::TooMany => Code::ResourceExhausted,
            ShareError::NoLink(_) | ShareError::Unknown => Code::NotFound,
            ShareError::Token(_) => Code::InvalidArgument,
            ShareError::Expired | ShareError::Revoked => Code::FailedPrecondition,
            ShareError::Store(_) => {
                tracing::error!("{e}");
                return Status::internal("internal error (see the hub's log)");
            }
        };
        Status::new(code, e.to_string())
    }
}
