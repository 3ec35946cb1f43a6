//! The seed's calculator client, and what an int32 overflow looks like from a client.
//! `cargo run --example cal_client -- 127.0.0.1:50051 [N M]`
use rpcsh::serve::pb::{cal_client::CalClient, AddRequest, MultiplyRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:50051".into());
    let n: i32 = args.get(1).map_or(Ok(100), |a| a.parse())?;
    let m: i32 = args.get(2).map_or(Ok(300), |a| a.parse())?;
    let mut client = CalClient::connect(format!("http://{addr}")).await?;
    let sum = client
        .add(AddRequest {
            number1: n,
            number2: m,
        })
        .await?;
    println!("{n} + {m} = {}", sum.into_inner().number);
    match client
        .multiply(MultiplyRequest {
            number1: n,
            number2: m,
        })
        .await
    {
        Ok(product) => println!("{n} * {m} = {}", product.into_inner().number),
        Err(status) => println!("{n} * {m}: {:?}: {}", status.code(), status.message()),
    }
    Ok(())
}
