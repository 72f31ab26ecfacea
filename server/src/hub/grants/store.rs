//! Grants kept in SQLite in the hub's state directory (`grants` table), so
//! grants and revocations survive a restart. Targets are stored as JSON.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};

use super::{Grant, Scope, Targets};
use crate::core::session::lock;

pub struct Store {
    db: Mutex<Connection>,
}

const COLUMNS: &str =
    "id, secret_hash, scope, targets, note, created_ms, expires_ms, revoked_ms, created_by";

impl Store {
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let db = crate::hub::state_db::open_file(path)?;
        Ok(Store { db: Mutex::new(db) })
    }

    pub fn insert(&self, g: &Grant) -> rusqlite::Result<()> {
        let targets = serde_json::to_string(&g.targets)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        lock(&self.db).execute(
            &format!("INSERT INTO grants ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![
                g.id,
                g.secret_hash,
                g.scope.name(),
                targets,
                g.note,
                g.created_ms,
                g.expires_ms,
                g.revoked_ms,
                g.created_by
            ],
        )?;
        Ok(())
    }

    /// Grants not yet expired at `now_ms`, revoked ones included, newest
    /// first.
    pub fn live(&self, now_ms: i64) -> rusqlite::Result<Vec<Grant>> {
        let db = lock(&self.db);
        let mut query = db.prepare(&format!(
            "SELECT {COLUMNS} FROM grants WHERE expires_ms > ?1 ORDER BY created_ms DESC, id"
        ))?;
        query.query_map(params![now_ms], grant)?.collect()
    }

    /// Every grant held (the ended ones until pruned).
    pub fn all(&self) -> rusqlite::Result<Vec<Grant>> {
        let db = lock(&self.db);
        let mut query = db.prepare(&format!("SELECT {COLUMNS} FROM grants"))?;
        query.query_map([], grant)?.collect()
    }

    /// Marks a grant revoked (the first time counts); false if unknown.
    pub fn revoke(&self, id: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let changed = lock(&self.db).execute(
            "UPDATE grants SET revoked_ms = COALESCE(revoked_ms, ?2) WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(changed > 0)
    }

    /// Forgets grants that expired, or were revoked, before `before_ms`.
    pub fn prune(&self, before_ms: i64) -> rusqlite::Result<usize> {
        lock(&self.db).execute(
            "DELETE FROM grants WHERE expires_ms < ?1 OR revoked_ms < ?1",
            params![before_ms],
        )
    }
}

fn grant(row: &rusqlite::Row<'_>) -> rusqlite::Result<Grant> {
    let bad = |column: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e)
    };
    let scope = match row.get::<_, String>(2)?.as_str() {
        "observe" => Scope::Observe,
        "control" => Scope::Control,
        other => return Err(bad(2, format!("unknown scope {other:?}").into())),
    };
    let targets: Targets =
        serde_json::from_str(&row.get::<_, String>(3)?).map_err(|e| bad(3, Box::new(e)))?;
    Ok(Grant {
        id: row.get(0)?,
        secret_hash: row.get(1)?,
        scope,
        targets,
        note: row.get(4)?,
        created_ms: row.get(5)?,
        expires_ms: row.get(6)?,
        revoked_ms: row.get(7)?,
        created_by: row.get(8)?,
    })
}
