//! A request's types built as far as its JSON goes (`Schema::lazy_request`): after a shallow
//! build a method's request is one level deep, the messages past it stubs; the JSON is walked
//! against the pool, the stubs it fills are expanded, and the pool built again until none is
//! left. A call on a schema whose request reaches 100,000 types builds the few its `{}` names.
use super::Schema;
use prost_reflect::{Kind, MessageDescriptor, MethodDescriptor};
use serde_json::Value;
use std::collections::HashSet;

/// Rounds of expansion before the rest of the request is built whole.
const ROUNDS: usize = 64;

impl Schema {
    /// `method` again, from a pool that holds every message type the request `text` (JSON
    /// messages one after another) fills. Text that is not JSON is left for the parser to
    /// report.
    pub async fn expand_request(
        &mut self,
        mut method: MethodDescriptor,
        text: &str,
    ) -> anyhow::Result<MethodDescriptor> {
        if !self.reflected.lazy_request {
            return Ok(method);
        }
        // Types an `Any`'s `@type` names that the pool lacks, asked for once each.
        let mut asked = HashSet::new();
        for round in 0.. {
            let mut needs = Needs::default();
            // Parsed again each round, one message at a time: a bench's data file may hold
            // millions of them.
            let values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
            for v in values.map_while(Result::ok) {
                filled(&method.input(), &v, &mut needs);
            }
            let Needs { mut stubs, absent } = needs;
            let expanded = self.reflected.shallow.get_or_insert_with(Default::default);
            stubs.retain(|s| !expanded.contains(s));
            let absent: Vec<String> = absent
                .into_iter()
                .filter(|n| asked.insert(n.clone()))
                .collect();
            if stubs.is_empty() && absent.is_empty() {
                return Ok(method);
            }
            let grown = !stubs.is_empty();
            match round < ROUNDS {
                true => expanded.extend(stubs),
                // As deep as that: the request is built whole.
                false => self.reflected.lazy_request = false,
            }
            for name in absent {
                // One the source does not know is left for the parser to name.
                let _ = self.load_symbol(&name).await;
            }
            if grown {
                self.rebuild().await?;
            }
            let name = method.full_name().to_string();
            method = self
                .pool
                .get_service_by_name(method.parent_service().full_name())
                .and_then(|s| s.methods().find(|m| m.full_name() == name))
                .ok_or_else(|| anyhow::anyhow!("{name} is gone from the rebuilt schema"))?;
        }
        unreachable!("the loop returns")
    }
}

/// What a request's JSON needs built: stub messages (no fields here, though the JSON gives
/// some) and types `Any`s name that the pool lacks.
#[derive(Default)]
struct Needs {
    stubs: HashSet<String>,
    absent: HashSet<String>,
}

/// Adds to `out` what `value`, a `message`, needs built.
fn filled(message: &MessageDescriptor, value: &Value, out: &mut Needs) {
    let Value::Object(fields) = value else {
        return;
    };
    if message.full_name() == "google.protobuf.Any" {
        // `{"@type": ".../pkg.Msg", ...the message's fields}`: the fields are Msg's.
        let Some(Value::String(url)) = fields.get("@type") else {
            return;
        };
        let name = url.rsplit('/').next().unwrap_or(url);
        match message.parent_pool().get_message_by_name(name) {
            // A well-known type's own JSON form is under "value" (an Any's too: it goes on).
            Some(held) if held.full_name().starts_with("google.protobuf.") => {
                if let Some(inner) = fields.get("value") {
                    filled(&held, inner, out);
                }
            }
            Some(held) => filled(&held, value, out),
            None => {
                out.absent.insert(name.to_string());
            }
        }
        return;
    }
    // The well-known types have JSON forms of their own, and come whole.
    if message.full_name().starts_with("google.protobuf.") {
        return;
    }
    if message.fields().len() == 0 {
        if fields.keys().any(|k| k != "@type") {
            out.stubs.insert(message.full_name().to_string());
        }
        return;
    }
    for (key, v) in fields {
        let Some(field) = message
            .get_field_by_json_name(key)
            .or_else(|| message.get_field_by_name(key))
        else {
            continue;
        };
        let Kind::Message(m) = field.kind() else {
            continue;
        };
        if field.is_map() {
            let value_field = m.map_entry_value_field();
            if let (Kind::Message(vm), Value::Object(entries)) = (value_field.kind(), v) {
                for entry in entries.values() {
                    filled(&vm, entry, out);
                }
            }
        } else if let Value::Array(items) = v {
            for item in items {
                filled(&m, item, out);
            }
        } else {
            filled(&m, v, out);
        }
    }
}
