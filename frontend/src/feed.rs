//! A terminal fed by the hub: xterm.js, the socket (`/ws/pane` for an
//! owner, `/ws/share` for a read-only viewer), reconnects that resume by
//! offset, and flow control (acks of what xterm has processed).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use prost::Message;
use vtr_shared::proto::{self as pb, subscribe_event::Event as Stream};
use vtr_shared::web::{self, pane_event::Event, pane_request::Request};
use vtr_shared::{close, flow};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::commands::Marks;
use crate::icon;
use crate::socket::Socket;
use crate::status::Status;
use crate::xterm::{self, FitAddon, SearchAddon, Terminal};

/// Reconnect backoff: first wait, and the most it grows to.
const RETRY_FIRST_MS: u64 = 250;
const RETRY_MAX_MS: u64 = 5000;

/// Close codes after which the page does not reconnect.
const FINAL: [u16; 8] = [
    close::NOT_FOUND,
    close::BAD_REQUEST,
    close::GONE,
    close::READ_ONLY,
    close::LINK_INVALID,
    close::LINK_EXPIRED,
    close::LINK_REVOKED,
    close::SIGNED_OUT,
];

/// Whose terminal this is.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// The owner's pane on `spoke:session`: types, resizes the PTY.
    Owner { address: String },
    /// A share link's viewer: read-only, at the PTY's size.
    Viewer { token: String },
}

/// What the page shows besides the terminal.
#[derive(Clone, Copy)]
pub struct Signals {
    pub status: RwSignal<Status>,
    /// Ctrl held on the key bar.
    pub ctrl: RwSignal<bool>,
    /// Alt held on the key bar: the next key goes with ESC before it.
    pub alt: RwSignal<bool>,
    /// Owner panes: who watches, and the session's links.
    pub presence: RwSignal<Option<web::Presence>>,
    /// Owner panes: the link just made.
    pub shared: RwSignal<Option<pb::ShareInfo>>,
    /// Owner panes: the agent grant just made, with its token.
    pub granted: RwSignal<Option<pb::GrantInfo>>,
    /// A request failed but the pane goes on.
    pub notice: RwSignal<String>,
    /// Owner panes: the session's `spoke:name` once renamed.
    pub renamed: RwSignal<Option<String>>,
    /// Owner panes: the sessions before and after this one.
    pub neighbours: RwSignal<Option<web::Neighbours>>,
}

impl Signals {
    pub fn new() -> Self {
        Signals {
            status: RwSignal::new(Status::Connecting),
            ctrl: RwSignal::new(false),
            alt: RwSignal::new(false),
            presence: RwSignal::new(None),
            shared: RwSignal::new(None),
            granted: RwSignal::new(None),
            notice: RwSignal::new(String::new()),
            renamed: RwSignal::new(None),
            neighbours: RwSignal::new(None),
        }
    }
}

