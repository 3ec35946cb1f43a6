//! Where descriptors come from — server reflection, `.proto` files compiled at run time with
//! protox, or a protoset — and the pool they are gathered in. Every source keeps its files
//! encoded and builds only what the names used reach: with reflection, only the files a command
//! needs are fetched, dependencies included; a local source is indexed, not built. The names
//! people type are resolved in `symbol`.
mod any;
pub mod docs;
mod editions;
mod export;
mod guard;
mod proto_text;
mod protos;
mod prune;
pub mod reflection;
mod remembered;
mod request;
pub mod supplement;
pub(crate) mod symbol;

pub use proto_text::write as write_protos;
pub(crate) use proto_text::{json_name as default_json_name, quote as quote_literal};
pub use symbol::Symbol;

use crate::sys::error::Hint;
use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use prost::Message;
use prost_reflect::DescriptorPool;
use reflection::Reflection;
use std::{collections::HashSet, path::PathBuf, sync::Arc};
use symbol::matching_services;
use tonic_reflection::pb::v1::{
    server_reflection_request::MessageRequest as Ask,
    server_reflection_response::MessageResponse as Answer,
};

/// The well-known types' files (`google/protobuf/{any,duration,...}.proto`), encoded as a
/// `FileDescriptorSet`: what the client adds when a schema imports them without providing them.
pub const WELL_KNOWN_TYPES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/well_known.bin"));

/// A name the schema source does not know (as opposed to one it failed to load).
#[derive(Debug)]
pub struct NotFound(pub String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

/// The descriptors known so far and, with reflection, the means to fetch more.
pub struct Schema {
    pool: DescriptorPool,
    reflection: Option<Reflection>,
    services: Option<Vec<String>>,
    /// The same names in the order the server listed them (grpcurl's `describe` keeps it).
    server_order: Vec<String>,
    /// The server's address, under which its service names are remembered.
    address: Option<String>,
    /// The names the server listed the last time, while it has not been asked this time:
    /// enough to find the one a user named (its file asked alone, as grpcurl asks it).
    listed_before: Option<Vec<String>>,
    /// The files received or read, kept encoded; the pool is built from them.
    reflected: Reflected,
    /// What `-v` says of how the schema was read.
    notes: Vec<String>,
    /// `--schema-add` files beside reflection: what the server lacks is taken from them.
    supplement: Option<Arc<prune::Files>>,
}

#[derive(Default)]
struct Reflected {
    /// Shared by the schemas `fresh` makes of a local source; reflection's are their own.
    files: Arc<prune::Files>,
    /// What the pool is built for: the names looked up (one-shot commands, and every use of a
    /// local source), or everything received (None: the shell with reflection, whose
    /// completion wants it all).
    roots: Option<Vec<String>>,
    /// Names asked of the server for files that use them without importing them.
    asked: HashSet<String>,
    /// For a one-shot command on a big closure: build it shallow, with the names responses
    /// turned out to need expanded since (`prune::Files::build`).
    shallow: Option<HashSet<String>>,
    /// With `shallow`, a method's request is built as far as its JSON needs
    /// (`expand_request`), not whole.
    lazy_request: bool,
    /// Files taken from the supplement, each once.
    supplied: HashSet<String>,
}

/// The well-known types (`google/protobuf/*.proto`), built once when first needed: every source
/// may refer to them without shipping them. Not up front: a one-shot call that uses none would
/// pay the memory.
pub(crate) fn well_known() -> &'static DescriptorPool {
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(WELL_KNOWN_TYPES).expect("valid well-known types"))
}

/// The encoded well-known file of this name.
fn well_known_file(name: &str) -> Option<Vec<u8>> {
    if !name.starts_with("google/protobuf/") {
        return None;
    }
    // Read as encoded from the embedded set: building its pool (and prost-reflect's own, for
    // the options) to re-encode one file was a tenth of a googleapis call's time.
    let set = Bytes::from_static(WELL_KNOWN_TYPES);
    prune::set_files(&set)?
        .into_iter()
        .find(|file| prune::name_of(file).as_deref() == Some(name))
        .map(|file| file.to_vec())
}

