//! A report in Prometheus's text exposition format (`--output prometheus`, as ghz's `-O
//! prometheus`): calls by status, latency as a summary with its quantiles, the rate and the
//! run's length, each labelled with the method, for a Pushgateway or a file a node exporter's
//! textfile collector reads.
use super::{Report, Tally};
use std::fmt::Write;

/// `x` with at most `places` decimals, without trailing zeros (microseconds as seconds: 6).
fn num(x: f64, places: usize) -> String {
    let text = format!("{x:.places$}");
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

/// A metric's `# HELP` and `# TYPE` lines.
fn metric(t: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(t, "# HELP rpcsh_bench_{name} {help}");
    let _ = writeln!(t, "# TYPE rpcsh_bench_{name} {kind}");
}

/// A label value as the format escapes it: backslash, double quote and newline.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Report {
    pub(crate) fn prometheus(&self, tally: &Tally) -> String {
        let method = format!("method=\"{}\"", label(&self.method));
        let mut t = String::new();
        metric(
            &mut t,
            "calls_total",
            "counter",
            "Calls made, by the status they ended with.",
        );
        for (status, n) in &tally.statuses {
            let _ = writeln!(
                t,
                "rpcsh_bench_calls_total{{{method},status=\"{}\"}} {n}",
                label(status)
            );
        }
        metric(
            &mut t,
            "latency_seconds",
            "summary",
            "Latency of the calls.",
        );
        for (p, ms) in &self.percentiles {
            let _ = writeln!(
                t,
                "rpcsh_bench_latency_seconds{{{method},quantile=\"{}\"}} {}",
                num(p / 100.0, 4),
                num(ms / 1000.0, 6)
            );
        }
        let sum = num(self.average_ms * self.count as f64 / 1000.0, 6);
        let _ = writeln!(t, "rpcsh_bench_latency_seconds_sum{{{method}}} {sum}");
        let _ = writeln!(
            t,
            "rpcsh_bench_latency_seconds_count{{{method}}} {}",
            self.count
        );
        for (name, help, value) in [
            (
                "requests_per_second",
                "Calls per second over the run.",
                self.rps,
            ),
            (
                "duration_seconds",
                "How long the run took.",
                self.wall.as_secs_f64(),
            ),
            (
                "latency_fastest_seconds",
                "The fastest call.",
                self.fastest_ms / 1000.0,
            ),
            (
                "latency_slowest_seconds",
                "The slowest call.",
                self.slowest_ms / 1000.0,
            ),
        ] {
            metric(&mut t, name, "gauge", help);
            let _ = writeln!(t, "rpcsh_bench_{name}{{{method}}} {value}");
        }
        t
    }
}
