//! The tap: a body passed through frame by frame whose gRPC messages, and the end of the call
//! (trailers, an error, or the client going away), are told to the printer.
use super::{cancelled, Ender, Event, Events, TAP_LIMIT};
use crate::sys::util::header_pairs;
use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A body passed through frame by frame, whose gRPC messages are copied to the printer.
pub(super) struct Tap<B> {
    inner: B,
    events: Events,
    call: u64,
    request: bool,
    pending: BytesMut,
    /// Bytes of an over-limit message still to skip.
    skipping: usize,
    /// Whether the call's end was told (a response's trailers, or its error).
    pub(super) ended: bool,
    /// Whether the end carries the trailers (for `-v` and `--record`).
    keep_headers: bool,
}

/// A response body dropped before its end: the client went away (or reset the call), which
/// cancels it upstream too.
impl<B> Drop for Tap<B> {
    fn drop(&mut self) {
        if !self.request && !self.ended {
            self.events.send(cancelled(self.call));
        }
    }
}

impl<B> Tap<B> {
    pub(super) fn new(
        inner: B,
        events: Events,
        call: u64,
        request: bool,
        keep_headers: bool,
    ) -> Self {
        Tap {
            keep_headers,
            inner,
            events,
            call,
            request,
            pending: BytesMut::new(),
            skipping: 0,
            ended: false,
        }
    }

    /// A DATA frame's bytes: each message they complete told.
    pub(super) fn feed(&mut self, mut data: Bytes) {
        let skip = self.skipping.min(data.len());
        self.skipping -= skip;
        data.advance(skip);
        self.pending.extend_from_slice(&data);
        while self.pending.len() >= 5 {
            let len = u32::from_be_bytes([
                self.pending[1],
                self.pending[2],
                self.pending[3],
                self.pending[4],
            ]) as usize;
            let (call, request) = (self.call, self.request);
            if len > TAP_LIMIT {
                self.events.send(Event::TooBig { call, request, len });
                let held = self.pending.len() - 5;
                self.skipping = len.saturating_sub(held);
                self.pending.clear();
                continue;
            }
            if self.pending.len() < 5 + len {
                break;
            }
            let compressed = self.pending[0] & 1 == 1;
            let mut message = self.pending.split_to(5 + len);
            message.advance(5);
            let bytes = message.freeze();
            self.events.send(Event::Message {
                call,
                request,
                compressed,
                bytes,
            });
        }
    }
}

impl<B> Tap<B> {
    /// A response's trailers: the call's end.
    pub(super) fn trailers(&mut self, trailers: &http::HeaderMap) {
        if !self.request {
            self.ended = true;
            self.events.send(Event::End {
                call: self.call,
                status: tonic::Status::from_header_map(trailers),
                trailers: self.keep_headers.then(|| header_pairs(trailers)),
                by: Ender::Server,
            });
        }
    }

    /// A response that failed before its end (a reset, a broken connection).
    pub(super) fn failed(&mut self, status: tonic::Status) {
        if !self.request {
            self.ended = true;
            self.events.send(Event::End {
                call: self.call,
                status: Some(status),
                trailers: None,
                by: Ender::Server,
            });
        }
    }
}

impl<B> Body for Tap<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let frame = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                let status = tonic::Status::from_error(e);
                self.failed(status.clone());
                return Poll::Ready(Some(Err(status)));
            }
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        // Past the end (a trailers-only answer, or one that is not gRPC): passed on, not read.
        if self.ended && !self.request {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(data) = frame.data_ref() {
            let data = data.clone();
            self.feed(data);
        } else if let Some(trailers) = frame.trailers_ref() {
            self.trailers(trailers);
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
