//! Descriptor files kept encoded as received or read (reflection's, a protoset's), indexed by
//! the names they define, and pools built from them holding only what some roots reach: a
//! one-shot command on a big schema builds the messages of its method, not the 4 MB of files the
//! server sends with it, nor the 21 MB of a googleapis protoset. Works on the encoded bytes — a
//! file's top-level messages, enums and services are cut out, kept whole, or (past a size, for a
//! shallow build) kept as stubs; every other field (options included) is copied — and decodes
//! only the messages it keeps. A name used by a kept message but defined in a file the using file
//! does not import (grpc-js lists no imports) gets the import added.
use super::{candidates, join};
use bytes::Bytes;
use prost::encoding::{decode_key, decode_varint, WireType};
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

const DEPENDENCY: u32 = 3;
const MESSAGE: u32 = 4;
const ENUM: u32 = 5;
const SERVICE: u32 = 6;
const EXTENSION: u32 = 7;
const OPTIONS: u32 = 8;
const SOURCE_CODE_INFO: u32 = 9;

/// A name a kept definition uses that no file here defines: the file, the name as written, and
/// the full names it may stand for.
pub type Unresolved = (String, String, Vec<String>);

/// One top-level field of an encoded file, in offsets of 32 bits: a big schema has hundreds of
/// thousands of them.
#[derive(Clone)]
struct Entry {
    tag: u32,
    start: u32,
    value_start: u32,
    value_end: u32,
    end: u32,
}

impl Entry {
    /// The whole field, key included.
    fn field(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The value of a length-delimited field.
    fn value(&self) -> Range<usize> {
        self.value_start as usize..self.value_end as usize
    }
}

/// A file's encoded bytes: a slice of what was received or read (a protoset is not copied
/// file by file), or, in a long-lived shell, compressed (a fifth of the size; unpacked when a
/// build reads it, which takes microseconds a file).
#[derive(Clone)]
enum Stored {
    Raw(Bytes),
    Packed {
        data: std::sync::Arc<[u8]>,
        len: usize,
    },
}

impl Stored {
    fn len(&self) -> usize {
        match self {
            Stored::Raw(b) => b.len(),
            Stored::Packed { len, .. } => *len,
        }
    }

    fn raw(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Stored::Raw(b) => std::borrow::Cow::Borrowed(b),
            // Packed by this process from bytes that were read: it unpacks.
            Stored::Packed { data, len } => zstd::bulk::decompress(data, *len)
                .unwrap_or_default()
                .into(),
        }
    }
}

#[derive(Clone)]
struct File {
    name: String,
    package: String,
    deps: Vec<String>,
    bytes: Stored,
    entries: Vec<Entry>,
}

/// Where a top-level definition is: file and entry, in 32 bits each (a big schema has tens of
/// thousands).
#[derive(Clone, Copy)]
struct At(u32, u32);

impl At {
    fn get(self) -> (usize, usize) {
        (self.0 as usize, self.1 as usize)
    }
}

/// Received files, and where each top-level message, enum and service is.
#[derive(Default, Clone)]
pub struct Files {
    files: Vec<File>,
    by_name: HashMap<String, usize>,
    /// Full name of a top-level definition → (file, entry).
    index: HashMap<Box<str>, At>,
    /// What the files kept here take in memory, bytes and index, about: what a schema budget
    /// counts (a million tiny files cost more than their bytes).
    cost: usize,
    /// Editions files as they came, by name: what is kept above is their proto2/proto3
    /// translation, and an export writes the originals.
    originals: HashMap<String, Bytes>,
}

