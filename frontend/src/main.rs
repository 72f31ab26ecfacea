//! The vtr web app: mounts the page the URL asks for.
//! `/`: the dashboard; `/s/{spoke}:{session}`: a terminal pane;
//! `/share/{token}`: a share link's read-only viewer; `/grid?s=..&s=..`:
//! several panes side by side.

mod alerts;
mod commands;
mod dashboard;
mod feed;
mod grant_list;
mod grant_panel;
mod grid;
mod icon;
mod pane;
mod session_card;
mod session_keys;
mod share_list;
mod share_panel;
mod socket;
mod status;
mod term_view;
mod viewer;
mod xterm;

use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    let path = window().location().pathname().unwrap_or_default();
    if let Some(address) = segment(&path, "/s/") {
        leptos::mount::mount_to_body(move || view! { <pane::Pane address=address.clone() /> });
    } else if path == "/grid" {
        let query = window().location().search().unwrap_or_default();
        let addresses = grid::addresses(&query);
        leptos::mount::mount_to_body(move || view! { <grid::Grid addresses=addresses.clone() /> });
    } else if let Some(token) = segment(&path, "/share/") {
        leptos::mount::mount_to_body(move || view! { <viewer::Viewer token=token.clone() /> });
    } else {
        leptos::mount::mount_to_body(dashboard::Dashboard);
    }
}

/// What follows `prefix` in `path` (percent-decoded), if anything.
fn segment(path: &str, prefix: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    let decoded = js_sys::decode_uri_component(rest).ok()?.as_string()?;
    (!decoded.is_empty()).then_some(decoded)
}
