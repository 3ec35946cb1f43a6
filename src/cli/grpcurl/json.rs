//! The JSON grpcurl prints, byte for byte: jhump/protoreflect's dynamic-message writer (fields
//! by number, `json_name` only where the descriptor has one, Go's float and string rules,
//! `{\n  \n}` for an empty message in 1.8), re-indented by Go's `json.Indent` for 1.9. The
//! well-known types it hands to golang's jsonpb are `jsonpb`'s.
use super::go::{go_string, is_well_known, map_key_order, map_key_text, scalar, INDENT};
use super::jsonpb::Jsonpb;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};
use std::collections::{HashMap, HashSet};

/// The fields of each message type whose descriptor, as the schema's source sent it, carries
/// no `json_name`: grpcurl names them as the proto does (`point_count`), as a C++ server's
/// descriptors make it do.
#[derive(Default)]
pub struct JsonNames {
    unnamed: HashMap<String, HashSet<String>>,
    /// The messages whose closure was read (a stream's messages are one type).
    learned: HashSet<String>,
}

impl JsonNames {
    /// Reads the files of `message` and of the messages it holds, as `raw` gives them by full
    /// name, once each.
    pub fn learn(&mut self, message: &MessageDescriptor, raw: &dyn Fn(&str) -> Option<Vec<u8>>) {
        if !self.learned.insert(message.full_name().to_string()) {
            return;
        }
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
            let (emit_defaults, names) = (self.emit_defaults, self.names);
            let schema_message = |m: &DynamicMessage| compact(m, emit_defaults, names);
            let mut j = Jsonpb {
                out: String::new(),
                indented: self.depth.is_some(),
                emit_defaults: self.emit_defaults,
                schema_message: &schema_message,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_indent() {
        assert_eq!(indent("{}"), "{}");
        assert_eq!(
            indent(r#"{"a":[1,{"b":"x,:{"}],"c":[]}"#),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x,:{\"\n    }\n  ],\n  \"c\": []\n}"
        );
    }
}
