//! Files given beside a server's reflection (`--schema-add FILE`, .proto or protoset): what the
//! reflection lacks — the type an `Any` names, a symbol, a file the server's files import but it
//! cannot give — is taken from them once the server has said it does not know it; and what the
//! files import is asked of the server, so a protoset of one file may rest on the server's.
//! Beside a local schema (`--proto`, `--protoset`) they are simply more files.
use super::{insert_set, protos, prune, Schema};
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::Arc;

/// The files of `paths`: `.proto` sources compiled together (with `includes`, or each file's
/// folder), anything else read as a FileDescriptorSet. A set's imports need not be in it.
pub fn read(paths: &[PathBuf], includes: &[PathBuf]) -> anyhow::Result<prune::Files> {
    let mut files = prune::Files::default();
    let (sources, sets): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .iter()
        .cloned()
        .partition(|p| p.extension().is_some_and(|e| e == "proto"));
    if !sources.is_empty() {
        let compiled = protos::compile(&sources, &protos::includes(&sources, includes))?;
        insert_set(&mut files, &Bytes::from(compiled.set))?;
    }
    for path in sets {
        let what = || format!("cannot read --schema-add {}", path.display());
        let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e}", what()))?;
        insert_set(&mut files, &Bytes::from(bytes)).map_err(|e| e.context(what()))?;
    }
    Ok(files)
}

/// The supplement's file that defines one of `names`: its name and bytes.
pub(super) fn defining(
    supplement: Option<&prune::Files>,
    names: &[String],
) -> Option<(String, Vec<u8>)> {
    let files = supplement?;
    let file = names.iter().find_map(|n| files.file_of(n))?;
    Some((file.to_string(), files.encoded(file)?.into_owned()))
}

impl Schema {
    /// This schema with `files` beside it: merged into a local schema's files, kept apart
    /// from reflection's to fill what the server lacks.
    pub fn with_supplement(mut self, files: prune::Files) -> Self {
        if self.reflection.is_some() {
            self.supplement = Some(Arc::new(files));
        } else {
            Arc::make_mut(&mut self.reflected.files).merge(&files);
        }
        self
    }

    /// The supplement's file that defines `symbol`, unless it was taken already.
    pub(super) fn supplied_symbol(&mut self, symbol: &str) -> Option<Vec<u8>> {
        let (file, bytes) = defining(self.supplement.as_deref(), &[symbol.to_string()])?;
        self.reflected.supplied.insert(file).then_some(bytes)
    }

    /// The supplement's file of this name, unless it was taken already.
    pub(super) fn supplied_file(&mut self, name: &str) -> Option<Vec<u8>> {
        let bytes = self.supplement.as_deref()?.encoded(name)?.into_owned();
        self.reflected
            .supplied
            .insert(name.to_string())
            .then_some(bytes)
    }
}
