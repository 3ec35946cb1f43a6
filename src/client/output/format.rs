//! Turning what a call reports into text: response messages as proto3 JSON (pretty or one per
//! line) or protobuf text format, failed statuses with their decoded `google.rpc.Status`
//! details, the `-v` trace of headers and timings, and the proto-like text of `describe`. Writes
//! to any `impl Write`, so tests and the REPL can capture it.
use crate::client::schema::docs::Docs;
use crate::client::schema::Symbol;
use crate::client::wire::invoke::Handler;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, SerializeOptions, ServiceDescriptor,
};
use std::io::Write;
use std::time::Instant;
use tonic::metadata::{KeyAndValueRef, MetadataMap};

/// How response messages are written.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// proto3 JSON, indented.
    Json,
    /// proto3 JSON, one message per line.
    Jsonl,
    /// protobuf text format.
    Text,
}

/// Output settings of the message printer.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    pub emit_defaults: bool,
    pub proto_names: bool,
    /// Colour JSON (keys, strings, numbers) for a terminal.
    pub color: bool,
}

impl Style {
    fn serialize_options(&self) -> SerializeOptions {
        SerializeOptions::new()
            .skip_default_fields(!self.emit_defaults)
            .use_proto_field_name(self.proto_names)
    }

    fn any_options(&self) -> crate::client::output::any_json::Options {
        crate::client::output::any_json::Options {
            serialize: self.serialize_options(),
            proto_names: self.proto_names,
        }
    }
}

/// Writes one message in `style`, followed by a newline.
pub fn write_message(
    out: &mut impl Write,
    message: &DynamicMessage,
    style: &Style,
) -> anyhow::Result<()> {
    let mend = crate::client::output::any_json::check(message)?;
    let options = style.serialize_options();
    // An `Any` prost-reflect cannot print (a type URL without `/`, a type the schema lacks) is
    // mended through `any_json`; other messages print straight.
    let mended = match style.format != Format::Text && mend {
        true => Some(
            crate::client::output::any_json::to_json(message, &style.any_options())
                .map_err(print_error)?,
        ),
        false => None,
    };
    let printed = Printed {
        message,
        options: &options,
        mended: mended.as_ref(),
    };
    match style.format {
        Format::Json if style.color => {
            let pretty = serde_json::ser::PrettyFormatter::with_indent(b"  ");
            let formatter = colored_json::ColoredFormatter::new(pretty);
            let mut ser = serde_json::Serializer::with_formatter(&mut *out, formatter);
            serde::Serialize::serialize(&printed, &mut ser).map_err(print_error)?;
        }
        Format::Json => {
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
            let mut ser = serde_json::Serializer::with_formatter(&mut *out, formatter);
            serde::Serialize::serialize(&printed, &mut ser).map_err(print_error)?;
        }
        Format::Jsonl => {
            let mut ser = serde_json::Serializer::new(&mut *out);
            serde::Serialize::serialize(&printed, &mut ser).map_err(print_error)?;
        }
        // A blank line between messages: text format has no delimiter of its own.
        Format::Text => writeln!(out, "{:#}", message)?,
    }
    out.write_all(b"\n")?;
    Ok(())
}

/// A message as it is printed: mended JSON, or the message itself.
struct Printed<'a> {
    message: &'a DynamicMessage,
    options: &'a SerializeOptions,
    mended: Option<&'a serde_json::Value>,
}

impl serde::Serialize for Printed<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self.mended {
            Some(json) => json.serialize(ser),
            None => self.message.serialize_with_options(ser, self.options),
        }
    }
}

fn print_error(e: serde_json::Error) -> anyhow::Error {
    if e.is_io() {
        let io = std::io::Error::from(e);
        return anyhow::Error::new(io).context("cannot write the output");
    }
    crate::sys::error::Hint::new(
        format!("cannot print the response as JSON: {e}"),
        "a google.protobuf.Any holds a type the schema does not know; --format text shows it raw",
    )
    .into()
}

