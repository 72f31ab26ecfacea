//! `LocalSpoke`: the sessions of this spoke by id and name, request
//! validation, and the `Coordinator` implementation transports serve.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use nix::sys::signal::Signal;
use tokio::sync::watch;
use vtr_shared::address::{SessionAddress, validate_name};
use vtr_shared::keys::key_bytes;

use crate::core::changes::{self, watch_changes_refreshed};
use crate::core::error::{Result, SessionError};
use crate::core::session::lock;
use crate::core::session::once::{self, Outcome};
use crate::core::signal::parse_signal;
use crate::core::{CommandList, RunResult, RunSpec};
use crate::core::{
    Coordinator, Description, Events, GrepQuery, GrepResult, IdleResult, IdleWait, Input,
    ScreenState, Session, SessionConfig, SessionSummary, SpawnSpec, StreamEvent, WaitMatch, limits,
};

const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_GREP_MATCHES: u32 = 100;
/// How often a session-list watcher gets moved figures (output offsets,
/// subscriber counts) that changed nothing else.
const FIGURES_EVERY: Duration = Duration::from_secs(1);

pub struct LocalSpoke {
    name: String,
    labels: Vec<(String, String)>,
    /// Random per run (see `Description::instance`).
    instance: String,
    config: SessionConfig,
    sessions: Arc<Mutex<Sessions>>,
    list_changed: watch::Sender<u64>,
}

#[derive(Default)]
struct Sessions {
    /// In creation order, so lists are stable.
    all: Vec<Session>,
    next_auto_name: u64,
}

impl Sessions {
    fn find(&self, key: &str) -> Option<&Session> {
        self.all
            .iter()
            .find(|s| s.id() == key)
            .or_else(|| self.all.iter().find(|s| s.name() == key))
    }

    /// A name no session has, nor has as its id: an address that could
    /// mean two sessions would let one stand in for the other.
    fn name_taken(&self, name: &str) -> bool {
        self.all.iter().any(|s| s.name() == name || s.id() == name)
    }
}

impl LocalSpoke {
    pub fn new(name: String, config: SessionConfig) -> Self {
        LocalSpoke {
            name,
            labels: Vec::new(),
            instance: uuid::Uuid::new_v4().to_string(),
            config,
            sessions: Arc::new(Mutex::new(Sessions::default())),
            list_changed: watch::Sender::new(0),
        }
    }

    /// `key=value` labels shown by a hub.
    pub fn with_labels(mut self, labels: Vec<(String, String)>) -> Self {
        self.labels = labels;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Random per run (see `Description::instance`).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The session a user's reference names: `session` or `spoke:session`,
    /// where `session` is a name or an id.
    pub fn resolve(&self, reference: &str) -> Result<Session> {
        let address =
            SessionAddress::parse(reference).map_err(|e| SessionError::invalid(e.to_string()))?;
        if let Some(spoke) = &address.spoke
            && spoke != &self.name
        {
            return Err(SessionError::UnknownSpoke {
                spoke: spoke.clone(),
                known: self.name.clone(),
            });
        }
        lock(&self.sessions)
            .find(&address.session)
            .cloned()
            .ok_or(SessionError::NotFound {
                session: address.session,
            })
    }

    /// Kills every running session (used at shutdown).
    pub fn kill_all(&self) {
        for session in lock(&self.sessions).all.iter() {
            if !session.is_exited() {
                let _ = session.kill(Signal::SIGHUP);
            }
        }
    }

    fn summaries(&self) -> Vec<SessionSummary> {
        summaries(&self.sessions)
    }

    fn bump(&self) {
        changes::bump(&self.list_changed);
    }
}

fn summaries(sessions: &Mutex<Sessions>) -> Vec<SessionSummary> {
    let all = lock(sessions).all.clone();
    all.iter().map(Session::summary).collect()
}

#[async_trait::async_trait]
impl Coordinator for LocalSpoke {
    async fn describe(&self) -> Result<Description> {
        Ok(Description {
            name: self.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            labels: self.labels.clone(),
            instance: self.instance.clone(),
        })
    }

