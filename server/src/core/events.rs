//! A stream of events that its consumer drives.
//!
//! A subscriber's work (pulling output from the log, taking snapshots) can
//! run as a task of its own, but then every event costs a wake-up of that
//! task and another of the consumer, often on the other core. `Events`
//! runs that work inside the consumer's own polls instead: the producing
//! future fills a small channel and the consumer drains it, one task, no
//! hop. The channel keeps the producer's code an ordinary `async fn` that
//! sends, and bounds what it may run ahead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_stream::Stream;

type Driver = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Events from a channel, produced either elsewhere (a task, a thread) or by
/// a driver future polled here. Ends when the channel is drained and closed.
pub struct Events<T> {
    rx: mpsc::Receiver<T>,
    /// Sends into `rx`'s channel; dropped once it has finished.
    driver: Option<Driver>,
}

impl<T> Events<T> {
    /// A channel of `capacity` whose sender goes to `produce`; the returned
    /// future is polled whenever the consumer waits for an event. Dropping
    /// the `Events` drops the future.
    pub fn driven<F, Fut>(capacity: usize, produce: F) -> Self
    where
        F: FnOnce(mpsc::Sender<T>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(capacity);
        Events {
            rx,
            driver: Some(Box::pin(produce(tx))),
        }
    }

    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Poll::Ready(item) = self.rx.poll_recv(cx) {
            return Poll::Ready(item);
        }
        let Some(driver) = self.driver.as_mut() else {
            return Poll::Pending;
        };
        if driver.as_mut().poll(cx).is_ready() {
            // Its sender is gone with it: the channel closes once drained.
            self.driver = None;
        }
        // The driver may have sent (or finished): look again. Pending here
        // is woken by the channel or by whatever the driver waits on.
        self.rx.poll_recv(cx)
    }

    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl<T> From<mpsc::Receiver<T>> for Events<T> {
    /// Events produced elsewhere.
    fn from(rx: mpsc::Receiver<T>) -> Self {
        Events { rx, driver: None }
    }
}

impl<T> Stream for Events<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_driver_runs_only_while_polled_and_its_events_arrive_in_order() {
        let mut events = Events::driven(2, |tx| async move {
            for i in 0..10 {
                if tx.send(i).await.is_err() {
                    return;
                }
            }
        });
        let mut got = Vec::new();
        while let Some(i) = events.recv().await {
            got.push(i);
        }
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn dropping_the_events_drops_the_driver() {
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        let mut events = Events::driven(1, move |tx| async move {
            let _done = done_tx;
            let _ = tx.send(1).await;
            std::future::pending::<()>().await;
        });
        assert_eq!(events.recv().await, Some(1));
        drop(events);
        // Every sender of `done` is gone only if the driver was dropped.
        assert_eq!(done_rx.recv().await, None);
    }

    #[tokio::test]
    async fn events_from_a_receiver_end_when_its_senders_do() {
        let (tx, rx) = mpsc::channel(4);
        let mut events = Events::from(rx);
        tx.send("a").await.expect("open channel");
        drop(tx);
        assert_eq!(events.recv().await, Some("a"));
        assert_eq!(events.recv().await, None);
    }
}
