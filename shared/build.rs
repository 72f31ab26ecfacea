//! Generates the wire messages from proto/ with a pure-Rust protobuf compiler
//! (no system protoc). Messages only: services are generated in the server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // web.proto imports vtr.proto: one descriptor set, one module per package.
    let fds = protox::compile(["vtr.proto", "web.proto"], ["../proto"])?;
    // `bytes` fields as `Bytes`: output is forwarded without copying.
    prost_build::Config::new().bytes(["."]).compile_fds(fds)?;
    println!("cargo:rerun-if-changed=../proto");
    Ok(())
}
