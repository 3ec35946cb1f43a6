//! `rpcsh proxy --listen ADDR --to ADDR`: a gRPC proxy in front of a real client's server. Each
//! call passes through unchanged — headers, every DATA frame as it comes, trailers, resets — over
//! one connection to the upstream (`Upstream`), while a tap (`tap`) copies its messages to a
//! printer (`print`) that decodes them with the upstream's schema, says each call as it happens
//! and, with `--record`, writes the calls as an `rpcsh run` script (`record`). What the tap
//! cannot read is shown as bytes; it never holds the call back.
mod frames;
mod print;
mod record;
mod tap;

use crate::lang::recording::RecordSpec;
use crate::session::connection::Connection;
use crate::sys::util::header_pairs;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tap::Tap;
use tokio::sync::mpsc;

/// Largest message the tap decodes: past it, the message is forwarded and shown by its size.
const TAP_LIMIT: usize = 16 << 20;

/// Headers as text, in order; kept only when `-v` or `--record` needs them.
type Headers = Vec<(String, String)>;

/// What the tap saw of a call, in order.
enum Event {
    Start {
        call: u64,
        path: String,
        encoding: Option<String>,
        headers: Option<Headers>,
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
    ResponseHeaders {
        call: u64,
        encoding: Option<String>,
        headers: Option<Headers>,
    },
    End {
        call: u64,
        status: Option<tonic::Status>,
        trailers: Option<Headers>,
        by: Ender,
    },
    /// The proxy stops: the printer finishes what it has and returns.
    Stop,
}

/// Who ended a call.
#[derive(Clone, Copy, PartialEq)]
enum Ender {
    Server,
    /// The client went away or reset the call: nothing a replay could expect.
    Client,
    /// The upstream could not be reached: the proxy answered for it.
    Proxy,
}

/// How `rpcsh proxy` shows and keeps what it sees, and what it offers its clients.
pub struct RelayOptions {
    pub jsonl: bool,
    pub record: Option<RecordSpec>,
    /// `--tls-cert`, `--tls-key`: TLS to the clients (PEM files).
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// Events the printer may lag behind by; past it they are counted, not kept (a terminal that
/// stopped reading must not grow the proxy without bound, nor slow its calls).
const LAG: usize = 1 << 16;

/// How long the proxy, asked to stop, waits for its printer to finish.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The tap's side of the printer's queue.
#[derive(Clone)]
struct Events {
    queue: mpsc::Sender<Event>,
    lost: Arc<AtomicU64>,
}

impl Events {
    fn send(&self, event: Event) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(event) {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// How long a client may take over its TLS handshake before the proxy gives up on it.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the proxy until Ctrl-C or SIGTERM.
pub async fn run(listen: &str, upstream: Connection, options: RelayOptions) -> anyhow::Result<()> {
    let conn = upstream.resolved();
    let target = crate::client::net::transport::Target::parse(&conn.addr, &conn.transport)?;
    let script = options
        .record
        .map(|spec| record::ProxyRecorder::create(spec, &conn.addr))
        .transpose()?;
    let acceptor = options
        .tls
        .as_ref()
        .map(|(c, k)| acceptor(c, k))
        .transpose()?;
    let channel = Upstream::open(&target, &conn.transport).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    println!(
        "proxying {}{} -> {}",
        listener.local_addr()?,
        if acceptor.is_some() { " (TLS)" } else { "" },
        crate::sys::style::printable(&conn.addr)
    );
    let keep_headers = conn.verbose.is_some() || script.is_some();
    let (queue, rx) = mpsc::channel(LAG);
    let lost = Arc::new(AtomicU64::new(0));
    let events = Events {
        queue,
        lost: lost.clone(),
    };
    let printer = print::CallLog::new(conn.clone(), options.jsonl, script, lost);
    let printer = printer.spawn(rx)?;
    let service = Service {
        upstream: channel,
        events: events.clone(),
        next: Arc::new(AtomicU64::new(1)),
        keep_headers,
    };
    let serving = async {
        loop {
            let (socket, _) = listener.accept().await?;
            let _ = socket.set_nodelay(true);
            tokio::spawn(serve_client(socket, service.clone(), acceptor.clone()));
        }
        #[allow(unreachable_code)]
        Ok::<(), anyhow::Error>(())
    };
    let served = tokio::select! {
        r = serving => r,
        _ = crate::sys::signals::interrupted(true) => Ok(()),
    };
    // What the printer has is printed and recorded before the proxy ends; unless its output
    // is not read at all.
    let finished = async {
        let _ = events.queue.send(Event::Stop).await;
        let _ = printer.await;
    };
    if tokio::time::timeout(STOP_WAIT, finished).await.is_err() {
        eprintln!("rpcsh proxy: its output is not being read: stopped without printing the rest");
    }
    served
}

/// Serves one client's connection: HTTP/2 to a plaintext upstream relayed by frames
/// (`frames`), anything else (HTTP/1.1, a TLS or unix upstream) through hyper. A client that
/// breaks the connection (or its TLS) ends its own calls, never the proxy.
async fn serve_client(
    socket: tokio::net::TcpStream,
    service: Service,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    let by_frames = matches!(service.upstream, Upstream::Direct { .. });
    match acceptor {
        None => {
            if by_frames && speaks_http2(&socket).await {
                let upstream = service.upstream.clone();
                let events = service.events.clone();
                return frames::serve(socket, upstream, events, service).await;
            }
            serve_by_hyper(socket, service).await
        }
        Some(acceptor) => {
            let accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await;
            let Ok(Ok(tls)) = accepted else {
                return;
            };
            if by_frames && tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                let upstream = service.upstream.clone();
                let events = service.events.clone();
                return frames::serve(tls, upstream, events, service).await;
            }
            serve_by_hyper(tls, service).await
        }
    }
}

/// Whether a plaintext client begins with HTTP/2's preface (its first bytes, peeked).
async fn speaks_http2(socket: &tokio::net::TcpStream) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0";
    let mut first = [0u8; 14];
    for _ in 0..100 {
        match socket.peek(&mut first).await {
            Ok(0) | Err(_) => return false,
            Ok(n) if n >= 3 || first[..n] != PREFACE[..n] => {
                return first[..n] == PREFACE[..n];
            }
            // A preface split after a byte or two: its next segment is a moment away.
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
        }
    }
    false
}

/// A connection served by hyper: HTTP/1.1 and 2, gRPC-Web clients (browsers' CORS included)
/// answered in gRPC-Web, their calls forwarded as gRPC.
async fn serve_by_hyper<T>(io: T, service: Service)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = tower::ServiceBuilder::new()
        .map_request(|r: http::Request<hyper::body::Incoming>| r.map(tonic::body::Body::new))
        .layer(crate::serve::server::WebOnlyLayer)
        .service(service);
    let service = hyper_util::service::TowerToHyperService::new(service);
    let builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let _ = builder
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}

/// What serving the clients needs; as a tower service, each call told to the printer and
/// forwarded upstream.
#[derive(Clone)]
struct Service {
    upstream: Upstream,
    events: Events,
    next: Arc<AtomicU64>,
    keep_headers: bool,
}

impl tower::Service<http::Request<tonic::body::Body>> for Service {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let call = call_started(&self.events, &self.next, &request, self.keep_headers);
        let (upstream, events) = (self.upstream.clone(), self.events.clone());
        Box::pin(forward(upstream, events, call, request, self.keep_headers))
    }
}

