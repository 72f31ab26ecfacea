//! Transports: how coordinators are reached. gRPC today (tonic, over a Unix
//! socket and TCP); generated proto types stop here.

pub mod accept;
pub mod connections;
pub mod grpc;
pub mod hub_server;
pub mod map;
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
