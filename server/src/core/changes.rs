//! "Send the list now and on every change": one task per watcher that
//! sends a fresh snapshot whenever a change counter moves.

use tokio::sync::{mpsc, watch};

/// Lists a watcher may hold unread. A slow watcher holds back only its own
/// task; changes made while it lags are coalesced into the next snapshot,
/// so nothing is lost, only intermediate states are skipped.
const QUEUE: usize = 4;

/// Sends `snapshot()` now and after every bump of `changes` until the
/// receiver goes away.
pub fn watch_changes<T: Send + 'static>(
    changes: &watch::Sender<u64>,
    snapshot: impl Fn() -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut changed = changes.subscribe();
    tokio::spawn(async move {
        loop {
            changed.borrow_and_update();
            if tx.send(snapshot()).await.is_err() {
                return;
            }
            tokio::select! {
                // Something the list shows changed.
                result = changed.changed() => if result.is_err() { return },
                // The watcher went away while nothing changed.
                () = tx.closed() => return,
            }
        }
    });
    rx
}

/// Marks a change for every watcher.
pub fn bump(changes: &watch::Sender<u64>) {
    changes.send_modify(|v| *v = v.wrapping_add(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sends_now_then_once_per_burst_of_changes() {
        let changes = watch::Sender::new(0);
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c = counter.clone();
        let mut rx = watch_changes(&changes, move || {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        });
        assert_eq!(rx.recv().await, Some(0));
        bump(&changes);
        assert_eq!(rx.recv().await, Some(1));
        drop(changes);
        assert_eq!(rx.recv().await, None, "ends with its source");
    }
}
