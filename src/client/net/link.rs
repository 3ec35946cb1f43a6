//! The way a session's calls travel: gRPC on tonic's channel, or Connect and gRPC-Web on
//! `web::Client`. Front ends hold a `Link` and call through it, whatever the protocol.
use crate::client::wire::invoke::{CallError, CallOptions, Handler};
use futures_util::Stream;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tonic::transport::Channel;

#[derive(Clone)]
pub enum Link {
    Grpc(Channel),
    Web(std::sync::Arc<crate::client::net::web::Client>),
}

impl Link {
    /// Calls `method`: see `invoke::invoke`, which `web::Client::invoke` mirrors.
    pub async fn invoke(
        &self,
        method: &MethodDescriptor,
        requests: impl Stream<Item = DynamicMessage> + Send + 'static,
        options: &CallOptions,
        handler: &mut impl Handler,
    ) -> Result<(), CallError> {
        match self {
            Link::Grpc(channel) => {
                let call = crate::client::wire::invoke::invoke(
                    channel.clone(),
                    method,
                    requests,
                    options,
                    handler,
                );
                // tonic stops enforcing the deadline once response headers arrived: a server
                // that then sends nothing would hold the call for ever.
                match options.timeout {
                    None => call.await,
                    Some(t) => tokio::time::timeout(t, call).await.unwrap_or_else(|_| {
                        Err(CallError::Status(crate::client::wire::status::timed_out()))
                    }),
                }
            }
            Link::Web(client) => client.invoke(method, requests, options, handler).await,
        }
    }

    /// Why `method` cannot be called on this link (a bidi stream over HTTP/1.1), said before
    /// anything is sent or a stream prompt opens.
    pub fn refuses(&self, method: &MethodDescriptor) -> Option<anyhow::Error> {
        match self {
            Link::Grpc(_) => None,
            Link::Web(client) => client.refuses(method),
        }
    }
}
