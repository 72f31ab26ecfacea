//! Read-only share links to one session: tokens signed with a hub secret
//! (`token.rs`), kept with their revocations in SQLite (`store.rs`) in the
//! hub's state directory. What a link may open is enforced where its
//! socket is served (`transport/web/share.rs`).

mod store;
pub mod token;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use store::Record;
pub use token::{MAX_TOKEN_BYTES, TokenError};

use crate::core::SessionSummary;
use crate::core::clock::now_ms;
use crate::core::error::SessionError;
use crate::hub::secret::Secret;
use store::Store;
use token::Claims;

pub const MIN_TTL: Duration = Duration::from_secs(60);
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Links not yet expired, at most.
pub const MAX_LIVE_LINKS: usize = 1000;
/// Expired links are forgotten this long after expiry (until then a
/// viewer is told "expired" rather than "unknown").
const KEEP_EXPIRED: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(
        "a link lasts from {min} s to {max} days; {0} s asked",
        min = MIN_TTL.as_secs(),
        max = MAX_TTL.as_secs() / 86400
    )]
    Ttl(u64),
    #[error("{MAX_LIVE_LINKS} links are live already; revoke some or wait for them to expire")]
    TooMany,
    #[error("no share link {0:?}")]
    NoLink(String),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("this link is not known to the hub (or expired long ago)")]
    Unknown,
    #[error("this link expired")]
    Expired,
    #[error("this link was revoked")]
    Revoked,
    #[error("the hub's link store failed: {0}")]
    Store(String),
}

impl From<rusqlite::Error> for ShareError {
    fn from(e: rusqlite::Error) -> Self {
        ShareError::Store(e.to_string())
    }
}

pub type Result<T, E = ShareError> = std::result::Result<T, E>;

pub struct Shares {
    secret: Arc<Secret>,
    store: Store,
    /// Bumped when a link is made or revoked: lists refresh, and viewers
    /// check whether they were cut off.
    changed: watch::Sender<u64>,
}

impl Shares {
    /// Opens (or starts) the hub's links in `dir` (`hub.db`; the caller
    /// made it private), signed with `secret`.
    pub fn open(dir: &Path, secret: Arc<Secret>) -> anyhow::Result<Shares> {
        let store = Store::open(&dir.join(crate::hub::state_db::FILE))?;
        let forget_before = now_ms() - KEEP_EXPIRED.as_millis() as i64;
        store
            .prune(forget_before)
            .map_err(|e| anyhow::anyhow!("pruning expired links: {e}"))?;
        Ok(Shares {
            secret,
            store,
            changed: watch::Sender::new(0),
        })
    }

    /// Forgets links that expired or were revoked long ago; how many.
    pub fn prune(&self) -> Result<usize> {
        let forgotten = self
            .store
            .prune(now_ms() - KEEP_EXPIRED.as_millis() as i64)?;
        if forgotten > 0 {
            self.changed();
        }
        Ok(forgotten)
    }

    /// A new link to `session` for `ttl`.
    pub fn create(
        &self,
        session: &SessionSummary,
        ttl: Duration,
        created_by: &str,
    ) -> Result<Record> {
        if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
            return Err(ShareError::Ttl(ttl.as_secs()));
        }
        let now = now_ms();
        // Long-expired links go as new ones come (and at start).
        self.store.prune(now - KEEP_EXPIRED.as_millis() as i64)?;
        let working = self.store.live(now)?;
        if working.iter().filter(|r| r.revoked_ms.is_none()).count() >= MAX_LIVE_LINKS {
            return Err(ShareError::TooMany);
        }
        let record = Record {
            id: token::new_id().map_err(|e| ShareError::Store(e.to_string()))?,
            session: session.id_address(),
            label: session.address(),
            created_ms: now,
            // Whole seconds: the token carries the expiry in seconds.
            expires_ms: (now + ttl.as_millis() as i64) / 1000 * 1000,
            revoked_ms: None,
            created_by: created_by.to_owned(),
            // Viewers start here at the earliest (see `Record::viewer_from`).
            created_offset: Some(session.output_offset),
        };
        self.store.insert(&record)?;
        self.changed();
        Ok(record)
    }

    /// The token of a link (derived again from its id and expiry).
    pub fn token(&self, record: &Record) -> String {
        token::sign(
            &self.secret,
            &Claims {
                id: record.id.clone(),
                expires_s: (record.expires_ms / 1000) as u64,
            },
        )
    }

    pub fn list(&self) -> Result<Vec<Record>> {
        Ok(self.store.live(now_ms())?)
    }

    pub fn revoke(&self, id: &str) -> Result<Record> {
        if !self.store.revoke(id, now_ms())? {
            return Err(ShareError::NoLink(id.to_owned()));
        }
        self.changed();
        self.store
            .get(id)?
            .ok_or_else(|| ShareError::NoLink(id.to_owned()))
    }

    /// The link a token opens, if it is signed by this hub, known, not
    /// expired and not revoked.
    pub fn open_token(&self, token: &str) -> Result<Record> {
        let claims = token::verify(&self.secret, token)?;
        if claims.expires_s.saturating_mul(1000) <= now_ms() as u64 {
            return Err(ShareError::Expired);
        }
        self.check(&claims.id)
    }

    /// Whether link `id` still works (for viewers after a change).
    pub fn check(&self, id: &str) -> Result<Record> {
        let record = self.store.get(id)?.ok_or(ShareError::Unknown)?;
        if record.revoked_ms.is_some() {
            return Err(ShareError::Revoked);
        }
        if record.expires_ms <= now_ms() {
            return Err(ShareError::Expired);
        }
        Ok(record)
    }

    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn changed(&self) {
        crate::core::changes::bump(&self.changed);
    }
}
