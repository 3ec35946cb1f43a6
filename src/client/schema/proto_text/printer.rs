//! One file's descriptor printed as `.proto` text: the file, services, messages with their
//! fields, oneofs, maps, groups and nested types in descriptor order, enums, extensions and
//! reserved ranges, each with the comments its source-code-info path carries.
mod options;

use options::has_unknown;

use super::super::editions::{int, message_field, messages, text};
use super::super::join;
use super::literal::*;
use super::{Set, Symbols};
use anyhow::{anyhow, bail};
use prost_reflect::DynamicMessage;
use std::collections::{HashMap, HashSet};

const FILE_MESSAGE: i32 = 4;
const FILE_ENUM: i32 = 5;
const FILE_SERVICE: i32 = 6;
const FILE_EXTENSION: i32 = 7;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED: i32 = 3;
const MESSAGE_ENUM: i32 = 4;
const MESSAGE_EXTENSION: i32 = 6;
const MESSAGE_ONEOF: i32 = 8;
const ENUM_VALUE: i32 = 2;
const SERVICE_METHOD: i32 = 2;

const LABEL_REQUIRED: i32 = 2;
const LABEL_REPEATED: i32 = 3;
const TYPE_GROUP: i32 = 10;
const TYPE_MESSAGE: i32 = 11;
const TYPE_ENUM: i32 = 14;

#[derive(Clone, Copy, PartialEq)]
enum Syntax {
    Proto2,
    Proto3,
    Edition(&'static str),
}

/// What a message (or the file) holds that fields and nested types interleave with.
struct Scope<'m> {
    message: Option<&'m DynamicMessage>,
    full: String,
    path: Vec<i32>,
    nested: Vec<&'m DynamicMessage>,
    nested_tag: i32,
    extension_tag: i32,
}

/// A field or an extension, in the order they are printed.
#[derive(Clone, Copy, PartialEq)]
enum Item {
    Field(usize),
    Extension(usize),
    Nested(usize),
}

/// The order a message's members are printed in: fields and extensions in their order, each
/// nested type where protoc put it — a map's entry or a group's type with its field, the
/// others before the next member.
fn order(
    fields: usize,
    extensions: usize,
    nested: usize,
    attached: &HashMap<usize, Item>,
) -> Vec<Item> {
    let mut items = Vec::new();
    let (mut f, mut e, mut n) = (0, 0, 0);
    loop {
        match attached.get(&n) {
            _ if n >= nested => {}
            None => {
                items.push(Item::Nested(n));
                n += 1;
                continue;
            }
            Some(member) if items.contains(member) => {
                n += 1;
                continue;
            }
            Some(_) => {}
        }
        if f < fields {
            items.push(Item::Field(f));
            f += 1;
        } else if e < extensions {
            items.push(Item::Extension(e));
            e += 1;
        } else if n < nested {
            n += 1;
        } else {
            break;
        }
    }
    items
}

pub(super) struct SourceWriter<'a> {
    pub(super) out: String,
    pub(super) file_name: String,
    file_index: usize,
    symbols: &'a Symbols,
    set: &'a Set,
    package: String,
    syntax: Syntax,
    comments: HashMap<Vec<i32>, &'a DynamicMessage>,
    /// Files defining names this one uses (grpc-js sends files without their imports).
    uses: HashSet<usize>,
    pub(super) dropped: Vec<String>,
}

impl<'a> SourceWriter<'a> {
    pub(super) fn new(
        file: &'a DynamicMessage,
        index: usize,
        symbols: &'a Symbols,
        set: &'a Set,
    ) -> Self {
        let mut comments = HashMap::new();
        if let Some(info) = message_field(file, "source_code_info") {
            for location in messages(info, "location") {
                comments.insert(ints(location, "path"), location);
            }
        }
        SourceWriter {
            out: String::new(),
            file_name: text(file, "name"),
            file_index: index,
            symbols,
            set,
            package: text(file, "package"),
            syntax: Syntax::Proto2,
            comments,
            uses: HashSet::new(),
            dropped: Vec::new(),
        }
    }

