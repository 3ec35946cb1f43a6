//! The requests `rpcsh bench` sends: DATA, or the lines of a JSON-lines `--data-file` taken in
//! turn or (`--random`) at random, each encoded once — unless it holds placeholders, which are
//! filled per request, as are those of `-H` metadata: `{{n}}`/`{{request}}` (the request
//! number), `{{worker}}`, `{{uuid}}` (a random v4 UUID), `{{now}}` (the time, RFC 3339),
//! `{{unix}}`/`{{unix_ms}}`/`{{unix_ns}}`, `{{random A B}}` (an integer from A to B),
//! `{{random_string N}}` (N letters and digits), `{{method}}`, `{{service}}`; and ghz's
//! spellings of the same (`{{.RequestNumber}}`, `{{.UUID}}`, `{{randomString 8}}`, ...), so its
//! users' templates work as they are.
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

/// The texts of a run's requests: DATA (`text`), or every line of `file` that is not blank,
/// with its number. Read before the method is resolved: the schema is built as far as they go.
pub(super) fn texts(text: String, file: Option<&Path>) -> anyhow::Result<Vec<(usize, String)>> {
    let Some(path) = file else {
        return Ok(vec![(0, text)]);
    };
    let all = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --data-file {}", path.display()))?;
    let lines: Vec<_> = all
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(k, line)| (k + 1, line.to_string()))
        .collect();
    if lines.is_empty() {
        bail!(crate::sys::error::Hint::new(
            format!("--data-file {} has no requests", path.display()),
            "write one request a line (JSON lines): {\"name\": \"a\"}",
        ));
    }
    Ok(lines)
}

