//! `rpcsh bench METHOD [DATA]`: load on one method with the same names, JSON and connection
//! flags as `call`. Owns the run: workers over connections, each making calls as the load's
//! shape says (count, duration, open-loop rates without coordinated omission, closed-loop
//! steps), recording into tallies a few workers share (memory does not grow with -c or -n), and
//! the report. Responses are counted, not decoded, so the client is not what is measured.
mod data;
mod report;
mod schedule;
mod stream;
mod tally;
use crate::connection::Connection;
use crate::input;
use crate::transport::{self, Target};
use anyhow::{bail, Context};
use bytes::{Buf, BufMut, Bytes};
use data::Requests;
use futures_util::StreamExt;
use prost_reflect::MethodDescriptor;
pub use report::merge;
use report::Report;
use schedule::Shape;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stream::Clock;
use tally::Tally;
use tokio::time::Instant;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{client::Grpc, transport::Channel, Status};

/// How the load is shaped (the flags of `rpcsh bench`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Load")]
pub struct BenchOptions {
    /// Requests to make (200 by default, unless -z is given).
    #[arg(short = 'n', long = "total", value_name = "N")]
    pub total: Option<u64>,
    /// Concurrent workers.
    #[arg(short = 'c', long, default_value = "50", value_name = "C")]
    pub concurrency: usize,
    /// HTTP/2 connections to spread the workers over [default: one per 5 workers, one per 100
    /// held streams].
    #[arg(long, value_name = "K")]
    pub connections: Option<usize>,
    /// Run for this long instead of a count.
    #[arg(short = 'z', long, value_name = "DURATION", value_parser = crate::util::parse_duration)]
    pub duration: Option<Duration>,
    /// A constant rate (open loop): latency counts from each request's scheduled time.
    #[arg(long, value_name = "R", value_parser = schedule::parse_rate)]
    pub rps: Option<f64>,
    /// A rate rising or falling linearly (open loop), reported in ten stages.
    #[arg(long, value_name = "FROM..TO/DURATION", value_parser = schedule::parse_ramp,
          conflicts_with_all = ["rps", "duration", "rps_steps", "concurrency_steps"])]
    pub ramp: Option<Shape>,
    /// Rates held in turn (open loop), each reported as a stage.
    #[arg(long, value_name = "R1,R2,.../EACH", value_parser = schedule::parse_rate_steps,
          conflicts_with_all = ["rps", "duration", "concurrency_steps"])]
    pub rps_steps: Option<Shape>,
    /// Workers in steps (closed loop), each reported as a stage.
    #[arg(long, value_name = "C1,C2,.../EACH", value_parser = schedule::parse_concurrency_steps,
          conflicts_with_all = ["rps", "duration", "concurrency"])]
    pub concurrency_steps: Option<Shape>,
    /// Requests from a JSON-lines file, one a line, taken in turn (or --random).
    #[arg(long, value_name = "FILE", conflicts_with = "data")]
    pub data_file: Option<PathBuf>,
    /// Take --data-file's lines at random instead of in turn.
    #[arg(long, requires = "data_file")]
    pub random: bool,
    /// Requests made first and left out of the report.
    #[arg(long, default_value = "0", value_name = "N")]
    pub warmup: u64,
    /// Hold N streams open at once (server-streaming and bidi methods), for --hold.
    #[arg(long, value_name = "N", requires = "hold",
          conflicts_with_all = ["total", "duration", "rps", "ramp", "rps_steps", "concurrency_steps"])]
    pub streams: Option<usize>,
    /// How long --streams are held open before they are cancelled (a stream that ends before
    /// counts by its status).
    #[arg(long, value_name = "DURATION", value_parser = crate::util::parse_duration, requires = "streams")]
    pub hold: Option<Duration>,
    /// Messages per call for client-streaming and bidi methods when DATA is one message.
    #[arg(long, default_value = "10", value_name = "M")]
    pub stream_messages: usize,
    /// Deadline of each call.
    #[arg(long, value_name = "DURATION", value_parser = crate::util::parse_duration)]
    pub timeout: Option<Duration>,
    /// Write the report as json or csv instead of text.
    #[arg(long, value_enum)]
    pub output: Option<ReportFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Csv,
}

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
enum Link {
    Direct(hyper::client::conn::http2::SendRequest<tonic::body::Body>),
    Channel(Channel),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Request<tonic::body::Body>> for Link {
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
            Link::Direct(s) => s.poll_ready(cx).map_err(Into::into),
            Link::Channel(c) => tower::Service::poll_ready(c, cx).map_err(Into::into),
        }
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        match self {
            Link::Direct(s) => {
                let response = s.send_request(request);
                Box::pin(async move { Ok(response.await?.map(tonic::body::Body::new)) })
            }
            Link::Channel(c) => {
                let response = tower::Service::call(c, request);
                Box::pin(async move { Ok(response.await?) })
            }
        }
    }
}

