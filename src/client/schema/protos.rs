//! `.proto` files compiled at run time with protox, into the encoded FileDescriptorSet a local
//! schema is read from. rpcsh's own well-known types (`google/protobuf/*.proto`) win over copies
//! found through the include path, as in grpcurl and buf: trees such as googleapis carry a newer
//! `descriptor.proto` than protox parses. Editions sources, which protox does not parse, are read
//! as proto2 text and marked as editions again (`editions`).
use super::{editions, guard};
use anyhow::anyhow;
use protox::file::{File, FileResolver, GoogleFileResolver};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What compiling gave: the encoded set (imports included), and what `-v` should say of it.
pub struct Compiled {
    pub set: Vec<u8>,
    pub notes: Vec<String>,
}

/// Finds imports: the well-known files first, then each include folder in turn.
struct Resolver {
    includes: Vec<PathBuf>,
    google: GoogleFileResolver,
    /// Files read from editions sources, by name, with their edition.
    editions: Arc<Mutex<HashMap<String, i32>>>,
    /// Copies of well-known files in the include path that rpcsh's own won over.
    shadowed: Arc<Mutex<Vec<PathBuf>>>,
}

impl FileResolver for Resolver {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        self.includes.iter().find_map(|include| {
            let relative = path.strip_prefix(include).ok()?;
            let name: Vec<&str> = relative
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect::<Option<_>>()?;
            Some(name.join("/"))
        })
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.google.open_file(name) {
            Ok(file) => {
                let copies = self
                    .includes
                    .iter()
                    .map(|i| i.join(name))
                    .filter(|p| p.is_file());
                self.shadowed.lock().unwrap().extend(copies);
                return Ok(file);
            }
            Err(e) if !e.is_file_not_found() => return Err(e),
            Err(_) => {}
        }
        for include in &self.includes {
            let path = include.join(name);
            if !path.is_file() {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            if let Some((text, edition)) = editions::proto2_text(&source) {
                self.editions
                    .lock()
                    .unwrap()
                    .insert(name.to_string(), edition);
                return File::from_source(name, &text);
            }
            return File::open(name, &path);
        }
        Err(protox::Error::file_not_found(name))
    }
}

/// Compiles `files` (paths) against `includes`.
/// The import paths: those given, else each file's folder.
pub fn includes(files: &[PathBuf], includes: &[PathBuf]) -> Vec<PathBuf> {
    let mut includes = includes.to_vec();
    if includes.is_empty() {
        for f in files {
            let dir = f
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(".".as_ref());
            if !includes.iter().any(|i| i == dir) {
                includes.push(dir.to_path_buf());
            }
        }
    }
    includes
}

pub fn compile(files: &[PathBuf], includes: &[PathBuf]) -> anyhow::Result<Compiled> {
    // protox says of a file that is not there that it "is not in any include path".
    let found = |f: &PathBuf| f.is_file() || includes.iter().any(|i| i.join(f).is_file());
    if let Some(missing) = files.iter().find(|f| !found(f)) {
        return Err(crate::sys::error::Hint::new(
            format!("cannot read --proto {}: no such file", missing.display()),
            "give the path of a .proto file (relative to the current folder, or absolute)",
        )
        .into());
    }
    let editions = Arc::new(Mutex::new(HashMap::new()));
    let shadowed = Arc::new(Mutex::new(Vec::new()));
    let resolver = Resolver {
        includes: includes.to_vec(),
        google: GoogleFileResolver::new(),
        editions: editions.clone(),
        shadowed: shadowed.clone(),
    };
    let set = guard::guarded("the protos", || {
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        // Doc comments, for `describe`: kept with the encoded files, never built into a pool.
        compiler.include_source_info(true);
        for f in files {
            compiler.open_file(f).map_err(|e| {
                let err = protox_error(&e, f, includes);
                let in_editions = e
                    .file()
                    .is_some_and(|name| editions.lock().unwrap().contains_key(name));
                if in_editions && e.to_string().contains("proto2") {
                    // protox reads editions sources as proto2 text (it parses no editions).
                    anyhow::Error::from(crate::sys::error::Hint::new(
                        format!("{err} (in an editions file)"),
                        "rpcsh reads editions sources as proto2 text, which cannot say this yet: give the file as a protoset (protoc --include_imports --descriptor_set_out=FILE), or through reflection",
                    ))
                } else {
                    err
                }
            })?;
        }
        Ok(compiler.encode_file_descriptor_set())
    })?;
    let editions = editions.lock().unwrap();
    let set = if editions.is_empty() {
        set
    } else {
        let mut out = Vec::with_capacity(set.len() + 64);
        let entries = super::prune::set_files(&set.into()).unwrap_or_default();
        for file in entries {
            let name = super::prune::name_of(&file).unwrap_or_default();
            let file = match editions.get(&name) {
                Some(&edition) => editions::mark_editions(&file, edition),
                None => file.to_vec(),
            };
            prost::encoding::bytes::encode(1, &file, &mut out);
        }
        out
    };
    let mut shadowed = shadowed.lock().unwrap().clone();
    shadowed.sort();
    shadowed.dedup();
    let notes = shadowed
        .iter()
        .map(|p| {
            format!(
                "Using rpcsh's own well-known types, not {} (found through the import path)",
                p.display()
            )
        })
        .collect();
    Ok(Compiled { set, notes })
}

/// A protox error as `cannot compile FILE:LINE:COLUMN: what` when it points into a file.
fn protox_error(
    err: &protox::Error,
    opened: &std::path::Path,
    includes: &[PathBuf],
) -> anyhow::Error {
    use miette::Diagnostic;
    let offset = err.labels().and_then(|mut l| l.next()).map(|l| l.offset());
    let file = err.file().map(PathBuf::from);
    // The error names the file relative to its include path: find it again to count lines.
    let path = file.as_ref().and_then(|f| {
        std::iter::once(opened.to_path_buf())
            .chain(includes.iter().map(|i| i.join(f)))
            .find(|p| p.ends_with(f) && p.exists())
    });
    let position = match (offset, &path) {
        (Some(offset), Some(path)) => std::fs::read_to_string(path).ok().map(|text| {
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{}:{line}:{column}", path.display())
        }),
        _ => None,
    };
    let position = position.unwrap_or_else(|| {
        path.unwrap_or_else(|| opened.to_path_buf())
            .display()
            .to_string()
    });
    anyhow!("cannot compile {position}: {err}")
}
