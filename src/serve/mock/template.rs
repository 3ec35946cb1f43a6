//! Answers written to name the request: `${request.a.b}` in a stub's JSON filled in from the
//! call's request, per call, and checked against the response type then.
use prost_reflect::{DynamicMessage, MessageDescriptor};
use serde_json::Value;
use tonic::Status;

type Answered = Result<Vec<DynamicMessage>, Status>;

/// A stub's messages: built once, or, when they name the request (`${request.name}`), built
/// for each call from the JSON.
#[derive(Clone)]
pub(super) enum Reply {
    Built(Vec<DynamicMessage>),
    Templated(MessageDescriptor, Vec<Value>),
}

impl Reply {
    pub(super) fn messages(&self, request: Option<&Value>) -> Answered {
        let (output, values) = match self {
            Reply::Built(messages) => return Ok(messages.clone()),
            Reply::Templated(output, values) => (output, values),
        };
        values
            .iter()
            .map(|v| {
                let filled = fill(v, request.unwrap_or(&Value::Null));
                DynamicMessage::deserialize(output.clone(), filled).map_err(|e| {
                    Status::internal(format!(
                        "the templated answer is not a {}: {e}",
                        output.full_name()
                    ))
                })
            })
            .collect()
    }
}

pub(super) fn templated(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("${request."),
        Value::Array(items) => items.iter().any(templated),
        Value::Object(map) => map.values().any(templated),
        _ => false,
    }
}

/// `value` with each `${request.a.b}` replaced by that field of `request`: a string that is
/// one template whole takes the field's value (a number stays a number), others its text.
fn fill(value: &Value, request: &Value) -> Value {
    let field = |path: &str| {
        path.split('.')
            .try_fold(request, |v, part| v.get(part))
            .cloned()
            .unwrap_or(Value::Null)
    };
    match value {
        Value::String(s) => {
            if let Some(path) = s
                .strip_prefix("${request.")
                .and_then(|p| p.strip_suffix('}'))
                .filter(|p| !p.contains('}'))
            {
                return field(path);
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find("${request.") {
                out.push_str(&rest[..i]);
                let after = &rest[i + "${request.".len()..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[i..]);
                    rest = "";
                    break;
                };
                match field(&after[..end]) {
                    Value::String(text) => out.push_str(&text),
                    Value::Null => {}
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[end + 1..];
            }
            Value::String(out + rest)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| fill(i, request)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, request)))
                .collect(),
        ),
        other => other.clone(),
    }
}
