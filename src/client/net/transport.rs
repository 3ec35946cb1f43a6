//! Connecting to a server: parsing the address (`host:port`, `http://`, `https://`, `unix:`),
//! choosing plaintext or TLS, client certificates, and turning connection failures into errors
//! with the root cause and a hint. Calls and reflection both ride on the `Channel` made here.
use crate::sys::error::Hint;
use anyhow::{bail, Context};
use hyper_util::rt::TokioIo;
pub use rustls_tls::rustls_connector;
use std::{path::PathBuf, time::Duration};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// The name rpcsh gives itself in `user-agent`, before the user's `--user-agent` is added.
pub const AGENT: &str = concat!("rpcsh/", env!("CARGO_PKG_VERSION"));

/// Connection settings shared by every command that talks to a server.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Force plaintext (h2c).
    pub plaintext: bool,
    /// Force TLS.
    pub tls: bool,
    /// PEM file of the CA that signs the server's certificate (instead of the system roots).
    pub cacert: Option<PathBuf>,
    /// PEM client certificate and key, for mutual TLS.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The `:authority` (and TLS server name) to use instead of the address's host.
    pub authority: Option<String>,
    /// `--servername`: the TLS server name (SNI and the name verified) apart from `:authority`.
    pub servername: Option<String>,
    pub connect_timeout: Option<Duration>,
    /// HTTP/2 keepalive: a ping after this long without a frame from the server, and the
    /// connection given up when it goes unanswered as long (None: off).
    pub keepalive: Option<Duration>,
    pub user_agent: Option<String>,
    /// Accept any server certificate (TLS without authentication).
    pub insecure: bool,
    /// `--max-header-size`: the largest response header list read, decoded.
    pub max_header_size: Option<u32>,
    /// `--proxy`, or the config's `proxy`: else the environment's.
    pub proxy: crate::client::net::connect_proxy::Setting,
}

impl TransportOptions {
    /// The proxy connections to `target` go through, if any (never for unix sockets).
    pub fn proxy_for(
        &self,
        target: &Target,
    ) -> anyhow::Result<Option<crate::client::net::connect_proxy::Proxy>> {
        match target.unix {
            true => Ok(None),
            false => crate::client::net::connect_proxy::for_target(
                &self.proxy,
                &target.address,
                target.tls,
            ),
        }
    }

    /// The largest response header list read: grpc-go's 16 MiB unless the user said otherwise.
    pub fn header_limit(&self) -> u32 {
        self.max_header_size
            .unwrap_or(crate::sys::util::MAX_HEADER_LIST_SIZE)
    }
}

/// Where to connect, parsed from the address a user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port` for TCP, the socket path for unix sockets.
    pub address: String,
    pub unix: bool,
    pub tls: bool,
    /// The path an `http(s)://HOST[:PORT]/PREFIX` URL names (`/api`), before Connect and
    /// gRPC-Web paths; empty without one.
    pub prefix: String,
}

