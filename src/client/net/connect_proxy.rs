//! HTTP CONNECT proxies: which proxy a connection goes through — `--proxy URL|none`, a config
//! section's `proxy`, else the environment as gRPC's own stacks read it — and the tunnel
//! through it. gRPC's rule is not curl's: grpc-go takes HTTPS_PROXY for every target, plaintext
//! or TLS, and C-core `grpc_proxy`, then `https_proxy`, then `http_proxy`; a user who set
//! HTTPS_PROXY for grpcurl expects a plaintext target to go through it too.
//! The target's name goes to the proxy unresolved; TLS, when the target has it, runs inside the
//! tunnel, end to end. Loopback targets and unix sockets never go through a proxy.
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the proxy setting comes from: `--proxy` or the config (a URL, or `none`), else the
/// environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Setting {
    #[default]
    Environment,
    /// `--proxy none`: straight to the server, whatever the environment says.
    Off,
    Url(String),
}

impl Setting {
    pub fn parse(text: &str) -> Setting {
        match text.trim() {
            "none" | "off" | "" => Setting::Off,
            url => Setting::Url(url.to_string()),
        }
    }
}

/// The proxy one connection goes through.
#[derive(Clone)]
pub struct Proxy {
    /// `host:port`, as shown to the user (never the credentials).
    pub shown: String,
    auth: Option<http::HeaderValue>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proxy {}", self.shown)
    }
}

/// The proxy for `address` (`host:port`), plaintext or TLS, if any.
pub fn for_target(setting: &Setting, address: &str, tls: bool) -> anyhow::Result<Option<Proxy>> {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    if is_loopback(host) {
        return Ok(None);
    }
    let dst: http::Uri = match format!("{}://{address}", if tls { "https" } else { "http" }).parse()
    {
        Ok(uri) => uri,
        Err(_) => return Ok(None),
    };
    let no_proxy = || {
        ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|n| std::env::var(n).ok())
            .unwrap_or_default()
    };
    let intercept = match setting {
        Setting::Off => return Ok(None),
        Setting::Environment => match from_env() {
            Some(url) => Matcher::builder()
                .all(url)
                .no(no_proxy())
                .build()
                .intercept(&dst),
            None => None,
        },
        Setting::Url(url) => {
            let checked = check_url(url)?;
            Matcher::builder()
                .all(checked)
                .no(no_proxy())
                .build()
                .intercept(&dst)
        }
    };
    intercept.map(proxy).transpose()
}

/// The proxy the environment names for gRPC targets: `grpc_proxy`, then HTTPS_PROXY, then
/// HTTP_PROXY (each in either case; upper-case HTTP_PROXY not under CGI, where a request's
/// `Proxy:` header would set it).
fn from_env() -> Option<String> {
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
    [
        "grpc_proxy",
        "GRPC_PROXY",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ]
    .iter()
    .filter(|name| !(cgi && **name == "HTTP_PROXY"))
    .filter_map(|name| std::env::var(name).ok())
    .find(|url| !url.trim().is_empty())
}

/// A `--proxy` URL rpcsh can use: http://[user:pass@]host[:port] (the scheme may be left out).
fn check_url(url: &str) -> anyhow::Result<String> {
    let with_scheme = match url.contains("://") {
        true => url.to_string(),
        false => format!("http://{url}"),
    };
    let uri: http::Uri = with_scheme
        .parse()
        .map_err(|_| anyhow::anyhow!("--proxy {:?} is not a URL", redact(url)))?;
    if uri.authority().is_none() {
        anyhow::bail!("--proxy {:?} names no host", redact(url));
    }
    Ok(with_scheme)
}

fn proxy(intercept: Intercept) -> anyhow::Result<Proxy> {
    let uri = intercept.uri();
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => anyhow::bail!(crate::sys::error::Hint::new(
            format!(
                "the proxy https://{} wants TLS to the proxy itself, which rpcsh does not support",
                uri.authority().map_or("", |a| a.as_str())
            ),
            "most proxies take plain http:// on the same port (TLS to the server still runs end to end through it)",
        )),
        Some(other) => anyhow::bail!("{other} proxies are not supported (only HTTP CONNECT ones)"),
        None => {}
    }
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(80);
    Ok(Proxy {
        shown: format!("{host}:{port}"),
        auth: intercept.basic_auth().cloned(),
    })
}

