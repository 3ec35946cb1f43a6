//! The connections of the Connect and gRPC-Web client: TCP or unix sockets, watched for silence
//! as gRPC's are, under TLS with the ALPN the server answers (which decides the HTTP version),
//! handed to hyper's pool.
use crate::client::net::transport::{Target, TransportOptions};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};

use crate::client::net::transport::Stream as Stream2;

/// One connection, and whether TLS chose HTTP/2 for it.
pub struct Io {
    stream: Box<dyn Stream2>,
    pub(super) h2: bool,
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
pub(super) struct Connector {
    pub(super) target: Target,
    pub(super) options: TransportOptions,
    pub(super) tls: Option<(
        tokio_rustls::TlsConnector,
        tokio_rustls::rustls::pki_types::ServerName<'static>,
    )>,
    pub(super) first: Arc<Mutex<Option<Io>>>,
    pub(super) proxy: Option<crate::client::net::connect_proxy::Proxy>,
}

impl Connector {
    pub(super) async fn open(&self) -> std::io::Result<Io> {
        let connecting = async {
            let stream: Box<dyn Stream2> = if self.target.unix {
                let s = tokio::net::UnixStream::connect(&self.target.address).await?;
                Box::new(crate::client::net::transport::Watched::with(
                    s,
                    &self.options,
                ))
            } else {
                let s = crate::client::net::transport::tcp(
                    &self.target.address,
                    self.proxy.as_ref(),
                    self.options.connect_timeout,
                )
                .await?;
                Box::new(crate::client::net::transport::Watched::with(
                    s,
                    &self.options,
                ))
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