    async fn spawn(&self, mut spec: SpawnSpec) -> Result<SessionSummary> {
        if !spec.spoke.is_empty() && spec.spoke != self.name {
            return Err(SessionError::UnknownSpoke {
                spoke: spec.spoke,
                known: self.name.clone(),
            });
        }
        let size = limits::check_spawn(&spec)?;
        let session = {
            let mut sessions = lock(&self.sessions);
            if sessions.all.len() >= limits::MAX_SESSIONS {
                return Err(SessionError::invalid(format!(
                    "{} sessions on this spoke, limit {}; remove exited ones first",
                    sessions.all.len(),
                    limits::MAX_SESSIONS
                )));
            }
            if spec.name.is_empty() {
                spec.name = loop {
                    sessions.next_auto_name += 1;
                    let candidate = format!("s{}", sessions.next_auto_name);
                    if !sessions.name_taken(&candidate) {
                        break candidate;
                    }
                };
            } else if sessions.name_taken(&spec.name) {
                return Err(SessionError::NameTaken { name: spec.name });
            }
            let session = Session::spawn(
                uuid::Uuid::new_v4().to_string(),
                self.name.clone(),
                spec,
                size,
                self.config.clone(),
                self.list_changed.clone(),
            )?;
            sessions.all.push(session.clone());
            session
        };
        self.bump();
        tracing::info!(session = %session.name(), id = %session.id(), "spawned");
        Ok(session.summary())
    }

    async fn list(&self) -> Result<Arc<[SessionSummary]>> {
        Ok(self.summaries().into())
    }

    async fn watch_sessions(&self) -> Result<Events<Vec<SessionSummary>>> {
        let sessions = self.sessions.clone();
        // Output offsets and subscriber counts move without a bump: a
        // hub's list of this spoke's sessions follows them within a second.
        Ok(
            watch_changes_refreshed(&self.list_changed, FIGURES_EVERY, move || {
                summaries(&sessions)
            })
            .into(),
        )
    }

    async fn info(&self, session: &str) -> Result<SessionSummary> {
        Ok(self.resolve(session)?.summary())
    }

    async fn kill(&self, session: &str, signal: &str) -> Result<()> {
        let signal = parse_signal(signal)?;
        self.resolve(session)?.kill(signal)
    }

    async fn remove(&self, session: &str, force: bool) -> Result<()> {
        let target = self.resolve(session)?;
        if !target.is_exited() {
            if !force {
                return Err(SessionError::StillRunning {
                    session: target.name(),
                });
            }
            // It may exit between the check and the kill; that is fine.
            let _ = target.kill(Signal::SIGKILL);
        }
        lock(&self.sessions).all.retain(|s| s.id() != target.id());
        target.stop_parsing();
        self.bump();
        tracing::info!(session = %target.name(), "removed");
        Ok(())
    }

    async fn rename(&self, session: &str, new_name: &str) -> Result<SessionSummary> {
        validate_name(new_name).map_err(|e| SessionError::invalid(e.to_string()))?;
        let target = self.resolve(session)?;
        {
            let sessions = lock(&self.sessions);
            if target.name() != new_name && sessions.name_taken(new_name) {
                return Err(SessionError::NameTaken {
                    name: new_name.to_owned(),
                });
            }
            target.set_name(new_name.to_owned());
        }
        Ok(target.summary())
    }

    async fn resize(&self, session: &str, cols: u32, rows: u32) -> Result<SessionSummary> {
        let (cols, rows) = limits::check_size(cols, rows)?;
        let target = self.resolve(session)?;
        target.resize(cols, rows).await?;
        Ok(target.summary())
    }

    async fn screen(&self, session: &str) -> Result<ScreenState> {
        self.resolve(session)?.screen().await
    }

    async fn grep(&self, session: &str, pattern: &str, query: GrepQuery) -> Result<GrepResult> {
        let regex = limits::regex(pattern)?;
        let max_matches = match query.max_matches {
            0 => DEFAULT_GREP_MATCHES,
            n if n > limits::MAX_GREP_MATCHES => {
                return Err(SessionError::invalid(format!(
                    "at most {} matches per search; {n} asked",
                    limits::MAX_GREP_MATCHES
                )));
            }
            n => n,
        };
        if query.before > limits::MAX_GREP_CONTEXT || query.after > limits::MAX_GREP_CONTEXT {
            return Err(SessionError::invalid(format!(
                "context of {} before / {} after lines, limit {}",
                query.before,
                query.after,
                limits::MAX_GREP_CONTEXT
            )));
        }
        let query = GrepQuery {
            max_matches,
            ..query
        };
        self.resolve(session)?
            .with_terminal(move |t| t.grep(&regex, query))
            .await
    }

