//! The one interface transports serve: implemented by the local spoke and
//! (later) by the hub, so a transport does not care where a session lives.

use std::future::Future;

use tokio::sync::mpsc;

use super::error::Result;
use super::types::{
    GrepQuery, GrepResult, IdleResult, IdleWait, Input, ScreenState, SessionSummary, SpawnSpec,
    StreamEvent, WaitMatch,
};

/// Session operations. `session` is a name or id, optionally prefixed with
/// `spoke:`.
pub trait Coordinator: Send + Sync + 'static {
    fn spawn(&self, spec: SpawnSpec) -> impl Future<Output = Result<SessionSummary>> + Send;
    fn list(&self) -> impl Future<Output = Result<Vec<SessionSummary>>> + Send;
    /// The list now, then again after every change.
    fn watch_sessions(
        &self,
    ) -> impl Future<Output = Result<mpsc::Receiver<Vec<SessionSummary>>>> + Send;
    fn info(&self, session: &str) -> impl Future<Output = Result<SessionSummary>> + Send;
    fn kill(&self, session: &str, signal: &str) -> impl Future<Output = Result<()>> + Send;
    fn remove(&self, session: &str, force: bool) -> impl Future<Output = Result<()>> + Send;
    fn rename(
        &self,
        session: &str,
        new_name: &str,
    ) -> impl Future<Output = Result<SessionSummary>> + Send;
    fn resize(
        &self,
        session: &str,
        cols: u32,
        rows: u32,
    ) -> impl Future<Output = Result<SessionSummary>> + Send;
    fn screen(&self, session: &str) -> impl Future<Output = Result<ScreenState>> + Send;
    fn grep(
        &self,
        session: &str,
        pattern: &str,
        query: GrepQuery,
    ) -> impl Future<Output = Result<GrepResult>> + Send;
    /// Queues input; returns the output offset at that moment.
    fn send(&self, session: &str, input: Input) -> impl Future<Output = Result<u64>> + Send;
    fn wait_for(
        &self,
        session: &str,
        pattern: &str,
        timeout_ms: u64,
        from_offset: Option<u64>,
    ) -> impl Future<Output = Result<WaitMatch>> + Send;
    fn wait_idle(
        &self,
        session: &str,
        wait: IdleWait,
    ) -> impl Future<Output = Result<IdleResult>> + Send;
    fn subscribe(
        &self,
        session: &str,
        from_offset: Option<u64>,
    ) -> impl Future<Output = Result<mpsc::Receiver<StreamEvent>>> + Send;
    fn record(
        &self,
        session: &str,
        follow: bool,
    ) -> impl Future<Output = Result<mpsc::Receiver<bytes::Bytes>>> + Send;
}
