//! The interactive shell, `rpcsh connect` and `rpcsh demo`: another front end on the client
//! pipeline (source, input, invoke, format), not a second implementation. The line editor runs on
//! a thread of its own (rustyline's `readline` blocks) and hands lines over a channel; responses
//! that arrive while the person types (streams, watches) are printed above the prompt through
//! rustyline's external printer. With stdin not a terminal it reads commands line by line, with
//! no prompt and no colours: the base of scripted sessions.
pub mod command;
pub mod complete;
mod editor;
mod execute;
mod output;
mod record;
mod stream;
mod watch;

pub use editor::history_path;
use editor::{for_history, spawn_editor, spawn_reader, Input};
use output::Output;
use stream::OpenStream;
use watch::Watch;

use crate::connection::{parse_headers, Connection, Session};
use crate::error::render;
use crate::expect::{self, Outcome};
use crate::format::{Format, Style};
use crate::input::ParseOptions;
use crate::source::Schema;
use command::Command;
use complete::{Known, ShellHelper};
use prost_reflect::MessageDescriptor;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How the shell is run.
#[derive(Debug, Clone, Default)]
pub struct ReplOptions {
    /// Keep no history file.
    pub no_history: bool,
    /// `--record FILE`: record the session as a script.
    pub record: Option<command::RecordSpec>,
}

/// Lines the `history` command shows: the last thousand, as rustyline keeps.
const HISTORY_KEPT: usize = 1000;

pub(crate) struct Shell {
    conn: Connection,
    session: Option<Session>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    compress: Option<crate::invoke::Compression>,
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
    /// A call that ended with a status, not counted yet: an `expect error` right after it makes
    /// it a step that did what the input wanted (as in `rpcsh run`).
    unchecked_failure: bool,
    /// What the last call produced, for `expect` and `let`.
    last: Arc<Mutex<Outcome>>,
    vars: HashMap<String, serde_json::Value>,
    /// Interactive: the session opens behind the first prompt and the schema for completion
    /// loads in the background.
    background: bool,
    /// The session being opened behind the prompt.
    opening: Option<oneshot::Receiver<anyhow::Result<Opened>>>,
    /// The schema being loaded in the background.
    loaded: Option<oneshot::Receiver<Schema>>,
    /// A watch lost its connection: the next command connects again.
    lost: Arc<std::sync::atomic::AtomicBool>,
    /// `record FILE`: the script being written.
    recorder: Option<record::Recorder>,
    /// What the last call sent.
    sent: Option<record::Sent>,
    /// Calls made so far: whether a command got as far as calling.
    calls: usize,
    /// The last request sent to each method (`Service/Method`), for `edit`.
    requests: HashMap<String, Vec<String>>,
}

/// An opened session, and its schema loading in the background.
type Opened = (Session, oneshot::Receiver<Schema>);

/// Up to this many services, the background load fetches every service's file for completion;
/// beyond it only their names (a big schema would cost memory few completions use). The files of
/// services used are fetched as they are used, and completed from then on.
const BACKGROUND_FILES_UP_TO: usize = 100;

/// Loads, on a reflection stream of its own, the service names and (for a schema of a size that
/// allows it) every service's files, for completion; commands never wait for it.
fn load_in_background(schema: &Schema, known: Arc<Mutex<Known>>) -> oneshot::Receiver<Schema> {
    let mut schema = schema.fresh();
    let (tx, rx) = oneshot::channel();
    known.lock().unwrap().loading = true;
    tokio::spawn(async move {
        if let Ok(services) = schema.services().await {
            known.lock().unwrap().services = services.clone();
            if services.len() <= BACKGROUND_FILES_UP_TO {
                let _ = schema.load_symbols(&services).await;
                known.lock().unwrap().pool = schema.pool().clone();
            } else {
                known.lock().unwrap().names = schema.method_names().into_iter().collect();
            }
        }
        known.lock().unwrap().loading = false;
        let _ = tx.send(schema);
        // What reading the schema freed stays with the shell for its whole life otherwise.
        crate::util::release_free_memory();
    });
    rx
}

/// Awaits `fut`, a wait on the server (connection, schema): after a second it says what it is
/// waiting for, and Ctrl-C gives up on it without ending the shell.
async fn waiting<T>(
    out: &Output,
    timeout: Option<Duration>,
    what: impl std::fmt::Display,
    fut: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    // `set timeout` bounds reflection as it bounds calls: a silent server is a deadline.
    let fut = crate::commands::within(timeout, "reflection", fut);
    tokio::pin!(fut);
    tokio::select! {
        r = &mut fut => return r,
        _ = tokio::time::sleep(Duration::from_secs(1)) => {
            if matches!(out, Output::Screen(_)) {
                out.err(&format!("waiting for {what} (Ctrl-C gives up)\n"));
            }
        }
        _ = out.ctrl_c() => anyhow::bail!("cancelled"),
    }
    tokio::select! {
        r = fut => r,
        _ = out.ctrl_c() => anyhow::bail!("cancelled"),
    }
}

