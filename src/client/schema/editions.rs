//! Editions (`edition = "2023"` and `"2024"`) for a descriptor library that builds only proto2
//! and proto3 (prost-reflect 0.16 refuses them, and panicked on them). Each editions file is
//! translated into the proto2 or proto3 file that encodes the same wire and prints the same
//! JSON: its features are resolved as protoc resolves them (edition defaults, then file,
//! message and field options), and what they say becomes what the older syntaxes spell —
//! explicit presence as proto2 `optional` or proto3 `optional`, legacy required as `required`,
//! packed or expanded lists as an explicit `packed`, delimited messages as groups. A file with
//! implicit-presence fields becomes proto3, any other proto2 (its enums then closed, as
//! editions' `CLOSED`); one that also defines a closed enum not starting at 0, which proto3
//! cannot hold, stays proto2. protox parses no editions either: `proto2_text` lets it read an
//! editions source as proto2 text, and `mark_editions` puts the edition back afterwards.
use super::join;
use super::prune::field;
use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage, Value};

const EDITION_2023: i32 = 1000;
const EDITION_2024: i32 = 1001;

// FeatureSet values (google/protobuf/descriptor.proto).
const EXPLICIT: i32 = 1;
const IMPLICIT: i32 = 2;
const LEGACY_REQUIRED: i32 = 3;
const CLOSED: i32 = 2;
const PACKED: i32 = 1;
const DELIMITED: i32 = 2;

// FieldDescriptorProto labels and types.
const LABEL_REQUIRED: i32 = 2;
const LABEL_REPEATED: i32 = 3;
const TYPE_STRING: i32 = 9;
const TYPE_GROUP: i32 = 10;
const TYPE_MESSAGE: i32 = 11;
const TYPE_BYTES: i32 = 12;

const SYNTAX: u32 = 12;
const EDITION: u32 = 14;

/// The features that decide the wire and JSON, as resolved for one element.
#[derive(Clone, Copy)]
struct Features {
    presence: i32,
    enum_type: i32,
    repeated: i32,
    message: i32,
}

impl Features {
    /// The defaults of an edition (2023 and 2024 agree on these).
    fn of_edition(edition: i32) -> Option<Self> {
        matches!(edition, EDITION_2023 | EDITION_2024).then_some(Features {
            presence: EXPLICIT,
            enum_type: 1,
            repeated: PACKED,
            message: 1,
        })
    }

    /// These features overridden by what `element`'s options set.
    fn under(self, element: &DynamicMessage) -> Self {
        let Some(set) =
            message_field(element, "options").and_then(|o| message_field(o, "features"))
        else {
            return self;
        };
        let value = |name: &str, current: i32| {
            if set.has_field_by_name(name) {
                set.get_field_by_name(name)
                    .and_then(|v| v.as_enum_number())
                    .unwrap_or(current)
            } else {
                current
            }
        };
        Features {
            presence: value("field_presence", self.presence),
            enum_type: value("enum_type", self.enum_type),
            repeated: value("repeated_field_encoding", self.repeated),
            message: value("message_encoding", self.message),
        }
    }
}

pub(super) fn message_field<'a>(m: &'a DynamicMessage, name: &str) -> Option<&'a DynamicMessage> {
    if !m.has_field_by_name(name) {
        return None;
    }
    match m.fields().find(|(f, _)| f.name() == name)?.1 {
        Value::Message(inner) => Some(inner),
        _ => None,
    }
}

pub(super) fn messages<'a>(
    m: &'a DynamicMessage,
    name: &'a str,
) -> impl Iterator<Item = &'a DynamicMessage> {
    m.fields()
        .filter(move |(f, _)| f.name() == name)
        .flat_map(|(_, v)| v.as_list().unwrap_or_default())
        .filter_map(Value::as_message)
}

fn messages_mut<'a>(
    m: &'a mut DynamicMessage,
    name: &str,
) -> impl Iterator<Item = &'a mut DynamicMessage> {
    let list: &mut [Value] = if m.has_field_by_name(name) {
        m.get_field_by_name_mut(name)
            .and_then(|v| v.as_list_mut())
            .map_or(&mut [], |l| l.as_mut_slice())
    } else {
        &mut []
    };
    list.iter_mut().filter_map(Value::as_message_mut)
}

pub(super) fn int(m: &DynamicMessage, name: &str) -> i32 {
    m.get_field_by_name(name)
        .and_then(|v| v.as_enum_number().or_else(|| v.as_i32()))
        .unwrap_or(0)
}

