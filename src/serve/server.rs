//! Hosting routes on a socket: binding TCP or unix addresses, TLS, the per-call log line of
//! `-v`, and graceful shutdown with a grace period. What is hosted comes from `crate::serve::demo`.
use anyhow::{bail, Context};
use std::{future::Future, net::SocketAddr, path::PathBuf, time::Duration};
use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::UnixListenerStream;
use tonic::service::Routes;
use tonic::transport::{server::TcpIncoming, Identity, Server, ServerTlsConfig};
use tower_http::classify::{GrpcErrorsAsFailures, GrpcFailureClass, SharedClassifier};
use tower_http::trace::{MakeSpan, OnEos, OnFailure, OnResponse, TraceLayer};
use tracing::Span;

/// A socket the server accepts on, already bound.
pub enum Bound {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Bound {
    /// Binds `host:port` (port 0 picks a free one) or `unix:/path`.
    pub async fn bind(listen: &str) -> anyhow::Result<Bound> {
        if let Some(path) = listen.strip_prefix("unix:") {
            let path = PathBuf::from(path);
            remove_stale_socket(&path).await?;
            let listener =
                UnixListener::bind(&path).with_context(|| format!("cannot listen on {listen}"))?;
            return Ok(Bound::Unix(listener, path));
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
            .await
            .with_context(|| {
                format!("cannot listen on {listen:?}: expected HOST:PORT or unix:PATH")
            })?
            .collect();
        let Some(addr) = addrs.first() else {
            bail!("cannot listen on {listen:?}: the host name has no address");
        };
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Bound::Tcp(listener))
    }

    /// The address actually bound, in the form clients pass to `--addr`.
    pub fn address(&self) -> String {
        match self {
            Bound::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string()),
            Bound::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }

    fn is_public(&self) -> bool {
        matches!(self, Bound::Tcp(l) if l.local_addr().is_ok_and(|a| !a.ip().is_loopback()))
    }
}

/// A unix socket left behind by a server that died is in the way of binding; a live one is not
/// ours to remove.
async fn remove_stale_socket(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        bail!(
            "cannot listen on unix:{}: the path exists and is not a socket",
            path.display()
        );
    }
    if tokio::net::UnixStream::connect(path).await.is_ok() {
        bail!(
            "cannot listen on unix:{}: another server is listening there",
            path.display()
        );
    }
    std::fs::remove_file(path)
        .with_context(|| format!("cannot remove stale socket {}", path.display()))
}

/// PEM certificate chain and private key files to serve TLS with.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    fn config(&self) -> anyhow::Result<ServerTlsConfig> {
        let read = |p: &PathBuf, what: &str| {
            std::fs::read(p).with_context(|| format!("cannot read TLS {what} {}", p.display()))
        };
        let (cert, key) = (read(&self.cert, "certificate")?, read(&self.key, "key")?);
        if !cert.windows(11).any(|w| w == b"-----BEGIN ") {
            bail!("TLS certificate {} is not PEM", self.cert.display());
        }
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(tonic::transport::Certificate::from_pem(read(
                ca,
                "client CA",
            )?));
        }
        Ok(config)
    }
}

/// How the server is run: TLS, shutdown and the limits that protect it from its clients.
#[derive(Default)]
pub struct ServeOptions {
    pub tls: Option<TlsFiles>,
    /// How long in-flight calls may run on after shutdown is asked for.
    pub grace: Duration,
    /// Streams one connection may have open at once (hyper's default, 200, when unset).
    pub max_concurrent_streams: Option<u32>,
    /// Longest a call may take to answer; past it the call ends with CANCELLED. A client's
    /// shorter grpc-timeout still applies.
    pub call_timeout: Option<Duration>,
    /// HTTP/2 keepalive: ping a client silent this long, and drop it when the ping goes
    /// unanswered as long (a vanished subscriber holds no stream).
    pub keepalive: Option<Duration>,
}

/// Serves `routes` on `bound` until `shutdown` completes, then lets in-flight calls finish for at
/// most `options.grace` and returns. A failure of the listener or of TLS set-up is an error.
pub async fn serve(
    bound: Bound,
    routes: Routes,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if bound.is_public() && options.tls.is_none() {
        tracing::warn!(
            "listening on a non-loopback address without TLS: anyone who can reach {} can call it",
            bound.address()
        );
    }
    let mut builder = Server::builder()
        // gRPC-Web (browsers, proxies) comes over HTTP/1.1 as well as HTTP/2.
        .accept_http1(true)
        .max_concurrent_streams(options.max_concurrent_streams)
        .http2_keepalive_interval(options.keepalive)
        .http2_keepalive_timeout(options.keepalive);
    if let Some(timeout) = options.call_timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(tls) = &options.tls {
        builder = builder
            .tls_config(tls.config()?)
            .context("invalid TLS configuration")?;
    }
    let router = builder
        .layer(call_log())
        .layer(WebOnlyLayer)
        .add_routes(routes);

    // glibc keeps what a burst of connections freed in its arenas; without this the server's
    // memory stays at its peak after the clients are gone (bench/soak.py measures it).
    // A JoinSet: the task ends when `serve` returns.
    let mut background = tokio::task::JoinSet::new();
    #[cfg(target_env = "gnu")]
    background.spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            crate::sys::util::release_free_memory();
        }
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = async move {
        let _ = stop_rx.await;
    };
    let mut server = tokio::spawn(async move {
        match bound {
            Bound::Tcp(l) => {
                let incoming = TcpIncoming::from(l).with_nodelay(Some(true));
                router.serve_with_incoming_shutdown(incoming, stopped).await
            }
            Bound::Unix(l, _) => {
                router
                    .serve_with_incoming_shutdown(UnixListenerStream::new(l), stopped)
                    .await
            }
        }
    });
    tokio::select! {
        result = &mut server => return Ok(result.context("server task failed")??),
        () = shutdown => {}
    }
    tracing::info!("shutting down: letting in-flight calls finish");
    let _ = stop_tx.send(());
    match tokio::time::timeout(options.grace, &mut server).await {
        Ok(result) => Ok(result.context("server task failed")??),
        Err(_) => {
            tracing::warn!(grace = ?options.grace, "grace period over: cancelling the calls still running");
            server.abort();
            Ok(())
        }
    }
}