impl Link {
    /// One more connection to `target`.
    async fn open(target: &Target, conn: &Connection) -> anyhow::Result<Link> {
        if target.tls || target.unix {
            return Ok(Link::Channel(
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
        Ok(Link::Direct(sender))
    }
}

/// One worker's way of making a call: tonic for streams and TLS, and for unary calls over a
/// direct connection a pre-framed request sent whole, as h2load does — no encoder, and no body
/// task in hyper (it spawns one for a streamed body, copying the future each time).
struct Caller {
    grpc: Grpc<crate::sanitize::Sanitize<Link>>,
    link: Link,
    uri: http::Uri,
    path: http::uri::PathAndQuery,
    headers: http::HeaderMap,
    metadata: tonic::metadata::MetadataMap,
    unary: bool,
    bidi: bool,
    /// Held streams: a bidi call's sending side stays open after its requests.
    open: bool,
    /// Unary calls go over raw HTTP/2 (uncompressed requests only).
    raw: bool,
    timeout: Option<Duration>,
    /// The framed request when it is the same every time.
    fixed: Option<Bytes>,
}

/// A worker's caller: gRPC, or Connect and gRPC-Web through `web::Client`.
enum Worker {
    Grpc(Box<Caller>),
    Web(Box<WebCaller>),
}

/// A Connect or gRPC-Web worker's client, method and call options, and its requests as
/// messages when they are the same for every call (decoded once, not per call).
struct WebCaller {
    client: std::sync::Arc<crate::web::Client>,
    method: MethodDescriptor,
    options: crate::invoke::CallOptions,
    fixed: Option<Vec<prost_reflect::DynamicMessage>>,
    open: bool,
}

fn decode_all(
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
    /// Makes one call; a stream's messages are timed into the `clock` tally.
    async fn call(
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
            Some(clock) => clock.requests(messages, open).boxed(),
            None => tokio_stream::iter(messages).boxed(),
        };
        match web
            .client
            .invoke(&web.method, requests, &web.options, &mut count)
            .await
        {
            Ok(()) => Ok(count.0),
            Err(crate::invoke::CallError::Status(s)) => Err(s),
            Err(crate::invoke::CallError::Handler(e)) => Err(Status::internal(e.to_string())),
        }
    }
}

/// Counts the responses of a Connect or gRPC-Web call, and times a stream's.
struct Count<'a>(u64, Option<Clock<'a>>);

impl crate::invoke::Handler for Count<'_> {
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
        if let (true, Link::Direct(sender)) = (self.raw, &mut self.link) {
            let frame = match &self.fixed {
                Some(frame) => frame.clone(),
                None => crate::codec::envelope(0, requests.first().map_or(&[][..], |m| &m[..])),
            };
            let call = unary_raw(sender, &self.uri, &self.headers, frame);
            return match self.timeout {
                Some(t) => tokio::time::timeout(t, call)
                    .await
                    .unwrap_or_else(|_| Err(crate::error::timed_out())),
                None => call.await,
            };
        }
        let timeout = self.timeout;
        let call = self.call_tonic(requests, clock);
        match timeout {
            // tonic stops enforcing its deadline once response headers came.
            Some(t) => tokio::time::timeout(t, call)
                .await
                .unwrap_or_else(|_| Err(crate::error::timed_out())),
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
            .map_err(|e| Status::unavailable(crate::error::root_cause(&*e)))?;
        let mut clock = tally.map(|t| Clock::start(t, self.bidi));
        let requests = match &clock {
            Some(clock) => clock
                .requests(requests.to_vec(), self.open && self.bidi)
                .boxed(),
            None => tokio_stream::iter(requests.to_vec()).boxed(),
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
                return Err(crate::invoke::second_message());
            }
        }
        if self.unary && count == 0 {
            return Err(crate::invoke::no_message());
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
    let unavailable = |e: hyper::Error| Status::unavailable(crate::error::root_cause(&e));
    let body = tonic::body::Body::new(http_body_util::Full::new(frame));
    let mut request = http::Request::new(body);
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri.clone();
    *request.headers_mut() = headers.clone();
    futures_util::future::poll_fn(|cx| sender.poll_ready(cx))
        .await
        .map_err(unavailable)?;
    let mut response = sender.send_request(request).await.map_err(unavailable)?;
    if response.status() != http::StatusCode::OK {
        return Err(Status::unknown(format!(
            "HTTP status {}",
            response.status()
        )));
    }
    crate::sanitize::headers(response.headers_mut());
    let mut status = Status::from_header_map(response.headers());
    // The reply's data is not kept: only how many messages it holds, its end and trailers.
    let mut body = response.into_body();
    let mut messages = Messages::default();
    while let Some(frame) = body.frame().await {
        match frame.map_err(unavailable)?.into_data() {
            Ok(data) => messages.feed(&data),
            Err(frame) => {
                if let Ok(mut trailers) = frame.into_trailers() {
                    crate::sanitize::headers(&mut trailers);
                    status = status.or_else(|| Status::from_header_map(&trailers));
                }
            }
        }
    }
    match status {
        // One message, as the call's other paths require (`invoke`).
        Some(s) if s.code() == tonic::Code::Ok && messages.count == 0 => {
            Err(crate::invoke::no_message())
        }
        Some(s) if s.code() == tonic::Code::Ok && messages.count > 1 => {
            Err(crate::invoke::second_message())
        }
        Some(s) if s.code() == tonic::Code::Ok => Ok(1),
        Some(s) => Err(s),
        None => Err(Status::internal("the response ended without a grpc-status")),
    }
}

/// What the workers of a run share: what to send, how many, when, and the tallies they record
/// into.
struct Plan {
    method: MethodDescriptor,
    requests: Requests,
    /// Calls to make, the warmup's included.
    total: u64,
    warmup: u64,
    start: Instant,
    end: Option<Instant>,
    /// Held streams are cut here, and count as OK: they were held as long as asked.
    held: Option<Instant>,
    shape: Option<Shape>,
    next: AtomicU64,
    stop: AtomicBool,
    done: Arc<AtomicU64>,
    /// A tally per few workers: one each would grow memory with -c, one for all would be
    /// contended.
    shards: Vec<Mutex<Tally>>,
}

/// Runs the load and prints the report.
pub async fn run(
    conn: &Connection,
    method: &str,
    data: Option<String>,
    options: BenchOptions,
) -> anyhow::Result<()> {
    let mut session = conn.open(true).await?;
    session.schema.only_what_is_used();
    let method = session.schema.resolve_method(method).await?;
    let text = match options.data_file {
        Some(_) => String::new(),
        None => input::Data::parse(data.as_deref()).read_text()?,
    };
    let requests = Requests::load(
        &method,
        &text,
        options.data_file.as_deref(),
        options.random,
        options.stream_messages,
    )?;
    if options.streams.is_some() && !method.is_server_streaming() {
        bail!(crate::error::Hint::new(
            format!(
                "--streams holds streams open; {} is not a server-streaming or bidi method",
                method.full_name()
            ),
            "use -c for concurrent calls of unary and client-streaming methods",
        ));
    }
    let shape = options
        .rps
        .map(Shape::Rate)
        .or(options.ramp.clone())
        .or(options.rps_steps.clone())
        .or(options.concurrency_steps.clone());
    let (workers, connections) = spread(&options, shape.as_ref());
    let conn = &conn.resolved();
    let target = Target::parse(&conn.addr, &conn.transport)?;
    let mut channels = Vec::new();
    let mut webs = Vec::new();
    match &session.link {
        Some(crate::link::Link::Web(first)) => {
            if let Some(refused) = first.refuses(&method) {
                return Err(refused);
            }
            webs.push(first.clone());
            for _ in 1..connections {
                if let crate::link::Link::Web(client) = conn.link(&target).await? {
                    webs.push(client);
                }
            }
        }
        _ => {
            for _ in 0..connections {
                channels.push(Link::open(&target, conn).await?);
            }
        }
    }
    // The :authority the connection uses (a unix socket's is localhost, as tonic sends it).
    let authority = conn
        .transport
        .authority
        .clone()
        .unwrap_or_else(|| match target.unix {
            true => "localhost".to_string(),
            false => target.address.clone(),
        });
    let origin: http::Uri = format!("http://{authority}")
        .parse()
        .with_context(|| format!("invalid authority {authority:?}"))?;
    let uri: http::Uri = format!("http://{authority}{}", crate::invoke::path(&method))
        .parse()
        .context("invalid method path")?;
    // What tonic would send: the call's metadata (-H) and the gRPC headers.
    let mut headers = session.metadata.clone().into_headers();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/grpc"),
    );
    headers.insert("te", http::HeaderValue::from_static("trailers"));
    if let Some(t) = options.timeout {
        let value = format!("{}m", t.as_millis().max(1));
        headers.insert("grpc-timeout", value.parse().context("invalid --timeout")?);
    }
    let length = options.duration.or(shape.as_ref().and_then(Shape::length));
    let total = match (options.total, length, options.streams) {
        (_, _, Some(n)) => n as u64,
        (Some(n), _, _) => n,
        (None, Some(_), _) => u64::MAX,
        (None, None, _) => 200,
    };
    // Ctrl-C: calls in flight are given up (a stalled server would hold them for ever).
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let path = http::uri::PathAndQuery::try_from(crate::invoke::path(&method))
        .context("invalid method path")?;
    let stages = shape.as_ref().map(Shape::stages).unwrap_or_default();
    let parallelism = std::thread::available_parallelism().map_or(4, |n| n.get());
    let start = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let plan = Arc::new(Plan {
        method: method.clone(),
        requests: requests.clone(),
        total: total.saturating_add(options.warmup),
        warmup: options.warmup,
        start,
        end: length.map(|d| start + d),
        held: options.hold.map(|d| start + d),
        shape,
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        done: done.clone(),
        shards: (0..workers.min(4 * parallelism))
            .map(|_| Mutex::new(Tally::for_method(&method, &stages)))
            .collect(),
    });
    let progress = progress_bar(options.total, length, done);
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let caller = if !webs.is_empty() {
            let call_options = crate::invoke::CallOptions {
                metadata: session.metadata.clone(),
                timeout: options.timeout,
                max_message_size: conn.max_message_size,
                compress: conn.compress,
            };
            Worker::Web(Box::new(WebCaller {
                client: webs[worker % webs.len()].clone(),
                method: method.clone(),
                options: call_options,
                fixed: match requests.fixed() {
                    Some(m) => Some(decode_all(&method, m)?),
                    None => None,
                },
                open: plan.held.is_some(),
            }))
        } else {
            let link = channels[worker % channels.len()].clone();
            let mut grpc =
                Grpc::with_origin(crate::sanitize::Sanitize(link.clone()), origin.clone());
            if let Some(limit) = conn.max_message_size {
                grpc = grpc
                    .max_decoding_message_size(limit)
                    .max_encoding_message_size(limit);
            }
            for encoding in crate::invoke::ACCEPTED_ENCODINGS {
                grpc = grpc.accept_compressed(encoding);
            }
            if let Some(c) = conn.compress {
                grpc = grpc.send_compressed(c.encoding());
            }
            let unary = !method.is_client_streaming() && !method.is_server_streaming();
            Worker::Grpc(Box::new(Caller {
                grpc,
                link,
                uri: uri.clone(),
                path: path.clone(),
                headers: headers.clone(),
                metadata: session.metadata.clone(),
                unary,
                bidi: method.is_client_streaming() && method.is_server_streaming(),
                open: plan.held.is_some(),
                raw: unary && conn.compress.is_none(),
                timeout: options.timeout,
                fixed: requests
                    .fixed()
                    .and_then(|m| m.first())
                    .map(|m| crate::codec::envelope(0, m)),
            }))
        };
        tasks.push(tokio::spawn(work(
            plan.clone(),
            worker,
            caller,
            cancelled.clone(),
        )));
    }
    let all = futures_util::future::join_all(tasks);
    tokio::pin!(all);
    let results = tokio::select! {
        r = &mut all => r,
        _ = tokio::signal::ctrl_c() => {
            plan.stop.store(true, Ordering::Relaxed);
            let _ = cancel.send(true);
            eprintln!("rpcsh: bench stopped: reporting what was measured so far (Ctrl-C again quits)");
            tokio::select! {
                r = &mut all => r,
                _ = tokio::signal::ctrl_c() => std::process::exit(130),
            }
        }
    };
    let wall = start.elapsed();
    if let Some(p) = progress {
        p.abort();
        eprint!("\r\x1b[2K");
    }
    for r in results {
        r.context("a bench worker failed")?;
    }
    if let Some(shape) = plan.shape.as_ref().filter(|s| s.is_open()) {
        let due = shape.due_within(wall).min(plan.total);
        let sent = plan.next.load(Ordering::Relaxed).min(plan.total);
        // An open loop sends when requests are due only while a worker is free.
        if due > sent + sent / 100 + 1 {
            eprintln!(
                "rpcsh: note: {} of the {due} requests due were not sent: all {workers} workers were busy (raise -c)",
                due - sent
            );
        }
    }
    let mut tally = Tally::new();
    for shard in &plan.shards {
        let mut shard = shard.lock().expect("tally");
        tally.merge(std::mem::replace(&mut *shard, Tally::new()));
    }
    Report::new(crate::invoke::path(&method), &tally, wall).print(&tally, options.output)
}

