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
#[derive(Debug)]
pub struct ServerStatus {
    pub code: tonic::Code,
    pub message: String,
    pub hint: Option<&'static str>,
}

impl ServerStatus {
    pub fn new(status: &tonic::Status) -> Self {
        ServerStatus {
            code: status.code(),
            message: status.message().to_string(),
            hint: status_hint(status),
        }
    }
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
    use crate::style::{paint, stderr, ERROR, HINT};
    let color = stderr();
    let cause = collapse_repeats(&chain(err));
    let cause = crate::style::printable(&cause);
    let mut text = format!("{} {cause}\n", paint(color, ERROR, "rpcsh: error:"));
    if let Some(hint) = hint(err) {
        let hint = crate::style::printable(&hint);
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

/// When tonic reports a broken connection as a status (`Unknown: transport error`), the root
/// cause of it: such a status is not the server's answer.
pub fn transport_cause(status: &tonic::Status) -> Option<String> {
    let source = std::error::Error::source(status)?;
    Some(root_cause(source))
}

/// A call that broke off (the connection lost, the stream reset by the server or a proxy) as
/// the status gRPC gives it: UNAVAILABLE for a lost connection, a reset by its HTTP/2 code as
/// grpc/grpc `doc/PROTOCOL-HTTP2.md` maps it. `None` for a status the server sent, and for a
/// failure that is more likely rpcsh's settings (TLS, a client certificate, rpcsh's header
/// limit), which `status_error` says with a hint. `first_exchange`: nothing came back yet.
pub fn broken(status: &tonic::Status, first_exchange: bool, tls: bool) -> Option<tonic::Status> {
    let source = std::error::Error::source(status)?;
    let cause = root_cause(source);
    // A connection made again for this call and refused: the server is down, not the call.
    let refused = matches!(
        io_kind(source),
        Some(std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound)
    );
    let h2 = std::iter::successors(Some(source), |e| e.source())
        .find_map(|e| e.downcast_ref::<h2::Error>());
    // h2 ends a call whose response headers pass rpcsh's limit with a protocol error of its
    // own; one the server sent is the server's.
    let over_limit = cause.contains("too_many_continuations")
        || (cause.contains("unspecific protocol error") && !h2.is_some_and(|e| e.is_remote()));
    let hinted = refused
        || over_limit
        || cause.contains("CertificateRequired")
        || (tls && first_exchange)
        || matches!(silence(source), Some(Silence::BeforeAnswer(_)));
    if hinted {
        return None;
    }
    // A reset or GOAWAY the server sent; an error h2 detected itself (a TLS server's bytes read
    // as HTTP/2 are a "frame with invalid size") is the server's only once it answered.
    let reason = h2
        .filter(|e| !e.is_io() && (e.is_remote() || !first_exchange))
        .and_then(|e| Some((e.reason()?, e.is_go_away())));
    match reason {
        Some((reason, go_away)) if !(go_away && reason == h2::Reason::NO_ERROR) => {
            Some(tonic::Status::new(
                code_of_reset(reason),
                format!("the server broke HTTP/2 on this call ({cause})"),
            ))
        }
        // A plaintext call whose connection closed before any answer: a TLS server, likely.
        _ if first_exchange => None,
        _ if matches!(silence(source), Some(Silence::AfterAnswer(_))) => {
            Some(tonic::Status::unavailable(cause))
        }
        _ => Some(tonic::Status::unavailable(format!(
            "the connection was lost: {cause}"
        ))),
    }
}

/// The code of a stream reset (RST_STREAM or GOAWAY) by its HTTP/2 error code.
fn code_of_reset(reason: h2::Reason) -> tonic::Code {
    use tonic::Code;
    match reason {
        h2::Reason::REFUSED_STREAM => Code::Unavailable,
        h2::Reason::CANCEL => Code::Cancelled,
        h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
        h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
        _ => Code::Internal,
    }
}

/// A failed status as an error of rpcsh's own: a call that broke off as `broken` says, the
/// root cause with a hint where rpcsh's settings are the likely reason, the server's status
/// otherwise (both exiting 64 + the code).
pub fn status_error(
    status: tonic::Status,
    doing: &str,
    first_exchange: bool,
    tls: bool,
) -> anyhow::Error {
    const CLIENT_CERT: &str = "a server that wants a client certificate closes the connection like this: pass it with --cert and --key";
    if let Some(broken) = broken(&status, first_exchange, tls) {
        return anyhow::Error::new(ServerStatus::new(&broken)).context(doing.to_string());
    }
    let silent = std::error::Error::source(&status).and_then(silence);
    match transport_cause(&status) {
        // rustls names the TLS alert when it arrives in time.
        Some(cause) if cause.contains("CertificateRequired") || (tls && first_exchange) => {
            Hint::new(
                format!("{doing}: the connection failed: {cause}"),
                CLIENT_CERT,
            )
            .into()
        }
        Some(cause) if matches!(silent, Some(Silence::BeforeAnswer(_))) => {
            anyhow::anyhow!("{doing}: {cause}")
        }
        // h2 names a header list over its limit only so: too long to be sent in the frames
        // allowed, or a stream error it does not say more of.
        Some(cause) if cause.contains("too_many_continuations") => Hint::new(
            format!("{doing}: the server sent response headers larger than rpcsh reads ({cause})"),
            HEADER_LIMIT,
        )
        .into(),
        Some(cause) if cause.contains("unspecific protocol error") => Hint::new(
            format!("{doing}: the server broke HTTP/2 on this call ({cause})"),
            format!("response headers over rpcsh's limit end a call like this: {HEADER_LIMIT}"),
        )
        .into(),
        Some(cause) if first_exchange => Hint::new(
            format!("{doing}: the connection failed: {cause}"),
            "a server that expects TLS closes plaintext connections like this: try --tls",
        )
        .into(),
        Some(cause) => anyhow::anyhow!("{doing}: the connection failed: {cause}"),
        None => anyhow::Error::new(ServerStatus::new(&status)).context(doing.to_string()),
    }
}

/// Advice for a status the server (or a proxy in front of it) ended a call with, where the
/// status alone leaves a user guessing.
pub fn status_hint(status: &tonic::Status) -> Option<&'static str> {
    if let Some(hint) = crate::sanitize::hint(status) {
        return Some(hint);
    }
    // grpc-java and grpc-go without zstd answer a zstd request so ("Can't find decompressor for
    // zstd", "grpc: Decompressor is not installed for grpc-encoding \"zstd\""); gRPC C-core
    // (grpcio, C++) INTERNAL "Error parsing 'grpc-encoding' metadata".
    let message = status.message().to_ascii_lowercase();
    let unsupported = message.contains("decompressor") || message.contains("compression");
    match status.code() {
        tonic::Code::Unimplemented if unsupported && message.contains("zstd") => {
            Some("the server does not take zstd: try --compress gzip")
        }
        tonic::Code::Unimplemented if unsupported && message.contains("gzip") => {
            Some("the server does not take gzip: send uncompressed (leave out --compress)")
        }
        tonic::Code::Internal if message.contains("'grpc-encoding'") => Some(
            "the server does not take the request's compression: try --compress gzip, or leave it out",
        ),
        _ => None,
    }
}

const HEADER_LIMIT: &str =
    "--max-header-size raises it (16 MiB by default), as in --max-header-size 64MiB";

/// A response over rpcsh's own `--max-msg-size`: tonic reports it as if the server had failed
/// the call (OUT_OF_RANGE); it is the client's limit, and the user's to raise.
pub fn client_limit(status: &tonic::Status) -> Option<anyhow::Error> {
    if status.code() != tonic::Code::OutOfRange {
        return None;
    }
    let found = status
        .message()
        .strip_prefix("Error, decoded message length too large: ")?;
    Some(
        Hint::new(
            format!("a response is larger than rpcsh's message limit ({found})"),
            "--max-msg-size BYTES raises the limit (4 MiB by default)",
        )
        .into(),
    )
}

/// Whether tonic made this status itself when the client's `--timeout` ran out.
pub fn is_client_deadline(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Cancelled && status.message() == "Timeout expired"
}

/// The status of a call that ran past `--timeout` on rpcsh's side.
pub fn timed_out() -> tonic::Status {
    tonic::Status::deadline_exceeded("the call did not finish within --timeout")
}

/// tonic reports a deadline it enforced itself as `Cancelled` (with the timer's error as its
/// source); to the user it is a deadline, and not a broken connection.
pub fn client_deadline(status: tonic::Status) -> tonic::Status {
    if is_client_deadline(&status) {
        timed_out()
    } else {
        status
    }
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
