//! The dashboard: spoke health strip, merged session grid with previews,
//! spawn / kill / rename. Everything arrives over one WebSocket.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use prost::Message;
use vtr_shared::ago::{ago, count};
use vtr_shared::cards;
use vtr_shared::notices::Tracker;
use vtr_shared::proto::{self as pb, SessionStatus, SpokeState};
use vtr_shared::web::{self, dashboard_event::Event, dashboard_request::Action};

use crate::alerts::{self, Alerts};
use crate::grant_list::GrantList;
use crate::icon;
use crate::session_card::{Rename, session_card};
use crate::share_list::ShareList;
use crate::socket::Socket;

/// Sends one dashboard action (held where views can reach it).
pub type Request = StoredValue<Box<dyn Fn(Action)>, LocalStorage>;

/// Wait before reconnecting after the hub went away.
const RECONNECT_MS: i32 = 1000;

#[derive(Clone, Default)]
pub struct View {
    spokes: Vec<pb::SpokeInfo>,
    sessions: Vec<pb::SessionInfo>,
    pub shares: Vec<pb::ShareInfo>,
    pub grants: Vec<pb::GrantInfo>,
    hub: String,
    you: String,
    /// Hub clock minus ours, so "12 s ago" uses the hub's times.
    pub skew_ms: i64,
}

