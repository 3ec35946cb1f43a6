//! What a failed status means for the user, one mapping for every caller: a call broken off (a
//! lost connection, a reset) as the status gRPC gives it, rpcsh's own limits and deadlines told
//! apart from the server's answer, and the hint a status alone leaves a user guessing.
use crate::sys::error::{io_kind, root_cause, silence, Hint, ServerStatus, Silence};

impl ServerStatus {
    pub fn new(status: &tonic::Status) -> Self {
        ServerStatus {
            code: status.code(),
            message: status.message().to_string(),
            hint: status_hint(status),
        }
    }
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
    if let Some(hint) = super::sanitize::hint(status) {
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
