//! The pane's share links: make a read-only link with an expiry, see who
//! watches (owner panes, and viewers through each link), revoke a link;
//! and below them, an agent's grant to the session.

use leptos::prelude::*;
use vtr_shared::ago::until;
use vtr_shared::proto as pb;
use vtr_shared::web::pane_request::Request;

use crate::feed::{FeedCell, Signals, send};
use crate::grant_panel::GrantPanel;

/// Expiry choices: label and seconds.
const TTLS: [(&str, u64); 4] = [
    ("15 min", 15 * 60),
    ("1 hour", 3600),
    ("1 day", 86_400),
    ("7 days", 7 * 86_400),
];

#[component]
pub fn SharePanel(feed: FeedCell, signals: Signals) -> impl IntoView {
    let open = RwSignal::new(false);
    let ttl = RwSignal::new(TTLS[1].1);
    // For the grant section (the panel's children must be Send).
    let grant_feed = StoredValue::new_local(feed.clone());
    let request = move |r: Request| {
        if let Some(l) = feed.borrow().as_ref() {
            send(l, r);
        }
    };
    let request = StoredValue::new_local(request);
    let create = move |_| {
        signals.notice.set(String::new());
        request.with_value(|r| r(Request::ShareTtlSeconds(ttl.get_untracked())));
    };
    let watchers = move || {
        signals.presence.with(|p| {
            p.as_ref().map_or(0, |p| {
                p.panes + p.links.iter().map(|l| l.viewers).sum::<u32>()
            })
        })
    };
    let links = move || {
        signals
            .presence
            .with(|p| p.as_ref().map(|p| p.links.clone()).unwrap_or_default())
    };
    view! {
        <span class="watchers" data-testid="watchers" title="panes and link viewers on this session">
            {move || format!("{} watching", watchers())}
        </span>
        <button
            data-testid="share"
            on:click=move |_| {
                open.update(|o| *o = !*o);
                // A grant's token is shown once: not again on reopening.
                if !open.get_untracked() {
                    signals.granted.set(None);
                }
            }
        >"share"</button>
        <Show when=move || open.get()>
            <div class="share-panel" data-testid="share-panel">
                <label>
                    "read-only link for "
                    <select
                        data-testid="share-ttl"
                        on:change=move |ev| {
                            if let Ok(s) = event_target_value(&ev).parse() {
                                ttl.set(s);
                            }
                        }
                    >
                        {TTLS
                            .iter()
                            .map(|(label, secs)| {
                                view! {
                                    <option value=secs.to_string() selected=*secs == ttl.get_untracked()>
                                        {*label}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <button data-testid="share-create" on:click=create>"create link"</button>
                {move || signals.shared.get().map(|s| view! {
                    <input class="share-url" data-testid="share-url" readonly value=s.url />
                })}
                <p class="notice" data-testid="notice">{move || signals.notice.get()}</p>
                <ul class="links" data-testid="links">
                    <For
                        each=links
                        key=|l| (l.id.clone(), l.viewers, l.expires_at_ms)
                        children=move |l| link_row(l, request)
                    />
                </ul>
                <GrantPanel feed=grant_feed.get_value() signals />
            </div>
        </Show>
    }
}

fn link_row(
    l: pb::ShareInfo,
    request: StoredValue<impl Fn(Request) + 'static, LocalStorage>,
) -> impl IntoView {
    let id = l.id.clone();
    let short: String = l.id.chars().take(8).collect();
    let expires = until(l.expires_at_ms - js_sys::Date::now() as i64);
    view! {
        <li data-testid=format!("link-{}", l.id)>
            <code title=l.url.clone()>{short}</code>
            " expires "{expires}", "
            <span data-testid="viewers">{format!("{} viewing", l.viewers)}</span>
            " "
            <button
                data-testid="revoke"
                on:click=move |_| request.with_value(|r| r(Request::RevokeShare(id.clone())))
            >"revoke"</button>
        </li>
    }
}
