//! `rpcsh.testing.v1.Testing` (testing.proto): a service that does what each request asks —
//! echo after a delay (and request headers named x-* as response headers), fail with a chosen
//! status (from the request, or an `x-echo-code` header), stream N blobs — for tests and
//! benchmarks.
use crate::serve::pb::testing::{
    testing_server, Blob, CollectSummary, EchoReply, EchoRequest, GenerateRequest,
};
use futures_util::Stream;
use std::{collections::HashMap, pin::Pin, time::Duration};
use tonic::metadata::KeyAndValueRef;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::{ErrorDetails, StatusExt};

/// The `rpcsh.testing.v1.Testing` service.
#[derive(Debug, Default)]
pub struct Testing;

/// A protobuf Duration as a std one; negative or absent is zero.
fn duration(d: Option<prost_types::Duration>) -> Duration {
    d.and_then(|d| Duration::try_from(d).ok())
        .unwrap_or_default()
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl testing_server::Testing for Testing {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        // Request headers named x-* come back as response headers: a client can see what it sent.
        let mut echoed = tonic::metadata::MetadataMap::new();
        for entry in request.metadata().iter() {
            match entry {
                KeyAndValueRef::Ascii(k, v) if k.as_str().starts_with("x-") => {
                    echoed.append(k.clone(), v.clone());
                }
                KeyAndValueRef::Binary(k, v) if k.as_str().starts_with("x-") => {
                    echoed.append_bin(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        // The code may come from a header too, so that a client's headers can be seen to arrive
        // where responses are only counted (rpcsh bench).
        let header_code = request
            .metadata()
            .get("x-echo-code")
            .and_then(|v| v.to_str().ok()?.parse::<i32>().ok());
        let mut req = request.into_inner();
        if let Some(code) = header_code.filter(|_| req.code == 0) {
            req.code = code;
        }
        tokio::time::sleep(duration(req.delay)).await;
        if req.code != 0 {
            let code = Code::from_i32(req.code);
            let metadata = HashMap::from([("requested_code".to_string(), req.code.to_string())]);
            let details = ErrorDetails::with_error_info("REQUESTED", "rpcsh.testing.v1", metadata);
            return Err(Status::with_error_details(code, req.message, details));
        }
        let mut reply = Response::new(EchoReply {
            payload: req.payload,
        });
        *reply.metadata_mut() = echoed;
        Ok(reply)
    }

    type GenerateStream = BoxStream<Blob>;

    async fn generate(
        &self,
        request: Request<GenerateRequest>,
    ) -> Result<Response<Self::GenerateStream>, Status> {
        let req = request.into_inner();
        let payload = bytes::Bytes::from(vec![b'x'; req.size as usize]);
        let interval = duration(req.interval);
        // An interval, not a sleep per message: the rate holds even when each tick runs late.
        let mut ticks = (!interval.is_zero()).then(|| tokio::time::interval(interval));
        let stream = async_stream::stream! {
            for seq in 0..req.count {
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                yield Ok(Blob { seq, payload: payload.to_vec() });
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn collect(
        &self,
        request: Request<Streaming<Blob>>,
    ) -> Result<Response<CollectSummary>, Status> {
        let mut blobs = request.into_inner();
        let mut summary = CollectSummary::default();
        while let Some(blob) = blobs.message().await? {
            summary.count += 1;
            summary.bytes += blob.payload.len() as u64;
        }
        Ok(Response::new(summary))
    }

    type ChatStream = BoxStream<Blob>;

    async fn chat(
        &self,
        request: Request<Streaming<Blob>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        let mut blobs = request.into_inner();
        let stream = async_stream::try_stream! {
            while let Some(blob) = blobs.message().await? {
                yield blob;
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }
}