/// The call handler of the one-shot command: prints each message as it arrives, flushing when
/// no further message is ready, and keeps the counts and timings `-v` reports.
pub struct Printer<W: Write> {
    pub out: W,
    pub style: Style,
    pub received: usize,
    pub first_message: Option<Instant>,
    pub verbose: Option<Verbose>,
}

impl<W: Write> Handler for Printer<W> {
    fn on_headers(&mut self, headers: &MetadataMap) {
        if let Some(v) = &self.verbose {
            v.metadata("Response headers received", headers);
        }
    }

    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()> {
        self.first_message.get_or_insert_with(Instant::now);
        self.received += 1;
        if let Some(v) = self.verbose.filter(|v| v.sizes) {
            self.out.flush()?;
            v.line(format_args!(
                "Response message {}: {} bytes",
                self.received,
                prost::Message::encoded_len(&message)
            ));
        }
        write_message(&mut self.out, &message, &self.style)
    }

    fn on_idle(&mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }

    fn on_trailers(&mut self, trailers: &MetadataMap) {
        if let Some(v) = &self.verbose {
            v.metadata("Response trailers received", trailers);
        }
    }
}

/// The `-v` trace, on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Verbose {
    pub show_secrets: bool,
    /// `-vv`: the encoded size of each message, each way.
    pub sizes: bool,
}

impl Verbose {
    pub fn line(&self, text: impl std::fmt::Display) {
        eprintln!("{text}");
    }

    pub fn metadata(&self, title: &str, map: &MetadataMap) {
        let mut lines = Vec::new();
        for entry in map.iter() {
            match entry {
                KeyAndValueRef::Ascii(k, v) => {
                    let value = v.to_str().unwrap_or("<not text>");
                    lines.push(format!("{k}: {}", self.redact(k.as_str(), value)));
                }
                // As on the wire (base64), so the value can be checked or sent back with -H.
                KeyAndValueRef::Binary(k, v) => {
                    let value = String::from_utf8_lossy(v.as_encoded_bytes());
                    lines.push(format!("{k}: {}", self.redact(k.as_str(), &value)));
                }
            }
        }
        eprintln!(
            "{title}:{}",
            if lines.is_empty() {
                " (empty)".to_string()
            } else {
                String::new()
            }
        );
        for l in lines {
            eprintln!("  {l}");
        }
    }

    pub fn redact<'a>(&self, key: &str, value: &'a str) -> std::borrow::Cow<'a, str> {
        if !self.show_secrets && is_secret(key) {
            "<redacted: --show-secrets shows it>".into()
        } else {
            value.into()
        }
    }
}

/// Header names whose values are credentials.
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "cookie" | "proxy-authorization" | "set-cookie"
    ) || name.ends_with("-token")
        || name.ends_with("-key")
}

/// A failed call as the error the user sees: rpcsh's own message limit said so; a server's
/// status, or a call that broke off (`wire::status::broken`), as `ERROR: code = ...` exiting 64 + the
/// code; rpcsh's error with a hint where its settings are the likely cause (`status_error`).
pub fn call_failure(
    status: tonic::Status,
    pool: &DescriptorPool,
    first_exchange: bool,
    tls: bool,
) -> anyhow::Error {
    call_failure_as(status, pool, first_exchange, tls, false)
}

/// `call_failure`, a server's status rendered as JSON with `as_json` (`--format-error`).
pub fn call_failure_as(
    status: tonic::Status,
    pool: &DescriptorPool,
    first_exchange: bool,
    tls: bool,
    as_json: bool,
) -> anyhow::Error {
    if let Some(e) = crate::client::wire::status::client_limit(&status) {
        return e;
    }
    let status = crate::client::wire::status::client_deadline(status);
    let status = match crate::client::wire::status::broken(&status, first_exchange, tls) {
        Some(broken) => broken,
        None if crate::client::wire::status::transport_cause(&status).is_some() => {
            return crate::client::wire::status::status_error(
                status,
                "the call failed",
                first_exchange,
                tls,
            )
        }
        None => status,
    };
    let rendered = match as_json {
        true => {
            let json = status_json(Some(&status), pool);
            format!(
                "{}\n",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            )
        }
        false => render_status(&status, pool),
    };
    crate::sys::error::CallFailed {
        code: status.code(),
        rendered,
    }
    .into()
}

