//! Calling over Connect and gRPC-Web, the two HTTP protocols beside gRPC: their requests,
//! framing, compression and errors, over HTTP/1.1 or HTTP/2 (hyper's pooled client on our own
//! connections), reported to a `Handler` as a gRPC call is — the same headers, messages,
//! trailers and statuses — so that every front end calls all three alike.
use crate::error::Hint;
use crate::invoke::{CallError, CallOptions, Compression, Handler};
use crate::transport::{Target, TransportOptions};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
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

/// A connection's stream: TCP or a unix socket, maybe under TLS.
trait Stream2: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Stream2 for T {}

/// One connection, and whether TLS chose HTTP/2 for it.
pub struct Io {
    stream: Box<dyn Stream2>,
    h2: bool,
}

impl Connection for Io {
    fn connected(&self) -> Connected {
        match self.h2 {
            true => Connected::new().negotiated_h2(),
            false => Connected::new(),
        }
    }
}

impl tokio::io::AsyncRead for Io {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Io {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Opens connections for hyper's pool. The first one is opened by `Client::connect` (so that a
/// server that cannot be reached fails as it does with gRPC) and handed over here.
#[derive(Clone)]
struct Connector {
    target: Target,
    options: TransportOptions,
    tls: Option<(
        tokio_rustls::TlsConnector,
        tokio_rustls::rustls::pki_types::ServerName<'static>,
    )>,
    first: Arc<Mutex<Option<Io>>>,
}

impl Connector {
    async fn open(&self) -> std::io::Result<Io> {
        let connecting = async {
            let stream: Box<dyn Stream2> = if self.target.unix {
                let s = tokio::net::UnixStream::connect(&self.target.address).await?;
                Box::new(crate::transport::Watched::with(s, &self.options))
            } else {
                let s = crate::transport::tcp(&self.target.address).await?;
                Box::new(crate::transport::Watched::with(s, &self.options))
            };
            Ok::<_, std::io::Error>(stream)
        };
        let stream = match self.options.connect_timeout {
            Some(t) => tokio::time::timeout(t, connecting).await.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??,
            None => connecting.await?,
        };
        match &self.tls {
            None => Ok(Io { stream, h2: false }),
            Some((tls, name)) => {
                let stream = tls.connect(name.clone(), stream).await?;
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                Ok(Io {
                    stream: Box::new(stream),
                    h2,
                })
            }
        }
    }
}

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<Io>;
    type Error = std::io::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<TokioIo<Io>>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if let Some(io) = this.first.lock().unwrap().take() {
                return Ok(TokioIo::new(io));
            }
            this.open().await.map(TokioIo::new)
        })
    }
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
            true => Some(crate::transport::rustls_connector(target, options, alpn)?),
            false => None,
        };
        let mut options = options.clone();
        // HTTP/1.1 has no pings: a silent stream is not a dead link there.
        if !http2 {
            options.keepalive = None;
        }
        let connector = Connector {
            target: target.clone(),
            options: options.clone(),
            tls,
            first: Arc::default(),
        };
        crate::transport::warn_insecure(target, &options);
        let first = connector
            .open()
            .await
            .map_err(|e| crate::transport::connect_error(&e, &target.shown(), target))?;
        let h2 = http2 || first.h2;
        *connector.first.lock().unwrap() = Some(first);
        let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
        builder
            .http2_only(http2 && !target.tls)
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new());
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
        let agent = concat!("rpcsh/", env!("CARGO_PKG_VERSION"));
        Ok(Client {
            http: builder.build(connector),
            base: format!("{scheme}://{authority}"),
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

    fn encode(&self, message: &DynamicMessage) -> Bytes {
        match self.codec {
            Codec::Proto => prost::Message::encode_to_vec(message).into(),
            Codec::Json => serde_json::to_vec(message)
                .expect("a message serializes")
                .into(),
        }
    }

    fn decode(&self, desc: MessageDescriptor, bytes: Bytes) -> Result<DynamicMessage, Status> {
        let decoded = match self.codec {
            Codec::Proto => DynamicMessage::decode(desc, bytes).map_err(|e| e.to_string()),
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
                    crate::invoke::path(method),
                    self.protocol.name()
                ),
                "--http2 calls over HTTP/2 (h2c), if the server speaks it",
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
        let path = crate::invoke::path(method);
        let call = self.call(method, &path, requests, options, handler);
        match options.timeout {
            None => call.await,
            Some(t) => tokio::time::timeout(t, call).await.unwrap_or_else(|_| {
                Err(CallError::Status(Status::deadline_exceeded(
                    "the call did not finish within --timeout",
                )))
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
            .unwrap_or(crate::util::DEFAULT_MAX_MESSAGE_SIZE);
        let enveloped = self.protocol == Protocol::GrpcWeb
            || method.is_client_streaming()
            || method.is_server_streaming();
        let mut request = http::Request::post(format!("{}{path}", self.base))
            .header("content-type", self.content_type(enveloped))
            .header("user-agent", &self.user_agent);
        let headers = request.headers_mut().expect("a valid request");
        for (name, value) in options.metadata.clone().into_headers().iter() {
            headers.append(name, value.clone());
        }
        let compress = options.compress;
        let connect = self.protocol == Protocol::Connect;
        let (encoding, accept) = match (connect, enveloped) {
            (true, false) => ("content-encoding", "accept-encoding"),
            (true, true) => ("connect-content-encoding", "connect-accept-encoding"),
            (false, _) => ("grpc-encoding", "grpc-accept-encoding"),
        };
        headers.insert(accept, HeaderValue::from_static("gzip"));
        if let Some(c) = compress {
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
        let body: Body = if enveloped {
            let this = self.clone();
            StreamBody::new(requests.map(move |m| {
                let mut bytes = this.encode(&m);
                let mut flags = 0;
                if let Some(c) = compress {
                    bytes = compressed(c, &bytes);
                    flags = 1;
                }
                let mut frame = BytesMut::with_capacity(5 + bytes.len());
                frame.put_u8(flags);
                frame.put_u32(bytes.len() as u32);
                frame.put(bytes);
                Ok(Frame::data(frame.freeze()))
            }))
            .boxed_unsync()
        } else {
            let mut requests = std::pin::pin!(requests);
            let message = requests.next().await.ok_or_else(|| {
                CallError::Status(Status::invalid_argument("no request message to send"))
            })?;
            let mut bytes = self.encode(&message);
            if let Some(c) = compress {
                bytes = compressed(c, &bytes);
            }
            http_body_util::Full::new(bytes)
                .map_err(|never| match never {})
                .boxed_unsync()
        };
        let request = request.body(body).map_err(|e| {
            CallError::Status(Status::invalid_argument(format!("invalid request: {e}")))
        })?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| self.failed(e))?;
        let (parts, body) = response.into_parts();
        let mut body = Frames {
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
        if !connect && parts.headers.contains_key("grpc-status") {
            handler.on_headers(&MetadataMap::new());
            return ended(status_from_headers(parts.headers), handler);
        }
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
                1 => decompressed(response_encoding.as_deref(), payload)?,
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
                true => held = Some(message),
                false => handler
                    .on_message(message)
                    .await
                    .map_err(CallError::Handler)?,
            }
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
        let cause = crate::error::root_cause(&e);
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
        let bytes = decompressed(encoding, bytes)?;
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
        let bytes = decompressed(encoding, bytes).unwrap_or_default();
        let status = serde_json::from_slice::<ConnectError>(&bytes)
            .ok()
            .filter(|_| self.protocol == Protocol::Connect)
            .map(|e| e.status(trailers.clone()))
            .unwrap_or_else(|| {
                Status::with_metadata(
                    code_of_http(parts.status),
                    format!("the server answered HTTP {}", parts.status),
                    trailers.clone(),
                )
            });
        handler.on_trailers(&trailers);
        CallError::Status(status)
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
    fn too_large(&self, found: usize) -> CallError {
        // Worded as tonic's own, so that `error::client_limit` knows it for rpcsh's limit.
        CallError::Status(Status::out_of_range(format!(
            "Error, decoded message length too large: found {found} bytes, the limit is: {} bytes",
            self.limit
        )))
    }

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
                    return Err(self.too_large(len));
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
                return Err(self.too_large(self.buf.len()));
            }
        }
        Ok(std::mem::take(&mut self.buf).freeze())
    }
}

/// Headers, and the `trailer-*` headers of a Connect unary answer as trailers.
fn split_trailers(headers: &HeaderMap) -> (MetadataMap, MetadataMap) {
    let (mut plain, mut trailers) = (HeaderMap::new(), HeaderMap::new());
    for (name, value) in headers {
        match name.as_str().strip_prefix("trailer-") {
            Some(t) => {
                if let Ok(t) = http::HeaderName::try_from(t) {
                    trailers.append(t, value.clone());
                }
            }
            None => {
                plain.append(name, value.clone());
            }
        }
    }
    (
        MetadataMap::from_headers(plain),
        MetadataMap::from_headers(trailers),
    )
}

/// The `name: value` lines of a gRPC-Web trailers frame.
fn header_block(payload: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in String::from_utf8_lossy(payload).split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = http::HeaderName::try_from(name.trim().to_ascii_lowercase());
        let value = HeaderValue::try_from(value.trim());
        if let (Ok(name), Ok(value)) = (name, value) {
            map.append(name, value);
        }
    }
    map
}

/// A gRPC status from `grpc-status`, `grpc-message` (percent-encoded) and
/// `grpc-status-details-bin` (base64, padded or not); the rest is metadata.
fn status_from_headers(mut headers: HeaderMap) -> Status {
    let code = headers
        .remove("grpc-status")
        .and_then(|v| v.to_str().ok()?.trim().parse::<i32>().ok())
        .map_or(Code::Unknown, Code::from_i32);
    let message = headers
        .remove("grpc-message")
        .map(|v| {
            percent_encoding::percent_decode(v.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let details = headers
        .remove("grpc-status-details-bin")
        .and_then(|v| base64_any(v.as_bytes()))
        .unwrap_or_default();
    Status::with_details_and_metadata(
        code,
        message,
        details.into(),
        MetadataMap::from_headers(headers),
    )
}

/// Base64 with or without padding, in the standard or URL alphabet.
fn base64_any(text: &[u8]) -> Option<Vec<u8>> {
    use base64::{alphabet, engine, Engine};
    let config = engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(engine::DecodePaddingMode::Indifferent);
    engine::GeneralPurpose::new(&alphabet::STANDARD, config)
        .decode(text)
        .or_else(|_| engine::GeneralPurpose::new(&alphabet::URL_SAFE, config).decode(text))
        .ok()
}

/// The error body of Connect: `{"code": "not_found", "message": ..., "details": [...]}`.
#[derive(serde::Deserialize, Default)]
struct ConnectError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<ConnectDetail>,
}

#[derive(serde::Deserialize)]
struct ConnectDetail {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    value: String,
}

impl ConnectError {
    /// As a gRPC status, its details as a `google.rpc.Status` (what gRPC carries).
    fn status(self, metadata: MetadataMap) -> Status {
        let code = connect_code(&self.code);
        let details: Vec<prost_types::Any> = self
            .details
            .into_iter()
            .map(|d| prost_types::Any {
                type_url: match d.type_name.contains('/') {
                    true => d.type_name,
                    false => format!("type.googleapis.com/{}", d.type_name),
                },
                value: base64_any(d.value.as_bytes()).unwrap_or_default(),
            })
            .collect();
        let encoded = match details.is_empty() {
            true => Vec::new(),
            false => prost::Message::encode_to_vec(&tonic_types::Status {
                code: code as i32,
                message: self.message.clone(),
                details,
            }),
        };
        Status::with_details_and_metadata(code, self.message, encoded.into(), metadata)
    }
}

/// The end-of-stream message of a Connect stream: `{"error": {...}, "metadata": {...}}`.
fn end_of_stream(payload: &[u8]) -> Status {
    #[derive(serde::Deserialize)]
    struct End {
        error: Option<ConnectError>,
        #[serde(default)]
        metadata: std::collections::BTreeMap<String, Vec<String>>,
    }
    let end: End = match serde_json::from_slice(payload) {
        Ok(end) => end,
        Err(e) => return Status::internal(format!("bad end-of-stream message: {e}")),
    };
    let mut trailers = HeaderMap::new();
    for (name, values) in end.metadata {
        let Ok(name) = http::HeaderName::try_from(name) else {
            continue;
        };
        for value in values {
            if let Ok(value) = HeaderValue::try_from(value) {
                trailers.append(name.clone(), value);
            }
        }
    }
    let metadata = MetadataMap::from_headers(trailers);
    match end.error {
        Some(error) => error.status(metadata),
        None => Status::with_metadata(Code::Ok, "", metadata),
    }
}

/// Connect's names of the codes.
fn connect_code(name: &str) -> Code {
    match name {
        "canceled" | "cancelled" => Code::Cancelled,
        "invalid_argument" => Code::InvalidArgument,
        "deadline_exceeded" => Code::DeadlineExceeded,
        "not_found" => Code::NotFound,
        "already_exists" => Code::AlreadyExists,
        "permission_denied" => Code::PermissionDenied,
        "resource_exhausted" => Code::ResourceExhausted,
        "failed_precondition" => Code::FailedPrecondition,
        "aborted" => Code::Aborted,
        "out_of_range" => Code::OutOfRange,
        "unimplemented" => Code::Unimplemented,
        "internal" => Code::Internal,
        "unavailable" => Code::Unavailable,
        "data_loss" => Code::DataLoss,
        "unauthenticated" => Code::Unauthenticated,
        _ => Code::Unknown,
    }
}

/// The code an HTTP status stands for (gRPC's http-grpc-status-mapping, which Connect shares).
fn code_of_http(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

fn compressed(c: Compression, bytes: &[u8]) -> Bytes {
    let mut out = Vec::new();
    match c {
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
            e.write_all(bytes).and_then(|_| e.finish().map(drop))
        }
        Compression::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(&mut out, flate2::Compression::fast());
            e.write_all(bytes).and_then(|_| e.finish().map(drop))
        }
        Compression::Zstd => zstd::stream::copy_encode(bytes, &mut out, 0),
    }
    .expect("compressing into memory");
    out.into()
}

/// A payload in `encoding` (`identity` or none: as it is), up to the limit of its caller.
fn decompressed(encoding: Option<&str>, bytes: Bytes) -> Result<Bytes, CallError> {
    let mut out = Vec::new();
    let read = match encoding.unwrap_or("identity") {
        "identity" => return Ok(bytes),
        "gzip" => flate2::read::GzDecoder::new(bytes.reader()).read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(bytes.reader()).read_to_end(&mut out),
        "zstd" => zstd::stream::copy_decode(bytes.reader(), &mut out).map(|_| 0),
        other => {
            return Err(CallError::Status(Status::internal(format!(
                "the server used an encoding rpcsh does not read: {other}"
            ))))
        }
    };
    read.map_err(|e| {
        CallError::Status(Status::internal(format!(
            "cannot decompress the response: {e}"
        )))
    })?;
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_web_trailers_decode_percent_and_unpadded_details() {
        let block = b"grpc-status: 5\r\ngrpc-message: no%20such%20thing\r\ngrpc-status-details-bin: CAUSBG5vcGU\r\nx-extra: 1\r\n";
        let status = status_from_headers(header_block(block));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "no such thing");
        assert_eq!(&status.details()[..], b"\x08\x05\x12\x04nope");
        assert_eq!(status.metadata().get("x-extra").unwrap(), "1");
    }

    #[test]
    fn connect_errors_map_codes_and_details() {
        let body = br#"{"code":"not_found","message":"nope","details":[{"type":"grpc.testing.EchoStatus","value":"CAUSBG5vcGU"}]}"#;
        let status = serde_json::from_slice::<ConnectError>(body)
            .unwrap()
            .status(MetadataMap::new());
        assert_eq!(status.code(), Code::NotFound);
        let decoded: tonic_types::Status = prost::Message::decode(status.details()).unwrap();
        assert_eq!(
            decoded.details[0].type_url,
            "type.googleapis.com/grpc.testing.EchoStatus"
        );
        assert_eq!(decoded.details[0].value, b"\x08\x05\x12\x04nope");
        assert_eq!(code_of_http(StatusCode::NOT_FOUND), Code::Unimplemented);
        assert_eq!(end_of_stream(b"{}").code(), Code::Ok);
        assert_eq!(
            end_of_stream(br#"{"error":{"code":"canceled"},"metadata":{"x":["1","2"]}}"#).code(),
            Code::Cancelled
        );
    }
}
