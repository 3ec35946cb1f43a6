//! Proto3 JSON of messages whose `google.protobuf.Any` values prost-reflect cannot print: a type
//! URL without a `/` (containerd's `containerd.events.TaskExit`), which it refuses, and a type
//! the schema lacks, which fails the whole message. The first is resolved by its whole name, as
//! by the part after the last `/`; the second prints as grpcurl prints it, a placeholder of its
//! type, an `@error` and its bytes in base64 as `@value`, and the stream goes on.
use prost_reflect::{DynamicMessage, MapKey, ReflectMessage, SerializeOptions, Value};
use serde_json::{Map, Value as Json};

/// How the JSON is written: prost-reflect's options, and whether they name fields as the proto
/// does (its options do not say).
pub struct Options {
    pub serialize: SerializeOptions,
    pub proto_names: bool,
}

impl Options {
    fn name<'a>(&self, field: &'a prost_reflect::FieldDescriptor) -> &'a str {
        match self.proto_names {
            true => field.name(),
            false => field.json_name(),
        }
    }
}

/// The message as JSON, mending the `Any`s in it that prost-reflect cannot print (`check`).
pub fn to_json(message: &DynamicMessage, options: &Options) -> serde_json::Result<Json> {
    if !needs(message) {
        return message.serialize_with_options(serde_json::value::Serializer, &options.serialize);
    }
    let desc = message.descriptor();
    if desc.full_name() == ANY {
        return Ok(any(message, options));
    }
    // The fields that hold such an `Any` are cleared, the rest printed by prost-reflect, and
    // the cleared ones put back in their place, made here.
    let mut rest = message.clone();
    let mut mended = Vec::new();
    for field in desc.fields() {
        if message.has_field(&field) && holds(&message.get_field(&field)) {
            rest.clear_field(&field);
            mended.push(field);
        }
    }
    let printed = rest.serialize_with_options(serde_json::value::Serializer, &options.serialize)?;
    let Json::Object(mut printed) = printed else {
        return Ok(printed);
    };
    for field in &mended {
        let value = match &*message.get_field(field) {
            Value::Message(m) => to_json(m, options)?,
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .map(|v| value(v, options))
                    .collect::<serde_json::Result<_>>()?,
            ),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| Ok((key(k), value(v, options)?)))
                    .collect::<serde_json::Result<_>>()?,
            ),
            _ => continue,
        };
        printed.insert(options.name(field).to_string(), value);
    }
    // In field order, as prost-reflect prints them (extensions after).
    let mut ordered = Map::new();
    for field in desc.fields() {
        let name = options.name(&field);
        if let Some(v) = printed.remove(name) {
            ordered.insert(name.to_string(), v);
        }
    }
    ordered.extend(printed);
    Ok(Json::Object(ordered))
}

const ANY: &str = "google.protobuf.Any";

/// A field's value that holds such an `Any`: a message, list or map of them.
fn holds(value: &Value) -> bool {
    match value {
        Value::Message(m) => needs(m),
        Value::List(items) => items.iter().any(holds),
        Value::Map(entries) => entries.values().any(holds),
        _ => false,
    }
}

/// `Any` values nested deeper than this are refused: prost-reflect's printer decodes every level
/// anew, in memory that grows with the square of the depth (a 2 MB response took gigabytes), and
/// a server chooses what it sends.
const ANY_DEPTH: usize = 64;

/// Whether printing `message` needs `to_json` (it holds an `Any` prost-reflect cannot print),
/// found in one walk that decodes each `Any` level once; an error when `Any`s nest past
/// `ANY_DEPTH`. Every message printed goes through it.
pub fn check(message: &DynamicMessage) -> anyhow::Result<bool> {
    walk(message, 0)
}

fn walk(message: &DynamicMessage, depth: usize) -> anyhow::Result<bool> {
    if depth > ANY_DEPTH {
        anyhow::bail!(
            "the message nests google.protobuf.Any more than {ANY_DEPTH} levels deep: rpcsh does not print it (a broken or hostile server)"
        );
    }
    fn visit(value: &Value, depth: usize) -> anyhow::Result<bool> {
        Ok(match value {
            Value::Message(m) => walk(m, depth)?,
            Value::List(items) => items
                .iter()
                .try_fold(false, |m, v| Ok::<_, anyhow::Error>(visit(v, depth)? || m))?,
            Value::Map(entries) => entries
                .values()
                .try_fold(false, |m, v| Ok::<_, anyhow::Error>(visit(v, depth)? || m))?,
            _ => false,
        })
    }
    if message.descriptor().full_name() == ANY {
        let (url, _) = parts(message);
        return match inner(message) {
            Some(inner) => Ok(walk(&inner, depth + 1)? || !url.contains('/')),
            None => Ok(true),
        };
    }
    message
        .fields()
        .try_fold(false, |mend, (_, v)| Ok(visit(v, depth)? || mend))
}

/// `check` where the depth was checked already (what `to_json` is given passed it).
fn needs(message: &DynamicMessage) -> bool {
    check(message).unwrap_or(true)
}

fn value(value: &Value, options: &Options) -> serde_json::Result<Json> {
    match value {
        Value::Message(m) => to_json(m, options),
        // Unreached: lists and maps of scalars hold no `Any`, so none is cleared for mending.
        _ => Ok(Json::Null),
    }
}

fn key(key: &MapKey) -> String {
    match key {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

fn parts(any: &DynamicMessage) -> (String, bytes::Bytes) {
    let field = |name| any.get_field_by_name(name);
    let url = field("type_url").and_then(|v| v.as_str().map(str::to_string));
    let bytes = field("value").and_then(|v| v.as_bytes().cloned());
    (url.unwrap_or_default(), bytes.unwrap_or_default())
}

/// The message an `Any` holds, when the schema knows its type: the URL's part after its last
/// `/`, or all of it.
fn inner(any: &DynamicMessage) -> Option<DynamicMessage> {
    let (url, bytes) = parts(any);
    let name = url.rsplit('/').next().unwrap_or(&url);
    let desc = any.descriptor().parent_pool().get_message_by_name(name)?;
    DynamicMessage::decode(desc, bytes).ok()
}

/// An `Any` as proto3 JSON: `@type` and the fields of what it holds (`value` for the types with
/// a JSON form of their own), or a placeholder when the schema lacks its type.
fn any(any: &DynamicMessage, options: &Options) -> Json {
    let (url, bytes) = parts(any);
    let mut out = Map::new();
    out.insert("@type".into(), Json::String(url.clone()));
    let held = inner(any).map(|m| {
        let special = is_special(&m);
        to_json(&m, options).map(|json| (json, special))
    });
    match held {
        Some(Ok((Json::Object(fields), false))) => out.extend(fields),
        Some(Ok((json, _))) => {
            out.insert("value".into(), json);
        }
        _ => {
            use base64::Engine;
            let name = url.rsplit('/').next().unwrap_or(&url);
            out.insert(
                "@error".into(),
                Json::String(format!(
                    "{name} is not in the schema: @value holds its bytes"
                )),
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            out.insert("@value".into(), Json::String(encoded));
        }
    }
    Json::Object(out)
}

/// The well-known types whose JSON is not an object of their fields.
fn is_special(message: &DynamicMessage) -> bool {
    let name = message.descriptor().full_name().to_string();
    let wrappers = [
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    ];
    match name.strip_prefix("google.protobuf.") {
        Some("Timestamp" | "Duration" | "FieldMask" | "Struct" | "Value" | "ListValue" | "Any") => {
            true
        }
        Some(short) => wrappers.contains(&short),
        None => false,
    }
}
