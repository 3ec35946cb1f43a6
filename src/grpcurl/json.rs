//! The JSON grpcurl 1.8 prints, byte for byte: jhump/protoreflect's dynamic-message writer
//! (fields by number, `json_name` only where the descriptor has one, Go's float and string
//! rules, `{\n  \n}` for an empty message) and, for the well-known types it hands over, golang
//! protobuf's jsonpb writer with its own indentation (which restarts at the left margin) and
//! its compact, key-sorted `Any`s.
use base64::Engine;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};
use std::collections::{BTreeMap, HashMap, HashSet};

const INDENT: &str = "  ";

/// The fields of each message type whose descriptor, as the schema's source sent it, carries
/// no `json_name`: grpcurl names them as the proto does (`point_count`), as a C++ server's
/// descriptors make it do.
#[derive(Default)]
pub struct JsonNames {
    unnamed: HashMap<String, HashSet<String>>,
}

impl JsonNames {
    /// Reads the files of `message` and of the messages it holds, as `raw` gives them by full
    /// name, once each.
    pub fn learn(&mut self, message: &MessageDescriptor, raw: &dyn Fn(&str) -> Option<Vec<u8>>) {
        let mut todo = vec![message.clone()];
        let mut seen = HashSet::new();
        while let Some(m) = todo.pop() {
            if !seen.insert(m.full_name().to_string()) {
                continue;
            }
            let file = m.parent_file();
            if !self.unnamed.contains_key(file.name()) {
                let names = raw(m.full_name())
                    .and_then(|b| {
                        <prost_types::FileDescriptorProto as prost::Message>::decode(b.as_slice())
                            .ok()
                    })
                    .map(|f| unnamed_fields(&f))
                    .unwrap_or_default();
                self.unnamed.insert(file.name().to_string(), names);
            }
            for field in m.fields() {
                if let Kind::Message(inner) = field.kind() {
                    todo.push(inner);
                }
            }
        }
    }

    fn name<'a>(&self, field: &'a FieldDescriptor) -> &'a str {
        let file = field.parent_message().parent_file();
        match self.unnamed.get(file.name()) {
            Some(set) if set.contains(field.full_name()) => field.name(),
            _ => field.json_name(),
        }
    }
}

/// Full names of the fields of `file` declared without `json_name`.
fn unnamed_fields(file: &prost_types::FileDescriptorProto) -> HashSet<String> {
    fn walk(scope: &str, m: &prost_types::DescriptorProto, out: &mut HashSet<String>) {
        let full = format!("{scope}{}", m.name());
        for f in &m.field {
            if f.json_name.is_none() {
                out.insert(format!("{full}.{}", f.name()));
            }
        }
        for n in &m.nested_type {
            walk(&format!("{full}."), n, out);
        }
    }
    let scope = match file.package() {
        "" => String::new(),
        p => format!("{p}."),
    };
    let mut out = HashSet::new();
    for m in &file.message_type {
        walk(&scope, m, &mut out);
    }
    out
}

/// `message` as grpcurl's JSON formatter prints it (without the newline after it).
pub fn message(message: &DynamicMessage, emit_defaults: bool, names: &JsonNames) -> String {
    let mut w = Dynamic {
        out: String::new(),
        depth: Some(0),
        emit_defaults,
        names,
    };
    w.message(message);
    w.out
}

/// `message` as jhump writes it compact (grpcurl 1.9 indents that again: `indent`).
pub fn compact(message: &DynamicMessage, emit_defaults: bool, names: &JsonNames) -> String {
    let mut w = Dynamic {
        out: String::new(),
        depth: None,
        emit_defaults,
        names,
    };
    w.message(message);
    w.out
}

