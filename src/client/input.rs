//! Request data: JSON text given inline, as `@file`, or on stdin, turned into protobuf messages
//! of the method's input type. Errors say where (line:column) and what; stdin is read message
//! by message so a stream can be fed by hand or by a pipe.
use crate::sys::error::Hint;
use anyhow::{anyhow, bail, Context};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor};
use serde::de::IgnoredAny;
use std::io::Read;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Where the request messages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// No data: one empty message for unary and server-streaming methods, none for streams.
    None,
    Inline(String),
    File(PathBuf),
    Stdin,
}

impl Data {
    /// `-` or `@-` is stdin, `@path` a file, anything else JSON text.
    pub fn parse(arg: Option<&str>) -> Data {
        match arg {
            None => Data::None,
            Some("-") | Some("@-") => Data::Stdin,
            Some(a) if a.starts_with('@') => Data::File(PathBuf::from(&a[1..])),
            Some(a) => Data::Inline(a.to_string()),
        }
    }

    /// Where the data comes from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Data::None => "no data".into(),
            Data::Inline(_) => "the request text".into(),
            Data::File(path) => format!("request file {}", path.display()),
            Data::Stdin => "stdin".into(),
        }
    }

    /// The bytes of binary data: inline data is base64.
    pub fn read_bytes(&self) -> anyhow::Result<Vec<u8>> {
        use base64::Engine;
        match self {
            Data::None => Ok(Vec::new()),
            Data::Inline(text) => base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim()))
                .map_err(|e| anyhow!("inline binary data is base64: {e}")),
            Data::File(path) => std::fs::read(path)
                .with_context(|| format!("cannot read request file {}", path.display())),
            Data::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .context("cannot read the request from stdin")?;
                Ok(bytes)
            }
        }
    }

    /// The whole text of inline or file data.
    pub fn read_text(&self) -> anyhow::Result<String> {
        match self {
            Data::None => Ok(String::new()),
            Data::Inline(text) => Ok(text.clone()),
            Data::File(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read request file {}", path.display())),
            Data::Stdin => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the request from stdin")?;
                Ok(text)
            }
        }
    }
}

/// How request data is read: its format, and how lenient the JSON mapping is.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    pub allow_unknown_fields: bool,
    pub format: DataFormat,
}

/// `--data-format`: what request data is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    /// Proto3 JSON: a message per JSON object.
    #[default]
    Json,
    /// Protobuf text format: messages separated by the record separator (0x1E), as grpcurl's.
    Text,
    /// Encoded protobuf (base64 when inline): one message, or length-delimited messages (a
    /// varint length before each) for a client stream.
    Binary,
}

impl ParseOptions {
    fn deserialize(&self) -> DeserializeOptions {
        DeserializeOptions::new().deny_unknown_fields(!self.allow_unknown_fields)
    }
}

/// Parses protobuf text format messages separated by 0x1E (grpcurl's record separator).
/// Blank text is no message.
pub fn parse_text_messages(
    text: &str,
    desc: &MessageDescriptor,
) -> anyhow::Result<Vec<DynamicMessage>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split('\x1e')
        .enumerate()
        .map(|(i, chunk)| {
            DynamicMessage::parse_text_format(desc.clone(), chunk).map_err(|e| {
                anyhow!(
                    "invalid request text (message {}) for {}: {e}",
                    i + 1,
                    desc.full_name()
                )
            })
        })
        .collect()
}

