//! `Contact` (contact.proto): the seed's server-push pattern. Owns the task fan-out: tasks come
//! from a periodic generator and from `sendStatus` messages `push TEXT`, and reach every `getTask`
//! subscriber that was subscribed when they were produced.
//!
//! Memory is bounded whatever subscribers do (the seed's task list grew forever): tasks go through
//! a fixed-size broadcast ring, a subscriber that falls behind skips the tasks it missed (logged),
//! and a subscriber whose client went away is dropped with its stream.
use crate::serve::pb::{contact_server, ClientMsg, Empty, Result as ResultMsg, ServerMsg};
use futures_util::Stream;
use rand::Rng;
use std::{pin::Pin, time::Duration};
use tokio::sync::{broadcast, watch};
use tonic::{Request, Response, Status, Streaming};

/// Tasks a subscriber may fall behind by before it skips.
pub const TASK_BACKLOG: usize = 1024;
/// Tasks the generator produces each interval, as the seed's server.
pub const TASK_BATCH: usize = 10;

/// The `Contact` service: one generator and one broadcast ring shared by all subscribers.
#[derive(Debug, Clone)]
pub struct Contact {
    tasks: broadcast::Sender<String>,
    shutdown: watch::Receiver<bool>,
}

impl Contact {
    /// A `Contact` whose `getTask` streams end when `shutdown` turns true, so a graceful shutdown
    /// is not held up by subscribers that would otherwise listen forever.
    pub fn new(shutdown: watch::Receiver<bool>) -> Self {
        let (tasks, _) = broadcast::channel(TASK_BACKLOG);
        Contact { tasks, shutdown }
    }

    /// Produces a batch of `任务:{100..=200}` tasks every `interval` until shutdown. Runs on the
    /// current tokio runtime; the caller skips it for a zero interval.
    pub fn spawn_generator(&self, interval: Duration) {
        let tasks = self.tasks.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
                let batch: Vec<String> = {
                    let mut rng = rand::rng();
                    (0..TASK_BATCH)
                        .map(|_| format!("任务:{}", rng.random_range(100..=200)))
                        .collect()
                };
                for task in batch {
                    // An error only means nobody is subscribed: the task is not kept.
                    let _ = tasks.send(task);
                }
            }
        });
    }

    fn push(&self, task: String) {
        let _ = self.tasks.send(task);
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl contact_server::Contact for Contact {
    type sendStatusStream = BoxStream<ResultMsg>;

    async fn send_status(
        &self,
        request: Request<Streaming<ClientMsg>>,
    ) -> Result<Response<Self::sendStatusStream>, Status> {
        let mut messages = request.into_inner();
        let this = self.clone();
        let stream = async_stream::try_stream! {
            while let Some(ClientMsg { msg }) = messages.message().await? {
                if let Some(task) = msg.strip_prefix("push ") {
                    this.push(task.to_string());
                }
                yield ResultMsg { ret: format!("服务端接收到消息:{msg}") };
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    type getTaskStream = BoxStream<ServerMsg>;

    async fn get_task(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<Self::getTaskStream>, Status> {
        let peer = request
            .remote_addr()
            .map_or_else(|| "a local client".to_string(), |a| a.to_string());
        let mut tasks = self.tasks.subscribe();
        let mut shutdown = self.shutdown.clone();
        tracing::info!(%peer, "getTask: subscriber joined");
        let stream = async_stream::stream! {
            // Dropped with the stream, which tonic drops as soon as the client goes away.
            let _left = Departure(peer.clone());
            loop {
                let next = tokio::select! {
                    next = tasks.recv() => next,
                    _ = shutdown.wait_for(|s| *s) => break,
                };
                match next {
                    Ok(task) => yield Ok(ServerMsg { task }),
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::warn!(%peer, skipped, "getTask: slow subscriber skipped tasks");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn tell_result(
        &self,
        request: Request<Streaming<ResultMsg>>,
    ) -> Result<Response<Empty>, Status> {
        let mut acks = request.into_inner();
        while let Some(ResultMsg { ret }) = acks.message().await? {
            tracing::info!(ret, "tellResult: client acknowledged");
        }
        Ok(Response::new(Empty {}))
    }
}

/// Logs a subscriber's departure when its stream is dropped, however it ended.
struct Departure(String);

impl Drop for Departure {
    fn drop(&mut self) {
        tracing::info!(peer = %self.0, "getTask: subscriber left");
    }
}
