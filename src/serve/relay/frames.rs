//! HTTP/2 between the proxy's clients and a plaintext upstream, frame by frame: each call is one
//! task that takes the client's HEADERS, DATA and trailers and hands them to the upstream's
//! stream as they come (DATA as the same `Bytes`, held back only by the upstream's flow
//! control), and the answer back the same way. No HTTP library's service layer sits between:
//! a proxy doing no more than a server is what keeps it near a server's cost per call. What is
//! not gRPC (gRPC-Web, CORS) goes to the proxy's service (`super::Service`) through the body
//! adapters here, which also carry hyper's calls (HTTP/1.1 clients) to the upstream.
use super::tap::Tap;
use super::{answered, call_started, unreachable, Events, Service, Upstream};
use bytes::Bytes;
use h2::{server::SendResponse, Reason, RecvStream, SendStream};
use http_body::{Body, Frame};
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Window sizes as hyper's (a stream 1 MiB, the connection 1 MiB): h2's own 64 KiB would
/// hold a large message back by round trips.
const WINDOW: u32 = 1 << 20;

/// Streams a client may have open at once, and the size of its headers: hyper's defaults,
/// which the proxy's clients had before.
const STREAMS: u32 = 200;
const HEADER_LIST: u32 = 16 << 10;

/// Serves one client connection that speaks HTTP/2: gRPC calls relayed by frames, other
/// requests through `service`.
pub(super) async fn serve<T>(io: T, upstream: Upstream, events: Events, service: Service)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let handshake = h2::server::Builder::new()
        .initial_window_size(WINDOW)
        .initial_connection_window_size(WINDOW)
        .max_concurrent_streams(STREAMS)
        .max_header_list_size(HEADER_LIST)
        .handshake::<_, Bytes>(io);
    let Ok(mut connection) = handshake.await else {
        return;
    };
    while let Some(Ok((request, respond))) = connection.accept().await {
        if is_grpc(&request) {
            let keep = service.keep_headers;
            let call = call_started(&events, &service.next, &request, keep);
            tokio::spawn(relay(
                request,
                respond,
                upstream.clone(),
                events.clone(),
                call,
                keep,
            ));
        } else {
            tokio::spawn(serve_other(request, respond, service.clone()));
        }
    }
}

/// A gRPC call (not gRPC-Web, which the service translates).
fn is_grpc<B>(request: &http::Request<B>) -> bool {
    let content_type = request.headers().get(http::header::CONTENT_TYPE);
    request.method() == http::Method::POST
        && content_type
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/grpc") && !t.contains("grpc-web"))
}

/// One call: the request's frames sent upstream while the answer's come back. The client going
/// away ends the task, and dropping the upstream's stream resets it (CANCEL).
async fn relay(
    request: http::Request<RecvStream>,
    respond: SendResponse<Bytes>,
    upstream: Upstream,
    events: Events,
    call: u64,
    keep_headers: bool,
) {
    let (head, from_client) = request.into_parts();
    let mut respond = respond;
    let end = from_client.is_end_stream();
    let (answer, to_server) = match upstream.start(head, end).await {
        Ok(opened) => opened,
        Err(e) => {
            let status = unreachable(&events, call, e);
            let (head, ()) = status.into_http::<()>().into_parts();
            let _ = respond.send_response(http::Response::from_parts(head, ()), true);
            return;
        }
    };
    let requests = Tap::new((), events.clone(), call, true, keep_headers);
    let up = async {
        if end {
            return false;
        }
        copy(from_client, to_server, requests).await
    };
    let down = answer_down(answer, respond, events, call, keep_headers);
    tokio::pin!(up, down);
    let mut sending = true;
    loop {
        tokio::select! {
            client_gone = &mut up, if sending => {
                if client_gone {
                    return;
                }
                sending = false;
            }
            () = &mut down => return,
        }
    }
}

/// The client's request frames to the upstream, until its end. True: the client reset the
/// call (so it is cancelled); false: the request is complete, or the upstream stopped taking
/// it (its answer says why).
async fn copy(mut from: RecvStream, mut to: SendStream<Bytes>, mut tap: Tap<()>) -> bool {
    while let Some(data) = from.data().await {
        let Ok(data) = data else {
            return true;
        };
        let len = data.len();
        tap.feed(data.clone());
        let end = from.is_end_stream();
        if send(&mut to, data, end).await.is_err() {
            return false;
        }
        let _ = from.flow_control().release_capacity(len);
        if end {
            return false;
        }
    }
    match from.trailers().await {
        Ok(Some(trailers)) => {
            let _ = to.send_trailers(trailers);
        }
        Ok(None) => {
            let _ = to.send_data(Bytes::new(), true);
        }
        Err(_) => return true,
    }
    false
}

