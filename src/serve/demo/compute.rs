//! `compute.Compute` (compute.proto): the length of `helloworld` in Unicode code points, as a
//! decimal string — what the seed's Python `len()` returns.
use crate::serve::pb::compute::{compute_server, HelloReply, HelloRequest};
use tonic::{Request, Response, Status};

/// The `compute.Compute` service.
#[derive(Debug, Default)]
pub struct Compute;

#[tonic::async_trait]
impl compute_server::Compute for Compute {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let text = request.into_inner().helloworld;
        Ok(Response::new(HelloReply {
            result: text.chars().count().to_string(),
        }))
    }
}
