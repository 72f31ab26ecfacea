//! gRPC messages: every `vtr.v1` request a server decodes, followed by the
//! pure checks it applies; and what a hub decodes from a spoke it calls,
//! mapped to domain types (`unmap`) and back.
//!
//! An input is one selector byte (which message) and the message's bytes.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use vtr::core::signal::parse_signal;
use vtr::core::{Input, limits};
use vtr::spoke::input_bytes;
use vtr::transport::{map, unmap};
use vtr_shared::proto::{self as pb, attach_request, subscribe_event};

use crate::Target;
use crate::input::{number, text};
use crate::props::{check_address, check_name, check_size, check_spawn, round_trip};
use crate::web::spawn_request;

const REQUESTS: u8 = 17;
const KEYS: &str = "enter\0tab\0esc\0up\0f12\0ctrl+c\0alt+x\0^d\0m-up\0pgdn\0x\0é\0hyper+x";
const PATTERNS: &str = "a\0\\w+\0(a|b)*c\0^\\$ \0[[:alpha:]]{3,}\0\\d{1000}\0(\0.*.*.*=.*";

/// One request of each kind, as a client would send it.
fn request(kind: u8, rng: Option<&mut fastrand::Rng>) -> Vec<u8> {
    let mut fixed = fastrand::Rng::with_seed(u64::from(kind));
    let rng = rng.unwrap_or(&mut fixed);
    let session = text(rng, "abc01:-");
    let keys: Vec<&str> = KEYS.split('\0').collect();
    let patterns: Vec<&str> = PATTERNS.split('\0').collect();
    let body = match kind {
        0 => spawn_request(rng).encode_to_vec(),
        1 => pb::SessionRequest { session }.encode_to_vec(),
        2 => pb::KillRequest {
            session,
            signal: crate::input::pick(rng, &["", "TERM", "sigkill", "9", "99", "-1", "BOGUS"])
                .to_owned(),
        }
        .encode_to_vec(),
        3 => pb::RemoveRequest {
            session,
            force: rng.bool(),
        }
        .encode_to_vec(),
        4 => pb::RenameRequest {
            session,
            new_name: text(rng, "ab1.-_ :"),
        }
        .encode_to_vec(),
        5 => pb::ResizeRequest {
            session,
            cols: rng.u32(0..1002),
            rows: rng.u32(0..502),
        }
        .encode_to_vec(),
        6 => pb::GrepRequest {
            session,
            pattern: crate::input::pick(rng, &patterns).to_owned(),
            before: number(rng) as u32,
            after: number(rng) as u32,
            max_matches: number(rng) as u32,
        }
        .encode_to_vec(),
        7 => pb::SendTextRequest {
            session,
            text: text(rng, "ls\r\n"),
            submit: rng.bool(),
            request_id: if rng.bool() {
                text(rng, "id-\u{7}é")
            } else {
                String::new()
            },
        }
        .encode_to_vec(),
        8 => {
            let n = if rng.u32(0..20) == 0 {
                rng.usize(255..258)
            } else {
                rng.usize(0..4)
            };
            let keys = (0..n)
                .map(|_| crate::input::pick(rng, &keys).to_owned())
                .collect();
            pb::SendKeyRequest {
                session,
                keys,
                ..Default::default()
            }
            .encode_to_vec()
        }
        9 => pb::SendBytesRequest {
            session,
            data: Bytes::from(text(rng, "\x1b[A").into_bytes()),
            ..Default::default()
        }
        .encode_to_vec(),
        10 => pb::WaitForRequest {
            session,
            pattern: crate::input::pick(rng, &patterns).to_owned(),
            timeout_ms: number(rng),
            from_offset: rng.bool().then(|| number(rng)),
        }
        .encode_to_vec(),
        11 => pb::WaitForIdleRequest {
            session,
            idle_ms: number(rng),
            timeout_ms: number(rng),
            include_screen: rng.bool(),
        }
        .encode_to_vec(),
        12 => pb::SubscribeRequest {
            session,
            from_offset: rng.bool().then(|| number(rng)),
        }
        .encode_to_vec(),
        13 => {
            let request = match rng.u32(0..3) {
                0 => attach_request::Request::Open(pb::SubscribeRequest {
                    session,
                    from_offset: None,
                }),
                1 => attach_request::Request::Input(Bytes::from_static(b"q")),
                _ => attach_request::Request::Resize(pb::TerminalSize {
                    cols: rng.u32(0..1002),
                    rows: rng.u32(0..502),
                }),
            };
            pb::AttachRequest {
                request: Some(request),
            }
            .encode_to_vec()
        }
        14 => pb::RecordRequest {
            session,
            follow: rng.bool(),
        }
        .encode_to_vec(),
        15 => pb::CreateShareRequest {
            session,
            ttl_seconds: number(rng),
        }
        .encode_to_vec(),
        _ => pb::RevokeShareRequest {
            id: text(rng, "0123456789abcdef"),
        }
        .encode_to_vec(),
    };
    let mut input = vec![kind];
    input.extend(body);
    input
}

