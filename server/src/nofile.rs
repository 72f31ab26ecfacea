//! The process's open-file limit (RLIMIT_NOFILE). Every connection, PTY
//! and database handle is a file descriptor; many systems start processes
//! with a soft limit of 1024 although the hard limit allows far more, and
//! at the limit `accept` fails for every listener at once (the Unix
//! socket too). Imports nothing from the rest of the crate.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Assumed when the limit cannot be read (the common default soft limit).
const FALLBACK: u64 = 1024;

/// Raises the soft limit to the hard limit and returns the soft limit in
/// force afterwards. Failing to raise it is not fatal: the connection
/// caps are sized from whatever limit there is.
pub fn raise() -> u64 {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::debug!("reading RLIMIT_NOFILE: {e}");
            return FALLBACK;
        }
    };
    if soft >= hard {
        tracing::debug!(soft, hard, "open-file limit already at its hard limit");
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => {
            tracing::debug!(from = soft, to = hard, "raised the open-file limit");
            hard
        }
        Err(e) => {
            tracing::debug!(soft, hard, "raising RLIMIT_NOFILE: {e}");
            soft
        }
    }
}
