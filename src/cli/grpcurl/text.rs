//! The protobuf text format grpcurl prints: jhump's `MarshalTextIndent` for the schema's
//! messages (proto names, fields by number, `<` `>` around messages, bytes outside printable
//! ASCII in octal) and golang's text marshaller for the well-known types.
use super::go::{float, is_well_known, map_key_order, scalar, INDENT};
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};

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

/// A quoted string with the C escapes and every other byte outside printable ASCII in octal,
/// as jhump's and golang's text writers quote strings and bytes alike.
pub fn octal_string(out: &mut String, bytes: &[u8]) {
    out.push_str(&crate::client::schema::quote_literal(bytes, false));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_outside_ascii_in_octal() {
        let mut o = String::new();
        octal_string(&mut o, "é\n".as_bytes());
        assert_eq!(o, "\"\\303\\251\\n\"");
    }
}