/// Go's `json.Indent(dst, src, "", "  ")`: a line per member, empty objects and arrays kept
/// as `{}` and `[]`.
pub fn indent(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let (mut depth, mut need, mut in_string, mut escaped) = (0usize, false, false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(INDENT);
        }
    };
    for c in compact.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need && c != ']' && c != '}' {
            need = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                need = true;
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if need {
                    need = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// jhump's writer. `depth` is `None` for its compact form (an `Any`'s message).
struct Dynamic<'a> {
    out: String,
    depth: Option<usize>,
    emit_defaults: bool,
    names: &'a JsonNames,
}

impl Dynamic<'_> {
    fn newline(&mut self) {
        if let Some(depth) = self.depth {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str(INDENT);
            }
        }
    }

    fn start(&mut self, open: char) {
        self.out.push(open);
        if let Some(d) = &mut self.depth {
            *d += 1;
        }
        self.newline();
    }

    fn end(&mut self, close: char) {
        if let Some(d) = &mut self.depth {
            *d -= 1;
        }
        self.newline();
        self.out.push(close);
    }

    fn next(&mut self, first: &mut bool) {
        if !std::mem::take(first) {
            self.out.push(',');
            self.newline();
        }
    }

    fn sep(&mut self) {
        self.out
            .push_str(if self.depth.is_some() { ": " } else { ":" });
    }

    fn message(&mut self, m: &DynamicMessage) {
        if is_well_known(m.descriptor().full_name()) {
            // A generated message in grpcurl, printed by golang's jsonpb from the left margin,
            // its lines after the first then indented to where the value starts.
            let mut j = Jsonpb {
                out: String::new(),
                indented: self.depth.is_some(),
                emit_defaults: self.emit_defaults,
                names: self.names,
            };
            j.message(m, "");
            match self.depth {
                Some(depth) if depth > 0 => {
                    let pad = format!("\n{}", INDENT.repeat(depth));
                    self.out.push_str(&j.out.replace('\n', &pad));
                }
                _ => self.out.push_str(&j.out),
            }
            return;
        }
        self.start('{');
        let mut first = true;
        let mut fields: Vec<FieldDescriptor> = m.descriptor().fields().collect();
        fields.sort_by_key(|f| f.number());
        for field in fields {
            let value = if m.has_field(&field) {
                m.get_field(&field).into_owned()
            } else if self.emit_defaults && field.containing_oneof().is_none() {
                match field.kind() {
                    Kind::Message(_) if !field.is_list() && !field.is_map() => {
                        self.next(&mut first);
                        self.name(&field);
                        self.out.push_str("null");
                        continue;
                    }
                    _ => Value::default_value_for_field(&field),
                }
            } else {
                continue;
            };
            self.next(&mut first);
            self.name(&field);
            self.field(&field, &value);
        }
        self.end('}');
    }

    fn name(&mut self, field: &FieldDescriptor) {
        let name = self.names.name(field).to_string();
        go_string(&mut self.out, &name);
        self.sep();
    }

    fn field(&mut self, field: &FieldDescriptor, value: &Value) {
        match value {
            Value::Map(entries) => {
                let Kind::Message(entry) = field.kind() else {
                    return;
                };
                let value_field = entry.map_entry_value_field();
                self.start('{');
                let mut keys: Vec<&MapKey> = entries.keys().collect();
                keys.sort_by(|a, b| map_key_order(a, b));
                let mut first = true;
                for key in keys {
                    self.next(&mut first);
                    go_string(&mut self.out, &map_key_text(key));
                    self.sep();
                    self.value(&value_field, &entries[key]);
                }
                self.end('}');
            }
            Value::List(items) => {
                self.start('[');
                let mut first = true;
                for item in items {
                    self.next(&mut first);
                    self.value(field, item);
                }
                self.end(']');
            }
            v => self.value(field, v),
        }
    }

    fn value(&mut self, field: &FieldDescriptor, value: &Value) {
        match value {
            Value::Message(m) => self.message(m),
            Value::EnumNumber(n) => match field.kind() {
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(v) => go_string(&mut self.out, v.name()),
                    None => self.out.push_str(&n.to_string()),
                },
                _ => self.out.push_str(&n.to_string()),
            },
            v => scalar(&mut self.out, v, true),
        }
    }
}

/// A scalar as jhump writes it: 64-bit integers quoted, floats as Go's `%g`, bytes in base64.
fn scalar(out: &mut String, value: &Value, json: bool) {
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I32(n) => out.push_str(&n.to_string()),
        Value::U32(n) => out.push_str(&n.to_string()),
        Value::I64(n) => out.push_str(&format!("\"{n}\"")),
        Value::U64(n) => out.push_str(&format!("\"{n}\"")),
        Value::F32(f) => out.push_str(&float(*f as f64, Some(*f), json)),
        Value::F64(f) => out.push_str(&float(*f, None, json)),
        Value::String(s) => go_string(out, s),
        Value::Bytes(b) => go_string(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::EnumNumber(n) => out.push_str(&n.to_string()),
        Value::Message(_) | Value::List(_) | Value::Map(_) => {}
    }
}

