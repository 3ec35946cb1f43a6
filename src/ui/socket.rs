//! One page's session: a WebSocket whose lines (the shell's language, as typed at the REPL) run
//! on an engine of their own, and whose events — what is printed, a call's headers, messages and
//! trailers as they arrive, a failure's code, the prompt after each line — go back as JSON. The
//! page's cancel interrupts a call or a wait as Ctrl-C does at the terminal.
use super::Ui;
use crate::client::output::format::{Format, Style};
use crate::lang::engine::{Event, Output, Screen, Shared, Shell};
use crate::session::connection::Connection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// What a page may send at most in one frame: a request of 4 MiB as JSON, with room.
const FRAME_LIMIT: usize = 16 << 20;

pub(super) async fn upgrade(State(ui): State<Arc<Ui>>, ws: WebSocketUpgrade) -> Response {
    let conn = ui.api.conn();
    ws.max_message_size(FRAME_LIMIT)
        .on_upgrade(move |socket| session(socket, conn))
}

/// Events queued for a page at most: a stream faster than the page (or its network) waits for
/// it rather than grow rpcsh's memory.
const QUEUED: usize = 4096;

/// The page as the engine's screen.
struct Page {
    events: mpsc::Sender<Value>,
    /// Events dropped since the page was last told.
    dropped: Arc<AtomicUsize>,
    interrupt: Arc<Notify>,
}

/// How long a call waits for a page that does not take its events before they are dropped.
const STALL: std::time::Duration = std::time::Duration::from_secs(2);

impl Page {
    /// Queues `event`; with the queue full the call waits for the page (and gRPC's flow control
    /// slows the server down) rather than grow, unless the page stalls: then it is dropped and
    /// counted.
    fn send(&mut self, event: Value) {
        use tokio::sync::mpsc::error::TrySendError;
        let Err(TrySendError::Full(event)) = self.events.try_send(event) else {
            return;
        };
        let runtime = tokio::runtime::Handle::current();
        let sent = match runtime.runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| {
                runtime.block_on(tokio::time::timeout(STALL, self.events.send(event)))
            })
            .is_ok_and(|r| r.is_ok()),
            _ => false,
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Screen for Page {
    fn print(&mut self, text: String) {
        self.send(json!({ "kind": "text", "text": text }));
    }

    fn event(&mut self, event: Event) {
        let event = match event {
            Event::Headers { tag, headers } => {
                json!({ "kind": "headers", "tag": tag, "headers": headers })
            }
            Event::Message { tag, json } => json!({ "kind": "message", "tag": tag, "json": json }),
            Event::Trailers { tag, trailers } => {
                json!({ "kind": "trailers", "tag": tag, "trailers": trailers })
            }
            Event::Failed { code } => json!({ "kind": "failed", "code": code }),
        };
        self.send(event);
    }

    fn interrupt(&self) -> Option<Arc<Notify>> {
        Some(self.interrupt.clone())
    }
}

/// What the page sends: a line, the end of a stream's messages, or a cancel.
enum Input {
    Line(String),
    End,
}

async fn session(socket: WebSocket, conn: Connection) {
    let (mut sink, mut stream) = socket.split();
    let (events, mut outgoing) = mpsc::channel::<Value>(QUEUED);
    let interrupt = Arc::new(Notify::new());
    let writer = tokio::spawn(async move {
        while let Some(event) = outgoing.recv().await {
            if sink
                .send(Message::Text(event.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    // Lines wait their turn here; a page that sends faster than they run is read no further.
    let (inputs, mut lines) = mpsc::channel::<Input>(256);
    let cancel = interrupt.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(frame)) = stream.next().await {
            let Message::Text(text) = frame else {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
                continue;
            };
            let Ok(asked) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if asked["cancel"] == true {
                cancel.notify_waiters();
            } else if asked["end"] == true {
                let _ = inputs.send(Input::End).await;
            } else if let Some(line) = asked["line"].as_str() {
                let _ = inputs.send(Input::Line(line.to_string())).await;
            }
        }
    });
    let dropped = Arc::new(AtomicUsize::new(0));
    let page: Box<dyn Screen> = Box::new(Page {
        events: events.clone(),
        dropped: dropped.clone(),
        interrupt,
    });
    let style = Style {
        format: Format::Json,
        emit_defaults: false,
        proto_names: false,
        color: false,
    };
    let output = Output::Screen(Arc::new(Mutex::new(page)));
    let mut shell = Shell::new(conn, output, style, Shared::default());
    let _ = events
        .send(json!({ "kind": "ready", "prompt": shell.prompt() }))
        .await;
    while let Some(input) = lines.recv().await {
        match input {
            Input::Line(line) => {
                if !shell.handle(&line).await {
                    break;
                }
            }
            Input::End => {
                shell.end_of_input().await;
            }
        }
        // Waited for: the page must learn that the line is done, and what it missed.
        let missed = dropped.swap(0, Ordering::Relaxed);
        let done = json!({ "kind": "done", "prompt": shell.prompt(), "dropped": missed });
        let _ = events.send(done).await;
    }
    shell.end(true).await;
    reader.abort();
    drop(events);
    let _ = writer.await;
}
