//! Exit codes, documented in `vtr --help` and the README.

use tonic::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Ok,
    Error,
    Usage,
    NotFound,
    TimedOut,
    Exited,
    /// Standard output was closed by its reader (`vtr ... | head -1`):
    /// 128 + SIGPIPE, the status a shell reports for a Unix tool that
    /// SIGPIPE ended.
    StdoutClosed,
    /// `vtr run`: the command's own exit status.
    Command(u8),
    /// `vtr run`: the command did not finish in time (as timeout(1)).
    RunTimedOut,
    /// `vtr run`: the session ended before the command did.
    RunExited,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::Error => 1,
            ExitCode::Usage => 2,
            ExitCode::NotFound => 3,
            ExitCode::TimedOut => 4,
            ExitCode::Exited => 5,
            ExitCode::StdoutClosed => 141,
            ExitCode::Command(code) => code,
            ExitCode::RunTimedOut => 124,
            ExitCode::RunExited => 125,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// The exit code for an error: gRPC statuses by code, the rest 1.
pub fn classify(err: &anyhow::Error) -> ExitCode {
    match err.downcast_ref::<tonic::Status>().map(tonic::Status::code) {
        Some(Code::NotFound) => ExitCode::NotFound,
        Some(Code::InvalidArgument) => ExitCode::Usage,
        Some(Code::DeadlineExceeded) => ExitCode::TimedOut,
        _ => ExitCode::Error,
    }
}

/// One line for stderr: a status's message rather than its debug form.
pub fn describe(err: &anyhow::Error) -> String {
    if let Some(status) = err.downcast_ref::<tonic::Status>() {
        let what = match status.code() {
            Code::Unavailable => "unavailable: ",
            // The server's message is written for any gRPC client (an
            // `authorization` header); a CLI user passes a flag instead.
            Code::Unauthenticated => {
                return "not authorized: the server wants its token; pass it with \
                        --token-file FILE (a hub's is `token` in its state directory)"
                    .to_owned();
            }
            Code::Internal => "server error: ",
            _ => "",
        };
        return format!("{what}{}", status.message());
    }
    format!("{err:#}")
}