/// One worker's calls until the run ends: each when the shape says, timed from then.
async fn work(
    plan: Arc<Plan>,
    worker: usize,
    mut caller: Worker,
    mut cancelled: tokio::sync::watch::Receiver<bool>,
) {
    let shard = &plan.shards[worker % plan.shards.len()];
    let open = plan.shape.as_ref().filter(|s| s.is_open());
    loop {
        // Closed-loop steps: a worker waits for its first step and stops after its last.
        if let Some(shape) = plan.shape.as_ref().filter(|s| !s.is_open()) {
            let now = plan.start.elapsed();
            match shape.runs_from(worker, now) {
                None => break,
                Some(at) if at > now => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(plan.start + at) => continue,
                        _ = cancelled.wait_for(|c| *c) => break,
                    }
                }
                Some(_) => {}
            }
        }
        let i = plan.next.fetch_add(1, Ordering::Relaxed);
        if i >= plan.total
            || plan.stop.load(Ordering::Relaxed)
            || plan.end.is_some_and(|e| Instant::now() >= e)
        {
            break;
        }
        // Open loop: request i is due when the shape has sent i requests, and its latency counts
        // from then: a slow server shows as latency, not as fewer requests.
        let due = match open {
            Some(shape) => {
                let Some(at) = shape.due(i) else { break };
                let due = plan.start + at;
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => due,
                    _ = cancelled.wait_for(|c| *c) => break,
                }
            }
            None => Instant::now(),
        };
        let measured = i >= plan.warmup;
        let clock = measured.then_some(shard);
        let call = async {
            match plan.requests.fixed() {
                Some(messages) => caller.call(messages, clock).await,
                None => match plan.requests.render(&plan.method, i, worker) {
                    Ok(messages) => caller.call(&messages, clock).await,
                    Err(e) => Err(Status::invalid_argument(format!("{e:#}"))),
                },
            }
        };
        let hold = async {
            match plan.held {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            outcome = call => outcome,
            _ = hold => Ok(0),
            // A held stream stopped early was still held.
            _ = cancelled.wait_for(|c| *c) => match plan.held {
                Some(_) => Ok(0),
                None => break,
            },
        };
        if !measured {
            continue;
        }
        plan.done.fetch_add(1, Ordering::Relaxed);
        let elapsed = due.elapsed();
        let stages = match &plan.shape {
            Some(shape) => (
                shape.stage_at(due - plan.start),
                shape.stage_at(plan.start.elapsed()),
            ),
            None => (None, None),
        };
        shard
            .lock()
            .expect("tally")
            .record(elapsed, stages, outcome);
    }
}

