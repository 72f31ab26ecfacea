//! Who may use the hub's port (asked by `front_door` for every request
//! not on a public path). Only a hub started with `--no-token` (loopback
//! only) is open: everyone is `local`. Otherwise every page, socket, call
//! and action needs one of: the sign-in cookie (`/login` trades the hub's
//! token for a sign-in the hub keeps, see `hub::signins`), the token as a
//! bearer header, or the identity headers `tailscale serve` adds, believed
//! only on requests that came through `--tailscale-socket`. Share-link
//! viewers need none of them: their token opens `/share/...` and
//! `/ws/share` and nothing else. A grant's token (`vtrg_...`, see
//! `hub::grants`) lets a program in as `grant:ID`, limited to what the
//! grant allows (the front door says where it may go).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::hub::grants::{self, GrantError, GrantPass, Grants};
use crate::hub::secret::hex;
use crate::hub::signins::SignIns;
use crate::transport::grpc::auth::Token;
use crate::transport::throttle::Throttle;

pub const COOKIE: &str = "vtr_session";
/// How long a sign-in lasts.
const SIGN_IN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest identity kept (from a login form or a Tailscale header).
const MAX_IDENTITY: usize = 128;
const TAILSCALE_LOGIN: &str = "tailscale-user-login";
const TAILSCALE_FUNNEL: &str = "tailscale-funnel-request";
const TAILSCALE_PREFIX: &str = "tailscale:";
/// Identity of everyone on an open hub.
const LOCAL: &str = "local";
/// Identities of grants: `grant:ID`.
pub const GRANT_PREFIX: &str = "grant:";

pub use crate::transport::grpc::auth::Identity;

#[derive(Clone)]
pub struct WebAuth {
    /// `None`: the hub is open (`--no-token`, loopback only).
    token: Option<Token>,
    sign_ins: Arc<SignIns>,
    /// Failed credentials per peer.
    pub throttle: Arc<Throttle>,
    trust_tailscale: bool,
    /// Cookies only over HTTPS (TLS here, or at a proxy in front).
    secure: bool,
    /// The hub's grants (none: grant tokens open nothing).
    grants: Option<Arc<Grants>>,
}

/// The sign-in a request came with (a request extension): sockets opened
/// with it end when it does.
#[derive(Clone)]
pub struct SignIn {
    id: String,
    sign_ins: Arc<SignIns>,
}

impl SignIn {
    /// Resolves once this sign-in has ended (signed out, here or
    /// everywhere).
    pub async fn ended(&self) {
        let mut endings = self.sign_ins.endings();
        while self.sign_ins.check(&self.id).is_some() {
            if endings.changed().await.is_err() {
                break;
            }
        }
    }
}

/// What a request presented, and whether it let the request in.
pub enum Verdict {
    In(Identity),
    /// A grant's token, good now: in as `grant:ID`, within the grant.
    Granted(Box<GrantPass>),
    /// A grant's token that does not work: why, and whether it counts as
    /// a failed credential (a guess does; an expired or revoked grant,
    /// whose holder knew its secret, does not).
    WrongGrant {
        why: String,
        guess: bool,
    },
    /// A credential was presented and was wrong (counts as a failure).
    Wrong,
    /// None presented.
    Nobody,
}

/// Names the hub token sign-ins were made with: a new token signs
/// everyone out.
pub fn token_fingerprint(token: Option<&Token>) -> String {
    token.map_or_else(String::new, |t| {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(t.secret().as_bytes())[..8])
    })
}

impl WebAuth {
    pub fn new(
        token: Option<Token>,
        sign_ins: Arc<SignIns>,
        throttle: Arc<Throttle>,
        trust_tailscale: bool,
        secure: bool,
    ) -> Self {
        WebAuth {
            token,
            sign_ins,
            throttle,
            trust_tailscale,
            secure,
            grants: None,
        }
    }

