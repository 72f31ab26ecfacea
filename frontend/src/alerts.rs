//! The dashboard's notices (`vtr_shared::notices`): a badge on the card of
//! each session that asked for attention, finished or exited since it was
//! last opened, a list of the recent ones, and, once the user allows it,
//! a browser notification even while the tab is in the background.
//! Sessions can be muted; the mutes are kept in the browser.

use std::collections::{HashMap, HashSet, VecDeque};

use leptos::prelude::*;
use vtr_shared::notices::Notice;

/// Notices listed, newest first.
const RECENT: usize = 20;
const MUTED_KEY: &str = "vtr.muted";

#[derive(Clone, Default)]
pub struct Alerts {
    pub recent: VecDeque<Notice>,
    /// Unseen notices by `spoke:id`.
    pub unseen: HashMap<String, u32>,
    /// Muted sessions by `spoke:id`.
    pub muted: HashSet<String>,
}

impl Alerts {
    pub fn load() -> Self {
        let muted = storage()
            .and_then(|s| s.get_item(MUTED_KEY).ok().flatten())
            .map(|v| {
                v.split('\n')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Alerts {
            muted,
            ..Alerts::default()
        }
    }

    /// Notices from a push: counted, listed and, if allowed, shown by the
    /// browser; muted sessions' are dropped.
    pub fn told(&mut self, notices: Vec<Notice>) {
        for n in notices {
            if self.muted.contains(&n.session) {
                continue;
            }
            *self.unseen.entry(n.session.clone()).or_default() += 1;
            notify(&n);
            self.recent.push_front(n);
            self.recent.truncate(RECENT);
        }
    }

    pub fn toggle_mute(&mut self, session: &str) {
        if !self.muted.remove(session) {
            self.muted.insert(session.to_owned());
            self.unseen.remove(session);
        }
        let list: Vec<&str> = self.muted.iter().map(String::as_str).collect();
        if let Some(s) = storage() {
            let _ = s.set_item(MUTED_KEY, &list.join("\n"));
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The browser's notification, when the user allowed them.
fn notify(n: &Notice) {
    if web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(&n.text);
    // One per session: a newer one replaces it.
    options.set_tag(&n.session);
    let _ = web_sys::Notification::new_with_options(&n.address, &options);
}

/// Whether the browser may show notifications now: "on", "off" (denied),
/// or "ask" (not decided yet).
pub fn permission() -> &'static str {
    match web_sys::Notification::permission() {
        web_sys::NotificationPermission::Granted => "on",
        web_sys::NotificationPermission::Denied => "off",
        _ => "ask",
    }
}

/// Asks the user; `then` runs with the answer.
pub fn ask(then: impl FnOnce() + 'static) {
    let Ok(promise) = web_sys::Notification::request_permission() else {
        return;
    };
    let answered = wasm_bindgen::closure::Closure::once(move |_: wasm_bindgen::JsValue| then());
    let _ = promise.then(&answered);
    answered.forget();
}
