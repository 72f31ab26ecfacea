//! WebSocket upgrades must come from the hub's own pages: a browser sends
//! `Origin` on every upgrade, and a page of another site (which could
//! otherwise reach a loopback hub from the user's browser) names itself
//! there. Clients that are not browsers send no `Origin` and pass. Behind
//! a proxy that rewrites `Host`, the hub's public URL is its origin too.
//!
//! A browser's `Host` must also be an IP address, `localhost`, or the
//! public URL's host: a page that re-points its own DNS name at the hub
//! (DNS rebinding) would otherwise be "same origin" with it.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `None` when there is no `Origin`, or its host:port is the `Host` asked
/// for, or it is the origin of `public_url`; otherwise the refusal to send.
pub fn refusal(headers: &HeaderMap, public_url: &str) -> Option<Response> {
    let origin = headers.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or_default();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    if !host_allowed(host, public_url) {
        tracing::warn!(%origin, %host, "WebSocket upgrade for a host name that is not this hub's");
        return Some(
            (
                StatusCode::FORBIDDEN,
                format!(
                    "host {host:?} is not this hub's: use its IP address, localhost, or the \
                     host of --public-url\n"
                ),
            )
                .into_response(),
        );
    }
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        return None;
    }
    if same_origin(origin, public_url) {
        return None;
    }
    tracing::warn!(%origin, %host, "WebSocket upgrade from another origin refused");
    Some(
        (
            StatusCode::FORBIDDEN,
            format!("WebSocket origin {origin:?} is not this hub ({host})\n"),
        )
            .into_response(),
    )
}

/// Whether a browser asking for `host` (`name[:port]`) means this hub: an
/// IP address, `localhost`, or the public URL's host.
fn host_allowed(host: &str, public_url: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let public_host = public_url
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
        .map(|authority| match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        })
        .unwrap_or_default();
    name.parse::<std::net::IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || (!public_host.is_empty() && name.eq_ignore_ascii_case(public_host))
}

/// Whether `origin` (`scheme://host[:port]`) is the origin of `url`.
fn same_origin(origin: &str, url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    !authority.is_empty() && origin.eq_ignore_ascii_case(&format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        h
    }

    const PUBLIC: &str = "http://127.0.0.1:4620";

    #[test]
    fn same_origin_and_non_browsers_pass_other_sites_do_not() {
        let refused = |origin, host| refusal(&headers(origin, host), PUBLIC).is_some();
        assert!(!refused(Some("http://127.0.0.1:4620"), "127.0.0.1:4620"));
        assert!(!refused(None, "127.0.0.1:4620"));
        assert!(refused(Some("http://evil.example"), "127.0.0.1:4620"));
        assert!(refused(Some("http://127.0.0.1:9999"), "127.0.0.1:4620"));
        assert!(refused(Some("null"), "127.0.0.1:4620"));
    }

    #[test]
    fn a_rebound_dns_name_is_not_this_hub() {
        let rebound = headers(Some("http://evil.example:4620"), "evil.example:4620");
        assert!(refusal(&rebound, PUBLIC).is_some());
        let local = headers(Some("http://localhost:4620"), "localhost:4620");
        assert!(refusal(&local, PUBLIC).is_none());
        let v6 = headers(Some("http://[::1]:4620"), "[::1]:4620");
        assert!(refusal(&v6, PUBLIC).is_none());
        let named = headers(Some("https://vtr.example.net"), "vtr.example.net");
        assert!(refusal(&named, "https://vtr.example.net").is_none());
    }

    #[test]
    fn behind_a_proxy_the_public_url_is_the_origin() {
        let proxied = headers(Some("https://vtr.example.net"), "127.0.0.1:4620");
        assert!(refusal(&proxied, "https://vtr.example.net/").is_none());
        assert!(refusal(&proxied, "https://vtr.example.net/vtr").is_none());
        assert!(refusal(&proxied, "http://vtr.example.net").is_some());
        assert!(refusal(&proxied, PUBLIC).is_some());
    }
}
