//! The owner's pane on one `spoke:session`: the terminal (see `feed`),
//! search in scrollback, a key bar for touch screens, and the session's
//! share links with who watches through them.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::feed::{Feed, FeedCell, Mode, Signals, send_input};
use crate::session_keys;
use crate::share_panel::SharePanel;
use crate::term_view::{status_badge, terminal};

#[component]
pub fn Pane(address: String) -> impl IntoView {
    let signals = Signals::new();
    let status = signals.status;
    let ctrl = signals.ctrl;
    let alt = signals.alt;
    let help = RwSignal::new(false);
    let feed: FeedCell = Rc::new(RefCell::new(None));
    let search_text = RwSignal::new(String::new());
    // The last search found nothing: said next to the box.
    let search_missed = RwSignal::new(false);
    document().set_title(&format!("{address} - vtr"));
    let mode = Mode::Owner {
        address: address.clone(),
    };

    let send_keys = {
        let feed = feed.clone();
        move |bytes: &'static str| {
            if let Some(l) = feed.borrow().as_ref() {
                send_input(l, bytes.as_bytes());
                l.term.focus();
            }
        }
    };
    let key = move |label: &'static str, bytes: &'static str| {
        let send_keys = send_keys.clone();
        view! {
            <button data-testid=format!("key-{label}") on:click=move |_| send_keys(bytes)>{label}</button>
        }
    };
    // Ctrl and Alt on the key bar hold for the next key typed.
    let modifier = |held: fn(&mut Feed) -> &mut bool, shown: RwSignal<bool>| {
        let feed = feed.clone();
        move |_| {
            if let Some(l) = feed.borrow_mut().as_mut() {
                let on = held(l);
                *on = !*on;
                shown.set(*on);
                l.term.focus();
            }
        }
    };
    let toggle_ctrl = modifier(|l| &mut l.ctrl, ctrl);
    let toggle_alt = modifier(|l| &mut l.alt, alt);
    // Older is up: with nothing selected a search starts from the newest
    // output, as `less` and a shell's history search do.
    let find = {
        let feed = feed.clone();
        move |older: bool| {
            if let Some(l) = feed.borrow().as_ref() {
                let text = search_text.get_untracked();
                let found = if older {
                    l.search.find_previous(&text)
                } else {
                    l.search.find_next(&text)
                };
                search_missed.set(!found && !text.is_empty());
            }
        }
    };
    let find_next = find.clone();
    let page = NodeRef::<leptos::html::Div>::new();
    follow_visual_viewport(page, feed.clone());
    session_keys::listen(signals.neighbours);

    view! {
        <div class="pane-page" node_ref=page>
            <header class="top">
                <a href="/">"vtr"</a>
                <span class="address" data-testid="pane-address">
                    {let address = address.clone(); move || signals.renamed.get().unwrap_or_else(|| address.clone())}
                </span>
                {status_badge(status)}
                <input
                    class="search"
                    placeholder="search scrollback"
                    data-testid="search"
                    class:missed=move || search_missed.get()
                    on:input=move |ev| {
                        search_text.set(event_target_value(&ev));
                        search_missed.set(false);
                    }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            // Enter: the next older match; Shift+Enter: newer.
                            find_next(!ev.shift_key());
                        }
                    }
                />
                <Show when=move || search_missed.get()>
                    <span class="missed" data-testid="search-missed">"no match"</span>
                </Show>
                <button data-testid="search-prev" title="older match (Enter)" on:click={let find = find.clone(); move |_| find(true)}>"↑"</button>
                <button data-testid="search-next" title="newer match (Shift+Enter)" on:click=move |_| find(false)>"↓"</button>
                <button data-testid="command-prev" title="the command before (from the shell's prompt marks)" on:click={let feed = feed.clone(); move |_| jump(&feed, true)}>"⤒"</button>
                <button data-testid="command-next" title="the command after" on:click={let feed = feed.clone(); move |_| jump(&feed, false)}>"⤓"</button>
                <SharePanel feed=feed.clone() signals />
                <button data-testid="help" title="keys, copy and paste" on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
            </header>
            <Show when=move || help.get()>
                <div class="help-panel" data-testid="help-panel">
                    <p><b>"Copy: "</b>"select text; it is copied as you select."</p>
                    <p><b>"Paste: "</b>"Ctrl+Shift+V (Cmd+V on a Mac), or the browser's paste. Ctrl+V sends ^V to the program, as in any terminal."</p>
                    <p><b>"Search: "</b>"Enter finds the next older match, Shift+Enter the next newer."</p>
                    <p><b>"Commands: "</b>"⤒ and ⤓ jump to the command before or after; a failed one is marked red at its start and in the scrollbar (bash and zsh started by vtr mark their prompts)."</p>
                    <p><b>"Other sessions: "</b>"Ctrl+Shift+← and → open the one before or after this in the dashboard's order; Ctrl+Shift+↑ the dashboard's quick switcher."</p>
                    <p><b>"Key bar: "</b>"Ctrl and Alt apply to the next key typed; ^C, ^D, ^Z and ^L send those chords."</p>
                    <button data-testid="help-close" on:click=move |_| help.set(false)>"close"</button>
                </div>
            </Show>
            {terminal(feed.clone(), mode, signals, true)}
            <nav class="keybar" data-testid="keybar">
                {key("Esc", "\u{1b}")}
                {key("Tab", "\t")}
                <button
                    class=move || if ctrl.get() { "on" } else { "" }
                    data-testid="key-Ctrl"
                    on:click=toggle_ctrl
                >"Ctrl"</button>
                <button
                    class=move || if alt.get() { "on" } else { "" }
                    data-testid="key-Alt"
                    on:click=toggle_alt
                >"Alt"</button>
                {key("^C", "\u{3}")}
                {key("^D", "\u{4}")}
                {key("^Z", "\u{1a}")}
                {key("^L", "\u{c}")}
                {key("←", "\u{1b}[D")}
                {key("↑", "\u{1b}[A")}
                {key("↓", "\u{1b}[B")}
                {key("→", "\u{1b}[C")}
            </nav>
        </div>
    }
}

/// Scrolls to the command line before or after the first line shown.
fn jump(feed: &FeedCell, older: bool) {
    if let Some(l) = feed.borrow().as_ref() {
        l.marks.jump(&l.term, older);
    }
}

/// A phone's soft keyboard shrinks the visual viewport, not the page: the
/// page follows it, so the terminal refits above the keyboard (the PTY
/// with it) and the cursor line stays in view.
fn follow_visual_viewport(page: NodeRef<leptos::html::Div>, feed: FeedCell) {
    let Some(viewport) = window().visual_viewport() else {
        return;
    };
    let measured = viewport.clone();
    let resized = Closure::<dyn FnMut()>::new(move || {
        let Some(el) = page.get_untracked() else {
            return;
        };
        let height = format!("{}px", measured.height());
        let _ = web_sys::HtmlElement::style(&el).set_property("height", &height);
        if let Some(l) = feed.borrow().as_ref() {
            l.refit();
        }
    });
    let _ = viewport.add_event_listener_with_callback("resize", resized.as_ref().unchecked_ref());
    resized.forget();
}
