//! The one interface transports serve: implemented by the local spoke and
//! (later) by the hub, so a transport does not care where a session lives.

use std::sync::Arc;

use super::error::Result;
use super::events::Events;
use super::session::{CommandList, RunResult, RunSpec};
use super::types::{
    Description, GrepQuery, GrepResult, IdleResult, IdleWait, Input, ScreenState, SessionSummary,
    SpawnSpec, StreamEvent, WaitMatch,
};

/// Session operations. `session` is a name or id, optionally prefixed with
/// `spoke:`. Object-safe, so the hub can hold local and remote spokes alike.
#[async_trait::async_trait]
pub trait Coordinator: Send + Sync + 'static {
    /// Who this is: name, version, labels, and an id for this run.
    async fn describe(&self) -> Result<Description>;
    async fn spawn(&self, spec: SpawnSpec) -> Result<SessionSummary>;
    /// The list now, shared: a hub answers every caller between two
    /// changes with one copy of its merged list.
    async fn list(&self) -> Result<Arc<[SessionSummary]>>;
    /// The list now, then again after every change.
    async fn watch_sessions(&self) -> Result<Events<Vec<SessionSummary>>>;
    async fn info(&self, session: &str) -> Result<SessionSummary>;
    /// Which session an address names (its spoke and id), as cheaply as
    /// this coordinator can tell: a hub answers from its last listing,
    /// with no round trip. The summary may be a little old.
    async fn resolve(&self, session: &str) -> Result<SessionSummary> {
        self.info(session).await
    }
    async fn kill(&self, session: &str, signal: &str) -> Result<()>;
    async fn remove(&self, session: &str, force: bool) -> Result<()>;
    async fn rename(&self, session: &str, new_name: &str) -> Result<SessionSummary>;
    async fn resize(&self, session: &str, cols: u32, rows: u32) -> Result<SessionSummary>;
    async fn screen(&self, session: &str) -> Result<ScreenState>;
    async fn grep(&self, session: &str, pattern: &str, query: GrepQuery) -> Result<GrepResult>;
    /// Queues input; returns the output offset at that moment.
    async fn send(&self, session: &str, input: Input) -> Result<u64>;
    /// Applies input at once, when that cannot wait (a short write to a
    /// session here with nothing queued), as [`Self::send`] would. `None`:
    /// nothing was done, call `send`.
    fn try_send_now(&self, _session: &str, _input: &Input) -> Option<Result<u64>> {
        None
    }
    async fn wait_for(
        &self,
        session: &str,
        pattern: &str,
        timeout_ms: u64,
        from_offset: Option<u64>,
    ) -> Result<WaitMatch>;
    async fn wait_idle(&self, session: &str, wait: IdleWait) -> Result<IdleResult>;
    async fn subscribe(
        &self,
        session: &str,
        from_offset: Option<u64>,
    ) -> Result<Events<StreamEvent>>;
    async fn record(&self, session: &str, follow: bool) -> Result<Events<bytes::Bytes>>;
    /// The last `limit` commands the shell reported (all kept when 0).
    async fn commands(&self, session: &str, limit: usize) -> Result<CommandList>;
    /// Runs one command line at the shell's prompt (see `Session::run`).
    async fn run(&self, session: &str, spec: RunSpec) -> Result<RunResult>;
}
