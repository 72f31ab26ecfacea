//! Keyboard shortcuts that move a pane to another session, taken before
//! the terminal sees the keys: Ctrl+Shift+← and → open the session before
//! and after this one in the dashboard's order (the hub tells the pane
//! which, `PaneEvent.neighbours`), Ctrl+Shift+↑ the dashboard's quick
//! switcher.

use leptos::prelude::*;
use vtr_shared::web;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

/// The dashboard address that opens with its quick switcher focused.
pub const SWITCHER: &str = "/#find";

/// Listens for the shortcuts while the page lives (a move is a new page).
pub fn listen(neighbours: RwSignal<Option<web::Neighbours>>) {
    let pressed =
        Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |ev: web_sys::KeyboardEvent| {
            if !(ev.ctrl_key() && ev.shift_key()) || ev.alt_key() || ev.meta_key() {
                return;
            }
            let around = neighbours.get_untracked().unwrap_or_default();
            let to = match ev.key().as_str() {
                "ArrowLeft" => session_path(&around.previous),
                "ArrowRight" => session_path(&around.next),
                "ArrowUp" => Some(SWITCHER.to_owned()),
                _ => return,
            };
            // Taken even with nowhere to go: the terminal never gets it.
            ev.prevent_default();
            ev.stop_propagation();
            if let Some(to) = to {
                let _ = window().location().set_href(&to);
            }
        });
    // Capture: before xterm's own handler on its text area.
    let _ = window().add_event_listener_with_callback_and_bool(
        "keydown",
        pressed.as_ref().unchecked_ref(),
        true,
    );
    pressed.forget();
}

fn session_path(address: &str) -> Option<String> {
    (!address.is_empty()).then(|| format!("/s/{}", js_sys::encode_uri_component(address)))
}