    async fn send(&self, session: &str, input: Input) -> Result<u64> {
        let target = self.resolve(session)?;
        let (id, input) = input.split();
        if id.is_empty() {
            return send_input(&target, input).await;
        }
        let print = once::fingerprint(&input);
        let session = target.clone();
        let work = async move { send_input(&session, input).await.map(Outcome::Sent) };
        match target.once(&id, print, work).await? {
            Outcome::Sent(offset) => Ok(offset),
            Outcome::Ran(_) => Err(SessionError::invalid(format!(
                "request_id {id:?} was used for a run"
            ))),
        }
    }

    fn try_send_now(&self, session: &str, input: &Input) -> Option<Result<u64>> {
        // Keys may have to wait for the terminal's mode; a request id is
        // looked up first.
        if matches!(input, Input::Keys(_) | Input::Once { .. }) {
            return None;
        }
        let sent = self
            .resolve(session)
            .and_then(|target| Ok((target, input_bytes(input.clone(), false)?)));
        match sent {
            Ok((target, bytes)) => target.try_send_now(&bytes),
            Err(e) => Some(Err(e)),
        }
    }

    async fn wait_for(
        &self,
        session: &str,
        pattern: &str,
        timeout_ms: u64,
        from_offset: Option<u64>,
    ) -> Result<WaitMatch> {
        let regex = limits::regex(pattern)?;
        let timeout = limits::timeout(timeout_ms, DEFAULT_WAIT_TIMEOUT, "timeout")?;
        self.resolve(session)?
            .wait_for(&regex, timeout, from_offset)
            .await
    }

    async fn wait_idle(&self, session: &str, wait: IdleWait) -> Result<IdleResult> {
        self.resolve(session)?.wait_idle(wait).await
    }

    async fn subscribe(
        &self,
        session: &str,
        from_offset: Option<u64>,
    ) -> Result<Events<StreamEvent>> {
        Ok(self.resolve(session)?.subscribe(from_offset))
    }

    async fn record(&self, session: &str, follow: bool) -> Result<Events<Bytes>> {
        Ok(self.resolve(session)?.record(follow).into())
    }
    async fn commands(&self, session: &str, limit: usize) -> Result<CommandList> {
        self.resolve(session)?.commands(limit).await
    }

    async fn run(&self, session: &str, spec: RunSpec) -> Result<RunResult> {
        let target = self.resolve(session)?;
        if spec.request_id.is_empty() {
            return target.run(spec).await;
        }
        let id = spec.request_id.clone();
        let print = once::fingerprint(&spec.line);
        let session = target.clone();
        let work = async move { session.run(spec).await.map(|r| Outcome::Ran(Arc::new(r))) };
        match target.once(&id, print, work).await? {
            Outcome::Ran(result) => Ok(RunResult::clone(&result)),
            Outcome::Sent(_) => Err(SessionError::invalid(format!(
                "request_id {id:?} was used for an input"
            ))),
        }
    }
}

/// Sends `input`: keys in the terminal's current cursor mode.
async fn send_input(target: &Session, input: Input) -> Result<u64> {
    // Only keys depend on the terminal's mode.
    let app_cursor = matches!(input, Input::Keys(_)) && target.application_cursor().await;
    target.send(input_bytes(input, app_cursor)?).await
}

/// The bytes `input` writes to a PTY, checked against the input limits.
/// `app_cursor`: the terminal asked for application cursor keys. Pure, so
/// the fuzz harness can call it.
pub fn input_bytes(input: Input, app_cursor: bool) -> Result<Bytes> {
    Ok(match input {
        Input::Text { text, submit } => {
            limits::check_input(text.len() + usize::from(submit))?;
            let mut bytes = text.into_bytes();
            if submit {
                bytes.push(b'\r');
            }
            Bytes::from(bytes)
        }
        Input::Bytes(bytes) => {
            limits::check_input(bytes.len())?;
            bytes
        }
        // Looked up before it comes to bytes.
        Input::Once { input, .. } => return input_bytes(*input, app_cursor),
        Input::Keys(keys) => {
            if keys.len() > limits::MAX_KEYS {
                return Err(SessionError::invalid(format!(
                    "{} keys, limit {} per request",
                    keys.len(),
                    limits::MAX_KEYS
                )));
            }
            let mut bytes = Vec::new();
            for key in &keys {
                bytes.extend(
                    key_bytes(key, app_cursor).map_err(|e| SessionError::invalid(e.to_string()))?,
                );
            }
            Bytes::from(bytes)
        }
    })
}
