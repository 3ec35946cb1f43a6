//! What each shell command does, and one-shot calls (unary and server streaming) made from the
//! shell. Streams typed at the sub-prompt are `stream`'s, background watches `watch`'s.
use super::output::{record, status_failure, Counting};
use super::{waiting, Shell};
use crate::client::input;
use crate::client::net::link::Link;
use crate::client::output::format::{self, is_secret};
use crate::client::wire::invoke::{CallError, CallOptions};
use crate::client::wire::status::client_deadline;
use crate::lang::command::{self, Command};
use crate::lang::expect::{self, Expectation, Outcome};
use crate::session::connection::{parse_headers, Connection};
use prost_reflect::{DynamicMessage, MethodDescriptor};
use std::io::Write;

impl Shell {
    pub(super) async fn execute(&mut self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Empty | Command::Exit | Command::Pace(_) | Command::Interleave(_) => {}
            Command::Help(topic) => self.out.out(&command::help(topic.as_deref())?),
            Command::Stats => self
                .out
                .out(&format!("{}\n", crate::sys::stats::Stats::now())),
            Command::Health(service) => {
                crate::commands::health(&self.conn, service.as_deref(), self.settings.timeout)
                    .await?
            }
            Command::Clear => {
                if matches!(self.out, super::output::Output::Screen(_)) {
                    self.out.out("\x1b[2J\x1b[H");
                }
            }
            Command::History => self.show_history(),
            Command::List(service) => self.list(service).await?,
            Command::Describe(symbol) => self.describe(&symbol).await?,
            Command::Template(symbol) => self.template(&symbol).await?,
            Command::Use(None) => self.set_current(None),
            Command::Use(Some(name)) => self.use_service(&name).await?,
            Command::Call { method, data } => self.call(&method, data).await?,
            Command::Edit(method) => self.edit(method).await?,
            Command::Record(spec) => self.start_recording(spec)?,
            Command::RecordStop => self.stop_recording()?,
            Command::Watch { method, data } => self.watch(&method, data).await?,
            Command::Jobs => self.out.out(&self.jobs()),
            Command::Stop(id) => self.stop_watch(id)?,
            Command::HeaderSet(name, value) => {
                parse_headers(&[format!("{name}: {value}")])?;
                self.settings.headers.retain(|(k, _)| *k != name);
                self.settings.headers.push((name, value));
            }
            Command::HeaderUnset(name) => self.settings.headers.retain(|(k, _)| *k != name),
            Command::Headers => self.show_headers(),
            Command::SetTimeout(t) => self.settings.timeout = t,
            Command::SetFormat(f) => self.settings.style.format = f,
            Command::SetEmitDefaults(on) => self.settings.style.emit_defaults = on,
            Command::SetAllowUnknownFields(on) => self.settings.parse.allow_unknown_fields = on,
            Command::SetCompress(c) => self.settings.compress = c,
            Command::Expect(Expectation::Within(limit, expected)) => {
                self.expect_within(limit, &expected).await?
            }
            Command::Expect(expectation) => {
                let outcome = self.memory.last.lock().unwrap().clone();
                expect::check(&expectation, &outcome)?;
            }
            Command::Let(name, path) => {
                let outcome = self.memory.last.lock().unwrap().clone();
                let value = expect::lookup(&outcome, &path)?;
                self.memory.vars.insert(name, value);
            }
            Command::Sleep(d) => tokio::time::sleep(d).await,
            Command::Connect(addr) => {
                self.reopen(|conn| conn.addr = addr).await?;
                self.set_current(None);
            }
            Command::SetProtocol(p) => self.relink(|conn| conn.protocol = Some(p)).await?,
            Command::SetHttp2(on) => self.relink(|conn| conn.http2 = on).await?,
        }
        Ok(())
    }

    /// `list [SERVICE]`: the services, or one service's methods as `rpcsh list SERVICE` names them.
    async fn list(&mut self, service: Option<String>) -> anyhow::Result<()> {
        let out = self.out.clone();
        let text: String = waiting(
            &out,
            self.settings.timeout,
            "the server's services",
            async {
                let session = self.ensure_session().await?;
                Ok(match service {
                    None => session
                        .schema
                        .services()
                        .await?
                        .into_iter()
                        .map(|s| s + "\n")
                        .collect(),
                    // Names, as `rpcsh list SERVICE` prints them.
                    Some(name) => {
                        let s = session.schema.resolve_service(&name).await?;
                        s.methods()
                            .map(|m| format!("{}.{}\n", s.full_name(), m.name()))
                            .collect()
                    }
                })
            },
        )
        .await?;
        self.out.out(&crate::sys::style::printable(&text));
        Ok(())
    }

    /// `describe SYMBOL`, with the schema's comments.
    async fn describe(&mut self, symbol: &str) -> anyhow::Result<()> {
        let found = self.find_used(symbol).await?;
        let docs = match &self.session {
            Some(session) => session.schema.docs(found.full_name()),
            None => Default::default(),
        };
        self.out.out(&format::describe_symbol(&found, &docs));
        Ok(())
    }

    /// `template MESSAGE|METHOD`: a JSON skeleton, and a note where it stopped short.
    async fn template(&mut self, symbol: &str) -> anyhow::Result<()> {
        let message = self.find_used(symbol).await?.request_message()?;
        let (template, note) = format::template(&message);
        self.out
            .out(&format!("{}\n", serde_json::to_string_pretty(&template)?));
        if let Some(note) = note {
            self.out.err(&format!("note: {note}"));
        }
        Ok(())
    }

    /// `use SERVICE`: bare method names are its from now on.
    async fn use_service(&mut self, name: &str) -> anyhow::Result<()> {
        let out = self.out.clone();
        let service = waiting(
            &out,
            self.settings.timeout,
            format!("the schema of {name}"),
            async {
                self.ensure_session()
                    .await?
                    .schema
                    .resolve_service(name)
                    .await
            },
        )
        .await?;
        self.set_current(Some(service.full_name().to_string()));
        Ok(())
    }

    /// `headers`: what every call sends, secrets redacted.
    fn show_headers(&self) {
        let text: String = self
            .settings
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", if is_secret(k) { "<redacted>" } else { v }))
            .collect();
        self.out.out(if text.is_empty() {
            "no headers\n"
        } else {
            &text
        });
    }

    /// `history`: the lines typed so far, numbered.
    fn show_history(&self) {
        let text: String = self
            .memory
            .history
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{:>4}  {l}\n", i + 1))
            .collect();
        self.out.out(&text);
    }

    /// Opens a new session with `change` made to the connection; a server that cannot be
    /// reached so leaves the shell on the session it had.
    async fn reopen(&mut self, change: impl FnOnce(&mut Connection)) -> anyhow::Result<()> {
        let previous = self.conn.clone();
        change(&mut self.conn);
        let session = self.session.take();
        self.behind.opening = None;
        self.behind.loaded = None;
        if let Err(e) = self.ensure_session().await {
            self.conn = previous;
            self.session = session;
            return Err(e);
        }
        Ok(())
    }

    /// The same server in another protocol: a new link for calls, the schema kept (it does not
    /// change with the protocol, and reflection would cost its round trips again).
    async fn relink(&mut self, change: impl FnOnce(&mut Connection)) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        change(&mut conn);
        let resolved = conn.resolved();
        let target =
            crate::client::net::transport::Target::parse(&resolved.addr, &resolved.transport)?;
        // A session still opening in the background would come with the old link.
        let session = self.ensure_session().await?;
        session.link = Some(resolved.link(&target).await?);
        self.conn = conn;
        Ok(())
    }

    pub(super) async fn resolve(
        &mut self,
        method: &str,
    ) -> anyhow::Result<(MethodDescriptor, Link)> {
        let method = self.qualify(method);
        let out = self.out.clone();
        let resolved = waiting(
            &out,
            self.settings.timeout,
            format!("the schema of {method}"),
            async {
                self.ensure_session()
                    .await?
                    .schema
                    .resolve_method(&method)
                    .await
            },
        )
        .await?;
        self.share_schema();
        let link = self.ensure_session().await?.link()?;
        Ok((resolved, link))
    }

    pub(super) fn options(&self) -> anyhow::Result<CallOptions> {
        Ok(CallOptions {
            metadata: self.metadata()?,
            timeout: self.settings.timeout,
            max_message_size: self.conn.max_message_size,
            compress: self.settings.compress,
        })
    }

    /// The request messages of `data` (inline JSON or @file) for `method`, shaped as the
    /// one-shot `call` shapes them.
    pub(super) fn messages(
        &self,
        data: Option<String>,
        method: &MethodDescriptor,
    ) -> anyhow::Result<Vec<DynamicMessage>> {
        let data = input::Data::parse(data.as_deref());
        if data == input::Data::Stdin {
            anyhow::bail!("stdin is the shell's own input: give the JSON inline or as @FILE");
        }
        input::request_messages(
            method,
            &data,
            self.settings.parse,
            self.conn.max_message_size,
        )
    }

    pub(super) async fn call(&mut self, method: &str, data: Option<String>) -> anyhow::Result<()> {
        let (method, link) = self.resolve(method).await?;
        let options = self.options()?;
        if method.is_client_streaming() {
            return self.open_stream(method, link, options, data);
        }
        let messages = self.messages(data, &method)?;
        self.set_sent(&method, &messages);
        self.counts.calls += 1;
        let mut handler = Counting::new(self.printer(String::new()), self.resolver());
        *self.memory.last.lock().unwrap() = Outcome {
            called: true,
            ..Outcome::default()
        };
        let call = link.invoke(
            &method,
            futures_util::stream::iter(messages),
            &options,
            &mut handler,
        );
        // Ctrl-C ends the call, not the shell: dropping the call resets its stream.
        let result = tokio::select! {
            r = call => Some(r),
            _ = self.out.ctrl_c() => None,
        };
        let _ = handler.printer.out.flush();
        record(
            &self.memory.last,
            &handler,
            result.as_ref().and_then(|r| r.as_ref().err()),
        );
        match result {
            None => self.out.cancelled(),
            Some(Ok(())) => {}
            Some(Err(e)) => self.call_failed(e).await?,
        }
        Ok(())
    }

    pub(super) async fn call_failed(&mut self, e: CallError) -> anyhow::Result<()> {
        match e {
            CallError::Handler(e) => Err(e),
            CallError::Status(status) => {
                let status = client_deadline(status);
                if crate::client::wire::status::transport_cause(&status).is_some() {
                    self.session = None; // reconnect on the next command
                }
                if let Some(session) = &mut self.session {
                    session.schema.load_detail_types(&status).await;
                }
                Err(status_failure(status, self.session.as_ref()))
            }
        }
    }

    /// A symbol as named, else (after `use`) a method of the used service: `describe GetFeature`
    /// and `describe Point` both work after `use RouteGuide`.
    async fn find_used(&mut self, symbol: &str) -> anyhow::Result<crate::client::schema::Symbol> {
        let qualified = self.qualify(symbol);
        if qualified != symbol {
            if let Ok(found) = self.find(&qualified).await {
                return Ok(found);
            }
        }
        self.find(symbol).await
    }

    /// A symbol `describe` or `template` names, fetched as needed.
    async fn find(&mut self, symbol: &str) -> anyhow::Result<crate::client::schema::Symbol> {
        let out = self.out.clone();
        waiting(
            &out,
            self.settings.timeout,
            format!("the schema of {symbol}"),
            async {
                self.ensure_session()
                    .await?
                    .schema
                    .find_symbol(symbol)
                    .await
            },
        )
        .await
    }

    /// `edit [METHOD]`: the request in the user's editor — the last one sent to the method, or
    /// its template — then sent. An empty file or an editor exiting non-zero cancels; invalid
    /// JSON comes back with the error on top.
    async fn edit(&mut self, method: Option<String>) -> anyhow::Result<()> {
        let name = match method {
            Some(m) => self.qualify(&m),
            None => match &self.memory.sent {
                Some(sent) => sent.method.clone(),
                None => anyhow::bail!("edit needs a method, as in edit Greeter/SayHello"),
            },
        };
        let (method, _) = self.resolve(&name).await?;
        let key = format!("{}/{}", method.parent_service().full_name(), method.name());
        let streams = method.is_client_streaming();
        let path = std::env::temp_dir().join(format!(
            "rpcsh-edit-{}-{}.json",
            std::process::id(),
            self.counts.calls
        ));
        let header = if streams {
            "# one JSON message a line; save and quit to send, empty the file to cancel\n"
        } else {
            "# the request; save and quit to send, empty the file to cancel\n"
        };
        let initial = self.edit_initial(&key, &method)?;
        std::fs::write(&path, format!("{header}{initial}\n"))?;
        let edited = self.edit_until_valid(&path, &method);
        let _ = std::fs::remove_file(&path);
        let Some(text) = edited? else {
            return Ok(());
        };
        self.call(&key, Some(text)).await?;
        if streams {
            self.finish_stream().await?;
        }
        Ok(())
    }

    /// What `edit` starts from: the last request sent to the method, or its template (a
    /// stream's messages one a line).
    fn edit_initial(&self, key: &str, method: &MethodDescriptor) -> anyhow::Result<String> {
        let streams = method.is_client_streaming();
        Ok(match self.memory.requests.get(key) {
            Some(sent) if streams => sent.join("\n"),
            Some(sent) => sent
                .first()
                .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
                .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
                .unwrap_or_default(),
            None if streams => serde_json::to_string(&format::template(&method.input()).0)?,
            None => serde_json::to_string_pretty(&format::template(&method.input()).0)?,
        })
    }

    /// Runs the editor on `path` until what it saves is a valid request (a mistake is written
    /// back into the file as a comment); None when the person cancelled.
    fn edit_until_valid(
        &self,
        path: &std::path::Path,
        method: &MethodDescriptor,
    ) -> anyhow::Result<Option<String>> {
        let streams = method.is_client_streaming();
        loop {
            let Some(text) = self.run_editor(path)? else {
                return Ok(None);
            };
            let body: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n");
            if body.trim().is_empty() {
                self.out.err("edit: cancelled (empty request)\n");
                return Ok(None);
            }
            let checked = input::parse_messages(&body, &method.input(), self.settings.parse)
                .and_then(|m| match m.len() {
                    1 => Ok(()),
                    _ if streams => Ok(()),
                    n => anyhow::bail!("{} takes one request message, got {n}", method.name()),
                });
            let Err(e) = checked else {
                return Ok(Some(body));
            };
            let why = crate::sys::error::render(&e).replace('\n', "\n# ");
            std::fs::write(
                path,
                format!(
                    "# {}\n# fix it and save, or empty the file to cancel\n{body}\n",
                    why.trim_end_matches("# ").trim_end()
                ),
            )?;
        }
    }

    /// `$VISUAL` or `$EDITOR` (through sh, so that it may carry arguments: "code --wait") on
    /// `path`; the file's text, or None when the editor failed (the person's way to cancel).
    fn run_editor(&self, path: &std::path::Path) -> anyhow::Result<Option<String>> {
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("rpcsh-edit")
            .arg(path)
            .status();
        match status {
            Ok(s) if s.success() => Ok(Some(std::fs::read_to_string(path).unwrap_or_default())),
            Ok(s) => {
                self.out
                    .err(&format!("edit: cancelled (the editor exited with {s})\n"));
                Ok(None)
            }
            Err(e) => Err(crate::sys::error::Hint::new(
                format!("edit: cannot run the editor {editor:?}: {e}"),
                "set VISUAL or EDITOR",
            )
            .into()),
        }
    }
}