/// The workers and connections of a load: `-c` workers (or one per held stream, or the most a
/// step runs) over `--connections`, by default one connection per 5 workers — HTTP/2
/// serializes each connection's writes, and 50 workers on one connection reach 0.74x of
/// h2load's 50 connections — and one per 100 held streams (the most concurrent streams many
/// servers allow a connection).
fn spread(options: &BenchOptions, shape: Option<&Shape>) -> (usize, usize) {
    let (workers, per_connection) = match (options.streams, shape.and_then(Shape::workers)) {
        (Some(n), _) => (n.max(1), 100),
        (None, Some(n)) => (n, 5),
        (None, None) => (options.concurrency.max(1), 5),
    };
    let connections = options
        .connections
        .unwrap_or_else(|| workers.div_ceil(per_connection));
    (workers, connections.clamp(1, workers))
}

/// A progress bar on stderr when it is a terminal: requests done of -n, or time of -z.
fn progress_bar(
    total: Option<u64>,
    duration: Option<Duration>,
    done: Arc<AtomicU64>,
) -> Option<tokio::task::JoinHandle<()>> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match (duration, total) {
        (Some(d), _) => indicatif::ProgressBar::new(d.as_millis() as u64),
        (None, t) => indicatif::ProgressBar::new(t.unwrap_or(200)),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    Some(tokio::spawn(async move {
        loop {
            let n = done.load(Ordering::Relaxed);
            match duration {
                Some(_) => {
                    bar.set_position(start.elapsed().as_millis() as u64);
                    bar.set_message(format!("{n} requests"));
                }
                None => bar.set_position(n),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
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
