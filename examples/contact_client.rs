//! The seed's server-push pattern: subscribe with `getTask`, make the server push a task with
//! `sendStatus` (`push TEXT`), acknowledge each task with `tellResult`.
//! `cargo run --example contact_client -- 127.0.0.1:50051 [TASKS]`
use rpcsh::serve::pb::{contact_client::ContactClient, ClientMsg, Empty, Result as Ack};
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:50051".into());
    let wanted: usize = args.next().map_or(Ok(3), |n| n.parse())?;
    let client = ContactClient::connect(format!("http://{addr}")).await?;

    // Subscribe first: a task reaches the subscribers that exist when it is produced.
    let mut tasks = client.clone().get_task(Empty {}).await?.into_inner();
    let (ack_tx, ack_rx) = tokio::sync::mpsc::channel(16);
    let tell = tokio::spawn({
        let mut client = client.clone();
        async move {
            client
                .tell_result(tokio_stream::wrappers::ReceiverStream::new(ack_rx))
                .await
        }
    });

    // Keep pushing until enough tasks came back, as the seed's client keeps sending status.
    let pusher = tokio::spawn({
        let mut client = client.clone();
        async move {
            for i in 1.. {
                let msgs = vec![
                    ClientMsg {
                        msg: format!("数据:{i}"),
                    },
                    ClientMsg {
                        msg: format!("push 任务:客户端{i}"),
                    },
                ];
                let mut replies = client
                    .send_status(tokio_stream::iter(msgs))
                    .await?
                    .into_inner();
                while let Some(reply) = replies.message().await? {
                    println!("{}", reply.ret);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok::<_, tonic::Status>(())
        }
    });

    for _ in 0..wanted {
        let Some(task) = tasks.message().await? else {
            break;
        };
        println!("客户端已接收到服务端任务：{}", task.task);
        ack_tx
            .send(Ack {
                ret: format!("客户端接收到任务:{}", task.task),
            })
            .await?;
    }
    pusher.abort();
    drop(ack_tx);
    tell.await??;
    println!("tellResult: acknowledged {wanted} tasks");
    Ok(())
}
