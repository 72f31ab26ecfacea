//! The dashboard's list of agents' grants: what each reaches and may do,
//! its note, expiry, and revoke. Tokens are never shown (the hub keeps
//! only their hashes); grants are made with `vtr grant create`.

use leptos::prelude::*;
use vtr_shared::ago::until;
use vtr_shared::proto as pb;
use vtr_shared::web::dashboard_request::Action;

use crate::dashboard::{Request, View};

/// Grants not yet expired (revoked ones included, until they expire).
#[component]
pub fn GrantList(
    view_state: RwSignal<View>,
    now: RwSignal<i64>,
    request: Request,
) -> impl IntoView {
    let grants = move || view_state.with(|v| v.grants.clone());
    view! {
        <Show when=move || view_state.with(|v| !v.grants.is_empty())>
            <section class="grants" data-testid="grants">
                <h2>"agent grants"</h2>
                <table>
                    <For
                        each=grants
                        key=|g| (g.id.clone(), g.revoked_at_ms)
                        children=move |g| grant_row(g, view_state, now, request)
                    />
                </table>
            </section>
        </Show>
    }
}

/// What a grant reaches, as people read it.
fn reach(g: &pb::GrantInfo) -> String {
    if g.spoke.is_empty() {
        g.labels.join(", ")
    } else {
        format!("all of spoke {}", g.spoke)
    }
}

fn grant_row(
    g: pb::GrantInfo,
    view_state: RwSignal<View>,
    now: RwSignal<i64>,
    request: Request,
) -> impl IntoView {
    let expires_at = g.expires_at_ms;
    let left = move || {
        let skew = view_state.with_untracked(|v| v.skew_ms);
        expires_at - now.get() - skew
    };
    let revoked = g.revoked_at_ms != 0;
    let state = move || {
        if revoked {
            "revoked"
        } else if left() <= 0 {
            "expired"
        } else {
            "live"
        }
    };
    let scope = match pb::GrantScope::try_from(g.scope) {
        Ok(pb::GrantScope::Control) => "control",
        _ => "observe",
    };
    let id = g.id.clone();
    let revoke = move |_| {
        let id = id.clone();
        request.with_value(|request| request(Action::RevokeGrant(pb::RevokeGrantRequest { id })))
    };
    view! {
        <tr data-testid=format!("grant-{}", g.id) data-state=state>
            <td><code title=g.id.clone()>{g.id.clone()}</code></td>
            <td data-testid="scope">{scope}</td>
            <td data-testid="reach">{reach(&g)}</td>
            <td class="note">{g.note.clone()}</td>
            <td>{move || match state() {
                "live" => format!("expires {}", until(left())),
                other => other.to_owned(),
            }}</td>
            <td title="who made it">{g.created_by.clone()}</td>
            <td>
                <Show when=move || state() == "live">
                    <button data-testid="revoke" on:click=revoke.clone()>"revoke"</button>
                </Show>
            </td>
        </tr>
    }
}
