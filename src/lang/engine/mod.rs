//! The shell's engine: the non-interactive core every front end drives — the terminal REPL,
//! `rpcsh run`, `bench --script`'s virtual users and the mock. It takes lines of the script
//! language and runs them against a session: calls, streams open across lines, background
//! watches, variables, expectations and `record`. Where its output goes is the front end's
//! (`Output`); nothing here reads a terminal.
mod execute;
mod output;
mod record;
mod stream;
mod watch;

pub(crate) use output::{Event, Output, Screen};
use stream::OpenStream;
use watch::Watch;

use crate::client::input::ParseOptions;
use crate::client::output::format::{is_secret, Format, Style};
use crate::client::schema::Schema;
use crate::lang::command::{self, Command};
use crate::lang::expect::{self, Outcome};
use crate::session::connection::{parse_headers, Connection, Session};
use crate::sys::error::render;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// What the shell knows of the server, shared with a front end for completion (the REPL's
/// `complete` reads it): filled as the session opens and the schema loads.
#[derive(Default, Clone)]
pub struct Known {
    pub services: Vec<String>,
    pub pool: DescriptorPool,
    /// The service of `use`, whose methods complete bare.
    pub current: Option<String>,
    /// The background load is still running.
    pub loading: bool,
    /// Method names of services not built yet, read from a local schema's files.
    pub names: HashMap<String, Vec<String>>,
}

/// What goes into a history for `line`: secret header values redacted.
pub fn for_history(line: &str) -> String {
    match command::parse(line) {
        Ok(Command::HeaderSet(name, _)) if is_secret(&name) => {
            format!("header set {name} <redacted>")
        }
        _ => line.to_string(),
    }
}

/// Lines the `history` command shows: the last thousand, as rustyline keeps.
const HISTORY_KEPT: usize = 1000;

/// The shell's engine: one per front end's session.
pub(crate) struct Shell {
    conn: Connection,
    session: Option<Session>,
    /// The session opening and the schema loading behind the prompt.
    behind: Behind,
    settings: Settings,
    /// The service of `use`.
    current: Option<String>,
    watches: Vec<Watch>,
    next_watch: usize,
    /// The client or bidi stream being written line by line.
    stream: Option<OpenStream>,
    out: Output,
    shared: Shared,
    counts: Counts,
    memory: Memory,
    /// `record FILE`: the script being written.
    recorder: Option<record::ShellRecorder>,
}

/// What the shell shares with its front end while it runs: what is known of the server, and
/// the request message of the stream being written (both for completion).
#[derive(Clone, Default)]
pub(crate) struct Shared {
    pub(crate) known: Arc<Mutex<Known>>,
    pub(crate) stream_input: Arc<Mutex<Option<MessageDescriptor>>>,
}

/// The settings `header` and `set` change, sent with every call.
struct Settings {
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    compress: Option<crate::client::wire::invoke::Compression>,
    style: Style,
    parse: ParseOptions,
}

/// Interactive, the session opens behind the first prompt and the schema for completion loads
/// in the background.
#[derive(Default)]
struct Behind {
    enabled: bool,
    /// The session being opened.
    opening: Option<oneshot::Receiver<anyhow::Result<Opened>>>,
    /// The schema being loaded.
    loaded: Option<oneshot::Receiver<Schema>>,
    /// A watch lost its connection: the next command connects again.
    lost: Arc<std::sync::atomic::AtomicBool>,
}

/// How the commands went: what makes the exit code.
#[derive(Default)]
struct Counts {
    failures: usize,
    /// A call that ended with a status, not counted yet: an `expect error` right after it makes
    /// it a step that did what the input wanted (as in `rpcsh run`).
    unchecked_failure: bool,
    /// Calls made so far: whether a command got as far as calling.
    calls: usize,
}