/// A call numbered and told in one step: the recording keeps calls in the order they started.
fn call_started<B>(
    events: &Events,
    next: &AtomicU64,
    request: &http::Request<B>,
    keep_headers: bool,
) -> u64 {
    let call = next.fetch_add(1, Ordering::Relaxed);
    events.send(Event::Start {
        call,
        path: request.uri().path().to_string(),
        encoding: header(request.headers(), "grpc-encoding"),
        headers: keep_headers.then(|| header_pairs(request.headers())),
    });
    call
}

/// TLS for the proxy's clients from PEM files, offering HTTP/2 and HTTP/1.1.
fn acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read --tls-cert {}: {e}", cert.display()))?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("cannot read --tls-key {}: {e}", key.display()))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("--tls-cert and --tls-key do not make a TLS identity: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// One call: the client's request sent upstream as it is (its body tapped), and the upstream's
/// response handed back as it is (tapped too).
async fn forward(
    channel: Upstream,
    events: Events,
    call: u64,
    request: http::Request<tonic::body::Body>,
    keep_headers: bool,
) -> Result<http::Response<tonic::body::Body>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let tapped = Tap::new(body, events.clone(), call, true, keep_headers);
    let request = http::Request::from_parts(parts, tonic::body::Body::new(tapped));
    // Dropped before the upstream answered: the client went away, the call is cancelled.
    let waiting = Unanswered(Some((events.clone(), call)));
    let sent = channel.send(request).await;
    drop(waiting.disarm());
    match sent {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let ended = answered(&events, call, parts.status, &parts.headers, keep_headers);
            let mut tapped = Tap::new(body, events, call, false, keep_headers);
            tapped.ended = ended;
            Ok(http::Response::from_parts(
                parts,
                tonic::body::Body::new(tapped),
            ))
        }
        Err(e) => Ok(unreachable(&events, call, e).into_http()),
    }
}

