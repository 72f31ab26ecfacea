//! The one front door of the hub's TCP port: every request, whatever its
//! path, passes here before any route sees it (SECURITY.md).
//!
//! In order:
//! 1. `Host` must name this hub (an IP address, `localhost`, or the
//!    `--public-url` host): DNS rebinding gets nowhere.
//! 2. gRPC (told by its service path) only as HTTP/2 with a gRPC content
//!    type, and never from a browser (`Origin` or `Sec-Fetch-Site`): a
//!    cross-site `fetch` cannot reach a method.
//! 3. WebSocket upgrades and state-changing requests (`/login`,
//!    `/logout`) must come from this hub's own pages (`Origin`,
//!    `Sec-Fetch-Site`).
//! 4. Identity (see `auth`), except on the few public paths. A grant's
//!    token goes no further than `/mcp` and the `vtr.v1.Vtr` service,
//!    where each call is checked against the grant (`hub::grants`).
//! 5. Pages and files go out with headers that forbid framing, sniffing
//!    and referrers (a share page carries its token in the path).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{Identity, Verdict, WebAuth};
use super::origin;
use crate::core::clock::now_ms;
use crate::hub::grants::{AuditEntry, GrantPass, Outcome};
use crate::transport::connections::ConnectionMark;

/// Marks requests that came through the `--tailscale-socket` (only there
/// are Tailscale's identity headers believed).
#[derive(Clone, Copy, Debug)]
pub struct TailscaleSocket;

/// What the front door needs.
#[derive(Clone)]
pub struct FrontDoor {
    pub auth: WebAuth,
    /// The URL browsers use for this hub; its host and origin are this hub's.
    pub public_url: Arc<str>,
    /// HTTPS (here or at a proxy in front): only `https://` origins.
    pub secure: bool,
}