    pub(super) fn file(&mut self, file: &'a DynamicMessage) -> anyhow::Result<()> {
        self.syntax = match text(file, "syntax").as_str() {
            "" | "proto2" => Syntax::Proto2,
            "proto3" => Syntax::Proto3,
            "editions" => match int(file, "edition") {
                1000 => Syntax::Edition("2023"),
                1001 => Syntax::Edition("2024"),
                other => bail!("edition {other} is not supported (2023 and 2024 are)"),
            },
            other => bail!("unknown syntax {:?}", other.escape_debug().to_string()),
        };
        let package = text(file, "package");
        dotted(&package)?;
        let mut body = std::mem::take(&mut self.out);
        let pkg = [package.as_str(), package.as_str()];
        let options = self.options(file, "options", &pkg, &[])?;
        for (name, value) in options {
            self.statement(0, &[8], &format!("option {name} = {value};"));
        }
        let services: Vec<_> = messages(file, "service").collect();
        for (i, service) in services.into_iter().enumerate() {
            self.blank();
            self.service(service, &package, i as i32)?;
        }
        let scope = Scope {
            message: None,
            full: package.clone(),
            path: Vec::new(),
            nested: messages(file, "message_type").collect(),
            nested_tag: FILE_MESSAGE,
            extension_tag: FILE_EXTENSION,
        };
        let extensions: Vec<_> = messages(file, "extension").collect();
        self.members(&[], &extensions, &scope, 0, true)?;
        for (i, e) in messages(file, "enum_type").enumerate() {
            self.blank();
            self.enumeration(e, &package, &[FILE_ENUM, i as i32], 0)?;
        }
        // The head last: it lists the imports the body turned out to need.
        std::mem::swap(&mut self.out, &mut body);
        match self.syntax {
            Syntax::Edition(edition) => {
                self.statement(0, &[14], &format!("edition = \"{edition}\";"))
            }
            Syntax::Proto3 => self.statement(0, &[12], "syntax = \"proto3\";"),
            Syntax::Proto2 => self.statement(0, &[12], "syntax = \"proto2\";"),
        }
        if !package.is_empty() {
            self.blank();
            self.statement(0, &[2], &format!("package {package};"));
        }
        self.imports(file);
        if !body.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(&body);
        if has_unknown(file) && self.dropped.is_empty() {
            let name = &self.file_name;
            self.dropped
                .push(format!("{name}: descriptor fields rpcsh does not know"));
        }
        Ok(())
    }

    /// The file's imports, with `public` and `weak` as written, and those the body needs that
    /// the file does not name.
    fn imports(&mut self, file: &DynamicMessage) {
        let imports: Vec<String> = strings(file, "dependency");
        let public = ints(file, "public_dependency");
        let weak = ints(file, "weak_dependency");
        let added = self.missing_imports(&imports);
        if !imports.is_empty() || !added.is_empty() {
            self.blank();
        }
        for (i, import) in imports.iter().enumerate() {
            let kind = if public.contains(&(i as i32)) {
                "public "
            } else if weak.contains(&(i as i32)) {
                "weak "
            } else {
                ""
            };
            let line = format!("import {kind}{};", quote(import.as_bytes(), true));
            self.statement(0, &[3, i as i32], &line);
        }
        for import in added {
            self.line(0, &format!("import {};", quote(import.as_bytes(), true)));
        }
    }

