//! Descriptors as the proto source grpcurl's `describe` and `-v` print: jhump/protoreflect's
//! protoprint with grpcurl's settings (compact, elements sorted, names fully qualified, doc
//! comments only).
use crate::client::schema::docs::Docs;
use prost_reflect::{
    DynamicMessage, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor, FieldDescriptor,
    Kind, MessageDescriptor, MethodDescriptor, OneofDescriptor, ReflectMessage, ServiceDescriptor,
    Value,
};

const INDENT: &str = "  ";
const MAX_TAG: i32 = 536_870_911;
const MAX_MESSAGE_SET_TAG: i32 = i32::MAX - 1;

/// Prints descriptors with the doc comments of `docs` (by full name).
pub struct ProtoPrinter<'a> {
    pub docs: &'a Docs,
    pub out: String,
}

impl<'a> ProtoPrinter<'a> {
    pub fn new(docs: &'a Docs) -> Self {
        ProtoPrinter {
            docs,
            out: String::new(),
        }
    }

    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.out.push_str(INDENT);
        }
    }

    /// The leading comment of `full`, a `//` line each.
    fn comments(&mut self, full: &str, level: usize) {
        let Some(text) = self.docs.get(full).map(|c| c.leading.clone()) else {
            return;
        };
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.first() == Some(&"") {
            lines.remove(0);
        }
        if lines.last() == Some(&"") {
            lines.pop();
        }
        for line in lines {
            self.indent(level);
            self.out.push_str("//");
            self.out.push_str(line.trim_end_matches([' ', '\t']));
            self.out.push('\n');
        }
    }

    pub fn service(&mut self, s: &ServiceDescriptor, level: usize) {
        self.comments(s.full_name(), level);
        self.indent(level);
        self.out.push_str(&format!("service {} {{\n", s.name()));
        self.long_options(&s.options(), level + 1);
        let mut methods: Vec<MethodDescriptor> = s.methods().collect();
        methods.sort_by(|a, b| a.name().cmp(b.name()));
        for m in methods {
            self.method(&m, level + 1);
        }
        self.indent(level);
        self.out.push_str("}\n");
    }

    pub fn method(&mut self, m: &MethodDescriptor, level: usize) {
        self.comments(m.full_name(), level);
        self.indent(level);
        let stream = |on: bool| if on { "stream " } else { "" };
        self.out.push_str(&format!(
            "rpc {} ( {}.{} ) returns ( {}.{} )",
            m.name(),
            stream(m.is_client_streaming()),
            m.input().full_name(),
            stream(m.is_server_streaming()),
            m.output().full_name()
        ));
        let options = options_of(&m.options());
        if options.is_empty() {
            self.out.push_str(";\n");
            return;
        }
        self.out.push_str(" {\n");
        self.write_long(&options, level + 1);
        self.indent(level);
        self.out.push_str("}\n");
    }

    pub fn message(&mut self, m: &MessageDescriptor, level: usize) {
        self.comments(m.full_name(), level);
        self.indent(level);
        self.out.push_str(&format!("message {} {{\n", m.name()));
        self.message_body(m, level + 1);
        self.indent(level);
        self.out.push_str("}\n");
    }

    fn message_body(&mut self, m: &MessageDescriptor, level: usize) {
        self.long_options(&m.options(), level);
        let mut fields: Vec<FieldDescriptor> = m.fields().collect();
        fields.sort_by_key(|f| f.number());
        let mut printed_oneofs = Vec::new();
        for f in &fields {
            match f.containing_oneof().filter(|o| !o.is_synthetic()) {
                Some(o) => {
                    if !printed_oneofs.contains(&o.name().to_string()) {
                        printed_oneofs.push(o.name().to_string());
                        self.oneof(&o, level);
                    }
                }
                None => self.field(f, level),
            }
        }
        self.nested_types(m, &fields, level);
        let proto = m.descriptor_proto();
        let max = match m
            .options()
            .get_field_by_name("message_set_wire_format")
            .map(|v| v.as_bool())
        {
            Some(Some(true)) => MAX_MESSAGE_SET_TAG,
            _ => MAX_TAG,
        };
        let mut ranges: Vec<(i32, i32)> = proto
            .extension_range
            .iter()
            .map(|r| (r.start(), r.end() - 1))
            .collect();
        ranges.sort();
        if !ranges.is_empty() {
            self.indent(level);
            self.out
                .push_str(&format!("extensions {};\n", range_list(&ranges, max)));
        }
        self.extend_blocks(m, level);
        let mut reserved: Vec<(i32, i32)> = proto
            .reserved_range
            .iter()
            .map(|r| (r.start(), r.end() - 1))
            .collect();
        reserved.sort();
        if !reserved.is_empty() {
            self.indent(level);
            self.out
                .push_str(&format!("reserved {};\n", range_list(&reserved, max)));
        }
        self.reserved_names(&proto.reserved_name, level);
    }

    /// A message's nested messages and enums, by name; a map's entry and a group's type are
    /// printed where their field is.
    fn nested_types(&mut self, m: &MessageDescriptor, fields: &[FieldDescriptor], level: usize) {
        let message_of = |kind: Kind| match kind {
            Kind::Message(inner) => Some(inner.full_name().to_string()),
            _ => None,
        };
        let mut hidden: Vec<String> = fields
            .iter()
            .filter(|f| f.is_map() || f.is_group())
            .filter_map(|f| message_of(f.kind()))
            .collect();
        hidden.extend(
            m.child_extensions()
                .filter(|e| e.is_group())
                .filter_map(|e| message_of(e.kind())),
        );
        let mut nested: Vec<MessageDescriptor> = m
            .child_messages()
            .filter(|c| !hidden.contains(&c.full_name().to_string()))
            .collect();
        nested.sort_by(|a, b| a.name().cmp(b.name()));
        for n in nested {
            self.message(&n, level);
        }
        let mut enums: Vec<EnumDescriptor> = m.child_enums().collect();
        enums.sort_by(|a, b| a.name().cmp(b.name()));
        for e in enums {
            self.enumeration(&e, level);
        }
    }

    /// The extensions declared inside a message, an `extend .Extendee { }` block each extendee.
    fn extend_blocks(&mut self, m: &MessageDescriptor, level: usize) {
        let mut extensions: Vec<_> = m.child_extensions().collect();
        extensions.sort_by_key(|e| (e.containing_message().full_name().to_string(), e.number()));
        let mut i = 0;
        while i < extensions.len() {
            let extendee = extensions[i].containing_message();
            self.indent(level);
            self.out
                .push_str(&format!("extend .{} {{\n", extendee.full_name()));
            while i < extensions.len() && extensions[i].containing_message() == extendee {
                self.extension(&extensions[i], level + 1);
                i += 1;
            }
            self.indent(level);
            self.out.push_str("}\n");
        }
    }

    fn reserved_names(&mut self, names: &[String], level: usize) {
        if names.is_empty() {
            return;
        }
        let mut names = names.to_vec();
        names.sort();
        let quoted: Vec<String> = names.iter().map(|n| quoted(n.as_bytes())).collect();
        self.indent(level);
        self.out
            .push_str(&format!("reserved {};\n", quoted.join(", ")));
    }

    pub fn oneof(&mut self, o: &OneofDescriptor, level: usize) {
        let full = format!("{}.{}", o.parent_message().full_name(), o.name());
        self.comments(&full, level);
        self.indent(level);
        self.out.push_str(&format!("oneof {} {{\n", o.name()));
        self.long_options(&o.options(), level + 1);
        let mut fields: Vec<FieldDescriptor> = o.fields().collect();
        fields.sort_by_key(|f| f.number());
        for f in fields {
            self.field(&f, level + 1);
        }
        self.indent(level);
        self.out.push_str("}\n");
    }

    pub fn field(&mut self, f: &FieldDescriptor, level: usize) {
        let in_oneof = f.containing_oneof().is_some_and(|o| !o.is_synthetic());
        self.field_like(&Field::of(f), in_oneof, level);
    }

    /// An extension inside its `extend .Extendee { }` block.
    pub fn extension(&mut self, e: &ExtensionDescriptor, level: usize) {
        self.field_like(&Field::of_extension(e), false, level);
    }

    fn field_like(&mut self, f: &Field, in_oneof: bool, level: usize) {
        self.comments(&f.full_name, level);
        self.indent(level);
        let proto = &f.proto;
        let label = if proto.proto3_optional.unwrap_or(false) {
            Some("optional")
        } else if f.is_map || in_oneof {
            None
        } else {
            use prost_types::field_descriptor_proto::Label;
            match proto.label() {
                Label::Optional if f.proto3 => None,
                Label::Optional => Some("optional"),
                Label::Required => Some("required"),
                Label::Repeated => Some("repeated"),
            }
        };
        if let Some(label) = label {
            self.out.push_str(label);
            self.out.push(' ');
        }
        if f.is_group {
            let Kind::Message(group) = &f.kind else {
                return;
            };
            self.out
                .push_str(&format!("group {} = {}", group.name(), f.number));
            self.short_options(f);
            self.out.push_str(" {\n");
            self.message_body(group, level + 1);
            self.indent(level);
            self.out.push_str("}\n");
            return;
        }
        let ty = match (&f.kind, f.is_map) {
            (Kind::Message(entry), true) => format!(
                "map<{}, {}>",
                type_name(&entry.map_entry_key_field().kind()),
                type_name(&entry.map_entry_value_field().kind())
            ),
            (kind, _) => type_name(kind),
        };
        self.out
            .push_str(&format!("{ty} {} = {}", f.name, f.number));
        self.short_options(f);
        self.out.push_str(";\n");
    }

    /// `[default = ..., json_name = "...", deprecated = true]`.
    fn short_options(&mut self, f: &Field) {
        let mut options = options_of(&f.options);
        if f.proto.default_value.is_some() && !f.proto3 {
            let text = match &f.default {
                // A string's default is printed as written, a bytes' as its bytes.
                Value::String(_) => quoted(f.proto.default_value().as_bytes()),
                Value::Bytes(b) => quoted(b),
                Value::F32(x) => go_percent_f(*x as f64),
                Value::F64(x) => go_percent_f(*x),
                Value::EnumNumber(n) => match &f.kind {
                    Kind::Enum(e) => e
                        .get_value(*n)
                        .map(|v| v.name().to_string())
                        .unwrap_or_default(),
                    _ => n.to_string(),
                },
                Value::Bool(b) => b.to_string(),
                Value::I32(n) => n.to_string(),
                Value::I64(n) => n.to_string(),
                Value::U32(n) => n.to_string(),
                Value::U64(n) => n.to_string(),
                _ => f.proto.default_value().to_string(),
            };
            options.push(("default".into(), text));
        }
        if let Some(json) = &f.proto.json_name {
            if *json != crate::client::schema::default_json_name(&f.name) {
                options.push(("json_name".into(), quoted(json.as_bytes())));
            }
        }
        if options.is_empty() {
            return;
        }
        options.sort_by(|a, b| option_order(&a.0, &b.0));
        let parts: Vec<String> = options.iter().map(|(n, v)| format!("{n} = {v}")).collect();
        self.out.push_str(&format!(" [{}]", parts.join(", ")));
    }

    pub fn enumeration(&mut self, e: &EnumDescriptor, level: usize) {
        self.comments(e.full_name(), level);
        self.indent(level);
        self.out.push_str(&format!("enum {} {{\n", e.name()));
        self.long_options(&e.options(), level + 1);
        let mut values: Vec<EnumValueDescriptor> = e.values().collect();
        values.sort_by(|a, b| (a.number(), a.name()).cmp(&(b.number(), b.name())));
        for v in values {
            self.enum_value(&v, level + 1);
        }
        let proto = e.enum_descriptor_proto();
        let mut reserved: Vec<(i32, i32)> = proto
            .reserved_range
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect();
        reserved.sort();
        if !reserved.is_empty() {
            self.indent(level + 1);
            self.out
                .push_str(&format!("reserved {};\n", range_list(&reserved, i32::MAX)));
        }
        self.reserved_names(&proto.reserved_name, level + 1);
        self.indent(level);
        self.out.push_str("}\n");
    }

    pub fn enum_value(&mut self, v: &EnumValueDescriptor, level: usize) {
        self.comments(
            &format!("{}.{}", v.parent_enum().full_name(), v.name()),
            level,
        );
        self.indent(level);
        self.out.push_str(&format!("{} = {}", v.name(), v.number()));
        let mut options = options_of(&v.options());
        if !options.is_empty() {
            options.sort_by(|a, b| option_order(&a.0, &b.0));
            let parts: Vec<String> = options.iter().map(|(n, v)| format!("{n} = {v}")).collect();
            self.out.push_str(&format!(" [{}]", parts.join(", ")));
        }
        self.out.push_str(";\n");
    }

    fn long_options(&mut self, options: &DynamicMessage, level: usize) {
        let mut list = options_of(options);
        list.sort_by(|a, b| option_order(&a.0, &b.0));
        self.write_long(&list, level);
    }

    fn write_long(&mut self, options: &[(String, String)], level: usize) {
        let mut options = options.to_vec();
        options.sort_by(|a, b| option_order(&a.0, &b.0));
        for (name, value) in options {
            self.indent(level);
            self.out.push_str(&format!("option {name} = {value};\n"));
        }
    }
}

