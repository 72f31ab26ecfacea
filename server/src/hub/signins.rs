//! Web sign-ins, kept by the hub: the browser's cookie holds only a random
//! id; the hub keeps who it is and until when (in memory, and in SQLite in
//! the hub's state directory so a restart signs nobody out). Signing out
//! forgets the sign-in on the hub, so a copied cookie stops working too;
//! "sign out everywhere" forgets all of them; a new hub token does the same
//! at the next start.
//!
//! Only a hash of each id is stored: the database alone signs nobody in.
//! Bounded: at most [`MAX_SIGN_INS`] live at once; the oldest go first.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use crate::core::clock::now_ms;
use crate::core::session::lock;
use crate::hub::secret::hex;

/// Sign-ins live at once, at most.
pub const MAX_SIGN_INS: usize = 10_000;

pub struct SignIns {
    db: Mutex<Connection>,
    /// id hash -> who and until when: the copy every request reads.
    live: Mutex<HashMap<String, Entry>>,
    /// Names the hub token these sign-ins were made with.
    token: String,
    /// Bumped whenever sign-ins end: open sockets check theirs.
    ended: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Clone)]
struct Entry {
    who: String,
    created_ms: i64,
    expires_ms: i64,
}

impl SignIns {
    /// Opens the sign-ins in `dir/hub.db`, forgetting those that expired
    /// or were made with another token (named by `token_fingerprint`).
    pub fn open(dir: &Path, token_fingerprint: &str) -> anyhow::Result<SignIns> {
        let db = crate::hub::state_db::open(dir)?;
        SignIns::with(db, token_fingerprint).with_context(|| {
            format!(
                "sign-ins in {}",
                dir.join(crate::hub::state_db::FILE).display()
            )
        })
    }

    /// Sign-ins kept in memory only (tests).
    pub fn in_memory(token_fingerprint: &str) -> anyhow::Result<SignIns> {
        SignIns::with(crate::hub::state_db::open_in_memory()?, token_fingerprint)
    }

    fn with(db: Connection, token: &str) -> anyhow::Result<SignIns> {
        db.execute(
            "DELETE FROM sign_ins WHERE expires_ms <= ?1 OR token != ?2",
            params![now_ms(), token],
        )?;
        let live = {
            let mut query =
                db.prepare("SELECT id_hash, who, created_ms, expires_ms FROM sign_ins")?;
            query
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        Entry {
                            who: row.get(1)?,
                            created_ms: row.get(2)?,
                            expires_ms: row.get(3)?,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<HashMap<_, _>>>()?
        };
        Ok(SignIns {
            db: Mutex::new(db),
            live: Mutex::new(live),
            token: token.to_owned(),
            ended: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Signs `who` in for `ttl`; the cookie value (a random id).
    pub fn create(&self, who: &str, ttl: Duration) -> anyhow::Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let id = hex(&bytes);
        let now = now_ms();
        let entry = Entry {
            who: who.to_owned(),
            created_ms: now,
            expires_ms: now + ttl.as_millis() as i64,
        };
        let hash = hash(&id);
        // The database first and throughout: a `revoke_all` meanwhile
        // cannot be undone by a row written after it.
        let db = lock(&self.db);
        let mut live = lock(&self.live);
        live.retain(|_, e| e.expires_ms > now);
        while live.len() >= MAX_SIGN_INS {
            let Some(oldest) = live
                .iter()
                .min_by_key(|(_, e)| e.created_ms)
                .map(|(h, _)| h.clone())
            else {
                break;
            };
            live.remove(&oldest);
            db.execute("DELETE FROM sign_ins WHERE id_hash = ?1", params![oldest])?;
        }
        db.execute(
            "INSERT INTO sign_ins (id_hash, who, created_ms, expires_ms, token) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                hash,
                entry.who,
                entry.created_ms,
                entry.expires_ms,
                self.token
            ],
        )?;
        live.insert(hash, entry);
        Ok(id)
    }

    /// Who the cookie value `id` signs in, if it is live.
    pub fn check(&self, id: &str) -> Option<String> {
        let live = lock(&self.live);
        let entry = live.get(&hash(id))?;
        (entry.expires_ms > now_ms()).then(|| entry.who.clone())
    }

    /// Signs the cookie value `id` out; whether it was signed in.
    pub fn revoke(&self, id: &str) -> anyhow::Result<bool> {
        let hash = hash(id);
        let db = lock(&self.db);
        let removed = lock(&self.live).remove(&hash).is_some();
        db.execute("DELETE FROM sign_ins WHERE id_hash = ?1", params![hash])?;
        self.ended.send_modify(|n| *n = n.wrapping_add(1));
        Ok(removed)
    }

    /// Changes whenever sign-ins end (signed out, everywhere or one).
    pub fn endings(&self) -> tokio::sync::watch::Receiver<u64> {
        self.ended.subscribe()
    }

    /// Signs everyone out; how many were signed in.
    pub fn revoke_all(&self) -> anyhow::Result<usize> {
        let db = lock(&self.db);
        let mut live = lock(&self.live);
        let count = live.len();
        live.clear();
        db.execute("DELETE FROM sign_ins", [])?;
        self.ended.send_modify(|n| *n = n.wrapping_add(1));
        Ok(count)
    }
}

fn hash(id: &str) -> String {
    hex(&Sha256::digest(id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

    #[test]
    fn a_sign_in_lasts_until_revoked_and_survives_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let s = SignIns::open(dir.path(), "fp1").expect("open");
        let alice = s.create("alice", WEEK).expect("create");
        let bob = s.create("bob", WEEK).expect("create");
        assert_eq!(s.check(&alice).as_deref(), Some("alice"));
        assert_eq!(s.check("not-an-id"), None);
        assert!(s.revoke(&alice).expect("revoke"));
        assert_eq!(s.check(&alice), None);
        drop(s);
        // A restart keeps bob; a new token signs everyone out.
        let s = SignIns::open(dir.path(), "fp1").expect("reopen");
        assert_eq!(s.check(&bob).as_deref(), Some("bob"));
        assert_eq!(s.check(&alice), None);
        drop(s);
        let s = SignIns::open(dir.path(), "fp2").expect("new token");
        assert_eq!(s.check(&bob), None);
    }

    #[test]
    fn sign_out_everywhere_and_expiry() {
        let s = SignIns::in_memory("fp").expect("open");
        let a = s.create("a", WEEK).expect("create");
        let b = s.create("b", WEEK).expect("create");
        assert_eq!(s.revoke_all().expect("all"), 2);
        assert_eq!((s.check(&a), s.check(&b)), (None, None));
        let gone = s.create("c", Duration::ZERO).expect("create");
        assert_eq!(s.check(&gone), None);
        // The stored hash alone does not sign in.
        let stored: String = lock(&s.db)
            .query_row("SELECT id_hash FROM sign_ins", [], |r| r.get(0))
            .expect("row");
        assert_eq!(s.check(&stored), None);
    }
}
