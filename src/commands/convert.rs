//! Conversion outside calls: `rpcsh encode TYPE` (JSON to protobuf binary, gRPC-framed, base64 or
//! text format) and `rpcsh decode TYPE` (binary, base64 or gRPC-framed, several framed messages
//! in a row, to JSON, JSON lines or text), with the schema from any source; and `rpcsh decode
//! --raw`, with none, as `protoc --decode_raw` prints a message (field numbers and wire types,
//! nested messages guessed).
use crate::client::input::{parse_messages, Data, ParseOptions};
use crate::client::output::format::{self, Style};
use crate::client::schema::Symbol;
use crate::session::connection::Connection;
use crate::sys::error::Hint;
use anyhow::{bail, Context};
use base64::Engine;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use std::io::{IsTerminal, Read, Write};

/// How `encode` writes and `decode` reads messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wire {
    /// gRPC length-prefixed messages (5-byte header each).
    pub framed: bool,
    /// Base64 text instead of bytes.
    pub base64: bool,
}

/// How deep `decode --raw` guesses nested messages; past it, bytes are shown as bytes.
const RAW_DEPTH: usize = 64;

/// The message TYPE names: a message, or a method's request (its response with `response`).
async fn message_type(
    conn: &Connection,
    name: &str,
    response: bool,
) -> anyhow::Result<MessageDescriptor> {
    let mut session = conn.open(false).await?;
    match session.schema.find_symbol(name).await? {
        Symbol::Message(m) => Ok(m),
        Symbol::Method(m) if response => Ok(m.output()),
        Symbol::Method(m) => Ok(m.input()),
        _ => bail!(Hint::new(
            format!("{name} is not a message"),
            "give a message, or a method for its request (--response: its response)",
        )),
    }
}

/// `rpcsh encode TYPE [JSON|@FILE|-]`.
pub async fn encode(
    conn: &Connection,
    name: &str,
    data: Data,
    response: bool,
    wire: Wire,
    text: bool,
) -> anyhow::Result<()> {
    let desc = message_type(conn, name, response).await?;
    let data = match data {
        Data::None => Data::Stdin,
        d => d,
    };
    let messages = parse_messages(&data.read_text()?, &desc, ParseOptions::default())?;
    if messages.len() != 1 && !wire.framed && !text {
        bail!(Hint::new(
            format!(
                "{} messages to encode: plain protobuf holds one",
                messages.len()
            ),
            "--framed writes several, each length-prefixed as gRPC sends them",
        ));
    }
    let mut out = Vec::new();
    for m in &messages {
        if text {
            let style = Style {
                format: format::Format::Text,
                emit_defaults: false,
                proto_names: false,
                color: false,
            };
            format::write_message(&mut out, m, &style)?;
            continue;
        }
        if wire.framed {
            out.push(0);
            out.extend_from_slice(&(m.encoded_len() as u32).to_be_bytes());
        }
        m.encode(&mut out)?;
    }
    let mut stdout = std::io::stdout().lock();
    if wire.base64 && !text {
        writeln!(
            stdout,
            "{}",
            base64::engine::general_purpose::STANDARD.encode(&out)
        )?;
    } else if !text && stdout.is_terminal() {
        bail!(Hint::new(
            "the encoded message is binary: not written to the terminal",
            "redirect it (> message.bin), or give --base64",
        ));
    } else {
        stdout.write_all(&out)?;
    }
    Ok(())
}

/// The bytes to decode: a file, or stdin; base64 text decoded.
fn read_input(input: Option<&str>, base64: bool) -> anyhow::Result<Vec<u8>> {
    let bytes = match input {
        None | Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            bytes
        }
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {path}"))?,
    };
    if !base64 {
        return Ok(bytes);
    }
    let text: Vec<u8> = bytes
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&text))
        .map_err(|e| anyhow::anyhow!("the input is not base64: {e}"))
}

/// The messages of the input: the whole of it, or its gRPC frames.
fn split(bytes: &[u8], framed: bool) -> anyhow::Result<Vec<&[u8]>> {
    if !framed {
        return Ok(vec![bytes]);
    }
    let mut messages = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 5 {
            bail!(
                "frame {} is cut short: {} byte(s) where a 5-byte header goes",
                messages.len() + 1,
                rest.len()
            );
        }
        if rest[0] & 1 == 1 {
            bail!(
                "frame {} is compressed: decode reads uncompressed frames",
                messages.len() + 1
            );
        }
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        if rest.len() - 5 < len {
            bail!(
                "frame {} says {len} bytes, and {} follow",
                messages.len() + 1,
                rest.len() - 5
            );
        }
        messages.push(&rest[5..5 + len]);
        rest = &rest[5 + len..];
    }
    Ok(messages)
}

/// `rpcsh decode TYPE [FILE|-]`.
pub async fn decode(
    conn: &Connection,
    name: &str,
    input: Option<&str>,
    response: bool,
    wire: Wire,
    style: Style,
) -> anyhow::Result<()> {
    let desc = message_type(conn, name, response).await?;
    let bytes = read_input(input, wire.base64)?;
    let mut out = std::io::stdout().lock();
    for (i, m) in split(&bytes, wire.framed)?.into_iter().enumerate() {
        let message = DynamicMessage::decode(desc.clone(), m).map_err(|e| {
            let hint = match (wire.framed, looks_like_base64(&bytes)) {
                (_, true) if !wire.base64 => "the input looks like base64 text: --base64",
                (false, _) if bytes.len() > 5 && bytes[0] == 0 => {
                    "it may be gRPC-framed (a 5-byte header first): --framed"
                }
                _ => "is TYPE the message these bytes are? decode --raw shows them without one",
            };
            Hint::new(
                format!(
                    "message {} does not decode as {}: {e}",
                    i + 1,
                    desc.full_name()
                ),
                hint,
            )
        })?;
        format::write_message(&mut out, &message, &style)?;
    }
    Ok(())
}