/// A float as jhump writes it in JSON (`"NaN"`, `"Infinity"`) or text (`nan`, `inf`).
fn float(f: f64, single: Option<f32>, json: bool) -> String {
    if f.is_nan() {
        return if json { "\"NaN\"" } else { "nan" }.into();
    }
    if f.is_infinite() {
        let sign = if f < 0.0 { "-" } else { "" };
        return if json {
            format!("\"{sign}Infinity\"")
        } else {
            format!("{sign}inf")
        };
    }
    let scientific = match single {
        Some(s) => format!("{s:e}"),
        None => format!("{f:e}"),
    };
    go_g(&scientific)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, bits)` from Rust's shortest `{:e}` (`1.5e-7`).
pub fn go_g(scientific: &str) -> String {
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if negative { "-" } else { "" };
    if digits == "0" {
        return format!("{sign}0");
    }
    let n = digits.len() as i32;
    // Shortest formatting decides by a precision of 6, as Go does.
    if exp < -4 || exp >= 6 {
        let rest = &digits[1..];
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}e{esign}{:02}", &digits[..1], exp.abs());
    }
    // Fixed notation with as many decimals as the digits need.
    let point = exp + 1;
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{sign}{digits}{}", "0".repeat((point - n) as usize))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{sign}{a}.{b}")
    }
}

/// Go's `encoding/json` float: `'f'` unless tiny or huge, then `'e'` with a short exponent.
fn go_json_float(f: f64, single: Option<f32>) -> String {
    if f.is_nan() || f.is_infinite() {
        return float(f, single, true);
    }
    let abs = f.abs();
    let (small, large) = match single {
        Some(_) => (1e-6_f64, 1e21_f64),
        None => (1e-6, 1e21),
    };
    if abs != 0.0 && (abs < small || abs >= large) {
        let s = match single {
            Some(s) => format!("{s:e}"),
            None => format!("{f:e}"),
        };
        let g = go_g(&s);
        // Go trims "e-07" to "e-7".
        return g.replace("e-0", "e-").replace("e+0", "e+");
    }
    match single {
        Some(s) => format!("{s}"),
        None => format!("{f}"),
    }
}

/// A string as Go's `encoding/json` writes it, HTML characters escaped.
pub fn go_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn map_key_text(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn map_key_order(a: &MapKey, b: &MapKey) -> std::cmp::Ordering {
    match (a, b) {
        (MapKey::Bool(x), MapKey::Bool(y)) => x.cmp(y),
        (MapKey::I32(x), MapKey::I32(y)) => x.cmp(y),
        (MapKey::I64(x), MapKey::I64(y)) => x.cmp(y),
        (MapKey::U32(x), MapKey::U32(y)) => x.cmp(y),
        (MapKey::U64(x), MapKey::U64(y)) => x.cmp(y),
        (MapKey::String(x), MapKey::String(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    }
}

/// The types jhump hands to jsonpb (FieldMask is not among them: it prints as a message).
fn is_well_known(name: &str) -> bool {
    matches!(
        name,
        "google.protobuf.Any"
            | "google.protobuf.Empty"
            | "google.protobuf.Duration"
            | "google.protobuf.Timestamp"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}

/// golang/protobuf 1.5's jsonpb writer, for the well-known types (and what they hold).
struct Jsonpb<'a> {
    out: String,
    indented: bool,
    emit_defaults: bool,
    names: &'a JsonNames,
}

impl Jsonpb<'_> {
    fn message(&mut self, m: &DynamicMessage, indent: &str) {
        let desc = m.descriptor();
        let get = |n: u32| {
            desc.get_field(n)
                .map(|f| m.get_field(&f).into_owned())
                .unwrap_or(Value::Bool(false))
        };
        match desc.full_name().strip_prefix("google.protobuf.") {
            Some("Any") => return self.any(m, indent),
            Some(
                "BoolValue" | "BytesValue" | "StringValue" | "Int32Value" | "UInt32Value"
                | "FloatValue" | "Int64Value" | "UInt64Value" | "DoubleValue" | "Struct"
                | "ListValue",
            ) => {
                if let Some(f) = desc.get_field(1) {
                    return self.value(&f, &get(1), indent);
                }
            }
            Some("Duration") => {
                let (s, ns) = (
                    get(1).as_i64().unwrap_or(0),
                    get(2).as_i32().unwrap_or(0) as i64,
                );
                let (sign, s, ns) = if s < 0 || ns < 0 {
                    ("-", -s, -ns)
                } else {
                    ("", s, ns)
                };
                let x = trim_nanos(format!("{sign}{s}.{ns:09}"));
                self.out.push_str(&format!("\"{x}s\""));
                return;
            }
            Some("Timestamp") => {
                let (s, ns) = (get(1).as_i64().unwrap_or(0), get(2).as_i32().unwrap_or(0));
                self.out.push_str(&format!("\"{}Z\"", chrono_like(s, ns)));
                return;
            }
            Some("Value") => {
                match desc.fields().find(|f| m.has_field(f)) {
                    Some(f) => self.value(&f, &m.get_field(&f), indent),
                    None => self.out.push_str("null"),
                }
                return;
            }
            _ => {}
        }
        // Empty, and what a Struct's values hold.
        self.out.push('{');
        if self.indented {
            self.out.push('\n');
        }
        let mut first = true;
        for field in desc.fields() {
            let set = m.has_field(&field);
            if !set && (!self.emit_defaults || field.containing_oneof().is_some()) {
                continue;
            }
            if !first {
                self.comma();
            }
            first = false;
            if self.indented {
                self.out.push_str(indent);
                self.out.push_str(INDENT);
            }
            self.out.push('"');
            self.out.push_str(field.json_name());
            self.out.push_str("\":");
            if self.indented {
                self.out.push(' ');
            }
            let message = matches!(field.kind(), Kind::Message(_));
            if !set && !field.is_list() && !field.is_map() && message {
                self.out.push_str("null");
                continue;
            }
            self.value(&field, &m.get_field(&field), indent);
        }
        if self.indented {
            self.out.push('\n');
            self.out.push_str(indent);
        }
        self.out.push('}');
    }

    fn comma(&mut self) {
        self.out.push_str(if self.indented { ",\n" } else { "," });
    }

    fn type_url(&mut self, indent: &str, url: &str) {
        if self.indented {
            self.out.push_str(indent);
            self.out.push_str(INDENT);
        }
        self.out.push_str("\"@type\":");
        if self.indented {
            self.out.push(' ');
        }
        go_string(&mut self.out, url);
    }

    fn any(&mut self, m: &DynamicMessage, indent: &str) {
        let desc = m.descriptor();
        let url = desc
            .get_field(1)
            .and_then(|f| m.get_field(&f).as_str().map(String::from))
            .unwrap_or_default();
        let bytes = desc
            .get_field(2)
            .and_then(|f| m.get_field(&f).as_bytes().cloned())
            .unwrap_or_default();
        let name = url.rsplit('/').next().unwrap_or(&url);
        let inner = desc
            .parent_pool()
            .get_message_by_name(name)
            .and_then(|d| DynamicMessage::decode(d, bytes.as_ref()).ok());
        let Some(inner) = inner else {
            let mut fields = BTreeMap::new();
            fields.insert(
                "@error",
                format!("{name} is not recognized; see @value for raw binary message data"),
            );
            fields.insert("@type", url.clone());
            fields.insert(
                "@value",
                base64::engine::general_purpose::STANDARD.encode(&bytes),
            );
            self.compact_object(fields.into_iter().map(|(k, v)| {
                let mut s = String::new();
                go_string(&mut s, &v);
                (k.to_string(), s)
            }));
            return;
        };
        if !is_well_known(inner.descriptor().full_name()) {
            // jsonpb re-marshals the message's own JSON through a Go map: compact, keys sorted.
            let mut d = Dynamic {
                out: String::new(),
                depth: None,
                emit_defaults: self.emit_defaults,
                names: self.names,
            };
            d.message(&inner);
            let mut fields: BTreeMap<String, String> =
                serde_json::from_str::<BTreeMap<String, Box<serde_json::value::RawValue>>>(&d.out)
                    .map(|m| {
                        m.into_iter()
                            .map(|(k, v)| (k, v.get().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
            let mut quoted = String::new();
            go_string(&mut quoted, &url);
            fields.insert("@type".into(), quoted);
            self.compact_object(fields.into_iter());
            return;
        }
        self.out.push('{');
        if self.indented {
            self.out.push('\n');
        }
        self.type_url(indent, &url);
        self.comma();
        if self.indented {
            self.out.push_str(indent);
            self.out.push_str(INDENT);
            self.out.push_str("\"value\": ");
        } else {
            self.out.push_str("\"value\":");
        }
        let deeper = format!("{indent}{INDENT}");
        self.message(&inner, &deeper);
        if self.indented {
            self.out.push('\n');
            self.out.push_str(indent);
        }
        self.out.push('}');
    }

    fn compact_object(&mut self, fields: impl Iterator<Item = (String, String)>) {
        self.out.push('{');
        for (i, (k, v)) in fields.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            go_string(&mut self.out, &k);
            self.out.push(':');
            self.out.push_str(&v);
        }
        self.out.push('}');
    }

    fn value(&mut self, field: &FieldDescriptor, value: &Value, indent: &str) {
        let deeper = format!("{indent}{INDENT}");
        match value {
            Value::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    if self.indented {
                        self.out.push('\n');
                        self.out.push_str(&deeper);
                        self.out.push_str(INDENT);
                    }
                    self.singular(field, item, &deeper);
                }
                if self.indented {
                    self.out.push('\n');
                    self.out.push_str(&deeper);
                }
                self.out.push(']');
            }
            Value::Map(entries) => {
                let Kind::Message(entry) = field.kind() else {
                    return;
                };
                let value_field = entry.map_entry_value_field();
                let mut keys: Vec<&MapKey> = entries.keys().collect();
                keys.sort_by(|a, b| map_key_order(a, b));
                self.out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    if self.indented {
                        self.out.push('\n');
                        self.out.push_str(&deeper);
                        self.out.push_str(INDENT);
                    }
                    go_string(&mut self.out, &map_key_text(key));
                    self.out.push(':');
                    if self.indented {
                        self.out.push(' ');
                    }
                    self.singular(&value_field, &entries[key], &deeper);
                }
                if self.indented {
                    self.out.push('\n');
                    self.out.push_str(&deeper);
                }
                self.out.push('}');
            }
            v => self.singular(field, v, indent),
        }
    }

    fn singular(&mut self, field: &FieldDescriptor, value: &Value, indent: &str) {
        match value {
            Value::Message(m) => {
                let deeper = format!("{indent}{INDENT}");
                self.message(m, &deeper)
            }
            Value::EnumNumber(n) => match field.kind() {
                Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => {
                    self.out.push_str("null")
                }
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(v) => self.out.push_str(&format!("\"{}\"", v.name())),
                    None => self.out.push_str(&n.to_string()),
                },
                _ => self.out.push_str(&n.to_string()),
            },
            Value::F32(f) => self.out.push_str(&go_json_float(*f as f64, Some(*f))),
            Value::F64(f) => self.out.push_str(&go_json_float(*f, None)),
            v => scalar(&mut self.out, v, true),
        }
    }
}

/// "1.500000000" with trailing zero groups trimmed as jsonpb trims them.
fn trim_nanos(mut x: String) -> String {
    for suffix in ["000", "000"] {
        if let Some(t) = x.strip_suffix(suffix) {
            x = t.to_string();
        }
    }
    if let Some(t) = x.strip_suffix(".000") {
        x = t.to_string();
    }
    x
}

/// A Timestamp as Go formats `2006-01-02T15:04:05.000000000`, trimmed as jsonpb trims it.
fn chrono_like(seconds: i64, nanos: i32) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let text = format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:09}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        nanos.max(0)
    );
    trim_nanos(text)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// golang protobuf 1.5's text format of a generated message (the well-known types), compact
/// (`seconds:3 nanos:5 `, a space after each field) or a field a line.
fn golang_text(m: &DynamicMessage, compact: bool) -> String {
    let mut out = String::new();
    golang_fields(m, compact, 0, &mut out);
    out
}

fn golang_fields(m: &DynamicMessage, compact: bool, level: usize, out: &mut String) {
    let end_field = |out: &mut String| out.push(if compact { ' ' } else { '\n' });
    let indent = |out: &mut String, level: usize| {
        if !compact {
            out.push_str(&INDENT.repeat(level));
        }
    };
    for field in m.descriptor().fields() {
        if !m.has_field(&field) {
            continue;
        }
        let value = m.get_field(&field);
        let items: Vec<(Option<MapKey>, Value)> = match &*value {
            Value::List(items) => items.iter().map(|v| (None, v.clone())).collect(),
            Value::Map(entries) => {
                let mut keys: Vec<&MapKey> = entries.keys().collect();
                keys.sort_by(|a, b| map_key_order(a, b));
                keys.into_iter()
                    .map(|k| (Some(k.clone()), entries[k].clone()))
                    .collect()
            }
            v => vec![(None, v.clone())],
        };
        for (key, item) in items {
            indent(out, level);
            out.push_str(field.name());
            out.push(':');
            if !compact {
                out.push(' ');
            }
            let Kind::Message(entry) = field.kind() else {
                golang_scalar(&field.kind(), &item, out);
                end_field(out);
                continue;
            };
            out.push('<');
            if !compact {
                out.push('\n');
            }
            match (key, &item) {
                (Some(k), v) => {
                    for (f, v) in [
                        (entry.map_entry_key_field(), Value::from(k)),
                        (entry.map_entry_value_field(), v.clone()),
                    ] {
                        indent(out, level + 1);
                        out.push_str(f.name());
                        out.push(':');
                        if !compact {
                            out.push(' ');
                        }
                        match &v {
                            Value::Message(inner) => {
                                out.push('<');
                                if !compact {
                                    out.push('\n');
                                }
                                golang_fields(inner, compact, level + 2, out);
                                indent(out, level + 1);
                                out.push('>');
                            }
                            v => golang_scalar(&f.kind(), v, out),
                        }
                        end_field(out);
                    }
                }
                (None, Value::Message(inner)) => golang_fields(inner, compact, level + 1, out),
                _ => {}
            }
            indent(out, level);
            out.push('>');
            end_field(out);
        }
    }
}

fn golang_scalar(kind: &Kind, value: &Value, out: &mut String) {
    match value {
        Value::EnumNumber(n) => match kind {
            Kind::Enum(e) => match e.get_value(*n) {
                Some(v) => out.push_str(v.name()),
                None => out.push_str(&n.to_string()),
            },
            _ => out.push_str(&n.to_string()),
        },
        Value::I64(n) => out.push_str(&n.to_string()),
        Value::U64(n) => out.push_str(&n.to_string()),
        Value::F32(f) => out.push_str(&float(*f as f64, Some(*f), false)),
        Value::F64(f) => out.push_str(&float(*f, None, false)),
        Value::String(s) => octal_string(out, s.as_bytes()),
        Value::Bytes(b) => octal_string(out, b),
        v => scalar(out, v, false),
    }
}

/// `message` in protobuf text format as jhump's `MarshalTextIndent` writes it: proto names,
/// fields by number, `<` and `>` around messages, bytes outside printable ASCII in octal.
/// A well-known type at the top is a generated message in grpcurl: golang's text, a field a
/// line.
pub fn text(message: &DynamicMessage) -> String {
    if is_well_known(message.descriptor().full_name()) {
        let text = golang_text(message, false);
        return text.strip_suffix('\n').unwrap_or(&text).to_string();
    }
    let mut t = Text {
        out: String::new(),
        depth: 0,
    };
    t.body(message);
    t.out
}

struct Text {
    out: String,
    depth: usize,
}

impl Text {
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str(INDENT);
        }
    }

    fn next(&mut self, first: &mut bool) {
        if !std::mem::take(first) {
            self.newline();
        }
    }

    fn body(&mut self, m: &DynamicMessage) {
        let mut fields: Vec<FieldDescriptor> =
            m.descriptor().fields().filter(|f| m.has_field(f)).collect();
        fields.sort_by_key(|f| f.number());
        let mut first = true;
        for field in fields {
            match &*m.get_field(&field) {
                Value::Map(entries) => {
                    let Kind::Message(entry) = field.kind() else {
                        continue;
                    };
                    let (kf, vf) = (entry.map_entry_key_field(), entry.map_entry_value_field());
                    let mut keys: Vec<&MapKey> = entries.keys().collect();
                    keys.sort_by(|a, b| map_key_order(a, b));
                    for key in keys {
                        self.next(&mut first);
                        self.out.push_str(field.name());
                        self.out.push_str(": <");
                        self.depth += 1;
                        self.newline();
                        self.field(&kf, &Value::from(key.clone()));
                        self.newline();
                        self.field(&vf, &entries[key]);
                        self.depth -= 1;
                        self.newline();
                        self.out.push('>');
                    }
                }
                Value::List(items) => {
                    for item in items {
                        self.next(&mut first);
                        self.field(&field, item);
                    }
                }
                v => {
                    self.next(&mut first);
                    self.field(&field, v);
                }
            }
        }
    }

    fn field(&mut self, field: &FieldDescriptor, value: &Value) {
        let group = field.is_group();
        if group {
            if let Kind::Message(m) = field.kind() {
                self.out.push_str(m.name());
            }
        } else {
            self.out.push_str(field.name());
            self.out.push_str(": ");
        }
        match value {
            Value::Message(m) => {
                self.out.push(if group { '{' } else { '<' });
                self.depth += 1;
                self.newline();
                if is_well_known(m.descriptor().full_name()) {
                    // A generated message in grpcurl: golang's compact text.
                    self.out.push_str(&golang_text(m, true));
                } else {
                    self.body(m);
                }
                self.depth -= 1;
                self.newline();
                self.out.push(if group { '}' } else { '>' });
            }
            Value::EnumNumber(n) => match field.kind() {
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(v) => self.out.push_str(v.name()),
                    None => self.out.push_str(&n.to_string()),
                },
                _ => self.out.push_str(&n.to_string()),
            },
            Value::I64(n) => self.out.push_str(&n.to_string()),
            Value::U64(n) => self.out.push_str(&n.to_string()),
            Value::F32(f) => self.out.push_str(&float(*f as f64, Some(*f), false)),
            Value::F64(f) => self.out.push_str(&float(*f, None, false)),
            Value::String(s) => octal_string(&mut self.out, s.as_bytes()),
            Value::Bytes(b) => octal_string(&mut self.out, b),
            v => scalar(&mut self.out, v, false),
        }
    }
}

/// A quoted string with the C escapes and every other byte outside printable ASCII in octal.
pub fn octal_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_prints_them() {
        let g = |f: f64| go_g(&format!("{f:e}"));
        assert_eq!(g(0.5), "0.5");
        assert_eq!(g(123456.0), "123456");
        assert_eq!(g(1_000_000.0), "1e+06");
        assert_eq!(g(1_234_567.0), "1.234567e+06");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(-2.5e-7), "-2.5e-07");
        assert_eq!(g(0.0), "0");
        assert_eq!(go_json_float(1e21, None), "1e+21");
        assert_eq!(go_json_float(1e-7, None), "1e-7");
        assert_eq!(go_json_float(2.5, None), "2.5");
    }

    #[test]
    fn strings_as_go_escapes_them() {
        let mut s = String::new();
        go_string(&mut s, "a<b>&\"\\\n\u{1}é");
        assert_eq!(s, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001é\"");
        let mut o = String::new();
        octal_string(&mut o, "é\n".as_bytes());
        assert_eq!(o, "\"\\303\\251\\n\"");
    }

    #[test]
    fn go_indent() {
        assert_eq!(indent("{}"), "{}");
        assert_eq!(
            indent(r#"{"a":[1,{"b":"x,:{"}],"c":[]}"#),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x,:{\"\n    }\n  ],\n  \"c\": []\n}"
        );
    }

    #[test]
    fn timestamps_and_durations() {
        assert_eq!(chrono_like(0, 0), "1970-01-01T00:00:00");
        assert_eq!(
            chrono_like(1_700_000_000, 500_000_000),
            "2023-11-14T22:13:20.500"
        );
        assert_eq!(trim_nanos("1.500000000".into()), "1.500");
        assert_eq!(trim_nanos("3.000000000".into()), "3");
    }
}
