//! `rpcsh proxy --record FILE`: the calls the proxy saw as an `rpcsh run` script, in the order
//! they started, each written once complete: its client's metadata as `header set` lines (secrets
//! as `${env:...}`), its request messages as sent, and the expectation its answer met. A call a
//! replay could not repeat (undecodable, cancelled by its client, failed in the proxy) is a
//! comment saying why.
use super::{is_reflection, Ender};
use crate::lang::expect::Outcome;
use crate::lang::recording::{to_json, RecordSpec, Script, LISTED_MESSAGES};
use prost_reflect::{DynamicMessage, MethodDescriptor};
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) struct ProxyRecorder {
    script: Script,
    /// Calls seen and not yet written, by number (the order they started).
    calls: BTreeMap<u64, Taken>,
    /// The number of the next call to write.
    next: u64,
    /// The headers the script has set so far.
    set: BTreeMap<String, String>,
    written: usize,
    /// Events were lost: a call number may never come, so gaps are skipped.
    gaps: bool,
}

/// One call as the recording needs it.
#[derive(Default)]
struct Taken {
    path: String,
    /// `Service/Method`, and whether the client and the server stream.
    method: Option<(String, bool, bool)>,
    headers: Vec<(String, String)>,
    requests: Vec<String>,
    /// The first responses (a longer stream is expected by its count).
    responses: Vec<Value>,
    received: usize,
    error: Option<(tonic::Code, String)>,
    /// The answer's metadata and pace, for `expect header`, `expect trailer` and `pace`.
    response_headers: Vec<(String, String)>,
    trailers: Vec<(String, String)>,
    gaps: Vec<std::time::Duration>,
    last_at: Option<std::time::Instant>,
    /// How many responses had come before each request (a bidi stream's interleaving).
    before: Vec<usize>,
    done: bool,
    /// Why it is not recorded; empty: silently (the client's own reflection).
    left_out: Option<String>,
}

/// Metadata a client library sends of its own, or gRPC's own: not the application's to record.
fn recordable(name: &str) -> bool {
    !(name.starts_with("grpc-")
        || matches!(
            name,
            "content-type" | "te" | "user-agent" | "host" | "accept-encoding" | "content-length"
        ))
}

impl ProxyRecorder {
    pub(super) fn create(spec: RecordSpec, upstream: &str) -> anyhow::Result<ProxyRecorder> {
        let mut script = Script::create(spec)?;
        script.line(&format!("connect {upstream}"));
        let _ = script.flush();
        Ok(ProxyRecorder {
            script,
            calls: BTreeMap::new(),
            next: 1,
            set: BTreeMap::new(),
            written: 0,
            gaps: false,
        })
    }

    pub(super) fn start(
        &mut self,
        call: u64,
        path: &str,
        method: Option<&MethodDescriptor>,
        headers: Vec<(String, String)>,
    ) {
        let left_out = if is_reflection(path) {
            Some(String::new())
        } else if method.is_none() {
            Some("the upstream's schema does not have it".into())
        } else {
            None
        };
        let method = method.map(|m| {
            let name = format!("{}/{}", m.parent_service().full_name(), m.name());
            (name, m.is_client_streaming(), m.is_server_streaming())
        });
        let headers = headers.into_iter().filter(|(k, _)| recordable(k)).collect();
        let taken = Taken {
            path: path.to_string(),
            method,
            headers,
            left_out,
            last_at: Some(std::time::Instant::now()),
            ..Taken::default()
        };
        self.calls.insert(call, taken);
    }

    /// A message of the call; None: one that could not be decoded.
    pub(super) fn message(&mut self, call: u64, request: bool, message: Option<&DynamicMessage>) {
        let Some(taken) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(message) = message else {
            taken
                .left_out
                .get_or_insert_with(|| "a message of it could not be decoded".into());
            return;
        };
        if request {
            taken.requests.push(to_json(message));
            taken.before.push(taken.received);
            return;
        }
        taken.received += 1;
        if let Some(at) = taken.last_at.filter(|_| taken.gaps.len() < LISTED_MESSAGES) {
            taken.gaps.push(at.elapsed());
            taken.last_at = Some(std::time::Instant::now());
        }
        if taken.responses.len() <= LISTED_MESSAGES {
            taken
                .responses
                .push(serde_json::to_value(message).unwrap_or_default());
        }
    }

    pub(super) fn response_headers(&mut self, call: u64, headers: &[(String, String)]) {
        if let Some(taken) = self.calls.get_mut(&call) {
            taken.response_headers = headers.to_vec();
        }
    }

