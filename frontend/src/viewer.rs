//! `/share/TOKEN`: a share link's viewer. One session, live, read-only (a
//! badge says so), at the PTY's size; no list, no other session. Whether
//! the link works is the hub's call: an expired or revoked link ends the
//! socket with its own close code, and the page says which.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;

use crate::feed::{FeedCell, Mode, Signals};
use crate::term_view::{status_badge, terminal};

#[component]
pub fn Viewer(token: String) -> impl IntoView {
    let signals = Signals::new();
    let feed: FeedCell = Rc::new(RefCell::new(None));
    document().set_title("shared terminal - vtr");
    let mode = Mode::Viewer { token };
    view! {
        <div class="pane-page viewer">
            <header class="top">
                <span class="badge" data-testid="read-only">"read-only"</span>
                <span class="address">"shared terminal"</span>
                {status_badge(signals.status)}
            </header>
            {terminal(feed, mode, signals, false)}
        </div>
    }
}
