//! Calling over Connect and gRPC-Web, the two HTTP protocols beside gRPC: their requests,
//! framing, compression and errors, over HTTP/1.1 or HTTP/2 (hyper's pooled client on our own
//! connections), reported to a `Handler` as a gRPC call is — the same headers, messages,
//! trailers and statuses — so that every front end calls all three alike.
mod connector;
mod wire;
pub(crate) use wire::decompressed;

use connector::Connector;
use wire::{
    compressed, end_of_stream, header_block, split_trailers, status_from_headers, too_large,
    ConnectError,
};

use crate::client::net::transport::{Target, TransportOptions};
use crate::client::wire::invoke::{CallError, CallOptions, Handler};
use crate::sys::error::Hint;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor};
use std::sync::Arc;
use tonic::{metadata::MetadataMap, Code, Status};

/// `--protocol`: how calls travel.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    #[default]
    Grpc,
    #[value(alias = "grpcweb")]
    #[serde(alias = "grpcweb")]
    GrpcWeb,
    Connect,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "gRPC",
            Protocol::GrpcWeb => "gRPC-Web",
            Protocol::Connect => "Connect",
        }
    }
}

/// `--codec`: how Connect and gRPC-Web messages are encoded.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    #[default]
    Proto,
    Json,
}

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A Connect or gRPC-Web client of one server.
#[derive(Clone)]
pub struct Client {
    http: hyper_util::client::legacy::Client<Connector, Body>,
    base: String,
    protocol: Protocol,
    codec: Codec,
    /// Whether calls go over HTTP/2 (prior knowledge, or chosen by ALPN).
    h2: bool,
    user_agent: String,
}

impl Client {
    /// Connects to `target` at once, failing as a gRPC connection does when it cannot.
    /// Plaintext speaks HTTP/1.1 unless `http2` (prior-knowledge h2c); over TLS, ALPN decides
    /// (`http2` offers only h2).
    pub async fn connect(
        target: &Target,
        options: &TransportOptions,
        protocol: Protocol,
        codec: Codec,
        http2: bool,
    ) -> anyhow::Result<Client> {
        let alpn: Vec<Vec<u8>> = match http2 {
            true => vec![b"h2".to_vec()],
            false => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        let tls = match target.tls {
            true => Some(crate::client::net::transport::rustls_connector(
                target, options, alpn,
            )?),
            false => None,
        };
        // HTTP/1.1 has no pings: a silent stream is not a dead link there. (Over TLS, an h2
        // connection ALPN chose is still pinged by hyper, below.)
        let mut watched = options.clone();
        if !http2 {
            watched.keepalive = None;
        }
        let connector = Connector {
            target: target.clone(),
            options: watched,
            tls,
            first: Arc::default(),
            proxy: options.proxy_for(target)?,
        };
        let first = connector.open().await.map_err(|e| {
            crate::client::net::transport::connect_error(&e, &target.shown(), target)
        })?;
        let h2 = http2 || first.h2;
        *connector.first.lock().unwrap() = Some(first);
        let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
        builder
            .http2_only(http2 && !target.tls)
            .http2_max_header_list_size(options.header_limit())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new());
        if !h2 {
            // Servers close idle HTTP/1.1 connections (Node.js after 5 s): one reused just as
            // the server closes it fails the call. Idle ones are given up first.
            builder.pool_idle_timeout(std::time::Duration::from_secs(4));
        }
        if let Some(k) = options.keepalive {
            builder
                .http2_keep_alive_interval(k)
                .http2_keep_alive_timeout(k)
                .http2_keep_alive_while_idle(true);
        }
        let scheme = if target.tls { "https" } else { "http" };
        let authority = options
            .authority
            .clone()
            .unwrap_or_else(|| match target.unix {
                true => "localhost".into(),
                false => target.address.clone(),
            });
        let agent = crate::client::net::transport::AGENT;
        Ok(Client {
            http: builder.build(connector),
            base: format!("{scheme}://{authority}{}", target.prefix),
            protocol,
            codec,
            h2,
            user_agent: match &options.user_agent {
                Some(ua) => format!("{ua} {agent}"),
                None => agent.to_string(),
            },
        })
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// `Connect over HTTP/1.1 (application/proto)`, for `-v`.
    pub fn describe(&self) -> String {
        let version = if self.h2 { "HTTP/2" } else { "HTTP/1.1" };
        format!(
            "{} over {version} ({})",
            self.protocol.name(),
            self.content_type(false)
        )
    }

    fn content_type(&self, streaming: bool) -> &'static str {
        match (self.protocol, self.codec, streaming) {
            (Protocol::Connect, Codec::Proto, false) => "application/proto",
            (Protocol::Connect, Codec::Json, false) => "application/json",
            (Protocol::Connect, Codec::Proto, true) => "application/connect+proto",
            (Protocol::Connect, Codec::Json, true) => "application/connect+json",
            (_, Codec::Proto, _) => "application/grpc-web+proto",
            (_, Codec::Json, _) => "application/grpc-web+json",
        }
    }

