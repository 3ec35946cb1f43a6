//! Making a call: the same code drives unary, server-streaming, client-streaming and bidi
//! methods (gRPC frames them alike) and reports what happens — headers, each response message,
//! trailers — to a `Handler`. No printing here: the one-shot command, the REPL, scripts and
//! bench each bring their own handler.
use crate::client::wire::codec::DynamicCodec;
use crate::client::wire::sanitize::Sanitize;
use futures_util::{FutureExt, Stream};
use prost_reflect::{DynamicMessage, MethodDescriptor};
use std::time::Duration;
use tonic::codec::CompressionEncoding;
use tonic::{client::Grpc, metadata::MetadataMap, transport::Channel, Status};

/// Every response encoding rpcsh reads: grpcio compresses responses even unasked.
pub const ACCEPTED_ENCODINGS: [CompressionEncoding; 3] = [
    CompressionEncoding::Gzip,
    CompressionEncoding::Zstd,
    CompressionEncoding::Deflate,
];

/// `--compress`: how requests are compressed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
    Zstd,
    Deflate,
}

impl Compression {
    pub fn encoding(self) -> CompressionEncoding {
        match self {
            Compression::Gzip => CompressionEncoding::Gzip,
            Compression::Zstd => CompressionEncoding::Zstd,
            Compression::Deflate => CompressionEncoding::Deflate,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Deflate => "deflate",
        }
    }

    /// `gzip`, `zstd`, `deflate`; `off`/`none`/`identity` is no compression.
    pub fn parse(text: &str) -> Result<Option<Compression>, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "gzip" => Ok(Some(Compression::Gzip)),
            "zstd" => Ok(Some(Compression::Zstd)),
            "deflate" => Ok(Some(Compression::Deflate)),
            "off" | "none" | "identity" => Ok(None),
            other => Err(format!(
                "unknown compression {other:?}: gzip, zstd, deflate or off"
            )),
        }
    }
}

/// Per-call settings.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub metadata: MetadataMap,
    /// Sent as `grpc-timeout`: the server gives up, and so does the client, when it passes.
    pub timeout: Option<Duration>,
    pub max_message_size: Option<usize>,
    /// Compress request messages with this encoding.
    pub compress: Option<Compression>,
}

/// What a call reports as it goes.
#[allow(async_fn_in_trait)] // used with concrete types, never as `dyn`
pub trait Handler {
    fn on_headers(&mut self, _headers: &MetadataMap) {}
    /// A response message. An error stops the call (e.g. the output cannot be written). Async so
    /// that a handler may fetch descriptors (an `Any`'s type) before it prints.
    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()>;
    /// No response is ready right now: a chance to flush buffered output.
    fn on_idle(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    fn on_trailers(&mut self, _trailers: &MetadataMap) {}
}

/// How a call can end other than with OK.
#[derive(Debug)]
pub enum CallError {
    /// The server (or the transport, as gRPC reports it) ended the call with this status.
    Status(Status),
    /// The handler gave up.
    Handler(anyhow::Error),
}

/// The `:path` of a method: `/package.Service/Method`.
pub fn path(method: &MethodDescriptor) -> String {
    format!("/{}/{}", method.parent_service().full_name(), method.name())
}

/// A client for dynamic calls: the size limits, the encodings read, and the one requests use.
pub fn client(channel: Channel, options: &CallOptions) -> Grpc<Sanitize<Channel>> {
    let mut grpc = Grpc::new(Sanitize(channel));
    if let Some(limit) = options.max_message_size {
        grpc = grpc
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
    }
    for encoding in ACCEPTED_ENCODINGS {
        grpc = grpc.accept_compressed(encoding);
    }
    if let Some(c) = options.compress {
        grpc = grpc.send_compressed(c.encoding());
    }
    grpc
}

/// A second response message to a call that answers one: gRPC's cardinality rule broken by the
/// server, INTERNAL as grpc-go and tonic's own unary calls say.
pub fn second_message() -> Status {
    Status::internal("the server sent a second response message to a call that answers one")
}

/// A call that answers one message ended OK without it (the same rule).
pub fn no_message() -> Status {
    Status::internal("the server ended the call OK without its one response message")
}

/// Whether a failed status is the server's answer (its metadata are the response's headers or
/// trailers), not a broken connection or a deadline tonic enforced itself.
fn from_server(status: &Status) -> bool {
    crate::client::wire::status::transport_cause(status).is_none()
        && !crate::client::wire::status::is_client_deadline(status)
}

/// Calls `method` with `requests` (one message for unary and server-streaming methods) and
/// reports the responses to `handler`. A method that answers with one message (unary, client
/// streaming) reports it only once the call ended OK: gRPC has no response where the status
/// is an error, even when a server sent a message before it. Whatever the status, the headers
/// and trailers the server sent are reported.
pub async fn invoke(
    channel: Channel,
    method: &MethodDescriptor,
    requests: impl Stream<Item = DynamicMessage> + Send + 'static,
    options: &CallOptions,
    handler: &mut impl Handler,
) -> Result<(), CallError> {
    let mut grpc = client(channel, options);
    // tonic panics if a call starts before the channel is ready.
    grpc.ready()
        .await
        .map_err(|e| CallError::Status(Status::unavailable(crate::sys::error::root_cause(&e))))?;
    let path = http::uri::PathAndQuery::try_from(path(method))
        .map_err(|e| CallError::Status(Status::invalid_argument(e.to_string())))?;
    let mut request = tonic::Request::new(requests);
    *request.metadata_mut() = options.metadata.clone();
    if let Some(timeout) = options.timeout {
        request.set_timeout(timeout);
    }
    let response = match grpc
        .streaming(request, path, DynamicCodec::new(method.output()))
        .await
    {
        Ok(response) => response,
        Err(status) => {
            // A trailers-only answer: what the server sent came as headers.
            if from_server(&status) {
                handler.on_headers(&MetadataMap::new());
                handler.on_trailers(status.metadata());
            }
            return Err(CallError::Status(status));
        }
    };
    handler.on_headers(response.metadata());
    let mut stream = response.into_inner();
    let single = !method.is_server_streaming();
    let mut held: Option<DynamicMessage> = None;
    let ended = loop {
        let next = match stream.message().now_or_never() {
            Some(next) => next,
            None => {
                handler.on_idle().map_err(CallError::Handler)?;
                stream.message().await
            }
        };
        match next {
            Ok(Some(_)) if single && held.is_some() => break Err(second_message()),
            Ok(Some(message)) if single => held = Some(message),
            Ok(Some(message)) => handler
                .on_message(message)
                .await
                .map_err(CallError::Handler)?,
            Ok(None) => break Ok(()),
            Err(status) => break Err(status),
        }
    };
    if let Err(status) = ended {
        if from_server(&status) {
            handler.on_trailers(status.metadata());
        }
        return Err(CallError::Status(status));
    }
    let trailers = stream.trailers().await.map_err(CallError::Status)?;
    if single && held.is_none() {
        return Err(CallError::Status(no_message()));
    }
    if let Some(message) = held {
        handler
            .on_message(message)
            .await
            .map_err(CallError::Handler)?;
    }
    handler.on_idle().map_err(CallError::Handler)?;
    if let Some(trailers) = trailers {
        handler.on_trailers(&trailers);
    }
    Ok(())
}
