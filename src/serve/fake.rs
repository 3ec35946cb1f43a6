//! Messages made up from a schema, the same for the same seed: what `serve --mock --fake`
//! answers a method no stub covers with. Every field is set — a value of its type, lists of one
//! or two, maps of one entry, one member of each oneof — down to a bounded depth (schemas
//! recurse); the well-known types whose JSON has rules of its own get values that keep them.
use prost_reflect::{DynamicMessage, Kind, MapKey, MessageDescriptor, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

const DEPTH: usize = 4;
const WORDS: [&str; 8] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
];

/// Left unset: an Any needs a type, a Value a kind, a FieldMask paths that survive camel case.
const SKIPPED: [&str; 5] = [
    "google.protobuf.Any",
    "google.protobuf.Value",
    "google.protobuf.Struct",
    "google.protobuf.ListValue",
    "google.protobuf.FieldMask",
];

/// A generator seeded with `seed` and `name` (a method's): each method its own answers.
pub fn rng(seed: u64, name: &str) -> StdRng {
    let mixed = name.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    StdRng::seed_from_u64(mixed)
}

pub fn message(desc: &MessageDescriptor, rng: &mut StdRng) -> DynamicMessage {
    fill(desc, rng, 0)
}

fn fill(desc: &MessageDescriptor, rng: &mut StdRng, depth: usize) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    match desc.full_name() {
        "google.protobuf.Timestamp" => {
            message.set_field_by_name("seconds", Value::I64(rng.random_range(0..2_000_000_000)));
            return message;
        }
        "google.protobuf.Duration" => {
            message.set_field_by_name("seconds", Value::I64(rng.random_range(0..100_000)));
            return message;
        }
        name if SKIPPED.contains(&name) || depth >= DEPTH => return message,
        _ => {}
    }
    let mut oneofs = HashSet::new();
    for field in desc.fields() {
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            if !oneofs.insert(oneof.name().to_string()) {
                continue;
            }
        }
        let kind = field.kind();
        let value = if field.is_map() {
            let Some(entry) = kind.as_message() else {
                continue;
            };
            let key = map_key(&entry.map_entry_key_field().kind(), rng);
            let value = single(&entry.map_entry_value_field().kind(), rng, depth);
            match (key, value) {
                (Some(k), Some(v)) => Some(Value::Map(HashMap::from([(k, v)]))),
                _ => None,
            }
        } else if field.is_list() {
            let n = rng.random_range(1..=2);
            let items: Vec<Value> = (0..n).filter_map(|_| single(&kind, rng, depth)).collect();
            Some(Value::List(items))
        } else {
            single(&kind, rng, depth)
        };
        if let Some(value) = value {
            message.set_field(&field, value);
        }
    }
    message
}

fn word(rng: &mut StdRng) -> String {
    let w = WORDS[rng.random_range(0..WORDS.len())];
    format!("{w}-{}", rng.random_range(0..1000))
}

fn single(kind: &Kind, rng: &mut StdRng, depth: usize) -> Option<Value> {
    Some(match kind {
        Kind::Double => Value::F64(f64::from(rng.random_range(-1000..1000)) / 4.0),
        Kind::Float => Value::F32(rng.random_range(-1000i16..1000) as f32 / 4.0),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(rng.random_range(-1000..1000)),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(rng.random_range(-1000..1000)),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.random_range(0..1000)),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.random_range(0..1000)),
        Kind::Bool => Value::Bool(rng.random()),
        Kind::String => Value::String(word(rng)),
        Kind::Bytes => Value::Bytes(word(rng).into_bytes().into()),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            Value::EnumNumber(*values.get(rng.random_range(0..values.len().max(1)))?)
        }
        Kind::Message(m) if SKIPPED.contains(&m.full_name()) => return None,
        Kind::Message(m) => Value::Message(fill(m, rng, depth + 1)),
    })
}

fn map_key(kind: &Kind, rng: &mut StdRng) -> Option<MapKey> {
    Some(match single(kind, rng, DEPTH)? {
        Value::String(s) => MapKey::String(s),
        Value::I32(n) => MapKey::I32(n),
        Value::I64(n) => MapKey::I64(n),
        Value::U32(n) => MapKey::U32(n),
        Value::U64(n) => MapKey::U64(n),
        Value::Bool(b) => MapKey::Bool(b),
        _ => return None,
    })
}
