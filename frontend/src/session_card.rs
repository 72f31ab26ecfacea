//! One session's card on the dashboard: its address, status, command,
//! preview and notices, and its actions (open, rename, kill and remove
//! after a second click, mute, pick for a grid).

use std::collections::HashMap;

use leptos::prelude::*;
use vtr_shared::proto::{self as pb, SessionStatus};
use vtr_shared::web::dashboard_request::Action;

use crate::alerts::Alerts;
use crate::dashboard::Request;

/// The one rename box open on the dashboard: which session's, and what is
/// typed in it. A push that rebuilds the card (its session went idle, say)
/// rebuilds the box with the text and the caret where they were.
#[derive(Clone, Copy)]
pub struct Rename {
    /// The session's `spoke:name`.
    editing: RwSignal<Option<String>>,
    /// Not reactive: read when a box is built, written as it is typed in.
    draft: StoredValue<Option<String>>,
}

impl Rename {
    pub fn new() -> Self {
        Rename {
            editing: RwSignal::new(None),
            draft: StoredValue::new(None),
        }
    }

    fn close(self) {
        self.draft.set_value(None);
        self.editing.set(None);
    }
}

pub fn session_card(
    s: pb::SessionInfo,
    previews: RwSignal<HashMap<String, Vec<String>>>,
    rename: Rename,
    picked: RwSignal<Vec<String>>,
    alerts: RwSignal<Alerts>,
    request: Request,
) -> impl IntoView {
    let address = format!("{}:{}", s.spoke, s.name);
    let pick = {
        let address = address.clone();
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            picked.update(|p| {
                p.retain(|a| *a != address);
                if on && p.len() < crate::grid::MAX_PANES {
                    p.push(address.clone());
                }
            });
        }
    };
    let is_picked = {
        let address = address.clone();
        move || picked.with(|p| p.contains(&address))
    };
    let key = format!("{}:{}", s.spoke, s.id);
    let unseen = {
        let key = key.clone();
        move || alerts.with(|a| a.unseen.get(&key).copied().unwrap_or(0))
    };
    let seen = {
        let key = key.clone();
        move |_| {
            alerts.update(|a| {
                a.unseen.remove(&key);
            })
        }
    };
    let muted = {
        let key = key.clone();
        move || alerts.with(|a| a.muted.contains(&key))
    };
    let mute = {
        let key = key.clone();
        move |_| alerts.update(|a| a.toggle_mute(&key))
    };
    let status = match SessionStatus::try_from(s.status).unwrap_or_default() {
        SessionStatus::Exited => "exited",
        _ if s.stale => "stale",
        _ if s.idle => "idle",
        _ => "running",
    };
    let command = std::iter::once(s.command.clone())
        .chain(s.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let preview = move || previews.with(|m| m.get(&key).map(|l| l.join("\n")).unwrap_or_default());
    // Kill and remove ask twice: the first click arms the button for a
    // few seconds ("confirm kill"), the second acts.
    let armed = RwSignal::new(false);
    let kill = {
        let address = address.clone();
        move |_| {
            if !confirmed(armed) {
                return;
            }
            request.with_value(|request| {
                request(Action::Kill(pb::KillRequest {
                    session: address.clone(),
                    signal: String::new(),
                }))
            })
        }
    };
    let remove = {
        let address = address.clone();
        move |_| {
            if !confirmed(armed) {
                return;
            }
            request.with_value(|request| {
                request(Action::Remove(pb::RemoveRequest {
                    session: address.clone(),
                    force: false,
                }))
            })
        }
    };
    let editing = {
        let address = address.clone();
        move || {
            rename
                .editing
                .with(|r| r.as_deref() == Some(address.as_str()))
        }
    };
    let start_rename = {
        let address = address.clone();
        move |_| rename.editing.set(Some(address.clone()))
    };
    let rename_box = {
        let address = address.clone();
        let name = s.name.clone();
        move || {
            let address = address.clone();
            let input = NodeRef::<leptos::html::Input>::new();
            // A box rebuilt by a push goes on with what was typed, the
            // caret at its end; a new one starts from the name, selected.
            let draft = rename.draft.get_value();
            let rebuilt = draft.is_some();
            input.on_load(move |el| {
                let _ = el.focus();
                if rebuilt {
                    let end = el.value().encode_utf16().count() as u32;
                    let _ = el.set_selection_range(end, end);
                } else {
                    el.select();
                }
            });
            view! {
                <input
                    class="rename"
                    data-testid="rename-input"
                    node_ref=input
                    value=draft.unwrap_or_else(|| name.clone())
                    on:input=move |ev| rename.draft.set_value(Some(event_target_value(&ev)))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
                        "Enter" => {
                            let new_name = event_target_value(&ev);
                            rename.close();
                            request.with_value(|request| {
                                request(Action::Rename(pb::RenameRequest {
                                    session: address.clone(),
                                    new_name,
                                }))
                            });
                        }
                        "Escape" => rename.close(),
                        _ => {}
                    }
                    // Leaving the box cancels it. A push that rebuilds the
                    // card blurs the box too, just before removing it: so
                    // the box is looked at once this turn is over, and one
                    // gone from the page leaves the rebuilt box open.
                    on:blur=move |_| {
                        let Some(el) = input.get_untracked() else { return };
                        set_timeout(
                            move || {
                                if el.is_connected() {
                                    rename.close();
                                }
                            },
                            std::time::Duration::ZERO,
                        );
                    }
                />
            }
        }
    };
    let exited = status == "exited";
    let href = format!("/s/{address}");
    view! {
        <article class=format!("card {status}") data-testid=format!("session-{address}") data-status=status data-attention=s.attention>
            <header>
                <a href=href data-testid="open" on:click=seen>{address.clone()}</a>
                {move || (unseen() > 0).then(|| view! {
                    <span class="unseen" data-testid="unseen" title="notices since it was last opened">{unseen()}</span>
                })}
                <span class="status" data-testid="status">{status}</span>
            </header>
            <div class="meta">
                <code>{command}</code>
                {(!s.created_by.is_empty()).then(|| view! {
                    <span class="by" data-testid="created-by">{format!("by {}", s.created_by)}</span>
                })}
                <span>{format!("{}x{}", s.cols, s.rows)}</span>
            </div>
            <pre class="preview" data-testid="preview">{preview}</pre>
            <footer>
                <button data-testid="mute" title="no notices from this session" on:click=mute>
                    {move || if muted() { "unmute" } else { "mute" }}
                </button>
                <label class="pick" title="open together with the others picked">
                    <input type="checkbox" data-testid="pick" prop:checked=is_picked on:change=pick />
                    "grid"
                </label>
                <Show
                    when=editing
                    fallback=move || view! {
                        <button on:click=start_rename.clone() data-testid="rename">"rename"</button>
                    }
                >
                    {rename_box.clone()}
                </Show>
                <Show
                    when=move || exited
                    fallback=move || view! {
                        <button on:click=kill.clone() data-testid="kill" class:armed=move || armed.get()>
                            {move || if armed.get() { "confirm kill" } else { "kill" }}
                        </button>
                    }
                >
                    <button on:click=remove.clone() data-testid="remove" class:armed=move || armed.get()>
                        {move || if armed.get() { "confirm remove" } else { "remove" }}
                    </button>
                </Show>
            </footer>
        </article>
    }
}

/// How long a destructive button stays armed after its first click.
const ARMED_MS: u64 = 4000;

/// A click on a button that asks twice: `true` when it was armed (act
/// now), otherwise arms it for `ARMED_MS`.
fn confirmed(armed: RwSignal<bool>) -> bool {
    if armed.get_untracked() {
        armed.set(false);
        return true;
    }
    armed.set(true);
    // The card may be gone by then.
    set_timeout(
        move || {
            armed.try_set(false);
        },
        std::time::Duration::from_millis(ARMED_MS),
    );
    false
}