    fn decode(&self, desc: MessageDescriptor, bytes: Bytes) -> Result<DynamicMessage, Status> {
        let decoded = match self.codec {
            Codec::Proto => {
                crate::client::wire::codec::decode(&desc, bytes).map_err(|e| e.to_string())
            }
            Codec::Json => {
                let mut de = serde_json::Deserializer::from_slice(&bytes);
                DynamicMessage::deserialize(desc, &mut de).map_err(|e| e.to_string())
            }
        };
        decoded.map_err(|e| Status::internal(format!("cannot decode the response: {e}")))
    }

    /// Why this client cannot call `method`: a bidi stream over HTTP/1.1.
    pub fn refuses(&self, method: &MethodDescriptor) -> Option<anyhow::Error> {
        if !(method.is_client_streaming() && method.is_server_streaming()) || self.h2 {
            return None;
        }
        Some(
            Hint::new(
                format!(
                    "{} is a bidirectional stream, which {} cannot carry over HTTP/1.1; nothing was sent",
                    crate::client::wire::invoke::path(method),
                    self.protocol.name()
                ),
                "--http2 (in the shell: set http2 on) calls over HTTP/2 (h2c), if the server speaks it",
            )
            .into(),
        )
    }

    /// Calls `method` as `invoke::invoke` does for gRPC.
    pub async fn invoke(
        &self,
        method: &MethodDescriptor,
        requests: impl Stream<Item = DynamicMessage> + Send + 'static,
        options: &CallOptions,
        handler: &mut impl Handler,
    ) -> Result<(), CallError> {
        if let Some(refused) = self.refuses(method) {
            return Err(CallError::Handler(refused));
        }
        let path = crate::client::wire::invoke::path(method);
        let call = self.call(method, &path, requests, options, handler);
        match options.timeout {
            None => call.await,
            Some(t) => tokio::time::timeout(t, call).await.unwrap_or_else(|_| {
                Err(CallError::Status(crate::client::wire::status::timed_out()))
            }),
        }
    }

