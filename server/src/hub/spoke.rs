//! One spoke as the hub sees it: how it joined, the handle to call it, its
//! health, and its sessions as last seen.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::breaker::Breaker;
use super::view::SessionView;
use crate::core::session::lock;
use crate::core::{Coordinator, Description, SessionError, SessionSummary};

/// Probes slower than this mark a spoke degraded.
pub const SLOW_RTT: Duration = Duration::from_millis(500);

/// How a spoke joined the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Join {
    /// Embedded in the hub.
    Local,
    /// From the configuration; the hub dials `address`.
    Dialled { address: String },
    /// The spoke dialled in from `peer` and holds a tunnel open.
    Tunnelled { peer: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpokeState {
    Connecting,
    Healthy,
    Degraded,
    Unreachable,
}

impl SpokeState {
    pub fn as_str(self) -> &'static str {
        match self {
            SpokeState::Connecting => "connecting",
            SpokeState::Healthy => "healthy",
            SpokeState::Degraded => "degraded",
            SpokeState::Unreachable => "unreachable",
        }
    }
}

/// A spoke's health and identity, as listed.
#[derive(Debug, Clone)]
pub struct SpokeStatus {
    pub name: String,
    pub state: SpokeState,
    pub join: Join,
    pub last_seen: Option<SystemTime>,
    pub rtt: Option<Duration>,
    pub version: String,
    pub labels: Vec<(String, String)>,
    pub instance: String,
    pub sessions: u32,
    pub last_error: String,
    pub failures: u32,
    pub next_attempt: Option<SystemTime>,
}

impl SpokeStatus {
    /// Whether a list would show the same, leaving out what every probe
    /// changes: the last-seen time and the RTT (which shows in the state
    /// once it crosses `SLOW_RTT`), and, while the spoke stays
    /// unreachable, the count of failed probes and the next one's time.
    pub fn same_for_lists(&self, other: &SpokeStatus) -> bool {
        let still_down =
            self.state == SpokeState::Unreachable && other.state == SpokeState::Unreachable;
        self.name == other.name
            && self.state == other.state
            && self.join == other.join
            && self.version == other.version
            && self.labels == other.labels
            && self.instance == other.instance
            && self.sessions == other.sessions
            && self.last_error == other.last_error
            && (still_down
                || (self.failures == other.failures && self.next_attempt == other.next_attempt))
            && self.last_seen.is_some() == other.last_seen.is_some()
    }
}

pub type SpokeHandle = Arc<dyn Coordinator>;

pub struct Entry {
    pub name: String,
    pub join: Join,
    handle: Mutex<Option<SpokeHandle>>,
    /// Which tunnel the handle runs over (tunnelled spokes).
    tunnel: Mutex<u64>,
    /// Since when a tunnelled spoke has had no tunnel.
    gone_since: Mutex<Option<Instant>>,
    health: Mutex<Health>,
    /// Asks the monitor for a probe now (a call failed, a stream broke).
    /// Heard only while the last probe succeeded: a spoke known to be down
    /// is probed on the breaker's schedule, however many calls fail.
    pub wake: Notify,
    /// A tunnel (re)connected: the monitor probes now, whatever its wait.
    pub back: Notify,
    /// Stops the monitor (the spoke was removed).
    pub stop: CancellationToken,
}

#[derive(Default)]
struct Health {
    breaker: Breaker,
    ever_ok: bool,
    last_seen: Option<SystemTime>,
    rtt: Option<Duration>,
    description: Option<Description>,
    sessions: SessionView,
    last_error: String,
}

impl Entry {
    pub fn new(name: String, join: Join, handle: Option<SpokeHandle>) -> Arc<Self> {
        Arc::new(Entry {
            name,
            join,
            handle: Mutex::new(handle),
            tunnel: Mutex::new(0),
            gone_since: Mutex::new(None),
            health: Mutex::new(Health::default()),
            wake: Notify::new(),
            back: Notify::new(),
            stop: CancellationToken::new(),
        })
    }

    pub fn handle(&self) -> Option<SpokeHandle> {
        lock(&self.handle).clone()
    }

    /// A tunnel (re)connected.
    pub fn set_tunnel(&self, handle: SpokeHandle, generation: u64) {
        *lock(&self.handle) = Some(handle);
        *lock(&self.tunnel) = generation;
        *lock(&self.gone_since) = None;
        self.back.notify_one();
    }

    /// The tunnel numbered `generation` closed (a newer one stays).
    pub fn clear_tunnel(&self, generation: u64) {
        if *lock(&self.tunnel) == generation {
            *lock(&self.handle) = None;
            *lock(&self.gone_since) = Some(Instant::now());
            self.wake.notify_one();
        }
    }

    /// Whether this is a tunnelled spoke whose tunnel has been closed for
    /// at least `long`.
    pub fn tunnel_gone_for(&self, long: Duration) -> bool {
        matches!(self.join, Join::Tunnelled { .. })
            && lock(&self.gone_since).is_some_and(|since| since.elapsed() >= long)
    }

