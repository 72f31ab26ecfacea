//! The pane's agent grant, in its share panel: a token that lets an AI
//! agent (through the hub's MCP endpoint or gRPC) observe, or control,
//! this session alone until it expires. Shown once, with an agent host's
//! configuration; the dashboard lists and revokes grants.

use leptos::prelude::*;
use vtr_shared::proto as pb;
use vtr_shared::web::{self, pane_request::Request};

use crate::feed::{FeedCell, Signals, send};

/// Expiry choices: label and seconds (a grant lasts at most 30 days).
const TTLS: [(&str, u64); 4] = [
    ("1 hour", 3600),
    ("1 day", 86_400),
    ("7 days", 7 * 86_400),
    ("30 days", 30 * 86_400),
];

/// As the hub limits a grant's note.
const MAX_NOTE_CHARS: usize = 200;

/// A section of the pane's share panel.
#[component]
pub fn GrantPanel(feed: FeedCell, signals: Signals) -> impl IntoView {
    let ttl = RwSignal::new(TTLS[0].1);
    let control = RwSignal::new(false);
    let note = RwSignal::new(String::new());
    // One request at a time (a double click makes one grant); the answer,
    // a grant or a notice, ends it. (Closing the panel resets it too.)
    let pending = RwSignal::new(false);
    Effect::new(move |_| {
        let answered =
            signals.granted.with(Option::is_some) || signals.notice.with(|n| !n.is_empty());
        if answered {
            pending.set(false);
        }
    });
    let create = move |_| {
        if pending.get_untracked() {
            return;
        }
        signals.notice.set(String::new());
        signals.granted.set(None);
        let scope = if control.get_untracked() {
            pb::GrantScope::Control
        } else {
            pb::GrantScope::Observe
        };
        let asked = web::PaneGrant {
            scope: scope as i32,
            ttl_seconds: ttl.get_untracked(),
            note: note.get_untracked(),
        };
        if let Some(l) = feed.borrow().as_ref() {
            pending.set(true);
            send(l, Request::Grant(asked));
        }
    };
    view! {
        <div class="agent-grant" data-testid="grant-panel">
            <label>
                "let an AI agent "
                <select
                    data-testid="grant-scope"
                    on:change=move |ev| control.set(event_target_value(&ev) == "control")
                >
                    <option value="observe" selected=true>"observe (read only)"</option>
                    <option value="control">"control (type, run, kill)"</option>
                </select>
                " this session for "
                <select
                    data-testid="grant-ttl"
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
            <input
                data-testid="grant-note"
                placeholder="note: which agent (optional)"
                maxlength=MAX_NOTE_CHARS.to_string()
                on:input=move |ev| note.set(event_target_value(&ev))
            />
            <button data-testid="grant-create" disabled=move || pending.get() on:click=create>
                "create agent grant"
            </button>
            <Show when=move || control.get()>
                <p class="notice">
                    "Control of a shell is control of this account: the agent can run anything here."
                </p>
            </Show>
            {move || signals.granted.get().map(made)}
        </div>
    }
}

/// The token, shown this once, and an agent host's MCP configuration.
fn made(grant: pb::GrantInfo) -> impl IntoView {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let config = mcp_config(&format!("{origin}/mcp"), &grant.token);
    let copied = RwSignal::new(false);
    let copy = {
        let config = config.clone();
        move |_| {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&config);
                copied.set(true);
            }
        }
    };
    view! {
        <p>"Grant "<code>{grant.id.clone()}</code>" made. Its token, shown this once:"</p>
        <input class="share-url" data-testid="grant-token" readonly value=grant.token.clone() />
        <p>"For an agent host's MCP configuration:"</p>
        <textarea class="grant-config" data-testid="grant-config" readonly rows="10">{config}</textarea>
        <button data-testid="grant-copy" on:click=copy>
            {move || if copied.get() { "copied" } else { "copy the configuration" }}
        </button>
        <p>"The dashboard lists it; revoke it there."</p>
    }
}

fn mcp_config(url: &str, token: &str) -> String {
    let json = |s: &str| {
        js_sys::JSON::stringify(&s.into())
            .ok()
            .and_then(|j| j.as_string())
            .unwrap_or_default()
    };
    format!(
        "{{\n  \"mcpServers\": {{\n    \"vtr\": {{\n      \"type\": \"http\",\n      \"url\": {},\n      \"headers\": {{ \"Authorization\": {} }}\n    }}\n  }}\n}}",
        json(url),
        json(&format!("Bearer {token}"))
    )
}