/// A URL with its credentials hidden, for errors and `config show`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            format!("{}://<credentials>@{}", &url[..s], &url[at + 1..])
        }
        (None, Some(at)) => format!("<credentials>@{}", &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What went wrong with the proxy itself: said as such, never as the server's fault.
#[derive(Debug)]
pub struct ProxyFailed(pub String);

impl std::fmt::Display for ProxyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProxyFailed {}

/// Whether `err` (or what caused it) is the proxy's failure.
pub fn failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        let inner = e
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|i| i.is::<ProxyFailed>());
        if inner || e.is::<ProxyFailed>() {
            return true;
        }
        next = e.source();
    }
    false
}

impl Proxy {
    /// A TCP connection to `address` through the proxy: CONNECT, and the stream once the proxy
    /// answered 200.
    pub async fn tunnel(&self, address: &str) -> io::Result<TcpStream> {
        let failed = |text: String| io::Error::other(ProxyFailed(text));
        let mut stream = TcpStream::connect(&self.shown).await.map_err(|e| {
            failed(format!(
                "cannot reach the proxy {}: {}",
                self.shown,
                crate::sys::error::root_cause(&e)
            ))
        })?;
        stream.set_nodelay(true)?;
        let mut request = format!("CONNECT {address} HTTP/1.1\r\nHost: {address}\r\n");
        if let Some(auth) = &self.auth {
            request.push_str("Proxy-Authorization: ");
            request.push_str(auth.to_str().unwrap_or_default());
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        // Read up to the end of the proxy's headers, and not a byte past it: what follows is
        // the server's.
        let mut head = Vec::with_capacity(256);
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 16 * 1024 {
                return Err(failed(format!(
                    "the proxy {} answered CONNECT with headers past 16 KiB",
                    self.shown
                )));
            }
            let mut byte = [0u8; 1];
            if stream.read(&mut byte).await? == 0 {
                return Err(failed(format!(
                    "the proxy {} closed the connection without answering CONNECT",
                    self.shown
                )));
            }
            head.push(byte[0]);
            if head.len() == 5 && &head[..] != b"HTTP/" {
                break;
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let (code, reason) = match response.parse(&head) {
            Ok(httparse::Status::Complete(_)) => (
                response.code.unwrap_or_default(),
                response.reason.unwrap_or_default().to_string(),
            ),
            _ => {
                return Err(failed(format!(
                    "the proxy {} answered CONNECT with something other than HTTP",
                    self.shown
                )))
            }
        };
        let status = format!("{code} {reason}");
        let status = crate::sys::style::printable(&status);
        let proxy = &self.shown;
        match code {
            200..=299 => Ok(stream),
            407 if self.auth.is_some() => Err(failed(format!(
                "the proxy {proxy} refused the credentials in its URL ({status})"
            ))),
            407 => Err(failed(format!(
                "the proxy {proxy} wants credentials ({status}): give them in its URL, http://USER:PASSWORD@{proxy}"
            ))),
            403 => Err(failed(format!(
                "the proxy {proxy} refused to connect to {address} ({status})"
            ))),
            502..=504 => Err(failed(format!(
                "the proxy {proxy} could not reach {address} ({status})"
            ))),
            _ => Err(failed(format!(
                "the proxy {proxy} did not connect to {address} ({status})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_none_are_never_proxied() {
        let url = Setting::Url("http://u:p@proxy.example:3128".into());
        for local in ["localhost:1", "127.0.0.1:1", "[::1]:1", "a.localhost:1"] {
            assert!(for_target(&url, local, true).unwrap().is_none(), "{local}");
        }
        assert!(for_target(&Setting::Off, "grpc.test:1", true)
            .unwrap()
            .is_none());
        let p = for_target(&url, "grpc.test:1", false).unwrap().unwrap();
        assert_eq!(p.shown, "proxy.example:3128");
        assert!(p.auth.is_some());
        assert_eq!(format!("{p:?}"), "proxy proxy.example:3128");
    }

    #[test]
    fn unsupported_proxies_are_said_and_passwords_are_not() {
        let https = Setting::Url("https://proxy.example".into());
        let err = for_target(&https, "grpc.test:1", true).unwrap_err();
        assert!(err.to_string().contains("does not support"), "{err}");
        let bad = Setting::Url("http://u:secret@".into());
        let err = for_target(&bad, "grpc.test:1", true).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(redact("http://u:s@h:1"), "http://<credentials>@h:1");
    }
}
