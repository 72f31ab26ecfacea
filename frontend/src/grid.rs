//! `/grid?s=spoke:a&s=spoke:b`: several live panes side by side. The
//! layout (which sessions, in which order) is the URL, so a grid can be
//! bookmarked. Each cell is a whole owner pane: typing, resizing, flow
//! control and status as on `/s/...`; the hub feeds every pane of one
//! session from one upstream however many show it.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use vtr_shared::ago::count;

use crate::feed::{FeedCell, Mode, Signals};
use crate::term_view::{status_badge, terminal};

/// Most panes in one grid: each is a terminal and a socket.
pub const MAX_PANES: usize = 16;

/// The sessions a grid URL's query (`?s=a&s=b`) names, in order, without
/// repeats, at most `MAX_PANES`.
pub fn addresses(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for pair in query.trim_start_matches('?').split('&') {
        let Some(value) = pair.strip_prefix("s=") else {
            continue;
        };
        let Some(address) = js_sys::decode_uri_component(&value.replace('+', " "))
            .ok()
            .and_then(|v| v.as_string())
        else {
            continue;
        };
        if !address.is_empty() && !out.contains(&address) && out.len() < MAX_PANES {
            out.push(address);
        }
    }
    out
}

/// The URL of a grid showing `addresses`.
pub fn url(addresses: &[String]) -> String {
    let query: Vec<String> = addresses
        .iter()
        .map(|a| format!("s={}", js_sys::encode_uri_component(a)))
        .collect();
    format!("/grid?{}", query.join("&"))
}

#[component]
pub fn Grid(addresses: Vec<String>) -> impl IntoView {
    let shown = RwSignal::new(addresses);
    // The address bar follows the layout: a reload or a bookmark opens
    // the same grid.
    Effect::new(move |_| {
        let list = shown.get();
        document().set_title(&format!("{} - vtr", count(list.len() as u64, "pane")));
        if let Ok(history) = window().history() {
            let _ =
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url(&list)));
        }
        // The cells changed size: each terminal refits (and resizes its
        // PTY) as on a window resize, once the page has laid out.
        set_timeout(
            || {
                if let Ok(event) = web_sys::Event::new("resize") {
                    let _ = window().dispatch_event(&event);
                }
            },
            std::time::Duration::ZERO,
        );
    });
    // Columns and rows as square as the count allows; one column on a
    // narrow screen (the CSS stacks them there).
    let layout = move || {
        let n = shown.with(Vec::len).max(1);
        let cols = (1..=n).find(|c| c * c >= n).unwrap_or(1);
        let rows = n.div_ceil(cols);
        format!("--cols: {cols}; --rows: {rows};")
    };
    view! {
        <div class="grid-page">
            <header class="top">
                <a href="/">"vtr"</a>
                <span class="hub" data-testid="grid-count">{move || count(shown.with(Vec::len) as u64, "pane")}</span>
            </header>
            <Show when=move || shown.with(Vec::is_empty)>
                <p class="empty" data-testid="grid-empty">
                    "No sessions in this grid. Pick some on the "<a href="/">"dashboard"</a>" and open them together."
                </p>
            </Show>
            <div class="panes" style=layout data-testid="panes">
                <For
                    each=move || shown.get()
                    key=|a| a.clone()
                    children=move |a| cell(a, shown)
                />
            </div>
        </div>
    }
}

fn cell(address: String, shown: RwSignal<Vec<String>>) -> impl IntoView {
    let signals = Signals::new();
    let feed: FeedCell = Rc::new(RefCell::new(None));
    // Taken out of the grid: its socket closes (no reconnect) and its
    // terminal goes.
    let owned = SendWrapper::new(feed.clone());
    on_cleanup(move || {
        if let Some(l) = owned.take().borrow_mut().take() {
            l.term.dispose();
        }
    });
    let earlier = {
        let address = address.clone();
        move |_| {
            shown.update(|list| {
                if let Some(i) = list.iter().position(|a| *a == address)
                    && i > 0
                {
                    list.swap(i - 1, i);
                }
            });
        }
    };
    let close = {
        let address = address.clone();
        move |_| shown.update(|list| list.retain(|a| *a != address))
    };
    let mode = Mode::Owner {
        address: address.clone(),
    };
    view! {
        <section class="cell" data-testid="grid-cell" data-address=address.clone()>
            <header>
                <a href=format!("/s/{address}") data-testid="cell-open" title="open alone">{address.clone()}</a>
                {status_badge(signals.status)}
                <button data-testid="cell-earlier" title="move earlier" on:click=earlier>"◀"</button>
                <button data-testid="cell-close" title="take out of the grid" on:click=close>"×"</button>
            </header>
            {terminal(feed, mode, signals, false)}
        </section>
    }
}
