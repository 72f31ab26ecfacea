//! vtr: a federated terminal hub. Spokes own PTY sessions; programs and
//! browsers drive them over gRPC. Imports flow one way:
//! `cli -> transport -> hub/spoke -> core`.

pub mod cli;
pub mod config;
pub mod core;
pub mod hub;
pub mod nofile;
pub mod paths;
pub mod service;
pub mod spoke;
pub mod transport;
