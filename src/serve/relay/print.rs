//! The printer: one task that takes the tap's events in order, decodes each message with the
//! upstream's schema (each method resolved once), prints a line (or a JSON object) per event,
//! with `-v` the headers and trailers too, and hands the calls to the recorder.
use super::record::ProxyRecorder;
use super::{is_reflection, Ender, Event, Headers, TAP_LIMIT};
use crate::client::output::format::Verbose;
use crate::client::schema::Schema;
use crate::session::connection::Connection;
use bytes::Bytes;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the printer knows of a call in flight.
struct Seen {
    path: String,
    method: Option<MethodDescriptor>,
    request_encoding: Option<String>,
    response_encoding: Option<String>,
    started: Instant,
}

/// How long the printer lets events gather after a batch.
const BATCH: Duration = Duration::from_millis(5);

/// How often the printer asks again for a schema the upstream could not give.
const SCHEMA_RETRY: Duration = Duration::from_secs(2);

pub(super) struct CallLog {
    upstream: Connection,
    schema: Option<Schema>,
    /// When the schema was last asked for, and failed.
    asked: Option<Instant>,
    /// Events the tap could not queue (the printer lagged too far).
    lost: Arc<AtomicU64>,
    methods: HashMap<String, Option<MethodDescriptor>>,
    calls: HashMap<u64, Seen>,
    /// What is printed next: written out a batch at a time, not a line.
    out: Vec<u8>,
    jsonl: bool,
    verbose: Option<Verbose>,
    recorder: Option<ProxyRecorder>,
    /// Whether the queue is far behind the calls (messages are then not decoded).
    behind: bool,
}

/// A message as the printer shows it.
enum Shown {
    Json(String),
    Note(String),
}

const STYLE: crate::client::output::format::Style = crate::client::output::format::Style {
    format: crate::client::output::format::Format::Jsonl,
    emit_defaults: false,
    proto_names: false,
    color: false,
};

impl CallLog {
    pub(super) fn new(
        upstream: Connection,
        jsonl: bool,
        recorder: Option<ProxyRecorder>,
        lost: Arc<AtomicU64>,
    ) -> CallLog {
        CallLog {
            verbose: upstream.verbose,
            upstream,
            schema: None,
            asked: None,
            lost,
            methods: HashMap::new(),
            calls: HashMap::new(),
            out: Vec::new(),
            jsonl,
            recorder,
            behind: false,
        }
    }

    /// The printer on a thread of its own with its own runtime (the schema's reflection calls
    /// run there too); the receiver says when it has finished.
    pub(super) fn spawn(
        self,
        events: mpsc::Receiver<Event>,
    ) -> anyhow::Result<tokio::sync::oneshot::Receiver<()>> {
        let (done, finished) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("rpcsh-printer".into())
            .spawn(move || {
                runtime.block_on(self.run(events));
                let _ = done.send(());
            })?;
        Ok(finished)
    }

