//! How an error reaches the user: one `rpcsh: error:` line with the cause chain down to the root
//! cause, a hint where one helps, and the exit code. A call that the server failed with a status
//! is not rpcsh's error: it prints `ERROR: code = ...` and exits 64 + the status code, as grpcurl.
use std::{fmt, process::ExitCode};

/// Exit code for an error on rpcsh's side: cannot connect, bad JSON, unknown method, bad file.
pub const EXIT_ERROR: u8 = 1;
/// Exit code of a usage error (clap's).
pub const EXIT_USAGE: u8 = 2;
/// A call that ended with gRPC status `code` exits `EXIT_STATUS_BASE + code`.
pub const EXIT_STATUS_BASE: u8 = 64;

/// An error with advice for the user, printed as `  hint: ...` under the error line.
#[derive(Debug)]
pub struct Hint {
    message: String,
    hint: String,
}

impl Hint {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Hint {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hint {}

/// A call that the server ended with a non-OK status. Its rendering (with decoded details) is
/// done when the error is created, where the descriptors are at hand.
#[derive(Debug)]
pub struct CallFailed {
    pub code: tonic::Code,
    pub rendered: String,
}

impl fmt::Display for CallFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for CallFailed {}

/// A status a server (or a proxy in front of it) answered on the way to a call, in reflection
/// or a health check: said as rpcsh's error line, and exiting 64 + its code as a call does.
/// `client::wire::status` makes it from a `tonic::Status`, with its hint.
#[derive(Debug)]
pub struct ServerStatus {
    pub code: tonic::Code,
    pub message: String,
    pub hint: Option<&'static str>,
}

impl fmt::Display for ServerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ServerStatus {}

/// A server that answers neither version of server reflection: the schema must come from
/// files. Its hint says so, except where files were given (`check` says what it means there).
#[derive(Debug)]
pub struct NoReflection;

impl fmt::Display for NoReflection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the server does not support server reflection (v1 or v1alpha)")
    }
}

impl std::error::Error for NoReflection {}

/// What a process killed by SIGPIPE exits with: `rpcsh call ... | head` ends as `yes | head` does.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// Prints `err` to stderr and returns the exit code it maps to. A closed stdout (the reader of
/// a pipe went away) is not worth a message.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::from(EXIT_BROKEN_PIPE);
    }
    eprint!("{}", render(err));
    ExitCode::from(exit_code(err))
}

/// The text of an error as the user sees it: `rpcsh: error: ...` and a hint line, or a failed
/// call's status. Ends with a newline.
pub fn render(err: &anyhow::Error) -> String {
    if let Some(failed) = err.downcast_ref::<CallFailed>() {
        return failed.rendered.clone();
    }
    use crate::sys::style::{paint, stderr, ERROR, HINT};
    let color = stderr();
    let cause = collapse_repeats(&chain(err));
    let cause = crate::sys::style::printable(&cause);
    let mut text = format!("{} {cause}\n", paint(color, ERROR, "rpcsh: error:"));
    if let Some(hint) = hint(err) {
        let hint = crate::sys::style::printable(&hint);
        text.push_str(&format!("  {} {hint}\n", paint(color, HINT, "hint:")));
    }
    text
}

/// `text` with a part that repeats (a decoder's path through 100 nested messages: `A.b: A.b:
/// ...`) said once and counted: one line, not kilobytes of it.
fn collapse_repeats(text: &str) -> String {
    let parts: Vec<&str> = text.split(": ").collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let run = parts[i..].iter().take_while(|p| **p == parts[i]).count();
        match run {
            1 | 2 => out.push(parts[i..i + run].join(": ")),
            n => out.push(format!("{} ({n} times)", parts[i])),
        }
        i += run;
    }
    out.join(": ")
}

pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code `err` maps to.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(failed) = err.downcast_ref::<CallFailed>() {
        return EXIT_STATUS_BASE + failed.code as u8;
    }
    match err.chain().find_map(|e| e.downcast_ref::<ServerStatus>()) {
        Some(status) => EXIT_STATUS_BASE + status.code as u8,
        None => EXIT_ERROR,
    }
}

/// The cause chain on one line, without repeating a cause already contained in its parent.
fn chain(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn hint(err: &anyhow::Error) -> Option<String> {
    if let Some(h) = err.chain().find_map(|e| e.downcast_ref::<Hint>()) {
        return Some(h.hint.clone());
    }
    if let Some(hint) = err
        .chain()
        .find_map(|e| e.downcast_ref::<ServerStatus>()?.hint)
    {
        return Some(hint.into());
    }
    if err.chain().any(|e| e.is::<NoReflection>()) {
        return Some("describe its API with --proto FILE (and -I DIR) or --protoset FILE".into());
    }
    let io = err
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())?;
    match io.kind() {
        std::io::ErrorKind::AddrInUse => Some(
            "another program listens on that port: pick another with --listen, or port 0 for a free one".into(),
        ),
        _ => None,
    }
}

/// The innermost error of a `source()` chain, as text: transport errors wrap the useful part
/// (connection refused, certificate unknown) several layers deep.
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The kind of the first `io::Error` in a `source()` chain.
pub fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = e.source();
    }
    None
}

/// The message of an error without its `rpcsh: error:` dressing or hint: for one-line reports.
pub fn root_message(err: &anyhow::Error) -> String {
    match err.downcast_ref::<Hint>() {
        Some(h) => h.message.clone(),
        None => format!("{err:#}"),
    }
    .lines()
    .next()
    .unwrap_or_default()
    .to_string()
}

/// A server gone silent, as `transport` sees it: the `io::Error` it fails the read with holds
/// this, so what a silence means is found by type, not by its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// Accepted the connection and sent nothing for this long (`--connect-timeout`).
    BeforeAnswer(std::time::Duration),
    /// Answered once, then left a keepalive ping unanswered this long (`--keepalive`).
    AfterAnswer(std::time::Duration),
}

impl fmt::Display for Silence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Silence::BeforeAnswer(d) => write!(
                f,
                "the server accepted the connection but sent nothing in {} (a hung server, or a proxy in the way); --connect-timeout changes the wait",
                humantime::format_duration(*d)
            ),
            Silence::AfterAnswer(d) => write!(
                f,
                "connection lost: the server sent nothing for {}: no answer to a keepalive ping (a dead link, or a frozen server); --keepalive changes the wait",
                humantime::format_duration(*d)
            ),
        }
    }
}

impl std::error::Error for Silence {}

/// The silence that failed a connection, if that is what did.
pub fn silence(err: &(dyn std::error::Error + 'static)) -> Option<Silence> {
    std::iter::successors(Some(err), |e| e.source())
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .find_map(|io| io.get_ref()?.downcast_ref::<Silence>().copied())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_repeated_part_is_said_once_and_counted() {
        let path = "DescriptorProto.nested_type: ".repeat(100);
        assert_eq!(
            super::collapse_repeats(&format!("failed: {path}recursion limit reached")),
            "failed: DescriptorProto.nested_type (100 times): recursion limit reached"
        );
        assert_eq!(super::collapse_repeats("a: a: b"), "a: a: b");
    }
}