/// The top-level fields of an encoded message.
fn fields(bytes: &[u8]) -> Option<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut buf = bytes;
    while !buf.is_empty() {
        let start = bytes.len() - buf.len();
        let (tag, wire) = decode_key(&mut buf).ok()?;
        let value_start;
        let len = match wire {
            WireType::Varint => {
                value_start = bytes.len() - buf.len();
                decode_varint(&mut buf).ok()?;
                0
            }
            WireType::SixtyFourBit => {
                value_start = bytes.len() - buf.len();
                8
            }
            WireType::ThirtyTwoBit => {
                value_start = bytes.len() - buf.len();
                4
            }
            WireType::LengthDelimited => {
                let len = decode_varint(&mut buf).ok()? as usize;
                value_start = bytes.len() - buf.len();
                len
            }
            _ => return None,
        };
        buf = buf.get(len..)?;
        let end = bytes.len() - buf.len();
        let value_end = end.min(value_start + len).max(value_start);
        let offset = |at: usize| u32::try_from(at).ok();
        entries.push(Entry {
            tag,
            start: offset(start)?,
            value_start: offset(value_start)?,
            value_end: offset(value_end)?,
            end: offset(end)?,
        });
    }
    entries.shrink_to_fit();
    Some(entries)
}

/// The files of an encoded FileDescriptorSet, as slices of it.
pub(super) fn set_files(set: &Bytes) -> Option<Vec<Bytes>> {
    fields(set)?
        .into_iter()
        .filter(|e| e.tag == 1)
        .map(|e| Some(set.slice(e.value())))
        .collect()
}

/// The first length-delimited top-level field `tag` of an encoded message, read without
/// decoding the rest.
pub(super) fn field(bytes: &[u8], tag: u32) -> Option<&[u8]> {
    let mut buf = bytes;
    while !buf.is_empty() {
        let (t, wire) = decode_key(&mut buf).ok()?;
        let len = match wire {
            WireType::Varint => {
                decode_varint(&mut buf).ok()?;
                0
            }
            WireType::SixtyFourBit => 8,
            WireType::ThirtyTwoBit => 4,
            WireType::LengthDelimited => decode_varint(&mut buf).ok()? as usize,
            _ => return None,
        };
        let value = buf.get(..len)?;
        if t == tag && wire == WireType::LengthDelimited {
            return Some(value);
        }
        buf = &buf[len..];
    }
    None
}

/// Field 1 (the name) of an encoded descriptor, read without decoding the rest.
/// Whether `bytes` read as a file descriptor at its top level, named.
pub(super) fn is_descriptor(bytes: &[u8]) -> bool {
    fields(bytes).is_some() && name_of(bytes).is_some()
}

pub(super) fn name_of(bytes: &[u8]) -> Option<String> {
    String::from_utf8(field(bytes, 1)?.to_vec()).ok()
}

impl Files {
    /// Takes in the files of `other` this lacks.
    pub fn merge(&mut self, other: &Files) {
        for file in &other.files {
            self.insert(file.bytes.raw().into_owned());
        }
        for (name, original) in &other.originals {
            if !self.originals.contains_key(name) {
                self.keep_original(name.clone(), original.clone());
            }
        }
    }

    /// How many top-level messages the received files define.
    pub fn messages(&self) -> usize {
        self.index
            .values()
            .filter(|at| self.tag(**at) == MESSAGE)
            .count()
    }

    fn tag(&self, at: At) -> u32 {
        let (f, e) = at.get();
        self.files[f].entries[e].tag
    }

    /// Returns what growing left unused, once every file is in.
    pub fn shrink(&mut self) {
        self.index.shrink_to_fit();
        self.by_name.shrink_to_fit();
        self.files.shrink_to_fit();
    }

    /// The encoded size of the files kept.
    pub fn size(&self) -> usize {
        self.files.iter().map(|f| f.bytes.len()).sum()
    }

    /// These files with their bytes compressed: for a schema kept for long and used a little
    /// at a time (the shell's, from a big protoset).
    pub fn packed(&self) -> Files {
        let mut packed = self.clone();
        let Ok(mut compressor) = zstd::bulk::Compressor::new(1) else {
            return packed;
        };
        for file in &mut packed.files {
            if let Stored::Raw(raw) = &file.bytes {
                if let Ok(data) = compressor.compress(raw) {
                    file.bytes = Stored::Packed {
                        data: data.into(),
                        len: raw.len(),
                    };
                }
            }
        }
        packed
    }

