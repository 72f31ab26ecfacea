//! The dashboard's session cards: the order a page shows them in, and a
//! partial push (`web.proto`'s `Dashboard`) applied to the list it holds.

use std::collections::{HashMap, HashSet};

use crate::proto::SessionInfo;

/// `spoke:id`: how a push names a session.
pub fn key(s: &SessionInfo) -> String {
    format!("{}:{}", s.spoke, s.id)
}

/// The order cards are shown in: by spoke, oldest session first.
pub fn sort(list: &mut [SessionInfo]) {
    list.sort_by(|a, b| {
        (a.spoke.as_str(), a.created_at_ms, a.id.as_str()).cmp(&(
            b.spoke.as_str(),
            b.created_at_ms,
            b.id.as_str(),
        ))
    });
}

/// Applies a partial push: drops the sessions `removed` names, replaces or
/// adds those `changed` holds, and keeps the cards' order.
pub fn apply(list: &mut Vec<SessionInfo>, changed: Vec<SessionInfo>, removed: &[String]) {
    let gone: HashSet<&str> = removed.iter().map(String::as_str).collect();
    let mut changed: HashMap<String, SessionInfo> =
        changed.into_iter().map(|s| (key(&s), s)).collect();
    list.retain(|s| !gone.contains(key(s).as_str()));
    for s in list.iter_mut() {
        if let Some(new) = changed.remove(&key(s)) {
            *s = new;
        }
    }
    list.extend(changed.into_values());
    sort(list);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(spoke: &str, id: &str, created_at_ms: i64, title: &str) -> SessionInfo {
        SessionInfo {
            spoke: spoke.to_owned(),
            id: id.to_owned(),
            name: id.to_owned(),
            created_at_ms,
            title: title.to_owned(),
            ..SessionInfo::default()
        }
    }

    fn keys(list: &[SessionInfo]) -> Vec<String> {
        list.iter().map(key).collect()
    }

    #[test]
    fn a_partial_push_replaces_adds_and_removes_in_card_order() {
        let mut list = vec![
            session("a", "1", 10, ""),
            session("a", "2", 20, ""),
            session("b", "3", 5, ""),
        ];
        apply(
            &mut list,
            vec![session("a", "2", 20, "vim"), session("a", "4", 15, "")],
            &["b:3".to_owned(), "b:nosuch".to_owned()],
        );
        assert_eq!(keys(&list), ["a:1", "a:4", "a:2"]);
        assert_eq!(list[2].title, "vim");
    }

    #[test]
    fn sessions_of_the_same_name_on_two_spokes_stay_apart() {
        let mut list = vec![session("a", "x", 1, ""), session("b", "x", 1, "")];
        apply(&mut list, vec![session("b", "x", 1, "top")], &[]);
        assert_eq!(
            list.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(),
            ["", "top"]
        );
        apply(&mut list, Vec::new(), &["a:x".to_owned()]);
        assert_eq!(keys(&list), ["b:x"]);
    }
}
