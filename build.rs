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

/// The well-known types a schema may use without shipping them, embedded for the client.
const WELL_KNOWN: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/wrappers.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let mut well_known = protox::Compiler::new(["proto"])?;
    well_known
        .include_source_info(false)
        .include_imports(true)
        .open_files(WELL_KNOWN)?;
    fs::write(
        out.join("well_known.bin"),
        well_known.encode_file_descriptor_set(),
    )?;
    let fds = protox::compile(PROTOS, ["proto"])?;
    fs::write(out.join("descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
