//! The interactive shell, `rpcsh connect` and `rpcsh demo`: another front end on the client
//! pipeline (source, input, invoke, format), not a second implementation. The line editor runs on
//! a thread of its own (rustyline's `readline` blocks) and hands lines over a channel; responses
//! that arrive while the person types (streams, watches) are printed above the prompt through
//! rustyline's external printer. With stdin not a terminal it reads commands line by line, with
//! no prompt and no colours: the base of scripted sessions.
pub mod command;
pub mod complete;

use crate::commands::{parse_headers, Connection, Session};
use crate::error::render;
use crate::expect::{self, Outcome};
use crate::format::{self, is_secret, Format, Printer, Style};
use crate::input::{self, ParseOptions};
use crate::invoke::{self, CallError, CallOptions, Handler};
use command::{Command, Expectation};
use complete::{Known, ShellHelper};
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How the shell is run.
#[derive(Debug, Clone, Default)]
pub struct ReplOptions {
    /// Keep no history file.
    pub no_history: bool,
}

/// Where the shell's output goes: the terminal above the prompt, or plain stdout/stderr.
#[derive(Clone)]
enum Output {
    Plain,
    Screen(Arc<Mutex<Box<dyn rustyline::ExternalPrinter + Send>>>),
}

impl Output {
    fn out(&self, text: &str) {
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

    fn err(&self, text: &str) {
        match self {
            Output::Plain => eprint!("{text}"),
            Output::Screen(_) => self.out(text),
        }
    }
}

/// A `Write` that hands whole flushes to an `Output`, each line tagged with `prefix`.
struct OutWriter {
    out: Output,
    prefix: String,
    buf: Vec<u8>,
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
struct Counting {
    printer: Printer<OutWriter>,
    count: Arc<AtomicUsize>,
    started: Option<tokio::sync::oneshot::Sender<()>>,
    kept: Arc<Mutex<Vec<serde_json::Value>>>,
}

/// Messages kept per call for `expect`: the newest ones when a stream is longer.
const KEPT_MESSAGES: usize = 100_000;

impl Counting {
    fn new(printer: Printer<OutWriter>) -> Self {
        Counting {
            printer,
            count: Arc::default(),
            started: None,
            kept: Arc::default(),
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
        self.count.fetch_add(1, Ordering::Relaxed);
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

/// A background server stream.
struct Watch {
    id: usize,
    method: String,
    count: Arc<AtomicUsize>,
    kept: Arc<Mutex<Vec<serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

/// A client-streaming or bidi call whose messages the person is typing.
struct OpenStream {
    name: String,
    input: MessageDescriptor,
    tx: Option<mpsc::Sender<DynamicMessage>>,
    task: tokio::task::JoinHandle<()>,
    /// How the call failed, kept for a script to report when it finishes the stream.
    failure: Arc<Mutex<Option<anyhow::Error>>>,
}

/// What the editor thread sends.
enum Input {
    Line(String),
    Interrupt,
    Eof,
}

/// Lines the `history` command shows: the last thousand, as rustyline keeps.
const HISTORY_KEPT: usize = 1000;

pub(crate) struct Shell {
    conn: Connection,
    session: Option<Session>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    style: Style,
    parse: ParseOptions,
    current: Option<String>,
    watches: Vec<Watch>,
    next_watch: usize,
    stream: Option<OpenStream>,
    out: Output,
    known: Arc<Mutex<Known>>,
    stream_input: Arc<Mutex<Option<MessageDescriptor>>>,
    history: Vec<String>,
    failures: usize,
    /// What the last call produced, for `expect` and `let`.
    last: Arc<Mutex<Outcome>>,
    vars: HashMap<String, serde_json::Value>,
}

/// Runs the shell until `exit`, Ctrl-D or the end of piped input. Returns the exit code: 0, or 1
/// when piped input had a command fail.
pub async fn run(conn: Connection, options: ReplOptions) -> anyhow::Result<u8> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let color = interactive && crate::style::stdout();
    let known = Arc::new(Mutex::new(Known::default()));
    let stream_input = Arc::new(Mutex::new(None));
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<Input>();
    let (prompt_tx, prompt_rx) = std::sync::mpsc::channel::<Option<String>>();
    let out = if interactive {
        let helper = ShellHelper::new(known.clone(), color, stream_input.clone());
        let history = (!options.no_history).then(history_path).flatten();
        Output::Screen(spawn_editor(helper, history, prompt_rx, lines_tx)?)
    } else {
        spawn_reader(lines_tx);
        Output::Plain
    };
    let style = Style {
        format: if interactive {
            Format::Json
        } else {
            Format::Jsonl
        },
        emit_defaults: false,
        proto_names: false,
        color,
    };
    let mut shell = Shell::new(conn, out, style, known, stream_input);
    if let Err(e) = shell.ensure_session().await {
        shell.fail(&e);
    }
    loop {
        if interactive && prompt_tx.send(Some(shell.prompt(color))).is_err() {
            break;
        }
        let Some(input) = lines.recv().await else {
            break;
        };
        let keep_going = match input {
            Input::Line(line) => shell.handle(&line).await,
            Input::Interrupt => {
                shell.cancel_stream();
                true
            }
            Input::Eof if shell.stream.is_some() => {
                if let Err(e) = shell.finish_stream().await {
                    shell.fail(&e);
                }
                true
            }
            Input::Eof => false,
        };
        if !keep_going {
            break;
        }
    }
    if let Err(e) = shell.finish_stream().await {
        shell.fail(&e);
    }
    if !interactive {
        shell.settle_watches().await;
    }
    let _ = prompt_tx.send(None);
    Ok(if !interactive && shell.failures > 0 {
        1
    } else {
        0
    })
}

/// `$XDG_STATE_HOME/rpcsh/history`, or `~/.local/state/rpcsh/history`.
pub fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("rpcsh").join("history"))
}

/// The history file, created mode 0600 (it may hold what people typed against production).
fn open_history(path: &PathBuf) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// What goes into the history for `line`: secret header values redacted.
fn for_history(line: &str) -> String {
    match command::parse(line) {
        Ok(Command::HeaderSet(name, _)) if is_secret(&name) => {
            format!("header set {name} <redacted>")
        }
        _ => line.to_string(),
    }
}

/// Starts the editor thread; returns its external printer once the editor exists.
fn spawn_editor(
    helper: ShellHelper,
    history: Option<PathBuf>,
    prompts: std::sync::mpsc::Receiver<Option<String>>,
    lines: mpsc::UnboundedSender<Input>,
) -> anyhow::Result<Arc<Mutex<Box<dyn rustyline::ExternalPrinter + Send>>>> {
    let (printer_tx, printer_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let config = rustyline::Config::builder().auto_add_history(false).build();
        let mut editor =
            match rustyline::Editor::<ShellHelper, rustyline::history::DefaultHistory>::with_config(
                config,
            ) {
                Ok(e) => e,
                Err(e) => {
                    return drop(
                        printer_tx.send(Err(anyhow::anyhow!("cannot start the line editor: {e}"))),
                    )
                }
            };
        editor.set_helper(Some(helper));
        let history = history.filter(|p| open_history(p).is_ok());
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        match editor.create_external_printer() {
            Ok(p) => {
                let boxed: Box<dyn rustyline::ExternalPrinter + Send> = Box::new(p);
                let _ = printer_tx.send(Ok(Arc::new(Mutex::new(boxed))));
            }
            Err(e) => {
                return drop(
                    printer_tx.send(Err(anyhow::anyhow!("cannot start the line editor: {e}"))),
                )
            }
        }
        while let Ok(Some(prompt)) = prompts.recv() {
            let input = match editor.readline(&prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(for_history(&line));
                        if let Some(path) = &history {
                            let _ = editor.append_history(path);
                        }
                    }
                    Input::Line(line)
                }
                Err(rustyline::error::ReadlineError::Interrupted) => Input::Interrupt,
                Err(_) => Input::Eof,
            };
            if lines.send(input).is_err() {
                break;
            }
        }
    });
    printer_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the line editor did not start"))?
}

