//! Transports: how coordinators are reached. gRPC today (tonic, over a Unix
//! socket and TCP); generated proto types stop here.

pub mod accept;
pub mod connections;
pub mod grpc;
pub mod hub_server;
pub mod json;
pub mod map;
pub mod mcp;
pub mod spoke_door;
pub mod spoke_server;
pub mod throttle;
pub mod tls;
pub mod tunnel;
pub mod tunnel_proof;
pub mod unix_authority;
pub mod unix_incoming;
pub mod unmap;
pub mod web;
pub mod web_state;

use std::time::Duration;

/// HTTP/2 pings on every hub-spoke link, dialled or tunnelled, at both
/// ends of a tunnel: after this long without hearing from the peer, a ping.
pub const LINK_PING_AFTER: Duration = Duration::from_secs(2);
/// A ping unanswered this long ends the link: a dead peer or a partition
/// is noticed within `LINK_PING_AFTER + LINK_PONG_WITHIN` (5 s), streaming
/// or not, and the spoke is marked down or the tunnel dialled again.
pub const LINK_PONG_WITHIN: Duration = Duration::from_secs(3);
