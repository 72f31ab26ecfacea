//! The browser side of the hub: the embedded web app, and the WebSockets
//! it talks to (binary frames of `proto/web.proto` messages).
//!
//! Everything is served from the hub's one origin, beside gRPC. Routes:
//! - `GET /ws/dashboard`: spokes and sessions pushed live, actions in;
//! - `GET /ws/pane?session=spoke:name[&from=OFFSET]`: one session's stream,
//!   input and resize in, its watchers and links out;
//! - `GET /ws/share?token=TOKEN`: a share link's viewer, read-only;
//! - anything else: the app's files (paths without an extension get the
//!   app's page: its own router handles `/s/spoke:session` and
//!   `/share/TOKEN`).

mod assets;
pub mod auth;
mod cards;
pub mod dashboard;
pub mod front_door;
pub mod origin;
pub mod pane;
pub mod previews;
mod share;
pub mod stream;

use axum::Router;
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use axum::routing::get;

use crate::transport::web_state::WebState;

/// Largest frame the browser may send: input is limited further down.
const MAX_FRAME: usize = 1 << 20;

/// Who a request was let in as (see `auth`); "web" if the layer was not
/// in front (it always is in a hub).
fn who(identity: Option<axum::Extension<auth::Identity>>) -> String {
    identity.map_or_else(|| "web".to_owned(), |axum::Extension(i)| i.0)
}

/// The web routes of a hub. The app's files are the [`fallback`], set by
/// the caller on the router this one is merged into.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/ws/dashboard", get(dashboard::upgrade))
        .route("/ws/pane", get(pane::upgrade))
        .route("/ws/share", get(share::upgrade))
        .with_state(state)
}

/// Sign-in and sign-out (`/login`, `/logout`).
pub fn auth_router(auth: auth::WebAuth) -> Router {
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", axum::routing::post(auth::logout))
        .with_state(auth)
}

/// Whatever no route took: a gRPC call to an unknown method gets gRPC's
/// `UNIMPLEMENTED`, anything else the app's files.
pub async fn fallback(headers: HeaderMap, uri: Uri) -> Response {
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        return tonic::Status::unimplemented(format!("no such method: {}", uri.path()))
            .into_http::<axum::body::Body>();
    }
    assets::serve(uri).await
}
