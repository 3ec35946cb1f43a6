//! Where the shell's output goes — a front end's screen (the REPL's: above the prompt), or plain
//! stdout/stderr when piped — and the handler that counts and keeps a call's responses for
//! `expect` while they are printed.
use super::Shell;
use crate::client::output::format::{self, Printer};
use crate::client::schema::Schema;
use crate::client::wire::invoke::{CallError, Handler};
use crate::client::wire::status::client_deadline;
use crate::lang::expect::Outcome;
use crate::session::connection::Session;
use prost_reflect::DynamicMessage;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A front end's display, printed on while it takes input: the terminal above the REPL's prompt,
/// a page. A front end that shows more than text takes a call's events too; one with a cancel
/// button of its own says how it interrupts (the REPL's is Ctrl-C).
pub(crate) trait Screen: Send {
    fn print(&mut self, text: String);

    /// What a call reports, as it happens (its text is printed as well).
    fn event(&mut self, _event: Event) {}

    /// What interrupts a wait instead of Ctrl-C.
    fn interrupt(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
}

/// What a call reports to a front end, `tag` naming the watch it comes from (empty for the call
/// in front).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Headers {
        tag: String,
        headers: Vec<(String, String)>,
    },
    Message {
        tag: String,
        json: serde_json::Value,
    },
    Trailers {
        tag: String,
        trailers: Vec<(String, String)>,
    },
    /// A call failed with this status (its text, with decoded details, is printed).
    Failed { code: String },
}

/// Where the shell's output goes: a front end's screen, plain stdout/stderr, or nowhere (the
/// virtual users of `bench --script`).
#[derive(Clone)]
pub(crate) enum Output {
    Plain,
    Screen(Arc<Mutex<Box<dyn Screen>>>),
    Silent,
}

impl Output {
    /// Ctrl-C as a shell command waits on it: typed at a terminal, it gives up the wait; piped,
    /// it ends the session (`signals`), so this never resolves.
    pub(super) async fn ctrl_c(&self) {
        match self {
            Output::Screen(screen) => {
                let interrupt = screen.lock().unwrap().interrupt();
                match interrupt {
                    Some(notify) => notify.notified().await,
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            Output::Plain | Output::Silent => std::future::pending().await,
        }
    }

    /// Tells a screen what a call reported.
    pub(super) fn event(&self, event: Event) {
        if let Output::Screen(screen) = self {
            screen.lock().unwrap().event(event);
        }
    }

    pub(super) fn out(&self, text: &str) {
        match self {
            Output::Plain => {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            }
            Output::Screen(printer) => {
                printer.lock().unwrap().print(text.to_string());
            }
            Output::Silent => {}
        }
    }

    /// A call cancelled by Ctrl-C: on a terminal the `^C` it echoed ends its line first.
    pub(super) fn cancelled(&self) {
        match self {
            Output::Screen(_) => self.err("\ncancelled\n"),
            _ => self.err("cancelled\n"),
        }
    }

    /// A notice about a job (a watch started, ended, stopped): above the prompt on a terminal;
    /// piped, on stderr, so that stdout holds only results.
    pub(super) fn note(&self, text: &str) {
        self.err(text)
    }

    pub(super) fn err(&self, text: &str) {
        match self {
            Output::Plain => eprint!("{text}"),
            Output::Screen(_) | Output::Silent => self.out(text),
        }
    }
}

/// A `Write` that hands whole flushes to an `Output`, each line tagged with `prefix`.
pub(super) struct OutWriter {
    pub(super) out: Output,
    pub(super) prefix: String,
    pub(super) buf: Vec<u8>,
}

impl Write for OutWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        let text = if self.prefix.is_empty() {
            text
        } else {
            text.lines()
                .map(|l| format!("{}{l}\n", self.prefix))
                .collect()
        };
        self.out.out(&text);
        Ok(())
    }
}

/// Counts and keeps messages (as JSON, for `expect`) as they go to the printer, and says when
/// the call has started.
pub(super) struct Counting {
    pub(super) printer: Printer<OutWriter>,
    pub(super) count: Arc<AtomicUsize>,
    pub(super) started: Option<tokio::sync::oneshot::Sender<()>>,
    pub(super) kept: Arc<Mutex<Kept>>,
    /// Resolves the types `google.protobuf.Any` fields hold, as the one-shot `call` does.
    pub(super) schema: Option<Schema>,
    /// What a recording says of the answer besides its messages.
    pub(super) headers: Vec<(String, String)>,
    pub(super) trailers: Vec<(String, String)>,
    pub(super) gaps: Vec<std::time::Duration>,
    pub(super) last_at: std::time::Instant,
}

/// Messages kept per call for `expect`: the newest ones when a stream is longer, by count and
/// by size (encoded bytes): a stream of 3,000 messages of 1 MB must not stay resident.
pub(super) const KEPT_MESSAGES: usize = 100_000;
pub(super) const KEPT_BYTES: usize = 64 << 20;

/// The newest messages of a call, bounded by `KEPT_MESSAGES` and `KEPT_BYTES`; dropping the
/// oldest costs the same whatever the count.
#[derive(Default)]
pub(super) struct Kept {
    messages: std::collections::VecDeque<(serde_json::Value, usize)>,
    bytes: usize,
}

impl Kept {
    pub(super) fn push(&mut self, message: serde_json::Value, size: usize) {
        self.messages.push_back((message, size));
        self.bytes += size;
        while self.messages.len() > KEPT_MESSAGES
            || (self.bytes > KEPT_BYTES && self.messages.len() > 1)
        {
            if let Some((_, size)) = self.messages.pop_front() {
                self.bytes -= size;
            }
        }
    }

