//! The hub's view of one spoke's sessions: the spoke's last list, with
//! what calls through the hub just did applied on top, so that a script's
//! `vtr spawn x; vtr ls` lists x.
//!
//! A spoke's lists are not numbered, and one computed before a call may
//! arrive after the call's reply. So each change made through the hub is
//! kept as a note and applied again on every list until a list agrees
//! with it (the spoke has seen it) or `NOTE_TTL` passes (the spoke changed
//! it since, by another route).

use std::time::{Duration, Instant};

use crate::core::SessionSummary;

/// How long a note outweighs the spoke's lists at most.
const NOTE_TTL: Duration = Duration::from_secs(5);

/// Notes kept at most; the oldest goes first. Calls are bounded by the
/// hub's limits; this bounds a burst of them against a spoke whose lists
/// have stalled.
const MAX_NOTES: usize = 256;

#[derive(Debug, Default)]
pub struct SessionView {
    sessions: Vec<SessionSummary>,
    notes: Vec<Note>,
}

#[derive(Debug)]
struct Note {
    /// The session's id, or the name it was removed by.
    key: String,
    /// What it is now; `None`: removed.
    summary: Option<SessionSummary>,
    at: Instant,
}

impl SessionView {
    pub fn sessions(&self) -> &[SessionSummary] {
        &self.sessions
    }

    /// The spoke's own list, with the notes it does not reflect yet.
    pub fn replace(&mut self, sessions: Vec<SessionSummary>, now: Instant) {
        self.sessions = sessions;
        let view = &self.sessions;
        self.notes
            .retain(|n| now.duration_since(n.at) < NOTE_TTL && !n.agrees(view));
        for i in 0..self.notes.len() {
            let (key, summary) = (self.notes[i].key.clone(), self.notes[i].summary.clone());
            apply(&mut self.sessions, &key, summary);
        }
    }

    /// A change made through the hub to the session `key`: `Some` adds or
    /// replaces it, `None` removes it. `key` is the session's id (a name
    /// only for a session this view has not seen). A newer note on the
    /// same session replaces the older one.
    pub fn note(&mut self, key: &str, summary: Option<SessionSummary>, now: Instant) {
        apply(&mut self.sessions, key, summary.clone());
        self.notes.retain(|n| n.key != key);
        if self.notes.len() == MAX_NOTES {
            self.notes.remove(0);
        }
        self.notes.push(Note {
            key: key.to_owned(),
            summary,
            at: now,
        });
    }

    /// The id of the session named or numbered `key`, if the view has it.
    pub fn id_of(&self, key: &str) -> Option<&str> {
        self.sessions
            .iter()
            .find(|s| s.id == key || s.name == key)
            .map(|s| s.id.as_str())
    }

    /// A new instance of the spoke: its old sessions are gone.
    pub fn clear(&mut self) {
        self.sessions.clear();
        self.notes.clear();
    }
}

impl Note {
    fn agrees(&self, sessions: &[SessionSummary]) -> bool {
        match &self.summary {
            Some(s) => sessions.iter().any(|o| o.id == s.id && o.name == s.name),
            None => !sessions
                .iter()
                .any(|o| o.id == self.key || o.name == self.key),
        }
    }
}

fn apply(sessions: &mut Vec<SessionSummary>, key: &str, summary: Option<SessionSummary>) {
    match summary {
        Some(summary) => {
            sessions.retain(|s| s.id != summary.id);
            sessions.push(summary);
        }
        None => sessions.retain(|s| s.id != key && s.name != key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, name: &str) -> SessionSummary {
        SessionSummary {
            id: id.to_owned(),
            name: name.to_owned(),
            spoke: String::new(),
            command: "sh".to_owned(),
            args: Vec::new(),
            cwd: String::new(),
            cols: 80,
            rows: 24,
            status: crate::core::Status::Running,
            exit: None,
            idle: false,
            created_at: std::time::UNIX_EPOCH,
            exited_at: None,
            last_output_at: None,
            output_offset: 0,
            pid: None,
            title: String::new(),
            subscribers: 0,
            stale: false,
            spoke_last_seen: None,
            created_by: String::new(),
            last_input_offset: None,
            attention: 0,
            attention_text: String::new(),
            attention_at: None,
        }
    }

    fn names(view: &SessionView) -> Vec<&str> {
        view.sessions().iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn a_list_from_before_a_change_does_not_undo_it() {
        let now = Instant::now();
        let mut view = SessionView::default();
        view.replace(vec![session("1", "old")], now);
        view.note("2", Some(session("2", "new")), now);
        view.note("1", None, now);
        assert_eq!(names(&view), ["new"]);
        // The spoke's list from before both changes arrives late.
        view.replace(vec![session("1", "old")], now);
        assert_eq!(names(&view), ["new"]);
        // Its list from after them agrees: the notes are done.
        view.replace(vec![session("2", "new")], now);
        assert!(view.notes.is_empty());
        // From then on the spoke's word is the view, whatever it says.
        view.replace(vec![], now);
        assert_eq!(names(&view), Vec::<&str>::new());
    }

    #[test]
    fn spawn_rename_remove_survive_lists_from_any_moment_before() {
        let now = Instant::now();
        let mut view = SessionView::default();
        view.note("1", Some(session("1", "s")), now);
        view.note("1", Some(session("1", "r")), now);
        let id = view.id_of("r").expect("by name").to_owned();
        view.note(&id, None, now);
        // Lists the spoke made after the spawn, after the rename: each one
        // agrees with an older step, none brings the session back.
        view.replace(vec![session("1", "s")], now);
        assert_eq!(names(&view), Vec::<&str>::new());
        view.replace(vec![session("1", "r")], now);
        assert_eq!(names(&view), Vec::<&str>::new());
        view.replace(vec![], now);
        assert!(view.notes.is_empty());
        // Spawn then rename, and the spoke's list shows the rename: the
        // spawn's note must not bring the old name back.
        view.note("2", Some(session("2", "a")), now);
        view.note("2", Some(session("2", "b")), now);
        view.replace(vec![session("2", "b")], now);
        assert_eq!(names(&view), ["b"]);
    }

    #[test]
    fn a_rename_holds_until_the_spoke_shows_the_new_name() {
        let now = Instant::now();
        let mut view = SessionView::default();
        view.replace(vec![session("1", "a")], now);
        view.note("1", Some(session("1", "b")), now);
        view.replace(vec![session("1", "a")], now);
        assert_eq!(names(&view), ["b"]);
        view.replace(vec![session("1", "b")], now);
        assert!(view.notes.is_empty());
    }

    #[test]
    fn notes_expire_and_are_bounded() {
        let now = Instant::now();
        let mut view = SessionView::default();
        view.note("1", Some(session("1", "x")), now);
        // The spoke removed it by another route; its lists win in time.
        view.replace(vec![], now + NOTE_TTL);
        assert_eq!(names(&view), Vec::<&str>::new());
        for i in 0..MAX_NOTES + 10 {
            view.note(&i.to_string(), None, now);
        }
        assert_eq!(view.notes.len(), MAX_NOTES);
    }
}
