//! What `rpcsh bench` measures inside the streams of server-streaming and bidi methods: the time
//! to each call's first message, the gap between one message and the next (a server's pushes),
//! and for bidi calls each answer's latency from the send of its request (the nth answer pairs
//! with the nth request, as an echo-like call does). Also the held streams of `--streams N
//! --hold DURATION`: calls kept open, a bidi call's sending side too, until the hold ends.
//! A clock records into the shard of the tally its worker shares. And how a client stream is
//! paced (`--stream-interval`, `--stream-call-count`, `--stream-call-duration`, as ghz's).
use super::tally::{note, Tally};
use futures_util::{Stream, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How the messages of a client-streaming or bidi call are sent.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Pacing {
    /// A pause between one message and the next.
    pub interval: Option<Duration>,
    /// This many messages, the request's in turn, then the sending side closes.
    pub count: Option<usize>,
    /// The sending side closes this long after the call starts (a server stream is ended).
    pub duration: Option<Duration>,
}

impl Pacing {
    /// `items` sent as paced.
    pub(super) fn stream<T: Clone + Send + 'static>(
        &self,
        items: Vec<T>,
    ) -> futures_util::stream::BoxStream<'static, T> {
        let items: futures_util::stream::BoxStream<'static, T> = match self.count {
            Some(n) if !items.is_empty() => {
                tokio_stream::iter(items.into_iter().cycle().take(n)).boxed()
            }
            _ => tokio_stream::iter(items).boxed(),
        };
        let items = match self.interval {
            Some(pause) => items
                .enumerate()
                .then(move |(k, m)| async move {
                    if k > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    m
                })
                .boxed(),
            None => items,
        };
        match self.duration {
            Some(d) => items.take_until(tokio::time::sleep(d)).boxed(),
            None => items,
        }
    }
}

/// The clock of one call: started when the call is made, told of each message as it arrives.
pub(super) struct Clock<'a> {
    tally: &'a Mutex<Tally>,
    start: Instant,
    last: Option<Instant>,
    /// When each request went out (bidi calls only).
    sends: Option<Arc<Mutex<Vec<Instant>>>>,
    seen: usize,
}

impl<'a> Clock<'a> {
    pub(super) fn start(tally: &'a Mutex<Tally>, bidi: bool) -> Clock<'a> {
        Clock {
            tally,
            start: Instant::now(),
            last: None,
            sends: bidi.then(Default::default),
            seen: 0,
        }
    }

    /// The requests, each noting when it is taken to be sent; with `open`, the stream then stays
    /// open instead of ending (a held bidi call).
    pub(super) fn requests<T: Send + 'static>(
        &self,
        items: impl Stream<Item = T> + Send + 'static,
        open: bool,
    ) -> impl Stream<Item = T> + Send + 'static {
        let sends = self.sends.clone();
        let items = items.map(move |m| {
            if let Some(sends) = &sends {
                sends.lock().expect("send times").push(Instant::now());
            }
            m
        });
        let rest =
            futures_util::stream::iter(open.then(futures_util::stream::pending::<T>)).flatten();
        items.chain(rest)
    }

    pub(super) fn message(&mut self) {
        let now = Instant::now();
        let sent = self.sends.as_ref().and_then(|sends| {
            let sends = sends.lock().expect("send times");
            sends.get(self.seen).copied()
        });
        let mut tally = self.tally.lock().expect("tally");
        if let Some(marks) = tally.streams.as_mut() {
            match self.last {
                None => note(&mut marks.first, now - self.start),
                Some(previous) => note(&mut marks.gaps, now - previous),
            }
            if let Some(sent) = sent {
                note(&mut marks.latency, now - sent);
            }
            marks.messages += 1;
        }
        self.seen += 1;
        self.last = Some(now);
    }
}
