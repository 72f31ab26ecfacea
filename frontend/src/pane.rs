//! A terminal pane for one `spoke:session`: xterm.js fed by `/ws/pane`,
//! typing and paste, the PTY resized to the window, search in scrollback,
//! a key bar for touch screens, and reconnects that resume by offset.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html;
use leptos::prelude::*;
use prost::Message;
use vtr_shared::close;
use vtr_shared::proto::{self as pb, subscribe_event::Event as Stream};
use vtr_shared::web::{self, pane_event::Event, pane_request::Request};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::socket::Socket;
use crate::xterm::{self, FitAddon, SearchAddon, Terminal};

/// Reconnect backoff: first wait, and the most it grows to.
const RETRY_FIRST_MS: u64 = 250;
const RETRY_MAX_MS: u64 = 5000;

/// What the status indicator shows.
#[derive(Clone, Debug, PartialEq)]
enum Status {
    Connecting,
    Live,
    Reconnecting,
    SpokeDown,
    Exited(String),
    Error(String),
}

impl Status {
    fn label(&self) -> String {
        match self {
            Status::Connecting => "connecting".to_owned(),
            Status::Live => "live".to_owned(),
            Status::Reconnecting => "reconnecting".to_owned(),
            Status::SpokeDown => "spoke down: waiting for it".to_owned(),
            Status::Exited(how) => format!("exited ({how})"),
            Status::Error(e) => format!("error: {e}"),
        }
    }

    fn class(&self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Live => "live",
            Status::Reconnecting => "reconnecting",
            Status::SpokeDown => "spoke-down",
            Status::Exited(_) => "exited",
            Status::Error(_) => "error",
        }
    }
}

/// Everything the socket callbacks share. Not reactive: JS objects.
struct Link {
    address: String,
    term: Terminal,
    fit: FitAddon,
    search: SearchAddon,
    socket: Option<Socket>,
    /// Stream offset of the next byte the terminal needs; `None` before
    /// the first snapshot or replay.
    offset: Option<u64>,
    retry_ms: u64,
    /// Set when the pane will not reconnect (exited, unknown session).
    finished: bool,
    /// Ctrl held on the key bar: the next key typed is sent as Ctrl+key.
    ctrl: bool,
}

#[component]
pub fn Pane(address: String) -> impl IntoView {
    let status = RwSignal::new(Status::Connecting);
    let host = NodeRef::<html::Div>::new();
    let link: Rc<RefCell<Option<Link>>> = Rc::new(RefCell::new(None));
    let ctrl = RwSignal::new(false);
    let search_text = RwSignal::new(String::new());

    document().set_title(&format!("{address} - vtr"));
    {
        let link = link.clone();
        let address = address.clone();
        Effect::new(move |_| {
            let Some(el) = host.get() else { return };
            if link.borrow().is_some() {
                return;
            }
            let el: web_sys::HtmlElement = el.unchecked_into();
            start(&link, &address, &el, status, ctrl);
        });
    }

    let send_keys = {
        let link = link.clone();
        move |bytes: &'static str| {
            if let Some(l) = link.borrow().as_ref() {
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
    let toggle_ctrl = {
        let link = link.clone();
        move |_| {
            if let Some(l) = link.borrow_mut().as_mut() {
                l.ctrl = !l.ctrl;
                ctrl.set(l.ctrl);
                l.term.focus();
            }
        }
    };
    let find = {
        let link = link.clone();
        move |forward: bool| {
            if let Some(l) = link.borrow().as_ref() {
                let text = search_text.get_untracked();
                if forward {
                    l.search.find_next(&text);
                } else {
                    l.search.find_previous(&text);
                }
            }
        }
    };
    let find_next = find.clone();

    view! {
        <div class="pane-page">
            <header class="top">
                <a href="/">"vtr"</a>
                <span class="address" data-testid="pane-address">{address.clone()}</span>
                <span
                    class=move || format!("status {}", status.with(Status::class))
                    data-testid="pane-status"
                    data-status=move || status.with(Status::class)
                >
                    {move || status.with(Status::label)}
                </span>
                <input
                    class="search"
                    placeholder="search scrollback"
                    data-testid="search"
                    on:input=move |ev| search_text.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" {
                            find_next(!ev.shift_key());
                        }
                    }
                />
                <button data-testid="search-prev" on:click={let find = find.clone(); move |_| find(false)}>"↑"</button>
                <button data-testid="search-next" on:click=move |_| find(true)>"↓"</button>
            </header>
            <div class="term" node_ref=host data-testid="terminal"></div>
            <nav class="keybar" data-testid="keybar">
                {key("Esc", "\u{1b}")}
                {key("Tab", "\t")}
                <button
                    class=move || if ctrl.get() { "on" } else { "" }
                    data-testid="key-Ctrl"
                    on:click=toggle_ctrl
                >"Ctrl"</button>
                {key("←", "\u{1b}[D")}
                {key("↑", "\u{1b}[A")}
                {key("↓", "\u{1b}[B")}
                {key("→", "\u{1b}[C")}
            </nav>
        </div>
    }
}