    /// Grant tokens open what their grant allows.
    pub fn with_grants(mut self, grants: Arc<Grants>) -> Self {
        self.grants = Some(grants);
        self
    }

    fn required(&self) -> bool {
        self.token.is_some() || self.trust_tailscale
    }

    /// Who the request comes from, if anyone the hub lets in;
    /// `via_tailscale`: it came through the `--tailscale-socket`.
    pub fn identify(&self, headers: &HeaderMap, via_tailscale: bool) -> Option<Identity> {
        match self.verdict(headers, via_tailscale) {
            Verdict::In(identity) => Some(identity),
            // Grants reach programs' doors only (`front_door`).
            Verdict::Granted(_) | Verdict::WrongGrant { .. } | Verdict::Wrong | Verdict::Nobody => {
                None
            }
        }
    }

    /// The live sign-in a request's cookie names, if any.
    pub fn sign_in_of(&self, headers: &HeaderMap) -> Option<SignIn> {
        let id = cookie(headers)?;
        self.sign_ins.check(id)?;
        Some(SignIn {
            id: id.to_owned(),
            sign_ins: self.sign_ins.clone(),
        })
    }

    /// Whether the request's bearer header carries the hub's token.
    pub fn token_matches(&self, headers: &HeaderMap) -> bool {
        matches!((&self.token, bearer(headers)), (Some(t), Some(p)) if t.matches(p))
    }

    /// As `identify`, telling a wrong credential from none.
    pub fn verdict(&self, headers: &HeaderMap, via_tailscale: bool) -> Verdict {
        // A grant stays within its grant, even on an open hub.
        if let Some(presented) = bearer(headers).filter(|b| grants::is_grant_token(b)) {
            let Some(grants) = &self.grants else {
                return Verdict::WrongGrant {
                    why: "this hub takes no grant tokens".to_owned(),
                    guess: true,
                };
            };
            return match grants.open_token(presented) {
                Ok(grant) => Verdict::Granted(Box::new(GrantPass {
                    grants: grants.clone(),
                    grant,
                })),
                Err(e) => Verdict::WrongGrant {
                    guess: !matches!(e, GrantError::Expired | GrantError::Revoked),
                    why: e.to_string(),
                },
            };
        }
        if !self.required() {
            return Verdict::In(Identity(LOCAL.to_owned()));
        }
        if let Some(who) = cookie(headers).and_then(|c| self.sign_ins.check(c)) {
            return Verdict::In(Identity(who));
        }
        let presented = bearer(headers);
        if let (Some(token), Some(presented)) = (&self.token, presented)
            && token.matches(presented)
        {
            return Verdict::In(Identity("token".to_owned()));
        }
        // Only `tailscale serve` reaches the Tailscale socket, and it
        // replaces whatever identity headers a client sent; a Funnel
        // request (from the internet) carries no identity.
        if self.trust_tailscale
            && via_tailscale
            && !headers.contains_key(TAILSCALE_FUNNEL)
            && let Some(login) = headers.get(TAILSCALE_LOGIN).and_then(|v| v.to_str().ok())
            && valid_identity(login)
        {
            return Verdict::In(Identity(format!("{TAILSCALE_PREFIX}{login}")));
        }
        if presented.is_some() {
            Verdict::Wrong
        } else {
            Verdict::Nobody
        }
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
pub async fn login_page(Query(query): Query<LoginQuery>, headers: HeaderMap) -> Response {
    let next = safe_next(query.next.as_deref());
    // The page signs in by itself from `#token=` only when the person
    // opened it (typed, pasted, a bookmark) or the hub's own pages sent
    // them: another site navigating here with a wrong token would count
    // failures against the person's own address.
    let from_here = matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        None | Some("none" | "same-origin")
    );
    let script = if from_here { SIGN_IN_FROM_FRAGMENT } else { "" };
    let failed = if query.failed.is_some() {
        "<p class=\"bad\">That is not the hub's token.</p>"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>sign in - vtr</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"{FAVICON}\">\
         <style>body{{background:#111418;color:#d8dee9;font:15px system-ui;display:grid;\
         place-items:center;height:90vh}}form{{display:flex;flex-direction:column;gap:.6em;\
         min-width:min(20em,90vw)}}input,button{{font:inherit;padding:.4em;background:#1b2027;\
         color:inherit;border:1px solid #2f3640;border-radius:3px}}.bad{{color:#e06c75}}\
         </style></head><body><form method=\"post\" action=\"/login\" data-testid=\"login\">\
         <h1>vtr</h1>{failed}<label>The hub's token \
         <input type=\"password\" name=\"token\" autofocus required data-testid=\"token\"></label>\
         <label>Your name (shown on what you start) \
         <input name=\"name\" maxlength=\"{MAX_IDENTITY}\" data-testid=\"name\"></label>\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <button type=\"submit\" data-testid=\"sign-in\">sign in</button></form>\
         <script>{script}</script></body></html>",
        next = html_escape(&next),
    ))
    .into_response()
}

