//! A terminal pane for one `spoke:session`: xterm.js fed by `/ws/pane`,
//! typing and paste, the PTY resized to the window, search in scrollback,
//! a key bar for touch screens, and reconnects that resume by offset.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html;
use leptos::prelude::*;
use prost::Message;
use vtr_shared::proto::{self as pb, subscribe_event::Event as Stream};
use vtr_shared::web::{self, pane_event::Event, pane_request::Request};
use vtr_shared::{close, flow};
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

    /// What the page says above the terminal in a bad state.
    fn banner(&self) -> Option<String> {
        match self {
            Status::Connecting | Status::Live => None,
            Status::Reconnecting => Some(
                "The hub is unreachable. Reconnecting; output will resume where it stopped."
                    .to_owned(),
            ),
            Status::SpokeDown => Some(
                "The spoke that runs this session is unreachable. The hub keeps trying; \
                 output will resume where it stopped."
                    .to_owned(),
            ),
            Status::Exited(how) => Some(format!("The session exited ({how}).")),
            Status::Error(e) => Some(format!("{e}.")),
        }
    }

    /// The terminal no longer takes input.
    fn ended(&self) -> bool {
        matches!(self, Status::Exited(_) | Status::Error(_))
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
    flow: Flow,
}

/// Flow control of the current socket (see `PaneRequest.ack`): stream
/// bytes the terminal has finished processing, and how many the hub knows
/// of. `generation` tells a new socket's writes from an old one's.
#[derive(Default)]
struct Flow {
    generation: u32,
    processed: u64,
    acked: u64,
}

type Shared = Rc<RefCell<Option<Link>>>;

#[component]
pub fn Pane(address: String) -> impl IntoView {
    let status = RwSignal::new(Status::Connecting);
    let host = NodeRef::<html::Div>::new();
    let link: Shared = Rc::new(RefCell::new(None));
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
            {move || status.with(Status::banner).map(|text| view! {
                <p class=move || format!("banner {}", status.with(Status::class)) data-testid="pane-banner">
                    {text}" "<a href="/">"back to the dashboard"</a>
                </p>
            })}
            <div
                class=move || if status.with(Status::ended) { "term ended" } else { "term" }
                node_ref=host
                data-testid="terminal"
            ></div>
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
    link: &Shared,
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
                // An exited session takes no input; the banner says so.
                if l.finished {
                    return;
                }
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
        flow: Flow::default(),
    });
    connect(link.clone(), status);
    if let Some(l) = link.borrow().as_ref() {
        l.term.focus();
    }
}

fn connect(link: Shared, status: RwSignal<Status>) {
    let path = {
        let guard = link.borrow();
        let Some(l) = guard.as_ref() else { return };
        // A fresh page asks for the whole log (scrollback included); a
        // reconnect resumes where the terminal stopped.
        let from = l.offset.unwrap_or(0);
        let session = js_sys::encode_uri_component(&l.address);
        format!("/ws/pane?session={session}&from={from}")
    };
    // Live once the hub sends the session (see `handle`), not on open: the
    // session's spoke may not be there.
    let on_open = || {};
    let on_frame = {
        let link = link.clone();
        move |frame: Vec<u8>| {
            let Ok(event) = web::PaneEvent::decode(frame.as_slice()) else {
                return;
            };
            if let Some(l) = link.borrow_mut().as_mut() {
                handle(&link, l, event, status);
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
            // The hub is there but the spoke is not: SpokeDown stays.
            if code != close::TRY_AGAIN {
                status.set(Status::Reconnecting);
            }
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
                l.flow = Flow {
                    generation: l.flow.generation.wrapping_add(1),
                    ..Flow::default()
                };
            }
        }
        Err(_) => status.set(Status::Error("cannot open a WebSocket".to_owned())),
    }
}

fn handle(link: &Shared, l: &mut Link, event: web::PaneEvent, status: RwSignal<Status>) {
    match event.event {
        Some(Event::Stream(pb::SubscribeEvent { event: Some(e) })) => match e {
            Stream::Snapshot(s) => {
                // A full reset (RIS) in the stream, not `reset()`: output
                // written before may not be parsed yet.
                let mut screen = b"\x1bc".to_vec();
                screen.extend_from_slice(&s.screen);
                write(link, l, &screen, s.screen.len() as u64);
                l.offset = Some(s.offset);
            }
            Stream::Output(o) => {
                // Skip what the terminal already has (a resume that
                // overlaps); a gap cannot happen: the hub sends a snapshot.
                let end = o.offset + o.data.len() as u64;
                let have = l.offset.unwrap_or(o.offset).min(end);
                let skip = have.saturating_sub(o.offset) as usize;
                write(link, l, &o.data[skip..], o.data.len() as u64);
                l.offset = Some(end.max(l.offset.unwrap_or(0)));
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
        Some(Event::Session(_)) => {
            l.retry_ms = RETRY_FIRST_MS;
            send_size(l);
            status.set(Status::Live);
        }
        Some(Event::Stream(_)) | None => {}
    }
}

/// Writes stream data to the terminal; once xterm has processed it, the
/// `counted` bytes (the frame's size, overlap included) count as processed.
fn write(link: &Shared, l: &Link, data: &[u8], counted: u64) {
    let generation = l.flow.generation;
    let link = link.clone();
    let done = Closure::once_into_js(move || processed(&link, generation, counted));
    l.term.write_bytes(data, Some(done.unchecked_ref()));
}

fn processed(link: &Shared, generation: u32, counted: u64) {
    // xterm calls back from its own task, never inside `write`; a busy
    // borrow would only delay this ack to the next callback.
    let Ok(mut guard) = link.try_borrow_mut() else {
        return;
    };
    let Some(l) = guard.as_mut() else { return };
    if l.flow.generation != generation {
        return;
    }
    l.flow.processed += counted;
    if l.flow.processed - l.flow.acked >= flow::ACK_EVERY {
        l.flow.acked = l.flow.processed;
        send(l, Request::Ack(l.flow.processed));
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