/// The answer's headers told; true when they end the call: trailers-only (the status in the
/// headers), or an answer that is not gRPC (an ingress proxy's 502 page), which goes to the
/// client as it came and is shown as the status it maps to, its body not read as messages.
fn answered(
    events: &Events,
    call: u64,
    status: http::StatusCode,
    headers: &http::HeaderMap,
    keep_headers: bool,
) -> bool {
    events.send(Event::ResponseHeaders {
        call,
        encoding: header(headers, "grpc-encoding"),
        headers: keep_headers.then(|| header_pairs(headers)),
    });
    let status = tonic::Status::from_header_map(headers).or_else(|| {
        crate::client::wire::sanitize::is_not_grpc(status, headers)
            .then(|| crate::client::wire::sanitize::not_grpc(status, headers, b""))
    });
    let Some(status) = status else {
        return false;
    };
    events.send(Event::End {
        call,
        status: Some(status),
        trailers: None,
        by: Ender::Server,
    });
    true
}

/// The upstream cannot be reached: the client gets UNAVAILABLE, as from a server.
fn unreachable(events: &Events, call: u64, e: String) -> tonic::Status {
    let status = tonic::Status::unavailable(format!("rpcsh proxy: the upstream failed: {e}"));
    events.send(Event::End {
        call,
        status: Some(status.clone()),
        trailers: None,
        by: Ender::Proxy,
    });
    status
}

/// The upstream: for plaintext TCP one HTTP/2 connection driven by h2 directly (calls from
/// `frames` go onto it as streams, with no service layer between), made again when it broke;
/// otherwise (TLS, unix sockets) a tonic channel.
#[derive(Clone)]
enum Upstream {
    Direct {
        target: crate::client::net::transport::Target,
        /// The target's address as each call's `:authority`, parsed once.
        authority: http::uri::Authority,
        options: Box<crate::client::net::transport::TransportOptions>,
        connection: Arc<tokio::sync::Mutex<Option<H2Upstream>>>,
    },
    Channel(tonic::transport::Channel),
}

/// An open HTTP/2 connection to the upstream, and whether it has ended.
#[derive(Clone)]
struct H2Upstream {
    sender: h2::client::SendRequest<Bytes>,
    closed: Arc<std::sync::atomic::AtomicBool>,
}

/// Window sizes toward the upstream as hyper's client's: h2's own 64 KiB would hold a
/// large answer back by round trips.
const UPSTREAM_STREAM_WINDOW: u32 = 2 << 20;
const UPSTREAM_WINDOW: u32 = 5 << 20;

impl Upstream {
    async fn open(
        target: &crate::client::net::transport::Target,
        options: &crate::client::net::transport::TransportOptions,
    ) -> anyhow::Result<Upstream> {
        if target.tls || target.unix {
            return Ok(Upstream::Channel(
                crate::client::net::transport::connect(target, options).await?,
            ));
        }
        let upstream = Upstream::Direct {
            authority: target.address.parse().map_err(|e| {
                anyhow::anyhow!("--to {}: not a host and port: {e}", target.address)
            })?,
            target: target.clone(),
            options: Box::new(options.clone()),
            connection: Default::default(),
        };
        // Not there yet: the proxy starts anyway, its calls UNAVAILABLE until the upstream is.
        if let Err(e) = upstream.sender().await {
            eprintln!("rpcsh proxy: the upstream is not reachable yet: {e}");
        }
        Ok(upstream)
    }