    async fn call(
        &self,
        method: &MethodDescriptor,
        path: &str,
        requests: impl Stream<Item = DynamicMessage> + Send + 'static,
        options: &CallOptions,
        handler: &mut impl Handler,
    ) -> Result<(), CallError> {
        let limit = options
            .max_message_size
            .unwrap_or(crate::sys::util::DEFAULT_MAX_MESSAGE_SIZE);
        let enveloped = self.protocol == Protocol::GrpcWeb
            || method.is_client_streaming()
            || method.is_server_streaming();
        let mut request = http::Request::post(format!("{}{path}", self.base))
            .header("content-type", self.content_type(enveloped))
            .header("user-agent", &self.user_agent);
        let headers = request.headers_mut().expect("a valid request");
        self.request_headers(headers, options, enveloped);
        let body = self
            .request_body(requests, enveloped, options.compress)
            .await?;
        let request = request.body(body).map_err(|e| {
            CallError::Status(Status::invalid_argument(format!("invalid request: {e}")))
        })?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| self.failed(e))?;
        let (parts, body) = response.into_parts();
        let body = Frames {
            body,
            buf: BytesMut::new(),
            trailers: None,
            ended: false,
            limit,
        };
        if parts.status != StatusCode::OK {
            return Err(self.http_error(parts, body, handler).await);
        }
        self.check_content_type(&parts.headers, enveloped)?;
        if !enveloped {
            return self.unary(parts, body, method, handler).await;
        }
        // A gRPC-Web answer with no message may carry its status in the headers.
        if self.protocol != Protocol::Connect && parts.headers.contains_key("grpc-status") {
            handler.on_headers(&MetadataMap::new());
            return ended(status_from_headers(parts.headers), handler);
        }
        self.streamed(parts, body, method, handler).await
    }

    /// The headers of a request: the call's metadata, the encodings, the protocol's own.
    fn request_headers(
        &self,
        headers: &mut http::HeaderMap,
        options: &CallOptions,
        enveloped: bool,
    ) {
        for (name, value) in options.metadata.clone().into_headers().iter() {
            headers.append(name, value.clone());
        }
        let connect = self.protocol == Protocol::Connect;
        let (encoding, accept) = match (connect, enveloped) {
            (true, false) => ("content-encoding", "accept-encoding"),
            (true, true) => ("connect-content-encoding", "connect-accept-encoding"),
            (false, _) => ("grpc-encoding", "grpc-accept-encoding"),
        };
        headers.insert(accept, HeaderValue::from_static("gzip"));
        if let Some(c) = options.compress {
            headers.insert(encoding, HeaderValue::from_static(c.name()));
        }
        match self.protocol {
            Protocol::Connect => {
                headers.insert("connect-protocol-version", HeaderValue::from_static("1"));
                if let Some(t) = options.timeout {
                    headers.insert("connect-timeout-ms", (t.as_millis().max(1) as u64).into());
                }
            }
            _ => {
                headers.insert("x-grpc-web", HeaderValue::from_static("1"));
                if let Some(t) = options.timeout {
                    let value = format!("{}m", t.as_millis().max(1));
                    headers.insert("grpc-timeout", HeaderValue::try_from(value).expect("ascii"));
                }
            }
        }
    }

    /// The body of a request: enveloped messages as they come, or a unary call's one message.
    async fn request_body(
        &self,
        requests: impl Stream<Item = DynamicMessage> + Send + 'static,
        enveloped: bool,
        compress: Option<crate::client::wire::invoke::Compression>,
    ) -> Result<Body, CallError> {
        if enveloped {
            let codec = self.codec;
            return Ok(StreamBody::new(requests.map(move |m| {
                let mut bytes = encode(codec, &m)?;
                let mut flags = 0;
                if let Some(c) = compress {
                    bytes = compressed(c, &bytes);
                    flags = 1;
                }
                Ok(Frame::data(crate::client::wire::codec::envelope(
                    flags, &bytes,
                )))
            }))
            .boxed_unsync());
        }
        let mut requests = std::pin::pin!(requests);
        let message = requests.next().await.ok_or_else(|| {
            CallError::Status(Status::invalid_argument("no request message to send"))
        })?;
        let mut bytes = encode(self.codec, &message)
            .map_err(|e| CallError::Status(Status::invalid_argument(e.to_string())))?;
        if let Some(c) = compress {
            bytes = compressed(c, &bytes);
        }
        Ok(http_body_util::Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync())
    }

    /// An enveloped answer: its messages as they come (a unary-answer method's held until its
    /// OK status), then the status from trailers or the end-of-stream message.
    async fn streamed(
        &self,
        parts: http::response::Parts,
        mut body: Frames,
        method: &MethodDescriptor,
        handler: &mut impl Handler,
    ) -> Result<(), CallError> {
        let connect = self.protocol == Protocol::Connect;
        let response_encoding = parts
            .headers
            .get(match connect {
                true => "connect-content-encoding",
                false => "grpc-encoding",
            })
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        handler.on_headers(&MetadataMap::from_headers(parts.headers));
        let single = !method.is_server_streaming();
        let mut held = None;
        let status = loop {
            let Some((flags, payload)) = body.next(handler).await? else {
                break match body.trailers.take() {
                    Some(trailers) if !connect => status_from_headers(trailers),
                    _ => Status::internal(format!(
                        "the server ended the response without {}",
                        match connect {
                            true => "an end-of-stream message",
                            false => "a status",
                        }
                    )),
                };
            };
            let payload = match flags & 1 {
                1 => decompressed(response_encoding.as_deref(), payload, body.limit)?,
                _ => payload,
            };
            if flags & 0x80 != 0 && !connect {
                break status_from_headers(header_block(&payload));
            }
            if flags & 0x02 != 0 && connect {
                break end_of_stream(&payload);
            }
            let message = self
                .decode(method.output(), payload)
                .map_err(CallError::Status)?;
            match single {
                true if held.is_some() => break crate::client::wire::invoke::second_message(),
                true => held = Some(message),
                false => handler
                    .on_message(message)
                    .await
                    .map_err(CallError::Handler)?,
            }
        };
        let status = match (single, &held) {
            (true, None) if status.code() == Code::Ok => crate::client::wire::invoke::no_message(),
            _ => status,
        };
        if status.code() == Code::Ok {
            if let Some(message) = held {
                handler
                    .on_message(message)
                    .await
                    .map_err(CallError::Handler)?;
            }
            handler.on_idle().map_err(CallError::Handler)?;
        }
        ended(status, handler)
    }

    /// A request that got no answer. An HTTP/2-only server (as Node's h2c) answers HTTP/1.1
    /// with bytes hyper cannot parse.
    fn failed(&self, e: hyper_util::client::legacy::Error) -> CallError {
        let cause = crate::sys::error::root_cause(&e);
        if !self.h2 && cause.contains("invalid HTTP version") {
            return CallError::Handler(
                Hint::new(
                    format!("the server did not answer in HTTP/1.1 ({cause})"),
                    "it may speak only HTTP/2: add --http2",
                )
                .into(),
            );
        }
        CallError::Status(Status::from_error(Box::new(e)))
    }

    /// A server that answers in another protocol (a gRPC server asked in Connect answers 200
    /// with an empty body) must not pass for an empty answer.
    fn check_content_type(&self, headers: &HeaderMap, enveloped: bool) -> Result<(), CallError> {
        let expected = self.content_type(enveloped);
        let got = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let family = match self.protocol {
            Protocol::Connect => expected.split(';').next().unwrap_or(expected),
            _ => "application/grpc-web",
        };
        if got.starts_with(family) {
            return Ok(());
        }
        Err(CallError::Handler(
            Hint::new(
                format!(
                    "the server answered with content-type {got:?}, not {expected:?}: it does not seem to speak {}",
                    self.protocol.name()
                ),
                "try another --protocol (grpc, grpc-web or connect)",
            )
            .into(),
        ))
    }

    /// A Connect unary answer: the message as the body, trailers as `trailer-*` headers, an error
    /// as a JSON body with an HTTP status to match.
    async fn unary(
        &self,
        parts: http::response::Parts,
        mut body: Frames,
        method: &MethodDescriptor,
        handler: &mut impl Handler,
    ) -> Result<(), CallError> {
        let (headers, trailers) = split_trailers(&parts.headers);
        handler.on_headers(&headers);
        let bytes = body.all().await?;
        let encoding = parts
            .headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok());
        let bytes = decompressed(encoding, bytes, body.limit)?;
        let message = self
            .decode(method.output(), bytes)
            .map_err(CallError::Status)?;
        handler
            .on_message(message)
            .await
            .map_err(CallError::Handler)?;
        handler.on_idle().map_err(CallError::Handler)?;
        handler.on_trailers(&trailers);
        Ok(())
    }

    /// An answer with an HTTP error status: a Connect error body when there is one, else the
    /// code gRPC infers from the HTTP status (a bare 404 is an unknown service: UNIMPLEMENTED).
    async fn http_error(
        &self,
        parts: http::response::Parts,
        mut body: Frames,
        handler: &mut impl Handler,
    ) -> CallError {
        let (headers, trailers) = split_trailers(&parts.headers);
        handler.on_headers(&headers);
        let bytes = match body.all().await {
            Ok(bytes) => bytes,
            Err(e) => return e,
        };
        let encoding = parts
            .headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok());
        let bytes = decompressed(encoding, bytes, body.limit).unwrap_or_default();
        let status = serde_json::from_slice::<ConnectError>(&bytes)
            .ok()
            .filter(|_| self.protocol == Protocol::Connect)
            .map(|e| e.status(trailers.clone()));
        let status = match status {
            Some(status) => {
                handler.on_trailers(&trailers);
                status
            }
            None if self.protocol != Protocol::Connect
                && parts.headers.contains_key("grpc-status") =>
            {
                let status = status_from_headers(parts.headers);
                handler.on_trailers(status.metadata());
                status
            }
            None => {
                let status =
                    crate::client::wire::sanitize::not_grpc(parts.status, &parts.headers, &bytes);
                handler.on_trailers(status.metadata());
                status
            }
        };
        CallError::Status(status)
    }
}

