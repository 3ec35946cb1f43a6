//! Client-streaming and bidi calls whose messages the person types at the `>>` sub-prompt, one
//! line a message, until `.end` (half-close and wait) or `.cancel`.
use super::output::{record, status_failure, Counting, Output};
use super::Shell;
use crate::client::input;
use crate::client::output::format;
use crate::client::wire::invoke::{CallError, CallOptions};
use crate::lang::expect::Outcome;
use crate::lang::recording::to_json;
use crate::sys::error::{render, CallFailed};
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// A client-streaming or bidi call whose messages the person is typing.
pub(super) struct OpenStream {
    pub(super) name: String,
    pub(super) input: MessageDescriptor,
    pub(super) tx: Option<mpsc::Sender<DynamicMessage>>,
    pub(super) task: tokio::task::JoinHandle<()>,
    /// How the call failed, kept for a script to report when it finishes the stream.
    pub(super) failure: Arc<Mutex<Option<anyhow::Error>>>,
    /// How many responses have come: a recording's `interleave`.
    pub(super) answered: Arc<std::sync::atomic::AtomicUsize>,
}

impl Shell {
    /// Starts a client-streaming or bidi call; the following lines are its messages.
    pub(super) fn open_stream(
        &mut self,
        method: MethodDescriptor,
        link: crate::client::net::link::Link,
        options: CallOptions,
        data: Option<String>,
    ) -> anyhow::Result<()> {
        if let Some(refused) = link.refuses(&method) {
            return Err(refused);
        }
        let first = self.messages(data, &method)?;
        self.set_sent(&method, &first);
        self.counts.calls += 1;
        let (tx, rx) = mpsc::channel::<DynamicMessage>(64);
        for m in first {
            tx.try_send(m)
                .map_err(|_| anyhow::anyhow!("too many messages at once"))?;
        }
        let mut handler = Counting::new(self.printer(String::new()), self.resolver());
        let answered = handler.count.clone();
        let out = self.out.clone();
        let task_method = method.clone();
        let last = self.memory.last.clone();
        *last.lock().unwrap() = Outcome {
            called: true,
            ..Outcome::default()
        };
        let failure: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
        let failed = failure.clone();
        let task = tokio::spawn(async move {
            let requests = tokio_stream::wrappers::ReceiverStream::new(rx);
            let result = link
                .invoke(&task_method, requests, &options, &mut handler)
                .await;
            let _ = handler.printer.out.flush();
            record(&last, &handler, result.as_ref().err());
            let screen = matches!(out, Output::Screen(_));
            match result {
                // On a terminal, say how the call ended; a script has the responses.
                Ok(()) if screen => out.out(&format!(
                    "{} ended: OK, {} response(s)\n",
                    task_method.name(),
                    handler.printer.received
                )),
                Ok(()) => {}
                Err(e) => {
                    let err = match e {
                        CallError::Handler(e) => e,
                        CallError::Status(status) => status_failure(status, None),
                    };
                    // On a terminal now; in a script when the stream is finished, as a command's error.
                    if screen {
                        out.err(&render(&err));
                    } else {
                        *failed.lock().unwrap() = Some(err);
                    }
                }
            }
        });
        *self.shared.stream_input.lock().unwrap() = Some(method.input());
        self.stream = Some(OpenStream {
            name: method.name().to_string(),
            input: method.input(),
            tx: Some(tx),
            task,
            failure,
            answered,
        });
        Ok(())
    }

    /// A line typed at a stream's `>>` prompt.
    /// Returns the messages sent, as proto3 JSON (for the recording).
    pub(super) async fn stream_line(&mut self, line: &str) -> anyhow::Result<Vec<String>> {
        match line.trim() {
            "" | ".end" | "end" => return self.finish_stream().await.map(|()| Vec::new()),
            ".cancel" => return self.cancel_stream().map(|()| Vec::new()),
            _ => {}
        }
        let word = line.split_whitespace().next().unwrap_or_default();
        if super::command::spec(word).is_some() {
            anyhow::bail!(crate::sys::error::Hint::new(
                format!("not sent: {word:?} is a shell command, and this prompt takes the call's messages"),
                "type a JSON message; .end finishes the stream, .cancel cancels it",
            ));
        }
        let stream = self.stream.as_ref().expect("in a stream");
        if stream.task.is_finished() {
            self.finish_stream().await?;
            anyhow::bail!("the call has already ended; back at the main prompt");
        }
        let (input, tx) = (
            stream.input.clone(),
            stream.tx.clone().expect("open until finished"),
        );
        let answered = stream.answered.load(std::sync::atomic::Ordering::Relaxed);
        let messages = input::parse_messages(line, &input, self.settings.parse)
            .map_err(|e| e.context("not sent"))?;
        let json: Vec<String> = messages.iter().map(to_json).collect();
        self.note_sent(&json, answered);
        for m in messages {
            if tx.send(m).await.is_err() {
                break;
            }
        }
        Ok(json)
    }

    /// Half-closes the stream being typed and waits for the rest of its responses; in a script,
    /// returns how the call failed.
    pub(super) async fn finish_stream(&mut self) -> anyhow::Result<()> {
        let Some(mut stream) = self.stream.take() else {
            return Ok(());
        };
        stream.tx.take();
        self.end_stream_mode();
        tokio::select! {
            _ = &mut stream.task => {}
            _ = self.out.ctrl_c() => {
                stream.task.abort();
                self.out.cancelled();
            }
        }
        let failure = stream.failure.lock().unwrap().take();
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Cancels the stream being typed (`.cancel`, Ctrl-C). A cancelled call is a failed one:
    /// `expect error CANCELLED` checks it, and piped input without that check exits 1.
    pub(super) fn cancel_stream(&mut self) -> anyhow::Result<()> {
        let Some(stream) = self.stream.take() else {
            return Ok(());
        };
        stream.task.abort();
        self.end_stream_mode();
        const WHY: &str = "the call was cancelled (.cancel)";
        self.memory.last.lock().unwrap().error = Some((tonic::Code::Cancelled, WHY.into()));
        if matches!(self.out, Output::Screen(_)) {
            // At the editor's prompt: it ended the `^C` line itself.
            self.out.err("cancelled\n");
            return Ok(());
        }
        Err(CallFailed {
            code: tonic::Code::Cancelled,
            rendered: format::render_status(&tonic::Status::cancelled(WHY), &Default::default()),
        }
        .into())
    }

    pub(super) fn end_stream_mode(&mut self) {
        self.stream = None;
        *self.shared.stream_input.lock().unwrap() = None;
    }
}