/// The app's icon (as `frontend/index.html` has it): no `/favicon.ico`
/// request, no 404.
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23111418'/%3E%3Cpath \
d='M3 4l4 4-4 4' stroke='%234caf50' stroke-width='2' fill='none'/%3E%3Cpath d='M8 12h5' \
stroke='%23d8dee9' stroke-width='2'/%3E%3C/svg%3E";

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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let next = safe_next(Some(&form.next));
    let Some(token) = &auth.token else {
        // Nothing to sign in to (an open hub, or Tailscale identities only).
        return Redirect::to(&next).into_response();
    };
    if let Err(wait) = auth.throttle.check(peer.ip()) {
        return too_many_failures(peer, wait);
    }
    if !token.matches(form.token.trim()) {
        auth.throttle.failed(peer.ip());
        tracing::warn!(%peer, "web sign-in refused: wrong token");
        let back = format!("/login?failed=1&next={}", query_escape(&next));
        return Redirect::to(&back).into_response();
    }
    auth.throttle.succeeded(peer.ip());
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
                 {TAILSCALE_PREFIX}..., {GRANT_PREFIX}... or {LOCAL}\n"
            ),
        )
            .into_response();
    };
    let id = match auth.sign_ins.create(&who, SIGN_IN_FOR) {
        Ok(id) => id,
        Err(e) => {
            tracing::error!("keeping a sign-in: {e:#}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the hub could not sign you in\n",
            )
                .into_response();
        }
    };
    tracing::info!(%peer, who = %who, "signed in");
    let cookie = auth.set_cookie(&id, SIGN_IN_FOR);
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

#[derive(Debug, Default, Deserialize)]
pub struct LogoutForm {
    /// Sign out every browser, not just this one.
    #[serde(default)]
    everywhere: Option<String>,
}

/// `POST /logout`: the hub forgets this sign-in (with `everywhere=1`, all
/// of them), and the browser its cookie.
pub async fn logout(
    State(auth): State<WebAuth>,
    headers: HeaderMap,
    form: Result<axum::Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let everywhere = form.is_ok_and(|f| f.everywhere.is_some());
    let signed_in = cookie(&headers).and_then(|c| auth.sign_ins.check(c).map(|_| c));
    let result = match (signed_in, everywhere) {
        (Some(_), true) => auth.sign_ins.revoke_all().map(|n| {
            tracing::info!(count = n, "signed everyone out");
        }),
        (Some(id), false) => auth.sign_ins.revoke(id).map(|_| ()),
        (None, _) => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!("forgetting a sign-in: {e:#}");
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.set_cookie("", Duration::ZERO));
    response
}

/// A peer that failed too often waits: 429, saying how long.
pub fn too_many_failures(peer: SocketAddr, wait: Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    tracing::warn!(%peer, wait_s = seconds, "refused: too many failed credentials");
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many failed sign-ins from {}: try again in {seconds} s\n",
            peer.ip()
        ),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&seconds.to_string()).expect("digits"),
    );
    response
}

