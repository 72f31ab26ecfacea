//! Who watches which session: owner panes and share-link viewers, counted
//! while their sockets live (a guard each), so a pane can say how many
//! people see it and through which links. Share-link viewers are capped
//! per link and per hub: a link is a credential anyone may hold.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::core::session::lock;

/// Viewers one share link may have at once.
pub const MAX_LINK_VIEWERS: u32 = 32;
/// Share-link viewers on the whole hub at once.
pub const MAX_VIEWERS: u32 = 256;

/// Why a share-link viewer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ViewerLimit {
    #[error("this link has {0} viewers, its limit; try again later")]
    Link(u32),
    #[error("the hub has {0} share-link viewers, its limit; try again later")]
    Hub(u32),
}

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
            count_in(&mut sessions, session, &via);
        }
        self.watching(session, via)
    }

    /// Counts a viewer through share link `link` unless the link or the
    /// hub has as many as it may (`MAX_LINK_VIEWERS`, `MAX_VIEWERS`).
    pub fn enter_viewer(
        self: &Arc<Self>,
        session: &str,
        link: &str,
    ) -> Result<Watching, ViewerLimit> {
        self.enter_viewer_within(session, link, MAX_LINK_VIEWERS, MAX_VIEWERS)
    }

    fn enter_viewer_within(
        self: &Arc<Self>,
        session: &str,
        link: &str,
        per_link: u32,
        per_hub: u32,
    ) -> Result<Watching, ViewerLimit> {
        let via = Via::Link(link.to_owned());
        {
            // Checked and counted under one lock, so racing viewers cannot
            // all slip in under the limit.
            let mut sessions = lock(&self.sessions);
            let (mut on_link, mut all) = (0, 0);
            for (id, n) in sessions.values().flat_map(|w| &w.links) {
                all += n;
                if id == link {
                    on_link += n;
                }
            }
            if on_link >= per_link {
                return Err(ViewerLimit::Link(per_link));
            }
            if all >= per_hub {
                return Err(ViewerLimit::Hub(per_hub));
            }
            count_in(&mut sessions, session, &via);
        }
        Ok(self.watching(session, via))
    }

    fn watching(self: &Arc<Self>, session: &str, via: Via) -> Watching {
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

fn count_in(sessions: &mut HashMap<String, Watchers>, session: &str, via: &Via) {
    let watchers = sessions.entry(session.to_owned()).or_default();
    match via {
        Via::Pane => watchers.panes += 1,
        Via::Link(id) => *watchers.links.entry(id.clone()).or_default() += 1,
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

    #[test]
    fn viewers_are_capped_per_link_and_per_hub() {
        let presence = Arc::new(Presence::default());
        let enter = |link: &str| presence.enter_viewer_within("s:1", link, 2, 3);
        let a1 = enter("a").expect("first");
        let _a2 = enter("a").expect("second");
        assert_eq!(enter("a").err(), Some(ViewerLimit::Link(2)));
        let _b1 = enter("b").expect("another link");
        assert_eq!(enter("b").err(), Some(ViewerLimit::Hub(3)));
        let _pane = presence.enter("s:1", Via::Pane);
        drop(a1);
        assert!(enter("b").is_ok(), "a place freed; panes do not count");
        assert_eq!(presence.link_viewers("a"), 1);
    }
}