/// Decodes encoded protobuf: the whole of `bytes` as one message, or, for a stream, messages
/// each after its varint length.
pub fn parse_binary_messages(
    bytes: &[u8],
    desc: &MessageDescriptor,
    delimited: bool,
) -> anyhow::Result<Vec<DynamicMessage>> {
    let decode = |b: &[u8], i: usize| {
        DynamicMessage::decode(desc.clone(), b).map_err(|e| {
            anyhow!(
                "invalid binary request (message {i}) for {}: {e}",
                desc.full_name()
            )
        })
    };
    if !delimited {
        return Ok(vec![decode(bytes, 1)?]);
    }
    let mut rest = bytes;
    let mut messages = Vec::new();
    while !rest.is_empty() {
        let len = prost::encoding::decode_varint(&mut rest).map_err(|e| {
            anyhow!(
                "invalid length before binary message {}: {e}",
                messages.len() + 1
            )
        })?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= rest.len())
            .ok_or_else(|| {
                anyhow!(
                    "binary message {} says {len} bytes, but {} remain",
                    messages.len() + 1,
                    rest.len()
                )
            })?;
        messages.push(decode(&rest[..len], messages.len() + 1)?);
        rest = &rest[len..];
    }
    Ok(messages)
}

/// Parses a sequence of JSON values (newline-delimited or concatenated) as `desc` messages.
/// Nothing is returned unless every message is valid.
pub fn parse_messages(
    text: &str,
    desc: &MessageDescriptor,
    options: ParseOptions,
) -> anyhow::Result<Vec<DynamicMessage>> {
    let mut messages = Vec::new();
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
    let mut start = 0;
    loop {
        // Where the next value starts: after the whitespace that follows the previous one.
        let rest = &text[start..];
        let skipped = rest.len() - rest.trim_start().len();
        match values.next() {
            None => break,
            Some(Err(e)) => return Err(json_error(&e, text, 0, desc)),
            Some(Ok(IgnoredAny)) => {}
        }
        let value_start = start + skipped;
        let end = values.byte_offset();
        let slice = &text[value_start..end];
        check_big_integers(text, value_start, end, desc)?;
        let message = if slice.contains("\"@file:") {
            // Files read into bytes fields: the JSON is rewritten first (its errors lose their
            // positions, which would point into the rewritten text).
            let mut value: serde_json::Value = serde_json::from_str(slice)?;
            read_files_into_bytes(&mut value, desc)?;
            DynamicMessage::deserialize_with_options(desc.clone(), value, &options.deserialize())
                .map_err(|e| anyhow::anyhow!("invalid request JSON: {e}"))?
        } else {
            let mut de = serde_json::Deserializer::from_str(slice);
            DynamicMessage::deserialize_with_options(desc.clone(), &mut de, &options.deserialize())
                .map_err(|e| json_error(&e, text, value_start, desc))?
        };
        messages.push(message);
        start = end;
    }
    Ok(messages)
}

/// `"@file:PATH"` in a `bytes` field (of the message or any message in it, lists and map values
/// included) becomes the file's contents, as the base64 the JSON mapping takes.
fn read_files_into_bytes(
    value: &mut serde_json::Value,
    desc: &MessageDescriptor,
) -> anyhow::Result<()> {
    use base64::Engine;
    visit_fields(value, desc, &mut |key, kind, item| match (kind, item) {
        (prost_reflect::Kind::Bytes, serde_json::Value::String(s)) if s.starts_with("@file:") => {
            let path = &s["@file:".len()..];
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read {path} for field {key}"))?;
            *s = base64::engine::general_purpose::STANDARD.encode(bytes);
            Ok(true)
        }
        _ => Ok(false),
    })
}

/// Calls `visit` on each value of request JSON `value` (a message of `desc`) with its field's
/// name and the value's kind — list elements and map values one at a time — and walks into the
/// message values it leaves (`Ok(false)`), for rewrites the JSON mapping needs first.
pub fn visit_fields(
    value: &mut serde_json::Value,
    desc: &MessageDescriptor,
    visit: &mut dyn FnMut(
        &str,
        &prost_reflect::Kind,
        &mut serde_json::Value,
    ) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    use prost_reflect::Kind;
    let serde_json::Value::Object(map) = value else {
        return Ok(());
    };
    for (key, v) in map.iter_mut() {
        let Some(field) = desc
            .get_field_by_json_name(key)
            .or_else(|| desc.get_field_by_name(key))
        else {
            continue;
        };
        let items: Vec<&mut serde_json::Value> = match v {
            serde_json::Value::Array(list) if field.is_list() => list.iter_mut().collect(),
            serde_json::Value::Object(m) if field.is_map() => m.values_mut().collect(),
            other => vec![other],
        };
        let kind = match field.kind() {
            Kind::Message(m) if field.is_map() => m.map_entry_value_field().kind(),
            k => k,
        };
        for item in items {
            if visit(key, &kind, item)? {
                continue;
            }
            if let Kind::Message(m) = &kind {
                visit_fields(item, m, visit)?;
            }
        }
    }
    Ok(())
}

