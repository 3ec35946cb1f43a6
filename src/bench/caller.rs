//! How a bench worker reaches the server and makes one call: a raw HTTP/2 connection for
//! plaintext TCP, else a tonic channel or a Connect / gRPC-Web client; requests sent
//! pre-encoded, responses counted and not decoded (a stream's timed by its clock).
use super::stream::Clock;
use super::tally::Tally;
use crate::client::net::transport::{self, Target};
use crate::session::connection::Connection;
use anyhow::Context;
use bytes::{Buf, BufMut, Bytes};
use futures_util::StreamExt;
use prost_reflect::MethodDescriptor;
use std::sync::Mutex;
use std::time::Duration;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{client::Grpc, transport::Channel, Status};

/// Sends pre-encoded messages and counts responses without decoding them.
#[derive(Debug, Clone, Default)]
struct RawCodec;

struct RawEncoder;
struct CountingDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = CountingDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> CountingDecoder {
        CountingDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for CountingDecoder {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

/// How a worker reaches the server: a raw HTTP/2 connection for plaintext TCP (no tower buffer,
/// no reconnect logic between the workers and h2: they cost a task hop per request), else a
/// tonic channel (TLS, unix sockets).
#[derive(Clone)]
pub(super) enum Lane {
    Direct(hyper::client::conn::http2::SendRequest<tonic::body::Body>),
    Channel(Channel),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Request<tonic::body::Body>> for Lane {
    type Response = http::Response<tonic::body::Body>;
    type Error = BoxError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        match self {
            Lane::Direct(s) => s.poll_ready(cx).map_err(Into::into),
            Lane::Channel(c) => tower::Service::poll_ready(c, cx).map_err(Into::into),
        }
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        match self {
            Lane::Direct(s) => {
                let response = s.send_request(request);
                Box::pin(async move { Ok(response.await?.map(tonic::body::Body::new)) })
            }
            Lane::Channel(c) => {
                let response = tower::Service::call(c, request);
                Box::pin(async move { Ok(response.await?) })
            }
        }
    }
}

impl Lane {
    /// One more connection to `target`.
    pub(super) async fn open(target: &Target, conn: &Connection) -> anyhow::Result<Lane> {
        if target.tls || target.unix {
            return Ok(Lane::Channel(
                transport::connect(target, &conn.transport).await?,
            ));
        }
        let proxy = conn.transport.proxy_for(target)?;
        let tcp = transport::tcp(
            &target.address,
            proxy.as_ref(),
            conn.transport.connect_timeout,
        )
        .await
        .map_err(|e| transport::connect_error(&e, &target.address, target))?;
        // A dead link fails the calls on it (counted as errors) instead of holding them.
        let mut builder =
            hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
        if let Some(k) = conn.transport.keepalive {
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .keep_alive_interval(k)
                .keep_alive_timeout(k)
                .keep_alive_while_idle(true);
        }
        let io = transport::Watched::with(tcp, &conn.transport);
        let (sender, connection) = builder
            .handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .context("HTTP/2 handshake failed")?;
        tokio::spawn(connection);
        Ok(Lane::Direct(sender))
    }
}

/// One worker's way of making a call: tonic for streams and TLS, and for unary calls over a
/// direct connection a pre-framed request sent whole, as h2load does — no encoder, and no body
/// task in hyper (it spawns one for a streamed body, copying the future each time).
pub(super) struct Caller {
    pub(super) grpc: Grpc<crate::client::wire::sanitize::Sanitize<Lane>>,
    pub(super) link: Lane,
    pub(super) uri: http::Uri,
    pub(super) path: http::uri::PathAndQuery,
    pub(super) headers: http::HeaderMap,
    pub(super) metadata: tonic::metadata::MetadataMap,
    pub(super) unary: bool,
    pub(super) bidi: bool,
    /// Held streams: a bidi call's sending side stays open after its requests.
    pub(super) open: bool,
    /// Unary calls go over raw HTTP/2 (uncompressed requests only).
    pub(super) raw: bool,
    pub(super) timeout: Option<Duration>,
    pub(super) pacing: super::stream::Pacing,
    /// The framed request when it is the same every time.
    pub(super) fixed: Option<Bytes>,
}

/// A worker's caller: gRPC, or Connect and gRPC-Web through `web::Client`.
pub(super) enum Worker {
    Grpc(Box<Caller>),
    Web(Box<WebCaller>),
}

/// A Connect or gRPC-Web worker's client, method and call options, and its requests as
/// messages when they are the same for every call (decoded once, not per call).
pub(super) struct WebCaller {
    pub(super) client: std::sync::Arc<crate::client::net::web::Client>,
    pub(super) method: MethodDescriptor,
    pub(super) options: crate::client::wire::invoke::CallOptions,
    pub(super) fixed: Option<Vec<prost_reflect::DynamicMessage>>,
    pub(super) open: bool,
    pub(super) pacing: super::stream::Pacing,
}

pub(super) fn decode_all(
    method: &MethodDescriptor,
    requests: &[Bytes],
) -> Result<Vec<prost_reflect::DynamicMessage>, Status> {
    requests
        .iter()
        .map(|m| prost_reflect::DynamicMessage::decode(method.input(), &m[..]))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Status::invalid_argument(e.to_string()))
}

impl Worker {
    /// Sets metadata `key` to `value` for the calls that follow (a `-H` template's value).
    pub(super) fn set_metadata(&mut self, key: &str, value: &str) -> Result<(), Status> {
        use tonic::metadata::{MetadataKey, MetadataValue};
        let bad = || Status::invalid_argument(format!("-H {key}: {value:?} is not a header value"));
        let name = MetadataKey::from_bytes(key.as_bytes()).map_err(|_| bad())?;
        let v: MetadataValue<_> = value.parse().map_err(|_| bad())?;
        match self {
            Worker::Grpc(caller) => {
                let header = http::HeaderValue::from_str(value).map_err(|_| bad())?;
                caller.headers.insert(
                    http::HeaderName::from_bytes(key.as_bytes()).map_err(|_| bad())?,
                    header,
                );
                caller.metadata.insert(name, v);
            }
            Worker::Web(web) => {
                web.options.metadata.insert(name, v);
            }
        }
        Ok(())
    }

