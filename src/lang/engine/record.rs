//! Recording a session as an `rpcsh run` script: the settings and calls that shape what is sent
//! (requests as sent, variables expanded, stream messages and `end`), and after each call the
//! expectation its answer met — `expect exact`, `expect [...]` or `expect count N` for a stream,
//! `expect error CODE "message"` — and what the watches received, as `expect within`. Commands
//! that only look (`help`, `list`, `describe`, `jobs` ...) are left out; secret header values
//! become `${env:NAME}` placeholders.
use super::Shell;
use crate::lang::command::{Command, RecordSpec};
use crate::lang::recording::{compact, to_json, Script};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// How long a recorded `expect within` waits for a watch's message on replay.
const WITHIN: &str = "5s";

pub(super) struct ShellRecorder {
    script: Script,
    /// Per watch, how many of its messages are recorded.
    watched: HashMap<usize, usize>,
    calls: usize,
}

/// What a call sent, for the recording and for `edit`.
#[derive(Clone, Debug)]
pub(super) struct Sent {
    /// `Service/Method` as the script will call it (full service name).
    pub method: String,
    pub server_streaming: bool,
    pub client_streaming: bool,
    /// How many responses had come before each request message was sent.
    pub before: Vec<usize>,
    /// The request messages as proto3 JSON, one a line.
    pub messages: Vec<String>,
}

impl Shell {
    /// Remembers what a call is sending: for the recording, and for `edit`.
    pub(super) fn set_sent(
        &mut self,
        method: &prost_reflect::MethodDescriptor,
        messages: &[prost_reflect::DynamicMessage],
    ) {
        let name = format!("{}/{}", method.parent_service().full_name(), method.name());
        let messages: Vec<String> = messages.iter().map(to_json).collect();
        self.memory.requests.insert(name.clone(), messages.clone());
        self.memory.sent = Some(Sent {
            method: name,
            server_streaming: method.is_server_streaming(),
            client_streaming: method.is_client_streaming(),
            before: vec![0; messages.len()],
            messages,
        });
    }

    /// More messages of the stream being typed.
    pub(super) fn note_sent(&mut self, messages: &[String], answered: usize) {
        if let Some(sent) = &mut self.memory.sent {
            sent.before.extend(messages.iter().map(|_| answered));
            sent.messages.extend(messages.iter().cloned());
            self.memory
                .requests
                .insert(sent.method.clone(), sent.messages.clone());
        }
    }

    /// `record FILE`: the script starts with what the session is set to now.
    pub(crate) fn start_recording(&mut self, spec: RecordSpec) -> anyhow::Result<()> {
        if let Some(r) = &self.recorder {
            anyhow::bail!(crate::sys::error::Hint::new(
                format!("already recording to {}", r.script.spec.path.display()),
                "record stop ends it",
            ));
        }
        let mut recorder = ShellRecorder {
            script: Script::create(spec)?,
            watched: HashMap::new(),
            calls: 0,
        };
        recorder.script.line(&format!("connect {}", self.conn.addr));
        // After the connect line: a replay reaches the server first with gRPC's plain TCP.
        if self.conn.http2 {
            recorder.script.line("set http2 on");
        }
        let protocol = self.conn.protocol.unwrap_or_default();
        if protocol != crate::client::net::web::Protocol::Grpc {
            // The name the flag and `set protocol` take, as clap spells it.
            if let Some(name) = clap::ValueEnum::to_possible_value(&protocol) {
                recorder
                    .script
                    .line(&format!("set protocol {}", name.get_name()));
            }
        }
        if let Some(service) = &self.current {
            recorder.script.line(&format!("use {service}"));
        }
        for (name, value) in self.settings.headers.clone() {
            recorder.script.header(&name, &value);
        }
        if let Some(t) = self.settings.timeout {
            recorder
                .script
                .line(&format!("set timeout {}", humantime::format_duration(t)));
        }
        for w in &self.watches {
            recorder
                .watched
                .insert(w.id, w.count.load(Ordering::Relaxed));
        }
        self.out.err(&format!(
            "recording to {}\n",
            recorder.script.spec.path.display()
        ));
        self.recorder = Some(recorder);
        Ok(())
    }