/// Opens the terminal in `el` and connects.
fn start(
    link: &Rc<RefCell<Option<Link>>>,
    address: &str,
    el: &web_sys::HtmlElement,
    status: RwSignal<Status>,
    ctrl: RwSignal<bool>,
) {
    let term = Terminal::new(&xterm::options(false));
    let fit = FitAddon::new();
    let search = SearchAddon::new();
    term.load_addon(&fit);
    term.load_addon(&search);
    term.open(el);
    fit.fit();
    // Tests and curious users reach the terminal from the console.
    let _ = js_sys::Reflect::set(&window(), &"vtrTerm".into(), &term);

    // Typing and paste.
    let typed = {
        let link = link.clone();
        Closure::<dyn FnMut(String)>::new(move |data: String| {
            if let Some(l) = link.borrow_mut().as_mut() {
                let bytes = if l.ctrl && data.len() == 1 {
                    l.ctrl = false;
                    ctrl.set(false);
                    vec![data.as_bytes()[0] & 0x1f]
                } else {
                    data.into_bytes()
                };
                send_input(l, &bytes);
            }
        })
    };
    term.on_data(&typed);
    typed.forget();
    // The PTY follows the pane's size.
    let resized = {
        let link = link.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(l) = link.borrow().as_ref() {
                send_size(l);
            }
        })
    };
    term.on_resize(&resized);
    resized.forget();
    let refit = {
        let link = link.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(l) = link.borrow().as_ref() {
                l.fit.fit();
            }
        })
    };
    let _ = window().add_event_listener_with_callback("resize", refit.as_ref().unchecked_ref());
    refit.forget();

    *link.borrow_mut() = Some(Link {
        address: address.to_owned(),
        term,
        fit,
        search,
        socket: None,
        offset: None,
        retry_ms: RETRY_FIRST_MS,
        finished: false,
        ctrl: false,
    });
    connect(link.clone(), status);
    if let Some(l) = link.borrow().as_ref() {
        l.term.focus();
    }
}

fn connect(link: Rc<RefCell<Option<Link>>>, status: RwSignal<Status>) {
    let path = {
        let guard = link.borrow();
        let Some(l) = guard.as_ref() else { return };
        // A fresh page asks for the whole log (scrollback included); a
        // reconnect resumes where the terminal stopped.
        let from = l.offset.unwrap_or(0);
        let session = js_sys::encode_uri_component(&l.address);
        format!("/ws/pane?session={session}&from={from}")
    };
    let on_open = {
        let link = link.clone();
        move || {
            if let Some(l) = link.borrow_mut().as_mut() {
                l.retry_ms = RETRY_FIRST_MS;
                send_size(l);
            }
            status.set(Status::Live);
        }
    };
    let on_frame = {
        let link = link.clone();
        move |frame: Vec<u8>| {
            let Ok(event) = web::PaneEvent::decode(frame.as_slice()) else {
                return;
            };
            if let Some(l) = link.borrow_mut().as_mut() {
                handle(l, event, status);
            }
        }
    };
    let on_close = {
        let link = link.clone();
        move |code: u16, reason: String| {
            let retry = {
                let mut guard = link.borrow_mut();
                let Some(l) = guard.as_mut() else { return };
                let fatal = [close::NOT_FOUND, close::BAD_REQUEST, close::GONE].contains(&code);
                if l.finished || fatal {
                    l.finished = true;
                    // The pane may have said why already (an error, an exit).
                    if !matches!(status.get_untracked(), Status::Exited(_) | Status::Error(_)) {
                        status.set(Status::Error(reason));
                    }
                    return;
                }
                let wait = l.retry_ms;
                l.retry_ms = (l.retry_ms * 2).min(RETRY_MAX_MS);
                wait
            };
            status.set(Status::Reconnecting);
            let link = link.clone();
            set_timeout(
                move || connect(link, status),
                std::time::Duration::from_millis(retry),
            );
        }
    };
    match Socket::open(&path, on_open, on_frame, on_close) {
        Ok(socket) => {
            if let Some(l) = link.borrow_mut().as_mut() {
                l.socket = Some(socket);
            }
        }
        Err(_) => status.set(Status::Error("cannot open a WebSocket".to_owned())),
    }
}

fn handle(l: &mut Link, event: web::PaneEvent, status: RwSignal<Status>) {
    match event.event {
        Some(Event::Stream(pb::SubscribeEvent { event: Some(e) })) => match e {
            Stream::Snapshot(s) => {
                l.term.reset();
                l.term.write_bytes(&s.screen, None);
                l.offset = Some(s.offset);
            }
            Stream::Output(o) => {
                // Skip what the terminal already has (a resume that
                // overlaps); a gap cannot happen: the hub sends a snapshot.
                let end = o.offset + o.data.len() as u64;
                let have = l.offset.unwrap_or(o.offset);
                if end > have {
                    let skip = have.saturating_sub(o.offset) as usize;
                    l.term.write_bytes(&o.data[skip..], None);
                    l.offset = Some(end);
                }
            }
            Stream::Exited(x) => {
                l.finished = true;
                let how = match (x.exit_code, x.signal.as_str()) {
                    (Some(code), _) => format!("code {code}"),
                    (None, "") => "unknown".to_owned(),
                    (None, signal) => signal.to_owned(),
                };
                status.set(Status::Exited(how));
            }
            Stream::Resized(_) | Stream::Idle(_) => {}
        },
        Some(Event::State(state)) => {
            if state == web::PaneState::SpokeDown as i32 {
                status.set(Status::SpokeDown);
            } else if !matches!(status.get_untracked(), Status::Exited(_)) {
                status.set(Status::Live);
            }
        }
        Some(Event::Error(e)) => {
            l.finished = true;
            status.set(Status::Error(e));
        }
        Some(Event::Session(_)) | Some(Event::Stream(_)) | None => {}
    }
}

fn send_input(l: &Link, bytes: &[u8]) {
    send(l, Request::Input(bytes.to_vec().into()));
}

fn send_size(l: &Link) {
    send(
        l,
        Request::Resize(pb::TerminalSize {
            cols: l.term.cols(),
            rows: l.term.rows(),
        }),
    );
}

fn send(l: &Link, request: Request) {
    if let Some(socket) = &l.socket {
        socket.send(
            &web::PaneRequest {
                request: Some(request),
            }
            .encode_to_vec(),
        );
    }
}