    /// The call ended with `status`; `trailers`: None for a trailers-only answer, whose
    /// headers were its trailers.
    pub(super) fn end(
        &mut self,
        call: u64,
        status: Option<&tonic::Status>,
        trailers: Option<&[(String, String)]>,
        by: Ender,
    ) {
        let Some(taken) = self.calls.get_mut(&call) else {
            return;
        };
        taken.done = true;
        match trailers {
            Some(trailers) => taken.trailers = trailers.to_vec(),
            None => taken.trailers = std::mem::take(&mut taken.response_headers),
        }
        let why = match (by, status) {
            (Ender::Client, _) => Some("its client cancelled it"),
            (Ender::Proxy, _) => Some("the upstream could not be reached"),
            (Ender::Server, None) => Some("it ended without a grpc-status"),
            (Ender::Server, Some(s)) => {
                if s.code() != tonic::Code::Ok {
                    taken.error = Some((s.code(), s.message().to_string()));
                }
                None
            }
        };
        if let Some(why) = why {
            taken.left_out.get_or_insert_with(|| why.into());
        }
        loop {
            if self.gaps && !self.calls.contains_key(&self.next) {
                match self.calls.keys().next() {
                    Some(&first) if first > self.next => self.next = first,
                    _ => break,
                }
            }
            if !self.calls.get(&self.next).is_some_and(|t| t.done) {
                break;
            }
            let taken = self.calls.remove(&self.next).expect("checked above");
            self.write(self.next, taken);
            self.next += 1;
        }
        let _ = self.script.flush();
    }

    /// The printer lagged and events were dropped: the calls in flight may miss some.
    pub(super) fn lost(&mut self) {
        self.gaps = true;
        for taken in self.calls.values_mut() {
            taken
                .left_out
                .get_or_insert_with(|| "the proxy's output fell behind while it ran".into());
        }
    }

    /// At the proxy's stop: the calls still waiting, the unfinished ones as comments.
    pub(super) fn finish(mut self) {
        for (call, mut taken) in std::mem::take(&mut self.calls) {
            if !taken.done {
                taken
                    .left_out
                    .get_or_insert_with(|| "it was still running when the proxy stopped".into());
            }
            self.write(call, taken);
        }
        let _ = self.script.flush();
        eprintln!(
            "recorded {} call(s) to {}",
            self.written,
            self.script.spec.path.display()
        );
    }

    fn write(&mut self, call: u64, taken: Taken) {
        let path = crate::sys::style::printable(&taken.path).replace('\n', " ");
        match (&taken.left_out, &taken.method) {
            (Some(why), _) if why.is_empty() => return,
            (Some(why), _) => {
                self.script
                    .line(&format!("# call {call} {path} is not recorded: {why}"));
                return;
            }
            (None, None) => return,
            (None, Some(_)) => {}
        }
        let Some((name, client_streaming, server_streaming)) = taken.method else {
            return;
        };
        self.headers(&taken.headers);
        if client_streaming {
            self.script.line(&format!("call {name}"));
            for m in &taken.requests {
                self.script.line(m);
            }
            self.script.line("end");
        } else {
            let data = taken.requests.first().map_or("{}", String::as_str);
            self.script.line(&format!("call {name} {data}"));
        }
        let outcome = Outcome {
            messages: taken.responses,
            error: taken.error,
            called: true,
            headers: taken.response_headers,
            trailers: taken.trailers,
            gaps: taken.gaps,
        };
        let expectation = self
            .script
            .expectation(&outcome, server_streaming, taken.received);
        self.script.line(&expectation);
        let interleave = if server_streaming {
            &taken.before[..]
        } else {
            &[]
        };
        for line in self
            .script
            .answer_lines(&outcome, client_streaming, interleave)
        {
            self.script.line(&line);
        }
        self.written += 1;
    }

    /// `header set` / `header unset` lines that make the script's headers the call's.
    fn headers(&mut self, headers: &[(String, String)]) {
        let wanted: BTreeMap<String, String> = headers.iter().cloned().collect();
        let gone: Vec<String> = self
            .set
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for name in gone {
            self.script.line(&format!("header unset {name}"));
            self.set.remove(&name);
        }
        for (name, value) in wanted {
            if self.set.get(&name) != Some(&value) {
                self.script.header(&name, &value);
                self.set.insert(name, value);
            }
        }
    }
}
