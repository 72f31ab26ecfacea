//! The tunnel handshake both ways (the spoke reading the hub's response
//! head, the hub reading the spoke's headers, `--hub` addresses) and share
//! tokens.
//!
//! Inputs that hold several values start with a selector byte; header
//! sets are `name: value` lines (invalid ones skipped, as hyper would
//! refuse them).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use vtr::hub::secret::{Secret, unhex};
use vtr::hub::share::token::{self, Claims, MAX_TOKEN_BYTES};
use vtr::transport::tunnel;

use crate::Target;
use crate::input::{pick, text};
use crate::props::name_rule;

/// `name: value` lines as headers.
pub fn headers(data: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

pub fn lossy(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

pub fn tunnel() -> Target {
    Target {
        name: "tunnel",
        seeds: || {
            vec![
                [
                    b"\0" as &[u8],
                    b"HTTP/1.1 101 Switching Protocols\r\nupgrade: vtr-tunnel/1\r\n\r\n",
                ]
                .concat(),
                [
                    b"\0" as &[u8],
                    b"HTTP/1.1 409 Conflict\r\ncontent-length: 9\r\n\r\n",
                ]
                .concat(),
                [
                    b"\x01" as &[u8],
                    b"x-vtr-spoke: build-a\nx-vtr-instance: 1f2e\nupgrade: vtr-tunnel/1",
                ]
                .concat(),
                [b"\x02" as &[u8], b"http://127.0.0.1:4620/"].concat(),
            ]
        },
        dictionary: &[
            b"HTTP/1.1 ",
            b"101",
            b"\r\n",
            b"x-vtr-spoke: ",
            b"http://",
            b"https://",
            b"/",
            b":",
        ],
        generate: |rng| {
            let body = match rng.u32(0..3) {
                0 => format!(
                    "{} {} {}\r\n\r\n",
                    pick(rng, &["HTTP/1.1", "HTTP/1.0", "http/1.1", ""]),
                    rng.u32(0..1000),
                    text(rng, "ab ")
                ),
                1 => format!(
                    "x-vtr-spoke: {}\nx-vtr-instance: {}",
                    text(rng, "ab1.-_ :é"),
                    text(rng, "0123abc")
                ),
                _ => format!(
                    "{}{}",
                    pick(rng, &["http://", "https://", "", "HTTP://"]),
                    text(rng, "ab1:./[]@ ")
                ),
            };
            [vec![rng.u8(0..3)], body.into_bytes()].concat()
        },
        run: |input| {
            let Some((&kind, data)) = input.split_first() else {
                return;
            };
            match kind % 3 {
                0 => check_status(data),
                1 => {
                    let h = headers(data);
                    if let Ok((name, _instance)) = tunnel::spoke_identity(&h) {
                        assert!(name_rule(&name), "spoke name {name:?} accepted");
                        assert_eq!(
                            h.get("x-vtr-spoke").map(|v| v.as_bytes()),
                            Some(name.as_bytes())
                        );
                    }
                    let _ = tunnel::upgrade_requested(&h);
                }
                _ => {
                    let url = lossy(data);
                    if let Ok(address) = tunnel::hub_address(&url) {
                        assert!(!address.is_empty() && !address.contains('/'));
                        assert_eq!(format!("http://{address}"), url.trim_end_matches('/'));
                        // It goes into the spoke's request head as `Host:`.
                        assert!(
                            !address.chars().any(|c| c.is_whitespace() || c.is_control()),
                            "hub address {address:?} accepted"
                        );
                    }
                }
            }
        },
    }
}

/// A well-formed status line gives its code; anything gives some code.
fn check_status(head: &[u8]) {
    let status = tunnel::response_status(head);
    let Some(rest) = head.strip_prefix(b"HTTP/1.1 ") else {
        return;
    };
    if rest.len() >= 4 && rest[..3].iter().all(u8::is_ascii_digit) && rest[3] == b' ' {
        let code = u16::from(rest[0] - b'0') * 100
            + u16::from(rest[1] - b'0') * 10
            + u16::from(rest[2] - b'0');
        assert_eq!(
            status,
            code,
            "status line {:?}",
            lossy(&head[..head.len().min(40)])
        );
    }
}

const SECRET: u8 = 7;
const DOMAIN: &str = "vtr-share-v1";

pub fn share_token() -> Target {
    Target {
        name: "share-token",
        seeds: || {
            let secret = Secret::fixed(SECRET);
            [1_900_000_000, 0, u64::MAX, 60]
                .into_iter()
                .map(|expires_s| {
                    token::sign(
                        &secret,
                        &Claims {
                            id: "0123456789abcdef0123456789abcdef".into(),
                            expires_s,
                        },
                    )
                    .into_bytes()
                })
                .collect()
        },
        dictionary: &[b".", b"0", b"f", b"A", b"00"],
        generate: |rng| {
            let secret = Secret::fixed(SECRET);
            let id: String = (0..32)
                .map(|_| pick(rng, &["0", "9", "a", "f"]).to_owned())
                .collect();
            match rng.u32(0..3) {
                0 => token::sign(
                    &secret,
                    &Claims {
                        id,
                        expires_s: rng.u64(..),
                    },
                )
                .into_bytes(),
                // Another hub's token: never valid here.
                1 => token::sign(
                    &Secret::fixed(SECRET + 1),
                    &Claims {
                        id,
                        expires_s: rng.u64(..),
                    },
                )
                .into_bytes(),
                _ => text(rng, "0123456789abcdef.").into_bytes(),
            }
        },
        run: |input| {
            let secret = Secret::fixed(SECRET);
            let text = lossy(input);
            if let Ok(claims) = token::verify(&secret, &text) {
                assert!(text.len() <= MAX_TOKEN_BYTES);
                // Only what the hub signs verifies: one token per claim.
                assert_eq!(
                    token::sign(&secret, &claims),
                    text,
                    "a token the hub did not make verified"
                );
                let payload = format!("{}.{}", claims.id, claims.expires_s);
                assert!(secret.verify(
                    DOMAIN,
                    &payload,
                    text.rsplit('.').next().unwrap_or_default()
                ));
            }
            if let Some(bytes) = unhex(&text) {
                let again: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(again, text, "unhex is not the inverse of hex");
            }
        },
    }
}
