//! Scoped grants: bearer tokens (`vtrg_ID_SECRET`) that let an agent or a
//! program observe, or control, named sessions or one spoke, until they
//! expire or are revoked. Kept in the hub's SQLite state (`store.rs`, the
//! secret only as a hash); every call made under one goes to the audit log
//! (`audit.rs`). The front door admits a grant's token to `/mcp` and the
//! `vtr.v1.Vtr` service only; what it may do there is checked call by call
//! by wrapping the hub in a [`Guarded`] coordinator (`guard.rs`).

mod audit;
mod guard;
mod store;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

pub use audit::{Audit, AuditEntry, MAX_AUDIT_ROWS, Outcome};
pub use guard::{Guarded, Via};

use crate::core::clock::now_ms;
use crate::core::error::SessionError;
use crate::core::limits::bounded_text;
use crate::core::session::lock;
use crate::hub::secret::{hex, random_hex};
use store::Store;

pub const MIN_TTL: Duration = Duration::from_secs(1);
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Grants not yet expired nor revoked, at most.
pub const MAX_LIVE_GRANTS: usize = 1000;
/// Grants not yet expired, revoked ones included, at most.
pub const MAX_KEPT_GRANTS: usize = 2 * MAX_LIVE_GRANTS;
/// Sessions one grant may name.
pub const MAX_TARGETS: usize = 64;
/// A grant's note, at most.
pub const MAX_NOTE_BYTES: usize = 200;
/// Longer tokens are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 128;
/// What every grant token starts with (so the front door tells it from the
/// hub's own token at a glance).
pub const TOKEN_PREFIX: &str = "vtrg_";
/// Expired and revoked grants are forgotten this long after.
const KEEP_ENDED: Duration = Duration::from_secs(7 * 24 * 3600);
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Reading only: lists, the screen, output, waits, grep, commands.
    Observe,
    /// Also typing, `run`, resizing, renaming, killing, removing, and
    /// spawning on a spoke granted whole.
    Control,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Observe => "observe",
            Scope::Control => "control",
        }
    }
}

/// What a grant reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Targets {
    /// These sessions: `spoke:id`, with the `spoke:name` each had when the
    /// grant was made.
    Sessions(Vec<(String, String)>),
    /// Every session of this spoke, now and later.
    Spoke(String),
}

/// One grant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    /// SHA-256 of the token's secret part, in hex.
    pub secret_hash: String,
    pub scope: Scope,
    pub targets: Targets,
    pub note: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked_ms: Option<i64>,
    pub created_by: String,
}

impl Grant {
    /// Whether it reaches the session `spoke:id` on `spoke`.
    pub fn reaches(&self, spoke: &str, id_address: &str) -> bool {
        match &self.targets {
            Targets::Spoke(name) => name == spoke,
            Targets::Sessions(sessions) => sessions.iter().any(|(s, _)| s == id_address),
        }
    }

    /// Whether it reaches anything on `spoke`.
    pub fn touches_spoke(&self, spoke: &str) -> bool {
        match &self.targets {
            Targets::Spoke(name) => name == spoke,
            Targets::Sessions(sessions) => sessions
                .iter()
                .any(|(s, _)| s.split_once(':').is_some_and(|(sp, _)| sp == spoke)),
        }
    }

    /// What it reaches, as people read it.
    pub fn reach(&self) -> String {
        match &self.targets {
            Targets::Spoke(name) => format!("spoke {name}"),
            Targets::Sessions(sessions) => {
                let names: Vec<&str> = sessions.iter().map(|(_, label)| label.as_str()).collect();
                format!("sessions {}", names.join(", "))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(
        "a grant lasts from {min} s to {max} days; {0} s asked",
        min = MIN_TTL.as_secs(),
        max = MAX_TTL.as_secs() / 86400
    )]
    Ttl(u64),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{MAX_LIVE_GRANTS} grants are live, or {MAX_KEPT_GRANTS} not yet expired (revoked ones \
         count until they expire); revoke some or wait for them to expire"
    )]
    TooMany,
    #[error("no grant {0:?}")]
    NoGrant(String),
    #[error("this is not a grant token (it starts with `vtrg_`; is it cut short?)")]
    Malformed,
    #[error("this grant token is not known to the hub (or it expired)")]
    Unknown,
    #[error("this grant expired")]
    Expired,
    #[error("this grant was revoked")]
    Revoked,
    #[error("the hub's grant store failed: {0}")]
    Store(String),
}