/// Runs the shell until `exit`, Ctrl-D or the end of piped input. Returns the exit code: 0, or 1
/// when piped input had a command fail.
pub async fn run(conn: Connection, options: ReplOptions) -> anyhow::Result<u8> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    // Typed at, Ctrl-C is the editor's (it cancels a wait, the shell stays); SIGTERM and SIGHUP
    // end the shell with the terminal restored. Piped, Ctrl-C ends the session too. History
    // and recordings are on disk after every command: nothing is lost.
    let terminal = interactive.then(crate::signals::Terminal::save);
    tokio::spawn(async move {
        let code = crate::signals::interrupted(!interactive).await;
        if let Some(terminal) = &terminal {
            terminal.restore();
        }
        std::process::exit(code.into());
    });
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
    if let Some(spec) = options.record {
        shell.start_recording(spec)?;
    }
    if interactive {
        // The prompt at once; the connection and the schema come up behind it.
        shell.background = true;
        shell.start_opening();
    } else if let Err(e) = shell.ensure_session().await {
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
                if let Err(e) = shell.cancel_stream() {
                    shell.fail(&e);
                }
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
    if shell.unchecked_failure {
        shell.failures += 1;
    }
    if shell.recorder.is_some() {
        let _ = shell.stop_recording();
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
            compress: conn.resolved().compress,
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
            unchecked_failure: false,
            last: Arc::default(),
            vars: HashMap::new(),
            background: false,
            opening: None,
            loaded: None,
            lost: Arc::default(),
            recorder: None,
            sent: None,
            calls: 0,
            requests: HashMap::new(),
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

    /// A script shell that prints nothing (a virtual user of `bench --script`): its calls'
    /// answers are still kept for `expect` and `let`.
    pub(crate) fn silent(conn: Connection) -> Shell {
        Shell {
            out: Output::Silent,
            ..Shell::plain(conn)
        }
    }

    /// Connects and resolves `methods` ahead of the first line, so that the first call of each
    /// is not timed with its reflection round trips.
    pub(crate) async fn prepare(&mut self, methods: &[String]) -> anyhow::Result<()> {
        for method in methods.iter().filter(|m| !m.contains("${")) {
            self.resolve(method).await?;
        }
        Ok(())
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
        let mut all = self.conn.header_lines()?;
        all.extend(self.headers.iter().map(|(k, v)| format!("{k}: {v}")));
        parse_headers(&all)
    }

    /// Opens the session in a task of its own, so that the prompt need not wait, and starts the
    /// background load as soon as it is open; a failure is shown at once, and the next command
    /// tries again.
    fn start_opening(&mut self) {
        let (conn, out, known) = (self.conn.clone(), self.out.clone(), self.known.clone());
        let (tx, rx) = oneshot::channel();
        known.lock().unwrap().loading = true;
        tokio::spawn(async move {
            let opened = conn.open(true).await;
            let opened = match opened {
                Ok(mut session) => {
                    session.schema.pack();
                    let loaded = load_in_background(&session.schema, known);
                    Ok((session, loaded))
                }
                Err(e) => {
                    known.lock().unwrap().loading = false;
                    out.err(&render(&e));
                    Err(e)
                }
            };
            let _ = tx.send(opened);
        });
        self.opening = Some(rx);
    }

    /// Connects (again) if needed, and tells completion what is known of the server.
    async fn ensure_session(&mut self) -> anyhow::Result<&mut Session> {
        if self.lost.swap(false, std::sync::atomic::Ordering::Relaxed) {
            self.session = None;
            self.opening = None;
        }
        if self.session.is_none() {
            let opened = match self.opening.take() {
                Some(rx) => rx.await.ok().and_then(Result::ok),
                None => None,
            };
            let (session, loaded) = match opened {
                Some((session, loaded)) => (session, Some(loaded)),
                None => {
                    let mut session = self.conn.open(true).await?;
                    session.schema.pack();
                    (session, None)
                }
            };
            self.loaded = match loaded {
                Some(loaded) => Some(loaded),
                None if self.background => {
                    Some(load_in_background(&session.schema, self.known.clone()))
                }
                None => None,
            };
            self.session = Some(session);
        }
        self.share_schema();
        Ok(self.session.as_mut().expect("just opened"))
    }

    /// Takes in what the background load brought, and gives completion what the session knows.
    fn share_schema(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if let Some(rx) = &mut self.loaded {
            if let Ok(loaded) = rx.try_recv() {
                session.schema.absorb(loaded);
                self.loaded = None;
            }
        }
        let mut known = self.known.lock().unwrap();
        if let Some(services) = session.schema.listed() {
            known.services = services.to_vec();
        }
        known.pool = session.schema.pool().clone();
        known.current = self.current.clone();
    }

    /// One line of input; false when the shell should end.
    async fn handle(&mut self, line: &str) -> bool {
        // Bounded, or a long piped session would grow by every line it ran.
        if self.history.len() == HISTORY_KEPT {
            self.history.remove(0);
        }
        self.history.push(for_history(line));
        let checks_it = self.unchecked_failure
            && matches!(
                command::parse(line.trim()),
                Ok(Command::Expect(expect::Expectation::Error(..)))
            );
        if std::mem::take(&mut self.unchecked_failure) && !checks_it {
            self.failures += 1;
        }
        match self.run_line(line).await {
            Ok(keep_going) => keep_going,
            Err(e) if e.downcast_ref::<crate::error::CallFailed>().is_some() => {
                self.out.err(&render(&e));
                self.unchecked_failure = true;
                true
            }
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
            let sent = self.stream_line(&line).await;
            let ended = self.stream.is_none();
            if ended {
                self.settle_for_recording().await;
            }
            self.record_stream_line(&line, sent.as_deref().unwrap_or_default(), ended);
            sent?;
            return Ok(true);
        }
        let command = command::parse(&line).map_err(anyhow::Error::msg)?;
        if command == Command::Exit {
            return Ok(false);
        }
        if !matches!(command, Command::Expect(_) | Command::Empty) {
            self.mark_watches();
        }
        let calls = self.calls;
        let result = self.execute(command.clone()).await;
        self.share_schema();
        if self.calls > calls {
            self.settle_for_recording().await;
        }
        self.record_command(&command, &line, self.calls > calls, result.is_ok());
        result?;
        Ok(true)
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
}
