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
    order_symbols();
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

/// Lays the functions that one-shot commands and the shell run side by side in the release
/// binary. The kernel maps code 64 KiB around every page a process touches, so the same code
/// scattered over 8 MB of .text costs resident memory: ordering took `rpcsh call` from 9.0 to
/// 5.3 MiB peak RSS (bench/client.sh). Only with rust-lld (x86_64 Linux, Rust 1.90+), which reads
/// the list; names it no longer has are skipped. `RPCSH_NO_SYMBOL_ORDER=1` turns it off.
fn order_symbols() {
    println!("cargo:rerun-if-changed=link/symbol-order.txt");
    println!("cargo:rerun-if-env-changed=RPCSH_NO_SYMBOL_ORDER");
    let release = env::var("PROFILE").as_deref() == Ok("release");
    let target = env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu");
    if !release || !target || env::var_os("RPCSH_NO_SYMBOL_ORDER").is_some() || !rust_lld_default()
    {
        return;
    }
    let list = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("link/symbol-order.txt");
    if list.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    // The loader reads every relocation at start: 20,000 of them took 490 KB as RELA, resident
    // in every run. Packed (RELR) they are a few KB, which glibc reads from 2.36 on; a binary
    // built with them needs that glibc, so only a build host that has it packs them.
    if glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the build host's glibc is at least `major.minor` (`getconf GNU_LIBC_VERSION`).
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut version = text
        .trim()
        .trim_start_matches("glibc ")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (version.next().unwrap_or(0), version.next().unwrap_or(0));
    found >= (major, minor)
}

/// Whether rustc links with its own lld here: x86_64 Linux from Rust 1.90 on, unless a linker
/// of the user's is configured.
fn rust_lld_default() -> bool {
    if env::var_os("RUSTC_LINKER").is_some()
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
    {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split(['.', ' '])
        .nth(2)
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
