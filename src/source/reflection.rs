//! A server-reflection client that speaks v1 and falls back to v1alpha. The two versions'
//! messages are wire-identical, so one set of types (v1's) is sent on either path. Requests go one
//! at a time over a stream kept open between them, reopened after an error answer (some servers
//! end the stream there).
use crate::error::Hint;
use anyhow::bail;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{client::Grpc, metadata::MetadataMap, transport::Channel, Code, Streaming};
use tonic_reflection::pb::v1::{
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    ServerReflectionRequest, ServerReflectionResponse,
};

const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

type Codec = tonic_prost::ProstCodec<ServerReflectionRequest, ServerReflectionResponse>;

/// An error answer of the reflection service (e.g. NOT_FOUND for an unknown symbol).
#[derive(Debug)]
pub struct Refused {
    pub code: Code,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.code)
    }
}

impl std::error::Error for Refused {}

pub struct Reflection {
    grpc: Grpc<Channel>,
    headers: MetadataMap,
    /// The path that answered; None until the first request.
    version: Option<&'static str>,
    stream: Option<(
        mpsc::Sender<ServerReflectionRequest>,
        Streaming<ServerReflectionResponse>,
    )>,
    tls: bool,
}

impl Reflection {
    /// `tls`: whether the channel is TLS (a failed first exchange then says nothing of --tls).
    pub fn new(channel: Channel, headers: MetadataMap, max_message_size: usize, tls: bool) -> Self {
        let mut grpc = Grpc::new(channel)
            .max_decoding_message_size(max_message_size)
            .max_encoding_message_size(max_message_size);
        for encoding in crate::invoke::ACCEPTED_ENCODINGS {
            grpc = grpc.accept_compressed(encoding);
        }
        Reflection {
            tls,
            grpc,
            headers,
            version: None,
            stream: None,
        }
    }

    /// `v1` or `v1alpha`, once known.
    pub fn version(&self) -> Option<&'static str> {
        self.version.map(|p| if p == V1 { "v1" } else { "v1alpha" })
    }

    /// Sends one request and returns its answer; an error answer becomes an error.
    pub async fn ask(&mut self, request: MessageRequest) -> anyhow::Result<MessageResponse> {
        let response = match self.version {
            Some(path) => self
                .exchange(path, request)
                .await
                .map_err(|s| self.failed(s))?,
            None => match self.exchange(V1, request.clone()).await {
                Err(status) if status.code() == Code::Unimplemented => {
                    self.stream = None;
                    match self.exchange(V1ALPHA, request).await {
                        Err(status) if status.code() == Code::Unimplemented => {
                            bail!(Hint::new(
                                "the server does not support server reflection (v1 or v1alpha)",
                                "describe its API with --proto FILE (and -I DIR) or --protoset FILE",
                            ))
                        }
                        other => {
                            self.version = Some(V1ALPHA);
                            other.map_err(|s| self.failed(s))?
                        }
                    }
                }
                other => {
                    self.version = Some(V1);
                    other.map_err(|s| self.failed(s))?
                }
            },
        };
        match response {
            MessageResponse::ErrorResponse(e) => {
                self.stream = None;
                Err(Refused {
                    code: Code::from_i32(e.error_code),
                    message: e.error_message,
                }
                .into())
            }
            other => Ok(other),
        }
    }

    /// A failed exchange as an error: tonic-reflection answers an unknown name with a NOT_FOUND
    /// status where others send an error answer; both are `Refused`.
    fn failed(&self, status: tonic::Status) -> anyhow::Error {
        if status.code() == Code::NotFound && crate::error::transport_cause(&status).is_none() {
            return Refused {
                code: status.code(),
                message: status.message().to_string(),
            }
            .into();
        }
        crate::error::status_error(status, "reflection failed", true, self.tls)
    }

    async fn exchange(
        &mut self,
        path: &'static str,
        request: MessageRequest,
    ) -> Result<MessageResponse, tonic::Status> {
        let message = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        };
        let sent = match &self.stream {
            Some((tx, _)) => tx.send(message.clone()).await.is_ok(),
            None => false,
        };
        if !sent {
            // Queue the request before the call starts: some servers send their response
            // headers only with the first answer.
            let (tx, rx) = mpsc::channel(1);
            tx.send(message).await.expect("the receiver is alive");
            self.grpc
                .ready()
                .await
                .map_err(|e| tonic::Status::unavailable(crate::error::root_cause(&e)))?;
            let mut call = tonic::Request::new(ReceiverStream::new(rx));
            *call.metadata_mut() = self.headers.clone();
            let path = http::uri::PathAndQuery::from_static(path);
            let response = self.grpc.streaming(call, path, Codec::default()).await?;
            self.stream = Some((tx, response.into_inner()));
        }
        let (_, responses) = self.stream.as_mut().expect("opened above");
        match responses.message().await {
            Ok(Some(ServerReflectionResponse {
                message_response: Some(r),
                ..
            })) => Ok(r),
            Ok(_) => {
                self.stream = None;
                Err(tonic::Status::unavailable(
                    "the reflection stream ended without an answer",
                ))
            }
            Err(status) => {
                self.stream = None;
                Err(status)
            }
        }
    }
}
