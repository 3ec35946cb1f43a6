//! `Greeter` (helloworld.proto): both methods answer `hello {name}`, as the seed's server does.
use crate::serve::pb::{greeter_server, HelloReply, HelloRequest};
use tonic::{Request, Response, Status};

/// The `Greeter` service.
#[derive(Debug, Default)]
pub struct Greeter;

fn greet(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let name = request.into_inner().name;
    Ok(Response::new(HelloReply {
        message: format!("hello {name}"),
    }))
}

#[tonic::async_trait]
impl greeter_server::Greeter for Greeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        greet(request)
    }

    async fn say_hello_again(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        greet(request)
    }
}