impl Target {
    /// Parses `ADDR` as a user typed it. Without a scheme, loopback hosts and unix sockets are
    /// plaintext and other hosts TLS, unless a TLS-only flag (`--cacert`, `--cert`,
    /// `--insecure`) says TLS; `--plaintext`/`--tls` override all of these.
    pub fn parse(addr: &str, options: &TransportOptions) -> anyhow::Result<Target> {
        if options.plaintext && options.tls {
            bail!("--plaintext and --tls contradict each other");
        }
        let (scheme_tls, rest) = if let Some(rest) = addr.strip_prefix("https://") {
            (Some(true), rest)
        } else if let Some(rest) = addr.strip_prefix("http://") {
            (Some(false), rest)
        } else {
            (None, addr)
        };
        if let Some(path) = rest
            .strip_prefix("unix://")
            .or_else(|| rest.strip_prefix("unix:"))
        {
            if path.is_empty() {
                bail!("invalid address {addr:?}: unix: needs a socket path");
            }
            // As for TCP: a CA or a client certificate means TLS (servers do serve TLS on
            // unix sockets), unless --plaintext says otherwise.
            let implied = options.cacert.is_some() || options.cert.is_some() || options.insecure;
            let tls = options.tls || scheme_tls == Some(true) || (implied && !options.plaintext);
            return Ok(Target {
                address: path.to_string(),
                unix: true,
                tls,
                prefix: String::new(),
            });
        }
        // A URL may go on with a path: the prefix Connect and gRPC-Web calls are mounted under.
        let (rest, prefix) = match (scheme_tls, rest.split_once('/')) {
            (Some(_), Some((host, path))) => (
                host,
                format!("/{}", path.trim_matches('/'))
                    .trim_end_matches('/')
                    .to_string(),
            ),
            _ => (rest.trim_end_matches('/'), String::new()),
        };
        let (host, port) = split_host_port(rest).ok_or_else(|| {
            anyhow::anyhow!(
                "invalid address {addr:?}: expected HOST:PORT, http(s)://HOST:PORT or unix:PATH"
            )
        })?;
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| anyhow::anyhow!("invalid port in {addr:?}"))?,
            None if scheme_tls == Some(true) => 443,
            None if scheme_tls == Some(false) => 80,
            None => bail!(Hint::new(
                format!("invalid address {addr:?}: no port"),
                format!("add the port, as in {rest}:50051"),
            )),
        };
        // A CA or a client certificate means TLS, as in grpcurl and curl.
        let implied = options.cacert.is_some() || options.cert.is_some() || options.insecure;
        let tls = if options.tls {
            true
        } else if options.plaintext {
            false
        } else {
            scheme_tls.unwrap_or_else(|| implied || !is_loopback(host))
        };
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Target {
            address,
            unix: false,
            tls,
            prefix,
        })
    }

    /// The address as messages show it.
    pub fn shown(&self) -> String {
        match self.unix {
            true => format!("unix:{}", self.address),
            false => self.address.clone(),
        }
    }

    /// The host name (or IP), without the port: `localhost` for a unix socket.
    pub fn host(&self) -> &str {
        if self.unix {
            return "localhost";
        }
        let host = self
            .address
            .rsplit_once(':')
            .map_or(self.address.as_str(), |(h, _)| h);
        host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// `host:port` (a name, IPv4 or `[IPv6]`, and a port of digits), `unix:PATH`, or an
/// `http(s)://` URL: never a method (`Svc/Method`), a message name or JSON.
pub fn looks_like_address(word: &str) -> bool {
    if word.starts_with("unix:") || word.starts_with("http://") || word.starts_with("https://") {
        return true;
    }
    let Some((host, port)) = word.rsplit_once(':') else {
        return false;
    };
    let host_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':');
    !host.is_empty()
        && host.chars().all(host_char)
        && !port.is_empty()
        && port.len() <= 5
        && port.chars().all(|c| c.is_ascii_digit())
}

/// `host:port`, `[v6]:port`, or a bare host.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')));
    }
    match s.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Some((s, None)), // bare IPv6
        Some((host, port)) => Some((host, Some(port))),
        None => Some((s, None)),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A connection's byte stream: TCP or a unix socket, maybe under TLS.
pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Stream for T {}

/// The endpoint tonic connects through: the `:authority`, HTTP/2 settings, the user agent,
/// and tonic's TLS where it does TLS itself.
fn endpoint(
    target: &Target,
    options: &TransportOptions,
    tonic_tls: bool,
) -> anyhow::Result<Endpoint> {
    let scheme = if tonic_tls { "https" } else { "http" };
    let authority = options.authority.clone().unwrap_or_else(|| {
        if target.unix {
            "localhost".to_string()
        } else {
            target.address.clone()
        }
    });
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{authority}"))
        .with_context(|| format!("invalid authority {authority:?}"))?
        .tcp_nodelay(true)
        .http2_max_header_list_size(options.header_limit());
    if let Some(t) = options.connect_timeout {
        endpoint = endpoint.connect_timeout(t);
    }
    if let Some(k) = options.keepalive {
        endpoint = endpoint
            .http2_keep_alive_interval(k)
            .keep_alive_timeout(k)
            .keep_alive_while_idle(true);
    }
    // tonic appends its own `tonic/VERSION`: the server sees `[USER-AGENT ]rpcsh/VERSION
    // tonic/VERSION`, as grpc-go's clients put their name before grpc-go's.
    let agent = match &options.user_agent {
        Some(ua) => format!("{ua} {AGENT}"),
        None => AGENT.to_string(),
    };
    endpoint = endpoint.user_agent(agent).context("invalid --user-agent")?;
    if tonic_tls {
        endpoint = endpoint
            .tls_config(tls_config(target, options)?)
            .context("invalid TLS settings")?;
    }
    Ok(endpoint)
}