/// The texts with their placeholders filled by stand-ins, one after another: the JSON whose
/// types the schema needs (`Schema::expand_request`). A placeholder only ever fills a value, so
/// every request of the run fills the same types. A text whose placeholders are wrong is left
/// out, for `Requests::load` to report.
pub(super) fn stand_ins(texts: &[(usize, String)], method: &MethodDescriptor) -> String {
    texts
        .iter()
        .filter_map(|(_, text)| fill(text, 0, 0, method).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Requests {
    /// The requests of `texts` (`texts()`), each checked and, without placeholders, encoded.
    pub(super) fn load(
        method: &MethodDescriptor,
        texts: &[(usize, String)],
        file: Option<&Path>,
        random: bool,
        per_call: usize,
    ) -> anyhow::Result<Requests> {
        let lines = texts
            .iter()
            .map(|(k, text)| {
                let request = request(method, text, per_call);
                match file {
                    Some(path) => request.with_context(|| format!("{}:{k}", path.display())),
                    None => request,
                }
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
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
            Request::Template(t) => encode(method, &fill(t, n, worker, method)?, self.per_call),
        }
    }
}

fn request(method: &MethodDescriptor, text: &str, per_call: usize) -> anyhow::Result<Request> {
    let filled = fill(text, 0, 0, method)?;
    if filled == text {
        return Ok(Request::Fixed(encode(method, text, per_call)?));
    }
    // Check the shape once, with stand-ins.
    encode(method, &filled, per_call)?;
    Ok(Request::Template(text.to_string()))
}

/// `text` with its placeholders filled for request `n` of `worker` on `method`; an unknown one
/// is an error.
pub(super) fn fill(
    text: &str,
    n: u64,
    worker: usize,
    method: &MethodDescriptor,
) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = rest[open + 2..open + close].trim();
        match value(name, n, worker, method) {
            Some(v) => out.push_str(&v),
            None => bail!(crate::sys::error::Hint::new(
                format!("unknown placeholder {{{{{name}}}}}"),
                "placeholders: {{n}}, {{worker}}, {{uuid}}, {{now}}, {{unix}}, {{unix_ms}}, {{unix_ns}}, {{random 1 100}}, {{random_string 8}}, {{method}}, {{service}} (or ghz's {{.UUID}}, ...)",
            )),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of placeholder `name` (rpcsh's or ghz's spelling), None if there is no such one.
fn value(name: &str, n: u64, worker: usize, method: &MethodDescriptor) -> Option<String> {
    let since_epoch = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    };
    Some(match name {
        "n" | "request" | ".RequestNumber" => n.to_string(),
        "worker" | ".WorkerID" => worker.to_string(),
        "uuid" | ".UUID" => uuid::Uuid::new_v4().to_string(),
        "now" => humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        "unix" | ".TimestampUnix" => since_epoch().as_secs().to_string(),
        "unix_ms" | ".TimestampUnixMilli" => since_epoch().as_millis().to_string(),
        "unix_ns" | ".TimestampUnixNano" => since_epoch().as_nanos().to_string(),
        "method" | ".MethodName" => method.name().to_string(),
        "service" | ".ServiceName" => method.parent_service().full_name().to_string(),
        ".FullyQualifiedName" => method.full_name().to_string(),
        ".InputName" => method.input().full_name().to_string(),
        ".OutputName" => method.output().full_name().to_string(),
        _ => {
            let (func, args) = name.split_once(' ')?;
            match func {
                "random" | "randomInt" => {
                    let (lo, hi) = range(args)?;
                    rand::random_range(lo..=hi).to_string()
                }
                "random_string" | "randomString" => {
                    let len: usize = args.trim().parse().ok().filter(|n| *n <= 1 << 20)?;
                    use rand::distr::{Alphanumeric, SampleString};
                    Alphanumeric.sample_string(&mut rand::rng(), len)
                }
                _ => return None,
            }
        }
    })
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

    fn method() -> MethodDescriptor {
        crate::serve::pb::pool()
            .get_service_by_name("Greeter")
            .and_then(|s| s.methods().next())
            .expect("Greeter/SayHello")
    }

    #[test]
    fn placeholders_are_filled_each_time() {
        let m = &method();
        let filled = fill(
            r#"{"a": {{n}}, "w": {{ worker }}, "r": {{random 5 7}}}"#,
            42,
            3,
            m,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&filled).unwrap();
        assert_eq!((v["a"].as_u64(), v["w"].as_u64()), (Some(42), Some(3)));
        assert!((5..=7).contains(&v["r"].as_i64().unwrap()), "{filled}");
        let ids = fill("{{uuid}} {{.UUID}}", 0, 0, m).unwrap();
        let (a, b) = ids.split_once(' ').unwrap();
        assert!(a != b && uuid::Uuid::parse_str(b).is_ok(), "{ids}");
        let now = fill("{{now}}", 0, 0, m).unwrap();
        assert!(humantime::parse_rfc3339(&now).is_ok(), "{now}");
        assert_eq!(fill("no {{ here", 1, 1, m).unwrap(), "no {{ here");
        let err = format!("{:#}", fill("{{nope}}", 0, 0, m).unwrap_err());
        assert!(err.contains("unknown placeholder {{nope}}"), "{err}");
        assert!(fill("{{random 9 1}}", 0, 0, m).is_err());
        let names = fill(
            "{{method}} {{service}} {{.FullyQualifiedName}} {{.InputName}}",
            0,
            0,
            m,
        );
        assert_eq!(
            names.unwrap(),
            "SayHello Greeter Greeter.SayHello HelloRequest"
        );
        let s = fill("{{random_string 12}}|{{randomString 3}}", 0, 0, m).unwrap();
        let (long, short) = s.split_once('|').unwrap();
        assert_eq!((long.len(), short.len()), (12, 3));
        assert!(long.chars().all(|c| c.is_ascii_alphanumeric()), "{long}");
        let at: u128 = fill("{{unix_ns}}", 0, 0, m).unwrap().parse().unwrap();
        let secs: u128 = fill("{{.TimestampUnix}}", 0, 0, m)
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            at / 1_000_000_000 >= secs - 1 && secs > 1_700_000_000,
            "{at} {secs}"
        );
    }
}