const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
];

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn front_door(
    State(door): State<FrontDoor>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let host = origin::requested_host(&request).to_owned();
    if !origin::host_allowed(&host, &door.public_url) {
        tracing::warn!(%peer, %host, %path, "refused: a host name that is not this hub's");
        return refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "host {host:?} is not this hub's: use its IP address, localhost, or the host \
                 of --public-url"
            ),
        );
    }
    let grpc = grpc_path(&path);
    if grpc {
        if let Some(refusal) = grpc_refusal(&request, peer) {
            return refusal;
        }
    } else if needs_own_origin(&request)
        && !from_own_page(request.headers(), &host, &door.public_url, door.secure)
    {
        let origin = request.headers().get(header::ORIGIN).cloned();
        tracing::warn!(%peer, ?origin, %path, "refused: a request from another site");
        return refuse(
            StatusCode::FORBIDDEN,
            "this request must come from the hub's own pages",
        );
    }
    if !public(&path) {
        let presents_token = request.headers().contains_key(header::AUTHORIZATION);
        // A peer that keeps presenting wrong tokens waits (cookies are
        // random ids nobody guesses, so a signed-in browser is never held
        // up by someone else's failures from the same address).
        if presents_token && let Err(wait) = door.auth.throttle.check(peer.ip()) {
            if grpc {
                return tonic::Status::resource_exhausted(format!(
                    "too many failed tokens from {}: try again in {} s",
                    peer.ip(),
                    wait.as_secs().max(1)
                ))
                .into_http::<axum::body::Body>();
            }
            return super::auth::too_many_failures(peer, wait);
        }
        let via_tailscale = request.extensions().get::<TailscaleSocket>().is_some();
        match door.auth.verdict(request.headers(), via_tailscale) {
            Verdict::In(identity) => {
                // Only the token itself starts the count over (a cookie
                // next to a wrong token does not).
                if presents_token && door.auth.token_matches(request.headers()) {
                    door.auth.throttle.succeeded(peer.ip());
                }
                if let Some(sign_in) = door.auth.sign_in_of(request.headers()) {
                    request.extensions_mut().insert(sign_in);
                }
                // The connection may now stay when the hub is full.
                if let Some(mark) = request.extensions().get::<ConnectionMark>() {
                    mark.signed_in();
                }
                request.extensions_mut().insert(identity);
            }
            Verdict::Granted(pass) => {
                if !grant_may_reach(&path) {
                    let grant = &pass.grant.id;
                    tracing::warn!(%peer, %path, %grant, "refused: a grant off its paths");
                    record_refusal(&pass, &path, grpc).await;
                    return grant_refused(grpc);
                }
                if let Some(mark) = request.extensions().get::<ConnectionMark>() {
                    mark.signed_in();
                }
                let who = format!("{}{}", super::auth::GRANT_PREFIX, pass.grant.id);
                request.extensions_mut().insert(Identity(who));
                request.extensions_mut().insert(*pass);
            }
            Verdict::WrongGrant { why, guess } => {
                if guess {
                    door.auth.throttle.failed(peer.ip());
                }
                tracing::warn!(%peer, %path, "refused: {why}");
                return unidentified(&request, &path, grpc, peer, Some(&why));
            }
            Verdict::Wrong => {
                door.auth.throttle.failed(peer.ip());
                return unidentified(&request, &path, grpc, peer, None);
            }
            Verdict::Nobody => return unidentified(&request, &path, grpc, peer, None),
        }
    }
    let mut response = next.run(request).await;
    if !grpc {
        let headers = response.headers_mut();
        for (name, value) in SECURITY_HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Where a grant's token may go: the tools and the session service, whose
/// every call the grant is checked against; never pages, sockets, the
/// tunnel, or the services that manage links, grants and spokes.
fn grant_may_reach(path: &str) -> bool {
    path == MCP_PATH || path.starts_with(GRANT_SERVICE)
}

const GRANT_SERVICE: &str = "/vtr.v1.Vtr/";

const GRANT_PATHS: &str = "a grant's token opens only /mcp and the vtr.v1.Vtr service";

/// A grant knocking where it may not go is in its audit log.
async fn record_refusal(pass: &GrantPass, path: &str, grpc: bool) {
    pass.grants
        .audit()
        .record(AuditEntry {
            seq: 0,
            at_ms: now_ms(),
            grant: pass.grant.id.clone(),
            via: if grpc { "grpc" } else { "http" },
            call: path.to_owned(),
            action: "door",
            session: String::new(),
            outcome: Outcome::Denied,
            detail: GRANT_PATHS.to_owned(),
            duration_ms: 0,
        })
        .await;
}

fn grant_refused(grpc: bool) -> Response {
    let message = GRANT_PATHS;
    if grpc {
        return tonic::Status::permission_denied(message).into_http::<axum::body::Body>();
    }
    refuse(StatusCode::FORBIDDEN, message)
}

/// gRPC service paths (`/package.Service/Method`) this port serves.
fn grpc_path(path: &str) -> bool {
    path.starts_with("/vtr.v1.") || path.starts_with("/grpc.")
}

/// Why a request for a gRPC method is not a gRPC call from a program.
pub fn grpc_refusal(request: &Request, peer: SocketAddr) -> Option<Response> {
    let headers = request.headers();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if request.version() != Version::HTTP_2 || !content_type.starts_with("application/grpc") {
        tracing::warn!(%peer, version = ?request.version(), %content_type, "refused: not a gRPC call");
        return Some(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "gRPC methods take HTTP/2 with content-type application/grpc",
        ));
    }
    if headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site") {
        tracing::warn!(%peer, "refused: a gRPC call from a browser");
        return Some(
            tonic::Status::permission_denied("gRPC is for programs, not web pages")
                .into_http::<axum::body::Body>(),
        );
    }
    None
}

/// WebSocket upgrades and anything that may change state.
fn needs_own_origin(request: &Request) -> bool {
    let websocket = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    websocket || !matches!(*request.method(), Method::GET | Method::HEAD)
}

/// Whether the browser says the request comes from this hub's pages (or
/// it is not a browser: no `Origin`, no `Sec-Fetch-Site`).
fn from_own_page(headers: &HeaderMap, host: &str, public_url: &str, secure: bool) -> bool {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    // Our pages send no referrer, so their own form posts carry
    // `Origin: null`; the browser's `Sec-Fetch-Site` still tells.
    let null_origin_from_here = site == "same-origin"
        && headers
            .get(header::ORIGIN)
            .is_some_and(|o| o.as_bytes() == b"null");
    matches!(site, "same-origin" | "none")
        && (null_origin_from_here || origin::origin_allowed(headers, host, public_url, secure))
}