/// The upstream's answer back to the client: its headers, its frames, its trailers.
async fn answer_down(
    answer: h2::client::ResponseFuture,
    mut respond: SendResponse<Bytes>,
    events: Events,
    call: u64,
    keep_headers: bool,
) {
    // Dropped or left before the upstream answered: the client went away, the call is
    // cancelled.
    let waiting = super::Unanswered(Some((events.clone(), call)));
    let response = tokio::select! {
        response = answer => response,
        _ = poll_fn(|cx| respond.poll_reset(cx)) => return,
    };
    drop(waiting.disarm());
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            let status = unreachable(&events, call, crate::sys::error::root_cause(&e));
            let (head, ()) = status.into_http::<()>().into_parts();
            let _ = respond.send_response(http::Response::from_parts(head, ()), true);
            return;
        }
    };
    let (head, mut from) = response.into_parts();
    let ended = answered(&events, call, head.status, &head.headers, keep_headers);
    let mut tap = Tap::new((), events, call, false, keep_headers);
    tap.ended = ended;
    let end = from.is_end_stream();
    let Ok(mut to) = respond.send_response(http::Response::from_parts(head, ()), end) else {
        return;
    };
    if end {
        return;
    }
    loop {
        let data = tokio::select! {
            data = from.data() => data,
            _ = poll_fn(|cx| to.poll_reset(cx)) => return,
        };
        let Some(data) = data else { break };
        let data = match data {
            Ok(data) => data,
            Err(e) => {
                let reason = e.reason().unwrap_or(Reason::INTERNAL_ERROR);
                tap.failed(tonic::Status::from_error(Box::new(e)));
                to.send_reset(reason);
                return;
            }
        };
        let len = data.len();
        if !tap.ended {
            tap.feed(data.clone());
        }
        let end = from.is_end_stream();
        if send(&mut to, data, end).await.is_err() {
            return;
        }
        let _ = from.flow_control().release_capacity(len);
        if end {
            return;
        }
    }
    match from.trailers().await {
        Ok(Some(trailers)) => {
            tap.trailers(&trailers);
            let _ = to.send_trailers(trailers);
        }
        Ok(None) => {
            let _ = to.send_data(Bytes::new(), true);
        }
        Err(e) => {
            let reason = e.reason().unwrap_or(Reason::INTERNAL_ERROR);
            tap.failed(tonic::Status::from_error(Box::new(e)));
            to.send_reset(reason);
        }
    }
}

/// Sends `data` as the peer's flow control allows, in as many frames as it takes.
async fn send(to: &mut SendStream<Bytes>, mut data: Bytes, end: bool) -> Result<(), h2::Error> {
    if data.is_empty() {
        return to.send_data(data, end);
    }
    while !data.is_empty() {
        to.reserve_capacity(data.len());
        let granted = match poll_fn(|cx| to.poll_capacity(cx)).await {
            Some(granted) => granted?,
            None => return Err(Reason::STREAM_CLOSED.into()),
        };
        if granted == 0 {
            continue;
        }
        let chunk = data.split_to(granted.min(data.len()));
        to.send_data(chunk, end && data.is_empty())?;
    }
    Ok(())
}

/// A request that is not gRPC: the service's answer, its body sent as it comes.
async fn serve_other(
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    service: Service,
) {
    use tower::{Layer, Service as _};
    let request = request.map(|body| tonic::body::Body::new(Received::new(body)));
    let mut service = crate::serve::server::WebOnlyLayer.layer(service);
    let response = match service.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (head, body) = response.into_parts();
    let end = body.is_end_stream();
    if let Ok(mut to) = respond.send_response(http::Response::from_parts(head, ()), end) {
        if !end {
            pump(body, &mut to).await;
        }
    }
}

/// A body's frames onto an HTTP/2 stream; reset (CANCEL) if the body fails.
pub(super) async fn pump<B>(body: B, to: &mut SendStream<Bytes>)
where
    B: Body<Data = Bytes>,
{
    use http_body_util::BodyExt;
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            to.send_reset(Reason::CANCEL);
            return;
        };
        let sent = match frame.into_data() {
            Ok(data) => {
                let end = body.is_end_stream();
                send(to, data, end).await.map(|()| end)
            }
            Err(frame) => match frame.into_trailers() {
                Ok(trailers) => to.send_trailers(trailers).map(|()| true),
                Err(_) => Ok(false),
            },
        };
        match sent {
            Ok(true) => return,
            Ok(false) => {}
            Err(_) => return,
        }
    }
    let _ = to.send_data(Bytes::new(), true);
}

/// An HTTP/2 stream's frames as a body, its window given back as they are taken.
pub(super) struct Received {
    stream: RecvStream,
    data_done: bool,
    done: bool,
}

impl Received {
    pub(super) fn new(stream: RecvStream) -> Self {
        Received {
            stream,
            data_done: false,
            done: false,
        }
    }
}

impl Body for Received {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if !self.data_done {
            match ready!(self.stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    let _ = self.stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => self.data_done = true,
            }
        }
        let trailers = ready!(self.stream.poll_trailers(cx));
        self.done = true;
        match trailers {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.stream.is_end_stream()
    }
}