/// Connects to `target`, failing with a clear error when the server cannot be reached.
pub async fn connect(target: &Target, options: &TransportOptions) -> anyhow::Result<Channel> {
    // With --insecure, and over unix sockets (where tonic's TLS is never applied), TLS is done
    // by our own connector, so tonic must see plain HTTP/2.
    // So is TLS whose server name differs from the :authority, or whose keys go to
    // SSLKEYLOGFILE: tonic's TLS can do neither.
    let own_tls = target.tls
        && (options.insecure || target.unix || options.servername.is_some() || key_log());
    let tonic_tls = target.tls && !own_tls;
    let endpoint = endpoint(target, options, tonic_tls)?;
    let (silence, keepalive) = (options.connect_timeout, options.keepalive);
    let insecure = match own_tls {
        true => Some(
            rustls_connector(target, options, vec![b"h2".to_vec()])
                .context("invalid TLS settings")?,
        ),
        false => None,
    };
    let proxy = options.proxy_for(target)?;
    let connecting = async {
        if target.unix {
            let path = PathBuf::from(&target.address);
            return endpoint
                .connect_with_connector(tower::service_fn(move |_| {
                    let (path, tls) = (path.clone(), insecure.clone());
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        let stream = Watched::new(stream, silence, keepalive);
                        let stream: Box<dyn Stream> = match tls {
                            Some((tls, name)) => Box::new(tls.connect(name, stream).await?),
                            None => Box::new(stream),
                        };
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await;
        }
        let address = target.address.clone();
        if let Some((tls, name)) = insecure {
            return endpoint
                .connect_with_connector(tower::service_fn(move |_| {
                    let (tls, name, address) = (tls.clone(), name.clone(), address.clone());
                    let proxy = proxy.clone();
                    async move {
                        let tcp = tcp(&address, proxy.as_ref(), silence).await?;
                        let stream = Watched::new(tcp, silence, keepalive);
                        Ok::<_, std::io::Error>(TokioIo::new(tls.connect(name, stream).await?))
                    }
                }))
                .await;
        }
        // The endpoint's URI names the authority; the socket goes to the address (tonic adds
        // TLS on top when the endpoint has it).
        endpoint
            .connect_with_connector(tower::service_fn(move |_| {
                let (address, proxy) = (address.clone(), proxy.clone());
                async move {
                    let tcp = tcp(&address, proxy.as_ref(), silence).await?;
                    let stream = Watched::new(tcp, silence, keepalive);
                    Ok::<_, std::io::Error>(TokioIo::new(stream))
                }
            }))
            .await
    };
    warn_insecure(target, options);
    match connecting.await {
        Ok(channel) => Ok(channel),
        Err(err) => Err(connect_error(&err, &target.shown(), target)),
    }
}

/// Whether TLS session keys are to be written for Wireshark (`SSLKEYLOGFILE`, as curl,
/// browsers and grpcurl do).
pub fn key_log() -> bool {
    std::env::var_os("SSLKEYLOGFILE").is_some_and(|v| !v.is_empty())
}

/// The warning that `--insecure` TLS deserves, once per connection made.
pub fn warn_insecure(target: &Target, options: &TransportOptions) {
    if target.tls && options.insecure {
        eprintln!(
            "{} --insecure: the server's certificate is not verified",
            crate::sys::style::paint(
                crate::sys::style::stderr(),
                crate::sys::style::WARNING,
                "rpcsh: warning:"
            )
        );
    }
}

/// TLS through rustls directly: accepting any certificate for `--insecure` (tonic's TLS always
/// verifies), and with the ALPN the HTTP/1.1 protocols need.
mod rustls_tls {
    use super::{Target, TransportOptions};
    use std::sync::Arc;
    use tokio_rustls::rustls::{
        self,
        client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName, UnixTime},
        DigitallySignedStruct, SignatureScheme,
    };

    #[derive(Debug)]
    struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algorithms = &self.0.signature_verification_algorithms;
            rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algorithms = &self.0.signature_verification_algorithms;
            rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// A TLS connector of rustls (for `--insecure`, which tonic's TLS cannot do, and for the
    /// Connect and gRPC-Web client) offering `alpn`, and the name to send as SNI.
    pub fn rustls_connector(
        target: &Target,
        options: &TransportOptions,
        alpn: Vec<Vec<u8>>,
    ) -> anyhow::Result<(tokio_rustls::TlsConnector, ServerName<'static>)> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = if options.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            match &options.cacert {
                Some(ca) => {
                    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| {
                        anyhow::anyhow!("cannot read --cacert {}: {e}", ca.display())
                    })? {
                        roots.add(cert?)?;
                    }
                }
                None => {
                    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                }
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match (&options.cert, &options.key) {
            (Some(cert), Some(key)) => {
                let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
                builder.with_client_auth_cert(certs, PrivateKeyDer::from_pem_file(key)?)?
            }
            _ => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn;
        if super::key_log() {
            config.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        let host = match (&options.servername, &options.authority) {
            (Some(name), _) => name.as_str(),
            (None, Some(a)) => a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h),
            (None, None) => target.host(),
        };
        let name = ServerName::try_from(host.to_string())?;
        Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
    }
}

/// A connection that notices a server gone silent, with an error that says so. Before the first
/// byte, `connect-timeout`: a server (or proxy) that accepts and never answers would otherwise
/// hold a call for ever, since HTTP/2 lets the client send before it hears from the server.
/// After it, with keepalive on, hyper pings a server silent for the keepalive time; a server
/// silent for 1.75 times that has not answered the ping, and the link is taken as lost (a little
/// before hyper's own timeout, whose error would not say why).
pub struct Watched<S> {
    inner: S,
    first: Option<Duration>,
    keepalive: Option<Duration>,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl<S> Watched<S> {
    /// `stream`, watched with the connect timeout and keepalive of `options`.
    pub fn with(stream: S, options: &TransportOptions) -> Self {
        Watched::new(stream, options.connect_timeout, options.keepalive)
    }

    fn new(inner: S, first: Option<Duration>, keepalive: Option<Duration>) -> Self {
        let wait = first
            .or(keepalive.map(Self::limit))
            .unwrap_or(Duration::MAX / 4);
        Watched {
            inner,
            first,
            keepalive,
            timer: Box::pin(tokio::time::sleep(wait)),
        }
    }

    fn limit(keepalive: Duration) -> Duration {
        keepalive * 7 / 4
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Watched<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        use std::task::Poll;
        let before = buf.filled().len();
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.first = None;
                let next = match this.keepalive {
                    Some(k) => Self::limit(k),
                    None => Duration::MAX / 4,
                };
                this.timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + next);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let silence = match (this.first, this.keepalive) {
                    (Some(d), _) => crate::sys::error::Silence::BeforeAnswer(d),
                    (None, Some(k)) => crate::sys::error::Silence::AfterAnswer(Self::limit(k)),
                    (None, None) => return Poll::Pending,
                };
                Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    silence,
                )))
            }
            other => other,
        }
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A TCP connection for our own connectors, without Nagle's delay (as tonic's own): to
/// `address`, or through `proxy` to it (the proxy resolves the name). A name's addresses are
/// tried in turn within `within` (`--connect-timeout`).
pub(crate) async fn tcp(
    address: &str,
    proxy: Option<&crate::client::net::connect_proxy::Proxy>,
    within: Option<Duration>,
) -> std::io::Result<tokio::net::TcpStream> {
    let stream = match proxy {
        Some(proxy) => proxy.tunnel(address).await?,
        None => {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host(address).await?.collect();
            connect_any(&addrs, within).await?
        }
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The first of `addrs` that accepts a connection, each given an equal share of what is left
/// of `within`: an address that never answers (a dead IPv6 route) leaves time for the next,
/// where one connect would wait out the whole budget on it (grpcurl#384).
async fn connect_any(
    addrs: &[std::net::SocketAddr],
    within: Option<Duration>,
) -> std::io::Result<tokio::net::TcpStream> {
    use std::io::{Error, ErrorKind};
    let started = std::time::Instant::now();
    let mut last = Error::new(ErrorKind::NotFound, "the name resolves to no address");
    for (i, addr) in addrs.iter().enumerate() {
        let attempt = tokio::net::TcpStream::connect(addr);
        let result = match within {
            None => attempt.await,
            Some(t) => {
                let share = t.saturating_sub(started.elapsed()) / (addrs.len() - i) as u32;
                tokio::time::timeout(share, attempt)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::new(
                            ErrorKind::TimedOut,
                            format!("{addr} did not answer"),
                        ))
                    })
            }
        };
        match result {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn tls_config(target: &Target, options: &TransportOptions) -> anyhow::Result<ClientTlsConfig> {
    let mut config = ClientTlsConfig::new().domain_name(
        options
            .authority
            .as_deref()
            .map_or(target.host(), |a| a.rsplit_once(':').map_or(a, |(h, _)| h)),
    );
    let read = |p: &PathBuf, what: &str| {
        std::fs::read(p).with_context(|| format!("cannot read {what} {}", p.display()))
    };
    match &options.cacert {
        Some(ca) => config = config.ca_certificate(Certificate::from_pem(read(ca, "--cacert")?)),
        None => config = config.with_native_roots(),
    }
    match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => {
            config = config.identity(Identity::from_pem(
                read(cert, "--cert")?,
                read(key, "--key")?,
            ))
        }
        (None, None) => {}
        _ => bail!("--cert and --key go together"),
    }
    Ok(config)
}

/// The root cause of a failed connection, with a hint for the usual mistakes.
pub(crate) fn connect_error(
    err: &(dyn std::error::Error + 'static),
    shown: &str,
    target: &Target,
) -> anyhow::Error {
    let cause = crate::sys::error::root_cause(err);
    // The proxy's own failure names the proxy and what it said: no hint of the server's.
    if crate::client::net::connect_proxy::failure(err) {
        return anyhow::anyhow!("{cause}");
    }
    let io_kind = crate::sys::error::io_kind(err);
    let message = format!("cannot connect to {shown}: {cause}");
    let hint = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => {
            Some("is the server running, and is the port right?".to_string())
        }
        Some(std::io::ErrorKind::NotFound) if target.unix => Some("no socket at that path: is the server running?".into()),
        Some(std::io::ErrorKind::TimedOut) => Some("the server did not answer: check the address, or raise --connect-timeout".into()),
        _ if target.tls && tls_mismatch(&cause) => {
            Some("the server does not seem to speak TLS: try --plaintext".into())
        }
        _ if target.tls && cause.contains("certificate") => {
            Some("pass the server's CA with --cacert, or name the host the certificate is for with --servername (or --authority)".into())
        }
        _ => None,
    };
    match hint {
        Some(hint) => Hint::new(message, hint).into(),
        None => anyhow::anyhow!(message),
    }
}

fn tls_mismatch(cause: &str) -> bool {
    [
        "corrupt message",
        "InvalidContentType",
        "unexpected EOF",
        "peer closed connection",
        "wrong version",
    ]
    .iter()
    .any(|s| cause.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_next_address_is_tried_when_one_refuses() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (open_addr, closed_addr) = (open.local_addr().unwrap(), closed.local_addr().unwrap());
        drop(closed);
        let budget = Some(Duration::from_secs(5));
        let stream = connect_any(&[closed_addr, open_addr], budget)
            .await
            .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open_addr);
        let refused = connect_any(&[closed_addr], budget).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    fn parse(addr: &str) -> Target {
        Target::parse(addr, &TransportOptions::default()).unwrap()
    }

    #[test]
    fn scheme_and_host_choose_tls() {
        assert_eq!(
            parse("localhost:50051"),
            Target {
                address: "localhost:50051".into(),
                unix: false,
                tls: false,
                prefix: String::new(),
            }
        );
        assert!(!parse("127.0.0.1:1").tls);
        assert!(!parse("[::1]:1").tls);
        assert!(parse("example.com:443").tls);
        assert!(!parse("http://example.com:80").tls);
        assert!(parse("https://127.0.0.1:8443").tls);
        assert_eq!(parse("https://example.com").address, "example.com:443");
        let prefixed = parse("https://example.com/api/v2/");
        assert_eq!(
            (prefixed.address.as_str(), prefixed.prefix.as_str()),
            ("example.com:443", "/api/v2")
        );
        assert_eq!(parse("http://h:8080/").prefix, "");
        assert_eq!(
            parse("unix:/tmp/x.sock"),
            Target {
                address: "/tmp/x.sock".into(),
                unix: true,
                tls: false,
                prefix: String::new(),
            }
        );
        let forced = TransportOptions {
            plaintext: true,
            ..Default::default()
        };
        assert!(!Target::parse("example.com:443", &forced).unwrap().tls);
        let forced = TransportOptions {
            tls: true,
            ..Default::default()
        };
        assert!(Target::parse("localhost:1", &forced).unwrap().tls);
        let with_ca = TransportOptions {
            cacert: Some("ca.pem".into()),
            ..TransportOptions::default()
        };
        assert!(Target::parse("localhost:1", &with_ca).unwrap().tls);
        assert!(!Target::parse("http://localhost:1", &with_ca).unwrap().tls);
    }

    #[test]
    fn bad_addresses_are_errors() {
        for bad in ["", "localhost", "host:port", "unix:", "http://:x"] {
            assert!(
                Target::parse(bad, &TransportOptions::default()).is_err(),
                "{bad:?}"
            );
        }
    }
}