/// Reads piped commands: one per line, JSON spanning lines kept together.
fn spawn_reader(lines: mpsc::UnboundedSender<Input>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut pending = String::new();
        for line in std::io::BufRead::lines(stdin.lock()) {
            let Ok(line) = line else { break };
            if !pending.is_empty() {
                pending.push('\n');
            }
            pending.push_str(&line);
            if command::is_complete(&pending)
                && lines
                    .send(Input::Line(std::mem::take(&mut pending)))
                    .is_err()
            {
                return;
            }
        }
        if !pending.is_empty() {
            let _ = lines.send(Input::Line(pending));
        }
        let _ = lines.send(Input::Eof);
    });
}

impl Shell {
    fn new(
        conn: Connection,
        out: Output,
        style: Style,
        known: Arc<Mutex<Known>>,
        stream_input: Arc<Mutex<Option<MessageDescriptor>>>,
    ) -> Shell {
        Shell {
            timeout: conn.config.timeout_for(&conn.addr),
            conn,
            session: None,
            headers: Vec::new(),
            style,
            parse: ParseOptions::default(),
            current: None,
            watches: Vec::new(),
            next_watch: 1,
            stream: None,
            out,
            known,
            stream_input,
            history: Vec::new(),
            failures: 0,
            last: Arc::default(),
            vars: HashMap::new(),
        }
    }

