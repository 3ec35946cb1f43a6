//! Scripted sessions, `rpcsh run FILE...`: the shell's language plus `expect`, `let` and
//! `sleep`, checked whole before anything is sent, then run statement by statement with each
//! failure attributed to its file and line, a `N passed, M failed` summary and an optional JUnit
//! report. Running a statement is the shell's (`repl::Shell::run_line`); this module owns the
//! splitting, the checks and the verdict.
use crate::lang::command::{self, Command};
use crate::lang::engine::Shell;
use crate::lang::expect::{ExpectFailed, Expectation};
use crate::session::connection::Connection;
use crate::sys::error::{render, CallFailed};
use std::collections::HashSet;
use std::path::PathBuf;

/// Exit code when a script has a syntax error (nothing was sent).
pub const EXIT_SYNTAX: u8 = 2;
/// Exit code when the server cannot be reached at all.
pub const EXIT_CONNECT: u8 = 3;

/// How `rpcsh run` goes.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Go on after a failure instead of stopping at the first.
    pub keep_going: bool,
    pub junit: Option<PathBuf>,
    /// `--addr` was given: it wins over a script's leading `connect`.
    pub addr_given: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Command(Command),
    /// A JSON message of the stream call above it.
    Message,
    /// `end`, or the blank line after a stream's messages.
    End,
}

/// One statement: possibly several lines (JSON spanning lines), with where it starts.
#[derive(Debug, Clone)]
struct Statement {
    file: String,
    line: usize,
    text: String,
    kind: Kind,
}

/// A statement of a script that the language does not read, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub file: String,
    /// None for the script as a whole.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ScriptError {}

/// Checks a whole script as `rpcsh run` does before sending anything; returns how many
/// statements it holds, or the first error with its `file:line`.
pub fn check(file: &str, text: &str) -> Result<usize, ScriptError> {
    split(file, text, &mut HashSet::new()).map(|s| s.len())
}

/// A call a script makes, with what it expects of the answer: what `serve --mock` answers.
#[derive(Debug, Clone)]
pub struct ScriptedCall {
    /// Where the call starts (`file:line`).
    pub at: String,
    pub method: String,
    /// The request: the call's JSON argument, or the stream's messages up to `end`.
    pub requests: Vec<String>,
    pub expect: Option<Expectation>,
    /// A `sleep` between the call and its `expect`: how long a mock takes to answer.
    pub delay: Option<std::time::Duration>,
    /// The answer's `expect header` and `expect trailer` lines.
    pub headers: Vec<(String, String)>,
    pub trailers: Vec<(String, String)>,
    /// Its `pace`: the wait before each message.
    pub pace: Vec<std::time::Duration>,
    /// Its `interleave`: how many answers came before each request.
    pub interleave: Vec<usize>,
}

/// `${request.a.b}` in a mock's answers: a field of the call's request.
pub const REQUEST: &str = "request.";

/// A script's statements as the shell takes them, one at a time (a stream's messages each, and
/// the `end` that closes it), for running it step by step.
pub fn steps(file: &str, text: &str) -> Result<Vec<String>, ScriptError> {
    Ok(split(file, text, &mut HashSet::new())?
        .into_iter()
        .map(|s| s.text)
        .collect())
}