impl View {
    /// A push applied: the first on a socket holds everything, later ones
    /// what changed since (`web.proto`'s `Dashboard`).
    fn push(&mut self, d: web::Dashboard) {
        self.skew_ms = d.now_ms - js_sys::Date::now() as i64;
        self.you = d.you;
        self.hub = d.hub;
        if !d.partial {
            self.sessions = d.sessions;
            cards::sort(&mut self.sessions);
            self.spokes = d.spokes;
            self.shares = d.shares;
            self.grants = d.grants;
            return;
        }
        cards::apply(&mut self.sessions, d.sessions, &d.removed);
        if d.spokes_changed {
            self.spokes = d.spokes;
        }
        if d.shares_changed {
            self.shares = d.shares;
        }
        if d.grants_changed {
            self.grants = d.grants;
        }
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let view_state = RwSignal::new(View::default());
    let previews = RwSignal::new(HashMap::<String, Vec<String>>::new());
    let connected = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    let now = RwSignal::new(js_sys::Date::now() as i64);
    // "12 s ago" keeps moving.
    set_interval(
        move || now.set(js_sys::Date::now() as i64),
        std::time::Duration::from_secs(1),
    );
    let socket: Rc<RefCell<Option<Socket>>> = Rc::new(RefCell::new(None));
    let alerts = RwSignal::new(Alerts::load());
    let notify_state = RwSignal::new(alerts::permission());
    let listen = Listen {
        tracker: Rc::new(RefCell::new(Tracker::default())),
        alerts,
    };
    connect(
        socket.clone(),
        view_state,
        previews,
        connected,
        message,
        listen,
    );
    let next_id = Rc::new(RefCell::new(0u32));
    let request = {
        let socket = socket.clone();
        move |action: Action| {
            let mut id = next_id.borrow_mut();
            *id += 1;
            let frame = web::DashboardRequest {
                id: *id,
                action: Some(action),
            }
            .encode_to_vec();
            if let Some(socket) = socket.borrow().as_ref() {
                socket.send(&frame);
            }
        }
    };
    let request: Request = StoredValue::new_local(Box::new(request));
    let rename = Rename::new();
    // Sessions picked to open together in a grid, in the order picked.
    let picked = RwSignal::new(Vec::<String>::new());
    // The quick switcher: "/" focuses it, typing narrows the cards, Enter
    // opens the first.
    let filter = RwSignal::new(String::new());
    let filter_box = NodeRef::<leptos::html::Input>::new();
    let _slash = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = document()
            .active_element()
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        if ev.key() == "/"
            && !typing
            && let Some(input) = filter_box.get()
        {
            ev.prevent_default();
            let _ = input.focus();
        }
    });
    // A pane's Ctrl+Shift+↑ comes here with the switcher to be focused.
    Effect::new(move |_| {
        let asked = window().location().hash().is_ok_and(|h| h == "#find");
        if asked && let Some(input) = filter_box.get() {
            let _ = input.focus();
        }
    });
    let shown = move || {
        view_state.with(|v| {
            let f = filter.get().to_lowercase();
            v.sessions
                .iter()
                .filter(|s| f.is_empty() || finds(s, &f))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    // The tab's icon says when something runs.
    Effect::new(move |_| {
        let busy = view_state.with(|v| v.sessions.iter().any(busy));
        icon::show(busy);
    });

    view! {
        <header class="top">
            <h1>"vtr"</h1>
            <span class="hub" data-testid="hub-name">{move || view_state.with(|v| v.hub.clone())}</span>
            <Show when=move || view_state.with(|v| !v.you.is_empty() && v.you != "local")>
                <form class="you" method="post" action="/logout" data-testid="you">
                    {move || view_state.with(|v| v.you.clone())}
                    " "
                    <button type="submit" data-testid="sign-out">"sign out"</button>
                </form>
            </Show>
            <button
                data-testid="notify"
                title="browser notifications for bells, notifications, finished and exited sessions"
                disabled=move || notify_state.get() != "ask"
                on:click=move |_| alerts::ask(move || notify_state.set(alerts::permission()))
            >
                {move || match notify_state.get() {
                    "on" => "notifications on",
                    "off" => "notifications blocked",
                    _ => "notify me",
                }}
            </button>
            <span class="conn" data-testid="hub-connection">
                {move || if connected.get() { "connected" } else { "hub unreachable: reconnecting" }}
            </span>
        </header>
        <section class="spokes" data-testid="spokes">
            <For
                each=move || view_state.with(|v| v.spokes.clone())
                key=|s| (s.name.clone(), s.state, s.last_seen_ms, s.rtt_us, s.sessions)
                children=move |s| spoke_chip(s, view_state, now)
            />
        </section>
        <SpawnForm view_state request />
        <p class="message" data-testid="message">{move || message.get()}</p>
        <Show when=move || alerts.with(|a| !a.recent.is_empty())>
            <section class="events" data-testid="events">
                <h2>"recent"</h2>
                <button data-testid="events-clear" on:click=move |_| alerts.update(|a| a.recent.clear())>"clear"</button>
                <ul>
                    {move || alerts.with(|a| a.recent.iter().map(|n| view! {
                        <li data-testid="event" data-kind=n.kind.name()>
                            <a href=format!("/s/{}", n.address)>{n.address.clone()}</a>
                            " "{n.kind.name()}": "{n.text.clone()}
                        </li>
                    }).collect_view())}
                </ul>
            </section>
        </Show>
        <Show when=move || picked.with(|p| !p.is_empty())>
            <p class="picked">
                <a data-testid="open-grid" href=move || picked.with(|p| crate::grid::url(p))>
                    {move || format!("open {} together", count(picked.with(Vec::len) as u64, "session"))}
                </a>
            </p>
        </Show>
        <ShareList view_state now request />
        <GrantList view_state now request />
        <div class="find">
            <input
                class="filter"
                data-testid="filter"
                placeholder="find a session ( / )"
                node_ref=filter_box
                prop:value=filter
                on:input=move |ev| filter.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
                    "Enter" => {
                        if let Some(s) = shown().first() {
                            let _ = window().location().assign(&format!("/s/{}:{}", s.spoke, s.name));
                        }
                    }
                    "Escape" => filter.set(String::new()),
                    _ => {}
                }
            />
        </div>
        {move || {
            let all = view_state.with(|v| v.sessions.len());
            if all == 0 && connected.get() {
                Some(view! {
                    <p class="empty" data-testid="no-sessions">
                        "No sessions yet. Start one with the form above, or run "
                        <code>"vtr spawn NAME"</code>" on any machine with a spoke."
                    </p>
                }.into_any())
            } else if all > 0 && shown().is_empty() {
                Some(view! {
                    <p class="empty" data-testid="no-match">{format!("No session matches \"{}\".", filter.get())}</p>
                }.into_any())
            } else {
                None
            }
        }}
        <section class="grid" data-testid="sessions">
            // Keyed by what a card shows: a push rebuilds only the cards
            // that changed (an open rename box survives the others).
            <For
                each=shown
                key=|s| (s.spoke.clone(), s.id.clone(), s.name.clone(), s.status, s.stale, s.idle, s.cols, s.rows, s.attention)
                children=move |s| session_card(s, previews, rename, picked, alerts, request)
            />
        </section>
    }
}

/// What turns pushes into notices: the last list seen (kept across
/// reconnects, so what happened meanwhile is told) and where they go.
#[derive(Clone)]
struct Listen {
    tracker: Rc<RefCell<Tracker>>,
    alerts: RwSignal<Alerts>,
}

fn connect(
    socket: Rc<RefCell<Option<Socket>>>,
    view_state: RwSignal<View>,
    previews: RwSignal<HashMap<String, Vec<String>>>,
    connected: RwSignal<bool>,
    message: RwSignal<String>,
    listen: Listen,
) {
    let heard = listen.clone();
    let retry = socket.clone();
    let opened = Socket::open(
        "/ws/dashboard",
        move || connected.set(true),
        move |frame| {
            let Ok(event) = web::DashboardEvent::decode(frame.as_slice()) else {
                return;
            };
            match event.event {
                Some(Event::Dashboard(d)) => {
                    view_state.update(|v| v.push(d));
                    let notices = view_state.with_untracked(|v| {
                        heard
                            .tracker
                            .borrow_mut()
                            .update(&v.sessions, js_sys::Date::now() as i64)
                    });
                    if !notices.is_empty() {
                        heard.alerts.update(|a| a.told(notices));
                    }
                }
                Some(Event::Preview(p)) => previews.update(|m| {
                    m.insert(p.session, p.lines);
                }),
                Some(Event::Result(r)) => message.set(match (&r.grant, r.error.is_empty()) {
                    (Some(grant), true) => format!("revoked grant {}", grant.id),
                    (None, true) => format!("ok: {}", r.session),
                    (_, false) => r.error,
                }),
                None => {}
            }
        },
        move |code, _| {
            connected.set(false);
            // The sign-in ended (here or everywhere): sign in again.
            if code == vtr_shared::close::SIGNED_OUT {
                let _ = window().location().assign("/login");
                return;
            }
            let retry = retry.clone();
            let listen = listen.clone();
            set_timeout(
                move || connect(retry, view_state, previews, connected, message, listen),
                std::time::Duration::from_millis(RECONNECT_MS as u64),
            );
        },
    );
    match opened {
        Ok(s) => *socket.borrow_mut() = Some(s),
        Err(_) => connected.set(false),
    }
}

/// Whether the quick switcher's text (lower case) finds `s`: in its
/// address, title or command line.
fn finds(s: &pb::SessionInfo, f: &str) -> bool {
    format!("{}:{}", s.spoke, s.name).to_lowercase().contains(f)
        || s.title.to_lowercase().contains(f)
        || s.command.to_lowercase().contains(f)
        || s.args.iter().any(|a| a.to_lowercase().contains(f))
}

/// Running and producing output now.
fn busy(s: &pb::SessionInfo) -> bool {
    s.status == SessionStatus::Running as i32 && !s.idle && !s.stale
}

fn spoke_chip(s: pb::SpokeInfo, view_state: RwSignal<View>, now: RwSignal<i64>) -> impl IntoView {
    let state = match SpokeState::try_from(s.state).unwrap_or_default() {
        SpokeState::Healthy => "healthy",
        SpokeState::Degraded => "degraded",
        SpokeState::Unreachable => "unreachable",
        SpokeState::Connecting | SpokeState::Unspecified => "connecting",
    };
    let last_seen = s.last_seen_ms;
    // The hub probes a spoke every 2 s and pushes only changes: one that
    // stays healthy (or degraded) was seen just now, whatever time the
    // last push carried.
    let live = matches!(state, "healthy" | "degraded");
    let seen = move || {
        if last_seen == 0 {
            "never".to_owned()
        } else if live {
            "just now".to_owned()
        } else {
            let skew = view_state.with_untracked(|v| v.skew_ms);
            ago(now.get() + skew - last_seen)
        }
    };
    let rtt = if s.rtt_us == 0 {
        String::new()
    } else {
        format!("{:.1} ms", f64::from(s.rtt_us) / 1000.0)
    };
    view! {
        <div class=format!("spoke {state}") data-testid=format!("spoke-{}", s.name) data-state=state>
            <b>{s.name.clone()}</b>
            <span class="state" data-testid="state">{state}</span>
            <span class="seen" data-testid="last-seen">"seen "{seen}</span>
            <span class="rtt">{rtt}</span>
            <span class="version">{format!("v{}", s.version)}</span>
            <span class="count" data-testid="count">{count(s.sessions.into(), "session")}</span>
        </div>
    }
}

#[component]
fn SpawnForm(view_state: RwSignal<View>, request: Request) -> impl IntoView {
    let spoke = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let command = RwSignal::new(String::new());
    let spawn = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // `sh -c` runs the command line as typed; one plain word runs as
        // is (a `bash` typed here gets the shell integration, as the
        // default shell does); empty: the default shell.
        let line = command.get_untracked();
        let word = line.trim();
        let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+".contains(c);
        let (program, args) = if word.is_empty() {
            (String::new(), Vec::new())
        } else if word.chars().all(plain) {
            (word.to_owned(), Vec::new())
        } else {
            ("sh".to_owned(), vec!["-c".to_owned(), line])
        };
        let spawn = Action::Spawn(pb::SpawnRequest {
            name: name.get_untracked(),
            command: program,
            args,
            spoke: spoke.get_untracked(),
            ..Default::default()
        });
        request.with_value(|request| request(spawn));
        // Ready for the next one: a second click must not spawn a copy.
        name.set(String::new());
        command.set(String::new());
    };
    view! {
        <form class="spawn" on:submit=spawn data-testid="spawn-form">
            <select
                data-testid="spawn-spoke"
                on:change=move |ev| spoke.set(event_target_value(&ev))
            >
                <option value="">"default spoke"</option>
                <For
                    each=move || view_state.with(|v| v.spokes.iter().map(|s| s.name.clone()).collect::<Vec<_>>())
                    key=|n| n.clone()
                    children=move |n| view! { <option value=n.clone()>{n.clone()}</option> }
                />
            </select>
            <input placeholder="name" data-testid="spawn-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
            <input placeholder="command (default: shell)" data-testid="spawn-command" prop:value=command on:input=move |ev| command.set(event_target_value(&ev)) />
            <button type="submit" data-testid="spawn">"spawn"</button>
        </form>
    }
}