pub fn requests() -> Target {
    Target {
        name: "grpc-request",
        seeds: || (0..REQUESTS).map(|kind| request(kind, None)).collect(),
        dictionary: &[
            b"\x0a", b"\x12", b"\x1a", b"\x10", b"\x18", b"alt+", b"ctrl+", b"(", b"*",
        ],
        generate: |rng| {
            let kind = rng.u8(..REQUESTS);
            request(kind, Some(rng))
        },
        run: run_request,
    }
}

fn run_request(input: &[u8]) {
    let Some((&kind, body)) = input.split_first() else {
        return;
    };
    match kind % REQUESTS {
        0 => {
            if let Some(r) = round_trip::<pb::SpawnRequest>(body) {
                check_spawn(&unmap::spawn_spec(r));
            }
        }
        1 => drop(round_trip::<pb::SessionRequest>(body).map(|r| check_address(&r.session))),
        2 => {
            if let Some(r) = round_trip::<pb::KillRequest>(body)
                && let Ok(signal) = parse_signal(&r.signal)
            {
                assert!((1..=31).contains(&(signal as i32)), "{signal:?}");
            }
        }
        3 => drop(round_trip::<pb::RemoveRequest>(body)),
        4 => drop(round_trip::<pb::RenameRequest>(body).map(|r| check_name(&r.new_name))),
        5 => drop(round_trip::<pb::ResizeRequest>(body).map(|r| check_size(r.cols, r.rows))),
        6 => drop(round_trip::<pb::GrepRequest>(body).map(|r| check_regex(&r.pattern))),
        7 => {
            if let Some(r) = round_trip::<pb::SendTextRequest>(body) {
                let len = r.text.len() + usize::from(r.submit);
                let accepted = input_bytes(
                    Input::Text {
                        text: r.text,
                        submit: r.submit,
                    },
                    false,
                );
                assert_eq!(
                    accepted.map(|b| b.len()).ok(),
                    (len <= limits::MAX_INPUT_BYTES).then_some(len)
                );
            }
        }
        8 => {
            if let Some(r) = round_trip::<pb::SendKeyRequest>(body) {
                let n = r.keys.len();
                if let Ok(bytes) = input_bytes(Input::Keys(r.keys), kind & 0x80 != 0) {
                    assert!(n <= limits::MAX_KEYS, "{n} keys accepted");
                    assert!(bytes.len() >= n, "a key without bytes");
                }
            }
        }
        9 => {
            if let Some(r) = round_trip::<pb::SendBytesRequest>(body) {
                let ok = input_bytes(Input::Bytes(r.data.clone()), false).is_ok();
                assert_eq!(ok, r.data.len() <= limits::MAX_INPUT_BYTES);
            }
        }
        10 => {
            if let Some(r) = round_trip::<pb::WaitForRequest>(body) {
                check_regex(&r.pattern);
                check_timeout(r.timeout_ms);
            }
        }
        11 => {
            if let Some(r) = round_trip::<pb::WaitForIdleRequest>(body) {
                check_timeout(r.idle_ms);
                check_timeout(r.timeout_ms);
            }
        }
        12 => drop(round_trip::<pb::SubscribeRequest>(body)),
        13 => match round_trip::<pb::AttachRequest>(body).and_then(|r| r.request) {
            Some(attach_request::Request::Open(open)) => check_address(&open.session),
            Some(attach_request::Request::Resize(size)) => check_size(size.cols, size.rows),
            Some(attach_request::Request::Input(data)) => {
                let ok = input_bytes(Input::Bytes(data.clone()), false).is_ok();
                assert_eq!(ok, data.len() <= limits::MAX_INPUT_BYTES);
            }
            None => {}
        },
        14 => drop(round_trip::<pb::RecordRequest>(body)),
        15 => drop(round_trip::<pb::CreateShareRequest>(body).map(|r| check_address(&r.session))),
        _ => drop(round_trip::<pb::RevokeShareRequest>(body)),
    }
}

/// A regex the limits accept is within them (compile time is bounded by
/// the harness's per-input limit).
fn check_regex(pattern: &str) {
    if limits::regex(pattern).is_ok() {
        assert!(!pattern.is_empty() && pattern.len() <= limits::MAX_REGEX_BYTES);
    }
}