pub(super) fn text(m: &DynamicMessage, name: &str) -> String {
    m.get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `file` (an encoded FileDescriptorProto) as proto2 or proto3 when it is an editions file;
/// untouched otherwise.
/// Whether an encoded file is an editions file.
pub fn is_editions(file: &[u8]) -> bool {
    field(file, SYNTAX) == Some(b"editions")
}

pub fn translated(file: Bytes) -> anyhow::Result<Bytes> {
    if !is_editions(&file) {
        return Ok(file);
    }
    let name = field(&file, 1)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    translate(&file)
        .map(Bytes::from)
        .with_context(|| format!("cannot read the editions file {name}"))
}

fn translate(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let desc = DescriptorPool::global()
        .get_message_by_name("google.protobuf.FileDescriptorProto")
        .ok_or_else(|| anyhow!("descriptor.proto is missing"))?;
    let mut file = DynamicMessage::decode(desc, bytes)?;
    let edition = int(&file, "edition");
    let Some(defaults) = Features::of_edition(edition) else {
        bail!("edition {edition} is not supported (2023 and 2024 are)");
    };
    let features = defaults.under(&file);
    let package = text(&file, "package");
    let implicit = messages(&file, "message_type").any(|m| has_implicit(m, features))
        || messages(&file, "extension").any(|f| features.under(f).presence == IMPLICIT);
    // proto3 enums must start at 0: a file that needs both stays proto2, its implicit fields
    // read as explicit ones (the same messages print; a zero the user writes is sent).
    let closed_nonzero = messages(&file, "enum_type")
        .map(|e| (e, features))
        .chain(messages(&file, "message_type").flat_map(|m| nested_enums(m, features)))
        .any(|(e, f)| {
            f.under(e).enum_type == CLOSED
                && messages(e, "value")
                    .next()
                    .is_some_and(|v| int(v, "number") != 0)
        });
    let proto3 = implicit && !closed_nonzero;
    for m in messages_mut(&mut file, "message_type") {
        rewrite_message(m, &package, features, proto3);
    }
    for f in messages_mut(&mut file, "extension") {
        let resolved = features.under(f);
        rewrite_field(f, resolved, proto3, false, &Default::default());
    }
    let syntax = if proto3 { "proto3" } else { "proto2" };
    file.set_field_by_name("syntax", Value::String(syntax.into()));
    Ok(file.encode_to_vec())
}

fn has_implicit(message: &DynamicMessage, parent: Features) -> bool {
    let features = parent.under(message);
    messages(message, "field")
        .chain(messages(message, "extension"))
        .any(|f| {
            int(f, "label") != LABEL_REPEATED
                && !f.has_field_by_name("oneof_index")
                && !matches!(int(f, "type"), TYPE_MESSAGE | TYPE_GROUP)
                && features.under(f).presence == IMPLICIT
        })
        || messages(message, "nested_type").any(|m| has_implicit(m, features))
}

fn nested_enums(message: &DynamicMessage, parent: Features) -> Vec<(&DynamicMessage, Features)> {
    let features = parent.under(message);
    let mut out: Vec<_> = messages(message, "enum_type")
        .map(|e| (e, features))
        .collect();
    for m in messages(message, "nested_type") {
        out.extend(nested_enums(m, features));
    }
    out
}

fn is_map_entry(message: &DynamicMessage) -> bool {
    message_field(message, "options")
        .and_then(|o| o.get_field_by_name("map_entry"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn rewrite_message(message: &mut DynamicMessage, scope: &str, parent: Features, proto3: bool) {
    let features = parent.under(message);
    let full = join(scope, &text(message, "name"));
    // Map entries are written as nested messages; their fields are always length-prefixed.
    let map_entries: std::collections::HashSet<String> = messages(message, "nested_type")
        .filter(|m| is_map_entry(m))
        .map(|m| format!(".{full}.{}", text(m, "name")))
        .collect();
    let map_entry = is_map_entry(message);
    let mut oneofs = messages(message, "oneof_decl").count() as i32;
    let mut synthetic = Vec::new();
    for f in messages_mut(message, "field") {
        let resolved = features.under(f);
        if rewrite_field(f, resolved, proto3 && !map_entry, true, &map_entries) {
            f.set_field_by_name("oneof_index", Value::I32(oneofs));
            oneofs += 1;
            synthetic.push(format!("_{}", text(f, "name")));
        }
    }
    for f in messages_mut(message, "extension") {
        let resolved = features.under(f);
        rewrite_field(f, resolved, proto3, false, &map_entries);
    }
    if !synthetic.is_empty() {
        let oneof = message
            .descriptor()
            .get_field_by_name("oneof_decl")
            .and_then(|f| f.kind().as_message().cloned())
            .expect("descriptor.proto has oneof_decl");
        let list = message
            .get_field_by_name_mut("oneof_decl")
            .and_then(|v| v.as_list_mut())
            .expect("a repeated field");
        for name in synthetic {
            let mut decl = DynamicMessage::new(oneof.clone());
            decl.set_field_by_name("name", Value::String(name));
            list.push(Value::Message(decl));
        }
    }
    for m in messages_mut(message, "nested_type") {
        rewrite_message(m, &full, features, proto3);
    }
}

/// Spells a field's features in the older syntax; true when it needs a synthetic oneof (a
/// proto3 `optional`), which only message fields get.
fn rewrite_field(
    field: &mut DynamicMessage,
    features: Features,
    proto3: bool,
    in_message: bool,
    map_entries: &std::collections::HashSet<String>,
) -> bool {
    let label = int(field, "label");
    let ty = int(field, "type");
    let mut optional = false;
    if label == LABEL_REPEATED {
        let packable = !matches!(ty, TYPE_STRING | TYPE_GROUP | TYPE_MESSAGE | TYPE_BYTES);
        if packable {
            let options = field
                .get_field_by_name_mut("options")
                .and_then(|v| v.as_message_mut())
                .expect("options is a message");
            options.set_field_by_name("packed", Value::Bool(features.repeated == PACKED));
        }
    } else if features.presence == LEGACY_REQUIRED {
        field.set_field_by_name("label", Value::EnumNumber(LABEL_REQUIRED));
    } else if proto3
        && in_message
        && features.presence == EXPLICIT
        && ty != TYPE_MESSAGE
        && ty != TYPE_GROUP
        && !field.has_field_by_name("oneof_index")
    {
        field.set_field_by_name("proto3_optional", Value::Bool(true));
        optional = true;
    }
    if ty == TYPE_MESSAGE
        && features.message == DELIMITED
        && !map_entries.contains(&text(field, "type_name"))
    {
        field.set_field_by_name("type", Value::EnumNumber(TYPE_GROUP));
    }
    optional
}

/// An editions source as proto2 text protox can parse, and the edition it declared: the
/// `edition` statement replaced in as many bytes, and `optional` put before each field that has
/// no label (editions fields have none; proto2 wants one). proto2, not proto3, because proto3
/// refuses what editions allow: closed enums not starting at 0, `[default = ...]`. The
/// descriptors come out as protoc's for the editions file (labels, defaults, options); the
/// syntax is set back by `mark_editions`.
pub fn proto2_text(source: &str) -> Option<(String, i32)> {
    let start = first_statement(source);
    let rest = &source[start..];
    let after = rest.strip_prefix("edition")?;
    if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let end = rest.find(';')?;
    let value = rest[..end].split_once('=')?.1.trim();
    let edition = match value.trim_matches(|c| c == '"' || c == '\'') {
        "2023" => EDITION_2023,
        "2024" => EDITION_2024,
        _ => return None,
    };
    let mut statement = String::from("syntax=\"proto2\"");
    while statement.len() < end {
        statement.push(' ');
    }
    let body = labelled(&rest[end..]);
    Some((format!("{}{statement}{body}", &source[..start]), edition))
}

/// What a block holds: fields (a message, an extend), or anything else.
#[derive(Clone, Copy, PartialEq)]
enum Block {
    Fields,
    Other,
}
/// The words that begin a statement which is no field.
const KEYWORDS: &[&str] = &[
    "message",
    "enum",
    "oneof",
    "option",
    "reserved",
    "extensions",
    "extend",
    "map",
    "repeated",
    "optional",
    "required",
    "group",
    "service",
    "rpc",
    "import",
    "package",
    "syntax",
    "edition",
];

/// `text` (proto source after the syntax statement) with `optional ` before every field of a
/// message or `extend` block that has no label. A scanner, not a parser: it knows comments,
/// strings, blocks, and option values in braces, which is all that decides where a field
/// statement begins.
fn labelled(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 256);
    let mut blocks: Vec<Block> = Vec::new();
    let mut i = 0;
    // At the start of a statement: the block it is in, when it is a message or extend block.
    let mut statement_start = true;
    // The block the `{` ending the current statement opens.
    let mut opens = Block::Other;
    // Depth of `[` and of `{` inside option values.
    let (mut brackets, mut values) = (0usize, 0usize);
    let mut in_option = false;
    while i < bytes.len() {
        let c = bytes[i];
        let rest = &text[i..];
        if let Some(n) = verbatim(rest) {
            out.push_str(&rest[..n]);
            i += n;
            // A string ends the statement's first word; a comment changes nothing.
            statement_start &= !(c == b'"' || c == b'\'');
            continue;
        }
        if c.is_ascii_whitespace() {
            out.push(c as char);
            i += 1;
            continue;
        }
        if statement_start && (c.is_ascii_alphabetic() || c == b'_' || c == b'.') {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            statement_start = false;
            in_option = word == "option";
            opens = match word.as_str() {
                "message" | "extend" => Block::Fields,
                _ => Block::Other,
            };
            let in_fields = blocks.last() == Some(&Block::Fields);
            if in_fields && !KEYWORDS.contains(&word.as_str()) {
                out.push_str("optional ");
            }
            out.push_str(&word);
            i += word.len().max(1);
            if word.is_empty() {
                out.push(c as char);
            }
            continue;
        }
        statement_start = false;
        match c {
            b'[' => brackets += 1,
            b']' => brackets = brackets.saturating_sub(1),
            b'{' if brackets > 0 || in_option => values += 1,
            b'}' if values > 0 => values -= 1,
            b'{' => {
                blocks.push(opens);
                opens = Block::Other;
                statement_start = true;
            }
            b'}' => {
                blocks.pop();
                statement_start = true;
            }
            b';' if brackets == 0 && values == 0 => {
                statement_start = true;
                in_option = false;
            }
            _ => {}
        }
        out.push(c as char);
        i += 1;
    }
    out
}

/// The length of a comment or a quoted string at the start of `rest`, copied as it is.
fn verbatim(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let c = *bytes.first()?;
    if rest.starts_with("//") {
        return Some(rest.find('\n').unwrap_or(rest.len()));
    }
    if let Some(comment) = rest.strip_prefix("/*") {
        return Some(comment.find("*/").map_or(rest.len(), |e| e + 4));
    }
    if c != b'"' && c != b'\'' {
        return None;
    }
    let mut j = 1;
    while j < bytes.len() && bytes[j] != c {
        j += if bytes[j] == b'\\' { 2 } else { 1 };
    }
    Some((j + 1).min(bytes.len()))
}

/// Where the first statement begins, past whitespace and comments.
fn first_statement(source: &str) -> usize {
    let mut i = 0;
    loop {
        let rest = &source[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if let Some(comment) = trimmed.strip_prefix("//") {
            i += 2 + comment.find('\n').unwrap_or(comment.len());
        } else if let Some(comment) = trimmed.strip_prefix("/*") {
            i += 2 + comment.find("*/").map_or(comment.len(), |e| e + 2);
        } else {
            return i;
        }
    }
}

/// An encoded file protox compiled from `proto2_text`, marked again as the editions file it is.
pub fn mark_editions(file: &[u8], edition: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(file.len() + 16);
    let mut buf = file;
    while !buf.is_empty() {
        let start = file.len() - buf.len();
        let Ok((tag, wire)) = prost::encoding::decode_key(&mut buf) else {
            return file.to_vec();
        };
        if prost::encoding::skip_field(wire, tag, &mut buf, Default::default()).is_err() {
            return file.to_vec();
        }
        let end = file.len() - buf.len();
        if tag != SYNTAX && tag != EDITION {
            out.extend_from_slice(&file[start..end]);
        }
    }
    prost::encoding::string::encode(SYNTAX, &"editions".to_string(), &mut out);
    prost::encoding::int32::encode(EDITION, &edition, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edition_statement_becomes_proto2_in_as_many_bytes() {
        let source = "// c\n/* d */ edition = \"2023\";\npackage p;";
        let (text, edition) = proto2_text(source).unwrap();
        assert_eq!(edition, EDITION_2023);
        assert_eq!(text.len(), source.len());
        assert!(text.contains("syntax=\"proto2\" ;"), "{text}");
        assert!(text.ends_with("\npackage p;"));
        assert!(proto2_text("syntax = \"proto3\";").is_none());
        assert!(proto2_text("edition = \"2025\";").is_none());
    }

    #[test]
    fn fields_without_a_label_get_optional() {
        let source = "edition = \"2023\";\noption (x) = { a: 1 };\nmessage M {\n  int32 a = 1 [(o) = { b: \"}\" }];\n  // int32 c\n  repeated .p.N n = 2; map<string, int32> m = 3;\n  oneof k { string s = 4; }\n  message N { E e = 1; }\n  enum E { option allow_alias = true; X = 1; }\n}\nextend M { int32 ext = 100; }\nservice S { rpc R(M) returns (M) { option deprecated = true; } }\n";
        let (text, _) = proto2_text(source).unwrap();
        assert!(
            text.contains("  optional int32 a = 1 [(o) = { b: \"}\" }];"),
            "{text}"
        );
        assert!(
            text.contains("// int32 c\n  repeated .p.N n = 2; map<string"),
            "{text}"
        );
        assert!(text.contains("oneof k { string s = 4; }"), "{text}");
        assert!(text.contains("message N { optional E e = 1; }"), "{text}");
        assert!(
            text.contains("{ option allow_alias = true; X = 1; }"),
            "{text}"
        );
        assert!(
            text.contains("extend M { optional int32 ext = 100; }"),
            "{text}"
        );
        assert!(text.contains("{ option deprecated = true; } }"), "{text}");
    }
}
