//! The browser's WebSocket frames: `PaneRequest` and `DashboardRequest`
//! decoded as the hub decodes them, then the pure checks the hub applies
//! to what they carry.

use bytes::Bytes;
use prost::Message;
use vtr::core::signal::parse_signal;
use vtr::core::{Input, StreamEvent, limits};
use vtr::hub::grants::{NewGrant, Scope, Targets};
use vtr::spoke::input_bytes;
use vtr::transport::grpc::grants;
use vtr::transport::unmap;
use vtr::transport::web::stream::Window;
use vtr::transport::web::{dashboard, pane};
use vtr_shared::proto as pb;
use vtr_shared::web::{self, dashboard_request::Action, pane_request::Request};

use crate::Target;
use crate::input::{number, pick, text};
use crate::props::{check_address, check_name, check_size, check_spawn, round_trip};

const NAME: &str = "abcxyz019._-:";
/// Stream bytes the pane target's window has sent when an ack arrives.
const SENT: u64 = 4096;

pub fn pane() -> Target {
    Target {
        name: "pane",
        seeds: || {
            [
                Request::Input(Bytes::from_static(b"ls -l\r")),
                Request::Resize(pb::TerminalSize { cols: 80, rows: 24 }),
                Request::Ack(SENT),
                Request::ShareTtlSeconds(3600),
                Request::RevokeShare("0123456789abcdef0123456789abcdef".into()),
                Request::Grant(web::PaneGrant {
                    scope: pb::GrantScope::Observe as i32,
                    ttl_seconds: 3600,
                    note: "an agent".into(),
                }),
            ]
            .into_iter()
            .map(|r| encode_pane(Some(r)))
            .collect()
        },
        dictionary: &[
            b"\x0a",
            b"\x12",
            b"\x18",
            b"\x20",
            b"\x2a",
            b"\xff\xff\xff\xff\x0f",
        ],
        generate: |rng| {
            let request = match rng.u32(0..7) {
                0 => None,
                1 => Some(Request::Input(big_or_small(rng))),
                2 => Some(Request::Resize(pb::TerminalSize {
                    cols: number(rng) as u32,
                    rows: number(rng) as u32,
                })),
                3 => Some(Request::Ack(if rng.bool() {
                    rng.u64(0..=SENT + 1)
                } else {
                    number(rng)
                })),
                4 => Some(Request::ShareTtlSeconds(number(rng))),
                5 => Some(Request::RevokeShare(text(rng, "0123456789abcdef"))),
                _ => Some(Request::Grant(web::PaneGrant {
                    scope: rng.i32(-1..4),
                    ttl_seconds: number(rng),
                    note: text(rng, "ab \n\u{7f}é"),
                })),
            };
            encode_pane(request)
        },
        run: run_pane,
    }
}

fn encode_pane(request: Option<Request>) -> Vec<u8> {
    web::PaneRequest { request }.encode_to_vec()
}

/// Input near the 1 MiB limit now and then, so both sides of it are met.
fn big_or_small(rng: &mut fastrand::Rng) -> Bytes {
    if rng.u32(0..500) == 0 {
        let len = limits::MAX_INPUT_BYTES - 2 + rng.usize(0..4);
        Bytes::from(vec![b'x'; len])
    } else {
        Bytes::from(text(rng, "abc\r\n\x1b[").into_bytes())
    }
}

fn run_pane(frame: &[u8]) {
    let decoded = web::PaneRequest::decode(frame);
    let Ok(request) = pane::decode_request(frame) else {
        assert!(
            decoded.as_ref().map_or(true, |r| r.request.is_none()),
            "a decodable request was refused"
        );
        return;
    };
    let message: web::PaneRequest = round_trip(frame).expect("decode_request decoded it");
    assert_eq!(message.request.as_ref(), Some(&request));
    match request {
        Request::Input(data) => {
            let len = data.len();
            match input_bytes(Input::Bytes(data.clone()), false) {
                Ok(bytes) => assert!(len <= limits::MAX_INPUT_BYTES && bytes == data),
                Err(_) => assert!(len > limits::MAX_INPUT_BYTES, "{len} bytes refused"),
            }
        }
        Request::Resize(size) => check_size(size.cols, size.rows),
        Request::Ack(ack) => {
            let mut window = Window::default();
            window.sending(&StreamEvent::Output {
                offset: 0,
                data: Bytes::from(vec![0; SENT as usize]),
            });
            let taken = window.ack(ack).is_ok();
            assert_eq!(taken, ack <= SENT, "ack {ack} of {SENT}");
            // Acknowledging less than before is refused.
            if taken && ack > 0 {
                assert!(window.ack(ack - 1).is_err(), "ack went backwards");
            }
        }
        Request::ShareTtlSeconds(ttl) => {
            // The hub takes it as whole seconds; any u64 is a Duration.
            let _ = std::time::Duration::from_secs(ttl);
        }
        Request::RevokeShare(_) => {}
        Request::Grant(asked) => {
            // Only the two scopes the API names are taken.
            let scope = grants::scope(asked.scope);
            assert_eq!(
                scope.is_ok(),
                matches!(asked.scope, 1 | 2),
                "scope {}",
                asked.scope
            );
            // Any expiry and note the page sends are checked, never trusted.
            let new = NewGrant {
                scope: scope.unwrap_or(Scope::Observe),
                targets: Targets::Sessions(vec![("hub:1".into(), "hub:work".into())]),
                ttl: std::time::Duration::from_secs(asked.ttl_seconds),
                note: asked.note.clone(),
                created_by: "local".into(),
            };
            let fits = (1..=30 * 86_400).contains(&asked.ttl_seconds)
                && asked.note.len() <= 200
                && !asked.note.chars().any(char::is_control);
            assert_eq!(new.check().is_ok(), fits, "{asked:?}");
        }
    }
}