/// The encoded well-known file that defines `symbol` (`google.protobuf.Timestamp`).
fn well_known_symbol_file(symbol: &str) -> Option<Vec<u8>> {
    if !symbol.starts_with("google.protobuf.") {
        return None;
    }
    let wkt = well_known();
    let file = wkt
        .get_message_by_name(symbol)
        .map(|m| m.parent_file())
        .or_else(|| wkt.get_enum_by_name(symbol).map(|e| e.parent_file()))?;
    Some(file.encode_to_vec())
}

/// The names of a service list answer.
fn service_names(answer: anyhow::Result<Answer>) -> anyhow::Result<Vec<String>> {
    match answer.context("cannot list services")? {
        Answer::ListServicesResponse(list) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => bail!(
            "reflection answered a service list request with {}",
            answer_kind(&other)
        ),
    }
}

/// What a reflection answer is, in a few words: a server chooses its size (a 250,000-name list
/// printed whole was a 10 MB error line).
fn answer_kind(answer: &Answer) -> String {
    match answer {
        Answer::FileDescriptorResponse(f) => {
            format!("{} file descriptors", f.file_descriptor_proto.len())
        }
        Answer::ListServicesResponse(l) => format!("a list of {} services", l.service.len()),
        Answer::AllExtensionNumbersResponse(e) => {
            format!("{} extension numbers", e.extension_number.len())
        }
        Answer::ErrorResponse(e) => {
            let message: String = e.error_message.chars().take(200).collect();
            format!("an error (code {}): {}", e.error_code, message)
        }
    }
}