/// A request message in `codec`. JSON fails only where the schema lacks a type the message
/// refers to (an `Any`'s).
fn encode(codec: Codec, message: &DynamicMessage) -> std::io::Result<Bytes> {
    match codec {
        Codec::Proto => Ok(prost::Message::encode_to_vec(message).into()),
        Codec::Json => serde_json::to_vec(message)
            .map(Bytes::from)
            .map_err(std::io::Error::other),
    }
}

/// Reports the trailers of a call that ended with `status`, and how it ended.
fn ended(status: Status, handler: &mut impl Handler) -> Result<(), CallError> {
    handler.on_trailers(status.metadata());
    match status.code() {
        Code::Ok => Ok(()),
        _ => Err(CallError::Status(status)),
    }
}

/// The response body, read as envelopes: a flags byte, a 4-byte length, the payload.
struct Frames {
    body: Incoming,
    buf: BytesMut,
    /// HTTP trailers, when the server sent some (HTTP/2).
    trailers: Option<HeaderMap>,
    ended: bool,
    limit: usize,
}

impl Frames {
    /// Reads more of the body; false at its end. Flushes the handler's output before waiting.
    async fn fill(
        &mut self,
        mut idle: impl FnMut() -> anyhow::Result<()>,
    ) -> Result<bool, CallError> {
        if self.ended {
            return Ok(false);
        }
        let next = match self.body.frame().now_or_never() {
            Some(next) => next,
            None => {
                idle().map_err(CallError::Handler)?;
                self.body.frame().await
            }
        };
        match next {
            None => self.ended = true,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => self.buf.extend_from_slice(&data),
                Err(frame) => self.trailers = frame.into_trailers().ok(),
            },
            Some(Err(e)) => return Err(CallError::Status(Status::from_error(Box::new(e)))),
        }
        Ok(true)
    }

    /// The next envelope, or None at the end of the body.
    async fn next(&mut self, handler: &mut impl Handler) -> Result<Option<(u8, Bytes)>, CallError> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes(self.buf[1..5].try_into().expect("4 bytes")) as usize;
                if len > self.limit {
                    return Err(too_large(len, self.limit));
                }
                if self.buf.len() >= 5 + len {
                    let flags = self.buf[0];
                    self.buf.advance(5);
                    return Ok(Some((flags, self.buf.split_to(len).freeze())));
                }
            }
            if !self.fill(|| handler.on_idle()).await? {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(CallError::Status(Status::internal(
                    "the response ended in the middle of a message",
                )));
            }
        }
    }

    /// The whole body (a Connect unary answer).
    async fn all(&mut self) -> Result<Bytes, CallError> {
        while self.fill(|| Ok(())).await? {
            if self.buf.len() > self.limit {
                return Err(too_large(self.buf.len(), self.limit));
            }
        }
        Ok(std::mem::take(&mut self.buf).freeze())
    }
}
