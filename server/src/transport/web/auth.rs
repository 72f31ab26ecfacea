//! Who may use the hub's port (asked by `front_door` for every request
//! not on a public path). Only a hub started with `--no-token` (loopback
//! only) is open: everyone is `local`. Otherwise every page, socket, call
//! and action needs one of: the sign-in cookie (`/login` exchanges the hub's token for it:
//! HttpOnly, SameSite=Strict), the token as a bearer header, or (with
//! `--trust-tailscale-headers`, from a loopback peer only) the identity
//! headers `tailscale serve` adds. Share-link viewers need none of them:
//! their token opens `/share/...` and `/ws/share` and nothing else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::hub::secret::{Secret, hex, unhex};
use crate::hub::share::now_ms;
use crate::transport::grpc::auth::Token;

pub const COOKIE: &str = "vtr_session";
/// How long a sign-in lasts.
const SIGN_IN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// MAC domain of sign-in cookies.
const DOMAIN: &str = "vtr-web-v1";
/// Longest identity kept (from a login form or a Tailscale header).
const MAX_IDENTITY: usize = 128;
const TAILSCALE_LOGIN: &str = "tailscale-user-login";
const TAILSCALE_PREFIX: &str = "tailscale:";
/// Identity of everyone on an open hub.
const LOCAL: &str = "local";

pub use crate::transport::grpc::auth::Identity;

#[derive(Clone)]
pub struct WebAuth {
    /// `None`: the hub is open (loopback, no token).
    token: Option<Token>,
    secret: Arc<Secret>,
    /// MAC domain of this hub's cookies: it names the token, so a new
    /// token signs everyone out.
    domain: Arc<str>,
    trust_tailscale: bool,
    /// Cookies only over HTTPS (TLS here, or at a proxy in front).
    secure: bool,
}

impl WebAuth {
    pub fn new(
        token: Option<Token>,
        secret: Arc<Secret>,
        trust_tailscale: bool,
        secure: bool,
    ) -> Self {
        let fingerprint = token.as_ref().map_or_else(String::new, |t| {
            use sha2::Digest;
            hex(&sha2::Sha256::digest(t.secret().as_bytes())[..8])
        });
        WebAuth {
            domain: format!("{DOMAIN}:{fingerprint}").into(),
            token,
            secret,
            trust_tailscale,
            secure,
        }
    }

    fn required(&self) -> bool {
        self.token.is_some() || self.trust_tailscale
    }

    /// Who the request comes from, if anyone the hub lets in.
    pub fn identify(&self, headers: &HeaderMap, peer: SocketAddr) -> Option<Identity> {
        if !self.required() {
            return Some(Identity(LOCAL.to_owned()));
        }
        if let Some(who) = cookie(headers).and_then(|c| self.check_cookie(c)) {
            return Some(Identity(who));
        }
        if let (Some(token), Some(presented)) = (&self.token, bearer(headers))
            && token.matches(presented)
        {
            return Some(Identity("token".to_owned()));
        }
        if self.trust_tailscale && peer.ip().is_loopback() {
            let login = headers.get(TAILSCALE_LOGIN)?.to_str().ok()?;
            return valid_identity(login).then(|| Identity(format!("{TAILSCALE_PREFIX}{login}")));
        }
        None
    }

    /// A sign-in cookie for `who`, issued now.
    fn make_cookie(&self, who: &str) -> String {
        let payload = format!("{}.{}", now_ms() / 1000, hex(who.as_bytes()));
        let mac = self.secret.sign(&self.domain, &payload);
        format!("{payload}.{mac}")
    }

    /// The identity in a cookie this hub signed that has not expired.
    fn check_cookie(&self, value: &str) -> Option<String> {
        let (payload, mac) = value.rsplit_once('.')?;
        if !self.secret.verify(&self.domain, payload, mac) {
            return None;
        }
        let (issued, who) = payload.split_once('.')?;
        let issued: i64 = issued.parse().ok()?;
        let age_ms = now_ms() - issued * 1000;
        if age_ms < 0 || age_ms > SIGN_IN_FOR.as_millis() as i64 {
            return None;
        }
        String::from_utf8(unhex(who)?).ok()
    }

    fn set_cookie(&self, value: &str, max_age: Duration) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            max_age.as_secs()
        );
        HeaderValue::from_str(&text).expect("cookie values are hex and digits")
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    failed: Option<String>,
}

/// `GET /login`: the sign-in form (no script needed).
pub async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    let next = safe_next(query.next.as_deref());
    let failed = if query.failed.is_some() {
        "<p class=\"bad\">That is not the hub's token.</p>"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>sign in - vtr</title>\
         <style>body{{background:#111418;color:#d8dee9;font:15px system-ui;display:grid;\
         place-items:center;height:90vh}}form{{display:flex;flex-direction:column;gap:.6em;\
         min-width:20em}}input,button{{font:inherit;padding:.4em;background:#1b2027;\
         color:inherit;border:1px solid #2f3640;border-radius:3px}}.bad{{color:#e06c75}}\
         </style></head><body><form method=\"post\" action=\"/login\" data-testid=\"login\">\
         <h1>vtr</h1>{failed}<label>The hub's token \
         <input type=\"password\" name=\"token\" autofocus required data-testid=\"token\"></label>\
         <label>Your name (shown on what you start) \
         <input name=\"name\" maxlength=\"{MAX_IDENTITY}\" data-testid=\"name\"></label>\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <button type=\"submit\" data-testid=\"sign-in\">sign in</button></form>\
         <script>{SIGN_IN_FROM_FRAGMENT}</script></body></html>",
        next = html_escape(&next),
    ))
    .into_response()
}

