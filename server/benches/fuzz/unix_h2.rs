//! What a client sends on a gRPC Unix socket, through the `Mender` that
//! rewrites path-like `:authority` values (transport/unix_authority.rs).
//!
//! Properties: the same bytes give the same result however they are split;
//! and whatever it passes on after the HTTP/2 preface decodes, block by
//! block, with a fresh HPACK decoder (the server's, whose dynamic table the
//! mended blocks never touch) to headers whose `:authority` is valid.

use axum::http::uri::Authority;
use vtr::transport::unix_authority::Mender;

use crate::Target;
use crate::input::{pick, text};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(0).min(0xff_ffff);
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags]);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A client's connection: settings, then requests naming `authorities`,
/// encoded with one HPACK encoder (so later ones use its dynamic table).
fn connection(authorities: &[&str], cut: bool) -> Vec<u8> {
    let mut encoder = loona_hpack::Encoder::new();
    let mut bytes = PREFACE.to_vec();
    bytes.extend(frame(0x4, 0, 0, &[0, 3, 0, 0, 0, 100]));
    for (i, authority) in authorities.iter().enumerate() {
        let stream = 1 + 2 * u32::try_from(i).unwrap_or(0);
        let fields: [(&[u8], &[u8]); 5] = [
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", b"/vtr.v1.Vtr/List"),
            (b":authority", authority.as_bytes()),
            (b"content-type", b"application/grpc"),
        ];
        let block = encoder.encode(fields);
        if cut && block.len() > 1 {
            let (a, b) = block.split_at(block.len() / 2);
            bytes.extend(frame(0x1, 0, stream, a));
            bytes.extend(frame(0x9, 0x4, stream, b));
        } else {
            bytes.extend(frame(0x1, 0x4, stream, &block));
        }
        bytes.extend(frame(0x0, 0x1, stream, &[0, 0, 0, 0, 0]));
    }
    bytes
}

pub fn target() -> Target {
    Target {
        name: "unix_h2",
        seeds: || {
            vec![
                connection(&["localhost"], false),
                connection(
                    &["/run/user/1000/vtr/hub.sock", "/run/user/1000/vtr/hub.sock"],
                    true,
                ),
                connection(&["%2Ftmp%2Fvtr.sock", "localhost:4620"], false),
                b"GET / HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
            ]
        },
        dictionary: &[
            PREFACE,
            b"\x00\x00\x00\x01\x04\x00\x00\x00\x01",
            b"\x00\x00\x00\x09\x04\x00\x00\x00\x01",
            b"\x40\x0a:authority",
            b"\xbe",
            b"\x3f\xe1\x1f",
        ],
        generate: |rng| {
            let n = rng.usize(1..4);
            let authorities: Vec<String> = (0..n)
                .map(|_| match rng.u32(0..3) {
                    0 => pick(rng, &["localhost", "127.0.0.1:1", "/tmp/a.sock", "%2F"]).to_owned(),
                    _ => text(rng, "/%2Fab.:@[]"),
                })
                .collect();
            let refs: Vec<&str> = authorities.iter().map(String::as_str).collect();
            connection(&refs, rng.bool())
        },
        run,
    }
}

fn run(data: &[u8]) {
    let whole = mend(data, &[]);
    let split = data.len() / 3;
    let pieces = mend(data, &[split, split + (data.len() - split) / 2]);
    assert_eq!(whole, pieces, "the result depends on how the bytes arrive");
    let Ok(out) = whole else {
        return;
    };
    let Some(frames) = out.strip_prefix(PREFACE) else {
        assert!(!data.starts_with(PREFACE), "the preface was lost");
        if PREFACE.starts_with(data) {
            assert!(out.is_empty(), "a partial preface waits for the rest");
            return;
        }
        assert_eq!(out, data, "not HTTP/2, so passed unchanged");
        return;
    };
    let mut decoder = loona_hpack::Decoder::new();
    let mut at = 0;
    let mut block = Vec::new();
    while let Some(head) = frames.get(at..at + 9) {
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let Some(payload) = frames.get(at + 9..at + 9 + len) else {
            break;
        };
        if head[3] == 0x1 || head[3] == 0x9 {
            assert_eq!(
                head[4] & 0x28,
                0,
                "mended headers carry no padding or priority"
            );
            block.extend_from_slice(payload);
            if head[4] & 0x4 != 0 {
                let fields = decoder.decode(&block).expect("a mended block decodes");
                for (name, value) in fields {
                    if name == b":authority" {
                        assert!(Authority::try_from(value.as_slice()).is_ok(), "{value:?}");
                    }
                }
                block.clear();
            }
        }
        at += 9 + len;
    }
}

/// The Mender's output for `data` fed in pieces cut at `cuts`.
fn mend(data: &[u8], cuts: &[usize]) -> Result<Vec<u8>, String> {
    let mut mender = Mender::default();
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain([data.len()].iter()) {
        mender
            .feed(&data[from..to], &mut out)
            .map_err(|e| e.to_string())?;
        from = to;
    }
    Ok(out)
}
