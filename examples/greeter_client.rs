//! The seed's helloworld client on rpcsh's generated code.
//! Run `rpcsh serve`, then `cargo run --example greeter_client -- 127.0.0.1:50051`.
use rpcsh::serve::pb::{greeter_client::GreeterClient, HelloRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50051".into());
    let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
    let reply = client
        .say_hello(HelloRequest { name: "czl".into() })
        .await?;
    println!("Greeter client received: {}", reply.into_inner().message);
    let reply = client
        .say_hello_again(HelloRequest {
            name: "daydaygo".into(),
        })
        .await?;
    println!("Greeter client received: {}", reply.into_inner().message);
    Ok(())
}
