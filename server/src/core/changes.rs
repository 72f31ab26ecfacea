//! "Send the list now and on every change": one task per watcher that
//! sends a fresh snapshot whenever a change counter moves.

use std::time::Duration;

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

/// As [`watch_changes`], and every `every` the snapshot again if it
/// differs from the last one sent: for lists whose figures (output offsets,
/// subscriber counts) move too often to bump for. Watchers see those at
/// most `every` late, and nothing while nothing moves.
pub fn watch_changes_refreshed<T: PartialEq + Clone + Send + 'static>(
    changes: &watch::Sender<u64>,
    every: Duration,
    snapshot: impl Fn() -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut changed = changes.subscribe();
    tokio::spawn(async move {
        let mut refresh = tokio::time::interval(every);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Option<T> = None;
        loop {
            changed.borrow_and_update();
            let now = snapshot();
            if last.as_ref() != Some(&now) {
                if tx.send(now.clone()).await.is_err() {
                    return;
                }
                last = Some(now);
            }
            tokio::select! {
                result = changed.changed() => if result.is_err() { return },
                _ = refresh.tick() => {}
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

    #[tokio::test]
    async fn refreshed_lists_follow_figures_that_move_without_a_bump() {
        let changes = watch::Sender::new(0);
        let figure = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let f = figure.clone();
        let every = Duration::from_millis(50);
        let mut rx = watch_changes_refreshed(&changes, every, move || {
            f.load(std::sync::atomic::Ordering::SeqCst)
        });
        assert_eq!(rx.recv().await, Some(0));
        // Unchanged: nothing more, however many refreshes pass.
        tokio::time::sleep(every * 4).await;
        assert!(rx.try_recv().is_err(), "nothing moved, nothing sent");
        // Moved without a bump: sent at a refresh.
        figure.store(5, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(rx.recv().await, Some(5));
        // A bump with a change: sent without waiting for a refresh.
        figure.store(6, std::sync::atomic::Ordering::SeqCst);
        bump(&changes);
        assert_eq!(rx.recv().await, Some(6));
    }
}
