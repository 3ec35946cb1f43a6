//! A schema written out: `describe --protoset-out FILE [SYMBOL...]` writes the files the symbols
//! need (all the services' when none is named), imports first, as `protoc --include_imports
//! --descriptor_set_out` does, each file as it was received or read (comments included), from
//! any source. Well-known files a server leaves out are rpcsh's own; the imports a file lacks
//! (grpc-js lists none) are added.
use super::{well_known_file, Schema};
use std::collections::{HashMap, HashSet};

impl Schema {
    /// An encoded FileDescriptorSet of what `symbols` need, how many files it holds, and what
    /// no source had (imports, files of listed services).
    pub async fn export(
        &mut self,
        symbols: &[String],
    ) -> anyhow::Result<(Vec<u8>, usize, Vec<String>)> {
        let (mut roots, mut missing) = (Vec::new(), Vec::new());
        if symbols.is_empty() {
            let services = self.services().await?;
            self.load_symbols(&services).await?;
            // A service listed and not given (grpcio lists its reflection, and has not its
            // file) is said, not fatal.
            for service in services {
                match self.file_named_by(&service) {
                    Some(file) => roots.push(file),
                    None => missing.push(format!("the file of {service}")),
                }
            }
        } else {
            // Their files in one round trip, rather than one a symbol (`check` names every
            // service of the files); a name reflection does not know is found below, or not.
            self.load_symbols(symbols).await?;
            for symbol in symbols {
                let found = self.find_symbol(symbol).await?;
                roots.push(found.parent_file().name().to_string());
            }
        }
        let (set, written, mut lacking) = self.set_of(roots);
        missing.append(&mut lacking);
        Ok((set, written, missing))
    }

    /// A pool of the file `name` and all it imports, whole: what a pruned build leaves out
    /// (the extensions that options use) included, for printing it as its source was.
    pub fn unpruned(&self, name: &str) -> Option<prost_reflect::DescriptorPool> {
        let (set, _, _) = self.set_of(vec![name.to_string()]);
        super::guard::guarded(name, || {
            Ok(prost_reflect::DescriptorPool::decode(set.as_slice())?)
        })
        .ok()
    }

    /// `unpruned` of every file at hand.
    pub fn unpruned_all(&self) -> Option<prost_reflect::DescriptorPool> {
        let names = self
            .reflected
            .files
            .names()
            .map(|(n, _)| n.to_string())
            .collect();
        let (set, _, _) = self.set_of(names);
        super::guard::guarded("the schema", || {
            Ok(prost_reflect::DescriptorPool::decode(set.as_slice())?)
        })
        .ok()
    }

    /// An encoded FileDescriptorSet of `roots` after what they import, how many files it
    /// holds, and the files no source had.
    fn set_of(&self, roots: Vec<String>) -> (Vec<u8>, usize, Vec<String>) {
        let mut missing = Vec::new();
        let added = self.reflected.files.added_imports();
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        for root in roots {
            self.imports_first(&root, &added, &mut seen, &mut order);
        }
        let mut set = Vec::new();
        let mut written = 0;
        for name in order {
            let mut encoded = match self.reflected.files.encoded(&name) {
                Some(bytes) => bytes.into_owned(),
                None => match well_known_file(&name) {
                    Some(bytes) => bytes,
                    None => {
                        missing.push(name);
                        continue;
                    }
                },
            };
            // Appended: the indexes of public and weak imports still hold.
            for dep in added.get(&name).into_iter().flatten() {
                prost::encoding::string::encode(3, dep, &mut encoded);
            }
            prost::encoding::bytes::encode(1, &encoded, &mut set);
            written += 1;
        }
        (set, written, missing)
    }

    fn file_named_by(&self, service: &str) -> Option<String> {
        if let Some(file) = self.reflected.files.file_of(service) {
            return Some(file.to_string());
        }
        self.pool
            .get_service_by_name(service)
            .map(|s| s.parent_file().name().to_string())
    }

    /// `name` after everything it imports (and lacked the import of), each file once.
    fn imports_first(
        &self,
        name: &str,
        added: &HashMap<String, Vec<String>>,
        seen: &mut HashSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        let mut imports: Vec<String> = match self.reflected.files.encoded(name) {
            Some(_) => self.reflected.files.imports(name).to_vec(),
            None => well_known_imports(name),
        };
        imports.extend(added.get(name).into_iter().flatten().cloned());
        for import in imports {
            self.imports_first(&import, added, seen, order);
        }
        order.push(name.to_string());
    }
}

/// The imports of one of rpcsh's own well-known files.
fn well_known_imports(name: &str) -> Vec<String> {
    super::well_known()
        .get_file_by_name(name)
        .map(|f| f.dependencies().map(|d| d.name().to_string()).collect())
        .unwrap_or_default()
}
