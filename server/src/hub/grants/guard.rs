//! A coordinator that lets a grant do what it allows and nothing else:
//! the hub wrapped for one call made with a grant's token (a gRPC method,
//! an MCP tool). Every action is checked (its scope, the session or spoke
//! it names), recorded in the audit log, and cut short if the grant ends
//! meanwhile; lists and streams show only what the grant reaches.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use vtr_shared::address::SessionAddress;

use super::{AuditEntry, Grant, Grants, Outcome, Scope, Targets};
use crate::core::Coordinator;
use crate::core::clock::now_ms;
use crate::core::error::{ErrorKind, Result, SessionError};
use crate::core::events::Events;
use crate::core::session::{CommandList, RunResult, RunSpec};
use crate::core::types::{
    Description, GrepQuery, GrepResult, IdleResult, IdleWait, Input, ScreenState, SessionSummary,
    SpawnSpec, StreamEvent, WaitMatch,
};

/// How the call came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Grpc,
    Mcp,
}

impl Via {
    fn name(self) -> &'static str {
        match self {
            Via::Grpc => "grpc",
            Via::Mcp => "mcp",
        }
    }
}

/// Every action the audit log names.
pub const ACTIONS: &[&str] = &[
    "describe",
    "spawn",
    "list",
    "watch",
    "info",
    "kill",
    "remove",
    "rename",
    "resize",
    "screen",
    "grep",
    "send",
    "wait_for",
    "wait_idle",
    "subscribe",
    "record",
    "commands",
    "run",
    "spokes",
    "door",
    "none",
];

mod pending;

use pending::Pending;

/// Events a guarded stream holds ahead of its reader.
const STREAM_AHEAD: usize = 8;

pub struct Guarded {
    inner: Arc<dyn Coordinator>,
    grants: Arc<Grants>,
    grant: Grant,
    via: Via,
    /// The method or tool, for the audit log.
    call: String,
    /// Whether the call has a row in the audit log yet (see `Drop`).
    recorded: AtomicBool,
    /// Whether the grant ended during an action (recorded as `cut`).
    cut: AtomicBool,
}

impl Guarded {
    pub fn new(
        inner: Arc<dyn Coordinator>,
        grants: Arc<Grants>,
        grant: Grant,
        via: Via,
        call: &str,
    ) -> Self {
        Guarded {
            inner,
            grants,
            grant,
            via,
            call: call.to_owned(),
            recorded: AtomicBool::new(false),
            cut: AtomicBool::new(false),
        }
    }

    /// Records a call that failed before it acted on anything (its
    /// arguments refused, say), unless it has a row already.
    pub async fn unacted(&self, why: &str) {
        if !self.recorded.load(Ordering::Relaxed) {
            let row = self.unacted_row(why.to_owned());
            // Cancelled while queued: nothing was sent, and `drop` records
            // the call instead.
            self.grants.audit().record(row).await;
            self.recorded.store(true, Ordering::Relaxed);
        }
    }

    fn unacted_row(&self, detail: String) -> AuditEntry {
        AuditEntry {
            outcome: Outcome::Error,
            detail,
            ..self.entry("none", "", now_ms())
        }
    }

    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Why the grant no longer works, if it does not.
    pub fn ended_reason(&self) -> Option<String> {
        let ended = self.grants.check(&self.grant.id).err()?;
        Some(format!("grant {}: {ended}", self.grant.id))
    }

    fn denied(&self, why: String) -> SessionError {
        SessionError::Denied(format!("grant {}: {why}", self.grant.id))
    }

    fn scope(&self, action: &str, needs: Scope) -> Result<()> {
        if needs == Scope::Control && self.grant.scope == Scope::Observe {
            return Err(self.denied(format!(
                "it may only observe, and {action} changes the session (a control grant may)"
            )));
        }
        Ok(())
    }

    /// Whether the grant still works (checked before each action, so
    /// input pipelined on a stream stops at a revocation).
    fn live(&self) -> Result<()> {
        self.grants
            .check(&self.grant.id)
            .map(|_| ())
            .map_err(|e| self.denied(e.to_string()))
    }

