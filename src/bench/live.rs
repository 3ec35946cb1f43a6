//! A run while it goes: every second the seconds that have closed are moved out of the shards
//! into the run's per-second series (what the report's plots draw; a shard keeps one or two),
//! and on a terminal a progress bar with the figures of the last second and of the run so far
//! is drawn in place on stderr (nothing in a pipe; the report is the same either way).
use super::details::Sink;
use super::tally::{move_seconds, Second};
use super::Counters;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Series = Arc<Mutex<BTreeMap<u64, Second>>>;
type Sinks = Arc<Mutex<(Vec<Sink>, Option<std::io::Error>)>>;

pub(super) struct Live {
    series: Series,
    /// Where each call's details go as seconds close, and the first failure to write them.
    sinks: Sinks,
    counters: Arc<Counters>,
    bar: Option<indicatif::ProgressBar>,
    task: tokio::task::JoinHandle<()>,
}

/// The run so far, for the live figures.
struct SoFar {
    latency: Histogram<u64>,
    errors: u64,
    /// The seconds already counted in.
    next: u64,
}

impl Live {
    /// Starts watching a run of `total` calls (or a scenario's runs: `unit`) or of `length`.
    pub(super) fn start(
        counters: Arc<Counters>,
        (total, length): (Option<u64>, Option<Duration>),
        unit: &'static str,
    ) -> Live {
        let series = Series::default();
        let sinks = Sinks::default();
        let bar = bar(total, length);
        let task = tokio::spawn(watch(
            counters.clone(),
            (series.clone(), sinks.clone()),
            bar.clone().map(|b| (b, length.is_some(), unit)),
        ));
        Live {
            series,
            sinks,
            counters,
            bar,
            task,
        }
    }

    /// Each call's details go to `sinks` too.
    pub(super) fn with(self, sinks: Vec<Sink>) -> Live {
        self.sinks.lock().expect("sinks").0 = sinks;
        self
    }

    /// Stops watching, clears the bar, writes the last details and gives the run's whole
    /// series.
    pub(super) fn finish(self) -> anyhow::Result<BTreeMap<u64, Second>> {
        self.task.abort();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let mut series = std::mem::take(&mut *self.series.lock().expect("series"));
        collect(&self.counters, &mut series, u64::MAX);
        write_details(&self.counters, &self.sinks);
        if let Some(e) = self.sinks.lock().expect("sinks").1.take() {
            return Err(anyhow::anyhow!(e).context("cannot write the calls' details"));
        }
        Ok(series)
    }

    /// Prints `line` on stderr above the bar, which stays.
    pub(super) fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

/// Moves the shards' seconds before `before` into `series`.
fn collect(counters: &Counters, series: &mut BTreeMap<u64, Second>, before: u64) {
    for shard in &counters.shards {
        let mut shard = shard.lock().expect("tally");
        move_seconds(&mut shard.seconds, series, before);
    }
}

/// Writes the calls the shards hold to the sinks (the first failure is kept; no more are
/// written after it).
fn write_details(counters: &Counters, sinks: &Sinks) {
    let mut sinks = sinks.lock().expect("sinks");
    if sinks.0.is_empty() || sinks.1.is_some() {
        return;
    }
    let mut rows = Vec::new();
    for shard in &counters.shards {
        if let Some(details) = &mut shard.lock().expect("tally").details {
            rows.append(details);
        }
    }
    let (sinks, failed) = &mut *sinks;
    for sink in sinks.iter_mut() {
        if let Err(e) = sink.write(rows.clone()) {
            *failed = Some(e);
            return;
        }
    }
}

/// A progress bar with two lines of figures under it, on stderr when it is a terminal.
fn bar(total: Option<u64>, length: Option<Duration>) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match length {
        Some(d) => indicatif::ProgressBar::new(d.as_millis() as u64),
        None => indicatif::ProgressBar::new(total.unwrap_or(200)),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {prefix}\n{msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Every 100 ms the bar moves; every second the closed seconds are collected and the figures
/// redrawn.
async fn watch(
    counters: Arc<Counters>,
    (series, sinks): (Series, Sinks),
    bar: Option<(indicatif::ProgressBar, bool, &'static str)>,
) {
    let start = counters.start;
    let mut so_far = SoFar {
        latency: Histogram::new(2).expect("valid precision"),
        errors: 0,
        next: 0,
    };
    let tick = if bar.is_some() { 100 } else { 1000 };
    let mut ticks = tokio::time::interval(Duration::from_millis(tick));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let now = start.elapsed();
        let closed = now.as_secs();
        if closed > so_far.next {
            let mut series = series.lock().expect("series");
            collect(&counters, &mut series, closed);
            so_far.add(&series, closed, bar.is_some());
            drop(series);
            write_details(&counters, &sinks);
        }
        if let Some((bar, timed, unit)) = &bar {
            let done = counters.done.load(Ordering::Relaxed);
            match timed {
                true => {
                    bar.set_position(now.as_millis() as u64);
                    bar.set_prefix(format!("{:.1}/{:.0} s", now.as_secs_f64(), secs(bar)));
                }
                false => {
                    bar.set_position(done);
                    bar.set_prefix(format!("{done}/{} {unit}", bar.length().unwrap_or(0)));
                }
            }
            let last = series
                .lock()
                .expect("series")
                .get(&closed.wrapping_sub(1))
                .map(figures);
            bar.set_message(so_far.lines(last, unit));
        }
    }
}

fn secs(bar: &indicatif::ProgressBar) -> f64 {
    bar.length().unwrap_or(0) as f64 / 1000.0
}

/// Calls, p50, p99 (ms) and errors of a second.
fn figures(s: &Second) -> (u64, f64, f64, u64) {
    let h = &s.latency;
    (
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        s.errors,
    )
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl SoFar {
    /// Counts in the seconds before `closed` not counted yet (`figures`: for the bar).
    fn add(&mut self, series: &BTreeMap<u64, Second>, closed: u64, figures: bool) {
        for (_, s) in series.range(self.next..closed).filter(|_| figures) {
            let _ = self.latency.add(&s.latency);
            self.errors += s.errors;
        }
        self.next = closed;
    }

    fn lines(&self, last: Option<(u64, f64, f64, u64)>, unit: &str) -> String {
        let rate = if unit == "runs" { "runs/s" } else { "req/s" };
        let last = match last {
            Some((n, p50, p99, errors)) => format!(
                "  last second: {n:>8} {rate}   p50 {p50:>8.2} ms   p99 {p99:>8.2} ms   {errors} errors"
            ),
            None => "  last second:        - ".to_string(),
        };
        let h = &self.latency;
        let seconds = (self.next as f64).max(1.0);
        format!(
            "{last}\n  so far:      {:>8} {rate}   p50 {:>8.2} ms   p99 {:>8.2} ms   {} errors   ({} {unit})",
            (h.len() as f64 / seconds).round(),
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            self.errors,
            h.len(),
        )
    }
}