impl From<rusqlite::Error> for GrantError {
    fn from(e: rusqlite::Error) -> Self {
        GrantError::Store(e.to_string())
    }
}

pub type Result<T, E = GrantError> = std::result::Result<T, E>;

/// What `create` is asked for; sessions already resolved by the caller.
pub struct NewGrant {
    pub scope: Scope,
    pub targets: Targets,
    pub ttl: Duration,
    pub note: String,
    pub created_by: String,
}

impl NewGrant {
    /// Its expiry, note and targets within the limits. Pure, so the fuzz
    /// harness can call it.
    pub fn check(&self) -> Result<()> {
        if !(MIN_TTL..=MAX_TTL).contains(&self.ttl) {
            return Err(GrantError::Ttl(self.ttl.as_secs()));
        }
        if self.note.len() > MAX_NOTE_BYTES || self.note.chars().any(char::is_control) {
            return Err(GrantError::Invalid(format!(
                "a grant's note is at most {MAX_NOTE_BYTES} bytes with no control characters"
            )));
        }
        match &self.targets {
            Targets::Sessions(s) if s.is_empty() => Err(GrantError::Invalid(
                "a grant needs sessions (--session) or a spoke (--spoke)".into(),
            )),
            Targets::Sessions(s) if s.len() > MAX_TARGETS => Err(GrantError::Invalid(format!(
                "a grant names at most {MAX_TARGETS} sessions; {} asked (grant the spoke \
                 instead?)",
                s.len()
            ))),
            _ => Ok(()),
        }
    }
}

/// The hub's grants and audit log. Cheap to share (`Arc`).
pub struct Grants {
    store: Store,
    /// Every grant the store holds (ended ones until they are pruned), by
    /// id: what each request is checked against, with no database on the
    /// way. Never held across a database call.
    kept: Mutex<HashMap<String, Grant>>,
    /// One `create` at a time (the limits are checked, then the grant
    /// stored).
    creating: Mutex<()>,
    audit: Audit,
    /// Bumped when a grant is made or revoked: calls and streams under a
    /// revoked one end, dashboards refresh.
    changed: watch::Sender<u64>,
}

impl Grants {
    /// Opens (or starts) the grants in `dir/hub.db`; the audit log's writer
    /// runs on a thread of its own.
    pub fn open(dir: &Path) -> anyhow::Result<Grants> {
        let path = dir.join(crate::hub::state_db::FILE);
        let store = Store::open(&path)?;
        let now = now_ms();
        store
            .prune(now - KEEP_ENDED.as_millis() as i64)
            .map_err(|e| anyhow::anyhow!("pruning ended grants: {e}"))?;
        // Ended ones too, until they are pruned: their holders are told
        // "expired" or "revoked", which is not a guess at a token.
        let kept = store
            .all()
            .map_err(|e| anyhow::anyhow!("reading grants: {e}"))?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
        Ok(Grants {
            store,
            kept: Mutex::new(kept),
            creating: Mutex::new(()),
            audit: Audit::open(dir)?,
            changed: watch::Sender::new(0),
        })
    }

    /// A new grant, and its token (shown once: only its hash is kept).
    pub fn create(&self, new: NewGrant) -> Result<(Grant, String)> {
        new.check()?;
        let _one_at_a_time = lock(&self.creating);
        let now = now_ms();
        let forget_before = now - KEEP_ENDED.as_millis() as i64;
        self.store.prune(forget_before)?;
        {
            let mut kept = lock(&self.kept);
            kept.retain(|_, g| !ended_before(g, forget_before));
            let unexpired = kept.values().filter(|g| g.expires_ms > now);
            let (mut live, mut all) = (0, 0);
            for g in unexpired {
                all += 1;
                live += usize::from(g.revoked_ms.is_none());
            }
            if live >= MAX_LIVE_GRANTS || all >= MAX_KEPT_GRANTS {
                return Err(GrantError::TooMany);
            }
        }
        let store_error = |e: anyhow::Error| GrantError::Store(e.to_string());
        let id = random_hex(ID_BYTES).map_err(store_error)?;
        let secret = random_hex(SECRET_BYTES).map_err(store_error)?;
        let grant = Grant {
            id: id.clone(),
            secret_hash: hash(&secret),
            scope: new.scope,
            targets: new.targets,
            note: new.note,
            created_ms: now,
            expires_ms: now + new.ttl.as_millis() as i64,
            revoked_ms: None,
            created_by: bounded_text(new.created_by.as_bytes(), 128),
        };
        self.store.insert(&grant)?;
        lock(&self.kept).insert(grant.id.clone(), grant.clone());
        crate::core::changes::bump(&self.changed);
        Ok((grant, format!("{TOKEN_PREFIX}{id}_{secret}")))
    }

