//! A call under a grant while it runs: recorded when it ends, or from
//! `drop` when it never gets to (its caller went away), and the row for a
//! guard that never acted at all.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Guarded;
use crate::core::error::SessionError;
use crate::hub::grants::{AuditEntry, Outcome};

/// A call under way (see [`Guarded::pending`]).
pub(super) struct Pending<'a> {
    pub(super) guard: &'a Guarded,
    pub(super) action: &'static str,
    pub(super) session: String,
    pub(super) at_ms: i64,
    pub(super) clock: Instant,
    /// Not yet recorded.
    pub(super) armed: bool,
    /// The row `end` is queuing: what `drop` sends if that is cancelled.
    pub(super) last: Option<AuditEntry>,
}

impl Pending<'_> {
    fn row(&self, outcome: Outcome, detail: String) -> AuditEntry {
        AuditEntry {
            outcome,
            detail,
            duration_ms: self.clock.elapsed().as_millis() as i64,
            ..self.guard.entry(self.action, &self.session, self.at_ms)
        }
    }

    /// Records how the call ended.
    pub(super) async fn end(mut self, result: std::result::Result<(), &SessionError>) {
        let (outcome, detail) = match result {
            Ok(()) => (Outcome::Ok, String::new()),
            Err(e) if self.guard.cut.load(Ordering::Relaxed) => (Outcome::Cut, e.to_string()),
            Err(e @ SessionError::Denied(_)) => (Outcome::Denied, e.to_string()),
            Err(e) => (Outcome::Error, e.to_string()),
        };
        let row = self.row(outcome, detail);
        // A queue send that is cancelled sends nothing: then `drop` sends
        // this row from elsewhere.
        self.last = Some(row.clone());
        self.guard.grants.audit().record(row).await;
        self.armed = false;
        self.guard.recorded.store(true, Ordering::Relaxed);
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.armed {
            let row = self.last.take().unwrap_or_else(|| {
                let why = "its caller went away before it ended: it may have been done";
                self.row(Outcome::Cancelled, why.to_owned())
            });
            self.guard.grants.audit().record_later(row);
            self.guard.recorded.store(true, Ordering::Relaxed);
        }
    }
}

/// A call that never reached an action (a gRPC request refused for its
/// arguments) still leaves a row.
impl Drop for Guarded {
    fn drop(&mut self) {
        if !self.recorded.load(Ordering::Relaxed) {
            let why = "it ended before acting on anything (its arguments were refused)";
            let row = self.unacted_row(why.to_owned());
            self.grants.audit().record_later(row);
        }
    }
}