    /// The files that define names this one uses and that its imports (and theirs made
    /// public) do not reach: grpc-js sends files with no imports.
    fn missing_imports(&self, imports: &[String]) -> Vec<String> {
        let mut visible = HashSet::new();
        let mut todo: Vec<String> = imports.to_vec();
        while let Some(name) = todo.pop() {
            if !visible.insert(name.clone()) {
                continue;
            }
            if let Some(&index) = self.set.by_name.get(&name) {
                let file = &self.set.files[index];
                let deps = strings(file, "dependency");
                for i in ints(file, "public_dependency") {
                    if let Some(dep) = deps.get(i as usize) {
                        todo.push(dep.clone());
                    }
                }
            }
        }
        let mut uses: Vec<usize> = self.uses.iter().copied().collect();
        uses.sort_unstable();
        uses.into_iter()
            .filter(|&i| i != self.file_index && i < self.set.files.len())
            .map(|i| text(&self.set.files[i], "name"))
            .filter(|name| !visible.contains(name))
            .collect()
    }

    fn service(&mut self, s: &'a DynamicMessage, package: &str, i: i32) -> anyhow::Result<()> {
        let name = ident(&text(s, "name"))?;
        let full = join(package, &name);
        let path = [FILE_SERVICE, i];
        self.open(0, &path, &format!("service {name}"));
        let scopes = [full.as_str(), package];
        for (n, v) in self.options(s, "options", &scopes, &[])? {
            self.statement(1, &[FILE_SERVICE, i, 3], &format!("option {n} = {v};"));
        }
        for (k, m) in messages(s, "method").enumerate() {
            let method = ident(&text(m, "name"))?;
            let stream = |field: &str| {
                if m.get_field_by_name(field).and_then(|v| v.as_bool()) == Some(true) {
                    "stream "
                } else {
                    ""
                }
            };
            let (client, server) = (stream("client_streaming"), stream("server_streaming"));
            let input = self.type_name(&text(m, "input_type"), &[&full])?;
            let output = self.type_name(&text(m, "output_type"), &[&full])?;
            let path = [FILE_SERVICE, i, SERVICE_METHOD, k as i32];
            let head = format!("rpc {method}({client}{input}) returns ({server}{output})");
            let method_full = join(&full, &method);
            let options = self.options(m, "options", &[&method_full, &full], &[])?;
            if options.is_empty() {
                self.statement(1, &path, &format!("{head};"));
            } else {
                self.open(1, &path, &head);
                for (n, v) in options {
                    self.line(2, &format!("option {n} = {v};"));
                }
                self.line(1, "}");
            }
        }
        self.line(0, "}");
        Ok(())
    }

