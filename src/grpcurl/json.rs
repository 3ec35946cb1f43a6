//! The JSON grpcurl prints, byte for byte: jhump/protoreflect's dynamic-message writer (fields
//! by number, `json_name` only where the descriptor has one, Go's float and string rules,
//! `{\n  \n}` for an empty message in 1.8), re-indented by Go's `json.Indent` for 1.9. The
//! well-known types it hands to golang's jsonpb are `jsonpb`'s.
use super::jsonpb::Jsonpb;
use base64::Engine;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};
use std::collections::{HashMap, HashSet};

pub(super) const INDENT: &str = "  ";

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
pub(super) struct Dynamic<'a> {
    pub(super) out: String,
    pub(super) depth: Option<usize>,
    pub(super) emit_defaults: bool,
    pub(super) names: &'a JsonNames,
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

    pub(super) fn message(&mut self, m: &DynamicMessage) {
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
pub(super) fn scalar(out: &mut String, value: &Value, json: bool) {
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
pub(super) fn float(f: f64, single: Option<f32>, json: bool) -> String {
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
    if !(-4..6).contains(&exp) {
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
pub(super) fn go_json_float(f: f64, single: Option<f32>) -> String {
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

pub(super) fn map_key_text(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

pub(super) fn map_key_order(a: &MapKey, b: &MapKey) -> std::cmp::Ordering {
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
pub(super) fn is_well_known(name: &str) -> bool {
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
    }

    #[test]
    fn go_indent() {
        assert_eq!(indent("{}"), "{}");
        assert_eq!(
            indent(r#"{"a":[1,{"b":"x,:{"}],"c":[]}"#),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x,:{\"\n    }\n  ],\n  \"c\": []\n}"
        );
    }
}
