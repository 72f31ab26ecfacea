//! The hub as a `Coordinator`: every session addressed `spoke:session`.
//! Lists merge every spoke's last known sessions (stale ones marked); every
//! other call goes to the owning spoke, and its errors name the spoke.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use vtr_shared::address::SessionAddress;

use super::Hub;
use super::fanout::Fanout;
use super::spoke::{Entry, Join, SpokeHandle};
use crate::core::changes::watch_changes;
use crate::core::error::{ErrorKind, Result};
use crate::core::session::lock;
use crate::core::{CommandList, RunResult, RunSpec};
use crate::core::{
    Coordinator, Description, Events, GrepQuery, GrepResult, IdleResult, IdleWait, Input,
    ScreenState, SessionError, SessionSummary, SpawnSpec, StreamEvent, WaitMatch,
};

impl Hub {
    /// Every spoke's sessions as last seen, in spoke order.
    fn merged(&self) -> Vec<SessionSummary> {
        self.inner
            .entries()
            .iter()
            .flat_map(|e| e.sessions())
            .collect()
    }

    /// The merged list, computed once per change however many ask: twenty
    /// dashboards on 5,000 sessions held a copy each, several while one
    /// was being sent.
    fn merged_shared(&self) -> Arc<[SessionSummary]> {
        // Read first: a change while merging only stores a newer list
        // under an older number, which the next change replaces.
        let version = *self.inner.changed.borrow();
        let mut cached = lock(&self.inner.merged);
        if let Some((at, list)) = cached.as_ref()
            && *at == version
        {
            return list.clone();
        }
        let list: Arc<[SessionSummary]> = self.merged().into();
        *cached = Some((version, list.clone()));
        list
    }

    /// The merged list now, then after every change, shared (see
    /// [`Hub::merged_shared`]).
    pub fn watch_merged(&self) -> Events<Arc<[SessionSummary]>> {
        let hub = self.clone();
        watch_changes(&self.inner.changed, move || hub.merged_shared()).into()
    }