    /// A message's fields (oneofs where their first field is, maps and groups with their
    /// entries), nested messages in their order among those, and extensions grouped by what they
    /// extend; at the top level, the file's messages and extensions.
    fn members(
        &mut self,
        fields: &[&'a DynamicMessage],
        extensions: &[&'a DynamicMessage],
        scope: &Scope<'a>,
        depth: usize,
        top: bool,
    ) -> anyhow::Result<()> {
        let attached = self.attached(fields, extensions, scope);
        let items = order(
            fields.len(),
            extensions.len(),
            scope.nested.len(),
            &attached,
        );
        let synthetic = synthetic_oneofs(fields);
        let mut oneofs_done = HashSet::new();
        let mut i = 0;
        while i < items.len() {
            match items[i] {
                Item::Nested(n) => {
                    if top {
                        self.blank();
                    }
                    let mut path = scope.path.clone();
                    path.extend([scope.nested_tag, n as i32]);
                    self.message(scope.nested[n], &scope.full, &path, depth)?;
                }
                Item::Field(k) => {
                    let field = fields[k];
                    let oneof = field
                        .has_field_by_name("oneof_index")
                        .then(|| int(field, "oneof_index"))
                        .filter(|o| !synthetic.contains(o));
                    let mut path = scope.path.clone();
                    path.extend([MESSAGE_FIELD, k as i32]);
                    match oneof {
                        None => {
                            self.field(field, &path, scope, depth, false, &attached, items[i])?
                        }
                        Some(o) if oneofs_done.insert(o) => {
                            self.oneof(fields, o, scope, depth, &attached)?
                        }
                        Some(_) => {}
                    }
                }
                Item::Extension(_) => {
                    if top {
                        self.blank();
                    }
                    i = self.extend_block(&items, i, extensions, scope, depth, &attached)?;
                    continue;
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// An `extend` block of the extensions from `items[i]` on that extend the same message;
    /// the index of the item after them.
    fn extend_block(
        &mut self,
        items: &[Item],
        mut i: usize,
        extensions: &[&'a DynamicMessage],
        scope: &Scope<'a>,
        depth: usize,
        attached: &HashMap<usize, Item>,
    ) -> anyhow::Result<usize> {
        let Some(&Item::Extension(first)) = items.get(i) else {
            return Ok(i + 1);
        };
        let extendee = text(extensions[first], "extendee");
        let mut path = scope.path.clone();
        path.push(scope.extension_tag);
        let scopes = [scope.full.as_str()];
        let target = self.type_name(&extendee, &scopes)?;
        self.line(depth, &format!("extend {target} {{"));
        while let Some(&Item::Extension(k)) = items.get(i) {
            if text(extensions[k], "extendee") != extendee {
                break;
            }
            let mut field_path = path.clone();
            field_path.push(k as i32);
            let item = items[i];
            self.field(
                extensions[k],
                &field_path,
                scope,
                depth + 1,
                false,
                attached,
                item,
            )?;
            i += 1;
        }
        self.line(depth, "}");
        Ok(i)
    }

    /// The nested types that maps and groups stand for, each to its field.
    fn attached(
        &self,
        fields: &[&DynamicMessage],
        extensions: &[&DynamicMessage],
        scope: &Scope,
    ) -> HashMap<usize, Item> {
        let mut attached = HashMap::new();
        let members = fields
            .iter()
            .enumerate()
            .map(|(k, f)| (Item::Field(k), *f))
            .chain(
                extensions
                    .iter()
                    .enumerate()
                    .map(|(k, f)| (Item::Extension(k), *f)),
            );
        for (item, field) in members {
            let ty = int(field, "type");
            let group = ty == TYPE_GROUP && self.syntax == Syntax::Proto2;
            let map = ty == TYPE_MESSAGE && int(field, "label") == LABEL_REPEATED;
            if !group && !map {
                continue;
            }
            let type_name = self.full_type(&text(field, "type_name"), &scope.full);
            let found = scope.nested.iter().position(|m| {
                type_name == join(&scope.full, &text(m, "name")) && (group || is_map_entry(m))
            });
            if let Some(n) = found {
                attached.entry(n).or_insert(item);
            }
        }
        attached
    }

    fn oneof(
        &mut self,
        fields: &[&'a DynamicMessage],
        index: i32,
        scope: &Scope<'a>,
        depth: usize,
        attached: &HashMap<usize, Item>,
    ) -> anyhow::Result<()> {
        let message = scope
            .message
            .ok_or_else(|| anyhow!("a file-level field is in a oneof"))?;
        let decl = messages(message, "oneof_decl")
            .nth(index as usize)
            .ok_or_else(|| anyhow!("a field names oneof {index}, which is not there"))?;
        let name = ident(&text(decl, "name"))?;
        let mut path = scope.path.clone();
        path.extend([MESSAGE_ONEOF, index]);
        self.open(depth, &path, &format!("oneof {name}"));
        let full = join(&scope.full, &name);
        let mut option_path = path.clone();
        option_path.push(2);
        for (n, v) in self.options(decl, "options", &[&full, &scope.full], &[])? {
            self.statement(depth + 1, &option_path, &format!("option {n} = {v};"));
        }
        for (k, field) in fields.iter().enumerate() {
            if field.has_field_by_name("oneof_index") && int(field, "oneof_index") == index {
                let mut path = scope.path.clone();
                path.extend([MESSAGE_FIELD, k as i32]);
                self.field(
                    field,
                    &path,
                    scope,
                    depth + 1,
                    true,
                    attached,
                    Item::Field(k),
                )?;
            }
        }
        self.line(depth, "}");
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn field(
        &mut self,
        field: &'a DynamicMessage,
        path: &[i32],
        scope: &Scope<'a>,
        depth: usize,
        in_oneof: bool,
        attached: &HashMap<usize, Item>,
        item: Item,
    ) -> anyhow::Result<()> {
        let name = ident(&text(field, "name"))?;
        let number = int(field, "number");
        let ty = int(field, "type");
        let label = self.label(field, &name, in_oneof)?;
        let entry = attached
            .iter()
            .find(|(_, owner)| **owner == item)
            .map(|(&n, _)| scope.nested[n]);
        let is_extension = matches!(item, Item::Extension(_));
        let full = join(&scope.full, &name);
        let mut options = Vec::new();
        if field.has_field_by_name("default_value") {
            options.push(("default".to_string(), default_value(field)?));
        }
        if field.has_field_by_name("json_name") && !is_extension {
            let json = text(field, "json_name");
            if json != json_name(&name) {
                options.push(("json_name".into(), quote(json.as_bytes(), true)));
            }
        }
        options.extend(self.options(field, "options", &[&full, &scope.full], &[])?);
        let options = bracketed(&options);
        match entry {
            Some(group) if ty == TYPE_GROUP => {
                let group_name = ident(&text(group, "name"))?;
                if group_name.to_lowercase() != name {
                    bail!("group {group_name} has the field name {name}, not its lowercase");
                }
                let n = scope
                    .nested
                    .iter()
                    .position(|m| std::ptr::eq(*m, group))
                    .unwrap_or(0);
                let mut group_path = scope.path.clone();
                group_path.extend([scope.nested_tag, n as i32]);
                let head = format!("{label}group {group_name} = {number}{options}");
                self.open(depth, path, &head);
                let group_full = join(&scope.full, &group_name);
                self.body(group, &group_full, &group_path, depth + 1)?;
                self.line(depth, "}");
            }
            Some(entry) => {
                let (key, value) = self.map_types(entry, &scope.full)?;
                let line = format!("map<{key}, {value}> {name} = {number}{options};");
                self.statement(depth, path, &line);
            }
            None if ty == TYPE_GROUP && self.syntax == Syntax::Proto2 => {
                bail!("group {name} has no message of its own")
            }
            None => {
                let ty = self.field_type(field, &[&scope.full])?;
                self.statement(
                    depth,
                    path,
                    &format!("{label}{ty} {name} = {number}{options};"),
                );
            }
        }
        Ok(())
    }

    /// A field's label as the file's syntax writes it (none in a oneof, `optional` of proto3
    /// only where it was written).
    fn label(
        &self,
        field: &DynamicMessage,
        name: &str,
        in_oneof: bool,
    ) -> anyhow::Result<&'static str> {
        let label = int(field, "label");
        let optional = field
            .get_field_by_name("proto3_optional")
            .and_then(|v| v.as_bool());
        Ok(match (self.syntax, in_oneof) {
            (_, true) => "",
            (Syntax::Proto2, _) => match label {
                LABEL_REQUIRED => "required ",
                LABEL_REPEATED => "repeated ",
                _ => "optional ",
            },
            (_, _) if label == LABEL_REPEATED => "repeated ",
            (_, _) if label == LABEL_REQUIRED => {
                bail!("{name} is required, which only proto2 says so")
            }
            (Syntax::Proto3, _) if optional == Some(true) => "optional ",
            _ => "",
        })
    }

    fn map_types(
        &mut self,
        entry: &DynamicMessage,
        parent: &str,
    ) -> anyhow::Result<(String, String)> {
        let fields: Vec<_> = messages(entry, "field").collect();
        let [key, value] = fields.as_slice() else {
            bail!("map entry {} does not have two fields", text(entry, "name"));
        };
        let entry_full = join(parent, &ident(&text(entry, "name"))?);
        let extra = message_field(entry, "options").is_some_and(|o| o.fields().count() > 1);
        if extra
            || [key, value]
                .iter()
                .any(|f| message_field(f, "options").is_some())
        {
            self.dropped.push(format!(
                "{}: options of map entry {entry_full} (a map field cannot carry them)",
                self.file_name
            ));
        }
        Ok((
            self.field_type(key, &[&entry_full])?,
            self.field_type(value, &[&entry_full])?,
        ))
    }

    fn field_type(&mut self, field: &DynamicMessage, scopes: &[&str]) -> anyhow::Result<String> {
        let scalar = match int(field, "type") {
            1 => "double",
            2 => "float",
            3 => "int64",
            4 => "uint64",
            5 => "int32",
            6 => "fixed64",
            7 => "fixed32",
            8 => "bool",
            TYPE_STRING => "string",
            TYPE_BYTES => "bytes",
            13 => "uint32",
            15 => "sfixed32",
            16 => "sfixed64",
            17 => "sint32",
            18 => "sint64",
            0 | TYPE_GROUP | TYPE_MESSAGE | TYPE_ENUM => {
                return self.type_name(&text(field, "type_name"), scopes)
            }
            other => bail!("field type {other} is not one protobuf has"),
        };
        Ok(scalar.to_string())
    }

    /// A name as written in the descriptor (`.pkg.Msg`, or relative where nothing resolved
    /// it) as short as it reads back.
    fn type_name(&mut self, name: &str, scopes: &[&str]) -> anyhow::Result<String> {
        if !name.starts_with('.') && self.symbols.resolve(name, scopes[0]).is_none() {
            dotted(name)?;
            return Ok(name.to_string());
        }
        let full = &self.full_type(name, scopes[0]);
        dotted(full)?;
        if let Some(file) = self.symbols.file_of(full) {
            self.uses.insert(file);
        }
        Ok(self.symbols.name(full, scopes, &self.package))
    }

    /// A type name as written in a descriptor, full: grpc-js writes them as the source did,
    /// relative to the scope, which protoc resolves.
    fn full_type(&self, name: &str, scope: &str) -> String {
        match name.strip_prefix('.') {
            Some(full) => full.to_string(),
            None => self
                .symbols
                .resolve(name, scope)
                .unwrap_or_else(|| name.to_string()),
        }
    }

    fn message(
        &mut self,
        m: &'a DynamicMessage,
        scope: &str,
        path: &[i32],
        depth: usize,
    ) -> anyhow::Result<()> {
        let name = ident(&text(m, "name"))?;
        self.open(depth, path, &format!("message {name}"));
        self.body(m, &join(scope, &name), path, depth + 1)?;
        self.line(depth, "}");
        Ok(())
    }

    fn body(
        &mut self,
        m: &'a DynamicMessage,
        full: &str,
        path: &[i32],
        depth: usize,
    ) -> anyhow::Result<()> {
        let parent = full.rsplit_once('.').map_or("", |(p, _)| p);
        let mut option_path = path.to_vec();
        option_path.push(7);
        for (n, v) in self.options(m, "options", &[full, parent], &["map_entry"])? {
            self.statement(depth, &option_path, &format!("option {n} = {v};"));
        }
        let fields: Vec<_> = messages(m, "field").collect();
        let extensions: Vec<_> = messages(m, "extension").collect();
        let scope = Scope {
            message: Some(m),
            full: full.to_string(),
            path: path.to_vec(),
            nested: messages(m, "nested_type").collect(),
            nested_tag: MESSAGE_NESTED,
            extension_tag: MESSAGE_EXTENSION,
        };
        self.members(&fields, &extensions, &scope, depth, false)?;
        for (i, e) in messages(m, "enum_type").enumerate() {
            let mut enum_path = path.to_vec();
            enum_path.extend([MESSAGE_ENUM, i as i32]);
            self.enumeration(e, full, &enum_path, depth)?;
        }
        for (k, range) in messages(m, "extension_range").enumerate() {
            let (start, end) = (int(range, "start"), int(range, "end"));
            let options = self.options(range, "options", &[full, parent], &[])?;
            let mut range_path = path.to_vec();
            range_path.extend([5, k as i32]);
            let last = span(start, end - 1, max_number(m));
            let line = format!("extensions {last}{};", bracketed(&options));
            self.statement(depth, &range_path, &line);
        }
        self.reserved(m, path, depth, [9, 10], 1, max_number(m))
    }

    fn enumeration(
        &mut self,
        e: &'a DynamicMessage,
        scope: &str,
        path: &[i32],
        depth: usize,
    ) -> anyhow::Result<()> {
        let name = ident(&text(e, "name"))?;
        let full = join(scope, &name);
        self.open(depth, path, &format!("enum {name}"));
        let mut option_path = path.to_vec();
        option_path.push(3);
        for (n, v) in self.options(e, "options", &[&full, scope], &[])? {
            self.statement(depth + 1, &option_path, &format!("option {n} = {v};"));
        }
        for (k, value) in messages(e, "value").enumerate() {
            let value_name = ident(&text(value, "name"))?;
            let options = self.options(value, "options", &[&full, scope], &[])?;
            let mut value_path = path.to_vec();
            value_path.extend([ENUM_VALUE, k as i32]);
            let line = format!(
                "{value_name} = {}{};",
                int(value, "number"),
                bracketed(&options)
            );
            self.statement(depth + 1, &value_path, &line);
        }
        self.reserved(e, path, depth + 1, [4, 5], 0, i32::MAX)?;
        self.line(depth, "}");
        Ok(())
    }

    /// `reserved` ranges (their ends exclusive in messages, inclusive in enums) and names.
    fn reserved(
        &mut self,
        m: &DynamicMessage,
        path: &[i32],
        depth: usize,
        [ranges, names]: [i32; 2],
        exclusive: i32,
        max: i32,
    ) -> anyhow::Result<()> {
        let spans: Vec<String> = messages(m, "reserved_range")
            .map(|r| span(int(r, "start"), int(r, "end") - exclusive, max))
            .collect();
        if !spans.is_empty() {
            let mut range_path = path.to_vec();
            range_path.push(ranges);
            self.statement(
                depth,
                &range_path,
                &format!("reserved {};", spans.join(", ")),
            );
        }
        let listed = strings(m, "reserved_name");
        if !listed.is_empty() {
            let mut written = Vec::new();
            for name in &listed {
                written.push(match self.syntax {
                    Syntax::Edition("2024") => ident(name)?,
                    _ => quote(name.as_bytes(), true),
                });
            }
            let mut names_path = path.to_vec();
            names_path.push(names);
            self.statement(
                depth,
                &names_path,
                &format!("reserved {};", written.join(", ")),
            );
        }
        Ok(())
    }
}

fn is_map_entry(m: &DynamicMessage) -> bool {
    message_field(m, "options")
        .and_then(|o| o.get_field_by_name("map_entry"))
        .and_then(|v| v.as_bool())
        == Some(true)
}

/// The oneofs proto3 `optional` makes, one a field.
fn synthetic_oneofs(fields: &[&DynamicMessage]) -> HashSet<i32> {
    let mut all = HashMap::<i32, bool>::new();
    for f in fields {
        if f.has_field_by_name("oneof_index") {
            let optional = f
                .get_field_by_name("proto3_optional")
                .and_then(|v| v.as_bool());
            let synthetic = all.entry(int(f, "oneof_index")).or_insert(true);
            *synthetic &= optional == Some(true);
        }
    }
    all.into_iter()
        .filter(|(_, s)| *s)
        .map(|(o, _)| o)
        .collect()
}
