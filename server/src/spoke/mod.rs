//! The local coordinator: a registry of sessions on this machine, built on
//! `core`. Knows nothing of transports.

mod registry;

pub use registry::{LocalSpoke, input_bytes};