    /// Makes one call; a stream's messages are timed into the `clock` tally.
    pub(super) async fn call(
        &mut self,
        requests: &[Bytes],
        clock: Option<&Mutex<Tally>>,
    ) -> Result<u64, Status> {
        let web = match self {
            Worker::Grpc(caller) => return caller.call(requests, clock).await,
            Worker::Web(web) => web,
        };
        let messages = match &web.fixed {
            Some(messages) => messages.clone(),
            None => decode_all(&web.method, requests)?,
        };
        let bidi = web.method.is_client_streaming();
        let mut count = Count(0, clock.map(|t| Clock::start(t, bidi)));
        let open = web.open && bidi;
        let requests = match &count.1 {
            Some(clock) => clock.requests(web.pacing.stream(messages), open).boxed(),
            None => web.pacing.stream(messages),
        };
        match web
            .client
            .invoke(&web.method, requests, &web.options, &mut count)
            .await
        {
            Ok(()) => Ok(count.0),
            Err(crate::client::wire::invoke::CallError::Status(s)) => Err(s),
            Err(crate::client::wire::invoke::CallError::Handler(e)) => {
                Err(Status::internal(e.to_string()))
            }
        }
    }
}

/// Counts the responses of a Connect or gRPC-Web call, and times a stream's.
struct Count<'a>(u64, Option<Clock<'a>>);

impl crate::client::wire::invoke::Handler for Count<'_> {
    async fn on_message(&mut self, _: prost_reflect::DynamicMessage) -> anyhow::Result<()> {
        self.0 += 1;
        if let Some(clock) = &mut self.1 {
            clock.message();
        }
        Ok(())
    }
}

impl Caller {
    async fn call(
        &mut self,
        requests: &[Bytes],
        clock: Option<&Mutex<Tally>>,
    ) -> Result<u64, Status> {
        if let (true, Lane::Direct(sender)) = (self.raw, &mut self.link) {
            let frame = match &self.fixed {
                Some(frame) => frame.clone(),
                None => crate::client::wire::codec::envelope(
                    0,
                    requests.first().map_or(&[][..], |m| &m[..]),
                ),
            };
            let call = unary_raw(sender, &self.uri, &self.headers, frame);
            return match self.timeout {
                Some(t) => tokio::time::timeout(t, call)
                    .await
                    .unwrap_or_else(|_| Err(crate::client::wire::status::timed_out())),
                None => call.await,
            };
        }
        let timeout = self.timeout;
        let call = self.call_tonic(requests, clock);
        match timeout {
            // tonic stops enforcing its deadline once response headers came.
            Some(t) => tokio::time::timeout(t, call)
                .await
                .unwrap_or_else(|_| Err(crate::client::wire::status::timed_out())),
            None => call.await,
        }
    }