fn looks_like_base64(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_\r\n".contains(b))
}

/// `rpcsh decode --raw [FILE|-]`.
pub fn decode_raw(input: Option<&str>, wire: Wire) -> anyhow::Result<()> {
    let bytes = read_input(input, wire.base64)?;
    let mut out = std::io::stdout().lock();
    let messages = split(&bytes, wire.framed)?;
    for (i, m) in messages.iter().enumerate() {
        if messages.len() > 1 {
            writeln!(out, "# message {}", i + 1)?;
        }
        let mut text = String::new();
        if !raw_fields(m, 0, &mut text) {
            bail!(Hint::new(
                format!("message {} is not protobuf: its bytes are no fields", i + 1),
                match looks_like_base64(&bytes) && !wire.base64 {
                    true => "the input looks like base64 text: --base64",
                    false => "gRPC-framed input needs --framed",
                },
            ));
        }
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// Appends `bytes` read as fields, one a line at `depth`; false when they are not fields.
fn raw_fields(bytes: &[u8], depth: usize, out: &mut String) -> bool {
    let start = out.len();
    let mut buf = bytes;
    let indent = "  ".repeat(depth);
    while !buf.is_empty() {
        let Ok(key) = prost::encoding::decode_varint(&mut buf) else {
            out.truncate(start);
            return false;
        };
        let (number, wire) = (key >> 3, key & 7);
        if number == 0 || number > (1 << 29) - 1 {
            out.truncate(start);
            return false;
        }
        let line = match wire {
            0 => match prost::encoding::decode_varint(&mut buf) {
                Ok(v) => format!("{number}: {v}"),
                Err(_) => return undo(out, start),
            },
            1 if buf.len() >= 8 => {
                let v = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
                buf = &buf[8..];
                format!("{number}: 0x{v:016x}")
            }
            5 if buf.len() >= 4 => {
                let v = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
                buf = &buf[4..];
                format!("{number}: 0x{v:08x}")
            }
            2 => {
                let Ok(len) = prost::encoding::decode_varint(&mut buf) else {
                    return undo(out, start);
                };
                let Some(value) = usize::try_from(len).ok().filter(|&l| l <= buf.len()) else {
                    return undo(out, start);
                };
                let (value, rest) = buf.split_at(value);
                buf = rest;
                let mut nested = String::new();
                if depth < RAW_DEPTH
                    && !value.is_empty()
                    && raw_fields(value, depth + 1, &mut nested)
                {
                    out.push_str(&format!("{indent}{number} {{\n{nested}{indent}}}\n"));
                    continue;
                }
                format!("{number}: \"{}\"", escape(value))
            }
            _ => return undo(out, start),
        };
        out.push_str(&indent);
        out.push_str(&line);
        out.push('\n');
    }
    true
}

fn undo(out: &mut String, start: usize) -> bool {
    out.truncate(start);
    false
}

/// Bytes as protoc prints them in text: printable ASCII as is, the rest as octal escapes.
fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_fields_read_as_protoc_decode_raw_prints_them() {
        // Feature { name = 1: "a", location = 2: { latitude = 1: 1, longitude = 2: -1 } }
        let bytes = [
            0x0a, 0x01, b'a', 0x12, 0x0d, 0x08, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x01,
        ];
        let mut out = String::new();
        assert!(raw_fields(&bytes, 0, &mut out));
        assert_eq!(out, "1: \"a\"\n2 {\n  1: 1\n  2: 18446744073709551615\n}\n");
        // Bytes that are not fields are not a message; as a field, they are escaped bytes.
        assert!(!raw_fields(&[0xff], 0, &mut String::new()));
        let mut out = String::new();
        assert!(raw_fields(&[0x0a, 0x02, 0x00, 0x1b], 0, &mut out));
        assert_eq!(out, "1: \"\\000\\033\"\n");
    }

    #[test]
    fn frames_are_split_and_a_cut_one_is_an_error() {
        let framed = [0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0];
        assert_eq!(split(&framed, true).unwrap(), vec![&[8u8][..], &[][..]]);
        assert!(split(&framed[..8], true).is_err());
        assert!(split(&[1, 0, 0, 0, 0], true).is_err());
    }

    #[test]
    fn a_deep_nesting_is_bounded() {
        // 10,000 levels of `1 { ... }`: no stack overflow, the deep end shown as bytes.
        let mut bytes = vec![0x08, 0x01];
        for _ in 0..10_000 {
            let mut outer = vec![0x0a];
            let mut len = Vec::new();
            prost::encoding::encode_varint(bytes.len() as u64, &mut len);
            outer.extend(len);
            outer.extend(bytes);
            bytes = outer;
        }
        let mut out = String::new();
        assert!(raw_fields(&bytes, 0, &mut out));
        assert!(out.lines().count() < 200);
    }
}
