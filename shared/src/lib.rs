//! Wire types and pure helpers shared by the vtr server and its browser app.
//! wasm-safe: no tokio, no std::fs, no threads.

pub mod address;
pub mod ago;
pub mod cards;
pub mod keys;
pub mod notices;

pub use packages::vtr::v1 as proto;
/// Messages of `proto/web.proto` (package `vtr.web.v1`): the browser
/// protocol, one message per binary WebSocket frame.
pub use packages::vtr::web::v1 as web;

/// Generated modules, nested as their packages are so that references
/// between them resolve.
#[allow(clippy::all)]
mod packages {
    pub mod vtr {
        /// Messages of `proto/vtr.proto` (package `vtr.v1`).
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/vtr.v1.rs"));
        }
        pub mod web {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/vtr.web.v1.rs"));
            }
        }
    }
}

/// WebSocket close codes of the browser protocol (4000-4999: private use).
pub mod close {
    /// The request was malformed or broke a limit; the reason says which.
    pub const BAD_REQUEST: u16 = 4400;
    /// No such session (or spoke).
    pub const NOT_FOUND: u16 = 4404;
    /// The session is gone (removed, or its spoke forgot it).
    pub const GONE: u16 = 4410;
    /// Not now: the session's spoke is not connected (RFC 6455's "Try
    /// Again Later"). The page retries with backoff.
    pub const TRY_AGAIN: u16 = 1013;
    /// A share-link viewer sent something other than an ack: the link is
    /// read-only.
    pub const READ_ONLY: u16 = 4403;
    /// The share link is not one this hub signed, or it does not know it.
    pub const LINK_INVALID: u16 = 4401;
    /// The share link expired.
    pub const LINK_EXPIRED: u16 = 4408;
    /// The share link was revoked.
    pub const LINK_REVOKED: u16 = 4409;
    /// The sign-in the socket was opened with ended (signed out here, or
    /// everywhere): sign in again.
    pub const SIGNED_OUT: u16 = 4411;
    /// The share link, or the hub, has as many viewers as it allows; the
    /// reason says which. Not final: the page retries with backoff.
    pub const TOO_MANY_VIEWERS: u16 = 4429;
}

/// Flow control of a pane's stream (see `PaneRequest.ack`).
pub mod flow {
    /// Stream bytes the hub sends ahead of the page's acknowledgements.
    /// One event more may be in flight (up to 256 KiB).
    pub const WINDOW: u64 = 256 << 10;
    /// A page acknowledges at least this often; less than `WINDOW`, so a
    /// page that keeps up never stalls the stream.
    pub const ACK_EVERY: u64 = 32 << 10;
}