/// The files of a reflection answer.
fn file_answer(answer: Answer) -> anyhow::Result<Vec<Vec<u8>>> {
    match answer {
        Answer::FileDescriptorResponse(files) => Ok(files.file_descriptor_proto),
        other => bail!(
            "reflection answered a file request with {}",
            answer_kind(&other)
        ),
    }
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

/// The full names `name`, written in `scope`, may stand for, innermost scope first (protobuf's
/// scoping rule); a leading dot makes it absolute.
fn candidates(scope: &str, name: &str) -> Vec<String> {
    if let Some(absolute) = name.strip_prefix('.') {
        return vec![absolute.to_string()];
    }
    let mut out = Vec::new();
    let mut scope = scope;
    loop {
        out.push(join(scope, name));
        if scope.is_empty() {
            return out;
        }
        scope = scope.rsplit_once('.').map_or("", |(outer, _)| outer);
    }
}

/// The well-known files `files` import but do not contain, as an encoded FileDescriptorSet.
fn missing_well_known(
    files: &[prost_types::FileDescriptorProto],
    pool: &DescriptorPool,
) -> Vec<u8> {
    let mut set = Vec::new();
    let mut added = HashSet::new();
    for dep in files.iter().flat_map(|f| &f.dependency) {
        if pool.get_file_by_name(dep).is_none()
            && !files.iter().any(|f| f.name() == dep)
            && added.insert(dep.clone())
        {
            if let Some(bytes) = well_known_file(dep) {
                prost::encoding::bytes::encode(1, &bytes, &mut set);
            }
        }
    }
    set
}

/// `pool` plus google.rpc's status and error details, to decode `grpc-status-details-bin`.
/// When `pool` cannot take them in (a file of the same name that lacks what they import), they
/// come in a pool of their own: the standard details still print, the call's own types as bytes.
pub fn with_status_types(pool: &DescriptorPool) -> DescriptorPool {
    if pool.get_message_by_name("google.rpc.Status").is_some() {
        return pool.clone();
    }
    let add = |pool: &DescriptorPool| -> Option<DescriptorPool> {
        let mut pool = pool.clone();
        let set =
            prost_types::FileDescriptorSet::decode(tonic_types::pb::FILE_DESCRIPTOR_SET).ok()?;
        let wkt = missing_well_known(&set.file, &pool);
        pool.decode_file_descriptor_set(wkt.as_slice()).ok()?;
        pool.decode_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .ok()?;
        Some(pool)
    };
    add(pool)
        .or_else(|| add(&DescriptorPool::new()))
        .unwrap_or_else(|| pool.clone())
}

/// A pool built from descriptors from outside (an encoded FileDescriptorSet), behind the panic
/// boundary; on a panic, the file that causes it is named.
fn build_pool(set: &[u8]) -> anyhow::Result<DescriptorPool> {
    let whole = guard::guarded("the descriptors", || {
        DescriptorPool::decode(set).map_err(anyhow::Error::from)
    });
    let Err(err) = whole else {
        return whole;
    };
    if err.downcast_ref::<guard::Panicked>().is_none() {
        return Err(err);
    }
    // Built a file at a time (each with what precedes it) to find the one.
    let mut pool = DescriptorPool::new();
    for file in prune::set_files(&Bytes::copy_from_slice(set)).unwrap_or_default() {
        let name = prune::name_of(&file).unwrap_or_default();
        guard::guarded(&name, || {
            let _ = pool.decode_file_descriptor_proto(file.clone());
            Ok(())
        })?;
    }
    Err(err)
}

/// A big pool takes as long to free as a quarter of its build: the last schema holding one
/// frees it on a thread of its own, which a one-shot command does not wait for at exit.
impl Drop for Schema {
    fn drop(&mut self) {
        const BIG: usize = 1 << 20;
        if self.reflected.files.size() > BIG {
            let pool = std::mem::take(&mut self.pool);
            let files = std::mem::take(&mut self.reflected.files);
            std::thread::spawn(move || drop((pool, files)));
        }
    }
}

impl Schema {
    /// Builds only what the names a command looks up reach, out of what reflection sends: for a
    /// one-shot command, whose time and memory then grow with its method, not with the schema.
    pub fn only_what_is_used(&mut self) {
        if self.reflection.is_some() {
            self.reflected.roots.get_or_insert_with(Vec::new);
        }
    }

    /// As `only_what_is_used`, and a big closure built shallow (a call's response, a described
    /// message): the messages past the first level come in as the responses printed hold them
    /// (`resolve_any`).
    pub fn shallow(&mut self) {
        self.only_what_is_used();
        if self.reflected.roots.is_some() {
            self.reflected.shallow.get_or_insert_with(HashSet::new);
        }
    }

    /// As `shallow`, and a method's request built as far as its JSON needs, not whole: the
    /// caller then calls `expand_request` with the request's text before parsing it.
    pub fn lazy_request(&mut self) {
        self.shallow();
        self.reflected.lazy_request = self.reflected.shallow.is_some();
    }

    /// Remembers the services `address` lists, to resolve short names faster next time.
    pub fn remembering(mut self, address: &str) -> Self {
        self.address = Some(address.to_string());
        self
    }

    pub fn from_reflection(reflection: Reflection) -> Self {
        Schema {
            pool: DescriptorPool::new(),
            reflection: Some(reflection),
            services: None,
            server_order: Vec::new(),
            address: None,
            listed_before: None,
            reflected: Reflected::default(),
            notes: Vec::new(),
            supplement: None,
        }
    }

    /// Compiles `.proto` files with protox. Without include dirs, each file's folder is one.
    pub fn from_protos(files: &[PathBuf], includes: &[PathBuf]) -> anyhow::Result<Self> {
        let compiled = protos::compile(files, &protos::includes(files, includes))?;
        let mut schema = Schema::from_set(compiled.set.into(), "the given protos")?;
        schema.notes = compiled.notes;
        Ok(schema)
    }

    /// Reads a `FileDescriptorSet` (protoc `--descriptor_set_out --include_imports`).
    pub fn from_protoset(path: &PathBuf) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read protoset {}", path.display()))?;
        Schema::from_set(bytes.into(), &format!("protoset {}", path.display()))
            .with_context(|| format!("invalid protoset {}", path.display()))
    }

    /// A local schema: the files of an encoded FileDescriptorSet, kept encoded and built as
    /// names are used (a 21 MB protoset costs its bytes and an index, not a pool of it all).
    /// Every import must be in the set, or be a well-known file.
    pub fn from_set(set: Bytes, what: &str) -> anyhow::Result<Self> {
        let mut files = prune::Files::default();
        insert_set(&mut files, &set)?;
        loop {
            let missing: Vec<(String, String)> = files
                .names()
                .flat_map(|(name, deps)| {
                    deps.iter()
                        .filter(|d| !files.has(d))
                        .map(move |d| (d.clone(), name.to_string()))
                })
                .collect();
            let Some((dep, importer)) = missing.first() else {
                break;
            };
            for (dep, _) in &missing {
                if let Some(bytes) = well_known_file(dep) {
                    files.insert(bytes);
                }
            }
            if !files.has(dep) {
                bail!(Hint::new(
                    format!("{importer} imports {dep}, which {what} does not contain"),
                    "build protosets with `protoc --include_imports`",
                ));
            }
        }
        files.shrink();
        Ok(Schema {
            pool: DescriptorPool::new(),
            reflection: None,
            services: None,
            server_order: Vec::new(),
            address: None,
            listed_before: None,
            reflected: Reflected {
                files: Arc::new(files),
                roots: Some(Vec::new()),
                asked: HashSet::new(),
                shallow: None,
                lazy_request: false,
                supplied: HashSet::new(),
            },
            notes: Vec::new(),
            supplement: None,
        })
    }

    /// Ends a one-shot command's schema: the reflection stream closes as usual; the
    /// descriptors are left to the process's end, as freeing a big pool piece by piece took a
    /// quarter of a Google Ads call's time.
    pub fn leave(&mut self) {
        std::mem::forget(std::mem::replace(&mut self.pool, DescriptorPool::new()));
        std::mem::forget(std::mem::take(&mut self.reflected));
    }

    /// What `-v` should say of how the schema was read.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// A schema of the same source that starts empty (reflection on a stream of its own), for
    /// loading in the background; a local schema is simply shared.
    pub fn fresh(&self) -> Schema {
        match &self.reflection {
            Some(r) => {
                let mut schema = Schema::from_reflection(r.fresh());
                schema.address = self.address.clone();
                schema.supplement = self.supplement.clone();
                schema
            }
            None => Schema {
                pool: self.pool.clone(),
                reflection: None,
                services: self.services.clone(),
                server_order: self.server_order.clone(),
                address: None,
                listed_before: None,
                reflected: Reflected {
                    files: self.reflected.files.clone(),
                    roots: self.reflected.roots.clone(),
                    asked: HashSet::new(),
                    shallow: self.reflected.shallow.clone(),
                    lazy_request: self.reflected.lazy_request,
                    supplied: HashSet::new(),
                },
                notes: Vec::new(),
                supplement: None,
            },
        }
    }

    /// Keeps a big local schema's files compressed from now on: a shell holds a 21 MB protoset
    /// in a fifth of that, and unpacks the few files each use builds.
    pub fn pack(&mut self) {
        const WORTH_IT: usize = 4 << 20;
        if self.reflection.is_none() && self.reflected.files.size() > WORTH_IT {
            self.reflected.files = Arc::new(self.reflected.files.packed());
        }
    }

    /// The method names of every service, read from the files without building them: what the
    /// shell completes before a service is used. Empty with reflection, whose files come later.
    pub fn method_names(&self) -> Vec<(String, Vec<String>)> {
        if self.reflection.is_some() {
            return Vec::new();
        }
        let files = &self.reflected.files;
        files
            .services()
            .into_iter()
            .map(|s| {
                let methods = files.methods(&s);
                (s, methods)
            })
            .collect()
    }

    /// The service names, when they have been listed.
    pub fn listed(&self) -> Option<&[String]> {
        self.services.as_deref()
    }

    /// Takes in what `other` loaded that this schema lacks (loaded elsewhere, as in the
    /// background): files and the service list.
    pub fn absorb(&mut self, mut other: Schema) {
        if self.services.is_none() {
            self.services = other.services.take();
        }
        match (&mut self.reflected.roots, other.reflected.roots.take()) {
            (Some(roots), Some(more)) => roots.extend(more),
            (roots, None) => *roots = None,
            _ => {}
        }
        // A local schema's files are shared with the schemas `fresh` made of it already.
        if self.reflection.is_some() {
            Arc::make_mut(&mut self.reflected.files).merge(&other.reflected.files);
        }
        let reflected = &self.reflected;
        let (set, _) = reflected.files.build(
            reflected.roots.as_deref(),
            reflected.shallow.as_ref(),
            reflected.lazy_request,
        );
        if let Ok(pool) = build_pool(&set) {
            self.pool = pool;
        }
    }

    /// Loads the files of all `symbols` in one round trip per level of imports; a symbol the
    /// server does not know is skipped.
    pub async fn load_symbols(&mut self, symbols: &[String]) -> anyhow::Result<()> {
        let missing: Vec<&String> = symbols
            .iter()
            .filter(|s| self.pool.get_service_by_name(s).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let Some(reflection) = self.reflection.as_mut() else {
            let names: Vec<String> = missing.into_iter().cloned().collect();
            for name in names {
                self.add_root(&name);
            }
            return self.rebuild().await;
        };
        let requests = missing
            .iter()
            .map(|s| Ask::FileContainingSymbol(s.to_string()))
            .collect();
        let mut files = Vec::new();
        for answer in reflection.ask_all(requests).await.into_iter().flatten() {
            files.extend(file_answer(answer)?);
        }
        self.add_files(files).await
    }

    /// What was built of what reflection sent: top-level messages in the pool, and in the files
    /// received.
    pub fn built(&self) -> (usize, usize) {
        let built = self
            .pool
            .all_messages()
            .filter(|m| m.parent_message().is_none());
        (built.count(), self.reflected.files.messages())
    }

    /// `v1` or `v1alpha` when reflection answered.
    pub fn reflection_version(&self) -> Option<&'static str> {
        self.reflection.as_ref().and_then(Reflection::version)
    }

    /// The fully-qualified names of the server's services, sorted.
    pub async fn services(&mut self) -> anyhow::Result<Vec<String>> {
        if let Some(s) = &self.services {
            return Ok(s.clone());
        }
        let names = match &mut self.reflection {
            Some(r) => service_names(r.ask(Ask::ListServices(String::new())).await)?,
            None => self.reflected.files.services(),
        };
        self.set_services(names)
    }

    /// The server's service names in the order it listed them.
    pub async fn services_as_listed(&mut self) -> anyhow::Result<Vec<String>> {
        let sorted = self.services().await?;
        Ok(match self.server_order.is_empty() {
            true => sorted,
            false => self.server_order.clone(),
        })
    }

    fn set_services(&mut self, mut names: Vec<String>) -> anyhow::Result<Vec<String>> {
        self.server_order = names.clone();
        names.sort();
        self.services = Some(names.clone());
        Ok(names)
    }

    /// The list of services and the file of `name` in one round trip (pipelined on the
    /// reflection stream): a full name then needs nothing more, a short one its file.
    async fn list_and_load(&mut self, name: &str) -> anyhow::Result<()> {
        let Some(reflection) = self.reflection.as_mut() else {
            return Ok(());
        };
        if self.services.is_some() {
            return Ok(());
        }
        let kept = self
            .address
            .as_deref()
            .map(remembered::load)
            .unwrap_or_default();
        let kept_version = self.address.as_deref().and_then(remembered::version);
        reflection.prefer(kept_version.as_deref());
        let full = match matching_services(name, &kept).as_slice() {
            [one] => one.to_string(),
            _ => name.to_string(),
        };
        // A one-shot command on a service the server listed last time: its file alone. The
        // list is the server's to make (a Python server's answer for 1,870 services took it
        // 3-8 ms and 100 KB); it is asked only when the file is not there (the service is
        // gone). The shell lists anyway: its completion offers every service.
        if self.reflected.roots.is_some() && kept.contains(&full) {
            let answer = reflection
                .ask(Ask::FileContainingSymbol(full.clone()))
                .await;
            if let Ok(files) = answer.and_then(file_answer) {
                self.listed_before = Some(kept);
                return self.add_files(files).await;
            }
        }
        let reflection = self.reflection.as_mut().expect("reflection, as above");
        let mut answers = reflection
            .ask_all(vec![
                Ask::ListServices(String::new()),
                Ask::FileContainingSymbol(full),
            ])
            .await
            .into_iter();
        let list = answers.next().expect("two answers");
        let file = answers.next().expect("two answers");
        let names = self.set_services(service_names(list)?)?;
        if let Some(address) = &self.address {
            remembered::store(address, &names, &kept);
            if let Some(version) = self.reflection.as_ref().and_then(Reflection::version) {
                remembered::store_version(address, version, kept_version.as_deref());
            }
        }
        if let Ok(answer) = file {
            self.add_files(file_answer(answer)?).await?;
        }
        Ok(())
    }

    /// Makes sure the file defining `symbol` (a service, message, enum or method) is in the pool.
    pub async fn load_symbol(&mut self, symbol: &str) -> anyhow::Result<()> {
        let pool = &self.pool;
        let method = symbol.rsplit_once('.').is_some_and(|(service, method)| {
            pool.get_service_by_name(service)
                .is_some_and(|s| s.methods().any(|m| m.name() == method))
        });
        if method
            || pool.get_service_by_name(symbol).is_some()
            || pool.get_message_by_name(symbol).is_some()
            || pool.get_enum_by_name(symbol).is_some()
        {
            return Ok(());
        }
        if self.reflected.files.defines(symbol) {
            self.add_root(symbol);
            return self.rebuild().await;
        }
        if let Some(file) = well_known_symbol_file(symbol) {
            self.add_root(symbol);
            return self.add_files(vec![file]).await;
        }
        let Some(reflection) = &mut self.reflection else {
            return Err(NotFound(format!(
                "symbol {symbol:?} is not defined in the given protos"
            ))
            .into());
        };
        let answer = reflection
            .ask(Ask::FileContainingSymbol(symbol.to_string()))
            .await;
        if let (Err(_), Some(file)) = (&answer, self.supplied_symbol(symbol)) {
            self.add_root(symbol);
            return self.add_files(vec![file]).await;
        }
        let answer = answer.map_err(|e| match e.downcast_ref::<reflection::Refused>() {
            // NOT_FOUND, or whatever error answer a server gives for a name it lacks.
            Some(r) => NotFound(format!(
                "cannot find symbol {symbol:?} through reflection: {r}"
            ))
            .into(),
            _ => e.context(format!("cannot find symbol {symbol:?} through reflection")),
        })?;
        self.add_root(symbol);
        self.add_files(file_answer(answer)?).await
    }

    fn add_root(&mut self, symbol: &str) {
        if let Some(roots) = &mut self.reflected.roots {
            roots.push(symbol.to_string());
        }
    }

    /// Keeps reflected files and the files they import (fetched a level at a time), unbuilt.
    async fn fetch(&mut self, mut pending: Vec<Vec<u8>>) -> anyhow::Result<()> {
        loop {
            let pruned = &mut self.reflected;
            let mut wanted: Vec<(String, String)> = Vec::new();
            while let Some(bytes) = pending.pop() {
                if !prune::is_descriptor(&bytes) {
                    bail!(
                        "the server's reflection sent a file descriptor that does not decode ({} bytes)",
                        bytes.len()
                    );
                }
                let bytes: Bytes = bytes.into();
                let original = editions::is_editions(&bytes).then(|| bytes.clone());
                let bytes = editions::translated(bytes)?;
                let name = prune::name_of(&bytes).unwrap_or_default();
                let files = Arc::make_mut(&mut pruned.files);
                if !files.insert(bytes) {
                    continue;
                }
                if let Some(original) = original {
                    files.keep_original(name.clone(), original);
                }
                if let Some(reflection) = &self.reflection {
                    pruned.files.within(reflection.budget)?;
                }
                for dep in pruned.files.imports(&name) {
                    if pruned.files.has(dep) {
                        continue;
                    }
                    match well_known_file(dep) {
                        Some(bytes) => pending.push(bytes),
                        None => wanted.push((dep.clone(), name.clone())),
                    }
                }
            }
            wanted.retain(|(dep, _)| !pruned.files.has(dep));
            wanted.sort();
            wanted.dedup_by(|a, b| a.0 == b.0);
            if wanted.is_empty() {
                return Ok(());
            }
            if self.reflection.is_none() {
                let (dep, importer) = &wanted[0];
                bail!("{importer} imports {dep}, which the schema's files do not contain");
            }
            let requests = wanted
                .iter()
                .map(|(dep, _)| Ask::FileByFilename(dep.clone()))
                .collect();
            let answers = self.reflection_mut().ask_all(requests).await;
            for ((dep, importer), answer) in wanted.into_iter().zip(answers) {
                if let (Err(_), Some(file)) = (&answer, self.supplied_file(&dep)) {
                    pending.push(file);
                    continue;
                }
                let answer = answer.with_context(|| {
                    format!(
                        "the server's reflection does not give {dep:?}, which {importer} imports"
                    )
                })?;
                pending.extend(file_answer(answer)?);
            }
        }
    }

    /// Builds the pool anew from the kept files, with what the roots reach; names that no kept
    /// file defines are asked of the server (all at once) until found or known to be nowhere.
    async fn rebuild(&mut self) -> anyhow::Result<()> {
        loop {
            let pruned = &mut self.reflected;
            let (set, missing) = pruned.files.build(
                pruned.roots.as_deref(),
                pruned.shallow.as_ref(),
                pruned.lazy_request,
            );
            let mut local = Vec::new();
            let mut remote = Vec::new();
            let mut nowhere = None;
            for (file, name, options) in missing {
                if let Some((full, bytes)) = options
                    .iter()
                    .find_map(|o| Some((o, well_known_symbol_file(o)?)))
                {
                    if pruned.asked.insert(full.clone()) {
                        local.push(bytes);
                    }
                    continue;
                }
                let unasked: Vec<String> = options
                    .iter()
                    .filter(|o| pruned.asked.insert(o.to_string()))
                    .cloned()
                    .collect();
                if unasked.is_empty() || self.reflection.is_none() {
                    // What the server lacks, the --schema-add files may have.
                    match supplement::defining(self.supplement.as_deref(), &options) {
                        Some((f, bytes)) if pruned.supplied.insert(f.clone()) => local.push(bytes),
                        _ => nowhere = Some((file, name)),
                    }
                } else {
                    // Every full name it may stand for, in the same round trip.
                    remote.extend(unasked.into_iter().map(|o| (file.clone(), name.clone(), o)));
                }
            }
            if local.is_empty() && remote.is_empty() {
                let whose = match self.reflection {
                    Some(_) => "the server's",
                    None => "the schema's",
                };
                if let Some((file, name)) = nowhere {
                    let defined = match self.reflection {
                        Some(_) => "neither its imports nor the server's reflection define",
                        None => "none of its files define",
                    };
                    bail!("{whose} descriptors do not fit together: {file} uses {name}, which {defined}");
                }
                self.pool = build_pool(&set)
                    .with_context(|| format!("{whose} descriptors do not fit together"))?;
                return Ok(());
            }
            let mut found = local;
            if !remote.is_empty() {
                let requests = remote
                    .iter()
                    .map(|(_, _, full)| Ask::FileContainingSymbol(full.clone()))
                    .collect();
                let answers = self.reflection_mut().ask_all(requests).await;
                for ((file, name, _), answer) in remote.into_iter().zip(answers) {
                    match answer {
                        Ok(answer) => found.extend(file_answer(answer)?),
                        Err(e) if e.downcast_ref::<reflection::Refused>().is_some() => {}
                        Err(e) => {
                            return Err(e.context(format!(
                                "{file} uses {name}, and asking the server for it failed"
                            )))
                        }
                    }
                }
            }
            self.fetch(found).await?;
        }
    }

    /// Adds reflected files: keeps them with the files they import, then builds the pool.
    async fn add_files(&mut self, pending: Vec<Vec<u8>>) -> anyhow::Result<()> {
        self.fetch(pending).await?;
        self.rebuild().await
    }

    fn reflection_mut(&mut self) -> &mut Reflection {
        self.reflection
            .as_mut()
            .expect("files come from reflection")
    }
}

