//! The tab's icon: the app's mark, with a green dot while something runs
//! (the dashboard: any session producing output; a pane: output arrived
//! while the tab was hidden).

/// As `index.html` has it.
const IDLE: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23111418'/%3E%3Cpath \
d='M3 4l4 4-4 4' stroke='%234caf50' stroke-width='2' fill='none'/%3E%3Cpath d='M8 12h5' \
stroke='%23d8dee9' stroke-width='2'/%3E%3C/svg%3E";

const BUSY: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23111418'/%3E%3Cpath \
d='M3 4l4 4-4 4' stroke='%234caf50' stroke-width='2' fill='none'/%3E%3Cpath d='M8 12h5' \
stroke='%23d8dee9' stroke-width='2'/%3E%3Ccircle cx='12.5' cy='3.5' r='3' \
fill='%234caf50'/%3E%3C/svg%3E";

/// Shows the busy icon, or the plain one.
pub fn show(busy: bool) {
    let Some(link) = leptos::prelude::document()
        .query_selector("link[rel=icon]")
        .ok()
        .flatten()
    else {
        return;
    };
    let href = if busy { BUSY } else { IDLE };
    if link.get_attribute("href").as_deref() != Some(href) {
        let _ = link.set_attribute("href", href);
        let _ = link.set_attribute("data-busy", if busy { "1" } else { "0" });
    }
}
