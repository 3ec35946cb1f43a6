//! Where descriptors come from — server reflection, `.proto` files compiled at run time with
//! protox, or a protoset — and the pool they are gathered in. With reflection, only the files a
//! command needs are fetched, dependencies included. Also resolves the method and symbol names
//! people type (`RouteGuide/GetFeature`, `Compute.SayHello`, `/pkg.Svc/Method`).
pub mod reflection;

use crate::error::Hint;
use anyhow::{anyhow, bail, Context};
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MethodDescriptor, ReflectMessage, ServiceDescriptor,
};
use reflection::Reflection;
use std::{collections::HashSet, path::PathBuf};
use tonic_reflection::pb::v1::{
    server_reflection_request::MessageRequest as Ask,
    server_reflection_response::MessageResponse as Answer,
};

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
}

/// The encoded file of a well-known type (`google/protobuf/*.proto`): every source may refer to
/// them without shipping them. Added only when needed: building them all up front costs more
/// memory than the rest of a one-shot call's schema.
fn well_known_file(name: &str) -> Option<Vec<u8>> {
    if !name.starts_with("google/protobuf/") {
        return None;
    }
    let set = prost_types::FileDescriptorSet::decode(crate::pb::WELL_KNOWN_TYPES).ok()?;
    set.file
        .into_iter()
        .find(|f| f.name() == name)
        .map(|f| f.encode_to_vec())
}

/// The well-known file that defines `symbol` (`google.protobuf.Timestamp`), encoded.
fn well_known_symbol_file(symbol: &str) -> Option<Vec<u8>> {
    if !symbol.starts_with("google.protobuf.") {
        return None;
    }
    let wkt = DescriptorPool::decode(crate::pb::WELL_KNOWN_TYPES).ok()?;
    let file = wkt
        .get_message_by_name(symbol)
        .map(|m| m.parent_file())
        .or_else(|| wkt.get_enum_by_name(symbol).map(|e| e.parent_file()))?;
    Some(file.file_descriptor_proto().encode_to_vec())
}

/// The names of a service list answer.
fn service_names(answer: anyhow::Result<Answer>) -> anyhow::Result<Vec<String>> {
    match answer.context("cannot list services")? {
        Answer::ListServicesResponse(list) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => bail!("reflection answered a service list request with {other:?}"),
    }
}

/// The name of an encoded FileDescriptorProto (field 1), read without decoding the rest.
fn file_name(bytes: &[u8]) -> Option<String> {
    use prost::encoding::{decode_key, decode_varint, WireType};
    let mut buf = bytes;
    while !buf.is_empty() {
        let (tag, wire) = decode_key(&mut buf).ok()?;
        let skip = match wire {
            WireType::Varint => {
                decode_varint(&mut buf).ok()?;
                0
            }
            WireType::SixtyFourBit => 8,
            WireType::ThirtyTwoBit => 4,
            WireType::LengthDelimited => {
                let len = decode_varint(&mut buf).ok()? as usize;
                if tag == 1 {
                    return String::from_utf8(buf.get(..len)?.to_vec()).ok();
                }
                len
            }
            _ => return None,
        };
        buf = buf.get(skip..)?;
    }
    None
}

/// The files of a reflection answer.
fn file_answer(answer: Answer) -> anyhow::Result<Vec<Vec<u8>>> {
    match answer {
        Answer::FileDescriptorResponse(files) => Ok(files.file_descriptor_proto),
        other => bail!("reflection answered a file request with {other:?}"),
    }
}

