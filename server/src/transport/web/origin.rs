//! Where a request says it comes from, and which host it asked for: the
//! browser-facing checks of the front door (`front_door`).
//!
//! A browser's `Host` must be an IP address, `localhost`, or the public
//! URL's host: a page that re-points its own DNS name at the hub (DNS
//! rebinding) would otherwise be "same origin" with it. A request that
//! names an `Origin` must name this hub: the `Host` it asked for, or the
//! public URL's origin (behind a proxy that rewrites `Host`). Clients
//! that are not browsers send no `Origin` and pass.

use axum::http::{HeaderMap, header};

/// Whether a browser asking for `host` (`name[:port]`) means this hub: an
/// IP address, `localhost`, or the public URL's host.
pub fn host_allowed(host: &str, public_url: &str) -> bool {
    let name = host_name(host);
    let public_host = public_url
        .split_once("://")
        .map(|(_, rest)| host_name(rest.split('/').next().unwrap_or_default()))
        .unwrap_or_default();
    name.parse::<std::net::IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || (!public_host.is_empty() && name.eq_ignore_ascii_case(public_host))
}

/// The name in `name[:port]` or `[v6][:port]`.
fn host_name(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

/// The `Host` a request asked for: the header (HTTP/1.1), else the URI's
/// authority (HTTP/2's `:authority`).
pub fn requested_host<B>(request: &axum::http::Request<B>) -> &str {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default()
}

/// Whether the request's `Origin`, if any, is this hub: the host it asked
/// for, or the origin of `public_url`. A `secure` hub (TLS here or at a
/// proxy) is only its `https://` origin: a page injected at the plain-http
/// origin of the same host is another site.
pub fn origin_allowed(headers: &HeaderMap, host: &str, public_url: &str, secure: bool) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or_default();
    let plain = if secure {
        None
    } else {
        origin.strip_prefix("http://")
    };
    let origin_host = plain
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    (!host.is_empty() && origin_host.eq_ignore_ascii_case(host)) || same_origin(origin, public_url)
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

    fn origin(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static(value));
        h
    }

    const PUBLIC: &str = "http://127.0.0.1:4620";

    #[test]
    fn same_origin_and_non_browsers_pass_other_sites_do_not() {
        let host = "127.0.0.1:4620";
        let allowed = |o: &'static str| origin_allowed(&origin(o), host, PUBLIC, false);
        assert!(allowed("http://127.0.0.1:4620"));
        assert!(origin_allowed(&HeaderMap::new(), host, PUBLIC, false));
        assert!(!allowed("http://evil.example"));
        assert!(!allowed("http://127.0.0.1:9999"));
        assert!(!allowed("null"));
    }

    #[test]
    fn a_secure_hub_is_only_its_https_origin() {
        let host = "vtr.example.net";
        let public = "https://vtr.example.net";
        let allowed = |o: &'static str, p| origin_allowed(&origin(o), host, p, true);
        assert!(allowed("https://vtr.example.net", public));
        assert!(!allowed("http://vtr.example.net", public));
        assert!(!allowed("http://vtr.example.net", ""));
    }

    #[test]
    fn a_rebound_dns_name_is_not_this_hub() {
        assert!(!host_allowed("evil.example:4620", PUBLIC));
        assert!(!host_allowed("", PUBLIC));
        assert!(host_allowed("localhost:4620", PUBLIC));
        assert!(host_allowed("[::1]:4620", PUBLIC));
        assert!(host_allowed("127.0.0.1", PUBLIC));
        assert!(host_allowed("vtr.example.net", "https://vtr.example.net"));
        assert!(host_allowed(
            "VTR.example.net:443",
            "https://vtr.example.net/"
        ));
    }

    #[test]
    fn behind_a_proxy_the_public_url_is_the_origin() {
        let proxied = origin("https://vtr.example.net");
        let host = "127.0.0.1:4620";
        assert!(origin_allowed(
            &proxied,
            host,
            "https://vtr.example.net/",
            true
        ));
        assert!(origin_allowed(
            &proxied,
            host,
            "https://vtr.example.net/vtr",
            true
        ));
        assert!(!origin_allowed(
            &proxied,
            host,
            "http://vtr.example.net",
            true
        ));
        assert!(!origin_allowed(&proxied, host, PUBLIC, false));
    }
}
