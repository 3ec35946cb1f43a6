//! Where the shell's output goes — above the prompt through rustyline's external printer, or
//! plain stdout/stderr when piped — and the handler that counts and keeps a call's responses for
//! `expect` while they are printed.
use super::Shell;
use crate::connection::Session;
use crate::error::client_deadline;
use crate::expect::Outcome;
use crate::format::{self, Printer};
use crate::invoke::{CallError, Handler};
use crate::source::Schema;
use prost_reflect::DynamicMessage;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Where the shell's output goes: the terminal above the prompt, or plain stdout/stderr.
#[derive(Clone)]
pub(super) enum Output {
    Plain,
    Screen(Arc<Mutex<Box<dyn rustyline::ExternalPrinter + Send>>>),
}

impl Output {
    pub(super) fn out(&self, text: &str) {
        match self {
            Output::Plain => {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            }
            Output::Screen(printer) => {
                let _ = printer.lock().unwrap().print(text.to_string());
            }
        }
    }

    pub(super) fn err(&self, text: &str) {
        match self {
            Output::Plain => eprint!("{text}"),
            Output::Screen(_) => self.out(text),
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
    pub(super) kept: Arc<Mutex<Vec<serde_json::Value>>>,
    /// Resolves the types `google.protobuf.Any` fields hold, as the one-shot `call` does.
    pub(super) schema: Option<Schema>,
}

/// Messages kept per call for `expect`: the newest ones when a stream is longer.
pub(super) const KEPT_MESSAGES: usize = 100_000;

impl Counting {
    pub(super) fn new(printer: Printer<OutWriter>, schema: Option<Schema>) -> Self {
        Counting {
            printer,
            count: Arc::default(),
            started: None,
            kept: Arc::default(),
            schema,
        }
    }
}

impl Handler for Counting {
    fn on_headers(&mut self, _: &tonic::metadata::MetadataMap) {
        if let Some(started) = self.started.take() {
            let _ = started.send(());
        }
    }

    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()> {
        let message = match &mut self.schema {
            Some(schema) => schema.resolve_any(message).await,
            None => message,
        };
        self.count.fetch_add(1, Ordering::Relaxed);
        format::check_any_depth(&message)?;
        if let Ok(json) = serde_json::to_value(&message) {
            let mut kept = self.kept.lock().unwrap();
            if kept.len() == KEPT_MESSAGES {
                kept.remove(0);
            }
            kept.push(json);
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
            style: self.style,
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
    last.messages = std::mem::take(&mut *handler.kept.lock().unwrap());
    last.error = match error {
        Some(CallError::Status(status)) => {
            let status = client_deadline(tonic::Status::new(status.code(), status.message()));
            Some((status.code(), status.message().to_string()))
        }
        Some(CallError::Handler(e)) => Some((tonic::Code::Unknown, e.to_string())),
        None => None,
    };
}

/// A failed status as the one-shot command shows it.
pub(super) fn status_failure(status: tonic::Status, session: Option<&Session>) -> anyhow::Error {
    if let Some(e) = crate::error::client_limit(&status) {
        return e;
    }
    let status = client_deadline(status);
    if crate::error::transport_cause(&status).is_some() {
        return crate::error::status_error(status, "the call failed", false, false);
    }
    let pool = session.map(|s| s.schema.pool().clone()).unwrap_or_default();
    let rendered = format::render_status(&status, &pool);
    crate::error::CallFailed {
        code: status.code(),
        rendered,
    }
    .into()
}
