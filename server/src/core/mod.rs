//! Sessions, PTYs, terminal state, the output log, fan-out, idle, wait, grep.
//!
//! Must not import tonic, axum, hyper, prost or generated proto types: the
//! transports map these domain types at their edge.

pub mod changes;
pub mod clock;
pub mod commands;
pub mod coordinator;
pub mod error;
pub mod events;
pub mod grep;
pub mod limits;
pub mod log;
mod matcher;
pub mod memory;
pub mod record;
pub mod session;
pub mod signal;
pub mod strip;
pub mod subscribe;
pub mod terminal;
pub mod types;
pub mod wait;

pub use commands::Command;
pub use coordinator::Coordinator;
pub use error::SessionError;
pub use events::Events;
pub use session::{CommandList, RunEnd, RunResult, RunSpec, Session, SessionConfig};
pub use types::*;
