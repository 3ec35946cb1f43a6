//! Background server streams (`watch`), their messages tagged `[N]` above the prompt: `jobs`,
//! `stop`, `expect within`, and letting them drain at the end of piped input.
use super::output::{status_failure, Counting};
use super::Shell;
use crate::client::output::format::Format;
use crate::client::wire::invoke::CallError;
use crate::lang::expect::{self, ExpectFailed};
use crate::sys::error::render;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A background server stream.
pub(super) struct Watch {
    pub(super) id: usize,
    pub(super) method: String,
    pub(super) count: Arc<AtomicUsize>,
    pub(super) kept: Arc<Mutex<super::output::Kept>>,
    pub(super) task: tokio::task::JoinHandle<()>,
    /// How it ended, for `jobs`: `ended`, or the reason it failed.
    pub(super) ending: Arc<Mutex<Option<String>>>,
    /// Messages received before the last command: `expect within` looks only at later ones.
    pub(super) mark: usize,
}

/// How long `watch` waits for the server to accept the call before it gives the prompt back.
const WATCH_START_WAIT: Duration = Duration::from_millis(300);

impl Shell {
    /// At the end of piped input: lets the watches print what is already on its way (until none
    /// has received anything for a quarter of a second, five seconds at most), then stops them.
    pub(super) async fn settle_watches(&mut self) {
        let total = |w: &[Watch]| {
            w.iter()
                .map(|w| w.count.load(Ordering::Relaxed))
                .sum::<usize>()
        };
        for _ in 0..20 {
            if self.watches.iter().all(|w| w.task.is_finished()) {
                break;
            }
            let before = total(&self.watches);
            tokio::time::sleep(Duration::from_millis(250)).await;
            if total(&self.watches) == before {
                break;
            }
        }
        for w in &self.watches {
            w.task.abort();
        }
    }

    /// `watch METHOD [JSON]`: a server stream in the background, its messages tagged `[N]`.
    pub(super) async fn watch(&mut self, method: &str, data: Option<String>) -> anyhow::Result<()> {
        let (method, link) = self.resolve(method).await?;
        if method.is_client_streaming() {
            anyhow::bail!(
                "watch takes a method that streams responses only; {} takes a stream too",
                method.name()
            );
        }
        let messages = self.messages(data, &method)?;
        self.set_sent(&method, &messages);
        self.counts.calls += 1;
        let options = self.options()?;
        let id = self.next_watch;
        self.next_watch += 1;
        let count = Arc::new(AtomicUsize::new(0));
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let mut printer = self.printer(format!("[{id}] "));
        if printer.style.format == Format::Json {
            printer.style.format = Format::Jsonl; // one line per background message
        }
        let kept: Arc<Mutex<super::output::Kept>> = Arc::default();
        let mut handler = Counting {
            count: count.clone(),
            started: Some(started_tx),
            kept: kept.clone(),
            ..Counting::new(printer, self.resolver())
        };
        let out = self.out.clone();
        let name = format!("{}/{}", method.parent_service().name(), method.name());
        let task_name = name.clone();
        // Said first, so that it comes before the watch's first message.
        self.out.note(&format!("[{id}] watching {name}\n"));
        let ending: Arc<Mutex<Option<String>>> = Arc::default();
        let (ended, lost) = (ending.clone(), self.behind.lost.clone());
        let task = tokio::spawn(async move {
            let result = link
                .invoke(
                    &method,
                    futures_util::stream::iter(messages),
                    &options,
                    &mut handler,
                )
                .await;
            let _ = handler.printer.out.flush();
            let n = handler.count.load(Ordering::Relaxed);
            let reason = said_end(&out, id, &task_name, n, result, &lost);
            *ended.lock().unwrap() = Some(reason);
        });
        // Wait for the server to accept the call (its response headers): what the next command
        // makes the server push must find this watch subscribed.
        // Not for ever: grpcio sends no headers on a server stream before its first message, so
        // the call may be running without a sign of it.
        let _ = tokio::time::timeout(WATCH_START_WAIT, started).await;
        self.watches.push(Watch {
            ending,
            mark: 0,
            id,
            method: name,
            count,
            kept,
            task,
        });
        Ok(())
    }

    /// Marks what the watches have received so far: `expect within` after the next command
    /// looks only at what comes later.
    pub(super) fn mark_watches(&mut self) {
        for w in &mut self.watches {
            w.mark = w.count.load(Ordering::Relaxed);
        }
    }

    /// What `jobs` prints: each watch, its count and whether it still runs.
    pub(super) fn jobs(&self) -> String {
        let text: String = self
            .watches
            .iter()
            .map(|w| {
                let ending = w.ending.lock().unwrap().clone();
                let state = match ending {
                    Some(reason) => reason,
                    None if w.task.is_finished() => "stopped".into(),
                    None => "running".into(),
                };
                format!(
                    "[{}] {}  {} messages  {state}\n",
                    w.id,
                    w.method,
                    w.count.load(Ordering::Relaxed)
                )
            })
            .collect();
        if text.is_empty() {
            "no watches\n".into()
        } else {
            text
        }
    }

    /// `stop N`.
    pub(super) fn stop_watch(&mut self, id: usize) -> anyhow::Result<()> {
        let Some(i) = self.watches.iter().position(|w| w.id == id) else {
            anyhow::bail!("no watch [{id}] (jobs lists them)");
        };
        let w = self.watches.remove(i);
        w.task.abort();
        self.out.note(&format!(
            "[{id}] stopped after {} messages\n",
            w.count.load(Ordering::Relaxed)
        ));
        Ok(())
    }

    /// `expect within D {...}`: a watch's message matching partially arrives in time.
    pub(super) async fn expect_within(
        &self,
        limit: Duration,
        expected: &serde_json::Value,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        // Only what arrived since the command before: a message an earlier check saw, or one
        // from before, is no evidence for this one.
        let since_mark = |w: &Watch| -> Vec<serde_json::Value> {
            let new = w.count.load(Ordering::Relaxed).saturating_sub(w.mark);
            w.kept.lock().unwrap().newest(new)
        };
        loop {
            let seen = self
                .watches
                .iter()
                .any(|w| since_mark(w).iter().any(|m| expect::contains(m, expected)));
            if seen {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                let recent: Vec<_> = self
                    .watches
                    .iter()
                    .flat_map(|w| since_mark(w).into_iter().rev().take(3))
                    .collect();
                anyhow::bail!(ExpectFailed(format!(
                    "no watch message matched within {limit:?}\n{}",
                    expect::diff(expected, &serde_json::Value::Array(recent))
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }
}

/// Says how watch `id` ended (above the prompt, or on stderr), and returns what `jobs` shows of
/// it. A broken connection marks the session lost: the next command connects again (`watch`
/// again resubscribes).
fn said_end(
    out: &super::output::Output,
    id: usize,
    name: &str,
    n: usize,
    result: Result<(), CallError>,
    lost: &std::sync::atomic::AtomicBool,
) -> String {
    match result {
        Ok(()) => {
            out.note(&format!("[{id}] {name} ended after {n} messages\n"));
            "ended".to_string()
        }
        Err(CallError::Status(status)) => {
            if crate::client::wire::status::transport_cause(&status).is_some() {
                lost.store(true, Ordering::Relaxed);
            }
            let err = status_failure(status, None);
            out.err(&format!("[{id}] {}", render(&err)));
            format!("failed: {}", crate::sys::error::root_message(&err))
        }
        Err(CallError::Handler(e)) => {
            out.err(&format!("[{id}] {}", render(&e)));
            format!("failed: {}", crate::sys::error::root_message(&e))
        }
    }
}
