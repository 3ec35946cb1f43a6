//! What `rpcsh bench` counts: call latency, statuses, the first distinct errors and responses,
//! the metrics inside streams, and per stage of a shaped load its own latency and errors. Kept
//! in a few shards that workers share (a histogram per worker grows memory with -c), merged at
//! the end, and rebuilt from JSON reports by `bench merge`.
use super::details::Detail;
use super::schedule::Stage;
use hdrhistogram::Histogram;
use prost_reflect::MethodDescriptor;
use std::collections::BTreeMap;
use std::time::Duration;
use tonic::Status;

/// A histogram of microseconds at 3 significant digits, growing to the largest value recorded
/// (one of a fixed hour's range is 190 KB; a thousand held streams had 780 MB of them).
pub(super) fn micros() -> Histogram<u64> {
    Histogram::new(3).expect("valid precision")
}

/// Records `d` in microseconds (1 at least). Not `saturating_record`: it clamps to the range the
/// histogram has so far instead of growing it.
pub(super) fn note(h: &mut Histogram<u64>, d: Duration) {
    let _ = h.record((d.as_micros() as u64).max(1));
}

pub(super) struct Tally {
    pub latency: Histogram<u64>,
    pub statuses: BTreeMap<String, u64>,
    pub errors: Vec<String>,
    /// Responses of unary and client-streaming calls (a stream's are in `streams`).
    pub messages: u64,
    /// The metrics inside streams, for server-streaming and bidi methods.
    pub streams: Option<Marks>,
    /// Per stage of a shaped load (steps, a ramp's parts): latency and failed calls.
    pub stages: Vec<StageTally>,
    /// Per step of a scenario (`--script`): each call's latency and failures.
    pub steps: Vec<StepTally>,
    /// Per second of the run (by when calls ended): what the report's plots draw. A shard's
    /// seconds are moved out as they close (`live`), so it holds one or two.
    pub seconds: BTreeMap<u64, Second>,
    /// Each call, when asked for (`--details`); `live` writes them out as seconds close.
    pub details: Option<Vec<Detail>>,
}

/// The calls that ended in one second of a run.
pub(super) struct Second {
    pub latency: Histogram<u64>,
    pub errors: u64,
}

impl Second {
    /// At 2 significant digits (1%, plenty for a plot): a second's histogram is a few KB.
    pub(super) fn new() -> Second {
        Second {
            latency: Histogram::new(2).expect("valid precision"),
            errors: 0,
        }
    }

    pub(super) fn merge(&mut self, other: &Second) {
        let _ = self.latency.add(&other.latency);
        self.errors += other.errors;
    }
}

/// Moves `from`'s seconds before `before` into `into`, merged with those it has.
pub(super) fn move_seconds(
    from: &mut BTreeMap<u64, Second>,
    into: &mut BTreeMap<u64, Second>,
    before: u64,
) {
    let later = from.split_off(&before);
    for (k, second) in std::mem::replace(from, later) {
        match into.get_mut(&k) {
            Some(mine) => mine.merge(&second),
            None => {
                into.insert(k, second);
            }
        }
    }
}

/// One call of a scenario, `file:line METHOD`, over every run of it.
pub(super) struct StepTally {
    pub label: String,
    pub latency: Histogram<u64>,
    pub statuses: BTreeMap<String, u64>,
}

impl StepTally {
    pub(super) fn new(label: String) -> StepTally {
        StepTally {
            label,
            latency: micros(),
            statuses: BTreeMap::new(),
        }
    }

    pub(super) fn errors(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(k, _)| *k != "OK")
            .map(|(_, n)| n)
            .sum()
    }
}

/// One stage of a shaped load: what it was (`100/s`, `c=50`), when, and its calls.
pub(super) struct StageTally {
    pub stage: Stage,
    /// The latency of the calls due (open loop) or started (closed loop) in the stage.
    pub latency: Histogram<u64>,
    pub errors: u64,
    /// Calls that ended OK in the stage, whenever they were due: what the server kept up with.
    pub done: u64,
}

impl StageTally {
    pub(super) fn new(stage: Stage) -> StageTally {
        StageTally {
            stage,
            latency: micros(),
            errors: 0,
            done: 0,
        }
    }
}