/// What printing needs of a field or an extension.
struct Field {
    full_name: String,
    name: String,
    number: u32,
    kind: Kind,
    is_map: bool,
    is_group: bool,
    proto3: bool,
    proto: prost_types::FieldDescriptorProto,
    options: DynamicMessage,
    default: Value,
}

impl Field {
    fn of(f: &FieldDescriptor) -> Field {
        Field {
            full_name: f.full_name().into(),
            name: f.name().into(),
            number: f.number(),
            kind: f.kind(),
            is_map: f.is_map(),
            is_group: f.is_group(),
            proto3: f.parent_message().parent_file().syntax() == prost_reflect::Syntax::Proto3,
            proto: f.field_descriptor_proto().clone(),
            options: f.options(),
            default: f.default_value(),
        }
    }

    fn of_extension(e: &ExtensionDescriptor) -> Field {
        Field {
            full_name: e.full_name().into(),
            name: e.name().into(),
            number: e.number(),
            kind: e.kind(),
            is_map: false,
            is_group: e.is_group(),
            proto3: e.parent_file().syntax() == prost_reflect::Syntax::Proto3,
            proto: e.field_descriptor_proto().clone(),
            options: e.options(),
            default: e.default_value(),
        }
    }
}

/// Go's `%f` of a float: six decimals, `+Inf`, `-Inf`, `NaN`.
fn go_percent_f(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{x:.6}")
    }
}

