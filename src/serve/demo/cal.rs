//! `Cal` (SimpleCal.proto): `Add` and `Multiply` on int32. The seed's Python ints never overflow
//! but the wire type does, so a result outside int32 is `OUT_OF_RANGE`, never a wrapped number.
use crate::serve::pb::{cal_server, AddRequest, MultiplyRequest, ResultReply};
use tonic::{Request, Response, Status};

/// The `Cal` service.
#[derive(Debug, Default)]
pub struct Cal;

fn reply(result: Option<i32>, a: i32, op: char, b: i32) -> Result<Response<ResultReply>, Status> {
    match result {
        Some(number) => Ok(Response::new(ResultReply { number })),
        None => Err(Status::out_of_range(format!(
            "{a} {op} {b} does not fit in int32 (range {} to {})",
            i32::MIN,
            i32::MAX
        ))),
    }
}

#[tonic::async_trait]
impl cal_server::Cal for Cal {
    async fn add(&self, request: Request<AddRequest>) -> Result<Response<ResultReply>, Status> {
        let AddRequest {
            number1: a,
            number2: b,
        } = request.into_inner();
        reply(a.checked_add(b), a, '+', b)
    }

    async fn multiply(
        &self,
        request: Request<MultiplyRequest>,
    ) -> Result<Response<ResultReply>, Status> {
        let MultiplyRequest {
            number1: a,
            number2: b,
        } = request.into_inner();
        reply(a.checked_mul(b), a, '*', b)
    }
}