    /// Listed by `Hub::expect_tunnel`, its tunnel not yet back.
    pub fn expected(&self) -> bool {
        matches!(&self.join, Join::Tunnelled { peer } if peer.is_empty()) && !self.connected()
    }

    pub fn connected(&self) -> bool {
        lock(&self.handle).is_some()
    }

    /// The handle if calls may go through now; otherwise why not, naming the
    /// spoke (the breaker is open, or a tunnel is down).
    pub fn callable(&self) -> Result<SpokeHandle, SessionError> {
        let unreachable = |reason: String| SessionError::Unreachable {
            spoke: self.name.clone(),
            reason,
        };
        let health = lock(&self.health);
        if let Err(left) = health.breaker.allow(Instant::now()) {
            return Err(unreachable(format!(
                "{} (next attempt in {:.1} s)",
                health.last_error,
                left.as_secs_f64()
            )));
        }
        drop(health);
        self.handle()
            .ok_or_else(|| unreachable("its tunnel is closed".to_owned()))
    }

    pub fn success(&self, rtt: Duration, description: Description) {
        let mut h = lock(&self.health);
        h.breaker.success();
        h.ever_ok = true;
        h.last_seen = Some(SystemTime::now());
        h.rtt = Some(rtt);
        h.description = Some(description);
        h.last_error.clear();
    }

    /// Records a failed attempt; returns the wait before the next one.
    pub fn failure(&self, reason: String) -> Duration {
        let mut h = lock(&self.health);
        h.last_error = reason;
        h.breaker.failure(Instant::now())
    }

    /// The spoke answered (a session list arrived).
    pub fn seen(&self, sessions: Option<Vec<SessionSummary>>) {
        let mut h = lock(&self.health);
        h.last_seen = Some(SystemTime::now());
        if let Some(sessions) = sessions {
            h.sessions.replace(sessions, Instant::now());
        }
    }

    /// Drops the session list (a new instance of the spoke: its old
    /// sessions are gone).
    pub fn forget_sessions(&self) {
        lock(&self.health).sessions.clear();
    }

    pub fn instance(&self) -> Option<String> {
        lock(&self.health)
            .description
            .as_ref()
            .map(|d| d.instance.clone())
    }

    /// The sessions as last seen, marked stale unless the spoke is
    /// reachable now.
    pub fn sessions(&self) -> Vec<SessionSummary> {
        let h = lock(&self.health);
        let stale = matches!(state(&h), SpokeState::Unreachable | SpokeState::Connecting);
        h.sessions
            .sessions()
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.spoke.clone_from(&self.name);
                s.stale = stale;
                s.spoke_last_seen = h.last_seen;
                s
            })
            .collect()
    }

    /// The id of a session by name or id, as last seen.
    pub fn id_of(&self, key: &str) -> Option<String> {
        lock(&self.health).sessions.id_of(key).map(str::to_owned)
    }

    /// Applies what a call through the hub just did to the view of this
    /// spoke's sessions (see `SessionView::note`).
    pub fn note(&self, key: &str, summary: Option<SessionSummary>) {
        lock(&self.health)
            .sessions
            .note(key, summary, Instant::now());
    }

    /// A session by id, else by name, as last listed, unless the list is
    /// stale (the same order a spoke looks them up in).
    pub fn listed(&self, key: &str) -> Option<SessionSummary> {
        let sessions = self.sessions();
        let found = sessions
            .iter()
            .find(|s| s.id == key)
            .or_else(|| sessions.iter().find(|s| s.name == key));
        found.filter(|s| !s.stale).cloned()
    }

    /// Whether the last view of this spoke holds a session by id or name.
    pub fn has_session(&self, key: &str) -> bool {
        lock(&self.health)
            .sessions
            .sessions()
            .iter()
            .any(|s| s.id == key || s.name == key)
    }

    pub fn status(&self) -> SpokeStatus {
        let h = lock(&self.health);
        let description = h.description.clone().unwrap_or_default();
        let now = Instant::now();
        SpokeStatus {
            name: self.name.clone(),
            state: state(&h),
            join: self.join.clone(),
            last_seen: h.last_seen,
            rtt: h.rtt,
            version: description.version,
            labels: description.labels,
            instance: description.instance,
            sessions: h.sessions.sessions().len() as u32,
            last_error: h.last_error.clone(),
            failures: h.breaker.failures(),
            next_attempt: h
                .breaker
                .retry_at()
                .map(|at| SystemTime::now() + at.saturating_duration_since(now)),
        }
    }
}

fn state(h: &Health) -> SpokeState {
    if h.breaker.is_open() {
        SpokeState::Unreachable
    } else if !h.ever_ok {
        SpokeState::Connecting
    } else if h.breaker.failures() > 0 || h.rtt.is_some_and(|rtt| rtt > SLOW_RTT) {
        SpokeState::Degraded
    } else {
        SpokeState::Healthy
    }
}