/// The calls of a script, each with the `expect` that follows it (other statements between
/// are passed over); answers may name the request's fields, `${request.name}`.
pub fn calls(file: &str, text: &str) -> Result<Vec<ScriptedCall>, ScriptError> {
    let mut calls: Vec<ScriptedCall> = Vec::new();
    let mut open = false;
    let mut defined = HashSet::from([REQUEST.to_string()]);
    for statement in split(file, text, &mut defined)? {
        match statement.kind {
            Kind::Command(Command::Call { method, data }) => {
                open = data.is_none();
                calls.push(ScriptedCall {
                    at: format!("{file}:{}", statement.line),
                    method,
                    requests: data.into_iter().collect(),
                    expect: None,
                    delay: None,
                    headers: Vec::new(),
                    trailers: Vec::new(),
                    pace: Vec::new(),
                    interleave: Vec::new(),
                });
            }
            Kind::Message if open => {
                if let Some(call) = calls.last_mut() {
                    call.requests.push(statement.text.trim().to_string());
                }
            }
            Kind::Command(Command::Sleep(pause)) => {
                if let Some(call) = calls.last_mut().filter(|c| c.expect.is_none()) {
                    call.delay = Some(pause);
                }
                open = false;
            }
            Kind::Command(Command::Expect(Expectation::Header(name, value))) => {
                if let Some(call) = calls.last_mut() {
                    call.headers.push((name, value));
                }
                open = false;
            }
            Kind::Command(Command::Expect(Expectation::Trailer(name, value))) => {
                if let Some(call) = calls.last_mut() {
                    call.trailers.push((name, value));
                }
                open = false;
            }
            Kind::Command(Command::Interleave(before)) => {
                if let Some(call) = calls.last_mut() {
                    call.interleave = before;
                }
                open = false;
            }
            Kind::Command(Command::Pace(gaps)) => {
                if let Some(call) = calls.last_mut() {
                    call.pace = gaps;
                }
                open = false;
            }
            Kind::Command(Command::Expect(expectation)) => {
                // Read again without the stand-ins: a template is kept as written.
                let expectation = match command::parse(statement.text.trim()) {
                    Ok(Command::Expect(templated)) => templated,
                    _ => expectation,
                };
                if let Some(call) = calls.last_mut().filter(|c| c.expect.is_none()) {
                    call.expect = Some(expectation);
                }
                open = false;
            }
            _ => open = false,
        }
    }
    Ok(calls)
}

/// Splits and checks a script: every command parses, JSON messages follow a call, every
/// `${NAME}` is defined by an earlier `let`.
fn split(
    file: &str,
    text: &str,
    defined: &mut HashSet<String>,
) -> Result<Vec<Statement>, ScriptError> {
    let mut statements = Vec::new();
    let (mut pending, mut start, mut after_call) = (String::new(), 0, false);
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        if pending.is_empty() {
            let t = raw.trim();
            if t.is_empty() {
                if after_call {
                    statements.push(Statement {
                        file: file.into(),
                        line: number,
                        text: "end".into(),
                        kind: Kind::End,
                    });
                    after_call = false;
                }
                continue;
            }
            if t.starts_with('#') {
                continue;
            }
            start = number;
        } else {
            pending.push('\n');
        }
        pending.push_str(raw);
        if !command::is_complete(&pending) {
            continue;
        }
        let text = std::mem::take(&mut pending);
        let t = text.trim();
        let at = |message: String| ScriptError {
            file: file.to_string(),
            line: Some(start),
            message,
        };
        check_variables(t, defined).map_err(at)?;
        let kind = if t == "end" || t == ".end" {
            after_call = false;
            Kind::End
        } else if t.starts_with('{') || t.starts_with('[') || t.starts_with('"') {
            if !after_call {
                return Err(at("a JSON message with no stream call above it (name the method first: METHOD JSON)".into()));
            }
            Kind::Message
        } else {
            // Values of variables are known only when the script runs: check the shape with a stand-in.
            let stand_in = stand_in_variables(t);
            let cmd = command::parse(&stand_in).map_err(|e| at(e.0))?;
            if let Command::Let(name, _) = &cmd {
                defined.insert(name.clone());
            }
            after_call = matches!(cmd, Command::Call { .. });
            Kind::Command(cmd)
        };
        statements.push(Statement {
            file: file.into(),
            line: start,
            text,
            kind,
        });
    }
    if !pending.is_empty() {
        return Err(ScriptError {
            file: file.to_string(),
            line: Some(start),
            message: "unclosed { or [: the JSON starting here never ends".into(),
        });
    }
    Ok(statements)
}