    /// An error as a grant may see it: the spokes a hub knows are not its
    /// business.
    fn hide(&self, e: SessionError) -> SessionError {
        match e {
            SessionError::UnknownSpoke { spoke, .. } => SessionError::UnknownSpoke {
                spoke,
                known: "not shown under a grant".to_owned(),
            },
            e => e,
        }
    }

    /// The address to call the session by, if the grant reaches it, and
    /// the one to record: as given when the grant plainly covers it (no
    /// round trip), else its `spoke:id` and `spoke:name` once resolved.
    /// A spoke the grant does not touch is never even asked.
    async fn reach(&self, session: &str) -> Result<(String, String)> {
        let outside = || {
            self.denied(format!(
                "{session:?} is not among what it reaches ({})",
                self.grant.reach()
            ))
        };
        let named_spoke = SessionAddress::parse(session).ok().and_then(|a| a.spoke);
        if named_spoke
            .as_ref()
            .is_some_and(|spoke| !self.grant.touches_spoke(spoke))
        {
            return Err(outside());
        }
        let plainly = match &self.grant.targets {
            Targets::Spoke(name) => named_spoke.as_ref() == Some(name),
            Targets::Sessions(sessions) => sessions.iter().any(|(id, _)| id == session),
        };
        if plainly {
            return Ok((session.to_owned(), session.to_owned()));
        }
        // The call then names the session by id: whatever the name means
        // by the time it arrives, it acts on the session checked here.
        match self.inner.resolve(session).await {
            Ok(s) if self.grant.reaches(&s.spoke, &s.id_address()) => {
                Ok((s.id_address(), s.address()))
            }
            // On a spoke it touches, a failure is about that spoke (down,
            // say); otherwise whether, and where, the session exists is
            // none of the grant's business.
            Err(e) if named_spoke.is_some() && e.kind() != ErrorKind::NotFound => Err(self.hide(e)),
            Ok(_) | Err(_) => Err(outside()),
        }
    }

    /// A call starting now, recorded when it ends (or as cancelled if its
    /// caller goes away first).
    fn pending(&self, action: &'static str, session: &str) -> Pending<'_> {
        Pending {
            guard: self,
            action,
            session: session.to_owned(),
            at_ms: now_ms(),
            clock: Instant::now(),
            armed: true,
            last: None,
        }
    }

    /// Runs `work` on the session if the grant allows `action` there,
    /// while the grant lasts; records it either way.
    async fn on<T, F, Fut>(
        &self,
        action: &'static str,
        session: &str,
        needs: Scope,
        work: F,
    ) -> Result<T>
    where
        F: FnOnce(String) -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let mut pending = self.pending(action, session);
        let allowed = match self.live().and_then(|()| self.scope(action, needs)) {
            Ok(()) => self.reach(session).await,
            Err(e) => Err(e),
        };
        let (address, shown) = match allowed {
            Ok(addresses) => addresses,
            Err(e) => {
                pending.end(Err(&e)).await;
                return Err(e);
            }
        };
        pending.session = shown;
        let result = self.while_live(work(address)).await;
        pending.end(result.as_ref().map(|_| ())).await;
        result
    }

    /// Runs `work` (not about one session) while the grant lasts, recorded.
    async fn anywhere<T, Fut>(&self, action: &'static str, work: Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>> + Send,
    {
        let pending = self.pending(action, "");
        let result = match self.live() {
            Ok(()) => self.while_live(work).await,
            Err(e) => Err(e),
        };
        pending.end(result.as_ref().map(|_| ())).await;
        result
    }

    /// A read that is not the coordinator's (a hub's spoke list), checked
    /// and recorded like the rest.
    pub async fn read_elsewhere<T>(
        &self,
        action: &'static str,
        work: impl Future<Output = std::result::Result<T, String>>,
    ) -> std::result::Result<T, String> {
        let pending = self.pending(action, "");
        if let Err(e) = self.live() {
            pending.end(Err(&e)).await;
            return Err(e.to_string());
        }
        let result = work.await;
        let failed = result
            .as_ref()
            .err()
            .map(|m| SessionError::Invalid(m.clone()));
        pending.end(failed.as_ref().map_or(Ok(()), Err)).await;
        result
    }

    /// `work`, unless the grant ends first (checked first: a revocation
    /// always wins over work that is ready at once).
    async fn while_live<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let result = tokio::select! {
            biased;
            () = self.grants.ended(&self.grant.id) => {
                self.cut.store(true, Ordering::Relaxed);
                Err(self.denied("it was revoked or expired during the call".into()))
            }
            result = work => result,
        };
        result.map_err(|e| self.hide(e))
    }