    /// Grants not yet expired (revoked ones included), newest first.
    pub fn list(&self) -> Result<Vec<Grant>> {
        Ok(self.store.live(now_ms())?)
    }

    /// Revokes grant `id`: its calls and streams end at once.
    /// In memory first, so it holds at once even if the store then
    /// fails (it is stored again at the next revoke, and the error says so).
    pub fn revoke(&self, id: &str) -> Result<Grant> {
        let now = now_ms();
        let grant = {
            let mut kept = lock(&self.kept);
            let grant = kept
                .get_mut(id)
                .ok_or_else(|| GrantError::NoGrant(id.to_owned()))?;
            grant.revoked_ms.get_or_insert(now);
            grant.clone()
        };
        crate::core::changes::bump(&self.changed);
        self.store.revoke(id, grant.revoked_ms.unwrap_or(now))?;
        Ok(grant)
    }

    /// The grant a token opens, if it is known, not expired, not revoked.
    pub fn open_token(&self, token: &str) -> Result<Grant> {
        let (id, secret) = parse(token).ok_or(GrantError::Malformed)?;
        let grant = lock(&self.kept)
            .get(id)
            .cloned()
            .ok_or(GrantError::Unknown)?;
        let presented = hash(secret);
        if !bool::from(presented.as_bytes().ct_eq(grant.secret_hash.as_bytes())) {
            return Err(GrantError::Unknown);
        }
        live(&grant)?;
        Ok(grant)
    }

    /// Whether grant `id` still works now; if so, when it expires (ms).
    /// Copies nothing: streams under a grant ask before every item.
    pub fn check(&self, id: &str) -> Result<i64> {
        let kept = lock(&self.kept);
        let grant = kept.get(id).ok_or(GrantError::Unknown)?;
        live(grant)?;
        Ok(grant.expires_ms)
    }

    /// Resolves once grant `id` no longer works (revoked, expired, gone).
    pub async fn ended(&self, id: &str) {
        let mut changes = self.changed.subscribe();
        loop {
            let Ok(expires_ms) = self.check(id) else {
                return;
            };
            let left = Duration::from_millis((expires_ms - now_ms()).max(0) as u64);
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(left) => {}
            }
        }
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// Bumped when a grant is made or revoked.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// A request let in with a grant's token (a request extension set by the
/// front door): what it may do, and where to check and record it.
#[derive(Clone)]
pub struct GrantPass {
    pub grants: Arc<Grants>,
    pub grant: Grant,
}

impl GrantPass {
    /// `inner` as this grant may use it, for one `call` that came `via`.
    pub fn guard(&self, inner: Arc<dyn crate::core::Coordinator>, via: Via, call: &str) -> Guarded {
        Guarded::new(inner, self.grants.clone(), self.grant.clone(), via, call)
    }
}

/// Whether `g` ended (expired or was revoked) before `ms`.
fn ended_before(g: &Grant, ms: i64) -> bool {
    g.expires_ms < ms || g.revoked_ms.is_some_and(|r| r < ms)
}

fn live(grant: &Grant) -> Result<()> {
    if grant.revoked_ms.is_some() {
        return Err(GrantError::Revoked);
    }
    if grant.expires_ms <= now_ms() {
        return Err(GrantError::Expired);
    }
    Ok(())
}

/// Whether `token` looks like a grant's (the front door asks first).
pub fn is_grant_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

/// `vtrg_ID_SECRET`: the id and the secret, if well formed.
fn parse(token: &str) -> Option<(&str, &str)> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let (id, secret) = token.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
    let lower_hex = |s: &str, bytes: usize| {
        s.len() == bytes * 2 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    (lower_hex(id, ID_BYTES) && lower_hex(secret, SECRET_BYTES)).then_some((id, secret))
}

fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests;
