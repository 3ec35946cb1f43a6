//! Writing `rpcsh run` scripts from calls that happened: the file, the expectation a call's
//! answer met (`expect exact`, `expect [...]` or `expect count N` for a stream, `expect error
//! CODE "message"`), and header lines with secrets left to the environment. Shared by the shell's
//! `record` and `rpcsh proxy --record`; what to record is theirs.
use crate::client::output::format::is_secret;
use crate::lang::expect::Outcome;
use serde_json::Value;
use std::io::Write;

/// Messages of a stream recorded one by one (what `serve --mock` answers with); past this,
/// `expect count N`.
pub const LISTED_MESSAGES: usize = 10_000;

/// What a recording writes, and how.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordSpec {
    pub path: std::path::PathBuf,
    /// Partial expectations (`expect JSON`) instead of exact ones.
    pub partial: bool,
    /// Field paths (`a.b`) left out of the expectations: values that change on every call.
    pub ignore: Vec<String>,
}

/// A script being written.
pub struct Script {
    pub spec: RecordSpec,
    file: std::io::BufWriter<std::fs::File>,
}

impl Script {
    /// Creates the file and writes the script's first line.
    pub fn create(spec: RecordSpec) -> anyhow::Result<Script> {
        let file = std::fs::File::create(&spec.path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", spec.path.display()))?;
        let mut script = Script {
            spec,
            file: std::io::BufWriter::new(file),
        };
        script.line("# recorded by rpcsh; replay with: rpcsh run FILE");
        Ok(script)
    }

    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.file, "{text}");
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    /// `value` without the ignored fields (`a.b` paths), for partial expectations.
    pub fn trimmed(&self, value: &Value) -> Value {
        let mut value = value.clone();
        for path in &self.spec.ignore {
            let mut parts: Vec<&str> = path.split('.').collect();
            let last = parts.pop().unwrap_or_default();
            let mut at = Some(&mut value);
            for p in parts {
                at = at.and_then(|v| v.get_mut(p));
            }
            if let Some(Value::Object(map)) = at {
                map.remove(last);
            }
        }
        value
    }

    /// The expectation the outcome of a call met; `received`: the messages of a stream in all
    /// (the outcome may keep only the first or the newest).
    pub fn expectation(
        &self,
        outcome: &Outcome,
        server_streaming: bool,
        received: usize,
    ) -> String {
        if let Some((code, message)) = &outcome.error {
            return format!(
                "expect error {} {}",
                crate::lang::expect::canonical(*code),
                serde_json::to_string(message).unwrap_or_default()
            );
        }
        let messages: Vec<Value> = outcome.messages.iter().map(|m| self.trimmed(m)).collect();
        if !server_streaming {
            let one = messages
                .first()
                .cloned()
                .unwrap_or(Value::Object(Default::default()));
            let verb = if self.spec.partial {
                "expect"
            } else {
                "expect exact"
            };
            return format!("{verb} {}", compact(&one));
        }
        if received > LISTED_MESSAGES {
            return format!("expect count {received}");
        }
        format!("expect {}", compact(&Value::Array(messages)))
    }

    /// What the answer of a call said besides its messages and status: `expect header` and
    /// `expect trailer` lines for the application's metadata (a status's details among them),
    /// and `pace` when its messages came slowly enough for the pace to be the server's, not
    /// the network's. A client stream's pace is its typist's: not written. `interleave`: a bidi
    /// stream's answers before each request, written when some came before the last.
    pub fn answer_lines(
        &self,
        outcome: &Outcome,
        client_streaming: bool,
        interleave: &[usize],
    ) -> Vec<String> {
        let mut lines = Vec::new();
        for (kind, sent) in [("header", &outcome.headers), ("trailer", &outcome.trailers)] {
            for (name, value) in sent.iter().filter(|(n, _)| answer_metadata(n)) {
                if is_secret(name) {
                    lines.push(format!("# the {kind} {name} is a secret: not recorded"));
                } else if !value.trim().is_empty() {
                    lines.push(format!("expect {kind} {name} {}", value.trim()));
                }
            }
        }
        if !client_streaming && outcome.gaps.iter().any(|g| *g >= PACED) {
            let gaps: Vec<String> = outcome
                .gaps
                .iter()
                .map(|g| format!("{}ms", g.as_millis()))
                .collect();
            lines.push(format!("pace {}", gaps.join(" ")));
        }
        if interleave.iter().any(|n| *n > 0) {
            let counts: Vec<String> = interleave.iter().map(usize::to_string).collect();
            lines.push(format!("interleave {}", counts.join(" ")));
        }
        lines
    }

    /// `header set`, with a secret's value left to the environment.
    pub fn header(&mut self, name: &str, value: &str) {
        if is_secret(name) {
            let var = format!("RPCSH_{}", name.to_ascii_uppercase().replace('-', "_"));
            self.line(&format!(
                "# {name} is a secret: export {var} before running this script"
            ));
            self.line(&format!("header set {name} ${{env:{var}}}"));
        } else {
            self.line(&format!("header set {name} {value}"));
        }
    }
}

/// The shortest wait between messages a recording keeps as the answer's pace: shorter ones
/// are the network's and the machine's (a loopback call takes well under).
const PACED: std::time::Duration = std::time::Duration::from_millis(10);

/// Response metadata the application sent, not HTTP's or gRPC's own; a status's details are
/// the application's.
fn answer_metadata(name: &str) -> bool {
    name == "grpc-status-details-bin"
        || !(name.starts_with("grpc-")
            || name.starts_with(':')
            || matches!(
                name,
                "content-type"
                    | "content-length"
                    | "date"
                    | "server"
                    | "te"
                    | "trailer"
                    | "vary"
                    | "connection"
                    | "transfer-encoding"
                    | "keep-alive"
            )
            || name.starts_with("access-control-"))
}

pub fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A message as the script writes it: proto3 JSON on one line.
pub fn to_json(message: &prost_reflect::DynamicMessage) -> String {
    serde_json::to_string(message).unwrap_or_else(|_| "{}".into())
}
