//! The names grpcurl takes — fully-qualified services, methods, messages, enums, fields,
//! one-ofs, enum values (`pkg.Enum.VALUE`) and extensions — looked up in the schema, and what
//! `describe` says each is; and grpcurl's `-msg-template` of a message.
use super::{cause, protoprint};
use crate::client::schema::Schema;
use prost_reflect::{DynamicMessage, MethodDescriptor};

/// What a name grpcurl takes turns out to be (fully qualified names only, as grpcurl's).
pub(super) enum Found {
    Service(prost_reflect::ServiceDescriptor),
    Method(MethodDescriptor),
    Message(prost_reflect::MessageDescriptor),
    Enum(prost_reflect::EnumDescriptor),
    Field(prost_reflect::FieldDescriptor),
    Oneof(prost_reflect::OneofDescriptor),
    Value(prost_reflect::EnumValueDescriptor),
    Extension(prost_reflect::ExtensionDescriptor),
}

impl Found {
    /// The name whose file and comments describe it.
    pub(super) fn top_name(&self) -> String {
        match self {
            Found::Service(s) => s.full_name().into(),
            Found::Method(m) => m.parent_service().full_name().into(),
            Found::Message(m) => m.full_name().into(),
            Found::Enum(e) => e.full_name().into(),
            Found::Field(f) => f.parent_message().full_name().into(),
            Found::Oneof(o) => o.parent_message().full_name().into(),
            Found::Value(v) => v.parent_enum().full_name().into(),
            Found::Extension(e) => e.full_name().into(),
        }
    }

    /// The name of the file that defines it.
    pub(super) fn file_name(&self) -> &str {
        match self {
            Found::Service(s) => s.parent_file_descriptor_proto().name(),
            Found::Method(m) => m.parent_service().parent_file_descriptor_proto().name(),
            Found::Message(m) => m.parent_file_descriptor_proto().name(),
            Found::Enum(e) => e.parent_file_descriptor_proto().name(),
            Found::Field(f) => f.parent_message().parent_file_descriptor_proto().name(),
            Found::Oneof(o) => o.parent_message().parent_file_descriptor_proto().name(),
            Found::Value(v) => v.parent_enum().parent_file_descriptor_proto().name(),
            Found::Extension(e) => e.parent_file_descriptor_proto().name(),
        }
    }

    /// Prints it; what kind of element it is ("a message") and its full name.
    pub(super) fn print(&self, p: &mut protoprint::ProtoPrinter) -> (&'static str, String) {
        match self {
            Found::Service(s) => {
                p.service(s, 0);
                ("a service", s.full_name().into())
            }
            Found::Method(m) => {
                p.method(m, 0);
                ("a method", m.full_name().into())
            }
            Found::Message(m) => {
                if let Some((field, kind)) = field_of_type(m) {
                    p.field(&field, 0);
                    return (kind, m.full_name().into());
                }
                p.message(m, 0);
                ("a message", m.full_name().into())
            }
            Found::Enum(e) => {
                p.enumeration(e, 0);
                ("an enum", e.full_name().into())
            }
            Found::Field(f) => {
                p.field(f, 0);
                let kind = if f.is_group() {
                    "a group field"
                } else {
                    "a field"
                };
                (kind, f.full_name().into())
            }
            Found::Oneof(o) => {
                p.oneof(o, 0);
                (
                    "a one-of",
                    format!("{}.{}", o.parent_message().full_name(), o.name()),
                )
            }
            Found::Value(v) => {
                p.enum_value(v, 0);
                let full = format!("{}.{}", v.parent_enum().full_name(), v.name());
                ("an enum value", full)
            }
            Found::Extension(e) => {
                p.out.push_str(&format!(
                    "extend .{} {{\n",
                    e.containing_message().full_name()
                ));
                p.extension(e, 1);
                p.out.push_str("}\n");
                let kind = if e.is_group() {
                    "a group field"
                } else {
                    "an extension"
                };
                (kind, e.full_name().into())
            }
        }
    }
}

/// The map or group field whose type is `m`, described in its place as grpcurl does.
pub(super) fn field_of_type(
    m: &prost_reflect::MessageDescriptor,
) -> Option<(prost_reflect::FieldDescriptor, &'static str)> {
    let parent = m.parent_message()?;
    let typed = |f: &prost_reflect::FieldDescriptor| matches!(f.kind(), prost_reflect::Kind::Message(t) if t == *m);
    let found = if m.is_map_entry() {
        parent
            .fields()
            .find(|f| f.is_map() && typed(f))
            .map(|f| (f, "the entry type for a map field"))
    } else {
        parent
            .fields()
            .find(|f| f.is_group() && typed(f))
            .map(|f| (f, "the type of a group field"))
    };
    found
}

/// Looks a fully-qualified name up, loading its file from the source first. `Err` is a
/// failure to ask (reflection broke), not a name the source lacks.
pub(super) async fn find(schema: &mut Schema, name: &str) -> Result<Option<Found>, String> {
    let loaded = schema.load_symbol(name).await;
    match (lookup(schema, name).await, loaded) {
        (Some(found), _) => Ok(Some(found)),
        (None, Err(e)) if !e.chain().any(|c| c.is::<crate::client::schema::NotFound>()) => {
            Err(cause(&e))
        }
        (None, _) => Ok(None),
    }
}

