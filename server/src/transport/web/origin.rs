//! WebSocket upgrades must come from the hub's own pages: a browser sends
//! `Origin` on every upgrade, and a page of another site (which could
//! otherwise reach a loopback hub from the user's browser) names itself
//! there. Clients that are not browsers send no `Origin` and pass.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `None` when there is no `Origin` or its host:port is the `Host` asked
/// for; otherwise the refusal to send.
pub fn refusal(headers: &HeaderMap) -> Option<Response> {
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
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
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

    #[test]
    fn same_origin_and_non_browsers_pass_other_sites_do_not() {
        assert!(refusal(&headers(Some("http://127.0.0.1:4620"), "127.0.0.1:4620")).is_none());
        assert!(refusal(&headers(None, "127.0.0.1:4620")).is_none());
        assert!(refusal(&headers(Some("http://evil.example"), "127.0.0.1:4620")).is_some());
        assert!(refusal(&headers(Some("http://127.0.0.1:9999"), "127.0.0.1:4620")).is_some());
        assert!(refusal(&headers(Some("null"), "127.0.0.1:4620")).is_some());
    }
}