    /// The newest `n` messages, oldest first.
    pub(super) fn newest(&self, n: usize) -> Vec<serde_json::Value> {
        let skip = self.messages.len().saturating_sub(n);
        self.messages
            .iter()
            .skip(skip)
            .map(|(m, _)| m.clone())
            .collect()
    }

    pub(super) fn take(&mut self) -> Vec<serde_json::Value> {
        self.bytes = 0;
        std::mem::take(&mut self.messages)
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    }
}

impl Counting {
    pub(super) fn new(printer: Printer<OutWriter>, schema: Option<Schema>) -> Self {
        Counting {
            printer,
            count: Arc::default(),
            started: None,
            kept: Arc::default(),
            schema,
            headers: Vec::new(),
            trailers: Vec::new(),
            gaps: Vec::new(),
            last_at: std::time::Instant::now(),
        }
    }
}

impl Counting {
    /// The watch the call is, by its printed prefix (`[2] ` is "2").
    fn tag(&self) -> String {
        let prefix = self.printer.out.prefix.trim();
        prefix.trim_matches(|c| c == '[' || c == ']').to_string()
    }
}

impl Handler for Counting {
    fn on_headers(&mut self, headers: &tonic::metadata::MetadataMap) {
        if let Some(started) = self.started.take() {
            let _ = started.send(());
        }
        self.headers = crate::sys::util::header_pairs(&headers.clone().into_headers());
        self.printer.out.out.event(Event::Headers {
            tag: self.tag(),
            headers: self.headers.clone(),
        });
    }

    fn on_trailers(&mut self, trailers: &tonic::metadata::MetadataMap) {
        self.trailers = crate::sys::util::header_pairs(&trailers.clone().into_headers());
        self.printer.out.out.event(Event::Trailers {
            tag: self.tag(),
            trailers: self.trailers.clone(),
        });
    }

    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()> {
        let message = match &mut self.schema {
            Some(schema) => schema.resolve_any(message).await,
            None => message,
        };
        self.count.fetch_add(1, Ordering::Relaxed);
        if self.gaps.len() < crate::lang::recording::LISTED_MESSAGES {
            self.gaps.push(self.last_at.elapsed());
            self.last_at = std::time::Instant::now();
        }
        let mend = crate::client::output::any_json::check(&message)?;
        let options = crate::client::output::any_json::Options {
            serialize: Default::default(),
            proto_names: false,
        };
        let json = match mend {
            true => crate::client::output::any_json::to_json(&message, &options),
            false => serde_json::to_value(&message),
        };
        if let Ok(json) = json {
            let size = prost::Message::encoded_len(&message);
            if matches!(self.printer.out.out, Output::Screen(_)) {
                self.printer.out.out.event(Event::Message {
                    tag: self.tag(),
                    json: json.clone(),
                });
            }
            self.kept.lock().unwrap().push(json, size);
        }
        self.printer.on_message(message).await
    }

    fn on_idle(&mut self) -> anyhow::Result<()> {
        self.printer.on_idle()
    }
}

impl Shell {
    /// A schema of the session's source for a call's handler: `Any` types are fetched on it
    /// (its own reflection stream) as the responses need them.
    pub(super) fn resolver(&self) -> Option<Schema> {
        self.session.as_ref().map(|s| s.schema.fresh())
    }

    pub(super) fn printer(&self, prefix: String) -> Printer<OutWriter> {
        Printer {
            out: OutWriter {
                out: self.out.clone(),
                prefix,
                buf: Vec::new(),
            },
            style: self.settings.style,
            received: 0,
            first_message: None,
            verbose: None,
        }
    }
}

/// Keeps what a call produced as the shell's last outcome.
pub(super) fn record(last: &Mutex<Outcome>, handler: &Counting, error: Option<&CallError>) {
    let mut last = last.lock().unwrap();
    last.called = true;
    last.messages = handler.kept.lock().unwrap().take();
    last.headers = handler.headers.clone();
    last.trailers = handler.trailers.clone();
    last.gaps = handler.gaps.clone();
    last.error = match error {
        Some(CallError::Status(status)) => {
            if !status.details().is_empty() {
                use base64::Engine;
                let details = base64::engine::general_purpose::STANDARD_NO_PAD;
                let details = details.encode(status.details());
                last.trailers
                    .push(("grpc-status-details-bin".into(), details));
            }
            let status = client_deadline(tonic::Status::new(status.code(), status.message()));
            Some((status.code(), status.message().to_string()))
        }
        Some(CallError::Handler(e)) => Some((tonic::Code::Unknown, e.to_string())),
        None => None,
    };
}

/// A failed status as the one-shot command shows it.
pub(super) fn status_failure(status: tonic::Status, session: Option<&Session>) -> anyhow::Error {
    let pool = session.map(|s| s.schema.pool().clone()).unwrap_or_default();
    format::call_failure(status, &pool, false, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_messages_are_bounded_by_count_and_bytes_newest_kept() {
        let mut kept = Kept::default();
        for i in 0..(KEPT_MESSAGES + 10) {
            kept.push(serde_json::json!(i), 1);
        }
        assert_eq!(kept.messages.len(), KEPT_MESSAGES);
        assert_eq!(
            kept.newest(2),
            [
                serde_json::json!(KEPT_MESSAGES + 8),
                serde_json::json!(KEPT_MESSAGES + 9)
            ]
        );
        let mut big = Kept::default();
        for i in 0..100 {
            big.push(serde_json::json!(i), 1 << 20);
        }
        assert!(big.bytes <= KEPT_BYTES && big.messages.len() == KEPT_BYTES >> 20);
        assert_eq!(big.take().last(), Some(&serde_json::json!(99)));
        assert_eq!(big.bytes, 0);
    }
}
