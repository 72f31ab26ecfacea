//! The audit log: every call made under a grant, in a database of its own
//! beside the hub's (`audit.db` in the state directory, WAL, 0600), so its
//! steady writes never hold up sign-ins, links or grants. The last
//! [`MAX_AUDIT_ROWS`] rows are kept. Beyond that rows go from whichever
//! grants hold the most (a fair share: the biggest are cut down to the
//! size of the next), each grant's reads first, then its oldest: a grant
//! that floods the log cuts its own history first, another grant loses
//! rows only once it holds as many, and changes outlast reads.
//!
//! Calls hand their rows to one writer thread through a bounded queue
//! ([`QUEUE`] rows) and go on; the writer puts what has queued up into one
//! transaction. A full queue makes the calling grant wait (never drops a
//! row): only calls under grants ever write here. Reading first waits for
//! the rows queued before it, so a caller sees its own calls.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

use crate::core::limits::bounded_text;
use crate::core::session::lock;

/// Rows kept; older ones go as new ones come.
pub const MAX_AUDIT_ROWS: i64 = 10_000;
/// Rows queued for the writer, at most: callers wait beyond.
const QUEUE: usize = 1024;
/// Rows one transaction writes, at most.
const BATCH: usize = 256;
/// An entry's detail (a denial's reason, an error), at most.
pub const MAX_DETAIL_BYTES: usize = 512;
/// Rows one read returns by default (at most [`MAX_AUDIT_ROWS`]).
pub const DEFAULT_READ: usize = 100;
/// The log's file in the hub's state directory.
pub const FILE: &str = "audit.db";
/// The schema this vtr writes and the newest it reads.
const SCHEMA_VERSION: i64 = 1;

/// How a call under a grant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Outside the grant: refused before anything was done.
    Denied,
    /// Allowed, but it failed.
    Error,
    /// Allowed, and its caller went away before it ended: it may or may
    /// not have been done.
    Cancelled,
    /// Allowed, and the grant was revoked or expired before it ended: it
    /// may or may not have been done.
    Cut,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
            Outcome::Cut => "cut",
        }
    }
}

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Set by the log (0 until written).
    pub seq: u64,
    pub at_ms: i64,
    pub grant: String,
    /// `grpc` or `mcp` (`http` for a page or socket refused at the door).
    pub via: &'static str,
    /// The method or tool called.
    pub call: String,
    /// What it did (`send`, `screen`, ...).
    pub action: &'static str,
    pub session: String,
    pub outcome: Outcome,
    pub detail: String,
    pub duration_ms: i64,
}

enum Message {
    Row(AuditEntry),
    /// Answered once every row queued before it is written.
    Flush(oneshot::Sender<()>),
}

pub struct Audit {
    queue: mpsc::Sender<Message>,
    /// For reading (the writer has its own connection).
    db: Mutex<Connection>,
}

impl Audit {
    /// The log in `dir` (its own file, [`FILE`]); starts its writer
    /// thread.
    pub fn open(dir: &Path) -> anyhow::Result<Audit> {
        let path = dir.join(FILE);
        let writer = open_file(&path)?;
        let reader = open_file(&path)?;
        let (queue, rows) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("vtr-audit".into())
            .spawn(move || write_rows(writer, rows))?;
        Ok(Audit {
            queue,
            db: Mutex::new(reader),
        })
    }

    /// Queues a row (waits while the queue is full).
    pub async fn record(&self, entry: AuditEntry) {
        if self.queue.send(Message::Row(bounded(entry))).await.is_err() {
            unrecorded();
        }
    }

    /// Queues a row from where nothing can wait (a call being dropped):
    /// at once if there is room, else from a task of its own.
    pub fn record_later(&self, entry: AuditEntry) {
        let row = Message::Row(bounded(entry));
        match self.queue.try_send(row) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(row)) => {
                let queue = self.queue.clone();
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        runtime.spawn(async move {
                            if queue.send(row).await.is_err() {
                                unrecorded();
                            }
                        });
                    }
                    // Not on the runtime (never the case for calls): wait.
                    Err(_) => {
                        if queue.blocking_send(row).is_err() {
                            unrecorded();
                        }
                    }
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => unrecorded(),
        }
    }

    /// Waits until every row recorded before this call is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// The newest `limit` rows (of `grant` only, if given), newest first,
    /// including every row recorded before this call.
    pub async fn read(
        &self,
        grant: Option<&str>,
        limit: usize,
    ) -> rusqlite::Result<Vec<AuditEntry>> {
        self.flush().await;
        let limit = match limit {
            0 => DEFAULT_READ,
            n => n.min(MAX_AUDIT_ROWS as usize),
        } as i64;
        let db = lock(&self.db);
        let mut query = db.prepare(
            "SELECT seq, at_ms, grant_id, via, call, action, session, outcome, detail, duration_ms
             FROM audit WHERE ?1 IS NULL OR grant_id = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        query
            .query_map(params![grant, limit], |row| {
                Ok(AuditEntry {
                    seq: row.get::<_, i64>(0)?.max(0) as u64,
                    at_ms: row.get(1)?,
                    grant: row.get(2)?,
                    via: via_name(&row.get::<_, String>(3)?),
                    call: row.get(4)?,
                    action: action_name(&row.get::<_, String>(5)?),
                    session: row.get(6)?,
                    outcome: outcome_of(&row.get::<_, String>(7)?),
                    detail: row.get(8)?,
                    duration_ms: row.get(9)?,
                })
            })?
            .collect()
    }
}

fn bounded(mut entry: AuditEntry) -> AuditEntry {
    entry.detail = bounded_text(entry.detail.as_bytes(), MAX_DETAIL_BYTES);
    entry.call = bounded_text(entry.call.as_bytes(), 128);
    entry.session = bounded_text(entry.session.as_bytes(), 256);
    entry
}

