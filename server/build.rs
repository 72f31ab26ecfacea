//! Generates the gRPC services from proto/ with a pure-Rust protobuf compiler
//! (no system protoc). Messages come from the `vtr-shared` crate so the server
//! and the browser app share one set of types; the descriptor set is kept for
//! gRPC reflection.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(["vtr.proto"], ["../proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("vtr_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(".vtr.v1", "::vtr_shared::proto")
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=../proto");
    // The web app embedded by rust-embed: a new build has new file names.
    println!("cargo:rerun-if-changed=../frontend/dist");
    Ok(())
}
