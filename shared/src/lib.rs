//! Wire types and pure helpers shared by the vtr server and its browser app.
//! wasm-safe: no tokio, no std::fs, no threads.

pub mod address;
pub mod keys;

/// Messages of `proto/vtr.proto` (package `vtr.v1`).
#[allow(clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/vtr.v1.rs"));
}
