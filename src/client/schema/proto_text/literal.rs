//! The words and literals of `.proto` text: names checked to be identifiers, strings and
//! bytes escaped, defaults, ranges, comments without control characters.
use super::super::editions::{int, message_field, text};
use anyhow::{anyhow, bail, Context};
use prost_reflect::{DynamicMessage, Value};

pub(super) const TYPE_STRING: i32 = 9;
pub(super) const TYPE_BYTES: i32 = 12;

pub(super) fn comment_lines(text: &str) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n')
        .map(|l| {
            l.chars()
                .filter(|c| *c == '\t' || !c.is_control())
                .collect()
        })
        .collect()
}

pub(super) fn bracketed(options: &[(String, String)]) -> String {
    if options.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = options.iter().map(|(n, v)| format!("{n} = {v}")).collect();
    format!(" [{}]", pairs.join(", "))
}

/// `start to last`, with `max` for the highest number the element may have.
pub(super) fn span(start: i32, last: i32, max: i32) -> String {
    match last {
        _ if start == last => start.to_string(),
        _ if last == max => format!("{start} to max"),
        _ => format!("{start} to {last}"),
    }
}

/// The highest field number a message may have (a message set's go further).
pub(super) fn max_number(m: &DynamicMessage) -> i32 {
    let set = message_field(m, "options")
        .and_then(|o| o.get_field_by_name("message_set_wire_format"))
        .and_then(|v| v.as_bool());
    if set == Some(true) {
        i32::MAX - 1
    } else {
        536_870_911
    }
}

/// protoc's json_name for a field that sets none.
pub(crate) fn json_name(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A field's `default = ...`: strings quoted, bytes (kept C-escaped) re-escaped, the rest
/// checked to be a number or a name.
pub(super) fn default_value(field: &DynamicMessage) -> anyhow::Result<String> {
    let value = text(field, "default_value");
    match int(field, "type") {
        TYPE_STRING => Ok(quote(value.as_bytes(), true)),
        TYPE_BYTES => Ok(quote(&unescape(&value)?, false)),
        _ if !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c)) =>
        {
            Ok(value)
        }
        _ => bail!(
            "the default {:?} is not a value",
            value.escape_debug().to_string()
        ),
    }
}

/// A C-escaped string's bytes, as protoc keeps a bytes field's default.
pub(super) fn unescape(text: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = *bytes
            .get(i + 1)
            .ok_or_else(|| anyhow!("a bytes default ends in \\"))?;
        i += 2;
        out.push(match next {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'\\' | b'\'' | b'"' | b'?' => next,
            b'0'..=b'7' => {
                let mut n = u32::from(next - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            n = n * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                n as u8
            }
            b'x' => {
                let digits: String = text[i..]
                    .chars()
                    .take(2)
                    .take_while(char::is_ascii_hexdigit)
                    .collect();
                i += digits.len();
                u8::from_str_radix(&digits, 16).context("a bytes default has a bad \\x escape")?
            }
            _ => bail!("a bytes default has an unknown escape"),
        });
    }
    Ok(out)
}

/// A protobuf string literal; `utf8` keeps printable non-ASCII characters as they are.
pub(crate) fn quote(bytes: &[u8], utf8: bool) -> String {
    let mut out = String::from("\"");
    let text = if utf8 {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    };
    let escape = |b: u8, out: &mut String| match b {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        0x20..=0x7e => out.push(b as char),
        _ => out.push_str(&format!("\\{b:03o}")),
    };
    match text {
        Some(text) => {
            for c in text.chars() {
                if c.is_ascii() || c.is_control() {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        escape(b, &mut out);
                    }
                } else {
                    out.push(c);
                }
            }
        }
        None => bytes.iter().for_each(|b| escape(*b, &mut out)),
    }
    out.push('"');
    out
}

pub(super) fn float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

pub(super) fn ident(name: &str) -> anyhow::Result<String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        bail!(
            "{:?} is not a name .proto can hold",
            name.escape_debug().to_string()
        );
    }
    Ok(name.to_string())
}

pub(super) fn dotted(name: &str) -> anyhow::Result<()> {
    if name.is_empty() {
        return Ok(());
    }
    name.split('.').try_for_each(|part| ident(part).map(drop))
}

pub(super) fn strings(m: &DynamicMessage, name: &str) -> Vec<String> {
    m.get_field_by_name(name)
        .and_then(|v| {
            v.as_list().map(|l| {
                l.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

pub(super) fn ints(m: &DynamicMessage, name: &str) -> Vec<i32> {
    m.get_field_by_name(name)
        .and_then(|v| {
            v.as_list()
                .map(|l| l.iter().filter_map(Value::as_i32).collect())
        })
        .unwrap_or_default()
}
