//! Screen previews for the dashboard's session cards, taken once per hub
//! and shared by every open dashboard: a tab opened later is sent the
//! previews already taken, instead of fetching one screen per session
//! through the spokes' links again.
//!
//! A preview is retaken when the session's listed output offset moves, or,
//! for a busy session (whose listed offset lags its output), once it is
//! `EVERY` old. Bounded: one entry per listed session, at most `TAKE` taken
//! and `SEND` sent per dashboard per refresh.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vtr_shared::web;

use crate::core::session::lock;
use crate::core::{Coordinator, SessionSummary, Status};
use crate::hub::Hub;

/// How often dashboards refresh previews, and how old a busy session's
/// preview may be.
pub const EVERY: Duration = Duration::from_secs(1);
/// Screen lines a preview carries.
const LINES: usize = 12;
/// Screens fetched per refresh, at most: a hub with many busy sessions
/// spreads them over several refreshes.
const TAKE: usize = 32;
/// Previews sent to one dashboard per refresh, at most.
const SEND: usize = 256;

#[derive(Default)]
pub struct Previews {
    taken: Mutex<HashMap<String, Taken>>,
    /// Numbers the previews taken, so a dashboard knows which it has.
    taken_count: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
struct Taken {
    number: u64,
    offset: u64,
    at: Instant,
    lines: Arc<[String]>,
}

/// What one dashboard has been sent.
#[derive(Default)]
pub struct Shown {
    /// Which preview (by number) each card shows.
    cards: HashMap<String, u64>,
    /// Set after a pass that left nothing to do (every listed session has
    /// its current preview, none runs busy): the previews taken by then.
    /// Until the list changes or another preview is taken, a pass would
    /// send nothing, so none runs: an idle dashboard costs nothing however
    /// many sessions it lists.
    settled: Option<u64>,
}

impl Shown {
    /// The dashboard's list changed: the next refresh looks at every card.
    pub fn list_changed(&mut self) {
        self.settled = None;
    }
}

impl Previews {
    /// The previews `sessions` (the hub's whole list) need on a dashboard
    /// that shows `shown`, taking those missing or out of date.
    pub async fn refresh(
        &self,
        hub: &Hub,
        sessions: &[SessionSummary],
        shown: &mut Shown,
    ) -> Vec<web::Preview> {
        let taken_before = self.taken_count.load(Ordering::Relaxed);
        if shown.settled == Some(taken_before) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut took = 0;
        // Whether anything is left for a later pass.
        let mut unsettled = false;
        for s in sessions.iter().filter(|s| !s.stale) {
            if out.len() >= SEND {
                unsettled = true;
                break;
            }
            let address = s.id_address();
            // An exited session's screen is final: one preview per tab.
            if matches!(s.status, Status::Exited) && shown.cards.contains_key(&address) {
                continue;
            }
            unsettled |= s.busy();
            let current = lock(&self.taken)
                .get(&address)
                .filter(|t| t.fresh_for(s))
                .cloned();
            let preview = match current {
                Some(taken) => taken,
                None if took < TAKE => {
                    took += 1;
                    match self.take(hub, s, &address).await {
                        Some(taken) => taken,
                        None => {
                            unsettled = true;
                            continue;
                        }
                    }
                }
                None => {
                    unsettled = true;
                    continue;
                }
            };
            if shown.cards.get(&address) != Some(&preview.number) {
                shown.cards.insert(address.clone(), preview.number);
                out.push(web::Preview {
                    session: address,
                    lines: preview.lines.to_vec(),
                });
            }
        }
        // Forget sessions no longer listed.
        let listed: HashSet<String> = sessions.iter().map(SessionSummary::id_address).collect();
        shown.cards.retain(|a, _| listed.contains(a));
        lock(&self.taken).retain(|a, _| listed.contains(a));
        shown.settled = (!unsettled).then(|| self.taken_count.load(Ordering::Relaxed));
        out
    }

    async fn take(&self, hub: &Hub, s: &SessionSummary, address: &str) -> Option<Taken> {
        let screen = hub.screen(address).await.ok()?;
        let lines: Arc<[String]> = preview_lines(screen.lines, screen.alternate_screen).into();
        let mut taken = lock(&self.taken);
        // The same lines as before keep their number: dashboards that
        // have them are not sent them again.
        let number = match taken.get(address) {
            Some(before) if before.lines == lines => before.number,
            _ => self.taken_count.fetch_add(1, Ordering::Relaxed),
        };
        let now = Taken {
            number,
            offset: s.output_offset,
            at: Instant::now(),
            lines,
        };
        taken.insert(address.to_owned(), now.clone());
        Some(now)
    }
}

/// The lines of a screen a card shows: for a full-screen program (the
/// alternate screen: vim, less, top) its top, where it keeps its header;
/// otherwise the last lines written (a shell's prompt), without the blank
/// rows below them.
fn preview_lines(mut lines: Vec<String>, alternate: bool) -> Vec<String> {
    if alternate {
        lines.truncate(LINES);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let skip = lines.len().saturating_sub(LINES);
    lines.split_off(skip)
}

impl SessionSummary {
    /// Running and not idle: its listed offset lags its output, so its
    /// preview is retaken every `EVERY`.
    fn busy(&self) -> bool {
        matches!(self.status, Status::Running) && !self.idle
    }
}

impl Taken {
    /// Whether this preview still shows `s`: taken at its listed offset,
    /// and, while it runs busy (its listed offset lags), recently.
    fn fresh_for(&self, s: &SessionSummary) -> bool {
        self.offset == s.output_offset && (!s.busy() || self.at.elapsed() < EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(rows: usize, written: usize) -> Vec<String> {
        (0..rows)
            .map(|i| {
                if i < written {
                    format!("line {i}")
                } else {
                    String::new()
                }
            })
            .collect()
    }

    #[test]
    fn a_shell_shows_its_last_lines_written_and_a_full_screen_program_its_top() {
        let shell = preview_lines(screen(24, 20), false);
        assert_eq!(shell.first().map(String::as_str), Some("line 8"));
        assert_eq!(shell.last().map(String::as_str), Some("line 19"));
        let top = preview_lines(screen(24, 24), true);
        assert_eq!(top.len(), LINES);
        assert_eq!(top.first().map(String::as_str), Some("line 0"));
        assert!(preview_lines(screen(24, 0), false).is_empty());
        assert_eq!(preview_lines(screen(24, 3), true).len(), 3);
    }
}
