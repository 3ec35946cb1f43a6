//! A schema written back as `.proto` sources (`describe --proto-out DIR`): each file of an
//! exported set printed from its descriptor — options (custom ones too), nested types, maps,
//! groups, oneofs, proto3 `optional`, reserved ranges, comments where the descriptor kept them,
//! editions files as editions — so that protoc and protox compile it to the same descriptor.
//! Names are written as short as they resolve back to the same definition, by protoc's scoping
//! rules. What a server sent is untrusted: names must be identifiers and paths relative before
//! anything is written, strings are escaped, comments lose their control characters.
mod literal;

pub(crate) use literal::{json_name, quote};
mod names;
mod printer;

use super::editions::{text, translated};
use super::guard::guarded;
use super::prune::{name_of, set_files};
use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use names::Symbols;
use printer::SourceWriter;
use prost_reflect::{DescriptorPool, DynamicMessage};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// What `write` did: the files written, the well-known ones left to protoc's own copies, and
/// what could not be said in `.proto` text (options no file of the set defines).
pub struct Tree {
    pub written: Vec<String>,
    pub well_known: Vec<String>,
    pub dropped: Vec<String>,
}

/// Writes each file of `set` (an encoded FileDescriptorSet) under `dir`; nothing is written
/// unless every file can be.
pub fn write(set: &[u8], dir: &Path) -> anyhow::Result<Tree> {
    let raw = set_files(&Bytes::copy_from_slice(set))
        .ok_or_else(|| anyhow!("the exported set does not decode"))?;
    let pool = guarded("the options' descriptors", || Ok(options_pool(&raw)))?;
    let desc = pool
        .get_message_by_name("google.protobuf.FileDescriptorProto")
        .ok_or_else(|| anyhow!("descriptor.proto is missing"))?;
    let mut files = Vec::new();
    for bytes in raw {
        files.push(DynamicMessage::decode(desc.clone(), bytes)?);
    }
    let symbols = Symbols::of(&files);
    let by_name = files
        .iter()
        .enumerate()
        .map(|(i, f)| (text(f, "name"), i))
        .collect();
    let set = Set { files, by_name };
    let files = &set.files;
    let mut tree = Tree {
        written: Vec::new(),
        well_known: Vec::new(),
        dropped: Vec::new(),
    };
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for (index, file) in files.iter().enumerate() {
        let name = text(file, "name");
        if !seen.insert(name.clone()) {
            continue;
        }
        // protoc and protox ship google/protobuf/*, descriptor.proto and the features too.
        if name.starts_with("google/protobuf/") {
            tree.well_known.push(name);
            continue;
        }
        let path = relative_path(&name)?;
        let mut printer = SourceWriter::new(file, index, &symbols, &set);
        printer
            .file(file)
            .with_context(|| format!("cannot write {} as .proto", printer.file_name))?;
        tree.dropped.append(&mut printer.dropped);
        sources.push((path, printer.out));
        tree.written.push(name);
    }
    for (path, source) in sources {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, source)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(tree)
}

/// descriptor.proto and every file of the set, so that the options' extensions decode as
/// themselves; a file that does not build leaves its options unknown (and said).
fn options_pool(files: &[Bytes]) -> DescriptorPool {
    let mut pool = DescriptorPool::global();
    for bytes in files {
        let name = name_of(bytes).unwrap_or_default();
        if pool.get_file_by_name(&name).is_some() {
            continue;
        }
        if let Ok(file) = translated(bytes.clone()) {
            let _ = pool.decode_file_descriptor_proto(file);
        }
    }
    pool
}

/// A file name as a path under the output folder: relative, without `..`.
fn relative_path(name: &str) -> anyhow::Result<PathBuf> {
    let path = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains(['\\', '\0'])
        && !name.chars().any(char::is_control)
        && path.components().all(|c| matches!(c, Component::Normal(_)))
        && !name.split('/').any(str::is_empty);
    if !plain {
        bail!(
            "the file name {:?} is not a relative path: not written",
            name.escape_debug().to_string()
        );
    }
    Ok(path.to_path_buf())
}

/// The set's files, by index and by name.
struct Set {
    files: Vec<DynamicMessage>,
    by_name: HashMap<String, usize>,
}
