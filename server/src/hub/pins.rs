//! Which key each tunnelled spoke name belongs to. A spoke makes a secret
//! key of its own on first start (mode 0600) and presents it whenever it
//! joins; the hub pins the name to (a hash of) the first key it sees, and
//! from then on only that key joins under that name. Nothing the hub
//! publishes (names, instance ids) is a credential. `vtr hub forget-spoke
//! NAME` removes a pin (a spoke rebuilt with a new key).
//!
//! Kept in SQLite in the hub's state directory, read on every join (joins
//! are rare), so the command line can change pins while the hub runs.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::clock::now_ms;
use crate::core::session::lock;
use crate::hub::secret::hex;

/// Shortest and longest key a spoke may present.
pub const MIN_KEY: usize = 32;
pub const MAX_KEY: usize = 256;

pub struct Pins {
    db: Mutex<Connection>,
}

/// The outcome of a join's key check.
#[derive(Debug, PartialEq, Eq)]
pub enum Pinned {
    /// The name was free: it is this key's now.
    New,
    /// The key the name is pinned to.
    Known,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PinError {
    #[error(
        "spoke name {0:?} belongs to another spoke (its key differs); if this spoke was \
         rebuilt, run `vtr hub forget-spoke {0}` on the hub"
    )]
    Mismatch(String),
    #[error("a spoke key is {MIN_KEY} to {MAX_KEY} printable characters")]
    BadKey,
    #[error("spoke keys: {0}")]
    Store(String),
}

impl From<rusqlite::Error> for PinError {
    fn from(e: rusqlite::Error) -> Self {
        PinError::Store(e.to_string())
    }
}

impl Pins {
    /// Opens the pins in `dir/hub.db`.
    pub fn open(dir: &Path) -> anyhow::Result<Pins> {
        let db = crate::hub::state_db::open(dir)?;
        Ok(Pins { db: Mutex::new(db) })
    }

    /// Whether `key` may join as `name`, pinning the name to it if free.
    pub fn check(&self, name: &str, key: &str) -> Result<Pinned, PinError> {
        if key.len() < MIN_KEY || key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(PinError::BadKey);
        }
        let hash = hex(&Sha256::digest(key.as_bytes()));
        let db = lock(&self.db);
        let pinned: Option<String> = db
            .query_row(
                "SELECT key_hash FROM spoke_keys WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        match pinned {
            Some(pinned) if bool::from(pinned.as_bytes().ct_eq(hash.as_bytes())) => {
                Ok(Pinned::Known)
            }
            Some(_) => Err(PinError::Mismatch(name.to_owned())),
            None => {
                db.execute(
                    "INSERT INTO spoke_keys (name, key_hash, pinned_ms) VALUES (?1, ?2, ?3)",
                    params![name, hash, now_ms()],
                )?;
                Ok(Pinned::New)
            }
        }
    }

    /// Every pinned name: the tunnelled spokes that have joined.
    pub fn names(&self) -> anyhow::Result<Vec<String>> {
        let db = lock(&self.db);
        let mut query = db.prepare("SELECT name FROM spoke_keys ORDER BY pinned_ms")?;
        let names = query
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(names)
    }

    /// Unpins `name`; whether it was pinned.
    pub fn forget(&self, name: &str) -> anyhow::Result<bool> {
        let removed =
            lock(&self.db).execute("DELETE FROM spoke_keys WHERE name = ?1", params![name])?;
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "a-spoke-key-0123456789abcdef0123456789";
    const KEY_B: &str = "b-spoke-key-0123456789abcdef0123456789";

    #[test]
    fn the_first_key_owns_a_name_until_forgotten() {
        let dir = tempfile::tempdir().expect("dir");
        let pins = Pins::open(dir.path()).expect("open");
        assert_eq!(pins.check("build", KEY_A), Ok(Pinned::New));
        assert_eq!(pins.check("build", KEY_A), Ok(Pinned::Known));
        assert_eq!(
            pins.check("build", KEY_B),
            Err(PinError::Mismatch("build".into()))
        );
        assert_eq!(pins.check("other", KEY_B), Ok(Pinned::New));
        // Kept across a restart; the command line can forget one.
        drop(pins);
        let pins = Pins::open(dir.path()).expect("reopen");
        assert!(pins.check("build", KEY_B).is_err());
        assert_eq!(pins.names().expect("names"), ["build", "other"]);
        assert!(pins.forget("build").expect("forget"));
        assert_eq!(pins.check("build", KEY_B), Ok(Pinned::New));
        assert_eq!(pins.check("x", "short"), Err(PinError::BadKey));
    }
}