/// Integer literals beyond 64 bits reach prost-reflect as floats, and 2^64 (or 2^63) as a float
/// passes its range check and saturates: a wrong value sent without a word. Such a literal for an
/// integer field is refused here instead, with its position.
fn check_big_integers(
    text: &str,
    start: usize,
    end: usize,
    desc: &MessageDescriptor,
) -> anyhow::Result<()> {
    let bytes = text.as_bytes();
    let (mut i, mut string_start) = (start, None);
    // The key a value follows, and the keys that opened the objects and lists around it: a map
    // value or a list element belongs to the field whose key opened its container.
    let (mut last_string, mut key, mut containers) = (None, None, Vec::new());
    while i < end {
        let c = bytes[i];
        if let Some(from) = string_start {
            match c {
                b'\\' => i += 1,
                b'"' => {
                    last_string = Some(&text[from + 1..i]);
                    string_start = None;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => string_start = Some(i),
            b':' => key = last_string.take(),
            b'{' | b'[' => containers.push(key.take()),
            b'}' | b']' => {
                containers.pop();
            }
            b',' => key = None,
            b'-' | b'0'..=b'9' => {
                let from = i;
                while i < end && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let token = &text[from..i];
                let integral = !token.contains(['.', 'e', 'E']);
                let fits = token.parse::<u64>().is_ok() || token.parse::<i64>().is_ok();
                if integral && !fits {
                    let owner = containers.last().copied().flatten();
                    let field = key
                        .and_then(|k| find_field(desc, k))
                        .or_else(|| owner.and_then(|k| find_field(desc, k)));
                    if let Some(f) = field.filter(|f| is_integer(value_kind(f))) {
                        let (line, col) = line_col(text, from);
                        bail!(
                            "invalid request JSON at line {line}, column {col}: field {} ({}): {token} is out of range",
                            f.name(),
                            type_label(&f)
                        );
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The kind of a field's values: a map's value type, a list's element type.
fn value_kind(f: &prost_reflect::FieldDescriptor) -> prost_reflect::Kind {
    match f.kind() {
        prost_reflect::Kind::Message(entry) if f.is_map() => entry.map_entry_value_field().kind(),
        kind => kind,
    }
}

fn is_integer(kind: prost_reflect::Kind) -> bool {
    use prost_reflect::Kind::*;
    matches!(
        kind,
        Int32 | Int64 | Uint32 | Uint64 | Sint32 | Sint64 | Fixed32 | Fixed64 | Sfixed32 | Sfixed64
    )
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// An error at `offset` + the error's own position, as `line L, column C: what`.
fn json_error(
    e: &serde_json::Error,
    text: &str,
    offset: usize,
    desc: &MessageDescriptor,
) -> anyhow::Error {
    let before = &text[..offset];
    let base_line = before.matches('\n').count() + 1;
    let base_col = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    // An error about the value as a whole has no position of its own: it is where the value starts.
    let (line, col) = if e.line() == 0 || (e.line() == 1 && e.column() == 0) {
        (base_line, base_col + 1)
    } else if e.line() == 1 {
        (base_line, base_col + e.column())
    } else {
        (base_line + e.line() - 1, e.column())
    };
    let what = e.to_string();
    let what = what
        .rsplit_once(" at line ")
        .map_or(what.as_str(), |(w, _)| w);
    // serde does not say which field a bad value belongs to: the key before the error does.
    let error_at = offset + position_offset(&text[offset..], e.line(), e.column());
    let unknown = what.starts_with("unknown field") || what.starts_with("unrecognized field");
    let field = match e.classify() {
        serde_json::error::Category::Data if !unknown => {
            last_key(&text[offset..error_at.clamp(offset, text.len())])
                .and_then(|key| find_field(desc, key))
                .map(|f| format!("field {} ({}): ", f.name(), type_label(&f)))
        }
        _ => None,
    };
    let message = format!(
        "invalid request JSON at line {line}, column {col}: {}{what}",
        field.unwrap_or_default()
    );
    let enclosing = unknown
        .then(|| enclosing_message(&text[offset..error_at], desc))
        .flatten();
    let array = what.starts_with("invalid type: sequence").then(|| {
        "a message is a JSON object; a stream takes its messages one after another, not in an array"
            .to_string()
    });
    match enclosing
        .and_then(|m| unknown_field_hint(what, &m))
        .or(array)
    {
        Some(hint) => Hint::new(message, hint).into(),
        None => anyhow!(message),
    }
}

/// The byte offset of serde_json's 1-based (line, column) in `text`.
fn position_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column).min(text.len())
}

/// The last object key (`"name":`) that starts before the end of `text`.
fn last_key(text: &str) -> Option<&str> {
    let colon = text.rfind(':')?;
    let before = text[..colon].trim_end().strip_suffix('"')?;
    let start = before.rfind('"')?;
    Some(&before[start + 1..])
}

/// A field named `key` (JSON or proto name) in `desc` or the messages it contains.
fn find_field(desc: &MessageDescriptor, key: &str) -> Option<prost_reflect::FieldDescriptor> {
    let mut queue = vec![desc.clone()];
    let mut seen = Vec::new();
    while let Some(m) = queue.pop() {
        if seen.contains(&m) {
            continue;
        }
        if let Some(f) = m.fields().find(|f| f.json_name() == key || f.name() == key) {
            return Some(f);
        }
        queue.extend(m.fields().filter_map(|f| f.kind().as_message().cloned()));
        seen.push(m);
    }
    None
}

fn type_label(f: &prost_reflect::FieldDescriptor) -> String {
    fn name(kind: prost_reflect::Kind) -> String {
        match kind {
            prost_reflect::Kind::Message(m) => m.full_name().to_string(),
            prost_reflect::Kind::Enum(e) => format!("enum {}", e.full_name()),
            k => format!("{k:?}").to_ascii_lowercase(),
        }
    }
    let base = match f.kind() {
        prost_reflect::Kind::Message(entry) if f.is_map() => format!(
            "map<{}, {}>",
            name(entry.map_entry_key_field().kind()),
            name(entry.map_entry_value_field().kind())
        ),
        kind if f.is_list() => format!("repeated {}", name(kind)),
        kind => name(kind),
    };
    format!("{base} in {}", f.parent_message().full_name())
}

/// Where the end of a partial JSON text stands — what both an error's "which message" and
/// completion need to know.
#[derive(Debug, Default)]
pub struct JsonCursor {
    /// Objects (`{`) and arrays (`[`) still open, outermost first, each with the key it is the
    /// value of.
    pub open: Vec<(char, Option<String>)>,
    /// Inside a string: where its text starts (byte offset) and the text so far.
    pub string: Option<(usize, String)>,
    /// The key whose value comes next (after `"key":`).
    pub key: Option<String>,
    /// Whether a key comes next (after `{`, or `,` in an object).
    pub expecting_key: bool,
    /// The keys given so far in each open object or array (parallel to `open`).
    pub keys: Vec<Vec<String>>,
}

pub fn json_cursor(text: &str) -> JsonCursor {
    let mut cursor = JsonCursor::default();
    let (mut escaped, mut last_string) = (false, None::<String>);
    for (i, c) in text.char_indices() {
        if let Some((_, current)) = &mut cursor.string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => last_string = cursor.string.take().map(|(_, s)| s),
                (false, c) => current.push(c),
            }
            continue;
        }
        match c {
            '"' => cursor.string = Some((i + 1, String::new())),
            ':' => {
                cursor.key = last_string.take();
                if let (Some(keys), Some(key)) = (cursor.keys.last_mut(), &cursor.key) {
                    keys.push(key.clone());
                }
                cursor.expecting_key = false;
            }
            '{' | '[' => {
                cursor.open.push((c, cursor.key.take()));
                cursor.keys.push(Vec::new());
                cursor.expecting_key = c == '{';
            }
            '}' | ']' => {
                cursor.open.pop();
                cursor.keys.pop();
                cursor.expecting_key = false;
            }
            ',' => {
                cursor.key = None;
                cursor.expecting_key = matches!(cursor.open.last(), Some(('{', _)));
            }
            _ => {}
        }
    }
    cursor
}

/// What the innermost open object of a request is: a message (its keys are fields), a map field
/// (its keys are map keys; its values of the message given, if any), or something else.
#[derive(Debug, Clone)]
pub enum Open {
    Message(MessageDescriptor),
    Map(Option<MessageDescriptor>),
    Other,
}

impl Open {
    /// The value of `key` in this object.
    fn value(&self, key: &str) -> Open {
        match self {
            Open::Message(m) => {
                let Some(field) = m.fields().find(|f| f.json_name() == key || f.name() == key)
                else {
                    return Open::Other;
                };
                match field.kind() {
                    prost_reflect::Kind::Message(inner) if inner.is_map_entry() => {
                        Open::Map(inner.map_entry_value_field().kind().as_message().cloned())
                    }
                    prost_reflect::Kind::Message(inner) => Open::Message(inner),
                    _ => Open::Other,
                }
            }
            Open::Map(Some(value)) => Open::Message(value.clone()),
            _ => Open::Other,
        }
    }
}

/// The innermost open object at `cursor`, in a request of type `root`.
pub fn open_object(cursor: &JsonCursor, root: &MessageDescriptor) -> Open {
    let mut frames = cursor.open.iter();
    match frames.next() {
        Some(('{', _)) => {}
        _ => return Open::Other,
    }
    let mut current = Open::Message(root.clone());
    for (_, key) in frames {
        // An object inside an array is an element: it has the array's type already.
        if let Some(key) = key {
            current = current.value(key);
        }
    }
    current
}

/// The message whose object is open at the end of `text` (one JSON value from its start).
fn enclosing_message(text: &str, desc: &MessageDescriptor) -> Option<MessageDescriptor> {
    match open_object(&json_cursor(text), desc) {
        Open::Message(m) => Some(m),
        _ => None,
    }
}

/// For an unknown field, the fields the message does have.
fn unknown_field_hint(what: &str, desc: &MessageDescriptor) -> Option<String> {
    if !what.starts_with("unknown field") && !what.starts_with("unrecognized field") {
        return None;
    }
    let fields: Vec<String> = desc.fields().map(|f| f.json_name().to_string()).collect();
    Some(format!(
        "{} has the fields: {} (--allow-unknown-fields, or `set allow-unknown-fields on` in the shell, skips unknown ones)",
        desc.full_name(),
        if fields.is_empty() {
            "none".to_string()
        } else {
            fields.join(", ")
        }
    ))
}

/// Reads JSON messages from stdin on a thread of their own, sending each as soon as it is
/// complete. The first invalid message ends the sequence with its error.
pub fn stdin_messages(
    desc: MessageDescriptor,
    options: ParseOptions,
) -> mpsc::Receiver<anyhow::Result<DynamicMessage>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let values = serde_json::Deserializer::from_reader(stdin.lock())
            .into_iter::<Box<serde_json::value::RawValue>>();
        for (i, value) in values.enumerate() {
            let message = value
                .map_err(|e| anyhow!("invalid request JSON on stdin (message {}): {e}", i + 1))
                .and_then(|raw| {
                    parse_messages(raw.get(), &desc, options)
                        .map(|mut m| m.remove(0))
                        .map_err(|e| e.context(format!("message {} on stdin", i + 1)))
                });
            let failed = message.is_err();
            if tx.blocking_send(message).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// The messages of stdin as a stream to call with, each sent as soon as it is read (a stream
/// can be typed at); the first bad one goes to the receiver instead, the stream kept open so
/// that the call is not half-closed before the caller cancels it.
pub fn stdin_stream(
    desc: MessageDescriptor,
    options: ParseOptions,
) -> (
    impl futures_util::Stream<Item = DynamicMessage> + Send + 'static,
    tokio::sync::oneshot::Receiver<anyhow::Error>,
) {
    let mut messages = stdin_messages(desc, options);
    let (bad_tx, bad_rx) = tokio::sync::oneshot::channel();
    let (good_tx, good_rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(next) = messages.recv().await {
            match next {
                Ok(m) => {
                    if good_tx.send(m).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = bad_tx.send(e);
                    return std::future::pending::<()>().await;
                }
            }
        }
    });
    (tokio_stream::wrappers::ReceiverStream::new(good_rx), bad_rx)
}

/// The request messages from inline, file or stdin data, checked against the method's shape:
/// one for unary and server-streaming methods (an empty one when there is no data).
pub fn request_messages(
    method: &MethodDescriptor,
    data: &Data,
    parse: ParseOptions,
    limit: Option<usize>,
) -> anyhow::Result<Vec<DynamicMessage>> {
    use prost::Message;
    let parsed = match parse.format {
        DataFormat::Json => parse_messages(&data.read_text()?, &method.input(), parse),
        DataFormat::Text => parse_text_messages(&data.read_text()?, &method.input()),
        DataFormat::Binary => {
            let bytes = data.read_bytes()?;
            parse_binary_messages(&bytes, &method.input(), method.is_client_streaming())
        }
    };
    let mut messages = parsed.map_err(|e| match data {
        // A file that is not the JSON it should be (`@report.xml`) is named.
        Data::File(_) => e.context(data.describe()),
        _ => e,
    })?;
    if !method.is_client_streaming() {
        match messages.len() {
            // An empty pipe or file is more likely a mistake upstream than a wish for defaults.
            0 if matches!(data, Data::Stdin | Data::File(_)) => bail!(Hint::new(
                format!("no request message in {}", data.describe()),
                "give one JSON object; '{}' sends a message with every field at its default",
            )),
            0 => messages.push(DynamicMessage::new(method.input())),
            1 => {}
            n => bail!(Hint::new(
                format!("{} takes one request message, got {n}", method.full_name()),
                "only client-streaming and bidi methods take a sequence of messages",
            )),
        }
    }
    // Checked here so that nothing is sent: the server would only fail the call after the upload.
    let limit = limit.unwrap_or(crate::sys::util::DEFAULT_MAX_MESSAGE_SIZE);
    if let Some((i, big)) = messages
        .iter()
        .map(|m| m.encoded_len())
        .enumerate()
        .find(|(_, len)| *len > limit)
    {
        bail!(Hint::new(
            format!(
                "request message {} is {big} bytes, over the {limit}-byte limit",
                i + 1
            ),
            "--max-msg-size raises the limit (the server has its own)",
        ));
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> MessageDescriptor {
        crate::serve::pb::pool()
            .get_message_by_name("Point")
            .unwrap()
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_not_saturated() {
        let generate = crate::serve::pb::pool()
            .get_message_by_name("rpcsh.testing.v1.GenerateRequest")
            .unwrap();
        let parse = |text: &str| {
            parse_messages(text, &generate, ParseOptions::default()).map_err(|e| e.to_string())
        };
        // 2^64 reached prost-reflect as a float equal to u64::MAX as f64, and saturated.
        let e = parse(r#"{"size": 1, "count": 18446744073709551616}"#).unwrap_err();
        assert!(e.contains("column 22: field count (uint64"), "{e}");
        let e = parse("{\"count\":\n  -9223372036854775809}").unwrap_err();
        assert!(e.contains("line 2, column 3"), "{e}");
        // Inside strings, and within range, numbers are left alone.
        assert!(parse(r#"{"count": "18446744073709551615"}"#).is_ok());
        assert!(parse(r#"{"count": 18446744073709551615}"#).is_ok());
        let echo = crate::serve::pb::pool()
            .get_message_by_name("rpcsh.testing.v1.EchoRequest")
            .unwrap();
        let text = r#"{"message": "99999999999999999999999 is just text"}"#;
        assert!(parse_messages(text, &echo, ParseOptions::default()).is_ok());
        // In lists and map values too; a double field takes such a literal as it is.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/protos/interop.proto");
        let mut schema = crate::client::schema::Schema::from_protos(&[dir.into()], &[]).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(schema.load_symbol("interop.v1.Everything"))
            .unwrap();
        let everything = schema
            .pool()
            .get_message_by_name("interop.v1.Everything")
            .unwrap();
        let parse = |text: &str| {
            parse_messages(text, &everything, ParseOptions::default()).map_err(|e| e.to_string())
        };
        let e = parse(r#"{"counts": {"a": 1, "b": -9223372036854775809}}"#).unwrap_err();
        assert!(e.contains("field counts (map<string, int64> in"), "{e}");
        let e = parse(r#"{"inners": {"1": {"numbers": [1, -9223372036854775809]}}}"#).unwrap_err();
        assert!(e.contains("field numbers (repeated int32"), "{e}");
        assert!(parse(r#"{"dbl": 18446744073709551616, "text": "x"}"#).is_ok());
    }

    #[test]
    fn data_argument_forms() {
        assert_eq!(Data::parse(None), Data::None);
        assert_eq!(Data::parse(Some("-")), Data::Stdin);
        assert_eq!(Data::parse(Some("@-")), Data::Stdin);
        assert_eq!(Data::parse(Some("@x.json")), Data::File("x.json".into()));
        assert_eq!(Data::parse(Some("{}")), Data::Inline("{}".into()));
    }

    #[test]
    fn sequences_of_messages() {
        let msgs = parse_messages(
            "{\"latitude\": 1}\n{\"longitude\": 2}{}",
            &point(),
            ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            parse_messages("  \n ", &point(), ParseOptions::default())
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = parse_messages(
            "{}\n{\"latitude\": 1,\n \"nope\": 2}",
            &point(),
            ParseOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "invalid request JSON at line 3, column 7: unrecognized field name 'nope'"
            ),
            "{err}"
        );
        let hint = err
            .chain()
            .find_map(|e| e.downcast_ref::<Hint>())
            .map(|h| h.to_string());
        assert!(hint.is_some());
        let err =
            parse_messages("{\"latitude\": \"x\"}", &point(), ParseOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 1, column 16: field latitude (int32 in Point)"),
            "{err}"
        );
        let err =
            parse_messages("{\"latitude\": 1} x", &point(), ParseOptions::default()).unwrap_err();
        assert!(err.to_string().contains("line 1, column 17"), "{err}");
        let err = parse_messages(
            "{\"latitude\": 4294967296}",
            &point(),
            ParseOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("field latitude (int32 in Point)"),
            "{err}"
        );
        let rect = crate::serve::pb::pool()
            .get_message_by_name("Rectangle")
            .unwrap();
        let err = parse_messages(
            "{\"lo\": {}, \"hi\": {\"latitude\": 1, \"x\": 2}}",
            &rect,
            ParseOptions::default(),
        )
        .unwrap_err();
        let hint = err
            .chain()
            .find_map(|e| e.downcast_ref::<Hint>())
            .map(|h| format!("{h:?}"))
            .unwrap();
        assert!(
            hint.contains("Point has the fields: latitude, longitude"),
            "{hint}"
        );
        let ok = parse_messages(
            "{\"nope\": 1}",
            &point(),
            ParseOptions {
                allow_unknown_fields: true,
                ..ParseOptions::default()
            },
        );
        assert_eq!(ok.unwrap().len(), 1);
    }
}