/// The sign-in URL the hub prints carries the token in its fragment
/// (`/login#token=...`), which browsers never send to a server or put in
/// a `Referer`: the page takes it out of the address bar at once and
/// signs in with it.
const SIGN_IN_FROM_FRAGMENT: &str = "\
(function(){var m=/[#&]token=([^&]+)/.exec(location.hash);if(!m)return;\
history.replaceState(null,'',location.pathname+location.search);\
var f=document.querySelector('form');f.token.value=decodeURIComponent(m[1]);f.submit();})();";

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: the token for a cookie.
pub async fn login(
    State(auth): State<WebAuth>,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let next = safe_next(Some(&form.next));
    let Some(token) = &auth.token else {
        // Nothing to sign in to (an open hub, or Tailscale identities only).
        return Redirect::to(&next).into_response();
    };
    if !token.matches(form.token.trim()) {
        tracing::warn!("web sign-in refused: wrong token");
        let back = format!("/login?failed=1&next={}", query_escape(&next));
        return Redirect::to(&back).into_response();
    }
    let name = form.name.trim();
    let who = if name.is_empty() {
        "token".to_owned()
    } else if valid_identity(name) && !reserved(name) {
        name.to_owned()
    } else {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "a name is 1 to {MAX_IDENTITY} printable characters, and not \
                 {TAILSCALE_PREFIX}... or {LOCAL}\n"
            ),
        )
            .into_response();
    };
    let cookie = auth.set_cookie(&auth.make_cookie(&who), SIGN_IN_FOR);
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// `POST /logout`: forgets the cookie.
pub async fn logout(State(auth): State<WebAuth>) -> Response {
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.set_cookie("", Duration::ZERO));
    response
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    crate::transport::grpc::auth::bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// Names only the hub gives: `tailscale:LOGIN` comes from Tailscale's
/// headers alone, `local` means an open hub.
fn reserved(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with(TAILSCALE_PREFIX) || name.eq_ignore_ascii_case(LOCAL)
}

fn valid_identity(who: &str) -> bool {
    !who.is_empty() && who.len() <= MAX_IDENTITY && !who.chars().any(char::is_control)
}

/// Where to go after signing in: a path on this hub, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Percent-encodes what a query value cannot hold as is.
pub(super) fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(token: Option<&str>, tailscale: bool) -> WebAuth {
        WebAuth::new(
            token.map(|t| Token::new(t).expect("token")),
            Arc::new(Secret::fixed(3)),
            tailscale,
            false,
        )
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header"));
        }
        h
    }

    const LOOPBACK: &str = "127.0.0.1:5000";
    const REMOTE: &str = "10.1.2.3:5000";

    #[test]
    fn an_open_hub_lets_everyone_in_as_local() {
        let who = auth(None, false).identify(&HeaderMap::new(), LOOPBACK.parse().expect("addr"));
        assert_eq!(who, Some(Identity("local".into())));
    }

    #[test]
    fn cookies_are_signed_and_name_who_signed_in() {
        let a = auth(Some("0123456789abcdef-token"), false);
        let peer = LOOPBACK.parse().expect("addr");
        assert_eq!(a.identify(&HeaderMap::new(), peer), None);
        let value = a.make_cookie("alice");
        let h = headers(&[("cookie", &format!("theme=dark; {COOKIE}={value}"))]);
        assert_eq!(a.identify(&h, peer), Some(Identity("alice".into())));
        // Tampered, or signed by another hub: nobody.
        let forged = value.replacen('1', "2", 1);
        let h = headers(&[("cookie", &format!("{COOKIE}={forged}"))]);
        assert_eq!(a.identify(&h, peer), None);
        let other = WebAuth::new(None, Arc::new(Secret::fixed(4)), true, false);
        let h = headers(&[("cookie", &format!("{COOKIE}={}", other.make_cookie("eve")))]);
        assert_eq!(a.identify(&h, peer), None);
        // A new token signs everyone out.
        let rotated = auth(Some("another-token-0123456789"), false);
        let h = headers(&[("cookie", &format!("{COOKIE}={value}"))]);
        assert_eq!(rotated.identify(&h, peer), None);
        // The token itself works as a bearer header.
        let h = headers(&[("authorization", "Bearer 0123456789abcdef-token")]);
        assert_eq!(a.identify(&h, peer), Some(Identity("token".into())));
        let h = headers(&[("authorization", "Bearer wrong-token-0123456789")]);
        assert_eq!(a.identify(&h, peer), None);
    }

    #[test]
    fn tailscale_headers_count_only_when_trusted_and_from_loopback() {
        let h = headers(&[(TAILSCALE_LOGIN, "alice@example.com")]);
        let loopback = LOOPBACK.parse().expect("addr");
        let remote = REMOTE.parse().expect("addr");
        assert_eq!(
            auth(None, true).identify(&h, loopback),
            Some(Identity("tailscale:alice@example.com".into()))
        );
        assert_eq!(auth(None, true).identify(&h, remote), None);
        assert_eq!(
            auth(Some("0123456789abcdef-token"), false).identify(&h, loopback),
            None
        );
    }

    #[test]
    fn sign_in_names_and_next_paths() {
        assert!(reserved("tailscale:alice@example.com"));
        assert!(reserved("Tailscale:alice"));
        assert!(reserved("local"));
        assert!(!reserved("alice"));
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/s/hub:x")), "/s/hub:x");
    }
}
