//! `rpcsh proxy --listen ADDR --to ADDR`: a gRPC proxy in front of a real client's server. Each
//! call passes through unchanged — headers, every DATA frame as it comes, trailers, resets — over
//! one connection to the upstream (`Upstream`), while a tap copies its
//! messages to a printer that decodes them with the upstream's schema and says each call as it
//! happens. What the tap cannot read is shown as bytes; it never holds the call back.
use crate::connection::Connection;
use crate::source::Schema;
use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame};
use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::mpsc;

/// Largest message the tap decodes: past it, the message is forwarded and shown by its size.
const TAP_LIMIT: usize = 16 << 20;

/// What the tap saw of a call, in order.
enum Event {
    Start {
        call: u64,
        path: String,
        encoding: Option<String>,
    },
    Message {
        call: u64,
        request: bool,
        compressed: bool,
        bytes: Bytes,
    },
    /// A message past the tap's limit: forwarded, not decoded.
    TooBig {
        call: u64,
        request: bool,
        len: usize,
    },
    ResponseEncoding {
        call: u64,
        encoding: Option<String>,
    },
    End {
        call: u64,
        status: Option<tonic::Status>,
    },
}

/// Runs the proxy until Ctrl-C or SIGTERM.
pub async fn run(listen: &str, upstream: Connection, jsonl: bool) -> anyhow::Result<()> {
    let conn = upstream.resolved();
    let target = crate::transport::Target::parse(&conn.addr, &conn.transport)?;
    let channel = Upstream::open(&target, &conn.transport).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    println!(
        "proxying {} -> {}",
        listener.local_addr()?,
        crate::style::printable(&conn.addr)
    );
    let (events, rx) = mpsc::unbounded_channel();
    let schema = conn.open(false).await.map(|s| s.schema);
    let printer = tokio::spawn(print(rx, schema.ok(), jsonl));
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1));
    let serving = async {
        loop {
            let (socket, _) = listener.accept().await?;
            let _ = socket.set_nodelay(true);
            let (channel, events, next) = (channel.clone(), events.clone(), next.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let call = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    forward(channel.clone(), events.clone(), call, request)
                });
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                // A client that breaks the connection ends its own calls, never the proxy.
                let _ = builder
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                    .await;
            });
        }
        #[allow(unreachable_code)]
        Ok::<(), anyhow::Error>(())
    };
    tokio::select! {
        r = serving => r?,
        _ = crate::signals::interrupted(true) => {}
    }
    drop(events);
    printer.abort();
    Ok(())
}

/// One call: the client's request sent upstream as it is (its body tapped), and the upstream's
/// response handed back as it is (tapped too).
async fn forward(
    channel: Upstream,
    events: mpsc::UnboundedSender<Event>,
    call: u64,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<tonic::body::Body>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let encoding = header(&parts.headers, "grpc-encoding");
    let _ = events.send(Event::Start {
        call,
        path: parts.uri.path().to_string(),
        encoding,
    });
    let tapped = Tap::new(body, events.clone(), call, true);
    let request = http::Request::from_parts(parts, tonic::body::Body::new(tapped));
    // Dropped before the upstream answered: the client went away, the call is cancelled.
    let waiting = Unanswered(Some((events.clone(), call)));
    let answered = channel.send(request).await;
    drop(waiting.disarm());
    match answered {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let _ = events.send(Event::ResponseEncoding {
                call,
                encoding: header(&parts.headers, "grpc-encoding"),
            });
            // Trailers-only: the status is in the headers.
            let status = tonic::Status::from_header_map(&parts.headers);
            let trailers_only = status.is_some();
            if let Some(status) = status {
                let _ = events.send(Event::End {
                    call,
                    status: Some(status),
                });
            }
            let mut tapped = Tap::new(body, events, call, false);
            tapped.ended = trailers_only;
            Ok(http::Response::from_parts(
                parts,
                tonic::body::Body::new(tapped),
            ))
        }
        Err(e) => {
            // The upstream cannot be reached: the client gets UNAVAILABLE, as from a server.
            let status =
                tonic::Status::unavailable(format!("rpcsh proxy: the upstream failed: {}", e));
            let _ = events.send(Event::End {
                call,
                status: Some(status.clone()),
            });
            Ok(status.into_http())
        }
    }
}