    /// Prints the events in batches, until `Stop`; then the recording is finished. Runs on a
    /// thread of its own (`spawn`): the calls' threads only queue events, never wait on it.
    async fn run(mut self, mut events: mpsc::Receiver<Event>) {
        let mut stdout = std::io::stdout();
        self.open().await;
        'batches: while let Some(first) = events.recv().await {
            let mut next = Some(first);
            while let Some(event) = next {
                if let Event::Stop = event {
                    break 'batches;
                }
                self.lost_said();
                self.behind = events.len() > super::LAG / 4;
                self.handle(event).await;
                if self.out.len() > 1 << 16 {
                    self.write_out(&mut stdout);
                }
                next = events.try_recv().ok();
            }
            self.write_out(&mut stdout);
            // The next events gather meanwhile: one wake-up and one write a batch, not an
            // event, is what keeps the printer's cost off a busy proxy's calls.
            tokio::time::sleep(BATCH).await;
        }
        self.lost_said();
        self.write_out(&mut stdout);
        if let Some(recorder) = self.recorder.take() {
            recorder.finish();
        }
    }

    /// Says how many events the tap could not queue since the last time.
    fn lost_said(&mut self) {
        let lost = self.lost.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(
                self.out,
                "[proxy] {lost} event(s) not shown: the output did not keep up"
            );
            if let Some(r) = &mut self.recorder {
                r.lost();
            }
        }
    }

    /// A call began: said, its request headers shown, and remembered until it ends.
    async fn started(
        &mut self,
        call: u64,
        path: String,
        encoding: Option<String>,
        headers: Option<Headers>,
    ) {
        let method = self.method(&path).await;
        self.say(call, "call", &path, None);
        if let Some(h) = &headers {
            self.headers(call, "request-headers", &path, h);
        }
        if let Some(r) = &mut self.recorder {
            r.start(call, &path, method.as_ref(), headers.unwrap_or_default());
        }
        let seen = Seen {
            path,
            method,
            request_encoding: encoding,
            response_encoding: None,
            started: Instant::now(),
        };
        self.calls.insert(call, seen);
    }

    /// A call ended: its trailers, its status and how long it took.
    fn ended(
        &mut self,
        call: u64,
        status: Option<tonic::Status>,
        trailers: Option<Headers>,
        by: Ender,
    ) {
        let Some(seen) = self.calls.remove(&call) else {
            return;
        };
        if let Some(t) = &trailers {
            self.headers(call, "trailers", &seen.path, t);
        }
        let took = seen.started.elapsed();
        let code = status.as_ref().map_or(tonic::Code::Unknown, |s| s.code());
        let message = status
            .as_ref()
            .map(|s| s.message().to_string())
            .unwrap_or_default();
        let text = match (code, message.is_empty()) {
            (tonic::Code::Ok, _) | (_, true) => format!("{code:?} in {took:.1?}"),
            _ => format!(
                "{code:?}: {} in {took:.1?}",
                crate::sys::style::printable(&message)
            ),
        };
        self.say(call, "end", &seen.path, Some(Shown::Note(text)));
        if let Some(r) = &mut self.recorder {
            r.end(call, status.as_ref(), trailers.as_deref(), by);
        }
    }

    async fn handle(&mut self, event: Event) {
        match event {
            Event::Start {
                call,
                path,
                encoding,
                headers,
            } => self.started(call, path, encoding, headers).await,
            Event::ResponseHeaders {
                call,
                encoding,
                headers,
            } => {
                let Some(seen) = self.calls.get_mut(&call) else {
                    return;
                };
                seen.response_encoding = encoding;
                let path = seen.path.clone();
                if let Some(h) = &headers {
                    self.headers(call, "response-headers", &path, h);
                    if let Some(r) = &mut self.recorder {
                        r.response_headers(call, h);
                    }
                }
            }
            Event::Message {
                call,
                request,
                compressed,
                bytes,
            } => {
                let Some(seen) = self.calls.get(&call) else {
                    return;
                };
                // A client's own reflection (grpcurl's, ours) is said by its call and end.
                if is_reflection(&seen.path) {
                    return;
                }
                // Far behind (a quarter of the queue waiting) and nothing to record: the
                // message is said by its size, so that catching up costs no decoding.
                if self.behind && self.recorder.is_none() {
                    let shown = Shown::Note(format!(
                        "{} bytes (not decoded: the output is behind)",
                        bytes.len()
                    ));
                    let path = seen.path.clone();
                    self.say(call, kind(request), &path, Some(shown));
                    return;
                }
                let (shown, message) = decode(seen, request, compressed, bytes);
                let path = seen.path.clone();
                if let Some(r) = &mut self.recorder {
                    r.message(call, request, message.as_ref());
                }
                self.say(call, kind(request), &path, Some(shown));
            }
            Event::TooBig { call, request, len } => {
                let path = self.calls.get(&call).map(|s| s.path.clone());
                let shown = Shown::Note(format!("a message of {len} bytes, forwarded, not shown"));
                if let Some(r) = &mut self.recorder {
                    r.message(call, request, None);
                }
                self.say(call, kind(request), &path.unwrap_or_default(), Some(shown));
            }
            Event::End {
                call,
                status,
                trailers,
                by,
            } => self.ended(call, status, trailers, by),
            Event::Stop => {}
        }
    }

    /// A terminal that stops reading holds up this thread only: the tap drops what the
    /// queue cannot hold, and counts it.
    fn write_out(&mut self, stdout: &mut std::io::Stdout) {
        let _ = stdout.write_all(&self.out);
        let _ = stdout.flush();
        self.out.clear();
    }

    /// The upstream's schema (reflection, or the --proto/--protoset files).
    async fn open(&mut self) {
        match self.upstream.open(false).await {
            Ok(session) => self.schema = Some(session.schema),
            Err(e) => {
                self.asked = Some(Instant::now());
                eprintln!(
                    "rpcsh proxy: no schema from the upstream yet (its messages are shown as bytes): {e}"
                );
            }
        }
    }

    /// The method a path names, resolved once through the upstream's schema.
    async fn method(&mut self, path: &str) -> Option<MethodDescriptor> {
        if let Some(known) = self.methods.get(path) {
            return known.clone();
        }
        if self.schema.is_none() && self.asked.is_some_and(|t| t.elapsed() > SCHEMA_RETRY) {
            self.open().await;
        }
        let method = self.schema.as_mut()?.resolve_method(path).await.ok();
        self.methods.insert(path.to_string(), method.clone());
        method
    }

    fn say(&mut self, call: u64, kind: &str, path: &str, shown: Option<Shown>) {
        let path = crate::sys::style::printable(path);
        let line = if self.jsonl {
            let mut event = serde_json::json!({"call": call, "event": kind, "method": path});
            match shown {
                Some(Shown::Json(json)) => {
                    event["message"] = serde_json::from_str(&json).unwrap_or_default();
                }
                Some(Shown::Note(note)) => event["note"] = note.into(),
                None => {}
            }
            event.to_string()
        } else {
            let arrow = match kind {
                "call" => "call",
                "request" => ">",
                "response" => "<",
                _ => "end",
            };
            match shown {
                None => format!("[{call}] {arrow} {path}"),
                Some(Shown::Json(json)) => format!("[{call}] {arrow} {json}"),
                Some(Shown::Note(note)) => format!("[{call}] {arrow} {note}"),
            }
        };
        let _ = writeln!(self.out, "{line}");
    }

    /// With `-v`: the call's headers or trailers, secrets redacted unless --show-secrets.
    fn headers(&mut self, call: u64, kind: &str, path: &str, headers: &Headers) {
        let Some(verbose) = self.verbose else {
            return;
        };
        let shown = headers.iter().map(|(k, v)| {
            (
                k.as_str(),
                crate::sys::style::printable(&verbose.redact(k, v)).into_owned(),
            )
        });
        if self.jsonl {
            let mut map = serde_json::Map::new();
            for (k, v) in shown {
                // A name said twice is one entry, its values joined as HTTP joins them.
                let joined = match map.get(k).and_then(|old| old.as_str()) {
                    Some(old) => format!("{old}, {v}"),
                    None => v,
                };
                map.insert(k.to_string(), joined.into());
            }
            let event = serde_json::json!({"call": call, "event": kind,
                "method": crate::sys::style::printable(path), "headers": map});
            let _ = writeln!(self.out, "{event}");
            return;
        }
        let (arrow, word) = match kind {
            "request-headers" => (">", "header"),
            "response-headers" => ("<", "header"),
            _ => ("<", "trailer"),
        };
        for (k, v) in shown {
            let _ = writeln!(self.out, "[{call}] {arrow} {word} {k}: {v}");
        }
    }
}