    fn entry(&self, action: &'static str, session: &str, at_ms: i64) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at_ms,
            grant: self.grant.id.clone(),
            via: self.via.name(),
            call: self.call.clone(),
            action,
            session: session.to_owned(),
            outcome: Outcome::Ok,
            detail: String::new(),
            duration_ms: 0,
        }
    }

    fn visible(&self, s: &SessionSummary) -> bool {
        self.grant.reaches(&s.spoke, &s.id_address())
    }

    /// `events`, ending when the grant does.
    fn until_ended<T: Send + 'static>(&self, mut events: Events<T>) -> Events<T> {
        let grants = self.grants.clone();
        let id = self.grant.id.clone();
        Events::driven(STREAM_AHEAD, move |tx| async move {
            let ended = grants.ended(&id);
            tokio::pin!(ended);
            loop {
                let event = tokio::select! {
                    () = &mut ended => break,
                    event = events.recv() => event,
                };
                let Some(event) = event else { break };
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl Coordinator for Guarded {
    async fn describe(&self) -> Result<Description> {
        self.anywhere("describe", self.inner.describe()).await
    }

    /// Only on a spoke granted whole, with control; no spoke named (in
    /// the request or as a `spoke:` prefix on the name) means that one.
    async fn spawn(&self, mut spec: SpawnSpec) -> Result<SessionSummary> {
        let granted = match &self.grant.targets {
            Targets::Spoke(name) => Some(name.clone()),
            Targets::Sessions(_) => None,
        };
        let named = spec.name.split_once(':').map(|(spoke, _)| spoke.to_owned());
        let asked = match (spec.spoke.is_empty(), named) {
            (false, _) => Some(spec.spoke.clone()),
            (true, named) => named,
        };
        let spoke = asked
            .clone()
            .or_else(|| granted.clone())
            .unwrap_or_default();
        let target = format!("{spoke}:new");
        let allowed = match (&granted, &asked) {
            (None, _) => Err(self.denied(format!(
                "it names sessions, so it may not start new ones (a control grant for a \
                 whole spoke may): {}",
                self.grant.reach()
            ))),
            (Some(granted), Some(asked)) if granted != asked => Err(self.denied(format!(
                "it may start sessions on spoke {granted} only, not on {asked}"
            ))),
            (Some(granted), _) => {
                if spec.spoke.is_empty() && !spec.name.contains(':') {
                    spec.spoke.clone_from(granted);
                }
                Ok(())
            }
        };
        let mut pending = self.pending("spawn", &target);
        if let Err(e) = self
            .live()
            .and_then(|()| self.scope("spawn", Scope::Control))
            .and_then(|()| allowed)
        {
            pending.end(Err(&e)).await;
            return Err(e);
        }
        let result = self.while_live(self.inner.spawn(spec)).await;
        if let Ok(s) = &result {
            pending.session = s.address();
        }
        pending.end(result.as_ref().map(|_| ())).await;
        result
    }

    async fn list(&self) -> Result<Arc<[SessionSummary]>> {
        let all = self.anywhere("list", self.inner.list()).await?;
        Ok(all.iter().filter(|s| self.visible(s)).cloned().collect())
    }

    async fn watch_sessions(&self) -> Result<Events<Vec<SessionSummary>>> {
        let mut lists = self.anywhere("watch", self.inner.watch_sessions()).await?;
        let grant = self.grant.clone();
        let filtered = Events::driven(STREAM_AHEAD, move |tx| async move {
            // Only when what the grant sees changed: a change elsewhere
            // is not the grant's to notice.
            let mut sent: Option<Vec<SessionSummary>> = None;
            while let Some(list) = lists.recv().await {
                let mine: Vec<SessionSummary> = list
                    .into_iter()
                    .filter(|s| grant.reaches(&s.spoke, &s.id_address()))
                    .collect();
                if sent.as_ref() == Some(&mine) {
                    continue;
                }
                sent = Some(mine.clone());
                if tx.send(mine).await.is_err() {
                    break;
                }
            }
        });
        Ok(self.until_ended(filtered))
    }

    async fn info(&self, session: &str) -> Result<SessionSummary> {
        let inner = &self.inner;
        self.on("info", session, Scope::Observe, |s| async move {
            inner.info(&s).await
        })
        .await
    }

    async fn kill(&self, session: &str, signal: &str) -> Result<()> {
        let inner = &self.inner;
        self.on("kill", session, Scope::Control, |s| async move {
            inner.kill(&s, signal).await
        })
        .await
    }

    async fn remove(&self, session: &str, force: bool) -> Result<()> {
        let inner = &self.inner;
        self.on("remove", session, Scope::Control, |s| async move {
            inner.remove(&s, force).await
        })
        .await
    }

    async fn rename(&self, session: &str, new_name: &str) -> Result<SessionSummary> {
        let inner = &self.inner;
        self.on("rename", session, Scope::Control, |s| async move {
            inner.rename(&s, new_name).await
        })
        .await
    }

    async fn resize(&self, session: &str, cols: u32, rows: u32) -> Result<SessionSummary> {
        let inner = &self.inner;
        self.on("resize", session, Scope::Control, |s| async move {
            inner.resize(&s, cols, rows).await
        })
        .await
    }

    async fn screen(&self, session: &str) -> Result<ScreenState> {
        let inner = &self.inner;
        self.on("screen", session, Scope::Observe, |s| async move {
            inner.screen(&s).await
        })
        .await
    }

    async fn grep(&self, session: &str, pattern: &str, query: GrepQuery) -> Result<GrepResult> {
        let inner = &self.inner;
        self.on("grep", session, Scope::Observe, |s| async move {
            inner.grep(&s, pattern, query).await
        })
        .await
    }

    async fn send(&self, session: &str, input: Input) -> Result<u64> {
        let inner = &self.inner;
        self.on("send", session, Scope::Control, |s| async move {
            inner.send(&s, input).await
        })
        .await
    }

    async fn wait_for(
        &self,
        session: &str,
        pattern: &str,
        timeout_ms: u64,
        from_offset: Option<u64>,
    ) -> Result<WaitMatch> {
        let inner = &self.inner;
        self.on("wait_for", session, Scope::Observe, |s| async move {
            inner.wait_for(&s, pattern, timeout_ms, from_offset).await
        })
        .await
    }

    async fn wait_idle(&self, session: &str, wait: IdleWait) -> Result<IdleResult> {
        let inner = &self.inner;
        self.on("wait_idle", session, Scope::Observe, |s| async move {
            inner.wait_idle(&s, wait).await
        })
        .await
    }

    async fn subscribe(
        &self,
        session: &str,
        from_offset: Option<u64>,
    ) -> Result<Events<StreamEvent>> {
        let inner = &self.inner;
        let events = self
            .on("subscribe", session, Scope::Observe, |s| async move {
                inner.subscribe(&s, from_offset).await
            })
            .await?;
        Ok(self.until_ended(events))
    }

    async fn record(&self, session: &str, follow: bool) -> Result<Events<bytes::Bytes>> {
        let inner = &self.inner;
        let events = self
            .on("record", session, Scope::Observe, |s| async move {
                inner.record(&s, follow).await
            })
            .await?;
        Ok(self.until_ended(events))
    }

    async fn commands(&self, session: &str, limit: usize) -> Result<CommandList> {
        let inner = &self.inner;
        self.on("commands", session, Scope::Observe, |s| async move {
            inner.commands(&s, limit).await
        })
        .await
    }

    async fn run(&self, session: &str, spec: RunSpec) -> Result<RunResult> {
        let inner = &self.inner;
        self.on("run", session, Scope::Control, |s| async move {
            inner.run(&s, spec).await
        })
        .await
    }
}