/// The upstream: for plaintext TCP one HTTP/2 connection driven by hyper directly (no tower
/// buffer between the calls and h2: it costs a task hop a call, as `rpcsh bench` found), made
/// again when it broke; otherwise (TLS, unix sockets) a tonic channel.
#[derive(Clone)]
enum Upstream {
    Direct {
        target: crate::transport::Target,
        options: crate::transport::TransportOptions,
        sender: std::sync::Arc<
            tokio::sync::Mutex<Option<hyper::client::conn::http2::SendRequest<tonic::body::Body>>>,
        >,
    },
    Channel(tonic::transport::Channel),
}

impl Upstream {
    async fn open(
        target: &crate::transport::Target,
        options: &crate::transport::TransportOptions,
    ) -> anyhow::Result<Upstream> {
        if target.tls || target.unix {
            return Ok(Upstream::Channel(
                crate::transport::connect(target, options).await?,
            ));
        }
        let upstream = Upstream::Direct {
            target: target.clone(),
            options: options.clone(),
            sender: Default::default(),
        };
        upstream.sender().await.map_err(anyhow::Error::msg)?;
        Ok(upstream)
    }

    /// The open connection's sender, or a new connection's.
    async fn sender(
        &self,
    ) -> Result<hyper::client::conn::http2::SendRequest<tonic::body::Body>, String> {
        let Upstream::Direct {
            target,
            options,
            sender,
        } = self
        else {
            unreachable!("only direct upstreams have a sender");
        };
        let mut held = sender.lock().await;
        if let Some(s) = held.as_ref().filter(|s| !s.is_closed()) {
            return Ok(s.clone());
        }
        let proxy = options.proxy_for(target).map_err(|e| e.to_string())?;
        let tcp = crate::transport::tcp(&target.address, proxy.as_ref(), options.connect_timeout)
            .await
            .map_err(|e| {
                format!(
                    "cannot connect to {}: {}",
                    target.address,
                    crate::error::root_cause(&e)
                )
            })?;
        let io = crate::transport::Watched::with(tcp, options);
        let mut builder =
            hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder.max_header_list_size(options.header_limit());
        let (s, connection) = builder
            .handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| format!("HTTP/2 handshake failed: {}", crate::error::root_cause(&e)))?;
        tokio::spawn(connection);
        *held = Some(s.clone());
        Ok(s)
    }

    async fn send(
        &self,
        request: http::Request<tonic::body::Body>,
    ) -> Result<http::Response<tonic::body::Body>, String> {
        use tower::Service;
        match self {
            Upstream::Channel(channel) => {
                let mut channel = channel.clone();
                futures_util::future::poll_fn(|cx| channel.poll_ready(cx))
                    .await
                    .map_err(|e| crate::error::root_cause(&e))?;
                channel
                    .call(request)
                    .await
                    .map_err(|e| crate::error::root_cause(&e))
            }
            Upstream::Direct { target, .. } => {
                let mut request = request;
                let path = request
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                *request.uri_mut() = format!("http://{}{path}", target.address)
                    .parse()
                    .map_err(|e| format!("{e}"))?;
                let mut sender = self.sender().await?;
                futures_util::future::poll_fn(|cx| sender.poll_ready(cx))
                    .await
                    .map_err(|e| crate::error::root_cause(&e))?;
                let response = sender
                    .send_request(request)
                    .await
                    .map_err(|e| crate::error::root_cause(&e))?;
                Ok(response.map(tonic::body::Body::new))
            }
        }
    }
}

/// Says a call cancelled when dropped armed: its client went away before any answer.
struct Unanswered(Option<(mpsc::UnboundedSender<Event>, u64)>);

impl Unanswered {
    fn disarm(mut self) -> Self {
        self.0 = None;
        self
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some((events, call)) = self.0.take() {
            let _ = events.send(Event::End {
                call,
                status: Some(tonic::Status::cancelled("the client cancelled the call")),
            });
        }
    }
}

