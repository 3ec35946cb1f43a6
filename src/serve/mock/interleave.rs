//! Bidi stubs that answer while the client still sends: a recording's `interleave N...` says how
//! many answers had come before each request, and the mock gives them so, message by message,
//! so that a client that waits for an answer before its next request (ping-pong) is answered.
//! The stub is chosen on the first request (the first in file order with an `interleave` whose
//! first request it contains); a stream that then goes another way than recorded ends with the
//! unmatched status.
use super::{Messages, Method, Mock};
use crate::lang::expect::contains;
use futures_util::StreamExt;
use prost_reflect::DynamicMessage;
use serde_json::Value;
use std::sync::Arc;
use tonic::{Code, Status};

/// The stub that answers a bidi call beginning with `first`, by index.
pub(super) fn stub(method: &Method, first: &Value) -> Option<usize> {
    method.stubs.iter().position(|s| {
        !s.interleave.is_empty()
            && s.answer.is_ok()
            && s.requests.first().is_some_and(|e| contains(first, e))
    })
}

/// Answers as the stub's recording went: after request `i`, the answers that had come before
/// request `i + 1`; after the last, the rest. A request unlike the recorded one ends the call.
pub(super) async fn answer(
    mock: Arc<Mock>,
    path: String,
    index: usize,
    first: Value,
    incoming: tonic::Streaming<DynamicMessage>,
) -> Result<tonic::Response<Messages>, Status> {
    let stub = &mock.methods[&path].stubs[index];
    let messages = match &stub.answer {
        Ok(reply) => reply.messages(Some(&first))?,
        Err((code, message)) => return Err(Status::new(*code, message.clone())),
    };
    if let Some(delay) = stub.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response_headers = stub.headers.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<DynamicMessage, Status>>(16);
    tokio::spawn(play(
        mock.clone(),
        path,
        index,
        first,
        messages,
        incoming,
        tx,
    ));
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).boxed();
    let mut response = tonic::Response::new(stream);
    std::mem::swap(response.metadata_mut(), &mut response_headers);
    Ok(response)
}

/// Plays a recorded bidi stream: each answer sent once the requests the recording had seen
/// before it have come and matched; a request that does not match ends the call.
async fn play(
    mock: Arc<Mock>,
    path: String,
    index: usize,
    first: Value,
    messages: Vec<DynamicMessage>,
    mut incoming: tonic::Streaming<DynamicMessage>,
    tx: tokio::sync::mpsc::Sender<Result<DynamicMessage, Status>>,
) {
    let stub = &mock.methods[&path].stubs[index];
    let pace = match mock.settings.pace {
        super::Pace::Recorded => stub.pace.as_slice(),
        super::Pace::None => &[],
    };
    let mut messages = messages.into_iter().enumerate();
    let mut send = async |upto: usize| {
        for (i, m) in messages.by_ref().take(upto) {
            if let Some(wait) = pace.get(i) {
                tokio::time::sleep(*wait).await;
            }
            if tx.send(Ok(m)).await.is_err() {
                return false;
            }
        }
        true
    };
    let went_astray = |received: Vec<Value>| {
        let message = format!(
            "the stream went another way than recorded ({}): {}",
            stub.at,
            crate::lang::recording::compact(&Value::Array(received))
        );
        Err(Status::new(mock.settings.unmatched, message))
    };
    let mut received = vec![first];
    let mut sent = 0;
    loop {
        let n = received.len();
        if !stub
            .requests
            .get(n - 1)
            .is_some_and(|e| contains(&received[n - 1], e))
        {
            let _ = tx.send(went_astray(received)).await;
            return;
        }
        // What had come before the next request; after the last one, the rest.
        let upto = stub.interleave.get(n).copied().unwrap_or(usize::MAX);
        if upto > sent && !send(upto - sent).await {
            return;
        }
        sent = sent.max(upto);
        match incoming.next().await {
            Some(Ok(m)) if n < crate::lang::recording::LISTED_MESSAGES => {
                received.push(serde_json::to_value(&m).unwrap_or(Value::Null))
            }
            Some(Ok(_)) => {
                let limit = crate::lang::recording::LISTED_MESSAGES;
                let message = format!("the mock reads at most {limit} messages of a call");
                let _ = tx.send(Err(Status::resource_exhausted(message))).await;
                return;
            }
            Some(Err(status)) => {
                let _ = tx.send(Err(status)).await;
                return;
            }
            None => break,
        }
    }
    if received.len() != stub.requests.len() {
        let _ = tx.send(went_astray(received)).await;
        return;
    }
    if send(usize::MAX).await && !stub.trailers.is_empty() {
        let trailers = stub.trailers.clone();
        let _ = tx
            .send(Err(Status::with_metadata(Code::Ok, "", trailers)))
            .await;
    }
}