    fn no_spoke(&self, spoke: &str) -> SessionError {
        let known: Vec<String> = self
            .inner
            .entries()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        SessionError::UnknownSpoke {
            spoke: spoke.to_owned(),
            known: if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            },
        }
    }

    /// The spoke that owns `reference` and the session part to send it.
    /// Without a `spoke:` prefix the session must be unambiguous among the
    /// spokes' last known sessions (or there is only one spoke to ask).
    fn route(&self, reference: &str) -> Result<(Arc<Entry>, String)> {
        let address =
            SessionAddress::parse(reference).map_err(|e| SessionError::invalid(e.to_string()))?;
        if let Some(spoke) = &address.spoke {
            let entry = self
                .inner
                .entry(spoke)
                .ok_or_else(|| self.no_spoke(spoke))?;
            return Ok((entry, address.session));
        }
        let entries = self.inner.entries();
        let owners: Vec<&Arc<Entry>> = entries
            .iter()
            .filter(|e| e.has_session(&address.session))
            .collect();
        match owners.as_slice() {
            [one] => Ok(((*one).clone(), address.session)),
            [] => match entries.as_slice() {
                [only] => Ok((only.clone(), address.session)),
                _ => Err(SessionError::NotFound {
                    session: address.session,
                }),
            },
            many => Err(SessionError::invalid(format!(
                "session {:?} exists on spokes {}: say which, as spoke:session",
                address.session,
                many.iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Routes `reference` and checks the owner's breaker: the handle to
    /// call, the owner, and the session part of the address.
    fn target(&self, reference: &str) -> Result<(SpokeHandle, Arc<Entry>, String)> {
        let (entry, session) = self.route(reference)?;
        let handle = self.handle(&entry)?;
        Ok((handle, entry, session))
    }

    /// The owner's handle, unless its breaker refuses the call (counted,
    /// naming the spoke; no probe: the breaker's schedule decides those).
    fn handle(&self, entry: &Entry) -> Result<SpokeHandle> {
        entry.callable().map_err(|e| {
            self.inner.counters.rpc_error(&entry.name);
            name_spoke(&entry.name, e)
        })
    }

    /// A call's result, its error counted and naming the spoke. A spoke
    /// that seems gone is probed at once.
    fn done<T>(&self, entry: &Entry, result: Result<T>) -> Result<T> {
        result.map_err(|e| self.failed(entry, e))
    }

    /// Read your writes: a session spawned, renamed or removed through the
    /// hub shows so in its very next list.
    fn noted(&self, entry: &Entry, key: &str, summary: Option<&SessionSummary>) {
        entry.note(key, summary.cloned());
        self.inner.changed();
    }

    /// A session as the hub last saw it listed, or else as its spoke
    /// describes it now: no round trip for a session the hub knows.
    pub async fn session(&self, reference: &str) -> Result<SessionSummary> {
        Ok(self.known(reference).await?.1)
    }

    async fn known(&self, reference: &str) -> Result<(Arc<Entry>, SessionSummary)> {
        let (handle, entry, s) = self.target(reference)?;
        if let Some(listed) = entry.listed(&s) {
            return Ok((entry, listed));
        }
        let result = handle.info(&s).await;
        let summary = owned(&entry, self.done(&entry, result)?);
        Ok((entry, summary))
    }

    fn failed(&self, entry: &Entry, e: SessionError) -> SessionError {
        self.inner.counters.rpc_error(&entry.name);
        if e.kind() == ErrorKind::Unavailable {
            entry.wake.notify_one();
        }
        name_spoke(&entry.name, e)
    }

    /// The spoke a spawn goes to: `spec.spoke`, a `spoke:` prefix on the
    /// name, else the embedded spoke, else the only spoke.
    fn spawn_target(&self, spec: &mut SpawnSpec) -> Result<Arc<Entry>> {
        if let Some((spoke, name)) = spec.name.split_once(':') {
            if !spec.spoke.is_empty() && spec.spoke != spoke {
                return Err(SessionError::invalid(format!(
                    "spoke {:?} and name {:?} disagree on the spoke",
                    spec.spoke, spec.name
                )));
            }
            spec.spoke = spoke.to_owned();
            spec.name = name.to_owned();
        }
        if !spec.spoke.is_empty() {
            return self
                .inner
                .entry(&spec.spoke)
                .ok_or_else(|| self.no_spoke(&spec.spoke));
        }
        let entries = self.inner.entries();
        if let Some(local) = entries.iter().find(|e| e.join == Join::Local) {
            return Ok(local.clone());
        }
        match entries.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(SessionError::invalid("this hub has no spokes yet")),
            _ => Err(SessionError::invalid(format!(
                "say which spoke to spawn on (spoke:name); spokes: {}",
                entries
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// Errors from a spoke, with the spoke named once.
fn name_spoke(spoke: &str, e: SessionError) -> SessionError {
    match e {
        SessionError::Unreachable { .. } | SessionError::Spoke { .. } => e,
        other => SessionError::Spoke {
            spoke: spoke.to_owned(),
            kind: other.kind(),
            message: other.to_string(),
        },
    }
}

#[async_trait]
impl Coordinator for Hub {
    async fn describe(&self) -> Result<Description> {
        Ok(Description {
            name: self.inner.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            labels: vec![("role".to_owned(), "hub".to_owned())],
            instance: String::new(),
        })
    }

    async fn spawn(&self, mut spec: SpawnSpec) -> Result<SessionSummary> {
        let entry = self.spawn_target(&mut spec)?;
        spec.spoke = String::new();
        let handle = self.handle(&entry)?;
        let result = handle.spawn(spec).await;
        let summary = self.done(&entry, result)?;
        self.noted(&entry, &summary.id, Some(&summary));
        Ok(owned(&entry, summary))
    }

    async fn list(&self) -> Result<Arc<[SessionSummary]>> {
        Ok(self.merged_shared())
    }

    async fn watch_sessions(&self) -> Result<Events<Vec<SessionSummary>>> {
        let hub = self.clone();
        Ok(watch_changes(&self.inner.changed, move || hub.merged()).into())
    }

    async fn resolve(&self, session: &str) -> Result<SessionSummary> {
        self.session(session).await
    }

    async fn info(&self, session: &str) -> Result<SessionSummary> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.info(&s).await;
        Ok(owned(&entry, self.done(&entry, result)?))
    }

    async fn kill(&self, session: &str, signal: &str) -> Result<()> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.kill(&s, signal).await;
        self.done(&entry, result)
    }

    async fn remove(&self, session: &str, force: bool) -> Result<()> {
        let (handle, entry, s) = self.target(session)?;
        let id = entry.id_of(&s);
        let result = handle.remove(&s, force).await;
        self.done(&entry, result)?;
        self.noted(&entry, id.as_deref().unwrap_or(&s), None);
        Ok(())
    }

    async fn rename(&self, session: &str, new_name: &str) -> Result<SessionSummary> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.rename(&s, new_name).await;
        let summary = self.done(&entry, result)?;
        self.noted(&entry, &summary.id, Some(&summary));
        Ok(owned(&entry, summary))
    }

    async fn resize(&self, session: &str, cols: u32, rows: u32) -> Result<SessionSummary> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.resize(&s, cols, rows).await;
        Ok(owned(&entry, self.done(&entry, result)?))
    }

    async fn screen(&self, session: &str) -> Result<ScreenState> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.screen(&s).await;
        self.done(&entry, result)
    }

    async fn grep(&self, session: &str, pattern: &str, query: GrepQuery) -> Result<GrepResult> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.grep(&s, pattern, query).await;
        self.done(&entry, result)
    }

    async fn send(&self, session: &str, input: Input) -> Result<u64> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.send(&s, input).await;
        self.done(&entry, result)
    }

    async fn wait_for(
        &self,
        session: &str,
        pattern: &str,
        timeout_ms: u64,
        from_offset: Option<u64>,
    ) -> Result<WaitMatch> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.wait_for(&s, pattern, timeout_ms, from_offset).await;
        self.done(&entry, result)
    }

    async fn wait_idle(&self, session: &str, wait: IdleWait) -> Result<IdleResult> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.wait_idle(&s, wait).await;
        self.done(&entry, result)
    }

    async fn subscribe(
        &self,
        session: &str,
        from_offset: Option<u64>,
    ) -> Result<Events<StreamEvent>> {
        // The upstream needs the session's id and size: from the hub's
        // list when it has them, so a stream opens after one round trip.
        let (entry, summary) = self.known(session).await?;
        // The embedded spoke's sessions live in this process: their
        // subscribers read the session's own log, as on a spoke, with no
        // second log and no second subscriber loop in between.
        if entry.join == Join::Local {
            let handle = self.handle(&entry)?;
            let result = handle.subscribe(&summary.id, from_offset).await;
            return self.done(&entry, result);
        }
        Ok(Fanout::subscribe(&self.inner, entry, &summary, from_offset))
    }

    async fn record(&self, session: &str, follow: bool) -> Result<Events<Bytes>> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.record(&s, follow).await;
        self.done(&entry, result)
    }

    async fn commands(&self, session: &str, limit: usize) -> Result<CommandList> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.commands(&s, limit).await;
        self.done(&entry, result)
    }

    async fn run(&self, session: &str, spec: RunSpec) -> Result<RunResult> {
        let (handle, entry, s) = self.target(session)?;
        let result = handle.run(&s, spec).await;
        self.done(&entry, result)
    }
}

/// A summary as the hub lists it: under the hub's name for the spoke.
fn owned(entry: &Entry, mut summary: SessionSummary) -> SessionSummary {
    summary.spoke.clone_from(&entry.name);
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn watchers_of_the_merged_list_share_one_copy_per_change() {
        let hub = Hub::new("h".into());
        let (mut a, mut b) = (hub.watch_merged(), hub.watch_merged());
        let (first_a, first_b) = (a.recv().await.expect("a"), b.recv().await.expect("b"));
        assert!(Arc::ptr_eq(&first_a, &first_b), "one copy for both");
        hub.inner.changed();
        let (next_a, next_b) = (a.recv().await.expect("a"), b.recv().await.expect("b"));
        assert!(Arc::ptr_eq(&next_a, &next_b), "one copy for both");
        assert!(!Arc::ptr_eq(&first_a, &next_a), "a new copy after a change");
    }
}