    /// Whether a file of this name was received.
    pub fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Stops a server whose schema grows past `budget` (answers without end, millions of
    /// files): what the files kept take in memory, about.
    pub fn within(&self, budget: usize) -> anyhow::Result<()> {
        if self.cost <= budget {
            return Ok(());
        }
        let mib = |n: usize| n.div_ceil(1 << 20);
        Err(crate::sys::error::Hint::new(
            format!(
                "the server's schema passed --max-schema-size ({} MiB) after {} files: rpcsh stopped asking for more",
                mib(budget),
                self.files.len()
            ),
            format!(
                "a schema this big is rare; if the server is one you trust, raise the limit (--max-schema-size {}MiB), or give the schema with --protoset FILE",
                mib(budget) * 4
            ),
        )
        .into())
    }

    /// The full names of the services defined here, unsorted.
    pub fn services(&self) -> Vec<String> {
        self.index
            .iter()
            .filter(|(_, at)| self.tag(**at) == SERVICE)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// The method names of a service defined here, read without building anything.
    pub fn methods(&self, service: &str) -> Vec<String> {
        let Some((f, e)) = self.index.get(service).map(|at| at.get()) else {
            return Vec::new();
        };
        let file = &self.files[f];
        prost_types::ServiceDescriptorProto::decode(&file.bytes.raw()[file.entries[e].value()])
            .map(|s| s.method.into_iter().map(|m| m.name().to_string()).collect())
            .unwrap_or_default()
    }

    /// The names of the files kept, with the files each imports.
    pub fn names(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.files
            .iter()
            .map(|f| (f.name.as_str(), f.deps.as_slice()))
    }

    /// The imports of a received file.
    pub fn imports(&self, name: &str) -> &[String] {
        self.by_name
            .get(name)
            .map_or(&[], |&i| self.files[i].deps.as_slice())
    }

    /// The imports each file lacks for what it uses (grpc-js sends files with none), by file.
    pub fn added_imports(&self) -> HashMap<String, Vec<String>> {
        let all = self
            .index
            .values()
            .map(|at| (at.get(), Depth::Full))
            .collect();
        let reached = self.reach(
            all,
            &HashMap::new(),
            (&HashSet::new(), false),
            &mut HashMap::new(),
            None,
        );
        let name = |f: usize| self.files[f].name.clone();
        reached
            .extra
            .into_iter()
            .map(|(f, deps)| (name(f), deps))
            .collect()
    }

    /// Keeps an encoded file; false when it cannot be read or one of its name is kept already.
    pub fn insert(&mut self, bytes: impl Into<Bytes>) -> bool {
        let bytes = bytes.into();
        let Some(entries) = fields(&bytes) else {
            return false;
        };
        let text = |e: &Entry| String::from_utf8_lossy(&bytes[e.value()]).into_owned();
        let name = entries
            .iter()
            .find(|e| e.tag == 1)
            .map(text)
            .unwrap_or_default();
        let package = entries
            .iter()
            .find(|e| e.tag == 2)
            .map(text)
            .unwrap_or_default();
        // grpc-js serves the well-known types as one `google_protobuf.proto`: the real files are
        // used instead, and both would define the same names.
        let wkt_copy = package == "google.protobuf" && !name.starts_with("google/protobuf/");
        if wkt_copy || self.by_name.contains_key(&name) {
            return false;
        }
        let deps: Vec<String> = entries
            .iter()
            .filter(|e| e.tag == DEPENDENCY)
            .map(text)
            .collect();
        let index = self.files.len();
        // Each map entry and string as its bytes plus a few words of allocation and table.
        const OVERHEAD: usize = 48;
        self.cost += bytes.len()
            + entries.len() * std::mem::size_of::<Entry>()
            + std::mem::size_of::<File>()
            + 2 * (name.len() + OVERHEAD)
            + package.len()
            + deps.iter().map(|d| d.len() + OVERHEAD).sum::<usize>();
        for (i, e) in entries.iter().enumerate() {
            if matches!(e.tag, MESSAGE | ENUM | SERVICE) {
                if let Some(n) = name_of(&bytes[e.value()]) {
                    let at = At(index as u32, i as u32);
                    let full = join(&package, &n);
                    self.cost += full.len() + OVERHEAD;
                    self.index.insert(full.into(), at);
                }
            }
        }
        self.by_name.insert(name.clone(), index);
        self.files.push(File {
            name,
            package,
            deps,
            bytes: Stored::Raw(bytes),
            entries,
        });
        true
    }

    /// The top-level definition a full name is in: itself, or the message it is nested in (or,
    /// for a method, its service).
    fn locate(&self, full: &str) -> Option<(usize, usize)> {
        let mut name = full;
        loop {
            if let Some(found) = self.index.get(name) {
                return Some(found.get());
            }
            name = name.rsplit_once('.')?.0;
        }
    }

    /// The full name of a top-level definition.
    fn full_name(&self, f: usize, e: usize) -> String {
        let file = &self.files[f];
        let name = name_of(&file.bytes.raw()[file.entries[e].value()]).unwrap_or_default();
        join(&file.package, &name)
    }

    /// Whether `full` is defined here (or is a method or nested type of something that is).
    pub fn defines(&self, full: &str) -> bool {
        self.locate(full).is_some()
    }

    /// The encoded file that defines `full` (or what it is a method or nested type of).
    pub fn bytes_of(&self, full: &str) -> Option<Vec<u8>> {
        self.locate(full)
            .map(|(f, _)| self.files[f].bytes.raw().into_owned())
    }

    /// The name of the file that defines `full` (or what it is a method or nested type of).
    pub fn file_of(&self, full: &str) -> Option<&str> {
        self.locate(full).map(|(f, _)| self.files[f].name.as_str())
    }

    /// A kept file, encoded as it was received or read.
    pub fn encoded(&self, name: &str) -> Option<std::borrow::Cow<'_, [u8]>> {
        if let Some(original) = self.originals.get(name) {
            return Some(std::borrow::Cow::Borrowed(original));
        }
        self.by_name.get(name).map(|&i| self.files[i].bytes.raw())
    }

    /// Keeps the editions file a translation kept here was made from.
    pub fn keep_original(&mut self, name: String, original: Bytes) {
        self.cost += original.len();
        self.originals.insert(name, original);
    }

    /// An encoded FileDescriptorSet holding what `roots` (full names; None: everything) reach,
    /// and each file's imports; and the names used that no file here defines, as (file, name as
    /// written, its candidate full names).
    ///
    /// With `shallow` (the names expanded so far), a closure of more than `SHALLOW_FROM`
    /// messages is cut short: a method's request is built whole, its response and a named
    /// message one level deep, and the messages they use as stubs (a name, nested names and
    /// enums, no fields) unless expanded since — the caller expands what a response turns out
    /// to hold.
    ///
    /// With `lazy_request` too, a method's request is built as its response is: one level
    /// deep, then as far as the request's JSON turns out to need (`Schema::expand_request`).
    pub fn build(
        &self,
        roots: Option<&[String]>,
        shallow: Option<&HashSet<String>>,
        lazy_request: bool,
    ) -> (Vec<u8>, Vec<Unresolved>) {
        let (only, starts) = self.starts(roots);
        let full: Vec<_> = match roots {
            Some(_) => starts.iter().map(|&(at, _)| (at, Depth::Full)).collect(),
            None => self
                .index
                .values()
                .map(|at| (at.get(), Depth::Full))
                .collect(),
        };
        let mut memo = HashMap::new();
        let none = HashSet::new();
        // Whole, unless that reaches past the size a shallow build cuts at (found out without
        // walking the rest).
        let limit = shallow.map(|_| SHALLOW_FROM);
        let mut reached = self.reach(full, &only, (&none, false), &mut memo, limit);
        if let (Some(expanded), true) = (shallow, reached.cut) {
            let expanded = expanded.iter().filter_map(|n| self.locate(n)).collect();
            let lazy = (&expanded, lazy_request);
            reached = self.reach(starts, &only, lazy, &mut memo, None);
        }
        let Reached {
            depths,
            missing,
            extra,
            ..
        } = reached;
        let mut set = Vec::new();
        for f in self.needed_files(&depths, &extra) {
            let bytes = self.encode_file(f, roots.is_some(), &only, &depths, &extra);
            prost::encoding::bytes::encode(1, &bytes, &mut set);
        }
        (set, missing)
    }

    /// What the roots ask for: services of which only some methods are wanted, and where the
    /// walk starts, each at its depth.
    #[allow(clippy::type_complexity)]
    fn starts(
        &self,
        roots: Option<&[String]>,
    ) -> (
        HashMap<(usize, usize), HashSet<String>>,
        Vec<((usize, usize), Depth)>,
    ) {
        // A root naming a method keeps its service with only the methods so named (a call needs
        // no other); a root naming the service keeps it whole.
        let mut only: HashMap<(usize, usize), HashSet<String>> = HashMap::new();
        let mut whole: HashSet<(usize, usize)> = HashSet::new();
        let mut starts = Vec::new();
        for root in roots.into_iter().flatten() {
            let Some((f, e)) = self.locate(root) else {
                continue;
            };
            let mut depth = Depth::Shallow;
            if self.files[f].entries[e].tag == SERVICE {
                match root.strip_prefix(&format!("{}.", self.full_name(f, e))) {
                    Some(method) if !method.contains('.') => {
                        only.entry((f, e)).or_default().insert(method.to_string());
                    }
                    _ => {
                        whole.insert((f, e));
                        depth = Depth::Stub;
                    }
                }
            }
            starts.push(((f, e), depth));
        }
        only.retain(|k, _| !whole.contains(k));
        (only, starts)
    }

    /// The files with something kept, and every file they import (a pool needs them all), in
    /// the set's order.
    fn needed_files(
        &self,
        depths: &HashMap<(usize, usize), Depth>,
        extra: &HashMap<usize, Vec<String>>,
    ) -> Vec<usize> {
        let mut needed: Vec<usize> = depths.keys().map(|&(f, _)| f).collect();
        let mut seen: HashSet<usize> = needed.iter().copied().collect();
        while let Some(f) = needed.pop() {
            let imports = self.files[f]
                .deps
                .iter()
                .chain(extra.get(&f).into_iter().flatten());
            for dep in imports {
                if let Some(&d) = self.by_name.get(dep) {
                    if seen.insert(d) {
                        needed.push(d);
                    }
                }
            }
        }
        let mut order: Vec<usize> = seen.into_iter().collect();
        order.sort_unstable();
        order
    }

    /// File `f` as kept: the definitions reached (stubs where a name is all that is needed),
    /// the wanted methods of its services, no comments.
    fn encode_file(
        &self,
        f: usize,
        roots_given: bool,
        only: &HashMap<(usize, usize), HashSet<String>>,
        depths: &HashMap<(usize, usize), Depth>,
        extra: &HashMap<usize, Vec<String>>,
    ) -> Vec<u8> {
        let file = &self.files[f];
        // The well-known files stay whole: they are small, and what a call's pool lacks of
        // them is later added from elsewhere (`google.rpc.Status` details need `Any`), which
        // a cut copy of the same file name would refuse.
        let whole_file = file.name.starts_with("google/protobuf/");
        let raw = file.bytes.raw();
        let mut bytes = Vec::with_capacity(raw.len());
        for (i, entry) in file.entries.iter().enumerate() {
            let definition = !whole_file
                && (matches!(entry.tag, MESSAGE | ENUM | SERVICE)
                    || (entry.tag == EXTENSION && roots_given));
            let value = &raw[entry.value()];
            // Comments: rpcsh shows none, and their paths would point at other definitions
            // once some are cut.
            if entry.tag == SOURCE_CODE_INFO {
                continue;
            }
            // A file's options (java_package and the like) are for code generators; a
            // one-shot build leaves them out (a tenth of a Google Ads call's build went on
            // them). Editions' features stay: they change what fields mean.
            if entry.tag == OPTIONS && roots_given && !whole_file && !has_features(value) {
                continue;
            }
            if let Some(methods) = only.get(&(f, i)) {
                // Re-encoded with only its wanted methods (their custom options are lost,
                // which a call does not read).
                if let Ok(mut service) = prost_types::ServiceDescriptorProto::decode(value) {
                    service.method.retain(|m| methods.contains(m.name()));
                    prost::encoding::message::encode(SERVICE, &service, &mut bytes);
                }
            } else if definition
                && entry.tag == MESSAGE
                && depths.get(&(f, i)) == Some(&Depth::Stub)
            {
                if let Ok(m) = prost_types::DescriptorProto::decode(value) {
                    prost::encoding::message::encode(MESSAGE, &stub(&m), &mut bytes);
                }
            } else if !definition || depths.contains_key(&(f, i)) {
                bytes.extend_from_slice(&raw[entry.field()]);
            }
        }
        // Appended last: the indexes of public and weak imports still hold.
        for dep in extra.get(&f).into_iter().flatten() {
            prost::encoding::string::encode(DEPENDENCY, dep, &mut bytes);
        }
        bytes
    }

    /// The names a top-level definition uses, each with the scope it is written in and what it
    /// is to its user; and the full names nested in it.
    fn uses(
        &self,
        (f, e): (usize, usize),
        only: &HashMap<(usize, usize), HashSet<String>>,
    ) -> Uses {
        let file = &self.files[f];
        let entry = &file.entries[e];
        let raw = file.bytes.raw();
        let value = &raw[entry.value()];
        let mut used = Vec::new();
        let mut nested = HashSet::new();
        match entry.tag {
            MESSAGE => {
                if let Ok(m) = prost_types::DescriptorProto::decode(value) {
                    let mut names = Vec::new();
                    message_names(&file.package, &m, &mut names, &mut nested);
                    used.extend(names.into_iter().map(|(s, n)| (s, n, Side::Field)));
                }
            }
            SERVICE => {
                if let Ok(s) = prost_types::ServiceDescriptorProto::decode(value) {
                    let scope = join(&file.package, s.name());
                    let wanted = only.get(&(f, e));
                    let methods = s
                        .method
                        .iter()
                        .filter(|m| wanted.is_none_or(|w| w.contains(m.name())));
                    for m in methods {
                        if let Some(n) = &m.input_type {
                            used.push((scope.clone(), n.clone(), Side::Request));
                        }
                        if let Some(n) = &m.output_type {
                            used.push((scope.clone(), n.clone(), Side::Field));
                        }
                    }
                }
            }
            _ => {}
        }
        Uses { used, nested }
    }

    /// Where a name used in `scope` of definition `(f, e)` points: protobuf's scoping without
    /// decoding every message — a top-level definition by its exact name, or a type nested in
    /// this message, or one nested in another message, never the enclosing message itself
    /// (`types.v1.Author` written in `acme.library.v2.Book` is not nested in Book).
    fn resolve(
        &self,
        scope: &str,
        options: &[String],
        nested: &HashSet<String>,
        (f, e): (usize, usize),
    ) -> Option<(usize, usize)> {
        options
            .iter()
            .find_map(|c| self.index.get(c.as_str()).map(|at| at.get()))
            .or_else(|| options.iter().any(|c| nested.contains(c)).then_some((f, e)))
            .or_else(|| {
                options.iter().find_map(|c| {
                    let found = self.locate(c)?;
                    let outer = self.full_name(found.0, found.1);
                    let enclosing = scope == outer || scope.starts_with(&format!("{outer}."));
                    (!enclosing).then_some(found)
                })
            })
    }

    /// What `work` reaches, each definition at the greatest depth it is reached at.
    fn reach(
        &self,
        mut work: Vec<((usize, usize), Depth)>,
        only: &HashMap<(usize, usize), HashSet<String>>,
        (expanded, lazy_request): (&HashSet<(usize, usize)>, bool),
        memo: &mut HashMap<(usize, usize), Uses>,
        limit: Option<usize>,
    ) -> Reached {
        let mut depths: HashMap<(usize, usize), Depth> = HashMap::new();
        let mut missing = Vec::new();
        let mut extra: HashMap<usize, Vec<String>> = HashMap::new();
        let mut messages = 0;
        while let Some(((f, e), depth)) = work.pop() {
            if depths.get(&(f, e)).is_some_and(|d| *d >= depth) {
                continue;
            }
            let tag = self.files[f].entries[e].tag;
            if depths.insert((f, e), depth).is_none() && tag == MESSAGE {
                messages += 1;
                if limit.is_some_and(|limit| messages > limit) {
                    return Reached {
                        depths,
                        missing,
                        extra,
                        cut: true,
                    };
                }
            }
            // A stub uses nothing; a service named as a stub keeps its methods' types as stubs.
            if depth == Depth::Stub && tag != SERVICE {
                continue;
            }
            let uses = memo
                .entry((f, e))
                .or_insert_with(|| self.uses((f, e), only));
            let file = &self.files[f];
            for (scope, name, side) in &uses.used {
                let options = candidates(scope, name);
                let found = self.resolve(scope, &options, &uses.nested, (f, e));
                let Some(found) = found else {
                    missing.push((file.name.clone(), name.clone(), options));
                    continue;
                };
                let provider = &self.files[found.0].name;
                if found.0 != f && !file.deps.contains(provider) {
                    let added = extra.entry(f).or_default();
                    if !added.contains(provider) {
                        added.push(provider.clone());
                    }
                }
                let child = match (depth, side) {
                    (Depth::Shallow, Side::Request) if lazy_request => Depth::Shallow,
                    (Depth::Full, _) | (Depth::Shallow, Side::Request) => Depth::Full,
                    (Depth::Shallow, _) if expanded.contains(&found) => Depth::Shallow,
                    _ => Depth::Stub,
                };
                work.push((found, child));
            }
        }
        Reached {
            depths,
            missing,
            extra,
            cut: false,
        }
    }
}

/// Past this many messages in a closure, a shallow build cuts it short.
const SHALLOW_FROM: usize = 256;

/// Whether encoded FileOptions set editions' `features` (field 50).
fn has_features(options: &[u8]) -> bool {
    let mut rest = options;
    while !rest.is_empty() {
        let Ok(key) = prost::encoding::decode_varint(&mut rest) else {
            return true;
        };
        if key >> 3 == 50 {
            return true;
        }
        let wire = prost::encoding::WireType::try_from(key & 7);
        let Ok(wire) = wire else { return true };
        if prost::encoding::skip_field(wire, (key >> 3) as u32, &mut rest, Default::default())
            .is_err()
        {
            return true;
        }
    }
    false
}

/// How much of a definition a pool gets.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Depth {
    /// A message's name, nested names and enums; a service's methods with their types as stubs.
    Stub,
    /// Whole, with the messages it uses as stubs; a service's requests whole, responses shallow.
    Shallow,
    /// Whole, with everything it uses.
    Full,
}

