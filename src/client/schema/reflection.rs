//! A server-reflection client that speaks v1 and falls back to v1alpha. The two versions'
//! messages are wire-identical, so one set of types (v1's) is sent on either path. Requests go one
//! at a time over a stream kept open between them, reopened after an error answer (some servers
//! end the stream there).
use crate::client::net::web::Protocol;
use crate::client::wire::sanitize::Sanitize;
use crate::sys::error::Hint;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::{client::Grpc, metadata::MetadataMap, transport::Channel, Code, Streaming};
use tonic_reflection::pb::v1::{
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    ServerReflectionRequest, ServerReflectionResponse,
};

const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
/// How a request goes unanswered: the stream ended before its answer (asked again on a new
/// one), or the call failed with a status.
#[derive(Debug, Clone)]
enum Unanswered {
    Ended,
    Failed(tonic::Status),
}

impl From<tonic::Status> for Unanswered {
    fn from(status: tonic::Status) -> Self {
        Unanswered::Failed(status)
    }
}

/// Whether `answer` is a refusal of the service itself (no such version on the server).
fn unimplemented(answer: &Result<MessageResponse, Unanswered>) -> bool {
    matches!(answer, Err(Unanswered::Failed(s)) if s.code() == Code::Unimplemented)
}

type Codec = tonic_prost::ProstCodec<ServerReflectionRequest, ServerReflectionResponse>;

/// Which server reflection service to ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReflectVersion {
    /// v1, and v1alpha when the server has no v1.
    #[default]
    Auto,
    V1,
    V1alpha,
}

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
    grpc: Grpc<Sanitize<Channel>>,
    headers: MetadataMap,
    /// The path that answered; None until the first request.
    version: Option<&'static str>,
    /// `--reflect-version` chose the path: no fallback to the other.
    forced: bool,
    /// The path to try first when none is known or forced (v1 unless the server answered
    /// v1alpha last time).
    first: &'static str,
    stream: Option<(
        mpsc::UnboundedSender<ServerReflectionRequest>,
        Streaming<ServerReflectionResponse>,
    )>,
    tls: bool,
    /// The protocol of the session's calls: reflection itself always speaks gRPC.
    calls: Protocol,
    /// `--max-schema-size`: what the files received may take in memory before rpcsh stops
    /// asking for more.
    pub budget: usize,
}

impl Reflection {
    /// `tls`: whether the channel is TLS (a failed first exchange then says nothing of --tls).
    pub fn new(channel: Channel, headers: MetadataMap, max_message_size: usize, tls: bool) -> Self {
        let mut grpc = Grpc::new(Sanitize(channel))
            .max_decoding_message_size(max_message_size)
            .max_encoding_message_size(max_message_size);
        for encoding in crate::client::wire::invoke::ACCEPTED_ENCODINGS {
            grpc = grpc.accept_compressed(encoding);
        }
        Reflection {
            tls,
            grpc,
            headers,
            version: None,
            forced: false,
            first: V1,
            stream: None,
            calls: Protocol::Grpc,
            budget: crate::sys::util::DEFAULT_MAX_SCHEMA_SIZE,
        }
    }

    /// Reflection for a session whose calls speak `calls`: when its server has no gRPC
    /// reflection, the error says how to give the schema instead.
    pub fn for_protocol(mut self, calls: Protocol) -> Self {
        self.calls = calls;
        self
    }

    /// `--reflect-version`: ask this version only, rather than v1 then v1alpha.
    pub fn with_version(mut self, version: ReflectVersion) -> Self {
        self.version = match version {
            ReflectVersion::Auto => None,
            ReflectVersion::V1 => Some(V1),
            ReflectVersion::V1alpha => Some(V1ALPHA),
        };
        self.forced = self.version.is_some();
        self
    }

    /// A `--max-schema-size` other than the default.
    pub fn with_budget(mut self, budget: usize) -> Self {
        self.budget = budget;
        self
    }

