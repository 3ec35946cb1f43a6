//! The seed's compute client: the length of a string, counted by the server.
//! `cargo run --example compute_client -- 127.0.0.1:50051 [TEXT]`
use rpcsh::serve::pb::compute::{compute_client::ComputeClient, HelloRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:50051".into());
    let text = args.next().unwrap_or_else(|| "123456".into());
    let mut client = ComputeClient::connect(format!("http://{addr}")).await?;
    let reply = client.say_hello(HelloRequest { helloworld: text }).await?;
    println!("received: {}", reply.into_inner().result);
    Ok(())
}