    /// A shell for scripts: plain output, one JSON line per message.
    pub(crate) fn plain(conn: Connection) -> Shell {
        let style = Style {
            format: Format::Jsonl,
            emit_defaults: false,
            proto_names: false,
            color: false,
        };
        Shell::new(conn, Output::Plain, style, Arc::default(), Arc::default())
    }

    /// The connection is made (and the schema listed) before the first line.
    pub(crate) async fn connect(&mut self) -> anyhow::Result<()> {
        self.ensure_session().await.map(|_| ())
    }

    pub(crate) fn in_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// The end of a script: a stream still open is finished, watches drain.
    pub(crate) async fn finish(&mut self) -> anyhow::Result<()> {
        let result = self.finish_stream().await;
        self.settle_watches().await;
        result
    }

    fn prompt(&self, color: bool) -> String {
        let _ = color; // colour is applied by the editor's highlighter
        if let Some(s) = &self.stream {
            return format!("{} >> ", s.name);
        }
        let service = self
            .current
            .as_deref()
            .map(|c| c.rsplit('.').next().unwrap_or(c));
        match service {
            Some(s) => format!("{} {s}> ", self.conn.addr),
            None => format!("{}> ", self.conn.addr),
        }
    }

    fn fail(&mut self, err: &anyhow::Error) {
        self.failures += 1;
        self.out.err(&render(err));
    }

    fn metadata(&self) -> anyhow::Result<tonic::metadata::MetadataMap> {
        let mut all = self.conn.headers.clone();
        all.extend(self.headers.iter().map(|(k, v)| format!("{k}: {v}")));
        parse_headers(&all)
    }

    /// Connects (again) if needed and tells completion what the server has.
    async fn ensure_session(&mut self) -> anyhow::Result<&mut Session> {
        if self.session.is_none() {
            let mut session = self.conn.open(true).await?;
            let services = session.schema.services().await.unwrap_or_default();
            for s in &services {
                let _ = session.schema.load_symbol(s).await;
            }
            *self.known.lock().unwrap() = Known {
                services,
                pool: session.schema.pool().clone(),
                current: self.current.clone(),
            };
            self.session = Some(session);
        }
        Ok(self.session.as_mut().expect("just opened"))
    }

    /// One line of input; false when the shell should end.
    async fn handle(&mut self, line: &str) -> bool {
        // Bounded, or a long piped session would grow by every line it ran.
        if self.history.len() == HISTORY_KEPT {
            self.history.remove(0);
        }
        self.history.push(for_history(line));
        match self.run_line(line).await {
            Ok(keep_going) => keep_going,
            Err(e) => {
                self.fail(&e);
                true
            }
        }
    }

    /// Runs one input: variables substituted, then a stream's message or a command. Ok(false)
    /// for `exit`. Errors are returned, not printed: the shell prints them, a script attributes
    /// them to its line.
    pub(crate) async fn run_line(&mut self, line: &str) -> anyhow::Result<bool> {
        let line = expect::substitute(line, &self.vars).map_err(anyhow::Error::msg)?;
        if self.stream.is_some() {
            self.stream_line(&line).await?;
            return Ok(true);
        }
        let command = command::parse(&line).map_err(anyhow::Error::msg)?;
        if command == Command::Exit {
            return Ok(false);
        }
        self.execute(command).await?;
        Ok(true)
    }

