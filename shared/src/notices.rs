//! What a session did that its user may want to hear about, found by
//! comparing one session list with the next: the program asked for
//! attention (a bell or a desktop notification, counted by its spoke), a
//! command finished after running a while (quiet again after
//! `FINISHED_AFTER_MS` of output), or the session exited. The web app and
//! `vtr events` both use it, so they tell the same things.

use std::collections::HashMap;

use crate::proto::{SessionInfo, SessionStatus};

/// Output for at least this long, then quiet: "finished".
pub const FINISHED_AFTER_MS: i64 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bell or a notification; the text is the program's.
    Attention,
    Finished,
    Exited,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Attention => "attention",
            Kind::Finished => "finished",
            Kind::Exited => "exited",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// `spoke:id`: stays with the session through renames.
    pub session: String,
    /// `spoke:name`, as people address it.
    pub address: String,
    pub kind: Kind,
    pub text: String,
}

#[derive(Clone, Copy)]
struct Seen {
    attention: u64,
    exited: bool,
    /// When it was first seen producing output this time.
    busy_since: Option<i64>,
}

/// The sessions as last seen.
#[derive(Default)]
pub struct Tracker {
    seen: Option<HashMap<String, Seen>>,
}

impl Tracker {
    /// The notices between the last list and `list`, seen at `now_ms`. The
    /// first list only teaches what is there: nothing before it is told.
    pub fn update(&mut self, list: &[SessionInfo], now_ms: i64) -> Vec<Notice> {
        let before = self.seen.take();
        let mut seen = HashMap::with_capacity(list.len());
        let mut out = Vec::new();
        for s in list {
            let key = format!("{}:{}", s.spoke, s.id);
            let exited = s.status == SessionStatus::Exited as i32;
            let busy = !exited && !s.idle && !s.stale;
            let old = before.as_ref().and_then(|b| b.get(&key).copied());
            let mut notice = |kind: Kind, text: String| {
                out.push(Notice {
                    session: key.clone(),
                    address: format!("{}:{}", s.spoke, s.name),
                    kind,
                    text,
                });
            };
            let busy_since = match old {
                // New since the last list: a session spawned now.
                None => busy.then_some(now_ms),
                Some(old) => {
                    if s.attention > old.attention {
                        notice(Kind::Attention, s.attention_text.clone());
                    }
                    if exited && !old.exited {
                        notice(Kind::Exited, exit_text(s));
                    }
                    match (busy, old.busy_since) {
                        (true, Some(since)) => Some(since),
                        (true, None) => Some(now_ms),
                        (false, Some(since)) => {
                            let ran = now_ms - since;
                            if !exited && ran >= FINISHED_AFTER_MS {
                                notice(
                                    Kind::Finished,
                                    format!("quiet after {} s of output", ran / 1000),
                                );
                            }
                            None
                        }
                        (false, None) => None,
                    }
                }
            };
            seen.insert(
                key,
                Seen {
                    attention: s.attention,
                    exited,
                    busy_since,
                },
            );
        }
        if before.is_none() {
            out.clear();
        }
        self.seen = Some(seen);
        out
    }
}

fn exit_text(s: &SessionInfo) -> String {
    match (s.exit_code, s.exit_signal.as_str()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, signal) if !signal.is_empty() => format!("killed by {signal}"),
        _ => "exited".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(name: &str) -> SessionInfo {
        SessionInfo {
            spoke: "s".to_owned(),
            id: format!("id-{name}"),
            name: name.to_owned(),
            status: SessionStatus::Running as i32,
            idle: true,
            ..SessionInfo::default()
        }
    }

    #[test]
    fn the_first_list_tells_nothing_and_later_ones_what_changed() {
        let mut t = Tracker::default();
        let mut a = session("a");
        a.attention = 2;
        assert!(t.update(&[a.clone()], 0).is_empty());
        a.attention = 3;
        a.attention_text = "build done".to_owned();
        let notices = t.update(&[a.clone()], 1000);
        assert_eq!(
            notices,
            [Notice {
                session: "s:id-a".to_owned(),
                address: "s:a".to_owned(),
                kind: Kind::Attention,
                text: "build done".to_owned(),
            }]
        );
        assert!(t.update(&[a.clone()], 2000).is_empty(), "told once");

        a.status = SessionStatus::Exited as i32;
        a.exit_code = Some(2);
        let notices = t.update(&[a], 3000);
        assert_eq!(notices.len(), 1);
        assert_eq!(
            (notices[0].kind.clone(), notices[0].text.as_str()),
            (Kind::Exited, "exited with code 2")
        );
    }

    #[test]
    fn quiet_after_a_long_run_is_finished_and_after_a_short_one_nothing() {
        let mut t = Tracker::default();
        let mut a = session("a");
        t.update(&[a.clone()], 0);
        a.idle = false;
        t.update(&[a.clone()], 1_000);
        a.idle = true;
        assert!(t.update(&[a.clone()], 3_000).is_empty(), "2 s of output");
        a.idle = false;
        t.update(&[a.clone()], 10_000);
        t.update(&[a.clone()], 15_000);
        a.idle = true;
        let notices = t.update(&[a], 21_000);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, Kind::Finished);
        assert_eq!(notices[0].text, "quiet after 11 s of output");
    }
}