pub fn dashboard() -> Target {
    Target {
        name: "dashboard",
        seeds: || {
            let spawn = pb::SpawnRequest {
                spoke: "build-a".into(),
                name: "tests".into(),
                command: "bash".into(),
                args: vec!["-l".into()],
                cwd: "/tmp".into(),
                env: vec!["TERM=xterm".into()],
                cols: 120,
                rows: 40,
                created_by: "alice".into(),
                no_shell_integration: false,
            };
            [
                Action::Spawn(spawn),
                Action::Kill(pb::KillRequest {
                    session: "hub:tests".into(),
                    signal: "TERM".into(),
                }),
                Action::Rename(pb::RenameRequest {
                    session: "hub:tests".into(),
                    new_name: "build".into(),
                }),
                Action::Remove(pb::RemoveRequest {
                    session: "tests".into(),
                    force: true,
                }),
                Action::CreateShare(pb::CreateShareRequest {
                    session: "hub:tests".into(),
                    ttl_seconds: 600,
                }),
                Action::RevokeShare(pb::RevokeShareRequest {
                    id: "0123456789abcdef0123456789abcdef".into(),
                }),
            ]
            .into_iter()
            .enumerate()
            .map(|(id, a)| encode_dashboard(id as u32, Some(a)))
            .collect()
        },
        dictionary: &[
            b"\x08", b"\x12", b"\x1a", b"\x22", b"\x2a", b"\x32", b"\x3a", b"=", b"\0",
        ],
        generate: |rng| {
            let action = match rng.u32(0..7) {
                0 => None,
                1 => Some(Action::Spawn(spawn_request(rng))),
                2 => Some(Action::Kill(pb::KillRequest {
                    session: text(rng, NAME),
                    signal: text(rng, "SIGTERMKILLHUPINT0123456789"),
                })),
                3 => Some(Action::Rename(pb::RenameRequest {
                    session: text(rng, NAME),
                    new_name: text(rng, NAME),
                })),
                4 => Some(Action::Remove(pb::RemoveRequest {
                    session: text(rng, NAME),
                    force: rng.bool(),
                })),
                5 => Some(Action::CreateShare(pb::CreateShareRequest {
                    session: text(rng, NAME),
                    ttl_seconds: number(rng),
                })),
                _ => Some(Action::RevokeShare(pb::RevokeShareRequest {
                    id: text(rng, "0123456789abcdef"),
                })),
            };
            encode_dashboard(rng.u32(..), action)
        },
        run: run_dashboard,
    }
}

fn encode_dashboard(id: u32, action: Option<Action>) -> Vec<u8> {
    web::DashboardRequest { id, action }.encode_to_vec()
}

/// A spawn request near and past its limits.
pub fn spawn_request(rng: &mut fastrand::Rng) -> pb::SpawnRequest {
    let many = |rng: &mut fastrand::Rng, alphabet: &str| {
        let n = if rng.u32(0..20) == 0 {
            rng.usize(250..260)
        } else {
            rng.usize(0..4)
        };
        (0..n).map(|_| text(rng, alphabet)).collect()
    };
    pb::SpawnRequest {
        spoke: text(rng, NAME),
        name: text(rng, NAME),
        command: pick(rng, &["bash", "sh", "", "a\0b", "/bin/echo"]).to_owned(),
        args: many(rng, "-abc \0"),
        cwd: text(rng, "/tmp"),
        env: many(rng, "AB=x\0"),
        cols: if rng.bool() {
            rng.u32(0..1002)
        } else {
            number(rng) as u32
        },
        rows: if rng.bool() {
            rng.u32(0..502)
        } else {
            number(rng) as u32
        },
        created_by: text(rng, "alice\u{1b}\u{9b}é"),
        no_shell_integration: rng.bool(),
    }
}

fn run_dashboard(frame: &[u8]) {
    let decoded = web::DashboardRequest::decode(frame);
    let (id, action) = match dashboard::decode_action(frame) {
        Ok(decoded) => decoded,
        Err((_, error)) => {
            assert!(!error.is_empty(), "a refusal without a reason");
            assert!(
                decoded.as_ref().map_or(true, |r| r.action.is_none()),
                "a decodable request was refused"
            );
            return;
        }
    };
    let message: web::DashboardRequest = round_trip(frame).expect("decode_action decoded it");
    assert_eq!((message.id, message.action.as_ref()), (id, Some(&action)));
    match action {
        Action::Spawn(r) => check_spawn(&unmap::spawn_spec(r)),
        Action::Kill(k) => {
            check_address(&k.session);
            if let Ok(signal) = parse_signal(&k.signal) {
                assert!((1..=31).contains(&(signal as i32)), "{signal:?}");
            }
        }
        Action::Rename(r) => {
            check_address(&r.session);
            check_name(&r.new_name);
        }
        Action::Remove(r) => check_address(&r.session),
        Action::CreateShare(r) => check_address(&r.session),
        Action::RevokeShare(_) | Action::RevokeGrant(_) => {}
    }
}
