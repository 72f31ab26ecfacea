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

/// Where a card sits in [`sort`]'s order: spoke, creation time, id.
pub type Place<'a> = (&'a str, i64, &'a str);

/// The cards before and after `this` in [`sort`]'s order, wrapping around
/// (the last card's next is the first), as indexes into `list`, which need
/// not be sorted: one pass, for a pane that moves to its neighbours. `None`
/// when `this` is not listed or is the only card.
pub fn neighbours<T>(
    list: &[T],
    place: impl Fn(&T) -> Place<'_>,
    this: Place<'_>,
) -> Option<(usize, usize)> {
    let (mut before, mut after, mut first, mut last) = (None, None, None, None);
    let mut found = false;
    for (i, item) in list.iter().enumerate() {
        let p = place(item);
        if p == this {
            found = true;
            continue;
        }
        let closer = |best: Option<usize>, better: fn(&Place, &Place) -> bool| match best {
            Some(b) if !better(&p, &place(&list[b])) => best,
            _ => Some(i),
        };
        if p < this {
            before = closer(before, |p, b| p > b);
        } else {
            after = closer(after, |p, b| p < b);
        }
        first = closer(first, |p, b| p < b);
        last = closer(last, |p, b| p > b);
    }
    if !found {
        return None;
    }
    Some((before.or(last)?, after.or(first)?))
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
    fn neighbours_follow_card_order_and_wrap_around() {
        let list = [
            session("b", "3", 5, ""),
            session("a", "2", 20, ""),
            session("a", "1", 10, ""),
            session("a", "4", 15, ""),
        ];
        fn place(s: &SessionInfo) -> Place<'_> {
            (s.spoke.as_str(), s.created_at_ms, s.id.as_str())
        }
        let around = |spoke, at, id| {
            neighbours(&list, place, (spoke, at, id)).map(|(b, a)| (key(&list[b]), key(&list[a])))
        };
        // Card order: a:1, a:4, a:2, b:3.
        assert_eq!(around("a", 15, "4"), Some(("a:1".into(), "a:2".into())));
        assert_eq!(around("a", 10, "1"), Some(("b:3".into(), "a:4".into())));
        assert_eq!(around("b", 5, "3"), Some(("a:2".into(), "a:1".into())));
        assert_eq!(around("c", 1, "9"), None);
        let alone = [session("a", "1", 10, "")];
        assert_eq!(neighbours(&alone, place, ("a", 10, "1")), None);
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