impl Tally {
    pub(super) fn new() -> Self {
        Tally {
            latency: micros(),
            statuses: BTreeMap::new(),
            errors: Vec::new(),
            messages: 0,
            streams: None,
            stages: Vec::new(),
            steps: Vec::new(),
            seconds: BTreeMap::new(),
            details: None,
        }
    }

    pub(super) fn for_method(method: &MethodDescriptor, stages: &[Stage]) -> Self {
        Tally {
            streams: method.is_server_streaming().then(Marks::new),
            stages: stages.iter().cloned().map(StageTally::new).collect(),
            ..Tally::new()
        }
    }

    /// Every response, in streams or not.
    pub(super) fn responses(&self) -> u64 {
        self.messages + self.streams.as_ref().map_or(0, |m| m.messages)
    }

    /// One call that took `elapsed` (from when it was due, in stage `due`; it ended in stage
    /// `ended`, in second `second` of the run) with `outcome` (its responses, counted here
    /// unless a stream's clock did).
    pub(super) fn record(
        &mut self,
        elapsed: Duration,
        (due, ended, second): (Option<usize>, Option<usize>, u64),
        outcome: Result<u64, Status>,
    ) {
        note(&mut self.latency, elapsed);
        self.in_second(second, elapsed, outcome.is_err());
        if let Some(details) = &mut self.details {
            let (status, error) = match &outcome {
                Ok(_) => ("OK".to_string(), String::new()),
                Err(s) => (format!("{:?}", s.code()), s.message().to_string()),
            };
            details.push(Detail {
                ended: std::time::SystemTime::now(),
                latency: elapsed,
                status,
                error,
            });
        }
        if let Some(stage) = due.and_then(|k| self.stages.get_mut(k)) {
            note(&mut stage.latency, elapsed);
            stage.errors += outcome.is_err() as u64;
        }
        if let Some(stage) = ended.and_then(|k| self.stages.get_mut(k)) {
            stage.done += outcome.is_ok() as u64;
        }
        match outcome {
            Ok(n) => {
                if self.streams.is_none() {
                    self.messages += n;
                }
                // No allocation for the common case: an OK status is counted in place.
                match self.statuses.get_mut("OK") {
                    Some(count) => *count += 1,
                    None => {
                        self.statuses.insert("OK".into(), 1);
                    }
                }
            }
            Err(s) => {
                let s = crate::client::wire::status::client_deadline(s);
                let text = format!("{:?}: {}", s.code(), s.message());
                self.fail(format!("{:?}", s.code()), text);
            }
        }
    }

    /// A call that ended in `second` of the run, for the per-second series.
    pub(super) fn in_second(&mut self, second: u64, elapsed: Duration, failed: bool) {
        let one = self.seconds.entry(second).or_insert_with(Second::new);
        note(&mut one.latency, elapsed);
        one.errors += failed as u64;
    }

    /// A failure counted under `status`, and its `text` kept if it is among the first distinct.
    pub(super) fn fail(&mut self, status: String, text: String) {
        if self.errors.len() < 10 && !self.errors.contains(&text) {
            self.errors.push(text);
        }
        *self.statuses.entry(status).or_default() += 1;
    }

    pub(super) fn merge(&mut self, other: Tally) {
        let _ = self.latency.add(&other.latency);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for e in other.errors {
            if self.errors.len() < 10 && !self.errors.contains(&e) {
                self.errors.push(e);
            }
        }
        self.messages += other.messages;
        let mut seconds = other.seconds;
        move_seconds(&mut seconds, &mut self.seconds, u64::MAX);
        match (&mut self.streams, &other.streams) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, Some(_)) => self.streams = other.streams,
            _ => {}
        }
        for (k, step) in other.steps.into_iter().enumerate() {
            match self.steps.get_mut(k) {
                Some(mine) => {
                    let _ = mine.latency.add(&step.latency);
                    for (s, n) in step.statuses {
                        *mine.statuses.entry(s).or_default() += n;
                    }
                }
                None => self.steps.push(step),
            }
        }
        for (k, stage) in other.stages.into_iter().enumerate() {
            match self.stages.get_mut(k) {
                Some(mine) => {
                    let _ = mine.latency.add(&stage.latency);
                    mine.errors += stage.errors;
                    mine.done += stage.done;
                }
                None => self.stages.push(stage),
            }
        }
    }
}

/// The metrics inside streams (`stream::Clock` records them), of a run or of a merge.
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