/// The `google.rpc.Status` of a failed call as a message: from `grpc-status-details-bin`, else
/// made of its code and message.
pub fn status_proto(status: &tonic::Status, pool: &DescriptorPool) -> Option<DynamicMessage> {
    let pool = crate::client::schema::with_status_types(pool);
    let desc = pool.get_message_by_name("google.rpc.Status")?;
    if !status.details().is_empty() {
        if let Ok(m) = DynamicMessage::decode(desc.clone(), status.details()) {
            return Some(m);
        }
    }
    let mut m = DynamicMessage::new(desc);
    let _ = m.transcode_from(&tonic_types::pb::Status {
        code: status.code() as i32,
        message: status.message().to_string(),
        details: Vec::new(),
    });
    Some(m)
}

/// The details of a failed call's status (`google.protobuf.Any`s), as far as they decode.
pub fn status_details(status: &tonic::Status, pool: &DescriptorPool) -> Vec<DynamicMessage> {
    if status.details().is_empty() {
        return Vec::new();
    }
    let Some(decoded) = status_proto(status, pool) else {
        return Vec::new();
    };
    let details = decoded.get_field_by_name("details");
    details
        .as_deref()
        .and_then(|d| d.as_list())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_message().cloned())
        .collect()
}

/// A message as proto3 JSON (what prost-reflect cannot print of an `Any` mended).
pub fn message_json(message: &DynamicMessage) -> anyhow::Result<serde_json::Value> {
    crate::client::output::any_json::check(message)?;
    let options = crate::client::output::any_json::Options {
        serialize: SerializeOptions::new(),
        proto_names: false,
    };
    Ok(crate::client::output::any_json::to_json(message, &options)?)
}

/// A call's end: `{"code": 0, "name": "OK", "message": "", "details": [...]}`, the details
/// decoded from `grpc-status-details-bin` where the schema knows their types.
pub fn status_json(
    status: Option<&tonic::Status>,
    pool: &prost_reflect::DescriptorPool,
) -> serde_json::Value {
    let Some(status) = status else {
        return serde_json::json!({"code": 0, "name": "OK", "message": "", "details": []});
    };
    let details: Vec<serde_json::Value> = status_details(status, pool)
        .iter()
        .map(|any| {
            message_json(any).unwrap_or_else(|e| serde_json::json!({"@error": e.to_string()}))
        })
        .collect();
    serde_json::json!({
        "code": status.code() as i32,
        "name": format!("{:?}", status.code()),
        "message": status.message(),
        "details": details,
    })
}

