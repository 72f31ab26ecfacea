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
    // Clients and servers apart: a server sends its session lists already
    // encoded (`transport/grpc/encoded.rs`), a client decodes them as usual.
    for (side, server) in [("client", false), ("server", true)] {
        let dir = out_dir.join(side);
        std::fs::create_dir_all(&dir)?;
        let mut config = tonic_prost_build::configure()
            .out_dir(&dir)
            .build_client(!server)
            .build_server(server)
            .extern_path(".vtr.v1", "::vtr_shared::proto");
        if server {
            config = config.extern_path(
                ".vtr.v1.SessionList",
                "crate::transport::grpc::encoded::SessionList",
            );
        }
        config.compile_fds(fds.clone())?;
    }
    println!("cargo:rerun-if-changed=../proto");
    // The web app embedded by rust-embed: a new build has new file names.
    println!("cargo:rerun-if-changed=../frontend/dist");
    Ok(())
}
