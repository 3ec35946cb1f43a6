//! Making a call: the same code drives unary, server-streaming, client-streaming and bidi
//! methods (gRPC frames them alike) and reports what happens — headers, each response message,
//! trailers — to a `Handler`. No printing here: the one-shot command, the REPL, scripts and
//! bench each bring their own handler.
use crate::codec::DynamicCodec;
use futures_util::{FutureExt, Stream};
use prost_reflect::{DynamicMessage, MethodDescriptor};
use std::time::Duration;
use tonic::{client::Grpc, metadata::MetadataMap, transport::Channel, Status};

/// Per-call settings.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub metadata: MetadataMap,
    /// Sent as `grpc-timeout`: the server gives up, and so does the client, when it passes.
    pub timeout: Option<Duration>,
    pub max_message_size: Option<usize>,
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

/// Calls `method` with `requests` (one message for unary and server-streaming methods) and
/// reports the responses to `handler`.
pub async fn invoke(
    channel: Channel,
    method: &MethodDescriptor,
    requests: impl Stream<Item = DynamicMessage> + Send + 'static,
    options: &CallOptions,
    handler: &mut impl Handler,
) -> Result<(), CallError> {
    let mut grpc = Grpc::new(channel);
    if let Some(limit) = options.max_message_size {
        grpc = grpc
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
    }
    // tonic panics if a call starts before the channel is ready.
    grpc.ready()
        .await
        .map_err(|e| CallError::Status(Status::unavailable(crate::error::root_cause(&e))))?;
    let path = http::uri::PathAndQuery::try_from(path(method))
        .map_err(|e| CallError::Status(Status::invalid_argument(e.to_string())))?;
    let mut request = tonic::Request::new(requests);
    *request.metadata_mut() = options.metadata.clone();
    if let Some(timeout) = options.timeout {
        request.set_timeout(timeout);
    }
    let response = grpc
        .streaming(request, path, DynamicCodec::new(method.output()))
        .await
        .map_err(CallError::Status)?;
    handler.on_headers(response.metadata());
    let mut stream = response.into_inner();
    loop {
        let next = match stream.message().now_or_never() {
            Some(next) => next,
            None => {
                handler.on_idle().map_err(CallError::Handler)?;
                stream.message().await
            }
        };
        match next.map_err(CallError::Status)? {
            Some(message) => handler
                .on_message(message)
                .await
                .map_err(CallError::Handler)?,
            None => break,
        }
    }
    handler.on_idle().map_err(CallError::Handler)?;
    if let Some(trailers) = stream.trailers().await.map_err(CallError::Status)? {
        handler.on_trailers(&trailers);
    }
    Ok(())
}
