//! The audit log: every call made under a grant, in the hub's state
//! database (`audit` table), the last [`MAX_AUDIT_ROWS`] kept. Beyond that,
//! rows go from the grant with the most, its reads first, then its oldest:
//! a grant that floods the log pushes out its own history, never another
//! grant's, and its changes outlast its reads.
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
/// Rows one read returns by default, and at most.
pub const DEFAULT_READ: usize = 100;

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
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
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
    /// The log in the database at `path`; starts its writer thread.
    pub fn open(path: &Path) -> anyhow::Result<Audit> {
        let writer = crate::hub::state_db::open_file(path)?;
        let reader = crate::hub::state_db::open_file(path)?;
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
                    Err(_) => unrecorded(),
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
        if let Err(e) = write_batch(&mut db, &batch) {
            tracing::error!("writing the audit log: {e}");
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

/// Down to [`MAX_AUDIT_ROWS`]: from the grant with the most rows, its
/// reads that went through first, then its oldest.
fn prune(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let rows: i64 = tx.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?;
    let mut over = rows - MAX_AUDIT_ROWS;
    while over > 0 {
        let (grant, has): (String, i64) = tx.query_row(
            "SELECT grant_id, COUNT(*) AS n FROM audit GROUP BY grant_id ORDER BY n DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // Leave the biggest grant no smaller than the next one down, so
        // that two heavy grants share the cut.
        let next: i64 = tx
            .query_row(
                "SELECT COUNT(*) AS n FROM audit WHERE grant_id != ?1 GROUP BY grant_id \
                 ORDER BY n DESC LIMIT 1",
                params![grant],
                |r| r.get(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(0),
                e => Err(e),
            })?;
        let cut = over.min((has - next).max(1));
        tx.execute(
            &format!(
                "DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE grant_id = ?1 \
                 ORDER BY (outcome = 'ok' AND action IN ({READS})) DESC, seq LIMIT ?2)"
            ),
            params![grant, cut],
        )?;
        over -= cut;
    }
    Ok(())
}