    /// The open connection's sender, or a new connection's.
    async fn sender(&self) -> Result<h2::client::SendRequest<Bytes>, String> {
        let Upstream::Direct {
            target,
            options,
            connection,
            ..
        } = self
        else {
            unreachable!("only direct upstreams have a sender");
        };
        let mut held = connection.lock().await;
        if let Some(open) = held.as_ref().filter(|c| !c.closed.load(Ordering::Relaxed)) {
            return Ok(open.sender.clone());
        }
        let proxy = options.proxy_for(target).map_err(|e| e.to_string())?;
        let tcp = crate::client::net::transport::tcp(
            &target.address,
            proxy.as_ref(),
            options.connect_timeout,
        )
        .await
        .map_err(|e| {
            format!(
                "cannot connect to {}: {}",
                target.address,
                crate::sys::error::root_cause(&e)
            )
        })?;
        let io = crate::client::net::transport::Watched::with(tcp, options);
        let (sender, driven) = h2::client::Builder::new()
            .initial_window_size(UPSTREAM_STREAM_WINDOW)
            .initial_connection_window_size(UPSTREAM_WINDOW)
            .max_header_list_size(options.header_limit())
            .handshake::<_, Bytes>(io)
            .await
            .map_err(|e| {
                format!(
                    "HTTP/2 handshake failed: {}",
                    crate::sys::error::root_cause(&e)
                )
            })?;
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ended = closed.clone();
        tokio::spawn(async move {
            let _ = driven.await;
            ended.store(true, Ordering::Relaxed);
        });
        *held = Some(H2Upstream {
            sender: sender.clone(),
            closed,
        });
        Ok(sender)
    }

    /// A new stream upstream with the request's head (its address made the upstream's).
    async fn start(
        &self,
        head: http::request::Parts,
        end: bool,
    ) -> Result<(h2::client::ResponseFuture, h2::SendStream<Bytes>), String> {
        let Upstream::Direct { authority, .. } = self else {
            unreachable!("only direct upstreams take frames");
        };
        let mut head = head;
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(http::uri::Scheme::HTTP);
        uri.authority = Some(authority.clone());
        uri.path_and_query = Some(
            head.uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        head.uri = http::Uri::from_parts(uri).map_err(|e| e.to_string())?;
        head.version = http::Version::HTTP_2;
        // An HTTP/1.1 client's connection headers are not HTTP/2's (h2 refuses them).
        for name in [
            "connection",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
        ] {
            head.headers.remove(name);
        }
        head.headers.remove(http::header::UPGRADE);
        head.headers.remove(http::header::HOST);
        if head
            .headers
            .get(http::header::TE)
            .is_some_and(|te| te != "trailers")
        {
            head.headers.remove(http::header::TE);
        }
        let request = http::Request::from_parts(head, ());
        let sender = self.sender().await?;
        let mut sender = sender
            .ready()
            .await
            .map_err(|e| crate::sys::error::root_cause(&e))?;
        sender
            .send_request(request, end)
            .map_err(|e| crate::sys::error::root_cause(&e))
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
                    .map_err(|e| crate::sys::error::root_cause(&e))?;
                channel
                    .call(request)
                    .await
                    .map_err(|e| crate::sys::error::root_cause(&e))
            }
            Upstream::Direct { .. } => {
                use http_body::Body as _;
                let (head, body) = request.into_parts();
                let end = body.is_end_stream();
                let (answer, mut stream) = self.start(head, end).await?;
                if !end {
                    tokio::spawn(async move { frames::pump(body, &mut stream).await });
                }
                let response = answer
                    .await
                    .map_err(|e| crate::sys::error::root_cause(&e))?;
                Ok(response.map(|r| tonic::body::Body::new(frames::Received::new(r))))
            }
        }
    }
}

/// Says a call cancelled when dropped armed: its client went away before any answer.
struct Unanswered(Option<(Events, u64)>);

impl Unanswered {
    fn disarm(mut self) -> Self {
        self.0 = None;
        self
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some((events, call)) = self.0.take() {
            events.send(cancelled(call));
        }
    }
}

/// A client's own reflection: shown by its start and end, never recorded.
fn is_reflection(path: &str) -> bool {
    path.starts_with("/grpc.reflection.")
}

/// The end of a call its client gave up.
fn cancelled(call: u64) -> Event {
    Event::End {
        call,
        status: Some(tonic::Status::cancelled("the client cancelled the call")),
        trailers: None,
        by: Ender::Client,
    }
}

/// Every header as text (a value that is not, lossily), in order.
fn header(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}