    async fn execute(&mut self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Empty | Command::Exit => {}
            Command::Help(topic) => self
                .out
                .out(&command::help(topic.as_deref()).map_err(anyhow::Error::msg)?),
            Command::Stats => self.out.out(&format!("{}\n", crate::stats::Stats::now())),
            Command::History => {
                let text: String = self
                    .history
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("{:>4}  {l}\n", i + 1))
                    .collect();
                self.out.out(&text);
            }
            Command::List(service) => {
                let session = self.ensure_session().await?;
                let text: String = match service {
                    None => session
                        .schema
                        .services()
                        .await?
                        .into_iter()
                        .map(|s| s + "\n")
                        .collect(),
                    Some(name) => {
                        let s = session.schema.resolve_service(&name).await?;
                        s.methods()
                            .map(|m| format!("{}\n", format::describe_method(&m)))
                            .collect()
                    }
                };
                self.out.out(&text);
            }
            Command::Describe(symbol) => {
                let session = self.ensure_session().await?;
                let found = crate::commands::find_symbol(&mut session.schema, &symbol).await?;
                self.out.out(&found.describe());
            }
            Command::Template(symbol) => {
                let symbol = self.qualify(&symbol);
                let session = self.ensure_session().await?;
                let message = crate::commands::find_symbol(&mut session.schema, &symbol)
                    .await?
                    .request_message()?;
                self.out.out(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&format::template(&message))?
                ));
            }
            Command::Use(None) => self.set_current(None),
            Command::Use(Some(name)) => {
                let session = self.ensure_session().await?;
                let service = session.schema.resolve_service(&name).await?;
                self.set_current(Some(service.full_name().to_string()));
            }
            Command::Call { method, data } => self.call(&method, data).await?,
            Command::Watch { method, data } => self.watch(&method, data).await?,
            Command::Jobs => {
                let text: String = self
                    .watches
                    .iter()
                    .map(|w| {
                        let state = if w.task.is_finished() {
                            "ended"
                        } else {
                            "running"
                        };
                        format!(
                            "[{}] {}  {} messages  {state}\n",
                            w.id,
                            w.method,
                            w.count.load(Ordering::Relaxed)
                        )
                    })
                    .collect();
                self.out.out(if text.is_empty() {
                    "no watches\n"
                } else {
                    &text
                });
            }
            Command::Stop(id) => {
                let Some(i) = self.watches.iter().position(|w| w.id == id) else {
                    anyhow::bail!("no watch [{id}] (jobs lists them)");
                };
                let w = self.watches.remove(i);
                w.task.abort();
                self.out.out(&format!(
                    "[{id}] stopped after {} messages\n",
                    w.count.load(Ordering::Relaxed)
                ));
            }
            Command::HeaderSet(name, value) => {
                parse_headers(&[format!("{name}: {value}")])?;
                self.headers.retain(|(k, _)| *k != name);
                self.headers.push((name, value));
            }
            Command::HeaderUnset(name) => self.headers.retain(|(k, _)| *k != name),
            Command::Headers => {
                let text: String = self
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
            Command::SetTimeout(t) => self.timeout = t,
            Command::SetFormat(f) => self.style.format = f,
            Command::SetEmitDefaults(on) => self.style.emit_defaults = on,
            Command::Expect(Expectation::Within(limit, expected)) => {
                let deadline = tokio::time::Instant::now() + limit;
                loop {
                    let seen = self.watches.iter().any(|w| {
                        w.kept
                            .lock()
                            .unwrap()
                            .iter()
                            .any(|m| expect::contains(m, &expected))
                    });
                    if seen {
                        break;
                    }
                    if tokio::time::Instant::now() >= deadline {
                        let recent: Vec<_> = self
                            .watches
                            .iter()
                            .flat_map(|w| {
                                w.kept
                                    .lock()
                                    .unwrap()
                                    .iter()
                                    .rev()
                                    .take(3)
                                    .cloned()
                                    .collect::<Vec<_>>()
                            })
                            .collect();
                        anyhow::bail!(ExpectFailed(format!(
                            "no watch message matched within {limit:?}\n{}",
                            expect::diff(&expected, &serde_json::Value::Array(recent))
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Command::Expect(expectation) => {
                let outcome = self.last.lock().unwrap().clone();
                expect::check(&expectation, &outcome).map_err(ExpectFailed)?;
            }
            Command::Let(name, path) => {
                let outcome = self.last.lock().unwrap().clone();
                let value = expect::lookup(&outcome, &path).map_err(anyhow::Error::msg)?;
                self.vars.insert(name, value);
            }
            Command::Sleep(d) => tokio::time::sleep(d).await,
            Command::Connect(addr) => {
                // A server that cannot be reached leaves the shell on the one it had.
                let previous = std::mem::replace(&mut self.conn.addr, addr);
                let session = self.session.take();
                if let Err(e) = self.ensure_session().await {
                    self.conn.addr = previous;
                    self.session = session;
                    return Err(e);
                }
                self.set_current(None);
            }
        }
        Ok(())
    }

    fn set_current(&mut self, service: Option<String>) {
        self.known.lock().unwrap().current = service.clone();
        self.current = service;
    }

    /// A bare method name means one of the `use`d service's.
    fn qualify(&self, method: &str) -> String {
        match &self.current {
            Some(service) if !method.contains('/') && !method.contains('.') => {
                format!("{service}/{method}")
            }
            _ => method.to_string(),
        }
    }

    fn printer(&self, prefix: String) -> Printer<OutWriter> {
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

    async fn resolve(
        &mut self,
        method: &str,
    ) -> anyhow::Result<(MethodDescriptor, tonic::transport::Channel)> {
        let method = self.qualify(method);
        let session = self.ensure_session().await?;
        let resolved = session.schema.resolve_method(&method).await?;
        let channel = session
            .channel
            .clone()
            .expect("a session for calls has a channel");
        Ok((resolved, channel))
    }

    fn options(&self) -> anyhow::Result<CallOptions> {
        Ok(CallOptions {
            metadata: self.metadata()?,
            timeout: self.timeout,
            max_message_size: self.conn.max_message_size,
        })
    }

    /// The request messages of `data` (inline JSON or @file) for `method`, shaped as the
    /// one-shot `call` shapes them.
    fn messages(
        &self,
        data: Option<String>,
        method: &MethodDescriptor,
    ) -> anyhow::Result<Vec<DynamicMessage>> {
        let data = input::Data::parse(data.as_deref());
        if data == input::Data::Stdin {
            anyhow::bail!("stdin is the shell's own input: give the JSON inline or as @FILE");
        }
        crate::commands::request_messages(method, &data, self.parse, self.conn.max_message_size)
    }

    async fn call(&mut self, method: &str, data: Option<String>) -> anyhow::Result<()> {
        let (method, channel) = self.resolve(method).await?;
        let options = self.options()?;
        if method.is_client_streaming() {
            return self.open_stream(method, channel, options, data);
        }
        let messages = self.messages(data, &method)?;
        let mut handler = Counting::new(self.printer(String::new()));
        *self.last.lock().unwrap() = Outcome {
            called: true,
            ..Outcome::default()
        };
        let call = invoke::invoke(
            channel,
            &method,
            futures_util::stream::iter(messages),
            &options,
            &mut handler,
        );
        // Ctrl-C ends the call, not the shell: dropping the call resets its stream.
        let result = tokio::select! {
            r = call => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        let _ = handler.printer.out.flush();
        record(
            &self.last,
            &handler,
            result.as_ref().and_then(|r| r.as_ref().err()),
        );
        match result {
            None => self.out.err("cancelled\n"),
            Some(Ok(())) => {}
            Some(Err(e)) => self.call_failed(e)?,
        }
        Ok(())
    }

    fn call_failed(&mut self, e: CallError) -> anyhow::Result<()> {
        match e {
            CallError::Handler(e) => Err(e),
            CallError::Status(status) => {
                let status = crate::commands::client_deadline(status);
                if crate::error::transport_cause(&status).is_some() {
                    self.session = None; // reconnect on the next command
                }
                Err(status_failure(status, self.session.as_ref()))
            }
        }
    }

    /// Starts a client-streaming or bidi call; the following lines are its messages.
    fn open_stream(
        &mut self,
        method: MethodDescriptor,
        channel: tonic::transport::Channel,
        options: CallOptions,
        data: Option<String>,
    ) -> anyhow::Result<()> {
        let first = self.messages(data, &method)?;
        let (tx, rx) = mpsc::channel::<DynamicMessage>(64);
        for m in first {
            tx.try_send(m)
                .map_err(|_| anyhow::anyhow!("too many messages at once"))?;
        }
        let mut handler = Counting::new(self.printer(String::new()));
        let out = self.out.clone();
        let task_method = method.clone();
        let last = self.last.clone();
        *last.lock().unwrap() = Outcome {
            called: true,
            ..Outcome::default()
        };
        let failure: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
        let failed = failure.clone();
        let task = tokio::spawn(async move {
            let requests = tokio_stream::wrappers::ReceiverStream::new(rx);
            let result =
                invoke::invoke(channel, &task_method, requests, &options, &mut handler).await;
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
        *self.stream_input.lock().unwrap() = Some(method.input());
        self.stream = Some(OpenStream {
            name: method.name().to_string(),
            input: method.input(),
            tx: Some(tx),
            task,
            failure,
        });
        Ok(())
    }

    /// A line typed at a stream's `>>` prompt.
    async fn stream_line(&mut self, line: &str) -> anyhow::Result<()> {
        match line.trim() {
            "" | ".end" | "end" => return self.finish_stream().await,
            ".cancel" => {
                self.cancel_stream();
                return Ok(());
            }
            _ => {}
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
        let messages =
            input::parse_messages(line, &input, self.parse).map_err(|e| e.context("not sent"))?;
        for m in messages {
            if tx.send(m).await.is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Half-closes the stream being typed and waits for the rest of its responses; in a script,
    /// returns how the call failed.
    async fn finish_stream(&mut self) -> anyhow::Result<()> {
        let Some(mut stream) = self.stream.take() else {
            return Ok(());
        };
        stream.tx.take();
        self.end_stream_mode();
        tokio::select! {
            _ = &mut stream.task => {}
            _ = tokio::signal::ctrl_c() => {
                stream.task.abort();
                self.out.err("cancelled\n");
            }
        }
        let failure = stream.failure.lock().unwrap().take();
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn cancel_stream(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.task.abort();
            self.out.err("cancelled\n");
        }
        self.end_stream_mode();
    }

    fn end_stream_mode(&mut self) {
        self.stream = None;
        *self.stream_input.lock().unwrap() = None;
    }

    /// At the end of piped input: lets the watches print what is already on its way (until none
    /// has received anything for a quarter of a second, five seconds at most), then stops them.
    async fn settle_watches(&mut self) {
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
    async fn watch(&mut self, method: &str, data: Option<String>) -> anyhow::Result<()> {
        let (method, channel) = self.resolve(method).await?;
        if method.is_client_streaming() {
            anyhow::bail!(
                "watch takes a method that streams responses only; {} takes a stream too",
                method.name()
            );
        }
        let messages = self.messages(data, &method)?;
        let options = self.options()?;
        let id = self.next_watch;
        self.next_watch += 1;
        let count = Arc::new(AtomicUsize::new(0));
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let mut printer = self.printer(format!("[{id}] "));
        if printer.style.format == Format::Json {
            printer.style.format = Format::Jsonl; // one line per background message
        }
        let kept: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let mut handler = Counting {
            printer,
            count: count.clone(),
            started: Some(started_tx),
            kept: kept.clone(),
        };
        let out = self.out.clone();
        let name = format!("{}/{}", method.parent_service().name(), method.name());
        let task_name = name.clone();
        let task = tokio::spawn(async move {
            let result = invoke::invoke(
                channel,
                &method,
                futures_util::stream::iter(messages),
                &options,
                &mut handler,
            )
            .await;
            let _ = handler.printer.out.flush();
            let n = handler.count.load(Ordering::Relaxed);
            match result {
                Ok(()) => out.out(&format!("[{id}] {task_name} ended after {n} messages\n")),
                Err(CallError::Status(status)) => {
                    out.err(&format!("[{id}] {}", render(&status_failure(status, None))))
                }
                Err(CallError::Handler(e)) => out.err(&format!("[{id}] {}", render(&e))),
            }
        });
        // Wait for the server to accept the call (its response headers): what the next command
        // makes the server push must find this watch subscribed.
        let _ = started.await;
        self.out.out(&format!("[{id}] watching {name}\n"));
        self.watches.push(Watch {
            id,
            method: name,
            count,
            kept,
            task,
        });
        Ok(())
    }
}

/// Keeps what a call produced as the shell's last outcome.
fn record(last: &Mutex<Outcome>, handler: &Counting, error: Option<&CallError>) {
    let mut last = last.lock().unwrap();
    last.called = true;
    last.messages = std::mem::take(&mut *handler.kept.lock().unwrap());
    last.error = match error {
        Some(CallError::Status(status)) => {
            let status = crate::commands::client_deadline(tonic::Status::new(
                status.code(),
                status.message(),
            ));
            Some((status.code(), status.message().to_string()))
        }
        Some(CallError::Handler(e)) => Some((tonic::Code::Unknown, e.to_string())),
        None => None,
    };
}

/// An `expect` that did not hold: what was expected and what came, as a diff.
#[derive(Debug)]
pub struct ExpectFailed(pub String);

impl std::fmt::Display for ExpectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expectation failed: {}", self.0)
    }
}

impl std::error::Error for ExpectFailed {}

/// A failed status as the one-shot command shows it.
fn status_failure(status: tonic::Status, session: Option<&Session>) -> anyhow::Error {
    let status = crate::commands::client_deadline(status);
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
