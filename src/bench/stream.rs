//! What `rpcsh bench` measures inside the streams of server-streaming and bidi methods: the time
//! to each call's first message, the gap between one message and the next (a server's pushes),
//! and for bidi calls each answer's latency from the send of its request (the nth answer pairs
//! with the nth request, as an echo-like call does). Also the held streams of `--streams N
//! --hold DURATION`: calls kept open, a bidi call's sending side too, until the hold ends.
use futures_util::{Stream, StreamExt};
use hdrhistogram::Histogram;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// A histogram of microseconds, from 1 µs to an hour at 3 significant digits.
pub(super) fn micros() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// The stream metrics of one worker, or of a merge.
pub(super) struct Marks {
    /// From the start of each call to its first message.
    pub first: Histogram<u64>,
    /// From one message to the next of the same call.
    pub gaps: Histogram<u64>,
    /// Bidi: from the send of request n to answer n.
    pub latency: Histogram<u64>,
    /// Messages received, cut calls' included.
    pub messages: u64,
}

impl Marks {
    pub(super) fn new() -> Marks {
        Marks {
            first: micros(),
            gaps: micros(),
            latency: micros(),
            messages: 0,
        }
    }

    pub(super) fn merge(&mut self, other: &Marks) {
        let _ = self.first.add(&other.first);
        let _ = self.gaps.add(&other.gaps);
        let _ = self.latency.add(&other.latency);
        self.messages += other.messages;
    }

    /// The metrics that have values, by name, in the order reports show them.
    pub(super) fn metrics(&self) -> Vec<(&'static str, &'static str, &Histogram<u64>)> {
        [
            ("first_message", "first message", &self.first),
            ("gap", "gap between messages", &self.gaps),
            ("message_latency", "answer from its send", &self.latency),
        ]
        .into_iter()
        .filter(|(_, _, h)| !h.is_empty())
        .collect()
    }

    pub(super) fn metric_mut(&mut self, name: &str) -> Option<&mut Histogram<u64>> {
        match name {
            "first_message" => Some(&mut self.first),
            "gap" => Some(&mut self.gaps),
            "message_latency" => Some(&mut self.latency),
            _ => None,
        }
    }
}

/// The clock of one call: started when the call is made, told of each message as it arrives.
pub(super) struct Clock<'a> {
    marks: &'a mut Marks,
    start: Instant,
    last: Option<Instant>,
    /// When each request went out (bidi calls only).
    sends: Option<Arc<Mutex<Vec<Instant>>>>,
    seen: usize,
}

impl<'a> Clock<'a> {
    pub(super) fn start(marks: &'a mut Marks, bidi: bool) -> Clock<'a> {
        Clock {
            marks,
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
        let us = |d: std::time::Duration| (d.as_micros() as u64).max(1);
        match self.last {
            None => self.marks.first.saturating_record(us(now - self.start)),
            Some(previous) => self.marks.gaps.saturating_record(us(now - previous)),
        }
        if let Some(sends) = &self.sends {
            if let Some(sent) = sends.lock().expect("send times").get(self.seen) {
                self.marks.latency.saturating_record(us(now - *sent));
            }
        }
        self.seen += 1;
        self.last = Some(now);
        self.marks.messages += 1;
    }
}