    /// A call through tonic, unary ones included: as a stream, whose messages are counted (one
    /// for a unary call, as on every other path; tonic's unary takes the first of two).
    async fn call_tonic(
        &mut self,
        requests: &[Bytes],
        tally: Option<&Mutex<Tally>>,
    ) -> Result<u64, Status> {
        let grpc = &mut self.grpc;
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(crate::sys::error::root_cause(&*e)))?;
        let mut clock = tally.map(|t| Clock::start(t, self.bidi));
        let requests = match &clock {
            Some(clock) => clock
                .requests(
                    self.pacing.stream(requests.to_vec()),
                    self.open && self.bidi,
                )
                .boxed(),
            None => self.pacing.stream(requests.to_vec()),
        };
        let mut request = tonic::Request::new(requests);
        *request.metadata_mut() = self.metadata.clone();
        if let Some(t) = self.timeout {
            request.set_timeout(t);
        }
        let mut stream = grpc
            .streaming(request, self.path.clone(), RawCodec)
            .await?
            .into_inner();
        let mut count = 0;
        while stream.message().await?.is_some() {
            count += 1;
            if let Some(clock) = &mut clock {
                clock.message();
            }
            if self.unary && count > 1 {
                return Err(crate::client::wire::invoke::second_message());
            }
        }
        if self.unary && count == 0 {
            return Err(crate::client::wire::invoke::no_message());
        }
        Ok(count)
    }
}

/// Counts the length-prefixed messages of a gRPC body as its data arrives, in pieces of any size.
#[derive(Default)]
struct Messages {
    count: u64,
    prefix: Vec<u8>,
    /// Bytes of the current message still to come.
    left: usize,
}

impl Messages {
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.left > 0 {
                let n = self.left.min(data.len());
                self.left -= n;
                data = &data[n..];
                continue;
            }
            let n = (5 - self.prefix.len()).min(data.len());
            self.prefix.extend_from_slice(&data[..n]);
            data = &data[n..];
            if let Ok(prefix) = <[u8; 5]>::try_from(self.prefix.as_slice()) {
                self.left =
                    u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
                self.count += 1;
                self.prefix.clear();
            }
        }
    }
}

/// A unary call on a raw HTTP/2 connection; the status comes from the headers (trailers-only)
/// or the trailers.
async fn unary_raw(
    sender: &mut hyper::client::conn::http2::SendRequest<tonic::body::Body>,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    frame: Bytes,
) -> Result<u64, Status> {
    use http_body_util::BodyExt;
    let unavailable = |e: hyper::Error| Status::unavailable(crate::sys::error::root_cause(&e));
    let body = tonic::body::Body::new(http_body_util::Full::new(frame));
    let mut request = http::Request::new(body);
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri.clone();
    *request.headers_mut() = headers.clone();
    futures_util::future::poll_fn(|cx| sender.poll_ready(cx))
        .await
        .map_err(unavailable)?;
    let mut response = sender.send_request(request).await.map_err(unavailable)?;
    if response.status() != http::StatusCode::OK && !response.headers().contains_key("grpc-status")
    {
        return Err(crate::client::wire::sanitize::not_grpc(
            response.status(),
            response.headers(),
            b"",
        ));
    }
    crate::client::wire::sanitize::headers(response.headers_mut());
    let mut status = Status::from_header_map(response.headers());
    // The reply's data is not kept: only how many messages it holds, its end and trailers.
    let mut body = response.into_body();
    let mut messages = Messages::default();
    while let Some(frame) = body.frame().await {
        match frame.map_err(unavailable)?.into_data() {
            Ok(data) => messages.feed(&data),
            Err(frame) => {
                if let Ok(mut trailers) = frame.into_trailers() {
                    crate::client::wire::sanitize::headers(&mut trailers);
                    status = status.or_else(|| Status::from_header_map(&trailers));
                }
            }
        }
    }
    match status {
        // One message, as the call's other paths require (`invoke`).
        Some(s) if s.code() == tonic::Code::Ok && messages.count == 0 => {
            Err(crate::client::wire::invoke::no_message())
        }
        Some(s) if s.code() == tonic::Code::Ok && messages.count > 1 => {
            Err(crate::client::wire::invoke::second_message())
        }
        Some(s) if s.code() == tonic::Code::Ok => Ok(1),
        Some(s) => Err(s),
        None => Err(Status::internal("the response ended without a grpc-status")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_are_counted_across_data_frames_of_any_size() {
        let mut body = Vec::new();
        for message in [&b""[..], b"abc", &[7u8; 300]] {
            body.push(0);
            body.extend_from_slice(&(message.len() as u32).to_be_bytes());
            body.extend_from_slice(message);
        }
        for piece in [1, 2, 5, 7, body.len()] {
            let mut messages = super::Messages::default();
            for chunk in body.chunks(piece) {
                messages.feed(chunk);
            }
            assert_eq!(messages.count, 3, "in pieces of {piece}");
        }
    }
}
