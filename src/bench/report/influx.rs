//! A report as InfluxDB line protocol (`--output influx-summary`, ghz's name): one line of the
//! run's figures, latencies in integer nanoseconds, and one line per status, tagged with the
//! method and stamped with the time the report was made.
use super::{Labels, Report, Tally};
use std::fmt::Write;

/// A tag value as the protocol escapes it: commas, spaces and equals signs.
fn tag(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(' ', "\\ ")
        .replace('=', "\\=")
}

/// Milliseconds as integer nanoseconds, the protocol's integer field.
fn ns(ms: f64) -> String {
    format!("{}i", (ms * 1e6).round() as i64)
}

/// The tags of a run's lines: its method, name and `--tag`s. An empty value is not a tag in
/// the protocol; rpcsh's own keys are not overwritten.
pub(in crate::bench) fn tags(method: &str, labels: &Labels) -> String {
    let mut tags = format!("method={}", tag(method));
    if let Some(name) = &labels.name {
        tags.push_str(&format!(",name={}", tag(name)));
    }
    let own = ["method", "name", "status"];
    for (k, v) in (labels.tags.iter()).filter(|(k, v)| !v.is_empty() && !own.contains(&k.as_str()))
    {
        tags.push_str(&format!(",{}={}", tag(k), tag(v)));
    }
    tags
}

impl Report {
    pub(crate) fn influx(&self, tally: &Tally) -> String {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tags = tags(&self.method, &self.labels);
        let errors: u64 = (tally.statuses.iter())
            .filter(|(status, _)| *status != "OK")
            .map(|(_, n)| n)
            .sum();
        let mut fields = vec![
            format!("count={}i", self.count),
            format!("total={}", ns(self.wall.as_secs_f64() * 1000.0)),
            format!("average={}", ns(self.average_ms)),
            format!("fastest={}", ns(self.fastest_ms)),
            format!("slowest={}", ns(self.slowest_ms)),
            format!("rps={:.3}", self.rps),
            format!("errors={errors}i"),
        ];
        for (p, ms) in &self.percentiles {
            let name = format!("p{p}").replace('.', "_");
            fields.push(format!("{name}={}", ns(*ms)));
        }
        let mut t = format!("rpcsh_bench,{tags} {} {at}\n", fields.join(","));
        for (status, n) in &tally.statuses {
            let status = tag(status);
            let _ = writeln!(
                t,
                "rpcsh_bench_status,{tags},status={status} count={n}i {at}"
            );
        }
        t
    }
}
