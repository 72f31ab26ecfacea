//! The web app's files, embedded at build time from `frontend/dist`: built
//! from `frontend/` by Trunk (`bash frontend/build.sh`) and committed, so
//! building the hub needs only Rust; CI checks the copy against its
//! sources. A server built without them still runs and says how to build
//! them.

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Dist;

const INDEX: &str = "index.html";

const NOT_BUILT: &str = "<!doctype html><title>vtr</title>\
<h1>The web app is not built into this binary</h1>\
<p>Build it with <code>bash frontend/build.sh</code> (Trunk), then rebuild the server.</p>";

pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(response) = file(path) {
        return response;
    }
    // A page of the app (the front door's one rule, `/s/a:b`), or a share
    // link's viewer (`/share/ID.EXPIRES.MAC`).
    if super::front_door::page(uri.path()) || path.starts_with("share/") {
        return file(INDEX).unwrap_or_else(|| {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response()
        });
    }
    (StatusCode::NOT_FOUND, format!("not found: /{path}\n")).into_response()
}

fn file(path: &str) -> Option<Response> {
    let file = Dist::get(path)?;
    // Trunk's hashed names never change content; others (the page, copied
    // files) are revalidated.
    let cache = if hashed(path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Some(
        (
            [
                (header::CONTENT_TYPE, file.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
            file.data,
        )
            .into_response(),
    )
}

/// Whether a file name carries Trunk's content hash (`app-0123456789abcdef.wasm`).
fn hashed(path: &str) -> bool {
    let stem = path.rsplit('/').next().unwrap_or_default();
    let stem = stem.split('.').next().unwrap_or_default();
    let Some((_, tail)) = stem.rsplit_once('-') else {
        return false;
    };
    // wasm-bindgen adds `_bg` to the module after the hash.
    let hash = tail.strip_suffix("_bg").unwrap_or(tail);
    hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashed_names_are_cached_for_good() {
        assert!(hashed("vtr-frontend-0123456789abcdef_bg.wasm"));
        assert!(hashed("vtr-frontend-0123456789abcdef.js"));
        assert!(!hashed("index.html"));
        assert!(!hashed("xterm.mjs"));
    }
}
