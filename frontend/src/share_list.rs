//! The dashboard's list of share links: session, expiry, viewers, revoke.

use leptos::prelude::*;
use vtr_shared::ago::until;
use vtr_shared::proto as pb;
use vtr_shared::web::dashboard_request::Action;

use crate::dashboard::{Request, View};

/// Share links not yet expired: session, expiry, viewers, revoke.
#[component]
pub fn ShareList(
    view_state: RwSignal<View>,
    now: RwSignal<i64>,
    request: Request,
) -> impl IntoView {
    let shares = move || view_state.with(|v| v.shares.clone());
    view! {
        <Show when=move || view_state.with(|v| !v.shares.is_empty())>
            <section class="shares" data-testid="shares">
                <h2>"share links"</h2>
                <table>
                    <For
                        each=shares
                        key=|s| (s.id.clone(), s.viewers, s.revoked_at_ms, s.session_gone, s.session.clone())
                        children=move |s| share_row(s, view_state, now, request)
                    />
                </table>
            </section>
        </Show>
    }
}

fn share_row(
    s: pb::ShareInfo,
    view_state: RwSignal<View>,
    now: RwSignal<i64>,
    request: Request,
) -> impl IntoView {
    let expires_at = s.expires_at_ms;
    let expires = move || {
        let skew = view_state.with_untracked(|v| v.skew_ms);
        until(expires_at - now.get() - skew)
    };
    let revoked = s.revoked_at_ms != 0;
    // The session ended (or went with its spoke): the link shows nothing.
    let gone = !revoked && s.session_gone;
    let id = s.id.clone();
    let revoke = move |_| {
        let id = id.clone();
        request.with_value(|request| request(Action::RevokeShare(pb::RevokeShareRequest { id })))
    };
    view! {
        <tr data-testid=format!("share-{}", s.id) data-state=if revoked { "revoked" } else if gone { "gone" } else { "live" }>
            <td><code title=s.id.clone()>{s.id.chars().take(8).collect::<String>()}</code></td>
            <td>{s.session.clone()}</td>
            <td>{if revoked {
                "revoked".into_any()
            } else if gone {
                "session ended".into_any()
            } else {
                view! { "expires " {expires} }.into_any()
            }}</td>
            <td data-testid="viewers">{format!("{} viewing", s.viewers)}</td>
            // A revoked link, or one whose session ended, opens nothing.
            <td>{(!revoked && !gone).then(|| view! { <a href=s.url.clone() target="_blank">"link"</a> })}</td>
            <td>
                <Show when=move || !revoked>
                    <button data-testid="revoke" on:click=revoke.clone()>"revoke"</button>
                </Show>
            </td>
        </tr>
    }
}
