//! The hub's state database, `hub.db` in its state directory: share links,
//! spoke key pins, web sign-ins and agents' grants (their audit log has a
//! file of its own, `hub::grants::audit`). One schema version covers the whole
//! file, kept in SQLite's `user_version`.
//!
//! On open the hub upgrades an older file (after copying it to
//! `hub.db.schema-N.bak`, so a downgrade can go back to it) and refuses a
//! newer one with an error that says so: an older vtr must not guess at
//! tables a newer one wrote. Every open checks, so `vtr hub forget-spoke`
//! is as careful as the hub itself.
//!
//! Versions:
//! - 0: no version recorded (vtr before versioning); tables were created on
//!   first use, and early files lack `shares.created_offset`.
//! - 1: all three tables, with `shares.created_offset`.
//! - 2: `grants`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior};

/// The schema this vtr writes and the newest it reads.
pub const SCHEMA_VERSION: i64 = 2;

/// The file's name in the state directory.
pub const FILE: &str = "hub.db";

/// Brings a database at version `N - 1` to version `N` (index `N - 1`).
/// Each step runs in the transaction that records its version.
const UPGRADES: [fn(&Connection) -> rusqlite::Result<()>; SCHEMA_VERSION as usize] = [to_v1, to_v2];

/// Opens `dir/hub.db`, creating it (mode 0600) or upgrading it as needed.
pub fn open(dir: &Path) -> anyhow::Result<Connection> {
    open_file(&dir.join(FILE))
}

/// Opens the database at `path` (see [`open`]).
pub fn open_file(path: &Path) -> anyhow::Result<Connection> {
    let mut db = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    // Sign-ins and pins are hashes of secrets, links name sessions: nobody
    // else's business.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))?;
    upgrade(&mut db, Some(path))?;
    Ok(db)
}

/// A database in memory at the current version (tests).
pub fn open_in_memory() -> anyhow::Result<Connection> {
    let mut db = Connection::open_in_memory()?;
    upgrade(&mut db, None)?;
    Ok(db)
}

fn version(db: &Connection) -> rusqlite::Result<i64> {
    db.query_row("PRAGMA user_version", [], |row| row.get(0))
}

fn upgrade(db: &mut Connection, path: Option<&Path>) -> anyhow::Result<()> {
    let shown = path.map_or("the hub's database".into(), |p| p.display().to_string());
    let found = version(db).with_context(|| format!("reading {shown}"))?;
    if found > SCHEMA_VERSION {
        anyhow::bail!(newer(&shown, found));
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if let Some(path) = path.filter(|_| has_tables(db).unwrap_or(true)) {
        let copy = backup(db, path, found)?;
        // At warn, the default level: an operator should see it once.
        tracing::warn!(
            "upgrading {shown} from schema {found} to {SCHEMA_VERSION}; the old file is kept as {}",
            copy.display()
        );
    }
    // IMMEDIATE: a second process opening the same file at the same moment
    // waits, then sees the version this one wrote.
    let tx = db
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_context(|| format!("upgrading {shown}"))?;
    let from = version(&tx)?;
    if from > SCHEMA_VERSION {
        anyhow::bail!(newer(&shown, from));
    }
    for (step, to) in UPGRADES.iter().zip(1..).skip(from.max(0) as usize) {
        step(&tx).with_context(|| format!("upgrading {shown} to schema {to}"))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
        .with_context(|| format!("upgrading {shown} to schema {SCHEMA_VERSION}"))
}

fn newer(shown: &str, found: i64) -> String {
    format!(
        "{shown} has schema version {found}, written by a newer vtr; this vtr ({}) reads \
         versions up to {SCHEMA_VERSION}. Run the newer vtr, or restore the state directory \
         from the backup taken before the upgrade",
        env!("CARGO_PKG_VERSION")
    )
}

fn has_tables(db: &Connection) -> rusqlite::Result<bool> {
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table'")?
        .exists([])
}

/// Copies the database, consistently, to `hub.db.schema-N.bak` beside it.
fn backup(db: &Connection, path: &Path, version: i64) -> anyhow::Result<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".schema-{version}.bak"));
    let copy = PathBuf::from(name);
    match std::fs::remove_file(&copy) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("replacing {}", copy.display())),
    }
    let target = copy
        .to_str()
        .with_context(|| format!("{} is not UTF-8", copy.display()))?;
    db.execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("copying {} to {}", path.display(), copy.display()))?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", copy.display()))?;
    Ok(copy)
}