/// A field's type as protoprint names it: scalars by keyword, the rest fully qualified.
fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
    }
}

/// Ranges as `2, 9 to 11, 100 to max` (ends inclusive).
fn range_list(ranges: &[(i32, i32)], max: i32) -> String {
    ranges
        .iter()
        .map(|&(start, end)| {
            if start == end {
                start.to_string()
            } else if end == max {
                format!("{start} to max")
            } else {
                format!("{start} to {end}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Options by name, extensions (in parentheses) after the rest.
fn option_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a.starts_with('('), a).cmp(&(b.starts_with('('), b))
}

/// The options set in an options message (its fields and the extensions the pool knows), as
/// `name` and printed value pairs; a repeated option gives a pair per value.
fn options_of(options: &DynamicMessage) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (field, value) in options.fields() {
        if field.name() == "uninterpreted_option" {
            continue;
        }
        push_option(&mut out, field.name().to_string(), &field.kind(), value);
    }
    for (ext, value) in options.extensions() {
        push_option(
            &mut out,
            format!("(.{})", ext.full_name()),
            &ext.kind(),
            value,
        );
    }
    out
}

fn push_option(out: &mut Vec<(String, String)>, name: String, kind: &Kind, value: &Value) {
    match value {
        Value::List(items) => {
            for item in items {
                push_option(out, name.clone(), kind, item);
            }
        }
        Value::EnumNumber(n) => {
            if let Kind::Enum(e) = kind {
                if let Some(v) = e.get_value(*n) {
                    out.push((name, v.name().to_string()));
                }
            }
        }
        Value::Message(m) => {
            out.push((name, format!("{{ {} }}", compact_text(m))));
        }
        Value::Map(_) => {}
        Value::F32(f) => out.push((name, format!("{:.6}", f))),
        Value::F64(f) => out.push((name, format!("{f:.6}"))),
        Value::String(s) => out.push((name, quoted(s.as_bytes()))),
        Value::Bytes(b) => out.push((name, quoted(b))),
        Value::Bool(b) => out.push((name, b.to_string())),
        Value::I32(n) => out.push((name, n.to_string())),
        Value::I64(n) => out.push((name, n.to_string())),
        Value::U32(n) => out.push((name, n.to_string())),
        Value::U64(n) => out.push((name, n.to_string())),
    }
}

/// A message in jhump's compact text format (`get:"/v1" body:"*"`), as option values print.
fn compact_text(m: &DynamicMessage) -> String {
    let mut fields: Vec<FieldDescriptor> =
        m.descriptor().fields().filter(|f| m.has_field(f)).collect();
    fields.sort_by_key(|f| f.number());
    let mut parts = Vec::new();
    for f in fields {
        let value = m.get_field(&f);
        let items: Vec<Value> = match &*value {
            Value::List(items) => items.clone(),
            v => vec![v.clone()],
        };
        for item in items {
            let text = match &item {
                Value::Message(inner) => format!("<{}>", compact_text(inner)),
                Value::String(s) => text_quoted(s.as_bytes()),
                Value::Bytes(b) => text_quoted(b),
                Value::EnumNumber(n) => match f.kind() {
                    Kind::Enum(e) => e
                        .get_value(*n)
                        .map(|v| v.name().to_string())
                        .unwrap_or_else(|| n.to_string()),
                    _ => n.to_string(),
                },
                Value::F32(x) => super::go::go_g(&format!("{x:e}")),
                Value::F64(x) => super::go::go_g(&format!("{x:e}")),
                Value::Bool(b) => b.to_string(),
                Value::I32(n) => n.to_string(),
                Value::I64(n) => n.to_string(),
                Value::U32(n) => n.to_string(),
                Value::U64(n) => n.to_string(),
                Value::List(_) | Value::Map(_) => continue,
            };
            parts.push(format!("{}:{text}", f.name()));
        }
    }
    for (e, value) in m.extensions() {
        if let Value::String(s) = value {
            parts.push(format!("[{}]:{}", e.full_name(), text_quoted(s.as_bytes())));
        } else if let Value::Message(inner) = value {
            parts.push(format!("[{}]:<{}>", e.full_name(), compact_text(inner)));
        } else {
            parts.push(format!("[{}]:{}", e.full_name(), scalar_text(value)));
        }
    }
    parts.join(" ")
}

/// A string literal as protoprint quotes it: C escapes, other bytes outside ASCII in octal,
/// and a double quote as a lone backslash (its bug, kept: this is what grpcurl prints).
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from('"');
    for &b in bytes {
        match b {
            b'"' => out.push('\\'),
            _ => {
                let mut one = String::new();
                super::text::octal_string(&mut one, &[b]);
                out.push_str(&one[1..one.len() - 1]);
            }
        }
    }
    out.push('"');
    out
}

/// A scalar's text, as protoprint writes numbers and bools.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::I32(n) | Value::EnumNumber(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(x) => super::go::go_g(&format!("{x:e}")),
        Value::F64(x) => super::go::go_g(&format!("{x:e}")),
        Value::Bytes(b) => text_quoted(b),
        Value::String(s) => text_quoted(s.as_bytes()),
        _ => String::new(),
    }
}

/// A string as jhump's text writer quotes it (option values of message type).
fn text_quoted(bytes: &[u8]) -> String {
    let mut out = String::new();
    super::text::octal_string(&mut out, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ranges() {
        assert_eq!(
            range_list(&[(2, 2), (9, 11), (100, MAX_TAG)], MAX_TAG),
            "2, 9 to 11, 100 to max"
        );
        let mut names = vec![
            "(b)".to_string(),
            "deprecated".into(),
            "(a)".into(),
            "ctype".into(),
        ];
        names.sort_by(|a, b| option_order(a, b));
        assert_eq!(names, ["ctype", "deprecated", "(a)", "(b)"]);
    }
}