fn kind(request: bool) -> &'static str {
    if request {
        "request"
    } else {
        "response"
    }
}

/// A message as shown, and as decoded when it could be.
fn decode(
    seen: &Seen,
    request: bool,
    compressed: bool,
    bytes: Bytes,
) -> (Shown, Option<DynamicMessage>) {
    use base64::Engine;
    let raw = || {
        let shown = Shown::Note(format!(
            "{} bytes: {}",
            bytes.len(),
            base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len().min(64)])
        ));
        (shown, None)
    };
    let Some(method) = &seen.method else {
        return raw();
    };
    let encoding = match request {
        true => &seen.request_encoding,
        false => &seen.response_encoding,
    };
    let plain = match compressed {
        true => match crate::client::net::web::decompressed(
            encoding.as_deref(),
            bytes.clone(),
            TAP_LIMIT,
        ) {
            Ok(plain) => plain,
            Err(_) => return raw(),
        },
        false => bytes.clone(),
    };
    let desc = match request {
        true => method.input(),
        false => method.output(),
    };
    let Ok(message) = DynamicMessage::decode(desc, plain) else {
        return raw();
    };
    let mut out = Vec::new();
    match crate::client::output::format::write_message(&mut out, &message, &STYLE) {
        Ok(()) => {
            let json = String::from_utf8_lossy(&out).trim_end().to_string();
            (Shown::Json(json), Some(message))
        }
        Err(_) => raw(),
    }
}
