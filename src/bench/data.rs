//! The requests `rpcsh bench` sends: DATA, or the lines of a JSON-lines `--data-file` taken in
//! turn or (`--random`) at random, each encoded once — unless it holds placeholders, which are
//! filled per request: `{{n}}`/`{{request}}` (the request number), `{{worker}}`, `{{uuid}}` (a
//! random v4 UUID), `{{now}}` (the time, RFC 3339) and `{{random A B}}` (an integer from A to B).
use crate::client::input::{self, ParseOptions};
use anyhow::{bail, Context};
use bytes::Bytes;
use prost::Message;
use prost_reflect::MethodDescriptor;
use std::path::Path;

/// The request messages of one call.
#[derive(Clone)]
enum Request {
    /// Encoded once.
    Fixed(Vec<Bytes>),
    /// Rendered per request.
    Template(String),
}

#[derive(Clone)]
pub(super) struct Requests {
    lines: Vec<Request>,
    random: bool,
    per_call: usize,
}

impl Requests {
    /// DATA (`text`), or every line of `file`.
    pub(super) fn load(
        method: &MethodDescriptor,
        text: &str,
        file: Option<&Path>,
        random: bool,
        per_call: usize,
    ) -> anyhow::Result<Requests> {
        let lines = match file {
            None => vec![request(method, text, per_call)?],
            Some(path) => {
                let all = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read --data-file {}", path.display()))?;
                let lines = all
                    .lines()
                    .enumerate()
                    .filter(|(_, line)| !line.trim().is_empty())
                    .map(|(k, line)| {
                        request(method, line, per_call)
                            .with_context(|| format!("{}:{}", path.display(), k + 1))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                if lines.is_empty() {
                    bail!(crate::sys::error::Hint::new(
                        format!("--data-file {} has no requests", path.display()),
                        "write one request a line (JSON lines): {\"name\": \"a\"}",
                    ));
                }
                lines
            }
        };
        Ok(Requests {
            lines,
            random,
            per_call,
        })
    }

    /// The messages when they are the same for every call.
    pub(super) fn fixed(&self) -> Option<&[Bytes]> {
        match self.lines.as_slice() {
            [Request::Fixed(m)] => Some(m),
            _ => None,
        }
    }

    /// The messages of request `n`, made by `worker`.
    pub(super) fn render(
        &self,
        method: &MethodDescriptor,
        n: u64,
        worker: usize,
    ) -> anyhow::Result<Vec<Bytes>> {
        let k = match self.random {
            true => rand::random_range(0..self.lines.len()),
            false => (n % self.lines.len() as u64) as usize,
        };
        match &self.lines[k] {
            Request::Fixed(m) => Ok(m.clone()),
            Request::Template(t) => encode(method, &fill(t, n, worker)?, self.per_call),
        }
    }
}

fn request(method: &MethodDescriptor, text: &str, per_call: usize) -> anyhow::Result<Request> {
    let filled = fill(text, 0, 0)?;
    if filled == text {
        return Ok(Request::Fixed(encode(method, text, per_call)?));
    }
    // Check the shape once, with stand-ins.
    encode(method, &filled, per_call)?;
    Ok(Request::Template(text.to_string()))
}

/// `text` with its placeholders filled; an unknown one is an error.
fn fill(text: &str, n: u64, worker: usize) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = rest[open + 2..open + close].trim();
        match name {
            "n" | "request" => out.push_str(&n.to_string()),
            "worker" => out.push_str(&worker.to_string()),
            "uuid" => out.push_str(&uuid::Uuid::new_v4().to_string()),
            "now" => out.push_str(
                &humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            ),
            _ => match name.strip_prefix("random ").map(range) {
                Some(Some((lo, hi))) => out.push_str(&rand::random_range(lo..=hi).to_string()),
                _ => bail!(crate::sys::error::Hint::new(
                    format!("unknown placeholder {{{{{name}}}}} in DATA"),
                    "DATA may hold {{n}}, {{worker}}, {{uuid}}, {{now}} and {{random 1 100}}",
                )),
            },
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `A B` of `{{random A B}}`, A at most B.
fn range(text: &str) -> Option<(i64, i64)> {
    let mut parts = text.split_whitespace().map(|p| p.parse::<i64>().ok());
    match (parts.next()??, parts.next()??, parts.next()) {
        (lo, hi, None) if lo <= hi => Some((lo, hi)),
        _ => None,
    }
}

/// The messages of DATA: a JSON array or sequence is the stream; one message is repeated
/// `per_call` times for streaming methods.
fn encode(method: &MethodDescriptor, text: &str, per_call: usize) -> anyhow::Result<Vec<Bytes>> {
    let trimmed = text.trim();
    let messages = if trimmed.starts_with('[') && method.is_client_streaming() {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(trimmed).context("invalid JSON array of messages")?;
        let joined: Vec<String> = items.iter().map(|v| v.to_string()).collect();
        input::parse_messages(&joined.join("\n"), &method.input(), ParseOptions::default())?
    } else {
        input::parse_messages(text, &method.input(), ParseOptions::default())?
    };
    let mut encoded: Vec<Bytes> = messages
        .iter()
        .map(|m| Bytes::from(m.encode_to_vec()))
        .collect();
    if encoded.is_empty() {
        encoded.push(Bytes::new());
    }
    if method.is_client_streaming() && encoded.len() == 1 {
        encoded = std::iter::repeat_n(encoded[0].clone(), per_call.max(1)).collect();
    } else if !method.is_client_streaming() {
        encoded.truncate(1);
    }
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_each_time() {
        let filled = fill(
            r#"{"a": {{n}}, "w": {{ worker }}, "r": {{random 5 7}}}"#,
            42,
            3,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&filled).unwrap();
        assert_eq!((v["a"].as_u64(), v["w"].as_u64()), (Some(42), Some(3)));
        assert!((5..=7).contains(&v["r"].as_i64().unwrap()), "{filled}");
        let ids = fill("{{uuid}} {{uuid}}", 0, 0).unwrap();
        let (a, b) = ids.split_once(' ').unwrap();
        assert!(a != b && uuid::Uuid::parse_str(a).is_ok(), "{ids}");
        let now = fill("{{now}}", 0, 0).unwrap();
        assert!(humantime::parse_rfc3339(&now).is_ok(), "{now}");
        assert_eq!(fill("no {{ here", 1, 1).unwrap(), "no {{ here");
        let err = format!("{:#}", fill("{{nope}}", 0, 0).unwrap_err());
        assert!(err.contains("unknown placeholder {{nope}}"), "{err}");
        assert!(fill("{{random 9 1}}", 0, 0).is_err());
    }
}
