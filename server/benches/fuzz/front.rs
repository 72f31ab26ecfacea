//! What arrives at the hub's front door: cookies and bearer headers, the
//! sign-in form's `next` and name, and the Host/Origin checks.
//!
//! Inputs start with a selector byte; header sets are `name: value` lines.

use axum::http::{HeaderMap, HeaderValue, Request, header};
use vtr::transport::web::{auth, origin};

use crate::Target;
use crate::edge::{headers, lossy};
use crate::input::{pick, text};

pub fn auth() -> Target {
    Target {
        name: "auth",
        seeds: || {
            vec![
                [
                    b"\0" as &[u8],
                    b"cookie: theme=dark; vtr_session=0123abcd\ncookie: a=b",
                ]
                .concat(),
                [
                    b"\x01" as &[u8],
                    b"authorization: Bearer 0123456789abcdef-token",
                ]
                .concat(),
                [b"\x02" as &[u8], b"/s/hub:tests?x=1"].concat(),
                [b"\x03" as &[u8], "alice@example.com".as_bytes()].concat(),
            ]
        },
        dictionary: &[
            b"vtr_session=",
            b"; ",
            b"Bearer ",
            b"bearer\t",
            b"//",
            b"\\",
            b"/",
            b"\t",
            b"tailscale:",
            b"local",
        ],
        generate: |rng| {
            let body = match rng.u32(0..4) {
                0 => format!("cookie: {}", text(rng, "vtr_session=; ab")),
                1 => format!(
                    "authorization: {} {}",
                    pick(rng, &["Bearer", "bearer", "Basic", ""]),
                    text(rng, "ab \t")
                ),
                2 => text(rng, "/\\:@.a%\t"),
                _ => text(rng, "alice:tailscale\u{7f}\u{85}é"),
            };
            [vec![rng.u8(0..4)], body.into_bytes()].concat()
        },
        run: |input| {
            let Some((&kind, data)) = input.split_first() else {
                return;
            };
            match kind % 4 {
                0 => {
                    let h = headers(data);
                    if let Some(id) = auth::cookie(&h) {
                        assert!(!id.contains(';'), "cookie value {id:?} runs into the next");
                        let sent = h.get_all(header::COOKIE).iter().any(|v| {
                            v.to_str()
                                .is_ok_and(|v| v.contains(&format!("{}={id}", auth::COOKIE)))
                        });
                        assert!(sent, "cookie {id:?} is not in the request");
                    }
                }
                1 => {
                    if let Some(credential) = auth::bearer(&headers(data)) {
                        assert!(!credential.is_empty());
                        assert!(
                            !credential.contains(char::is_whitespace),
                            "bearer credential {credential:?} has whitespace"
                        );
                    }
                }
                2 => {
                    let asked = lossy(data);
                    let next = auth::safe_next(Some(&asked));
                    assert!(
                        next.starts_with('/') && !next.starts_with("//"),
                        "next {next:?}"
                    );
                    assert!(
                        next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'),
                        "next {next:?}"
                    );
                    assert!(next == asked || next == "/", "next {next:?} from {asked:?}");
                }
                _ => {
                    let who = lossy(data);
                    if auth::valid_identity(&who) {
                        assert!(
                            !who.is_empty()
                                && who.len() <= 128
                                && !who.chars().any(char::is_control)
                        );
                    }
                    let lower = who.to_lowercase();
                    if lower.starts_with("tailscale:") || lower == "local" {
                        assert!(auth::reserved(&who), "{who:?} not reserved");
                    }
                }
            }
        },
    }
}

pub fn origin() -> Target {
    Target {
        name: "origin",
        seeds: || {
            vec![
                b"\x00127.0.0.1:4620".to_vec(),
                b"\x01https://vtr.example.net/\nVTR.example.net:443".to_vec(),
                b"\x02http://127.0.0.1:4620\n127.0.0.1:4620\nhttp://127.0.0.1:4620".to_vec(),
                b"\x03[::1]:4620\nhttp://[::1]:4620/x".to_vec(),
            ]
        },
        dictionary: &[
            b"localhost",
            b"[::1]",
            b"127.0.0.1",
            b":",
            b"http://",
            b"https://",
            b"\n",
            b".",
            b"@",
            b"]",
        ],
        generate: |rng| {
            let host = |rng: &mut fastrand::Rng| {
                format!(
                    "{}{}",
                    pick(
                        rng,
                        &[
                            "localhost",
                            "127.0.0.1",
                            "[::1]",
                            "evil.example",
                            "vtr.example.net",
                            ""
                        ]
                    ),
                    text(rng, ":0123.[]@a")
                )
            };
            let url = |rng: &mut fastrand::Rng| {
                format!(
                    "{}{}",
                    pick(rng, &["http://", "https://", "", "null"]),
                    host(rng)
                )
            };
            let body = format!("{}\n{}\n{}", url(rng), host(rng), url(rng));
            [vec![rng.u8(0..4)], body.into_bytes()].concat()
        },
        run: |input| {
            let Some((&kind, data)) = input.split_first() else {
                return;
            };
            let text = lossy(data);
            let mut parts = text.splitn(3, '\n');
            let (a, b, c) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            match kind % 4 {
                0 => check_host(&text, ""),
                1 => check_host(b, a),
                2 => {
                    let Ok(value) = HeaderValue::from_str(a) else {
                        return;
                    };
                    let mut h = HeaderMap::new();
                    h.insert(header::ORIGIN, value);
                    if origin::origin_allowed(&h, b, c, false) {
                        let same_host = ["http://", "https://"]
                            .iter()
                            .any(|s| !b.is_empty() && a.eq_ignore_ascii_case(&format!("{s}{b}")));
                        let authority = c
                            .split_once("://")
                            .map(|(s, rest)| (s, rest.split('/').next().unwrap_or_default()));
                        let public = authority.is_some_and(|(s, auth)| {
                            !auth.is_empty() && a.eq_ignore_ascii_case(&format!("{s}://{auth}"))
                        });
                        assert!(
                            same_host || public,
                            "origin {a:?} accepted for host {b:?}, public {c:?}"
                        );
                    }
                }
                _ => {
                    let mut request = Request::builder();
                    if let Ok(value) = HeaderValue::from_str(a) {
                        request = request.header(header::HOST, value);
                    }
                    if let Ok(request) = request.uri(b).body(()) {
                        let host = origin::requested_host(&request);
                        if let Some(value) = request
                            .headers()
                            .get(header::HOST)
                            .and_then(|v| v.to_str().ok())
                        {
                            assert_eq!(host, value);
                        }
                    }
                }
            }
        },
    }
}

/// A browser's `Host` is let in only as an IP, `localhost`, or the public
/// URL's host.
fn check_host(host: &str, public_url: &str) {
    if !origin::host_allowed(host, public_url) {
        return;
    }
    let name_of = |authority: &str| -> String {
        match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
            None => authority.split(':').next().unwrap_or_default().to_owned(),
        }
    };
    let name = name_of(host);
    let public = public_url
        .split_once("://")
        .map(|(_, rest)| name_of(rest.split('/').next().unwrap_or_default()))
        .unwrap_or_default();
    assert!(
        name.parse::<std::net::IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || (!public.is_empty() && name.eq_ignore_ascii_case(&public)),
        "host {host:?} accepted with public URL {public_url:?}"
    );
}