fn header(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

/// A body passed through frame by frame, whose gRPC messages are copied to the printer.
struct Tap<B> {
    inner: B,
    events: mpsc::UnboundedSender<Event>,
    call: u64,
    request: bool,
    pending: BytesMut,
    /// Bytes of an over-limit message still to skip.
    skipping: usize,
    /// Whether the call's end was told (a response's trailers, or its error).
    ended: bool,
}

/// A response body dropped before its end: the client went away (or reset the call), which
/// cancels it upstream too.
impl<B> Drop for Tap<B> {
    fn drop(&mut self) {
        if !self.request && !self.ended {
            let _ = self.events.send(Event::End {
                call: self.call,
                status: Some(tonic::Status::cancelled("the client cancelled the call")),
            });
        }
    }
}

impl<B> Tap<B> {
    fn new(inner: B, events: mpsc::UnboundedSender<Event>, call: u64, request: bool) -> Self {
        Tap {
            inner,
            events,
            call,
            request,
            pending: BytesMut::new(),
            skipping: 0,
            ended: false,
        }
    }

    fn feed(&mut self, mut data: Bytes) {
        let skip = self.skipping.min(data.len());
        self.skipping -= skip;
        data.advance(skip);
        self.pending.extend_from_slice(&data);
        while self.pending.len() >= 5 {
            let len = u32::from_be_bytes([
                self.pending[1],
                self.pending[2],
                self.pending[3],
                self.pending[4],
            ]) as usize;
            let (call, request) = (self.call, self.request);
            if len > TAP_LIMIT {
                let _ = self.events.send(Event::TooBig { call, request, len });
                let held = self.pending.len() - 5;
                self.skipping = len.saturating_sub(held);
                self.pending.clear();
                continue;
            }
            if self.pending.len() < 5 + len {
                break;
            }
            let compressed = self.pending[0] & 1 == 1;
            let mut message = self.pending.split_to(5 + len);
            message.advance(5);
            let bytes = message.freeze();
            let _ = self.events.send(Event::Message {
                call,
                request,
                compressed,
                bytes,
            });
        }
    }
}

impl<B> Body for Tap<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let frame = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                let status = tonic::Status::from_error(e);
                if !self.request {
                    self.ended = true;
                    let _ = self.events.send(Event::End {
                        call: self.call,
                        status: Some(status.clone()),
                    });
                }
                return Poll::Ready(Some(Err(status)));
            }
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            let data = data.clone();
            self.feed(data);
        } else if let Some(trailers) = frame.trailers_ref() {
            if !self.request {
                self.ended = true;
                let _ = self.events.send(Event::End {
                    call: self.call,
                    status: tonic::Status::from_header_map(trailers),
                });
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// What the printer knows of a call in flight.
struct Seen {
    path: String,
    method: Option<prost_reflect::MethodDescriptor>,
    request_encoding: Option<String>,
    response_encoding: Option<String>,
    started: Instant,
}

/// Prints each event as it comes, decoding messages with the upstream's schema.
async fn print(
    mut events: mpsc::UnboundedReceiver<Event>,
    mut schema: Option<Schema>,
    jsonl: bool,
) {
    use std::io::Write;
    let mut calls: HashMap<u64, Seen> = HashMap::new();
    let mut methods: HashMap<String, Option<prost_reflect::MethodDescriptor>> = HashMap::new();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let style = crate::format::Style {
        format: crate::format::Format::Jsonl,
        emit_defaults: false,
        proto_names: false,
        color: false,
    };
    while let Some(event) = events.recv().await {
        let line = match event {
            Event::Start {
                call,
                path,
                encoding,
            } => {
                let method = match (methods.get(&path), &mut schema) {
                    (Some(known), _) => known.clone(),
                    (None, Some(schema)) => {
                        let method = schema.resolve_method(&path).await.ok();
                        methods.insert(path.clone(), method.clone());
                        method
                    }
                    (None, None) => None,
                };
                let line = event_line(jsonl, call, "call", &path, None);
                calls.insert(
                    call,
                    Seen {
                        path,
                        method,
                        request_encoding: encoding,
                        response_encoding: None,
                        started: Instant::now(),
                    },
                );
                line
            }
            Event::ResponseEncoding { call, encoding } => {
                if let Some(seen) = calls.get_mut(&call) {
                    seen.response_encoding = encoding;
                }
                continue;
            }
            Event::Message {
                call,
                request,
                compressed,
                bytes,
            } => {
                let Some(seen) = calls.get(&call) else {
                    continue;
                };
                // A client's own reflection (grpcurl's, ours) is said by its call and end.
                if seen.path.starts_with("/grpc.reflection.") {
                    continue;
                }
                let encoding = match request {
                    true => &seen.request_encoding,
                    false => &seen.response_encoding,
                };
                let shown = decode(
                    seen,
                    request,
                    compressed,
                    encoding.as_deref(),
                    bytes,
                    &style,
                );
                let kind = if request { "request" } else { "response" };
                event_line(jsonl, call, kind, &seen.path, Some(shown))
            }
            Event::TooBig { call, request, len } => {
                let kind = if request { "request" } else { "response" };
                let path = calls.get(&call).map(|s| s.path.clone()).unwrap_or_default();
                let shown = Shown::Note(format!("a message of {len} bytes, forwarded, not shown"));
                event_line(jsonl, call, kind, &path, Some(shown))
            }
            Event::End { call, status } => {
                let Some(seen) = calls.remove(&call) else {
                    continue;
                };
                let took = seen.started.elapsed();
                let code = status.as_ref().map_or(tonic::Code::Unknown, |s| s.code());
                let message = status
                    .as_ref()
                    .map(|s| s.message().to_string())
                    .unwrap_or_default();
                let text = match (code, message.is_empty()) {
                    (tonic::Code::Ok, _) | (_, true) => format!("{code:?} in {took:.1?}"),
                    _ => format!(
                        "{code:?}: {} in {took:.1?}",
                        crate::style::printable(&message)
                    ),
                };
                event_line(jsonl, call, "end", &seen.path, Some(Shown::Note(text)))
            }
        };
        let _ = writeln!(out, "{line}");
        // Written as calls come, flushed when none is waiting: a line a call, not a syscall.
        if events.is_empty() {
            let _ = out.flush();
        }
    }
}

/// A message as the printer shows it.
enum Shown {
    Json(String),
    Note(String),
}

fn decode(
    seen: &Seen,
    request: bool,
    compressed: bool,
    encoding: Option<&str>,
    bytes: Bytes,
    style: &crate::format::Style,
) -> Shown {
    use base64::Engine;
    let raw = || {
        Shown::Note(format!(
            "{} bytes: {}",
            bytes.len(),
            base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len().min(64)])
        ))
    };
    let Some(method) = &seen.method else {
        return raw();
    };
    let plain = match compressed {
        true => match crate::web::decompressed(encoding, bytes.clone(), TAP_LIMIT) {
            Ok(plain) => plain,
            Err(_) => return raw(),
        },
        false => bytes.clone(),
    };
    let desc = if request {
        method.input()
    } else {
        method.output()
    };
    match prost_reflect::DynamicMessage::decode(desc, plain) {
        Ok(message) => {
            let mut out = Vec::new();
            match crate::format::write_message(&mut out, &message, style) {
                Ok(()) => Shown::Json(String::from_utf8_lossy(&out).trim_end().to_string()),
                Err(_) => raw(),
            }
        }
        Err(_) => raw(),
    }
}

fn event_line(jsonl: bool, call: u64, kind: &str, path: &str, shown: Option<Shown>) -> String {
    let path = crate::style::printable(path);
    if jsonl {
        let mut event = serde_json::json!({"call": call, "event": kind, "method": path});
        match shown {
            Some(Shown::Json(json)) => {
                event["message"] = serde_json::from_str(&json).unwrap_or_default();
            }
            Some(Shown::Note(note)) => event["note"] = note.into(),
            None => {}
        }
        return event.to_string();
    }
    let arrow = match kind {
        "call" => "call",
        "request" => ">",
        "response" => "<",
        _ => "end",
    };
    match shown {
        None => format!("[{call}] {arrow} {path}"),
        Some(Shown::Json(json)) => format!("[{call}] {arrow} {json}"),
        Some(Shown::Note(note)) => format!("[{call}] {arrow} {note}"),
    }
}