fn unrecorded() {
    tracing::error!("the audit log's writer stopped: a call under a grant went unrecorded");
}

/// Opens (or starts) the log's file: private, WAL (a reader never waits
/// for the writer), at a schema this vtr reads.
fn open_file(path: &Path) -> anyhow::Result<Connection> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    let db = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))?;
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "{} has schema version {version}, written by a newer vtr; this vtr reads versions up \
             to {SCHEMA_VERSION}",
            path.display()
        );
    }
    let _: String = db.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS audit (
             seq INTEGER PRIMARY KEY,
             at_ms INTEGER NOT NULL,
             grant_id TEXT NOT NULL,
             via TEXT NOT NULL,
             call TEXT NOT NULL,
             action TEXT NOT NULL,
             session TEXT NOT NULL,
             outcome TEXT NOT NULL,
             detail TEXT NOT NULL,
             duration_ms INTEGER NOT NULL
         );
         CREATE INDEX IF NOT EXISTS audit_by_grant ON audit (grant_id, seq);
         PRAGMA user_version = 1;",
    )
    .with_context(|| format!("starting the audit log in {}", path.display()))?;
    Ok(db)
}

/// Names as stored, back to the static names rows are made with.
fn via_name(stored: &str) -> &'static str {
    match stored {
        "grpc" => "grpc",
        "mcp" => "mcp",
        "http" => "http",
        _ => "other",
    }
}

fn outcome_of(stored: &str) -> Outcome {
    match stored {
        "ok" => Outcome::Ok,
        "denied" => Outcome::Denied,
        "cancelled" => Outcome::Cancelled,
        "cut" => Outcome::Cut,
        _ => Outcome::Error,
    }
}

fn action_name(stored: &str) -> &'static str {
    super::guard::ACTIONS
        .iter()
        .find(|a| **a == stored)
        .copied()
        .unwrap_or("other")
}

/// The writer thread: batches of rows, one transaction each, then the
/// oldest rows beyond the cap go.
fn write_rows(mut db: Connection, mut queue: mpsc::Receiver<Message>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(message) => batch.push(message),
                Err(_) => break,
            }
        }
        if let Err(first) = write_batch(&mut db, &batch) {
            // Once more after a moment (a reader holding a lock, a full
            // disk cleared); then the rows are lost, and the log says so.
            std::thread::sleep(std::time::Duration::from_millis(100));
            if let Err(e) = write_batch(&mut db, &batch) {
                let rows = batch
                    .iter()
                    .filter(|m| matches!(m, Message::Row(_)))
                    .count();
                tracing::error!("writing the audit log: {first}; again: {e}; {rows} rows lost");
            }
        }
        for message in batch {
            if let Message::Flush(done) = message {
                let _ = done.send(());
            }
        }
    }
}

fn write_batch(db: &mut Connection, batch: &[Message]) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO audit (at_ms, grant_id, via, call, action, session, outcome, detail,
             duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for message in batch {
            if let Message::Row(e) = message {
                insert.execute(params![
                    e.at_ms,
                    e.grant,
                    e.via,
                    e.call,
                    e.action,
                    e.session,
                    e.outcome.name(),
                    e.detail,
                    e.duration_ms
                ])?;
            }
        }
    }
    prune(&tx)?;
    tx.commit()
}

/// Actions that only read: the first to go from a grant over its share.
const READS: &str = "'describe', 'list', 'watch', 'spokes', 'info', 'screen', 'grep', \
                     'wait_for', 'wait_idle', 'subscribe', 'record', 'commands'";

/// Down to [`MAX_AUDIT_ROWS`], a fair share (see the module): one count
/// per grant, then each grant over the level cut, its reads first.
fn prune(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let counts: Vec<(String, i64)> = tx
        .prepare_cached("SELECT grant_id, COUNT(*) FROM audit GROUP BY grant_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let sizes: Vec<i64> = counts.iter().map(|(_, n)| *n).collect();
    for ((grant, _), cut) in counts.iter().zip(cuts(&sizes, MAX_AUDIT_ROWS)) {
        if cut > 0 {
            tx.execute(
                &format!(
                    "DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE grant_id = ?1 \
                     ORDER BY (outcome = 'ok' AND action IN ({READS})) DESC, seq LIMIT ?2)"
                ),
                params![grant, cut],
            )?;
        }
    }
    Ok(())
}

/// How many rows to cut from each of `sizes` to leave `keep` in all: the
/// biggest are cut down to one level (the highest that frees enough), and
/// no more than needed.
pub(super) fn cuts(sizes: &[i64], keep: i64) -> Vec<i64> {
    let over = sizes.iter().sum::<i64>() - keep;
    if over <= 0 {
        return vec![0; sizes.len()];
    }
    let freed = |level: i64| sizes.iter().map(|n| (n - level).max(0)).sum::<i64>();
    // The highest level that frees at least `over` rows.
    let (mut low, mut high) = (0, sizes.iter().copied().max().unwrap_or(0));
    while low < high {
        let mid = (low + high + 1) / 2;
        if freed(mid) >= over {
            low = mid
        } else {
            high = mid - 1
        }
    }
    let mut cuts: Vec<i64> = sizes.iter().map(|n| (n - low).max(0)).collect();
    // Cutting to `low` may free a little too much: give rows back, one per
    // grant at the level.
    let mut extra = freed(low) - over;
    for (cut, n) in cuts.iter_mut().zip(sizes) {
        if extra == 0 {
            break;
        }
        if *cut > 0 && n - *cut == low {
            *cut -= 1;
            extra -= 1;
        }
    }
    cuts
}