/// `ERROR: code = ..., message = ...`, a hint where one helps, and the decoded
/// `google.rpc.Status` details, one per line.
pub fn render_status(status: &tonic::Status, pool: &DescriptorPool) -> String {
    let mut text = format!(
        "{}: code = {:?}, message = {}\n",
        crate::sys::style::paint(
            crate::sys::style::stderr(),
            crate::sys::style::ERROR,
            "ERROR"
        ),
        status.code(),
        crate::sys::style::printable(status.message())
    );
    if let Some(hint) = crate::client::wire::status::status_hint(status) {
        text.push_str(&format!(
            "  {} {hint}\n",
            crate::sys::style::paint(
                crate::sys::style::stderr(),
                crate::sys::style::HINT,
                "hint:"
            )
        ));
    }
    if status.details().is_empty() {
        return text;
    }
    let pool = crate::client::schema::with_status_types(pool);
    let Some(desc) = pool.get_message_by_name("google.rpc.Status") else {
        return text;
    };
    let Ok(decoded) = DynamicMessage::decode(desc, status.details()) else {
        text.push_str(&format!(
            "  details: <{} bytes, not a google.rpc.Status>\n",
            status.details().len()
        ));
        return text;
    };
    let details = decoded.get_field_by_name("details");
    for any in details
        .as_deref()
        .and_then(|d| d.as_list())
        .unwrap_or_default()
    {
        let Some(any) = any.as_message() else {
            continue;
        };
        if let Err(e) = crate::client::output::any_json::check(any) {
            text.push_str(&format!("  details: <{e}>\n"));
            continue;
        }
        let options = crate::client::output::any_json::Options {
            serialize: SerializeOptions::new(),
            proto_names: false,
        };
        let json = crate::client::output::any_json::to_json(any, &options)
            .map(|json| json.to_string())
            .unwrap_or_else(|e| format!("<{e}>"));
        text.push_str(&format!("  details: {json}\n"));
    }
    text
}

/// A `.Type` reference as protoc prints it.
fn type_name(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Message(m) if field.is_map() => {
            let (k, v) = (m.map_entry_key_field(), m.map_entry_value_field());
            format!("map<{}, {}>", type_name(&k), type_name(&v))
        }
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
        kind => format!("{kind:?}").to_ascii_lowercase(),
    }
}

/// What `describe` shows: what the symbol is, then its proto-like text.
/// A symbol as proto-like text, with the doc comments `docs` holds for it and what it holds.
pub fn describe_symbol(symbol: &Symbol, docs: &Docs) -> String {
    let text = match symbol {
        Symbol::Service(s) => format!(
            "{} is a service:\n{}",
            s.full_name(),
            describe_service(s, docs)
        ),
        Symbol::Method(m) => {
            let mut text = format!("{} is a method:\n", m.full_name());
            leading(&mut text, "", docs, m.full_name());
            text.push_str(&describe_method(m));
            text.push_str(&trailing(docs, m.full_name()));
            text.push('\n');
            text
        }
        Symbol::Message(m) => {
            let mut text = format!("{} is a message:\n", m.full_name());
            write_message_desc(&mut text, m, 0, docs);
            text
        }
        Symbol::Enum(e) => format!(
            "{} is an enum:\n{}",
            e.full_name(),
            describe_enum_named(e, e.full_name(), docs)
        ),
    };
    crate::sys::style::printable(&text).into_owned()
}

/// The comment lines before a definition, at its indent.
fn leading(text: &mut String, pad: &str, docs: &Docs, name: &str) {
    let Some(comment) = docs.get(name) else {
        return;
    };
    for line in comment.leading.trim_end_matches('\n').lines() {
        let line = line.strip_prefix(' ').unwrap_or(line).trim_end();
        match line.is_empty() {
            true => text.push_str(&format!("{pad}//\n")),
            false => text.push_str(&format!("{pad}// {line}\n")),
        }
    }
}

/// A definition's trailing comment, for the end of its line.
fn trailing(docs: &Docs, name: &str) -> String {
    let comment = docs.get(name).map(|c| c.trailing.trim()).unwrap_or("");
    match comment.is_empty() {
        true => String::new(),
        false => format!("  // {}", comment.lines().collect::<Vec<_>>().join(" ")),
    }
}

pub fn describe_method(m: &MethodDescriptor) -> String {
    let stream = |s: bool| if s { "stream " } else { "" };
    format!(
        "rpc {}({}.{}) returns ({}.{});",
        m.name(),
        stream(m.is_client_streaming()),
        m.input().full_name(),
        stream(m.is_server_streaming()),
        m.output().full_name()
    )
}

