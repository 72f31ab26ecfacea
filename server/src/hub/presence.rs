//! Who watches which session: owner panes and share-link viewers, counted
//! while their sockets live (a guard each), so a pane can say how many
//! people see it and through which links.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::core::session::lock;

/// How a socket watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Pane,
    /// A share link, by id.
    Link(String),
}

/// One session's watchers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watchers {
    pub panes: u32,
    /// Viewers by link id.
    pub links: BTreeMap<String, u32>,
}

#[derive(Default)]
pub struct Presence {
    /// By `spoke:id`.
    sessions: Mutex<HashMap<String, Watchers>>,
    /// Bumped on every enter and leave.
    changed: watch::Sender<u64>,
}

/// Counts one watcher until dropped.
pub struct Watching {
    presence: Arc<Presence>,
    session: String,
    via: Via,
}

impl Presence {
    pub fn enter(self: &Arc<Self>, session: &str, via: Via) -> Watching {
        {
            let mut sessions = lock(&self.sessions);
            let watchers = sessions.entry(session.to_owned()).or_default();
            match &via {
                Via::Pane => watchers.panes += 1,
                Via::Link(id) => *watchers.links.entry(id.clone()).or_default() += 1,
            }
        }
        self.bump();
        Watching {
            presence: self.clone(),
            session: session.to_owned(),
            via,
        }
    }

    pub fn of(&self, session: &str) -> Watchers {
        lock(&self.sessions)
            .get(session)
            .cloned()
            .unwrap_or_default()
    }

    /// Viewers watching through link `id` now.
    pub fn link_viewers(&self, id: &str) -> u32 {
        lock(&self.sessions)
            .values()
            .filter_map(|w| w.links.get(id))
            .sum()
    }

    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        {
            let mut sessions = lock(&self.presence.sessions);
            if let Some(watchers) = sessions.get_mut(&self.session) {
                match &self.via {
                    Via::Pane => watchers.panes = watchers.panes.saturating_sub(1),
                    Via::Link(id) => {
                        if let Some(n) = watchers.links.get_mut(id) {
                            *n -= 1;
                            if *n == 0 {
                                watchers.links.remove(id);
                            }
                        }
                    }
                }
                if *watchers == Watchers::default() {
                    sessions.remove(&self.session);
                }
            }
        }
        self.presence.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchers_are_counted_while_their_guards_live() {
        let presence = Arc::new(Presence::default());
        let pane = presence.enter("s:1", Via::Pane);
        let a = presence.enter("s:1", Via::Link("l1".into()));
        let b = presence.enter("s:1", Via::Link("l1".into()));
        let other = presence.enter("s:2", Via::Link("l2".into()));
        let watchers = presence.of("s:1");
        assert_eq!(watchers.panes, 1);
        assert_eq!(watchers.links.get("l1"), Some(&2));
        assert_eq!(presence.link_viewers("l1"), 2);
        drop((a, pane));
        assert_eq!(presence.of("s:1").panes, 0);
        assert_eq!(presence.link_viewers("l1"), 1);
        drop((b, other));
        assert_eq!(presence.of("s:1"), Watchers::default());
        assert!(lock(&presence.sessions).is_empty(), "nothing left behind");
    }
}