/// What a name is to the definition using it.
#[derive(Clone, Copy)]
enum Side {
    Request,
    Field,
}

struct Uses {
    used: Vec<(String, String, Side)>,
    nested: HashSet<String>,
}

struct Reached {
    depths: HashMap<(usize, usize), Depth>,
    missing: Vec<Unresolved>,
    extra: HashMap<usize, Vec<String>>,
    /// The walk stopped at its limit.
    cut: bool,
}

/// A message without its fields: its name, its nested messages as stubs (map entries go with
/// the fields that use them) and its enums.
fn stub(m: &prost_types::DescriptorProto) -> prost_types::DescriptorProto {
    let map_entry =
        |n: &prost_types::DescriptorProto| n.options.as_ref().is_some_and(|o| o.map_entry());
    prost_types::DescriptorProto {
        name: m.name.clone(),
        nested_type: m
            .nested_type
            .iter()
            .filter(|n| !map_entry(n))
            .map(stub)
            .collect(),
        enum_type: m.enum_type.clone(),
        ..Default::default()
    }
}

/// The type names a message uses (field types, extendees), nested messages included, each with
/// the scope it is written in; and the full names of its nested messages and enums.
fn message_names(
    scope: &str,
    m: &prost_types::DescriptorProto,
    out: &mut Vec<(String, String)>,
    nested: &mut HashSet<String>,
) {
    let name = join(scope, m.name());
    for f in m.field.iter().chain(&m.extension) {
        for n in f.type_name.iter().chain(&f.extendee) {
            out.push((name.clone(), n.clone()));
        }
    }
    for e in &m.enum_type {
        nested.insert(join(&name, e.name()));
    }
    for inner in &m.nested_type {
        nested.insert(join(&name, inner.name()));
        message_names(&name, inner, out, nested);
    }
}

#[cfg(test)]
#[path = "prune_tests.rs"]
mod tests;