/// The sign-in id in the request's `Cookie` headers, if any.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The bearer credential in the request's `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    crate::transport::grpc::auth::bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// Names only the hub gives: `tailscale:LOGIN` comes from Tailscale's
/// headers alone, `local` means an open hub.
pub fn reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(TAILSCALE_PREFIX)
        || lower.starts_with(GRANT_PREFIX)
        || name.eq_ignore_ascii_case(LOCAL)
}

/// A name kept as who someone is: 1 to `MAX_IDENTITY` bytes, no control
/// characters.
pub fn valid_identity(who: &str) -> bool {
    !who.is_empty() && who.len() <= MAX_IDENTITY && !who.chars().any(char::is_control)
}

/// Where to go after signing in: a path on this hub, never another site.
pub fn safe_next(next: Option<&str>) -> String {
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
        let token = token.map(|t| Token::new(t).expect("token"));
        let sign_ins = SignIns::in_memory(&token_fingerprint(token.as_ref())).expect("sign-ins");
        WebAuth::new(token, Arc::new(sign_ins), Arc::default(), tailscale, false)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn an_open_hub_lets_everyone_in_as_local() {
        let who = auth(None, false).identify(&HeaderMap::new(), false);
        assert_eq!(who, Some(Identity("local".into())));
    }

    #[test]
    fn cookies_name_a_sign_in_the_hub_keeps() {
        let a = auth(Some("0123456789abcdef-token"), false);
        let peer = false;
        assert!(matches!(
            a.verdict(&HeaderMap::new(), peer),
            Verdict::Nobody
        ));
        let value = a.sign_ins.create("alice", SIGN_IN_FOR).expect("sign in");
        let h = headers(&[("cookie", &format!("theme=dark; {COOKIE}={value}"))]);
        assert_eq!(a.identify(&h, peer), Some(Identity("alice".into())));
        // Made up, or another hub's: nobody.
        // (Another first character: a random value need not hold any
        // particular one.)
        let first = if value.starts_with('a') { "b" } else { "a" };
        let forged = format!("{first}{}", &value[1..]);
        let h = headers(&[("cookie", &format!("{COOKIE}={forged}"))]);
        assert_eq!(a.identify(&h, peer), None);
        let other = auth(Some("0123456789abcdef-token"), false);
        let h = headers(&[("cookie", &format!("{COOKIE}={value}"))]);
        assert_eq!(other.identify(&h, peer), None);
        // Signed out on the hub: the same cookie is nobody's.
        assert!(a.sign_ins.revoke(&value).expect("revoke"));
        assert_eq!(a.identify(&h, peer), None);
        // The token itself works as a bearer header; a wrong one is a
        // failure, not just nobody.
        let h = headers(&[("authorization", "Bearer 0123456789abcdef-token")]);
        assert_eq!(a.identify(&h, peer), Some(Identity("token".into())));
        let h = headers(&[("authorization", "Bearer wrong-token-0123456789")]);
        assert!(matches!(a.verdict(&h, peer), Verdict::Wrong));
    }

    #[test]
    fn tailscale_headers_count_only_through_the_tailscale_socket() {
        let h = headers(&[(TAILSCALE_LOGIN, "alice@example.com")]);
        let token = Some("0123456789abcdef-token");
        assert_eq!(
            auth(token, true).identify(&h, true),
            Some(Identity("tailscale:alice@example.com".into()))
        );
        // Over TCP, loopback or not, the header is anybody's to send.
        assert_eq!(auth(token, true).identify(&h, false), None);
        assert_eq!(auth(token, false).identify(&h, true), None);
        // A Funnel request comes from the internet: no identity.
        let funnel = headers(&[
            (TAILSCALE_LOGIN, "alice@example.com"),
            (TAILSCALE_FUNNEL, "?1"),
        ]);
        assert_eq!(auth(token, true).identify(&funnel, true), None);
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