fn check_timeout(ms: u64) {
    let default = Duration::from_secs(3);
    match limits::timeout(ms, default, "t") {
        Ok(d) => assert!(d <= limits::MAX_TIMEOUT && (ms == 0 || d.as_millis() == u128::from(ms))),
        Err(_) => assert!(Duration::from_millis(ms) > limits::MAX_TIMEOUT),
    }
}

const ANSWERS: u8 = 7;

/// What a spoke answers, as a spoke would send it.
fn answer(kind: u8) -> Vec<u8> {
    let info = pb::SessionInfo {
        id: "7".into(),
        name: "tests".into(),
        spoke: "build-a".into(),
        command: "bash".into(),
        cols: 80,
        rows: 24,
        status: pb::SessionStatus::Exited as i32,
        exit_code: Some(1),
        created_at_ms: 1_700_000_000_000,
        exited_at_ms: 1_700_000_001_000,
        output_offset: 42,
        pid: 99,
        ..Default::default()
    };
    let cell = pb::Cell {
        text: "x".into(),
        fg: 0x0200_ff00,
        bg: 0x0100_0007,
        attrs: 1,
        wide: false,
    };
    let body = match kind {
        0 => info.encode_to_vec(),
        1 => pb::SessionList {
            sessions: vec![info.clone(), info],
        }
        .encode_to_vec(),
        2 => pb::Screen {
            cols: 2,
            rows: 1,
            cells: vec![pb::ScreenRow {
                cells: vec![cell.clone(), cell],
            }],
            lines: vec!["xx".into()],
            title: "t".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        3 => pb::SubscribeEvent {
            event: Some(subscribe_event::Event::Snapshot(pb::Snapshot {
                screen: Bytes::from_static(b"\x1b[H"),
                cols: 80,
                rows: 24,
                offset: 9,
                reason: pb::SnapshotReason::Resync as i32,
            })),
        }
        .encode_to_vec(),
        4 => pb::Description {
            name: "build-a".into(),
            version: "0.1.0".into(),
            labels: vec![pb::Label {
                key: "os".into(),
                value: "linux".into(),
            }],
            instance: "abc".into(),
        }
        .encode_to_vec(),
        5 => pb::GrepResponse {
            matches: vec![pb::GrepMatch {
                line_number: 3,
                line: "x".into(),
                ..Default::default()
            }],
            truncated: true,
        }
        .encode_to_vec(),
        _ => pb::WaitForResponse {
            outcome: 1,
            matched: "m".into(),
            line: "l".into(),
            offset: 4,
        }
        .encode_to_vec(),
    };
    let mut input = vec![kind];
    input.extend(body);
    input
}

pub fn from_spoke() -> Target {
    Target {
        name: "grpc-spoke",
        seeds: || (0..ANSWERS).map(answer).collect(),
        dictionary: &[
            b"\x08",
            b"\x10",
            b"\x0a",
            b"\x12",
            b"\x1a",
            b"\xff\xff\xff\xff\x0f",
        ],
        generate: |rng| {
            let mut input = answer(rng.u8(..ANSWERS));
            // Numbers at the edges, in place of a field's.
            let at = rng.usize(1..=input.len());
            input.splice(at..at, crate::input::varint(number(rng)));
            input
        },
        run: run_answer,
    }
}

/// Mapping what a spoke sent to domain types and back is stable after the
/// first pass (the first may clamp or drop what is out of range).
fn run_answer(input: &[u8]) {
    let Some((&kind, body)) = input.split_first() else {
        return;
    };
    macro_rules! stable {
        ($ty:ty, $there:expr, $back:expr) => {
            if let Some(m) = round_trip::<$ty>(body) {
                let once = $back($there(m));
                let twice = $back($there(once.clone()));
                assert_eq!(once, twice, "map(unmap(x)) is not stable");
            }
        };
    }
    match kind % ANSWERS {
        0 => stable!(pb::SessionInfo, unmap::session_info, |s| map::session_info(
            &s
        )),
        1 => stable!(
            pb::SessionList,
            |l: pb::SessionList| l.sessions.into_iter().map(unmap::session_info).collect(),
            |list: Vec<_>| map::session_list(&list)
        ),
        2 => stable!(pb::Screen, unmap::screen, map::screen),
        3 => {
            if let Some(m) = round_trip::<pb::SubscribeEvent>(body) {
                let once = unmap::stream_event(m).map(map::stream_event);
                let twice = once
                    .clone()
                    .and_then(unmap::stream_event)
                    .map(map::stream_event);
                assert_eq!(once, twice, "map(unmap(x)) is not stable");
            }
        }
        4 => stable!(pb::Description, unmap::description, map::description),
        5 => stable!(pb::GrepResponse, unmap::grep, map::grep),
        _ => stable!(pb::WaitForResponse, unmap::wait_match, map::wait_match),
    }
}
