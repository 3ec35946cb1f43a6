//! Compiles `proto/` with protox (no protoc needed), generates the tonic server and client code
//! for the demo services, and writes the encoded descriptor set that reflection serves.
use prost::Message;
use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "helloworld.proto",
    "routeguide.proto",
    "compute.proto",
    "SimpleCal.proto",
    "contact.proto",
    "testing.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
