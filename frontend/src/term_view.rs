//! The parts of a terminal page that the owner's pane and a viewer share:
//! the status indicator, the banner of a bad state, and the terminal's
//! element, whose mounting starts the feed.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::feed::{FeedCell, Mode, Signals, start};
use crate::status::Status;

/// The status indicator (`data-status` for tests).
pub fn status_badge(status: RwSignal<Status>) -> impl IntoView {
    view! {
        <span
            class=move || format!("status {}", status.with(Status::class))
            data-testid="pane-status"
            data-status=move || status.with(Status::class)
        >
            {move || status.with(Status::label)}
        </span>
    }
}

/// The banner (in a bad state) and the terminal, which opens and connects
/// once its element is in the page. `home`: offer a link to the dashboard.
pub fn terminal(feed: FeedCell, mode: Mode, signals: Signals, home: bool) -> impl IntoView {
    let status = signals.status;
    let host = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        let Some(el) = host.get() else { return };
        if feed.borrow().is_some() {
            return;
        }
        let el: web_sys::HtmlElement = el.unchecked_into();
        start(&feed, mode.clone(), &el, signals);
    });
    view! {
        {move || status.with(Status::banner).map(|text| view! {
            <p class=move || format!("banner {}", status.with(Status::class)) data-testid="pane-banner">
                {text}
                {home.then(|| view! { " " <a href="/">"back to the dashboard"</a> })}
            </p>
        })}
        <div
            class=move || if status.with(Status::ended) { "term ended" } else { "term" }
            node_ref=host
            data-testid="terminal"
        ></div>
    }
}
