//! Share links kept in SQLite in the hub's state directory, so links and
//! revocations survive a restart.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use crate::core::session::lock;

/// One link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    /// `spoke:id`: the session, whatever it is renamed to.
    pub session: String,
    /// The session's `spoke:name` when the link was made (for display once
    /// the session is gone).
    pub label: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked_ms: Option<i64>,
    pub created_by: String,
    /// The session's output offset when the link was made: a viewer never
    /// gets bytes from before it. `None` for links stored before offsets
    /// were recorded: their viewers never resume from an offset.
    pub created_offset: Option<u64>,
}

impl Record {
    /// Where a viewer asking to resume at `from` starts: there, if that is
    /// not before the link existed; otherwise nowhere in particular (a
    /// snapshot of the screen as it is, then what follows), so a link never
    /// replays output from before it was made.
    pub fn viewer_from(&self, from: Option<u64>) -> Option<u64> {
        match (from, self.created_offset) {
            (Some(from), Some(start)) if from >= start => Some(from),
            _ => None,
        }
    }
}

pub struct Store {
    db: Mutex<Connection>,
}

const COLUMNS: &str =
    "id, session, label, created_ms, expires_ms, revoked_ms, created_by, created_offset";

impl Store {
    /// Opens the links in the hub's database at `path` (see `state_db`).
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let db = crate::hub::state_db::open_file(path)?;
        Ok(Store { db: Mutex::new(db) })
    }

    pub fn insert(&self, r: &Record) -> rusqlite::Result<()> {
        lock(&self.db).execute(
            &format!("INSERT INTO shares ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                r.id,
                r.session,
                r.label,
                r.created_ms,
                r.expires_ms,
                r.revoked_ms,
                r.created_by,
                r.created_offset.map(offset_column)
            ],
        )?;
        Ok(())
    }

    pub fn get(&self, id: &str) -> rusqlite::Result<Option<Record>> {
        lock(&self.db)
            .query_row(
                &format!("SELECT {COLUMNS} FROM shares WHERE id = ?1"),
                params![id],
                record,
            )
            .optional()
    }

    /// Links not yet expired at `now_ms`, revoked ones included, newest
    /// first.
    pub fn live(&self, now_ms: i64) -> rusqlite::Result<Vec<Record>> {
        let db = lock(&self.db);
        let mut query = db.prepare(&format!(
            "SELECT {COLUMNS} FROM shares WHERE expires_ms > ?1 ORDER BY created_ms DESC"
        ))?;
        query.query_map(params![now_ms], record)?.collect()
    }

    /// Marks a link revoked; false if there is no such link.
    pub fn revoke(&self, id: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let changed = lock(&self.db).execute(
            "UPDATE shares SET revoked_ms = COALESCE(revoked_ms, ?2) WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(changed > 0)
    }

    /// Forgets links that expired, or were revoked, before `before_ms`.
    pub fn prune(&self, before_ms: i64) -> rusqlite::Result<usize> {
        lock(&self.db).execute(
            "DELETE FROM shares WHERE expires_ms < ?1 OR revoked_ms < ?1",
            params![before_ms],
        )
    }
}

/// SQLite integers are signed; an offset past `i64::MAX` (never reached:
/// 8 EiB of output) is stored as the largest one, which only ever narrows
/// what a viewer may replay.
fn offset_column(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    Ok(Record {
        id: row.get(0)?,
        session: row.get(1)?,
        label: row.get(2)?,
        created_ms: row.get(3)?,
        expires_ms: row.get(4)?,
        revoked_ms: row.get(5)?,
        created_by: row.get(6)?,
        created_offset: row.get::<_, Option<i64>>(7)?.map(|o| o.max(0) as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, expires_ms: i64) -> Record {
        Record {
            id: id.to_owned(),
            session: "spoke:0001".to_owned(),
            label: "spoke:build".to_owned(),
            created_ms: 1000,
            expires_ms,
            revoked_ms: None,
            created_by: "alice".to_owned(),
            created_offset: Some(4096),
        }
    }

    #[test]
    fn links_and_revocations_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.db");
        {
            let store = Store::open(&path).expect("open");
            store.insert(&record("a", 5000)).expect("insert");
            store.insert(&record("b", 9000)).expect("insert");
            assert!(store.revoke("a", 2000).expect("revoke"));
            assert!(!store.revoke("nope", 2000).expect("revoke"));
        }
        let store = Store::open(&path).expect("reopen");
        let a = store.get("a").expect("get").expect("a");
        assert_eq!(a.revoked_ms, Some(2000));
        assert_eq!(store.get("b").expect("get"), Some(record("b", 9000)));
        // A second revoke keeps the first time.
        store.revoke("a", 3000).expect("revoke");
        assert_eq!(
            store.get("a").expect("get").expect("a").revoked_ms,
            Some(2000)
        );
        let live: Vec<_> = store
            .live(6000)
            .expect("live")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(live, ["b"]);
        assert_eq!(store.prune(6000).expect("prune"), 1);
        assert_eq!(store.get("a").expect("get"), None);
        // Revoked links go too, before they would have expired.
        store.revoke("b", 7000).expect("revoke");
        assert_eq!(store.prune(7500).expect("prune"), 1);
        assert_eq!(store.get("b").expect("get"), None);
    }

    #[test]
    fn viewers_never_resume_before_the_link_was_made() {
        let link = record("a", 9000);
        assert_eq!(link.viewer_from(Some(4096)), Some(4096));
        assert_eq!(link.viewer_from(Some(5000)), Some(5000));
        assert_eq!(link.viewer_from(Some(0)), None);
        assert_eq!(link.viewer_from(Some(4095)), None);
        assert_eq!(link.viewer_from(None), None);
        let old = Record {
            created_offset: None,
            ..link
        };
        assert_eq!(old.viewer_from(Some(1 << 40)), None);
    }
}