/// One terminal fed by the hub: everything the socket callbacks share.
/// Not reactive: JS objects.
pub struct Feed {
    mode: Mode,
    pub term: Terminal,
    fit: FitAddon,
    pub search: SearchAddon,
    /// Where each command line is, from the shell's prompt marks.
    pub marks: Marks,
    socket: Option<Socket>,
    /// Stream offset of the next byte the terminal needs; `None` before
    /// the first snapshot or replay.
    offset: Option<u64>,
    retry_ms: u64,
    /// Set when the page will not reconnect (exited, unknown session).
    finished: bool,
    /// Ctrl held on the key bar: the next key typed is sent as Ctrl+key.
    pub ctrl: bool,
    pub alt: bool,
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

/// Where a page keeps its feed: empty until the terminal's element is
/// mounted, then shared by the callbacks and the page's controls.
pub type FeedCell = Rc<RefCell<Option<Feed>>>;

/// Opens the terminal in `el` and connects.
pub fn start(feed: &FeedCell, mode: Mode, el: &web_sys::HtmlElement, signals: Signals) {
    let viewer = matches!(mode, Mode::Viewer { .. });
    let term = Terminal::new(&xterm::options(viewer));
    let fit = FitAddon::new();
    let search = SearchAddon::new();
    term.load_addon(&fit);
    term.load_addon(&search);
    term.open(el);
    // Tests and curious users reach the terminal from the console.
    // Tests and curious users reach the terminal from the console: the
    // page's latest as `vtrTerm`, each one on its element (a grid has
    // several).
    let _ = js_sys::Reflect::set(&window(), &"vtrTerm".into(), &term);
    let _ = js_sys::Reflect::set(el, &"vtrTerm".into(), &term);
    copy_on_select(&term);
    let marks = Marks::default();
    marks.watch(&term);
    seen_clears_icon();
    if !viewer {
        fit.fit();
        owner_handlers(feed, &term, signals);
    }
    *feed.borrow_mut() = Some(Feed {
        mode,
        term,
        fit,
        search,
        marks,
        socket: None,
        offset: None,
        retry_ms: RETRY_FIRST_MS,
        finished: false,
        ctrl: false,
        alt: false,
        flow: Flow::default(),
    });
    connect(feed.clone(), signals);
    if let Some(l) = feed.borrow().as_ref() {
        l.term.focus();
    }
}

/// The tab shown again: the output it showed is seen. One listener per
/// page, however many terminals a grid shows or closes.
fn seen_clears_icon() {
    static LISTENING: std::sync::Once = std::sync::Once::new();
    LISTENING.call_once(listen_for_seen);
}

fn listen_for_seen() {
    let cleared = Closure::<dyn FnMut()>::new(|| {
        if !document().hidden() {
            icon::show(false);
        }
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", cleared.as_ref().unchecked_ref());
    cleared.forget();
}

/// Selected text goes to the clipboard, as in most terminals (owners and
/// viewers alike); pasting is the browser's (see the pane's help).
fn copy_on_select(term: &Terminal) {
    let source: Terminal = AsRef::<JsValue>::as_ref(term).clone().unchecked_into();
    let copied = Closure::<dyn FnMut()>::new(move || {
        let text = source.get_selection();
        if !text.is_empty() {
            let _ = window().navigator().clipboard().write_text(&text);
        }
    });
    term.on_selection_change(&copied);
    copied.forget();
}

/// Typing, paste, and the PTY following the window: owners only.
fn owner_handlers(feed: &FeedCell, term: &Terminal, signals: Signals) {
    let typed = {
        let feed = feed.clone();
        Closure::<dyn FnMut(String)>::new(move |data: String| {
            if let Some(l) = feed.borrow_mut().as_mut() {
                // An exited session takes no input; the banner says so.
                if l.finished {
                    return;
                }
                let mut bytes = if l.ctrl && data.len() == 1 {
                    l.ctrl = false;
                    signals.ctrl.set(false);
                    vec![data.as_bytes()[0] & 0x1f]
                } else {
                    data.into_bytes()
                };
                if l.alt {
                    l.alt = false;
                    signals.alt.set(false);
                    bytes.insert(0, 0x1b);
                }
                send_input(l, &bytes);
            }
        })
    };
    term.on_data(&typed);
    typed.forget();
    let resized = {
        let feed = feed.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(l) = feed.borrow().as_ref() {
                send_size(l);
            }
        })
    };
    term.on_resize(&resized);
    resized.forget();
    let refit = {
        let feed = feed.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(l) = feed.borrow().as_ref() {
                l.fit.fit();
            }
        })
    };
    let _ = window().add_event_listener_with_callback("resize", refit.as_ref().unchecked_ref());
    refit.forget();
}