/// gRPC-Web and CORS for the requests that need them (a gRPC-Web content type, a preflight, an
/// `Origin`); plain gRPC goes straight through, paying nothing for them (about 10% of unary
/// throughput when every request crossed both layers).
#[derive(Clone, Copy)]
pub(crate) struct WebOnlyLayer;

impl<S: Clone> tower::Layer<S> for WebOnlyLayer {
    type Service = WebOnly<S>;

    fn layer(&self, inner: S) -> WebOnly<S> {
        WebOnly {
            web: tower::Layer::layer(
                &cors(),
                tower::Layer::layer(&tonic_web::GrpcWebLayer::new(), inner.clone()),
            ),
            plain: inner,
        }
    }
}

#[derive(Clone)]
pub(crate) struct WebOnly<S> {
    plain: S,
    web: tower_http::cors::Cors<tonic_web::GrpcWebService<S>>,
}

type Body = tonic::body::Body;

impl<S, ResBody> tower::Service<http::Request<Body>> for WebOnly<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.plain.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let web = request.method() == http::Method::OPTIONS
            || request.headers().contains_key(http::header::ORIGIN)
            || request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("application/grpc-web"));
        if web {
            let mut web = self.web.clone();
            return Box::pin(async move {
                type Web<S> = tower_http::cors::Cors<tonic_web::GrpcWebService<S>>;
                futures_util::future::poll_fn(|cx| {
                    <Web<S> as tower::Service<http::Request<Body>>>::poll_ready(&mut web, cx)
                })
                .await?;
                <Web<S> as tower::Service<http::Request<Body>>>::call(&mut web, request).await
            });
        }
        // The instance polled ready makes the call; a clone takes its place.
        let clone = self.plain.clone();
        let mut plain = std::mem::replace(&mut self.plain, clone);
        Box::pin(async move { Ok(plain.call(request).await?.map(Body::new)) })
    }
}

/// CORS for gRPC-Web from browser pages on any origin: preflights answered, and the headers a
/// gRPC-Web client reads exposed (tonic-web has no CORS of its own).
fn cors() -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(ExposeHeaders::list([
            http::HeaderName::from_static("grpc-status"),
            http::HeaderName::from_static("grpc-message"),
            http::HeaderName::from_static("grpc-status-details-bin"),
        ]))
        .max_age(Duration::from_secs(24 * 60 * 60))
}

fn call_log<ReqBody, ResBody>() -> TraceLayer<
    SharedClassifier<GrpcErrorsAsFailures>,
    impl MakeSpan<ReqBody> + Clone,
    (),
    impl OnResponse<ResBody> + Clone,
    (),
    impl OnEos + Clone,
    impl OnFailure<GrpcFailureClass> + Clone,
> {
    fn status(headers: &http::HeaderMap) -> Option<(tonic::Code, String)> {
        let code: i32 = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
        let message = headers.get("grpc-message").map(|m| {
            percent_encoding::percent_decode(m.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        });
        Some((tonic::Code::from_i32(code), message.unwrap_or_default()))
    }
    fn log(headers: &http::HeaderMap, duration: Duration, span: &Span) {
        let Some((code, message)) = status(headers) else {
            return;
        };
        let _enter = span.enter();
        if message.is_empty() {
            tracing::info!(status = ?code, ?duration, "call");
        } else {
            tracing::info!(status = ?code, message, ?duration, "call");
        }
    }
    TraceLayer::new_for_grpc()
        .make_span_with(
            |req: &http::Request<ReqBody>| tracing::info_span!("call", method = %req.uri().path()),
        )
        .on_request(())
        .on_response(|res: &http::Response<ResBody>, d, span: &Span| log(res.headers(), d, span))
        .on_body_chunk(())
        .on_eos(|trailers: Option<&http::HeaderMap>, d, span: &Span| {
            if let Some(t) = trailers {
                log(t, d, span)
            }
        })
        .on_failure(|class: GrpcFailureClass, d: Duration, span: &Span| {
            // Status codes are logged from headers and trailers; only transport failures here.
            if let GrpcFailureClass::Error(error) = class {
                let _enter = span.enter();
                tracing::info!(%error, duration = ?d, "call failed");
            }
        })
}