    /// Another client of the same server and settings, on a stream of its own: for work in the
    /// background beside this one's.
    pub fn fresh(&self) -> Reflection {
        Reflection {
            grpc: self.grpc.clone(),
            headers: self.headers.clone(),
            version: self.version,
            forced: self.forced,
            first: self.first,
            stream: None,
            tls: self.tls,
            calls: self.calls,
            budget: self.budget,
        }
    }

    /// Tries `version` (`v1alpha` or `v1`, as the server answered last time) first, then the
    /// other, unless a version is forced or known.
    pub fn prefer(&mut self, version: Option<&str>) {
        self.first = match version {
            Some("v1alpha") => V1ALPHA,
            _ => V1,
        };
    }

    /// `v1` or `v1alpha`, once known.
    pub fn version(&self) -> Option<&'static str> {
        self.version.map(|p| if p == V1 { "v1" } else { "v1alpha" })
    }

    /// Sends one request and returns its answer; an error answer becomes an error.
    pub async fn ask(&mut self, request: MessageRequest) -> anyhow::Result<MessageResponse> {
        self.ask_all(vec![request])
            .await
            .pop()
            .expect("one answer per request")
    }

    /// Sends all `requests` at once on the stream and returns their answers in order: one round
    /// trip for the lot. Put the request most likely to fail last: some servers (tonic's) end
    /// the stream on an unknown name, and what was sent after it is asked again.
    pub async fn ask_all(
        &mut self,
        requests: Vec<MessageRequest>,
    ) -> Vec<anyhow::Result<MessageResponse>> {
        let mut answers = match self.version {
            Some(path) if self.forced => {
                let answers = self.exchange(path, &requests).await;
                if unimplemented(&answers[0]) {
                    let version = self.version().unwrap_or_default();
                    let other = if version == "v1" { "v1alpha" } else { "v1" };
                    let refused = || {
                        anyhow::Error::from(Hint::new(
                            format!("the server has no grpc.reflection.{version} service (--reflect-version {version})"),
                            format!("--reflect-version {other}, or auto to try both"),
                        ))
                    };
                    return requests.iter().map(|_| Err(refused())).collect();
                }
                answers
            }
            Some(path) => self.exchange(path, &requests).await,
            None => {
                let other = if self.first == V1 { V1ALPHA } else { V1 };
                let first = self.exchange(self.first, &requests).await;
                if unimplemented(&first[0]) {
                    self.stream = None;
                    let second = self.exchange(other, &requests).await;
                    if unimplemented(&second[0]) {
                        return requests
                            .iter()
                            .map(|_| Err(crate::sys::error::NoReflection.into()))
                            .collect();
                    }
                    self.version = Some(other);
                    second
                } else {
                    self.version = Some(self.first);
                    first
                }
            }
        };
        // Requests lost when the stream ended at an error status (tonic's answer to an unknown
        // name): again on a new stream, while each try gets at least one answer.
        loop {
            let lost: Vec<usize> = answers
                .iter()
                .enumerate()
                .filter(|(_, a)| matches!(a, Err(Unanswered::Ended)))
                .map(|(i, _)| i)
                .collect();
            if lost.is_empty() || lost.len() == requests.len() {
                break;
            }
            let path = self.version.expect("known after an answer");
            let again: Vec<MessageRequest> = lost.iter().map(|&i| requests[i].clone()).collect();
            let retried = self.exchange(path, &again).await;
            let progress = retried.iter().any(|a| !matches!(a, Err(Unanswered::Ended)));
            for (i, answer) in lost.into_iter().zip(retried) {
                answers[i] = answer;
            }
            if !progress {
                break;
            }
        }
        answers
            .into_iter()
            .map(|answer| match answer {
                Ok(MessageResponse::ErrorResponse(e)) => Err(Refused {
                    code: Code::from_i32(e.error_code),
                    message: e.error_message,
                }
                .into()),
                Ok(other) => Ok(other),
                Err(Unanswered::Failed(status)) => Err(self.failed(status)),
                Err(Unanswered::Ended) => Err(self.failed(tonic::Status::unavailable(
                    "the reflection stream ended without an answer",
                ))),
            })
            .collect()
    }

    /// A failed exchange as an error: tonic-reflection answers an unknown name with a NOT_FOUND
    /// status where others send an error answer; both are `Refused`.
    fn failed(&self, status: tonic::Status) -> anyhow::Error {
        if status.code() == Code::NotFound
            && crate::client::wire::status::transport_cause(&status).is_none()
        {
            return Refused {
                code: status.code(),
                message: status.message().to_string(),
            }
            .into();
        }
        if let Some(e) = crate::client::wire::status::client_limit(&status) {
            return e.context("reflection failed");
        }
        if self.calls != Protocol::Grpc {
            let cause = crate::client::wire::status::transport_cause(&status)
                .unwrap_or_else(|| format!("{:?}: {}", status.code(), status.message()));
            return Hint::new(
                format!("server reflection (asked over gRPC, HTTP/2) failed: {cause}"),
                format!(
                    "a {} server without gRPC reflection needs the schema: pass --proto FILE or --protoset FILE",
                    self.calls.name()
                ),
            )
            .into();
        }
        crate::client::wire::status::status_error(status, "reflection failed", true, self.tls)
    }

    /// Sends `requests` on the open stream (or a new one) and reads as many answers. After an
    /// error status the stream is dropped (it ended there); requests it did not answer get a
    /// `Unanswered::Ended`.
    async fn exchange(
        &mut self,
        path: &'static str,
        requests: &[MessageRequest],
    ) -> Vec<Result<MessageResponse, Unanswered>> {
        let messages = requests.iter().map(|r| ServerReflectionRequest {
            host: String::new(),
            message_request: Some(r.clone()),
        });
        let mut answers = Vec::with_capacity(requests.len());
        if let Err(unanswered) = self.send(path, messages).await {
            return requests.iter().map(|_| Err(unanswered.clone())).collect();
        }
        let (_, responses) = self.stream.as_mut().expect("opened by send");
        for _ in requests {
            let answer = match responses.message().await {
                Ok(Some(ServerReflectionResponse {
                    message_response: Some(r),
                    ..
                })) => Ok(r),
                Ok(_) => Err(Unanswered::Ended),
                Err(status) => Err(Unanswered::Failed(status)),
            };
            // An error answer leaves the stream open on most servers; an error status ends it.
            let ended = answer.is_err();
            answers.push(answer);
            if ended {
                self.stream = None;
                break;
            }
        }
        // Some servers end the stream after an error answer: the next batch opens a new one.
        if answers
            .iter()
            .any(|a| matches!(a, Ok(MessageResponse::ErrorResponse(_))))
        {
            self.stream = None;
        }
        while answers.len() < requests.len() {
            answers.push(Err(Unanswered::Ended));
        }
        answers
    }

    /// Queues `messages` on the stream, opening it first when there is none. Queued before the
    /// call starts: some servers send their response headers only with the first answer.
    async fn send(
        &mut self,
        path: &'static str,
        messages: impl ExactSizeIterator<Item = ServerReflectionRequest>,
    ) -> Result<(), Unanswered> {
        if let Some((tx, _)) = &self.stream {
            let mut sent = true;
            for m in messages {
                sent &= tx.send(m).is_ok();
            }
            if sent {
                return Ok(());
            }
            self.stream = None;
            return Err(Unanswered::Ended);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        for m in messages {
            tx.send(m).expect("the receiver is alive");
        }
        self.grpc
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(crate::sys::error::root_cause(&e)))?;
        let mut call = tonic::Request::new(UnboundedReceiverStream::new(rx));
        *call.metadata_mut() = self.headers.clone();
        let path = http::uri::PathAndQuery::from_static(path);
        let response = self.grpc.streaming(call, path, Codec::default()).await?;
        self.stream = Some((tx, response.into_inner()));
        Ok(())
    }
}