pub(super) async fn lookup(schema: &mut Schema, name: &str) -> Option<Found> {
    if let Some((parent, _)) = name.rsplit_once('.') {
        if schema.pool().get_message_by_name(name).is_none()
            && schema.pool().get_service_by_name(name).is_none()
            && schema.pool().get_enum_by_name(name).is_none()
        {
            let _ = schema.load_symbol(parent).await;
        }
    }
    lookup_in(schema.pool(), name)
}

/// A fully-qualified name in `pool`: a type, a service, or a member of one.
pub(super) fn lookup_in(pool: &prost_reflect::DescriptorPool, name: &str) -> Option<Found> {
    if let Some(s) = pool.get_service_by_name(name) {
        return Some(Found::Service(s));
    }
    if let Some(m) = pool.get_message_by_name(name) {
        return Some(Found::Message(m));
    }
    if let Some(e) = pool.get_enum_by_name(name) {
        return Some(Found::Enum(e));
    }
    if let Some(e) = pool.get_extension_by_name(name) {
        return Some(Found::Extension(e));
    }
    let (parent, last) = name.rsplit_once('.')?;
    if let Some(s) = pool.get_service_by_name(parent) {
        return s.methods().find(|m| m.name() == last).map(Found::Method);
    }
    if let Some(m) = pool.get_message_by_name(parent) {
        if let Some(f) = m.get_field_by_name(last) {
            return Some(Found::Field(f));
        }
        if let Some(o) = m.oneofs().find(|o| o.name() == last) {
            return Some(Found::Oneof(o));
        }
    }
    // grpcurl names an enum value inside its enum (`pkg.Enum.VALUE`), not beside it.
    pool.get_enum_by_name(parent)
        .and_then(|e| e.get_value_by_name(last))
        .map(Found::Value)
}

/// grpcurl's template of a message: every message field filled (once on a path), a repeated
/// field holding one element, a map one entry; printed with every default.
pub(super) fn template(m: &prost_reflect::MessageDescriptor) -> DynamicMessage {
    fn fill(m: &prost_reflect::MessageDescriptor, path: &mut Vec<String>) -> DynamicMessage {
        use prost_reflect::{Kind, MapKey, Value};
        let mut message = DynamicMessage::new(m.clone());
        // grpcurl's placeholders for what JSON itself says: a one-entry Struct naming the type.
        let says = |text: &str| {
            use prost_types::value::Kind::{StringValue, StructValue};
            let entry = prost_types::Value {
                kind: Some(StringValue(text.into())),
            };
            let object = prost_types::Struct {
                fields: [(m.full_name().to_string(), entry)].into(),
            };
            (
                prost_types::Value {
                    kind: Some(StructValue(object.clone())),
                },
                object,
            )
        };
        let special = match m.full_name() {
            "google.protobuf.Any" => Some(message.transcode_from(&prost_types::Any {
                type_url: "type.googleapis.com/google.protobuf.Empty".into(),
                value: Vec::new(),
            })),
            "google.protobuf.Struct" => {
                Some(message.transcode_from(&says("supports arbitrary JSON objects").1))
            }
            "google.protobuf.Value" => {
                Some(message.transcode_from(&says("supports arbitrary JSON").0))
            }
            "google.protobuf.ListValue" => Some(message.transcode_from(&prost_types::ListValue {
                values: vec![says("is an array of arbitrary JSON values").0],
            })),
            _ => None,
        };
        if special.is_some() {
            return message;
        }
        if path.iter().any(|p| p == m.full_name()) {
            return message;
        }
        path.push(m.full_name().to_string());
        for field in m.fields() {
            let one = |kind: &Kind, path: &mut Vec<String>| match kind {
                Kind::Message(inner) => Value::Message(fill(inner, path)),
                Kind::Enum(_) => Value::EnumNumber(0),
                other => Value::default_value(other),
            };
            if field.is_map() {
                let Kind::Message(entry) = field.kind() else {
                    continue;
                };
                let key = match Value::default_value(&entry.map_entry_key_field().kind()) {
                    Value::Bool(b) => MapKey::Bool(b),
                    Value::I32(n) => MapKey::I32(n),
                    Value::I64(n) => MapKey::I64(n),
                    Value::U32(n) => MapKey::U32(n),
                    Value::U64(n) => MapKey::U64(n),
                    _ => MapKey::String(String::new()),
                };
                let value = one(&entry.map_entry_value_field().kind(), path);
                message.set_field(&field, Value::Map([(key, value)].into()));
            } else if field.is_list() {
                let value = one(&field.kind(), path);
                message.set_field(&field, Value::List(vec![value]));
            } else if let Kind::Message(inner) = field.kind() {
                message.set_field(&field, Value::Message(fill(&inner, path)));
            }
        }
        path.pop();
        message
    }
    fill(m, &mut Vec::new())
}
