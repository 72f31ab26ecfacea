//! The vtr web app: mounts the page the URL asks for.
//! `/`: the dashboard; `/s/{spoke}:{session}`: a terminal pane.

mod dashboard;
mod pane;
mod socket;
mod xterm;

use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    let path = window().location().pathname().unwrap_or_default();
    match pane_address(&path) {
        Some(address) => {
            leptos::mount::mount_to_body(move || view! { <pane::Pane address=address.clone() /> })
        }
        None => leptos::mount::mount_to_body(dashboard::Dashboard),
    }
}

/// `spoke:session` from `/s/spoke:session` (percent-decoded).
fn pane_address(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/s/")?;
    let decoded = js_sys::decode_uri_component(rest).ok()?.as_string()?;
    (!decoded.is_empty()).then_some(decoded)
}