fn describe_service(s: &ServiceDescriptor, docs: &Docs) -> String {
    let mut text = String::new();
    leading(&mut text, "", docs, s.full_name());
    text.push_str(&format!(
        "service {} {{{}\n",
        s.full_name(),
        trailing(docs, s.full_name())
    ));
    for m in s.methods() {
        leading(&mut text, "  ", docs, m.full_name());
        text.push_str(&format!(
            "  {}{}\n",
            describe_method(&m),
            trailing(docs, m.full_name())
        ));
    }
    text.push_str("}\n");
    text
}

fn write_message_desc(text: &mut String, m: &MessageDescriptor, depth: usize, docs: &Docs) {
    let pad = "  ".repeat(depth);
    let name = if depth == 0 { m.full_name() } else { m.name() };
    leading(text, &pad, docs, m.full_name());
    text.push_str(&format!(
        "{pad}message {name} {{{}\n",
        trailing(docs, m.full_name())
    ));
    let field_line = |text: &mut String, pad: &str, f: &FieldDescriptor, label: &str| {
        leading(text, pad, docs, f.full_name());
        text.push_str(&format!(
            "{pad}{label}{} {} = {};{}\n",
            type_name(f),
            f.name(),
            f.number(),
            trailing(docs, f.full_name())
        ));
    };
    let mut oneofs_done = Vec::new();
    for f in m.fields() {
        if let Some(oneof) = f.containing_oneof().filter(|o| !o.is_synthetic()) {
            if oneofs_done.contains(&oneof.name().to_string()) {
                continue;
            }
            oneofs_done.push(oneof.name().to_string());
            leading(text, &format!("{pad}  "), docs, oneof.full_name());
            text.push_str(&format!("{pad}  oneof {} {{\n", oneof.name()));
            for of in oneof.fields() {
                field_line(text, &format!("{pad}    "), &of, "");
            }
            text.push_str(&format!("{pad}  }}\n"));
            continue;
        }
        let label = if f.is_map() {
            ""
        } else if f.is_list() {
            "repeated "
        } else if f.cardinality() == prost_reflect::Cardinality::Required {
            "required "
        } else if f.supports_presence() && f.containing_oneof().is_some() {
            "optional "
        } else {
            ""
        };
        field_line(text, &format!("{pad}  "), &f, label);
    }
    for nested in m.child_messages().filter(|n| !n.is_map_entry()) {
        write_message_desc(text, &nested, depth + 1, docs);
    }
    for e in m.child_enums() {
        text.push_str(&indent(&describe_enum_named(&e, e.name(), docs), depth + 1));
    }
    text.push_str(&format!("{pad}}}\n"));
}

