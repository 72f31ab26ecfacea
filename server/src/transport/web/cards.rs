//! What changed in the merged session list since a dashboard's last push:
//! a change to one of 5,000 sessions is sent as that session, not as the
//! whole 1.5 MB list. The page applies it with `vtr_shared::cards::apply`.

use std::collections::{HashMap, HashSet};

use vtr_shared::proto as pb;

use crate::core::SessionSummary;
use crate::transport::map;

/// The sessions added or changed, and the `spoke:id`s of those gone.
#[derive(Debug, Default)]
pub struct Delta {
    pub changed: Vec<pb::SessionInfo>,
    pub removed: Vec<String>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

/// How the delta knows a session: by spoke and id (a rename is a change).
fn key(s: &SessionSummary) -> (&str, &str) {
    (s.spoke.as_str(), s.id.as_str())
}

pub fn delta(before: &[SessionSummary], now: &[SessionSummary]) -> Delta {
    if std::ptr::eq(before, now) {
        // The same shared list: nothing changed.
        return Delta::default();
    }
    let old: HashMap<_, _> = before.iter().map(|s| (key(s), s)).collect();
    let changed = now
        .iter()
        .filter(|s| old.get(&key(s)).is_none_or(|o| !same_card(o, s)))
        .map(map::session_info)
        .collect();
    let current: HashSet<_> = now.iter().map(key).collect();
    let removed = before
        .iter()
        .filter(|s| !current.contains(&key(s)))
        .map(SessionSummary::id_address)
        .collect();
    Delta { changed, removed }
}

/// Equal as a card shows it: everything but the spoke's last-seen time,
/// which the page takes from the spoke (it moves at every probe, and would
/// otherwise mark every session of every spoke changed).
fn same_card(a: &SessionSummary, b: &SessionSummary) -> bool {
    let SessionSummary {
        id,
        name,
        spoke,
        command,
        args,
        cwd,
        cols,
        rows,
        status,
        exit,
        idle,
        created_at,
        exited_at,
        last_output_at,
        output_offset,
        pid,
        title,
        subscribers,
        stale,
        spoke_last_seen: _,
        created_by,
        last_input_offset,
        attention,
        attention_text,
        attention_at,
    } = a;
    (
        id, name, spoke, command, args, cwd, cols, rows, status, exit,
    ) == (
        &b.id, &b.name, &b.spoke, &b.command, &b.args, &b.cwd, &b.cols, &b.rows, &b.status, &b.exit,
    ) && (
        idle,
        created_at,
        exited_at,
        last_output_at,
        output_offset,
        pid,
        title,
        subscribers,
        stale,
        created_by,
        last_input_offset,
    ) == (
        &b.idle,
        &b.created_at,
        &b.exited_at,
        &b.last_output_at,
        &b.output_offset,
        &b.pid,
        &b.title,
        &b.subscribers,
        &b.stale,
        &b.created_by,
        &b.last_input_offset,
    ) && (attention, attention_text, attention_at)
        == (&b.attention, &b.attention_text, &b.attention_at)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::transport::unmap;

    fn session(spoke: &str, id: &str, created_at_ms: i64) -> SessionSummary {
        unmap::session_info(pb::SessionInfo {
            spoke: spoke.to_owned(),
            id: id.to_owned(),
            name: format!("n{id}"),
            command: "sh".to_owned(),
            created_at_ms,
            ..pb::SessionInfo::default()
        })
    }

    /// What a page holds after the full list `before` and then the delta.
    fn page_after(before: &[SessionSummary], now: &[SessionSummary]) -> Vec<pb::SessionInfo> {
        let mut page = map::session_list(before).sessions;
        vtr_shared::cards::sort(&mut page);
        let d = delta(before, now);
        vtr_shared::cards::apply(&mut page, d.changed, &d.removed);
        page
    }

    fn as_page(now: &[SessionSummary]) -> Vec<pb::SessionInfo> {
        let mut page = map::session_list(now).sessions;
        vtr_shared::cards::sort(&mut page);
        page
    }

    #[test]
    fn a_page_applying_the_delta_holds_the_new_list() {
        let before: Vec<_> = (0..50)
            .map(|i| session(&format!("s{}", i % 5), &format!("{i}"), i))
            .collect();
        let mut now = before.clone();
        now[3].title = "vim".to_owned();
        now[7].output_offset = 4096;
        now.remove(11);
        now.push(session("s2", "new", 99));
        now.push(session("t", "other", 1));
        let d = delta(&before, &now);
        assert_eq!(d.changed.len(), 4, "{d:?}");
        assert_eq!(d.removed, ["s1:11"]);
        assert_eq!(page_after(&before, &now), as_page(&now));
    }

    #[test]
    fn nothing_changed_is_an_empty_delta_whatever_the_spokes_last_seen() {
        let before: Vec<_> = (0..10).map(|i| session("s", &format!("{i}"), i)).collect();
        let mut now = before.clone();
        for s in &mut now {
            s.spoke_last_seen = Some(UNIX_EPOCH + Duration::from_secs(5));
        }
        assert!(delta(&before, &now).is_empty());
        assert!(delta(&before, &before).is_empty());
    }

    #[test]
    fn every_field_a_card_shows_counts_as_a_change() {
        let before = vec![session("s", "1", 1)];
        let mut now = before.clone();
        now[0].stale = true;
        assert_eq!(delta(&before, &now).changed.len(), 1);
        let mut now = before.clone();
        now[0].created_by = "alice".to_owned();
        assert_eq!(delta(&before, &now).changed.len(), 1);
    }
}