    /// While recording with watches running, lets what a call made the server push arrive (until
    /// nothing has come for 150 ms, a second at most), so that it is recorded after the call.
    pub(super) async fn settle_for_recording(&self) {
        if self.recorder.is_none() || self.watches.iter().all(|w| w.task.is_finished()) {
            return;
        }
        let total = || {
            self.watches
                .iter()
                .map(|w| w.count.load(Ordering::Relaxed))
                .sum::<usize>()
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        let mut seen = total();
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            let now = total();
            if now == seen {
                return;
            }
            seen = now;
        }
    }

    /// `record stop`.
    pub(super) fn stop_recording(&mut self) -> anyhow::Result<()> {
        let Some(mut r) = self.recorder.take() else {
            anyhow::bail!("not recording (record FILE starts)");
        };
        r.script.flush()?;
        self.out.err(&format!(
            "recorded {} call(s) to {}\n",
            r.calls,
            r.script.spec.path.display()
        ));
        Ok(())
    }

    /// After a command ran: what of it the script needs. `called`: a call was made (not a
    /// mistake refused before anything was sent).
    pub(super) fn record_command(&mut self, command: &Command, line: &str, called: bool, ok: bool) {
        let in_stream = self.stream.is_some();
        let Some(r) = self.recorder.as_mut() else {
            return;
        };
        match command {
            Command::Call { .. } | Command::Edit(_) if called => {
                let Some(sent) = self.memory.sent.clone() else {
                    return;
                };
                r.calls += 1;
                if in_stream {
                    // A client stream: the call, its first messages a line each; the rest of
                    // them and `end` follow as they are typed.
                    r.script.line(&format!("call {}", sent.method));
                    for m in &sent.messages {
                        r.script.line(m);
                    }
                    return;
                }
                let data = sent
                    .messages
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "{}".into());
                r.script.line(&format!("call {} {data}", sent.method));
            }
            Command::Watch { .. } if called => {
                if let Some(sent) = self.memory.sent.clone() {
                    let data = sent
                        .messages
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "{}".into());
                    r.script.line(&format!("watch {} {data}", sent.method));
                }
                return;
            }
            Command::HeaderSet(name, value) if ok => {
                r.script.header(name, value);
                return;
            }
            Command::Use(_)
            | Command::HeaderUnset(_)
            | Command::SetTimeout(_)
            | Command::SetFormat(_)
            | Command::SetEmitDefaults(_)
            | Command::SetCompress(_)
            | Command::SetProtocol(_)
            | Command::SetHttp2(_)
            | Command::Connect(_)
            | Command::Sleep(_)
            | Command::Stop(_)
                if ok =>
            {
                r.script.line(line.trim());
                return;
            }
            _ => return,
        }
        self.record_outcome();
    }

    /// A line typed at a stream's prompt: the message as sent, or `end` / `.cancel` and then
    /// the expectation.
    pub(super) fn record_stream_line(&mut self, line: &str, sent: &[String], ended: bool) {
        let Some(r) = self.recorder.as_mut() else {
            return;
        };
        for m in sent {
            r.script.line(m);
        }
        if !ended {
            return;
        }
        r.script.line(if line.trim() == ".cancel" {
            ".cancel"
        } else {
            "end"
        });
        self.record_outcome();
    }

    /// The expectation the last call met, then what the watches received meanwhile.
    fn record_outcome(&mut self) {
        let outcome = self.memory.last.lock().unwrap().clone();
        let server_streaming = self
            .memory
            .sent
            .as_ref()
            .is_some_and(|s| s.server_streaming);
        let client_streaming = self
            .memory
            .sent
            .as_ref()
            .is_some_and(|s| s.client_streaming);
        let interleave = match &self.memory.sent {
            Some(s) if s.server_streaming => s.before.clone(),
            _ => Vec::new(),
        };
        let Some(r) = self.recorder.as_mut() else {
            return;
        };
        let expectation = r
            .script
            .expectation(&outcome, server_streaming, outcome.messages.len());
        r.script.line(&expectation);
        for line in r
            .script
            .answer_lines(&outcome, client_streaming, &interleave)
        {
            r.script.line(&line);
        }
        for w in &self.watches {
            let seen = w.count.load(Ordering::Relaxed);
            let recorded = r.watched.entry(w.id).or_insert(0);
            let new = seen.saturating_sub(*recorded);
            *recorded = seen;
            let fresh: Vec<Value> = w.kept.lock().unwrap().newest(new);
            for m in fresh {
                let m = r.script.trimmed(&m);
                r.script
                    .line(&format!("expect within {WITHIN} {}", compact(&m)));
            }
        }
        let _ = r.script.flush();
    }
}