/// Keeps every file of an encoded FileDescriptorSet, editions files as their translation with
/// the original beside it.
fn insert_set(files: &mut prune::Files, set: &Bytes) -> anyhow::Result<()> {
    let entries = prune::set_files(set).ok_or_else(|| anyhow!("not a FileDescriptorSet"))?;
    for file in entries {
        let original = editions::is_editions(&file).then(|| file.clone());
        let translated = editions::translated(file)?;
        if let (Some(original), true) = (original, files.insert(translated.clone())) {
            files.keep_original(prune::name_of(&translated).unwrap_or_default(), original);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_known_file_is_read_as_the_pool_of_them_has_it() {
        for name in [
            "google/protobuf/timestamp.proto",
            "google/protobuf/struct.proto",
        ] {
            let bytes = well_known_file(name).unwrap();
            let read = prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap();
            let built = well_known().get_file_by_name(name).unwrap();
            assert_eq!(&read, built.file_descriptor_proto());
        }
        assert!(well_known_file("google/protobuf/descriptor.proto").is_none());
        assert!(well_known_file("other/timestamp.proto").is_none());
    }

    #[test]
    fn a_wrong_answer_is_said_in_a_few_words() {
        let names = (0..250_000)
            .map(|i| tonic_reflection::pb::v1::ServiceResponse {
                name: format!("hostile.Service{i}"),
            })
            .collect();
        let list = Answer::ListServicesResponse(tonic_reflection::pb::v1::ListServiceResponse {
            service: names,
        });
        let err = file_answer(list).unwrap_err().to_string();
        assert_eq!(
            err,
            "reflection answered a file request with a list of 250000 services"
        );
    }
}
