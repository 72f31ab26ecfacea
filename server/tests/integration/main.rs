//! Integration tests: real `vtr` processes, real PTYs, real programs, real
//! gRPC over real sockets. One test binary, so it is built and linked once.

mod harness;

mod architecture;
mod attach;
mod attention;
mod bounds;
mod breaker;
mod cli;
mod commands;
mod config;
mod docs;
mod fidelity;
mod floods;
mod front_door;
mod grants;
mod grants_stdio;
mod grants_web;
mod hub;
mod interop;
mod limits;
mod link;
mod listing;
mod mcp;
mod once;
mod partition;
mod programs;
mod proxy;
mod replay;
mod service;
mod sessions;
mod share;
mod share_limits;
mod streaming;
mod tcp;
mod tour;
mod tunnel;
mod unix_cli;
mod upgrade;
mod web;
mod web_auth;
