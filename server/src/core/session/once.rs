//! Requests applied at most once: a client that retries an input or a run
//! (its connection dropped, say) with the same request id gets the first
//! request's answer instead of typing twice. Each session remembers its
//! last `MAX_IDS` ids; the work runs as its own task, so a caller that
//! goes away does not leave a half-applied request for its retry.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::watch;

use super::run::RunResult;
use super::{Session, lock};
use crate::core::error::{Result, SessionError};

/// Request ids remembered per session.
pub const MAX_IDS: usize = 256;
/// Runs whose answers are kept (they may hold up to 1 MiB of output);
/// older run ids are remembered without their answer.
pub const MAX_KEPT_RUNS: usize = 8;
/// A request id's length.
pub const MAX_ID_BYTES: usize = 128;

/// What a request came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent(u64),
    Ran(Arc<RunResult>),
}

#[derive(Debug, Clone)]
enum State {
    /// Being applied: the answer comes on the channel.
    Pending(watch::Receiver<Option<Result<Outcome>>>),
    Done(Outcome),
    /// A run so old its answer is no longer kept.
    Forgotten,
}

#[derive(Debug, Default)]
pub(super) struct Applied {
    /// Id to the request's fingerprint and state.
    ids: HashMap<String, (u64, State)>,
    /// Oldest first.
    order: VecDeque<String>,
}

impl Applied {
    fn insert(&mut self, id: String, fingerprint: u64, state: State) {
        if self.ids.insert(id.clone(), (fingerprint, state)).is_none() {
            self.order.push_back(id);
        }
        // Forget the oldest finished ones (one pending stays: its caller
        // still waits for it).
        while self.order.len() > MAX_IDS {
            let Some(at) = self
                .order
                .iter()
                .position(|id| !matches!(self.ids.get(id), Some((_, State::Pending(_)))))
            else {
                break;
            };
            if let Some(old) = self.order.remove(at) {
                self.ids.remove(&old);
            }
        }
        let mut runs = 0;
        for id in self.order.iter().rev() {
            if let Some((_, state @ State::Done(Outcome::Ran(_)))) = self.ids.get_mut(id) {
                runs += 1;
                if runs > MAX_KEPT_RUNS {
                    *state = State::Forgotten;
                }
            }
        }
    }
}

/// A request's fingerprint: the same id for another request is refused.
pub fn fingerprint(request: &impl Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    request.hash(&mut hasher);
    hasher.finish()
}

/// A request id as a client may choose it.
pub fn check_id(id: &str) -> Result<()> {
    if id.len() > MAX_ID_BYTES {
        return Err(SessionError::invalid(format!(
            "request_id is {} bytes, limit {MAX_ID_BYTES}",
            id.len()
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(SessionError::invalid(
            "request_id holds a control character",
        ));
    }
    Ok(())
}

impl Session {
    /// Applies `work` for request `id` unless it was applied already, and
    /// answers with what it came to. A request that failed was not
    /// applied: its retry tries again.
    pub async fn once<F>(&self, id: &str, fingerprint: u64, work: F) -> Result<Outcome>
    where
        F: std::future::Future<Output = Result<Outcome>> + Send + 'static,
    {
        check_id(id)?;
        let inner = self.inner().clone();
        let tx = {
            let mut applied = lock(&inner.applied);
            match applied.ids.get(id) {
                Some((print, _)) if *print != fingerprint => {
                    return Err(SessionError::invalid(format!(
                        "request_id {id:?} was used for another request"
                    )));
                }
                Some((_, State::Done(outcome))) => return Ok(outcome.clone()),
                Some((_, State::Forgotten)) => {
                    return Err(SessionError::NotReady {
                        session: self.name(),
                        reason: format!(
                            "request {id:?} ran already; its answer is no longer kept \
                             (its command is in the session's command list: list_commands, \
                             vtr history)"
                        ),
                    });
                }
                Some((_, State::Pending(rx))) => Err(rx.clone()),
                None => {
                    let (tx, rx) = watch::channel(None);
                    applied.insert(id.to_owned(), fingerprint, State::Pending(rx));
                    Ok(tx)
                }
            }
        };
        let tx = match tx {
            Ok(tx) => tx,
            // The first is being applied: its answer is this one's.
            Err(mut rx) => {
                let answer = rx.wait_for(Option::is_some).await;
                return match answer.as_deref() {
                    Ok(Some(answer)) => answer.clone(),
                    _ => Err(SessionError::Internal {
                        session: self.name(),
                        reason: format!("request {id:?} was dropped"),
                    }),
                };
            }
        };
        let owned = id.to_owned();
        let task = tokio::spawn(async move {
            let answer = work.await;
            let mut applied = lock(&inner.applied);
            match &answer {
                Ok(outcome) => applied.insert(owned, fingerprint, State::Done(outcome.clone())),
                Err(_) => {
                    applied.ids.remove(&owned);
                    applied.order.retain(|old| *old != owned);
                }
            }
            drop(applied);
            tx.send_replace(Some(answer.clone()));
            answer
        });
        match task.await {
            Ok(answer) => answer,
            // It panicked: forget the id (its waiters see it dropped).
            Err(e) => {
                let mut applied = lock(&self.inner().applied);
                applied.ids.remove(id);
                applied.order.retain(|old| old != id);
                Err(SessionError::Internal {
                    session: self.name(),
                    reason: format!("request task failed: {e}"),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_ids_and_run_answers_are_forgotten_first() {
        let mut applied = Applied::default();
        let ran = || {
            State::Done(Outcome::Ran(Arc::new(RunResult {
                end: super::super::RunEnd::Finished,
                command: None,
                output: String::new(),
                omitted: 0,
                elapsed: std::time::Duration::ZERO,
            })))
        };
        for i in 0..MAX_KEPT_RUNS + 2 {
            applied.insert(format!("run-{i}"), 0, ran());
        }
        assert!(matches!(applied.ids["run-0"].1, State::Forgotten));
        assert!(matches!(applied.ids["run-1"].1, State::Forgotten));
        assert!(matches!(applied.ids["run-2"].1, State::Done(_)));
        for i in 0..MAX_IDS {
            applied.insert(format!("send-{i}"), 0, State::Done(Outcome::Sent(i as u64)));
        }
        assert_eq!(applied.ids.len(), MAX_IDS);
        assert_eq!(applied.order.len(), MAX_IDS);
        assert!(!applied.ids.contains_key("run-9"));
        assert!(applied.ids.contains_key("send-0"));
    }
}