fn connect(feed: FeedCell, signals: Signals) {
    let status = signals.status;
    let path = {
        let guard = feed.borrow();
        let Some(l) = guard.as_ref() else { return };
        // A fresh page asks for the whole log (scrollback included); a
        // reconnect resumes where the terminal stopped.
        let from = l.offset.unwrap_or(0);
        match &l.mode {
            Mode::Owner { address } => {
                let session = js_sys::encode_uri_component(address);
                format!("/ws/pane?session={session}&from={from}")
            }
            Mode::Viewer { token } => {
                let token = js_sys::encode_uri_component(token);
                format!("/ws/share?token={token}&from={from}")
            }
        }
    };
    // Live once the hub sends the session (see `handle`), not on open: the
    // session's spoke may not be there.
    let on_open = || {};
    let on_frame = {
        let feed = feed.clone();
        move |frame: Vec<u8>| {
            let Ok(event) = web::PaneEvent::decode(frame.as_slice()) else {
                return;
            };
            if let Some(l) = feed.borrow_mut().as_mut() {
                handle(&feed, l, event, signals);
            }
        }
    };
    let on_close = {
        let feed = feed.clone();
        move |code: u16, reason: String| {
            let retry = {
                let mut guard = feed.borrow_mut();
                let Some(l) = guard.as_mut() else { return };
                if l.finished || FINAL.contains(&code) {
                    l.finished = true;
                    // The page may have said why already (an error, an exit).
                    if !matches!(status.get_untracked(), Status::Exited(_) | Status::Error(_)) {
                        status.set(Status::Error(reason));
                    }
                    return;
                }
                let wait = l.retry_ms;
                l.retry_ms = (l.retry_ms * 2).min(RETRY_MAX_MS);
                wait
            };
            // The hub is there but the spoke is not: SpokeDown stays, with
            // the hub's reason (an unknown spoke is not a slow one).
            if code != close::TRY_AGAIN {
                status.set(Status::Reconnecting);
            } else if !reason.is_empty() {
                status.set(Status::SpokeDown(reason));
            }
            let feed = feed.clone();
            set_timeout(
                move || connect(feed, signals),
                std::time::Duration::from_millis(retry),
            );
        }
    };
    match Socket::open(&path, on_open, on_frame, on_close) {
        Ok(socket) => {
            if let Some(l) = feed.borrow_mut().as_mut() {
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

fn handle(feed: &FeedCell, l: &mut Feed, event: web::PaneEvent, signals: Signals) {
    let status = signals.status;
    let viewer = matches!(l.mode, Mode::Viewer { .. });
    match event.event {
        Some(Event::Stream(pb::SubscribeEvent { event: Some(e) })) => match e {
            Stream::Snapshot(s) => {
                if viewer {
                    l.term.resize(s.cols, s.rows);
                }
                // A full reset (RIS) in the stream, not `reset()`: output
                // written before may not be parsed yet.
                let mut screen = b"\x1bc".to_vec();
                screen.extend_from_slice(&s.screen);
                write(feed, l, &screen, s.screen.len() as u64);
                l.offset = Some(s.offset);
            }
            Stream::Output(o) => {
                // Skip what the terminal already has (a resume that
                // overlaps); a gap cannot happen: the hub sends a snapshot.
                let end = o.offset + o.data.len() as u64;
                let have = l.offset.unwrap_or(o.offset).min(end);
                let skip = have.saturating_sub(o.offset) as usize;
                write(feed, l, &o.data[skip..], o.data.len() as u64);
                // Output while the tab is hidden: its icon says so until
                // it is looked at again.
                if skip < o.data.len() && document().hidden() {
                    icon::show(true);
                }
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
            // A viewer renders at the PTY's size.
            Stream::Resized(size) if viewer => l.term.resize(size.cols, size.rows),
            Stream::Resized(_) | Stream::Idle(_) => {}
        },
        Some(Event::State(state)) => {
            if state == web::PaneState::SpokeDown as i32 {
                if !matches!(status.get_untracked(), Status::SpokeDown(_)) {
                    status.set(Status::SpokeDown(String::new()));
                }
            } else if !matches!(status.get_untracked(), Status::Exited(_)) {
                status.set(Status::Live);
            }
        }
        Some(Event::Error(e)) => {
            l.finished = true;
            status.set(Status::Error(e));
        }
        Some(Event::Session(info)) => {
            l.retry_ms = RETRY_FIRST_MS;
            if viewer {
                l.term.resize(info.cols, info.rows);
            } else {
                send_size(l);
            }
            status.set(Status::Live);
        }
        Some(Event::Presence(p)) => signals.presence.set(Some(p)),
        Some(Event::Renamed(address)) => {
            // Reconnects ask for the new name; the address bar and the
            // title show it (a reload opens the same session).
            document().set_title(&format!("{address} - vtr"));
            let path = format!("/s/{}", js_sys::encode_uri_component(&address));
            if let Ok(history) = window().history() {
                let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&path));
            }
            l.mode = Mode::Owner {
                address: address.clone(),
            };
            signals.renamed.set(Some(address));
        }
        Some(Event::Neighbours(around)) => signals.neighbours.set(Some(around)),
        Some(Event::Shared(share)) => signals.shared.set(Some(share)),
        Some(Event::Granted(grant)) => signals.granted.set(Some(grant)),
        Some(Event::Notice(text)) => signals.notice.set(text),
        Some(Event::Stream(_)) | None => {}
    }
}

/// Writes stream data to the terminal; once xterm has processed it, the
/// `counted` bytes (the frame's size, overlap included) count as processed.
fn write(feed: &FeedCell, l: &Feed, data: &[u8], counted: u64) {
    let generation = l.flow.generation;
    let feed = feed.clone();
    let done = Closure::once_into_js(move || processed(&feed, generation, counted));
    l.term.write_bytes(data, Some(done.unchecked_ref()));
}

fn processed(feed: &FeedCell, generation: u32, counted: u64) {
    // xterm usually calls back from its own task, but parses at once
    // inside `write` right after the user typed: the feed is borrowed
    // then, so count it a moment later. A count must never be lost: the
    // hub would wait for its ack for ever.
    let Ok(mut guard) = feed.try_borrow_mut() else {
        let feed = feed.clone();
        set_timeout(
            move || processed(&feed, generation, counted),
            std::time::Duration::ZERO,
        );
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

impl Feed {
    /// Fits the terminal to its element again (the PTY follows), with the
    /// cursor line in view.
    pub fn refit(&self) {
        self.fit.fit();
        self.term.scroll_to_bottom();
    }
}

pub fn send_input(l: &Feed, bytes: &[u8]) {
    send(l, Request::Input(bytes.to_vec().into()));
}

fn send_size(l: &Feed) {
    send(
        l,
        Request::Resize(pb::TerminalSize {
            cols: l.term.cols(),
            rows: l.term.rows(),
        }),
    );
}

pub fn send(l: &Feed, request: Request) {
    if let Some(socket) = &l.socket {
        socket.send(
            &web::PaneRequest {
                request: Some(request),
            }
            .encode_to_vec(),
        );
    }
}