/// Paths anyone may reach: sign-in, health, the app's static files, share
/// links (their token is the credential), and the tunnel (it checks a
/// spoke's token itself).
fn public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/healthz" | "/vtr/tunnel" | "/vtr/tunnel/hello" | "/ws/share"
    ) || path.starts_with("/share/")
        || !grpc_path(path) && !page(path) && !path.starts_with("/ws/") && path != "/metrics"
}

/// A page of the app (the dashboard, a pane), as opposed to its files
/// and sockets: the one rule for "send a browser to sign in".
pub fn page(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    !path.starts_with("/ws/")
        && !grpc_path(path)
        && (path.starts_with("/s/") || !last.contains('.'))
}

/// Where agents reach the MCP tools. A page as far as sign-in goes (never
/// public), but for programs: a missing credential is a 401 naming the
/// scheme, not a redirect to the sign-in page.
pub const MCP_PATH: &str = "/mcp";

/// No identity: gRPC gets `UNAUTHENTICATED`, pages go to `/login`,
/// anything else 401. `grant`: why a grant's token was refused.
fn unidentified(
    request: &Request,
    path: &str,
    grpc: bool,
    peer: SocketAddr,
    grant: Option<&str>,
) -> Response {
    let presented = request.headers().contains_key(header::AUTHORIZATION);
    if presented {
        tracing::warn!(%peer, %path, "refused: wrong credential");
    } else {
        tracing::debug!(%peer, %path, "refused: no credential");
    }
    if grpc {
        return tonic::Status::unauthenticated(grant.unwrap_or(
            "this hub needs its token: send `authorization: Bearer TOKEN` (`vtr hub url` shows it)",
        ))
        .into_http::<axum::body::Body>();
    }
    if path == MCP_PATH {
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            grant.unwrap_or(
                "this hub needs its token: send `Authorization: Bearer TOKEN` (its token file: \
                 `token` in the hub's state directory)",
            ),
        );
        let challenge = if grant.is_some() {
            "Bearer realm=\"vtr\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"vtr\""
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        return response;
    }
    if page(path) && request.method() == Method::GET {
        let next = request.uri().path_and_query().map_or("/", |p| p.as_str());
        return Redirect::to(&format!("/login?next={}", super::auth::query_escape(next)))
            .into_response();
    }
    refuse(
        StatusCode::UNAUTHORIZED,
        "sign in first: /login (or send the hub's token as a bearer header)",
    )
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_needs_a_sign_in() {
        for open in [
            "/login",
            "/logout",
            "/healthz",
            "/share/abc.1.ff",
            "/ws/share",
            "/vtr/tunnel",
            "/app-1a2b.wasm",
            "/style.css",
        ] {
            assert!(public(open), "{open}");
        }
        for closed in [
            "/",
            "/s/hub:x",
            "/s/x.js",
            "/ws/pane",
            "/ws/dashboard",
            "/anything",
            "/metrics",
            MCP_PATH,
            "/vtr.v1.Vtr/Spawn",
            "/vtr.v1.Vtr/x.y",
            "/grpc.health.v1.Health/Check",
        ] {
            assert!(!public(closed), "{closed}");
        }
        assert!(page("/s/hub:x.y"));
        for reachable in [MCP_PATH, "/vtr.v1.Vtr/SendText", "/vtr.v1.Vtr/Run"] {
            assert!(grant_may_reach(reachable), "{reachable}");
        }
        for off in [
            "/",
            "/mcp/x",
            "/ws/pane",
            "/ws/dashboard",
            "/metrics",
            "/vtr/tunnel",
            "/vtr.v1.Grants/CreateGrant",
            "/vtr.v1.Shares/CreateShare",
            "/vtr.v1.Federation/ListSpokes",
            "/vtr.v1.Link/Open",
            "/vtr.v1.Vtrx/Spawn",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(!grant_may_reach(off), "{off}");
        }
        assert!(!page("/vtr.v1.Vtr/Spawn"));
    }

    #[test]
    fn browsers_from_elsewhere_are_told_apart() {
        let mut h = HeaderMap::new();
        let host = "127.0.0.1:4620";
        let public_url = "http://127.0.0.1:4620";
        assert!(from_own_page(&h, host, public_url, false));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!from_own_page(&h, host, public_url, false));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:4620"),
        );
        assert!(from_own_page(&h, host, public_url, false));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9"),
        );
        assert!(!from_own_page(&h, host, public_url, false));
    }
}