fn check_variables(text: &str, defined: &HashSet<String>) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let end = after.find('}').ok_or("unclosed ${")?;
        let name = &after[..end];
        let request = name.starts_with(REQUEST) && defined.contains(REQUEST);
        if !name.starts_with("env:") && !request && !defined.contains(name) {
            return Err(format!(
                "undefined variable ${{{name}}}: no `let {name} = ...` above"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

fn stand_in_variables(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').unwrap_or(after.len().saturating_sub(1));
        out.push('0');
        rest = &after[(end + 1).min(after.len())..];
    }
    out + rest
}

/// Takes a leading `connect ADDR` off the statements: the address it names.
fn leading_connect(statements: &mut Vec<Statement>) -> Option<String> {
    match statements.first().map(|s| &s.kind) {
        Some(Kind::Command(Command::Connect(addr))) => {
            let addr = addr.clone();
            statements.remove(0);
            Some(addr)
        }
        _ => None,
    }
}

/// Whether the statement after `i` is an `expect error`: a call failing at `i` is what the
/// script wants.
fn next_expects_error(statements: &[Statement], i: usize) -> bool {
    matches!(
        statements.get(i + 1),
        Some(Statement {
            kind: Kind::Command(Command::Expect(Expectation::Error(..))),
            ..
        })
    )
}

/// Runs one statement in `shell`; false on `exit`.
async fn run_statement(shell: &mut Shell, st: &Statement) -> anyhow::Result<bool> {
    match st.kind {
        // A blank line or `end` outside a stream means nothing.
        Kind::End if !shell.in_stream() => Ok(true),
        _ => shell.run_line(&st.text).await,
    }
}

/// A script as `bench --script` runs it, over and over in many shells: its statements, where
/// a leading `connect` pointed, and its steps — each call with its streamed messages.
pub(crate) struct Scenario {
    statements: Vec<Statement>,
    pub connect: Option<String>,
    /// Per step, `file:line METHOD`.
    pub steps: Vec<String>,
    pub methods: Vec<String>,
}

/// How one step of a scenario went: it failed with this status, or as its `expect error`
/// wanted.
pub(crate) type StepOutcome = Result<(), tonic::Code>;

impl Scenario {
    /// Checks `text` whole, as `rpcsh run` does.
    pub(crate) fn parse(file: &str, text: &str) -> Result<Scenario, ScriptError> {
        let mut statements = split(file, text, &mut HashSet::new())?;
        let connect = leading_connect(&mut statements);
        let name = std::path::Path::new(file)
            .file_name()
            .map_or(file.into(), |n| n.to_string_lossy());
        let (mut steps, mut methods) = (Vec::new(), Vec::new());
        for st in &statements {
            if let Kind::Command(Command::Call { method, .. }) = &st.kind {
                steps.push(format!("{name}:{} {method}", st.line));
                if !methods.contains(method) {
                    methods.push(method.clone());
                }
            }
        }
        if steps.is_empty() {
            return Err(ScriptError {
                file: file.to_string(),
                line: None,
                message: "no calls: a scenario needs at least one METHOD line".into(),
            });
        }
        Ok(Scenario {
            statements,
            connect,
            steps,
            methods,
        })
    }

    /// Runs the script once in `shell`, telling `step` of each step it ends (its index, how long
    /// it took, how it went); the first failure ends the run, as `rpcsh run` stops at it, and
    /// a stream it left open is finished.
    pub(crate) async fn run_once(
        &self,
        shell: &mut Shell,
        step: impl FnMut(usize, std::time::Duration, StepOutcome),
    ) -> anyhow::Result<()> {
        let ran = self.statements_once(shell, step).await;
        let finished = shell.finish().await;
        ran.and(finished)
    }

    async fn statements_once(
        &self,
        shell: &mut Shell,
        mut step: impl FnMut(usize, std::time::Duration, StepOutcome),
    ) -> anyhow::Result<()> {
        // The step open: its index and start.
        let mut open: Option<(usize, tokio::time::Instant)> = None;
        let mut next_step = 0;
        for (i, st) in self.statements.iter().enumerate() {
            let part_of_step = matches!(st.kind, Kind::Message | Kind::End);
            let starts_step = matches!(st.kind, Kind::Command(Command::Call { .. }));
            if !part_of_step {
                if let Some((k, at)) = open.take() {
                    step(k, at.elapsed(), Ok(()));
                }
            }
            if starts_step {
                open = Some((next_step, tokio::time::Instant::now()));
                next_step += 1;
            }
            let error = match run_statement(shell, st).await {
                Ok(false) => break,
                Ok(true) => continue,
                Err(e) => e,
            };
            let expected = next_expects_error(&self.statements, i);
            let code = error.downcast_ref::<CallFailed>().map(|f| f.code);
            if let (Some(code), false) = (code, expected) {
                if let Some((k, at)) = open.take() {
                    step(k, at.elapsed(), Err(code));
                }
            }
            if !(expected && code.is_some()) {
                return Err(error.context(format!("{}:{}", st.file, st.line)));
            }
        }
        if let Some((k, at)) = open.take() {
            step(k, at.elapsed(), Ok(()));
        }
        Ok(())
    }
}

/// One `expect`'s result, for the report.
struct Case {
    name: String,
    failure: Option<String>,
}

/// Runs the scripts `(name, text)` in order in one session. Returns the exit code: 0 when
/// everything passed, 1 on a failure, `EXIT_SYNTAX`, `EXIT_CONNECT`.
pub async fn run(
    scripts: Vec<(String, String)>,
    mut conn: Connection,
    options: RunOptions,
) -> anyhow::Result<u8> {
    let mut statements = match statements(&scripts, options.addr_given) {
        Ok(statements) => statements,
        Err(e) => {
            eprintln!("rpcsh: error: {e}");
            eprintln!("  hint: nothing was sent: the whole script is checked first");
            return Ok(EXIT_SYNTAX);
        }
    };
    // A leading `connect ADDR` names the server, unless --addr did.
    if let (Some(addr), false) = (leading_connect(&mut statements), options.addr_given) {
        conn.addr = addr;
    }
    let mut shell = Shell::plain(conn);
    if let Err(e) = shell.connect().await {
        eprint!("{}", render(&e));
        return Ok(EXIT_CONNECT);
    }
    let mut steps = Steps::default();
    for (i, st) in statements.iter().enumerate() {
        let next_expects_error = next_expects_error(&statements, i);
        let is_expect = matches!(st.kind, Kind::Command(Command::Expect(_)));
        // Lines inside an open stream (its messages, `.end`, `.cancel`) belong to its call.
        match st.kind {
            Kind::Command(_) if is_expect => steps.bare = None,
            Kind::Command(_) if !shell.in_stream() => steps.count_bare(),
            _ => {}
        }
        let result = run_statement(&mut shell, st).await;
        let name = format!(
            "{}:{} {}",
            st.file,
            st.line,
            st.text.lines().next().unwrap_or_default()
        );
        if matches!(st.kind, Kind::Command(Command::Call { .. })) {
            steps.bare = Some(name.clone());
        }
        let failure = match result {
            Ok(false) => break, // exit
            Ok(true) => None,
            // The next line checks this error: it is what the script wants.
            Err(e) if next_expects_error && e.downcast_ref::<CallFailed>().is_some() => None,
            Err(e) => Some(e),
        };
        match failure {
            None if is_expect => steps.pass(name),
            None => {}
            Some(e) => {
                steps.fail(st, name, &e);
                if !options.keep_going {
                    break;
                }
            }
        }
    }
    if let Err(e) = shell.finish().await {
        steps.failed += 1;
        steps.bare = None;
        eprint!("{}", render(&e));
    }
    steps.count_bare();
    println!("{} passed, {} failed", steps.passed, steps.failed);
    if let Some(path) = &options.junit {
        std::fs::write(path, junit(&steps.cases, &scripts)).map_err(|e| {
            anyhow::anyhow!("cannot write the JUnit report {}: {e}", path.display())
        })?;
    }
    Ok(if steps.failed == 0 { 0 } else { 1 })
}

/// Every script's statements, checked before anything runs. With --addr, every script's
/// leading `connect` gives way to it, not only the first's (`rpcsh run examples/scripts/*.rpcsh
/// --addr ...`).
fn statements(
    scripts: &[(String, String)],
    addr_given: bool,
) -> Result<Vec<Statement>, ScriptError> {
    let mut statements = Vec::new();
    let mut defined = HashSet::new();
    for (i, (name, text)) in scripts.iter().enumerate() {
        let mut s = split(name, text, &mut defined)?;
        if addr_given && i > 0 {
            leading_connect(&mut s);
        }
        statements.extend(s);
    }
    Ok(statements)
}

/// The steps of a run as they pass or fail.
#[derive(Default)]
struct Steps {
    passed: usize,
    failed: usize,
    cases: Vec<Case>,
    /// A call no `expect` follows is a step of its own, passed when it succeeded (its stream's
    /// messages included): counted when the next command comes, or at the end.
    bare: Option<String>,
}

impl Steps {
    fn pass(&mut self, name: String) {
        self.passed += 1;
        self.cases.push(Case {
            name,
            failure: None,
        });
    }

    fn count_bare(&mut self) {
        if let Some(name) = self.bare.take() {
            self.pass(name);
        }
    }

    /// A failed step: said on stderr where it is, and kept for the JUnit report.
    fn fail(&mut self, st: &Statement, name: String, e: &anyhow::Error) {
        self.failed += 1;
        self.bare = None;
        let text = match e.downcast_ref::<ExpectFailed>() {
            Some(f) => format!(
                "{}:{}: expectation failed: {}\n",
                st.file,
                st.line,
                f.0.trim_end()
            ),
            None => format!("{}:{}: {}", st.file, st.line, render(e)),
        };
        match text.ends_with('\n') {
            true => eprint!("{text}"),
            false => eprintln!("{text}"),
        }
        self.cases.push(Case {
            name,
            failure: Some(text),
        });
    }
}

/// A JUnit XML report: one testcase per `expect` (and per failing command).
fn junit(cases: &[Case], scripts: &[(String, String)]) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let suite = scripts
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        escape(&suite),
        cases.len()
    );
    for case in cases {
        xml.push_str(&format!(
            "  <testcase classname=\"rpcsh\" name=\"{}\"",
            escape(&case.name)
        ));
        match &case.failure {
            None => xml.push_str("/>\n"),
            Some(f) => xml.push_str(&format!(
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                escape(f.lines().next().unwrap_or("")),
                escape(f)
            )),
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_syntax_errors_with_lines() {
        let script = "# greet\nconnect localhost:1\nGreeter/SayHello {\"name\": \"a\"}\nexpect {\"message\": \"hello a\"}\n\nRouteGuide/RecordRoute\n{\"latitude\": 1}\n{\n  \"latitude\": 2\n}\nend\nlet n = $.pointCount\nCal/Add {\"number1\": ${n}}\n";
        let st = split("s", script, &mut HashSet::new()).unwrap();
        let kinds: Vec<_> = st
            .iter()
            .map(|s| (s.line, matches!(s.kind, Kind::Message)))
            .collect();
        assert_eq!(
            kinds,
            [
                (2, false),
                (3, false),
                (4, false),
                (6, false),
                (7, true),
                (8, true),
                (11, false),
                (12, false),
                (13, false)
            ]
        );
        assert!(split("s", "lst\n", &mut HashSet::new())
            .unwrap_err()
            .to_string()
            .starts_with("s:1: unknown command \"lst\""));
        assert!(
            split("s", "Greeter/SayHello\nexpect {\n", &mut HashSet::new())
                .unwrap_err()
                .to_string()
                .starts_with("s:2: unclosed")
        );
        assert!(
            split("s", "Cal/Add {\"number1\": ${x}}\n", &mut HashSet::new())
                .unwrap_err()
                .to_string()
                .contains("s:1: undefined variable ${x}")
        );
        assert!(split("s", "{\"a\": 1}\n", &mut HashSet::new())
            .unwrap_err()
            .to_string()
            .contains("no stream call above"));
        assert!(split("s", "expect error NOPE\n", &mut HashSet::new())
            .unwrap_err()
            .to_string()
            .starts_with("s:1: expect error"));
    }

    #[test]
    fn junit_escapes() {
        let cases = vec![
            Case {
                name: "a<b".into(),
                failure: None,
            },
            Case {
                name: "c".into(),
                failure: Some("x & \"y\"".into()),
            },
        ];
        let xml = junit(&cases, &[("s".into(), String::new())]);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"a&lt;b\"/>"));
        assert!(xml.contains("<failure message=\"x &amp; &quot;y&quot;\">"));
    }
}
