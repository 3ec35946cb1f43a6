//! What `rpcsh bench` measures inside the streams of server-streaming and bidi methods: the time
//! to each call's first message, the gap between one message and the next (a server's pushes),
//! and for bidi calls each answer's latency from the send of its request (the nth answer pairs
//! with the nth request, as an echo-like call does). Also the held streams of `--streams N
//! --hold DURATION`: calls kept open, a bidi call's sending side too, until the hold ends.
//! A clock records into the shard of the tally its worker shares.
use super::tally::{note, Tally};
use futures_util::{Stream, StreamExt};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

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
        items: Vec<T>,
        open: bool,
    ) -> impl Stream<Item = T> + Send + 'static {
        let sends = self.sends.clone();
        let items = tokio_stream::iter(items).map(move |m| {
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
