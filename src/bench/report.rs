//! The report of `rpcsh bench`: throughput, latency percentiles and a histogram of the merged
//! tallies, as text, JSON or CSV.
use super::Tally;
use hdrhistogram::Histogram;
use prost_reflect::MethodDescriptor;
use std::time::Duration;

const PERCENTILES: [f64; 8] = [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

pub(super) struct Report {
    method: String,
    count: u64,
    wall: Duration,
    rps: f64,
    average_ms: f64,
    fastest_ms: f64,
    slowest_ms: f64,
    percentiles: Vec<(f64, f64)>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Report {
    pub(super) fn new(method: &MethodDescriptor, tally: &Tally, wall: Duration) -> Report {
        let h = &tally.latency;
        let count = h.len();
        Report {
            method: crate::invoke::path(method),
            count,
            wall,
            rps: count as f64 / wall.as_secs_f64().max(f64::EPSILON),
            average_ms: h.mean() / 1000.0,
            fastest_ms: if count == 0 { 0.0 } else { ms(h.min()) },
            slowest_ms: ms(h.max()),
            percentiles: PERCENTILES
                .iter()
                .map(|p| (*p, ms(h.value_at_quantile(p / 100.0))))
                .collect(),
        }
    }

    pub(super) fn text(&self, tally: &Tally, color: bool) -> String {
        use crate::style::{paint, ERROR, HEADING, OK};
        let heading = |h: &str| paint(color, HEADING, h);
        let mut t = format!(
            "{}\n  Method:       {}\n  Count:        {}\n  Total:        {:.2} s\n  Slowest:      {:.2} ms\n  Fastest:      {:.2} ms\n  Average:      {:.2} ms\n  Requests/sec: {:.1}\n",
            heading("Summary:"), self.method, self.count, self.wall.as_secs_f64(), self.slowest_ms, self.fastest_ms, self.average_ms, self.rps
        );
        if tally.messages != self.count {
            t.push_str(&format!("  Messages:     {} responses\n", tally.messages));
        }
        t.push_str(&format!("\n{}\n", heading("Response time histogram:")));
        t.push_str(&histogram(&tally.latency));
        t.push_str(&format!("\n{}\n", heading("Latency distribution:")));
        for (p, v) in &self.percentiles {
            t.push_str(&format!("  {p:>5} % in {v:.2} ms\n"));
        }
        t.push_str(&format!("\n{}\n", heading("Status code distribution:")));
        for (status, n) in &tally.statuses {
            let style = if status == "OK" { OK } else { ERROR };
            let status = paint(color, style, format!("[{status}]"));
            t.push_str(&format!("  {status}  {n} responses\n"));
        }
        if !tally.errors.is_empty() {
            let title = heading("Error distribution (first distinct errors):");
            t.push_str(&format!("\n{title}\n"));
            for e in &tally.errors {
                t.push_str(&format!("  {e}\n"));
            }
        }
        t
    }

    pub(super) fn json(&self, tally: &Tally) -> serde_json::Value {
        serde_json::json!({
            "method": self.method,
            "count": self.count,
            "total_s": self.wall.as_secs_f64(),
            "rps": self.rps,
            "average_ms": self.average_ms,
            "fastest_ms": self.fastest_ms,
            "slowest_ms": self.slowest_ms,
            "percentiles_ms": self.percentiles.iter().map(|(p, v)| (format!("p{p}"), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "statuses": tally.statuses,
            "errors": tally.errors,
            "responses": tally.messages,
        })
    }

    pub(super) fn csv(&self) -> String {
        let mut t = String::from("metric,value\n");
        t.push_str(&format!("count,{}\ntotal_s,{:.6}\nrps,{:.3}\naverage_ms,{:.3}\nfastest_ms,{:.3}\nslowest_ms,{:.3}\n", self.count, self.wall.as_secs_f64(), self.rps, self.average_ms, self.fastest_ms, self.slowest_ms));
        for (p, v) in &self.percentiles {
            t.push_str(&format!("p{p},{v:.3}\n"));
        }
        t
    }
}

/// Ten bars from fastest to slowest.
fn histogram(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "  (no requests)\n".into();
    }
    let (lo, hi) = (h.min(), h.max().max(h.min() + 1));
    let step = ((hi - lo) / 10).max(1);
    let mut buckets = Vec::new();
    let mut from = lo;
    while from <= hi && buckets.len() < 11 {
        let to = from + step;
        buckets.push((to, h.count_between(from, to.saturating_sub(1))));
        from = to;
    }
    let most = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1);
    buckets
        .iter()
        .map(|(to, n)| {
            format!(
                "  {:>9.3} ms [{n:>7}] |{}\n",
                ms(*to),
                "■".repeat((n * 40 / most) as usize)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bars_and_percentiles() {
        let mut t = Tally::new();
        for us in [100u64, 200, 300, 400, 10_000] {
            t.latency.record(us).unwrap();
        }
        let bars = histogram(&t.latency);
        assert_eq!(bars.lines().count(), 11, "{bars}");
        assert!(bars.lines().next().unwrap().contains("[      4]"), "{bars}");
        let mut other = Tally::new();
        other.latency.record(50).unwrap();
        other.statuses.insert("OK".into(), 1);
        t.merge(other);
        assert_eq!(t.latency.len(), 6);
        assert_eq!(t.statuses["OK"], 1);
    }
}