/// What the shell remembers of what was typed and called.
#[derive(Default)]
struct Memory {
    /// The lines typed, for `history`.
    history: Vec<String>,
    /// The last request sent to each method (`Service/Method`), for `edit`.
    requests: HashMap<String, Vec<String>>,
    /// What the last call sent.
    sent: Option<record::Sent>,
    /// What the last call produced, for `expect` and `let`.
    last: Arc<Mutex<Outcome>>,
    /// `let`'s variables.
    vars: HashMap<String, serde_json::Value>,
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
        crate::sys::util::release_free_memory();
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

impl Shell {
    pub(crate) fn new(conn: Connection, out: Output, style: Style, shared: Shared) -> Shell {
        Shell {
            settings: Settings {
                headers: Vec::new(),
                timeout: conn.config.timeout_for(&conn.addr),
                compress: conn.resolved().compress,
                style,
                parse: ParseOptions::default(),
            },
            conn,
            session: None,
            behind: Behind::default(),
            current: None,
            watches: Vec::new(),
            next_watch: 1,
            stream: None,
            out,
            shared,
            counts: Counts::default(),
            memory: Memory::default(),
            recorder: None,
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
        Shell::new(conn, Output::Plain, style, Shared::default())
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

    /// The prompt's text (a front end colours it): the stream being written, or the address and
    /// the service of `use`.
    pub(crate) fn prompt(&self) -> String {
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

    pub(crate) fn fail(&mut self, err: &anyhow::Error) {
        self.counts.failures += 1;
        self.out.err(&render(err));
    }

    fn metadata(&self) -> anyhow::Result<tonic::metadata::MetadataMap> {
        let mut all = self.conn.header_lines()?;
        all.extend(
            self.settings
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}")),
        );
        parse_headers(&all)
    }

    /// Opens the session in a task of its own, so that the prompt need not wait, and starts the
    /// background load as soon as it is open; a failure is shown at once, and the next command
    /// tries again.
    fn start_opening(&mut self) {
        let (conn, out, known) = (
            self.conn.clone(),
            self.out.clone(),
            self.shared.known.clone(),
        );
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
        self.behind.opening = Some(rx);
    }

    /// Connects (again) if needed, and tells completion what is known of the server.
    async fn ensure_session(&mut self) -> anyhow::Result<&mut Session> {
        if self
            .behind
            .lost
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            self.session = None;
            self.behind.opening = None;
        }
        if self.session.is_none() {
            let opened = match self.behind.opening.take() {
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
            self.behind.loaded = match loaded {
                Some(loaded) => Some(loaded),
                None if self.behind.enabled => Some(load_in_background(
                    &session.schema,
                    self.shared.known.clone(),
                )),
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
        if let Some(rx) = &mut self.behind.loaded {
            if let Ok(loaded) = rx.try_recv() {
                session.schema.absorb(loaded);
                self.behind.loaded = None;
            }
        }
        let mut known = self.shared.known.lock().unwrap();
        if let Some(services) = session.schema.listed() {
            known.services = services.to_vec();
        }
        known.pool = session.schema.pool().clone();
        known.current = self.current.clone();
    }

    /// One line of input; false when the shell should end.
    pub(crate) async fn handle(&mut self, line: &str) -> bool {
        // Bounded, or a long piped session would grow by every line it ran.
        if self.memory.history.len() == HISTORY_KEPT {
            self.memory.history.remove(0);
        }
        self.memory.history.push(for_history(line));
        let checks_it = self.counts.unchecked_failure
            && matches!(
                command::parse(line.trim()),
                Ok(Command::Expect(expect::Expectation::Error(..)))
            );
        if std::mem::take(&mut self.counts.unchecked_failure) && !checks_it {
            self.counts.failures += 1;
        }
        match self.run_line(line).await {
            Ok(keep_going) => keep_going,
            Err(e) if e.downcast_ref::<crate::sys::error::CallFailed>().is_some() => {
                if let Some(failed) = e.downcast_ref::<crate::sys::error::CallFailed>() {
                    self.out.event(Event::Failed {
                        code: format!("{:?}", failed.code),
                    });
                }
                self.out.err(&render(&e));
                self.counts.unchecked_failure = true;
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
        let line = crate::session::vars::substitute(line, &self.memory.vars)?;
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
        let command = command::parse(&line)?;
        if command == Command::Exit {
            return Ok(false);
        }
        if !matches!(command, Command::Expect(_) | Command::Empty) {
            self.mark_watches();
        }
        let calls = self.counts.calls;
        let result = self.execute(command.clone()).await;
        self.share_schema();
        if self.counts.calls > calls {
            self.settle_for_recording().await;
        }
        self.record_command(&command, &line, self.counts.calls > calls, result.is_ok());
        result?;
        Ok(true)
    }

    fn set_current(&mut self, service: Option<String>) {
        self.shared.known.lock().unwrap().current = service.clone();
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

    /// Interactive: the prompt comes at once, the connection and the schema behind it.
    pub(crate) fn open_behind_prompt(&mut self) {
        self.behind.enabled = true;
        self.start_opening();
    }

    /// Ctrl-C at the prompt: an open stream is cancelled, the shell stays.
    pub(crate) fn interrupt(&mut self) {
        if let Err(e) = self.cancel_stream() {
            self.fail(&e);
        }
    }

    /// The end of input (Ctrl-D, the end of a pipe): an open stream is half-closed and the shell
    /// goes on; false when nothing was open and the session should end.
    pub(crate) async fn end_of_input(&mut self) -> bool {
        if self.stream.is_none() {
            return false;
        }
        if let Err(e) = self.finish_stream().await {
            self.fail(&e);
        }
        true
    }

    /// The session ends: a stream still open is finished, a recording closed and, unless a
    /// person was typing, the watches drain. The exit code: 1 when a command failed unchecked
    /// and no one was there to see it.
    pub(crate) async fn end(mut self, interactive: bool) -> u8 {
        if let Err(e) = self.finish_stream().await {
            self.fail(&e);
        }
        if self.counts.unchecked_failure {
            self.counts.failures += 1;
        }
        if self.recorder.is_some() {
            let _ = self.stop_recording();
        }
        if !interactive {
            self.settle_watches().await;
        }
        u8::from(!interactive && self.counts.failures > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A front end of its own (as the web UI will be): what the engine prints, collected.
    struct Collected(Arc<Mutex<String>>);

    impl Screen for Collected {
        fn print(&mut self, text: String) {
            self.0.lock().unwrap().push_str(&text);
        }
    }

    #[tokio::test]
    async fn a_front_end_of_its_own_drives_the_engine_without_a_terminal() {
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let routes = crate::serve::demo::routes(Default::default(), shutdown)
            .await
            .unwrap();
        let bound = crate::serve::server::Bound::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = bound.address();
        tokio::spawn(crate::serve::server::serve(
            bound,
            routes,
            Default::default(),
            std::future::pending(),
        ));
        let text = Arc::new(Mutex::new(String::new()));
        let screen: Box<dyn Screen> = Box::new(Collected(text.clone()));
        let style = Style {
            format: Format::Jsonl,
            emit_defaults: false,
            proto_names: false,
            color: false,
        };
        let shared = Shared::default();
        let conn = Connection {
            addr: addr.clone(),
            ..Connection::default()
        };
        let screen = Output::Screen(Arc::new(Mutex::new(screen)));
        let mut shell = Shell::new(conn, screen, style, shared.clone());
        assert!(shell.handle(r#"Greeter/SayHello {"name": "engine"}"#).await);
        assert!(shell.handle(r#"expect {"message": "hello engine"}"#).await);
        // A bidi stream stays open across lines, as at the REPL's `>>` prompt.
        assert!(shell.handle("RouteGuide/RouteChat").await);
        assert!(shell.prompt().ends_with(">> "), "{}", shell.prompt());
        assert!(
            shell
                .handle(r#"{"location": {"latitude": 1}, "message": "a"}"#)
                .await
        );
        assert!(shell.end_of_input().await, "the stream was open");
        assert_eq!(shell.prompt(), format!("{addr}> "));
        // What the front end is told of the server, for its completion.
        let services = shared.known.lock().unwrap().services.clone();
        assert!(
            services.iter().any(|s| s.ends_with("Greeter")),
            "{services:?}"
        );
        // A mistake is said on the front end's screen and counted, and the shell goes on.
        assert!(shell.handle("Nope/Nothing {}").await);
        assert_eq!(shell.end(false).await, 1);
        let shown = text.lock().unwrap().clone();
        assert!(shown.contains(r#"{"message":"hello engine"}"#), "{shown}");
        assert!(
            shown.contains("rpcsh: error:") && shown.contains("Nope"),
            "{shown}"
        );
    }
}