fn indent(text: &str, depth: usize) -> String {
    let pad = "  ".repeat(depth);
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

fn describe_enum_named(e: &EnumDescriptor, name: &str, docs: &Docs) -> String {
    let mut text = String::new();
    leading(&mut text, "", docs, e.full_name());
    text.push_str(&format!(
        "enum {name} {{{}\n",
        trailing(docs, e.full_name())
    ));
    for v in e.values() {
        let full = format!("{}.{}", e.full_name(), v.name());
        leading(&mut text, "  ", docs, &full);
        text.push_str(&format!(
            "  {} = {};{}\n",
            v.name(),
            v.number(),
            trailing(docs, &full)
        ));
    }
    text.push_str("}\n");
    text
}

/// A JSON skeleton of `m`, every field at its default (one member of each oneof, one element of
/// each list and map); and, when the type is too big to show whole, a note saying where it was
/// cut. A schema is the server's to choose: a chain of types 10,000 deep, or a diamond that
/// doubles at every level, must neither overflow the stack nor fill the memory.
pub fn template(m: &MessageDescriptor) -> (serde_json::Value, Option<String>) {
    let mut budget = Budget {
        path: Vec::new(),
        values: 0,
        cut: false,
    };
    let value = template_of(m, &mut budget);
    let note = budget.cut.then(|| {
        format!(
            "the template of {} is cut at {TEMPLATE_DEPTH} levels and {TEMPLATE_VALUES} values (`{{}}` past them): the type nests deeper or wider than that",
            m.full_name()
        )
    });
    (value, note)
}

const TEMPLATE_DEPTH: usize = 32;
const TEMPLATE_VALUES: usize = 20_000;

/// How much of a template has been made: the message types on the way down (a recursive type is
/// shown one level deep), and the values so far.
struct Budget {
    path: Vec<String>,
    values: usize,
    cut: bool,
}

fn template_of(m: &MessageDescriptor, budget: &mut Budget) -> serde_json::Value {
    use serde_json::{json, Value};
    match m.full_name() {
        "google.protobuf.Timestamp" => return json!("1970-01-01T00:00:00Z"),
        "google.protobuf.Duration" => return json!("0s"),
        "google.protobuf.FieldMask" => return json!(""),
        "google.protobuf.Struct" => return json!({}),
        "google.protobuf.Value" => return Value::Null,
        "google.protobuf.ListValue" => return json!([]),
        "google.protobuf.Any" => return json!({"@type": ""}),
        "google.protobuf.Empty" => return json!({}),
        name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
            return m
                .get_field_by_name("value")
                .map_or(Value::Null, |f| scalar_template(&f, budget));
        }
        _ => {}
    }
    if budget.path.iter().any(|s| s == m.full_name()) {
        return json!({}); // recursive type: one level is enough to show its shape
    }
    if budget.path.len() >= TEMPLATE_DEPTH || budget.values >= TEMPLATE_VALUES {
        budget.cut = true;
        return json!({});
    }
    budget.path.push(m.full_name().to_string());
    let mut object = serde_json::Map::new();
    let mut oneofs_done: Vec<String> = Vec::new();
    for f in m.fields() {
        if let Some(o) = f.containing_oneof().filter(|o| !o.is_synthetic()) {
            if oneofs_done.contains(&o.name().to_string()) {
                continue; // one member of each oneof: setting two is an error
            }
            oneofs_done.push(o.name().to_string());
        }
        budget.values += 1;
        let value = if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                unreachable!("map fields are messages")
            };
            let key = scalar_template(&entry.map_entry_key_field(), budget);
            let key = match key {
                Value::String(s) if s.is_empty() => "key".to_string(),
                other => other.to_string().trim_matches('"').to_string(),
            };
            json!({ key: scalar_template(&entry.map_entry_value_field(), budget) })
        } else if f.is_list() {
            json!([scalar_template(&f, budget)])
        } else {
            scalar_template(&f, budget)
        };
        object.insert(f.json_name().to_string(), value);
    }
    budget.path.pop();
    Value::Object(object)
}

fn scalar_template(f: &FieldDescriptor, budget: &mut Budget) -> serde_json::Value {
    use serde_json::json;
    match f.kind() {
        Kind::Message(m) => template_of(&m, budget),
        Kind::Enum(e) => json!(e.default_value().name()),
        Kind::Bool => json!(false),
        Kind::String | Kind::Bytes => json!(""),
        Kind::Int64 | Kind::Uint64 | Kind::Sint64 | Kind::Fixed64 | Kind::Sfixed64 => json!("0"),
        Kind::Double | Kind::Float => json!(0.0),
        _ => json!(0),
    }
}

/// The descriptor of a symbol as JSON: its `*DescriptorProto`, as protoc would encode it.
pub fn descriptor_json(bytes: Vec<u8>, proto_type: &str) -> anyhow::Result<serde_json::Value> {
    let desc = DescriptorPool::global()
        .get_message_by_name(proto_type)
        .ok_or_else(|| anyhow::anyhow!("no descriptor type {proto_type}"))?;
    let message = DynamicMessage::decode(desc, bytes.as_slice())?;
    Ok(serde_json::to_value(&message)?)
}

/// Encodes a prost message (used for descriptor protos).
pub fn encode(m: &impl Message) -> Vec<u8> {
    m.encode_to_vec()
}
