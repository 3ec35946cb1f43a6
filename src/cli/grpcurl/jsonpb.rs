//! golang protobuf 1.5's jsonpb, as grpcurl uses it for the well-known types jhump hands over:
//! its own indentation (restarting at the left margin, as grpcurl 1.8 shows it), Duration and
//! Timestamp strings, and `Any`s of the schema's messages compact with their keys sorted.
use super::go::{
    go_json_float, go_string, is_well_known, map_key_order, map_key_text, scalar, INDENT,
};
use base64::Engine;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};
use std::collections::BTreeMap;

pub(super) struct Jsonpb<'a> {
    pub(super) out: String,
    pub(super) indented: bool,
    pub(super) emit_defaults: bool,
    /// How a message of the schema inside an `Any` is written, compact (jhump's writer).
    pub(super) schema_message: &'a dyn Fn(&DynamicMessage) -> String,
}

impl Jsonpb<'_> {
    pub(super) fn message(&mut self, m: &DynamicMessage, indent: &str) {
        if self.special(m, indent) {
            return;
        }
        let desc = m.descriptor();
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

    /// The well-known types jsonpb writes as JSON's own values; false for the rest.
    fn special(&mut self, m: &DynamicMessage, indent: &str) -> bool {
        let desc = m.descriptor();
        let get = |n: u32| {
            desc.get_field(n)
                .map(|f| m.get_field(&f).into_owned())
                .unwrap_or(Value::Bool(false))
        };
        match desc.full_name().strip_prefix("google.protobuf.") {
            Some("Any") => self.any(m, indent),
            Some(
                "BoolValue" | "BytesValue" | "StringValue" | "Int32Value" | "UInt32Value"
                | "FloatValue" | "Int64Value" | "UInt64Value" | "DoubleValue" | "Struct"
                | "ListValue",
            ) => {
                let Some(f) = desc.get_field(1) else {
                    return false;
                };
                self.value(&f, &get(1), indent);
            }
            Some("Duration") => {
                let (s, ns) = (
                    get(1).as_i64().unwrap_or(0),
                    get(2).as_i32().unwrap_or(0) as i64,
                );
                let (sign, s, ns) = if s < 0 || ns < 0 {
                    ("-", s.unsigned_abs(), ns.unsigned_abs())
                } else {
                    ("", s.unsigned_abs(), ns.unsigned_abs())
                };
                let x = trim_nanos(format!("{sign}{s}.{ns:09}"));
                self.out.push_str(&format!("\"{x}s\""));
            }
            Some("Timestamp") => {
                let (s, ns) = (get(1).as_i64().unwrap_or(0), get(2).as_i32().unwrap_or(0));
                self.out.push_str(&format!("\"{}Z\"", chrono_like(s, ns)));
            }
            Some("Value") => match desc.fields().find(|f| m.has_field(f)) {
                Some(f) => self.value(&f, &m.get_field(&f), indent),
                None => self.out.push_str("null"),
            },
            _ => return false,
        }
        true
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
        // grpcurl knows the well-known types whatever the server sends (golang's registry).
        let inner = desc
            .parent_pool()
            .get_message_by_name(name)
            .or_else(|| crate::client::schema::well_known().get_message_by_name(name))
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
            let written = (self.schema_message)(&inner);
            let mut fields: BTreeMap<String, String> = serde_json::from_str::<
                BTreeMap<String, Box<serde_json::value::RawValue>>,
            >(&written)
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
#[cfg(test)]
mod tests {
    use super::*;

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