/// Full name → the file defining it, for every message, enum and service of `files`.
fn defined_in<'a>(
    files: impl Iterator<Item = &'a prost_types::FileDescriptorProto>,
) -> std::collections::HashMap<String, String> {
    fn messages(
        scope: &str,
        list: &[prost_types::DescriptorProto],
        file: &str,
        out: &mut std::collections::HashMap<String, String>,
    ) {
        for m in list {
            let name = join(scope, m.name());
            for e in &m.enum_type {
                out.insert(join(&name, e.name()), file.to_string());
            }
            messages(&name, &m.nested_type, file, out);
            out.insert(name, file.to_string());
        }
    }
    let mut out = std::collections::HashMap::new();
    for f in files {
        let scope = f.package();
        messages(scope, &f.message_type, f.name(), &mut out);
        for e in &f.enum_type {
            out.insert(join(scope, e.name()), f.name().to_string());
        }
        for s in &f.service {
            out.insert(join(scope, s.name()), f.name().to_string());
        }
    }
    out
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

/// The type names a file refers to — field types, extendees, method inputs and outputs — each
/// with the scope it is written in (names may be relative: grpc-js writes `types.v1.Author`).
fn used_names(file: &prost_types::FileDescriptorProto) -> Vec<(String, String)> {
    fn fields(
        scope: &str,
        list: &[prost_types::FieldDescriptorProto],
        out: &mut Vec<(String, String)>,
    ) {
        for f in list {
            for name in f.type_name.iter().chain(&f.extendee) {
                out.push((scope.to_string(), name.clone()));
            }
        }
    }
    fn messages(
        scope: &str,
        list: &[prost_types::DescriptorProto],
        out: &mut Vec<(String, String)>,
    ) {
        for m in list {
            let name = join(scope, m.name());
            fields(&name, &m.field, out);
            fields(&name, &m.extension, out);
            messages(&name, &m.nested_type, out);
        }
    }
    let mut out = Vec::new();
    messages(file.package(), &file.message_type, &mut out);
    fields(file.package(), &file.extension, &mut out);
    for s in &file.service {
        let scope = join(file.package(), s.name());
        for m in &s.method {
            for name in m.input_type.iter().chain(&m.output_type) {
                out.push((scope.clone(), name.clone()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
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
pub fn with_status_types(pool: &DescriptorPool) -> DescriptorPool {
    let mut pool = pool.clone();
    if pool.get_message_by_name("google.rpc.Status").is_none() {
        let set = prost_types::FileDescriptorSet::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .unwrap_or_default();
        let _ = pool.decode_file_descriptor_set(missing_well_known(&set.file, &pool).as_slice());
        let _ = pool.decode_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET);
    }
    pool
}

/// A pool from an encoded FileDescriptorSet, with the well-known files it imports but lacks.
fn pool_from_set(bytes: &[u8]) -> anyhow::Result<DescriptorPool> {
    let set = prost_types::FileDescriptorSet::decode(bytes)?;
    let mut pool = DescriptorPool::new();
    pool.decode_file_descriptor_set(missing_well_known(&set.file, &pool).as_slice())?;
    pool.decode_file_descriptor_set(bytes)?;
    Ok(pool)
}

impl Schema {
    pub fn from_reflection(reflection: Reflection) -> Self {
        Schema {
            pool: DescriptorPool::new(),
            reflection: Some(reflection),
            services: None,
        }
    }

    /// Compiles `.proto` files with protox. Without include dirs, each file's folder is one.
    pub fn from_protos(files: &[PathBuf], includes: &[PathBuf]) -> anyhow::Result<Self> {
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
        let mut compiler = protox::Compiler::new(&includes).context("invalid include path")?;
        compiler.include_imports(true);
        for f in files {
            compiler
                .open_file(f)
                .map_err(|e| protox_error(&e, f, &includes))?;
        }
        let pool = pool_from_set(&compiler.encode_file_descriptor_set())
            .context("the compiled protos do not fit together")?;
        Ok(Schema {
            pool,
            reflection: None,
            services: None,
        })
    }

    /// Reads a `FileDescriptorSet` (protoc `--descriptor_set_out --include_imports`).
    pub fn from_protoset(path: &PathBuf) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read protoset {}", path.display()))?;
        let pool = pool_from_set(&bytes)
            .with_context(|| format!("invalid protoset {}", path.display()))?;
        Ok(Schema {
            pool,
            reflection: None,
            services: None,
        })
    }

    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// A schema of the same source that starts empty (reflection on a stream of its own), for
    /// loading in the background; a local schema is simply shared.
    pub fn fresh(&self) -> Schema {
        match &self.reflection {
            Some(r) => Schema::from_reflection(r.fresh()),
            None => Schema {
                pool: self.pool.clone(),
                reflection: None,
                services: self.services.clone(),
            },
        }
    }

    /// The service names, when they have been listed.
    pub fn listed(&self) -> Option<&[String]> {
        self.services.as_deref()
    }

    /// Takes in what `other` loaded that this schema lacks (loaded elsewhere, as in the
    /// background): files and the service list.
    pub fn absorb(&mut self, other: Schema) {
        if self.services.is_none() {
            self.services = other.services;
        }
        for file in other.pool.files() {
            if self.pool.get_file_by_name(file.name()).is_none() {
                let _ = self
                    .pool
                    .decode_file_descriptor_proto(file.encode_to_vec().as_slice());
            }
        }
    }

    /// Loads the files of all `symbols` in one round trip per level of imports; a symbol the
    /// server does not know is skipped.
    pub async fn load_symbols(&mut self, symbols: &[String]) -> anyhow::Result<()> {
        let missing: Vec<&String> = symbols
            .iter()
            .filter(|s| self.pool.get_service_by_name(s).is_none())
            .collect();
        let Some(reflection) = self.reflection.as_mut() else {
            return Ok(());
        };
        if missing.is_empty() {
            return Ok(());
        }
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
            None => self
                .pool
                .services()
                .map(|s| s.full_name().to_string())
                .collect(),
        };
        self.set_services(names)
    }

    fn set_services(&mut self, mut names: Vec<String>) -> anyhow::Result<Vec<String>> {
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
        let mut answers = reflection
            .ask_all(vec![
                Ask::ListServices(String::new()),
                Ask::FileContainingSymbol(name.to_string()),
            ])
            .await
            .into_iter();
        let list = answers.next().expect("two answers");
        let file = answers.next().expect("two answers");
        self.set_services(service_names(list)?)?;
        if let Ok(answer) = file {
            self.add_files(file_answer(answer)?).await?;
        }
        Ok(())
    }

    /// Makes sure the file defining `symbol` (a service, message, enum or method) is in the pool.
    pub async fn load_symbol(&mut self, symbol: &str) -> anyhow::Result<()> {
        if self.pool.get_service_by_name(symbol).is_some()
            || self.pool.get_message_by_name(symbol).is_some()
            || self.pool.get_enum_by_name(symbol).is_some()
        {
            return Ok(());
        }
        if let Some(file) = well_known_symbol_file(symbol) {
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
            .await
            .map_err(|e| match e.downcast_ref::<reflection::Refused>() {
                // NOT_FOUND, or whatever error answer a server gives for a name it lacks.
                Some(r) => NotFound(format!(
                    "cannot find symbol {symbol:?} through reflection: {r}"
                ))
                .into(),
                _ => e.context(format!("cannot find symbol {symbol:?} through reflection")),
            })?;
        self.add_files(file_answer(answer)?).await
    }

    /// Adds reflected files, fetching the dependencies the pool lacks, and builds them from their
    /// raw bytes (decoding to prost-types first would drop custom options). Names a file uses
    /// but does not import — grpc-js's reflection lists no imports (grpc/grpc-node#3018) — are
    /// found in the other files, in the pool or by asking the server for the symbol, and the
    /// import is added.
    async fn add_files(&mut self, mut pending: Vec<Vec<u8>>) -> anyhow::Result<()> {
        let mut files: Vec<(prost_types::FileDescriptorProto, Vec<u8>)> = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        let mut asked: HashSet<String> = HashSet::new();
        loop {
            // Imports the files name that are neither here nor in the pool: (import, importer).
            let mut wanted: Vec<(String, String)> = Vec::new();
            while let Some(bytes) = pending.pop() {
                // grpcio answers each request with the file's whole chain of imports: skip what
                // is known before decoding it.
                if let Some(name) = file_name(&bytes) {
                    if self.pool.get_file_by_name(&name).is_some() || names.contains(&name) {
                        continue;
                    }
                }
                let file = prost_types::FileDescriptorProto::decode(bytes.as_slice())
                    .context("reflection sent an invalid file descriptor")?;
                // grpc-js serves the well-known types as one `google_protobuf.proto`: rpcsh has
                // the real files, and both would define the same names.
                let wkt_copy = file.package() == "google.protobuf"
                    && !file.name().starts_with("google/protobuf/");
                if wkt_copy || !names.insert(file.name().to_string()) {
                    continue;
                }
                for dep in &file.dependency {
                    if self.pool.get_file_by_name(dep).is_some() || names.contains(dep) {
                        continue;
                    }
                    match well_known_file(dep) {
                        Some(bytes) => pending.push(bytes),
                        None => wanted.push((dep.clone(), file.name().to_string())),
                    }
                }
                files.push((file, bytes));
            }
            // Every missing import at once: one round trip per level of imports.
            wanted.retain(|(dep, _)| !names.contains(dep));
            wanted.sort();
            wanted.dedup_by(|a, b| a.0 == b.0);
            if !wanted.is_empty() {
                let requests = wanted
                    .iter()
                    .map(|(dep, _)| Ask::FileByFilename(dep.clone()))
                    .collect();
                let answers = self.reflection_mut().ask_all(requests).await;
                for ((dep, importer), answer) in wanted.into_iter().zip(answers) {
                    let answer = answer.with_context(|| {
                        format!("the server's reflection does not give {dep:?}, which {importer} imports")
                    })?;
                    pending.extend(file_answer(answer)?);
                }
                continue;
            }
            // Names used but defined by no file received so far: ask for them (each name's next
            // candidate full name, all in one round trip), then look again.
            let defined = defined_in(files.iter().map(|(f, _)| f));
            let mut batch: Vec<(String, String, String)> = Vec::new();
            for (file, _) in &files {
                for (scope, name) in used_names(file) {
                    if self.provider(&defined, &scope, &name).is_some() {
                        continue;
                    }
                    let next = candidates(&scope, &name)
                        .into_iter()
                        .find(|full| !asked.contains(full));
                    if let Some(full) = next {
                        asked.insert(full.clone());
                        batch.push((file.name().to_string(), name.clone(), full));
                    }
                }
            }
            if batch.is_empty() {
                break;
            }
            let mut requests = Vec::new();
            let mut remote = Vec::new();
            for (file, name, full) in batch {
                match well_known_symbol_file(&full) {
                    Some(bytes) => pending.push(bytes),
                    None if self.reflection.is_some() => {
                        requests.push(Ask::FileContainingSymbol(full));
                        remote.push((file, name));
                    }
                    None => {}
                }
            }
            if !requests.is_empty() {
                let answers = self.reflection_mut().ask_all(requests).await;
                for ((file, name), answer) in remote.into_iter().zip(answers) {
                    match answer {
                        Ok(answer) => pending.extend(file_answer(answer)?),
                        Err(e) if e.downcast_ref::<reflection::Refused>().is_some() => {}
                        Err(e) => {
                            return Err(e.context(format!(
                                "{file} uses {name}, and asking the server for it failed"
                            )))
                        }
                    }
                }
            }
        }
        let defined = defined_in(files.iter().map(|(f, _)| f));
        let mut set = Vec::new();
        for (file, bytes) in &files {
            let mut bytes = bytes.clone();
            let mut imports: Vec<String> = file.dependency.clone();
            for (scope, used) in used_names(file) {
                match self.provider(&defined, &scope, &used) {
                    Some(p) if p == file.name() || imports.contains(&p) => {}
                    // A dependency appended at the end: the indexes of public imports still hold.
                    Some(p) => {
                        prost::encoding::string::encode(3, &p, &mut bytes);
                        imports.push(p);
                    }
                    None => bail!(
                        "the server's descriptors do not fit together: {} uses {used}, which neither its imports nor the server's reflection define",
                        file.name()
                    ),
                }
            }
            prost::encoding::bytes::encode(1, &bytes, &mut set);
        }
        self.pool
            .decode_file_descriptor_set(set.as_slice())
            .context("the server's descriptors do not fit together")?;
        Ok(())
    }

    fn reflection_mut(&mut self) -> &mut Reflection {
        self.reflection
            .as_mut()
            .expect("files come from reflection")
    }

    /// The file that defines `name` as written in `scope`: one of `defined` (the files being
    /// added) or of the pool.
    fn provider(
        &self,
        defined: &std::collections::HashMap<String, String>,
        scope: &str,
        name: &str,
    ) -> Option<String> {
        candidates(scope, name).into_iter().find_map(|full| {
            defined
                .get(&full)
                .cloned()
                .or_else(|| self.file_defining(&full))
        })
    }

    /// The file of the pool that defines a message, enum or service, by full name.
    fn file_defining(&self, name: &str) -> Option<String> {
        let pool = &self.pool;
        pool.get_message_by_name(name)
            .map(|m| m.parent_file())
            .or_else(|| pool.get_enum_by_name(name).map(|e| e.parent_file()))
            .or_else(|| pool.get_service_by_name(name).map(|s| s.parent_file()))
            .map(|f| f.name().to_string())
    }

    /// Finds the service a user named: its full name, or its last component when that is
    /// unambiguous, in any case when nothing matches exactly.
    pub async fn resolve_service(&mut self, name: &str) -> anyhow::Result<ServiceDescriptor> {
        self.list_and_load(name).await?;
        let services = self.services().await?;
        let found = matching_services(name, &services);
        let full = match found.as_slice() {
            [one] => (*one).clone(),
            // A service the server does not list may still be described (and answer
            // UNIMPLEMENTED, as the interop case unimplemented_service expects).
            [] if self.load_symbol(name).await.is_ok()
                && self.pool.get_service_by_name(name).is_some() =>
            {
                name.to_string()
            }
            [] => {
                let hint = suggest(name, &services)
                    .map(|s| format!("did you mean {s}? `rpcsh list` shows them all"))
                    .unwrap_or_else(|| format!("the server has: {}", services.join(", ")));
                bail!(Hint::new(format!("unknown service {name:?}"), hint))
            }
            many => bail!(Hint::new(
                format!("service name {name:?} is ambiguous"),
                format!(
                    "name one of: {}",
                    many.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
        self.load_symbol(&full).await?;
        self.pool
            .get_service_by_name(&full)
            .ok_or_else(|| anyhow!("the server lists {full} but does not describe it"))
    }

    /// Finds a method from `Service/Method`, `Service.Method` or `/package.Service/Method`.
    pub async fn resolve_method(&mut self, spec: &str) -> anyhow::Result<MethodDescriptor> {
        let trimmed = spec.trim().trim_start_matches('/');
        let split = trimmed
            .rsplit_once('/')
            .or_else(|| trimmed.rsplit_once('.'));
        let Some((service, method)) = split.filter(|(s, m)| !s.is_empty() && !m.is_empty()) else {
            bail!(Hint::new(
                format!("invalid method {spec:?}"),
                "name it SERVICE/METHOD, as in RouteGuide/GetFeature",
            ));
        };
        let service = self.resolve_service(service).await?;
        let methods: Vec<MethodDescriptor> = service.methods().collect();
        if let Some(m) = methods.iter().find(|m| m.name() == method) {
            return Ok(m.clone());
        }
        let loose: Vec<&MethodDescriptor> = methods
            .iter()
            .filter(|m| m.name().eq_ignore_ascii_case(method))
            .collect();
        if let [one] = loose.as_slice() {
            return Ok((*one).clone());
        }
        let names: Vec<String> = methods.iter().map(|m| m.name().to_string()).collect();
        let hint = match suggest(method, &names) {
            Some(s) => format!("did you mean {}/{s}?", service.name()),
            None => format!("{} has: {}", service.full_name(), names.join(", ")),
        };
        bail!(Hint::new(
            format!("{} has no method {method:?}", service.full_name()),
            hint
        ))
    }
}

impl Schema {
    /// `message` again, decoded with a pool that knows every type its `google.protobuf.Any`
    /// fields hold, as far as the source can tell: JSON printing needs them. Types the source
    /// does not know are left for the printer to report.
    pub async fn resolve_any(&mut self, message: DynamicMessage) -> DynamicMessage {
        let mut urls = Vec::new();
        any_type_urls(&message, &mut urls);
        let mut loaded = false;
        for url in urls {
            let name = url.rsplit('/').next().unwrap_or(&url);
            if self.pool.get_message_by_name(name).is_none() && self.load_symbol(name).await.is_ok()
            {
                loaded = true;
            }
        }
        if !loaded {
            return message;
        }
        let Some(desc) = self
            .pool
            .get_message_by_name(message.descriptor().full_name())
        else {
            return message;
        };
        DynamicMessage::decode(desc, message.encode_to_vec().as_slice()).unwrap_or(message)
    }
}

/// The type URLs of every `Any` in `message`, nested ones included.
fn any_type_urls(message: &DynamicMessage, urls: &mut Vec<String>) {
    use prost_reflect::Value;
    fn visit(value: &Value, urls: &mut Vec<String>) {
        match value {
            Value::Message(m) => any_type_urls(m, urls),
            Value::List(items) => items.iter().for_each(|v| visit(v, urls)),
            Value::Map(entries) => entries.values().for_each(|v| visit(v, urls)),
            _ => {}
        }
    }
    if message.descriptor().full_name() == "google.protobuf.Any" {
        if let Some(url) = message
            .get_field_by_name("type_url")
            .and_then(|v| v.as_str().map(str::to_string))
        {
            urls.push(url);
        }
        return;
    }
    for (_, value) in message.fields() {
        visit(value, urls);
    }
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

/// The listed services `name` may mean: the exact name, else those whose last component it is,
/// else the same ignoring case.
fn matching_services<'a>(name: &str, services: &'a [String]) -> Vec<&'a String> {
    let short = |s: &str| s.rsplit('.').next().unwrap_or(s).to_string();
    let mut found: Vec<&String> = services.iter().filter(|s| *s == name).collect();
    if found.is_empty() {
        found = services.iter().filter(|s| short(s) == name).collect();
    }
    if found.is_empty() {
        found = services
            .iter()
            .filter(|s| s.eq_ignore_ascii_case(name) || short(s).eq_ignore_ascii_case(name))
            .collect();
    }
    found
}

/// The candidate closest to `name`, if any is close enough to be a likely typo.
fn suggest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            let short = c.rsplit('.').next().unwrap_or(c).to_ascii_lowercase();
            let score = strsim::jaro_winkler(&lower, &short)
                .max(strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()));
            (score, c.as_str())
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// rpcsh's own demo protos, for tests and tools that know the demo API.
pub fn demo_pool() -> DescriptorPool {
    pool_from_set(crate::pb::FILE_DESCRIPTOR_SET).expect("the demo descriptors are valid")
}

/// A name `describe` and `template` found: what kind of thing it is.
pub enum Symbol {
    Service(prost_reflect::ServiceDescriptor),
    Method(MethodDescriptor),
    Message(prost_reflect::MessageDescriptor),
    Enum(prost_reflect::EnumDescriptor),
}

impl Symbol {
    /// The message a `template` is made for: the message itself, or a method's request.
    pub fn request_message(self) -> anyhow::Result<prost_reflect::MessageDescriptor> {
        match self {
            Symbol::Message(m) => Ok(m),
            Symbol::Method(m) => Ok(m.input()),
            Symbol::Service(s) => {
                let first = s
                    .methods()
                    .next()
                    .map(|m| m.name().to_string())
                    .unwrap_or_default();
                bail!(Hint::new(
                    format!("{} is a service", s.full_name()),
                    format!("name one of its methods, as in {}/{first}", s.name()),
                ))
            }
            Symbol::Enum(e) => bail!(
                "{} is an enum; templates are made for messages and methods",
                e.full_name()
            ),
        }
    }
}

impl Schema {
    /// Looks a symbol up: fully-qualified names first, then the names people type for services and
    /// methods (`Compute`, `RouteGuide/GetFeature`). Only "no such name" moves on to the next
    /// form: a symbol that exists but cannot be loaded, or a name two services share, is
    /// reported as `call` reports it.
    pub async fn find_symbol(&mut self, symbol: &str) -> anyhow::Result<Symbol> {
        let name = symbol
            .trim()
            .trim_start_matches('.')
            .trim_start_matches('/');
        if !name.contains('/') {
            match self.load_symbol(name).await {
                Ok(()) => {
                    let pool = self.pool();
                    if let Some(s) = pool.get_service_by_name(name) {
                        return Ok(Symbol::Service(s));
                    }
                    if let Some(m) = pool.get_message_by_name(name) {
                        return Ok(Symbol::Message(m));
                    }
                    if let Some(e) = pool.get_enum_by_name(name) {
                        return Ok(Symbol::Enum(e));
                    }
                    let method = name.rsplit_once('.').and_then(|(service, method)| {
                        pool.get_service_by_name(service)?
                            .methods()
                            .find(|m| m.name() == method)
                    });
                    if let Some(m) = method {
                        return Ok(Symbol::Method(m));
                    }
                }
                Err(e) if e.downcast_ref::<NotFound>().is_some() => {}
                Err(e) => return Err(e),
            }
            let services = self.services().await?;
            if !matching_services(name, &services).is_empty() {
                return self.resolve_service(name).await.map(Symbol::Service);
            }
        }
        match self.resolve_method(name).await {
            Ok(m) => Ok(Symbol::Method(m)),
            Err(e) if name.contains('/') => Err(e),
            Err(_) => bail!(Hint::new(
                format!("symbol {symbol:?} not found"),
                "name a service, method, message or enum by its full name, as `rpcsh list` shows them",
            )),
        }
    }
}