/// 0 -> 1: every table, and the links' offset column files from before it
/// lack.
fn to_v1(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS shares (
             id TEXT PRIMARY KEY,
             session TEXT NOT NULL,
             label TEXT NOT NULL,
             created_ms INTEGER NOT NULL,
             expires_ms INTEGER NOT NULL,
             revoked_ms INTEGER,
             created_by TEXT NOT NULL,
             created_offset INTEGER
         );
         CREATE TABLE IF NOT EXISTS spoke_keys (
             name TEXT PRIMARY KEY,
             key_hash TEXT NOT NULL,
             pinned_ms INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS sign_ins (
             id_hash TEXT PRIMARY KEY,
             who TEXT NOT NULL,
             created_ms INTEGER NOT NULL,
             expires_ms INTEGER NOT NULL,
             token TEXT NOT NULL
         );",
    )?;
    let has_offset = db
        .prepare("SELECT 1 FROM pragma_table_info('shares') WHERE name = 'created_offset'")?
        .exists([])?;
    if !has_offset {
        db.execute_batch("ALTER TABLE shares ADD COLUMN created_offset INTEGER")?;
    }
    Ok(())
}

/// 1 -> 2: grants (the token's secret hashed).
fn to_v2(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS grants (
             id TEXT PRIMARY KEY,
             secret_hash TEXT NOT NULL,
             scope TEXT NOT NULL,
             targets TEXT NOT NULL,
             note TEXT NOT NULL,
             created_ms INTEGER NOT NULL,
             expires_ms INTEGER NOT NULL,
             revoked_ms INTEGER,
             created_by TEXT NOT NULL
         );",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(db: &Connection) -> Vec<String> {
        let mut q = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        q.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn a_new_file_starts_at_the_current_version_with_no_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(dir.path()).expect("open");
        assert_eq!(version(&db).expect("version"), SCHEMA_VERSION);
        assert_eq!(tables(&db), ["grants", "shares", "sign_ins", "spoke_keys"]);
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(files, ["hub.db"], "nothing to back up");
        let mode = std::fs::metadata(dir.path().join(FILE)).expect("stat");
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn an_unversioned_file_is_upgraded_and_its_old_copy_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        {
            let db = Connection::open(&path).expect("open");
            db.execute_batch(
                "CREATE TABLE shares (id TEXT PRIMARY KEY, session TEXT NOT NULL,
                 label TEXT NOT NULL, created_ms INTEGER NOT NULL,
                 expires_ms INTEGER NOT NULL, revoked_ms INTEGER,
                 created_by TEXT NOT NULL);
                 INSERT INTO shares VALUES ('old', 'spoke:0001', 'spoke:build',
                 1000, 9000, NULL, 'bob');",
            )
            .expect("schema 0");
        }
        let db = open(dir.path()).expect("open and upgrade");
        assert_eq!(version(&db).expect("version"), SCHEMA_VERSION);
        assert_eq!(tables(&db), ["grants", "shares", "sign_ins", "spoke_keys"]);
        let kept: (String, Option<i64>) = db
            .query_row(
                "SELECT created_by, created_offset FROM shares WHERE id = 'old'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the old link survives");
        assert_eq!(kept, ("bob".to_owned(), None));

        let copy = Connection::open(dir.path().join("hub.db.schema-0.bak")).expect("backup");
        assert_eq!(version(&copy).expect("version"), 0, "the copy is untouched");
        assert_eq!(tables(&copy), ["shares"]);
        let mode = std::fs::metadata(dir.path().join("hub.db.schema-0.bak")).expect("stat");
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);

        drop(db);
        let again = open(dir.path()).expect("opening again changes nothing");
        assert_eq!(version(&again).expect("version"), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_file_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        {
            let db = Connection::open(&path).expect("open");
            db.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 7;")
                .expect("schema 7");
        }
        let err = format!("{:#}", open(dir.path()).expect_err("refused"));
        assert!(err.contains("schema version 7"), "{err}");
        assert!(err.contains("newer vtr"), "{err}");
        assert!(err.contains(&format!("up to {SCHEMA_VERSION}")), "{err}");
        let db = Connection::open(&path).expect("open");
        assert_eq!(version(&db).expect("version"), 7);
        assert_eq!(tables(&db), ["future"], "nothing created");
    }

    #[test]
    fn the_in_memory_database_has_every_table() {
        let db = open_in_memory().expect("open");
        assert_eq!(tables(&db), ["grants", "shares", "sign_ins", "spoke_keys"]);
    }
}
