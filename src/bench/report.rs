//! The report of `rpcsh bench`: throughput, latency percentiles and a histogram of the merged
//! tallies, as text, JSON, CSV, Prometheus's text format or InfluxDB line protocol; and `rpcsh
//! bench merge`, which reads JSON reports back (each carries its latency HdrHistogram,
//! serialized) and reports their union exactly.
mod html;
mod influx;
mod prometheus;
use super::schedule::Stage;
use super::tally::{StageTally, StepTally, Tally};
use super::ReportFormat;
use anyhow::{bail, Context};
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
pub(super) use influx::tags as influx_tags;
use std::path::PathBuf;
use std::time::Duration;

const PERCENTILES: [f64; 8] = [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

pub(super) struct Report {
    method: String,
    /// `--name` and `--tag`s, said in every output.
    pub(super) labels: Labels,
    count: u64,
    wall: Duration,
    rps: f64,
    /// Responses per second, in streams or not.
    mps: f64,
    average_ms: f64,
    fastest_ms: f64,
    slowest_ms: f64,
    percentiles: Vec<(f64, f64)>,
}

/// A run's `--name` and `--tag KEY=VALUE`s.
#[derive(Debug, Clone, Default)]
pub(super) struct Labels {
    pub name: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
}

/// `--tag KEY=VALUE`: a key of letters, digits and `_`; a value on one line.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, e.g. env=staging, not {text:?}"))?;
    let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !key_ok {
        return Err(format!("a tag's key is letters, digits and _, not {key:?}"));
    }
    if value.chars().any(char::is_control) {
        return Err("a tag's value is one line of text".into());
    }
    Ok((key.to_string(), value.to_string()))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Report {
    pub(super) fn new(method: String, tally: &Tally, wall: Duration) -> Report {
        let h = &tally.latency;
        let count = h.len();
        let seconds = wall.as_secs_f64().max(f64::EPSILON);
        Report {
            method,
            labels: Labels::default(),
            count,
            wall,
            rps: count as f64 / seconds,
            mps: tally.responses() as f64 / seconds,
            average_ms: h.mean() / 1000.0,
            fastest_ms: if count == 0 { 0.0 } else { ms(h.min()) },
            slowest_ms: ms(h.max()),
            percentiles: percentiles(h),
        }
    }

    pub(super) fn text(&self, tally: &Tally, color: bool) -> String {
        use crate::sys::style::{paint, ERROR, HEADING, OK};
        let heading = |h: &str| paint(color, HEADING, h);
        // A scenario's count is of runs of its script; its steps count the calls.
        let scenario = !tally.steps.is_empty();
        let mut t = format!(
            "{}\n  Method:       {}\n  Count:        {}\n  Total:        {:.2} s\n  Slowest:      {:.2} ms\n  Fastest:      {:.2} ms\n  Average:      {:.2} ms\n  {:<14}{:.1}\n",
            heading("Summary:"), self.method, self.count, self.wall.as_secs_f64(), self.slowest_ms, self.fastest_ms, self.average_ms, if scenario { "Runs/sec:" } else { "Requests/sec:" }, self.rps
        );
        if let Some(name) = &self.labels.name {
            t = t.replacen(
                "\n  Count:",
                &format!("\n  Name:         {name}\n  Count:"),
                1,
            );
        }
        if !self.labels.tags.is_empty() {
            let tags: Vec<String> = self
                .labels
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            t = t.replacen(
                "\n  Count:",
                &format!("\n  Tags:         {}\n  Count:", tags.join(", ")),
                1,
            );
        }
        if !scenario && (tally.responses() != self.count || tally.streams.is_some()) {
            let (n, rate) = (tally.responses(), self.mps);
            t.push_str(&format!("  Messages:     {n} responses ({rate:.1}/s)\n"));
        }
        if let Some(marks) = tally.streams.as_ref().filter(|m| !m.metrics().is_empty()) {
            t.push_str(&format!(
                "\n{}\n",
                heading("Stream metrics (ms):        mean       p50       p90       p99     p99.9       max")
            ));
            for (_, label, h) in marks.metrics() {
                t.push_str(&format!("  {label:<22}"));
                for v in [h.mean() / 1000.0].into_iter().chain(
                    [50.0, 90.0, 99.0, 99.9]
                        .iter()
                        .map(|p| ms(h.value_at_quantile(p / 100.0))),
                ) {
                    t.push_str(&format!("{v:>10.3}"));
                }
                t.push_str(&format!("{:>10.3}\n", ms(h.max())));
            }
        }
        t.push_str(&stages_table(tally, &heading));
        t.push_str(&steps_table(tally, &heading));
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
            let unit = if scenario { "runs" } else { "responses" };
            t.push_str(&format!("  {status}  {n} {unit}\n"));
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
            "name": self.labels.name,
            "tags": self.labels.tags,
            "date": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            "count": self.count,
            "total_s": self.wall.as_secs_f64(),
            "rps": self.rps,
            "average_ms": self.average_ms,
            "fastest_ms": self.fastest_ms,
            "slowest_ms": self.slowest_ms,
            "percentiles_ms": self.percentiles.iter().map(|(p, v)| (format!("p{p}"), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "statuses": tally.statuses,
            "errors": tally.errors,
            "responses": tally.responses(),
            "histogram_us": serialized(&tally.latency),
            "streams": tally.streams.as_ref().map(|marks| {
                let mut streams = serde_json::json!({"messages": marks.messages, "messages_per_s": self.mps});
                for (name, _, h) in marks.metrics() {
                    streams[name] = serde_json::json!({
                        "mean_ms": h.mean() / 1000.0,
                        "max_ms": ms(h.max()),
                        "percentiles_ms": percentile_map(h),
                        "histogram_us": serialized(h),
                    });
                }
                streams
            }),
            "steps": (!tally.steps.is_empty()).then(|| tally.steps.iter().map(|s| serde_json::json!({
                "step": s.label,
                "count": s.latency.len(),
                "mean_ms": s.latency.mean() / 1000.0,
                "percentiles_ms": percentile_map(&s.latency),
                "statuses": s.statuses,
                "errors": s.errors(),
                "histogram_us": serialized(&s.latency),
            })).collect::<Vec<_>>()),
            "buckets": buckets(&tally.latency).iter().map(|(to, n)| serde_json::json!({"to_ms": ms(*to), "count": n})).collect::<Vec<_>>(),
            "seconds": self.seconds(tally),
            "stages": (!tally.stages.is_empty()).then(|| tally.stages.iter().map(|s| serde_json::json!({
                "stage": s.stage.label,
                "from_s": s.stage.start.as_secs_f64(),
                "to_s": s.stage.end.as_secs_f64(),
                "count": s.latency.len(),
                "rps": stage_rps(s),
                "percentiles_ms": percentile_map(&s.latency),
                "errors": s.errors,
                "ok_per_s": s.done as f64 / seconds(s),
                "ok": s.done,
                "histogram_us": serialized(&s.latency),
            })).collect::<Vec<_>>()),
        })
    }

    /// The run second by second (by when calls ended), the last second's rate over the part of
    /// it the run lasted.
    fn seconds(&self, tally: &Tally) -> Vec<serde_json::Value> {
        let wall = self.wall.as_secs_f64();
        (tally.seconds.iter())
            .map(|(k, s)| {
                let h = &s.latency;
                // A last part of a second too short for a rate has none (null), unless it is
                // the whole run.
                let length = (wall - *k as f64).clamp(f64::EPSILON, 1.0);
                let rps = (length >= 0.5 || *k == 0).then(|| h.len() as f64 / length);
                serde_json::json!({
                    "second": k,
                    "calls": h.len(),
                    "rps": rps,
                    "errors": s.errors,
                    "mean_ms": h.mean() / 1000.0,
                    "p50_ms": ms(h.value_at_quantile(0.5)),
                    "p90_ms": ms(h.value_at_quantile(0.9)),
                    "p99_ms": ms(h.value_at_quantile(0.99)),
                    "max_ms": ms(h.max()),
                    "histogram_us": serialized(h),
                })
            })
            .collect()
    }

    /// Writes the report to stdout in `format` (text when None).
    pub(super) fn print(&self, tally: &Tally, format: Option<ReportFormat>) -> anyhow::Result<()> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        match format {
            None | Some(ReportFormat::Text) => {
                write!(out, "{}", self.text(tally, crate::sys::style::stdout()))?
            }
            Some(ReportFormat::Json) => {
                writeln!(out, "{}", serde_json::to_string_pretty(&self.json(tally))?)?
            }
            Some(ReportFormat::Csv) => write!(out, "{}", self.csv(tally))?,
            Some(ReportFormat::Prometheus) => write!(out, "{}", self.prometheus(tally))?,
            Some(ReportFormat::InfluxSummary | ReportFormat::InfluxDetails) => {
                write!(out, "{}", self.influx(tally))?
            }
            Some(ReportFormat::Html) => write!(out, "{}", html::page(&[self.json(tally)]))?,
        }
        Ok(())
    }

    pub(super) fn csv(&self, tally: &Tally) -> String {
        let mut t = String::from("metric,value\n");
        t.push_str(&format!("count,{}\ntotal_s,{:.6}\nrps,{:.3}\naverage_ms,{:.3}\nfastest_ms,{:.3}\nslowest_ms,{:.3}\n", self.count, self.wall.as_secs_f64(), self.rps, self.average_ms, self.fastest_ms, self.slowest_ms));
        for (p, v) in &self.percentiles {
            t.push_str(&format!("p{p},{v:.3}\n"));
        }
        if let Some(marks) = &tally.streams {
            t.push_str(&format!(
                "messages,{}\nmessages_per_s,{:.3}\n",
                marks.messages, self.mps
            ));
            for (name, _, h) in marks.metrics() {
                t.push_str(&format!("{name}_mean_ms,{:.3}\n", h.mean() / 1000.0));
                for (p, v) in percentiles(h) {
                    t.push_str(&format!("{name}_p{p}_ms,{v:.3}\n"));
                }
                t.push_str(&format!("{name}_max_ms,{:.3}\n", ms(h.max())));
            }
        }
        for (k, s) in tally.steps.iter().enumerate() {
            let k = k + 1;
            t.push_str(&format!(
                "step{k},{}\nstep{k}_count,{}\n",
                csv_field(&s.label),
                s.latency.len()
            ));
            for (p, v) in percentiles(&s.latency) {
                t.push_str(&format!("step{k}_p{p}_ms,{v:.3}\n"));
            }
            t.push_str(&format!("step{k}_errors,{}\n", s.errors()));
        }
        for (k, s) in tally.stages.iter().enumerate() {
            let k = k + 1;
            t.push_str(&format!(
                "stage{k},{}\nstage{k}_count,{}\nstage{k}_rps,{:.3}\n",
                s.stage.label,
                s.latency.len(),
                stage_rps(s)
            ));
            for (p, v) in percentiles(&s.latency) {
                t.push_str(&format!("stage{k}_p{p}_ms,{v:.3}\n"));
            }
            t.push_str(&format!(
                "stage{k}_errors,{}\nstage{k}_ok_per_s,{:.3}\n",
                s.errors,
                s.done as f64 / seconds(s)
            ));
        }
        t
    }
}

/// The table of a load shape's stages (none without stages).
fn stages_table(tally: &Tally, heading: &dyn Fn(&str) -> String) -> String {
    let mut t = String::new();
    let labels: Vec<String> = (tally.stages.iter())
        .map(|s| {
            let (from, to) = (s.stage.start.as_secs_f64(), s.stage.end.as_secs_f64());
            format!("{}-{}s {}", round(from), round(to), s.stage.label)
        })
        .collect();
    if let Some(w) = labels.iter().map(|l| l.chars().count()).max() {
        let w = w.max(6);
        let title = format!(
            "{:<w$}{:>10}{:>10}{:>10}{:>11}{:>11}{:>10}",
            "Stages:", "calls", "req/s", "ok/s", "p50 (ms)", "p99 (ms)", "errors"
        );
        t.push_str(&format!("\n{}\n", heading(&title)));
        for (label, s) in labels.iter().zip(&tally.stages) {
            let h = &s.latency;
            t.push_str(&format!(
                "  {label:<w$}{:>8}{:>10.1}{:>10.1}{:>11.2}{:>11.2}{:>10}\n",
                h.len(),
                stage_rps(s),
                s.done as f64 / seconds(s),
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                s.errors
            ));
        }
    }
    t
}

/// The table of a scenario's steps (none without steps).
fn steps_table(tally: &Tally, heading: &dyn Fn(&str) -> String) -> String {
    let mut t = String::new();
    if let Some(w) = tally.steps.iter().map(|s| s.label.chars().count()).max() {
        let w = w.max(12);
        let title = format!(
            "{:<w$}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
            "Steps (ms):", "calls", "mean", "p50", "p90", "p99", "errors"
        );
        t.push_str(&format!("\n{}\n", heading(&title)));
        for s in &tally.steps {
            let h = &s.latency;
            t.push_str(&format!(
                "  {:<w$}{:>8}{:>10.2}{:>10.2}{:>10.2}{:>10.2}{:>10}\n",
                s.label,
                h.len(),
                h.mean() / 1000.0,
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.9)),
                ms(h.value_at_quantile(0.99)),
                s.errors()
            ));
        }
    }
    t
}

/// Seconds to a tenth, without a trailing `.0`.
fn round(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

fn seconds(s: &StageTally) -> f64 {
    (s.stage.end - s.stage.start)
        .as_secs_f64()
        .max(f64::EPSILON)
}

/// Calls per second of a stage: its calls over its length.
fn stage_rps(s: &StageTally) -> f64 {
    s.latency.len() as f64 / seconds(s)
}

/// A CSV value, quoted when it holds a comma or a quote.
fn csv_field(text: &str) -> String {
    match text.contains([',', '"']) {
        true => format!("\"{}\"", text.replace('"', "\"\"")),
        false => text.to_string(),
    }
}

fn percentile_map(h: &Histogram<u64>) -> serde_json::Map<String, serde_json::Value> {
    percentiles(h)
        .into_iter()
        .map(|(p, v)| (format!("p{p}"), serde_json::json!(v)))
        .collect()
}

fn percentiles(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    PERCENTILES
        .iter()
        .map(|p| (*p, ms(h.value_at_quantile(p / 100.0))))
        .collect()
}

/// The histogram as HdrHistogram's compressed V2 encoding in base64 (`HISTFAAA...`), the form
/// its logs and other HdrHistogram libraries read.
fn serialized(h: &Histogram<u64>) -> String {
    // Over the range its values need, not the one it grew to: the same values, the same text.
    let mut fitted = match Histogram::<u64>::new_with_bounds(1, h.max().max(2), 3) {
        Ok(fitted) => fitted,
        Err(_) => return String::new(),
    };
    if fitted.add(h).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(&fitted, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// `rpcsh bench merge REPORT...`: the union of JSON reports of runs made at the same time (N
/// machines against one server): counts and statuses added, percentiles from the merged
/// histograms, the wall time the longest run's, the rate the runs' rates added.
pub fn merge(paths: &[PathBuf], format: Option<ReportFormat>) -> anyhow::Result<()> {
    if paths.is_empty() {
        bail!(crate::sys::error::Hint::new(
            "bench merge needs the reports to merge",
            "rpcsh bench merge a.json b.json (each written by rpcsh bench --output json)",
        ));
    }
    let mut tally = Tally::new();
    let (mut methods, mut wall, mut rps, mut mps) =
        (Vec::<String>::new(), Duration::ZERO, 0.0, 0.0);
    let mut labels: Option<Labels> = None;
    for path in paths {
        let context = || format!("cannot merge {}", path.display());
        let v = load(path).with_context(context)?;
        let (method, one, took, rates) = saved(&v).with_context(context)?;
        let theirs = labels_of(&v);
        labels = Some(match labels {
            None => theirs,
            // What every run has in common.
            Some(mut mine) => {
                mine.tags.retain(|k, v| theirs.tags.get(k) == Some(v));
                mine.name = mine.name.filter(|n| theirs.name.as_ref() == Some(n));
                mine
            }
        });
        if !methods.contains(&method) {
            methods.push(method);
        }
        wall = wall.max(took);
        rps += rates.0;
        mps += rates.1;
        tally.merge(one);
    }
    let mut report = Report::new(methods.join(", "), &tally, wall);
    (report.rps, report.mps) = (rps, mps);
    report.labels = labels.unwrap_or_default();
    report.print(&tally, format)
}

/// A saved report's name and tags (none when it has none).
fn labels_of(v: &serde_json::Value) -> Labels {
    Labels {
        name: v["name"].as_str().map(String::from),
        tags: (v["tags"].as_object().into_iter().flatten())
            .filter_map(|(k, v)| parse_tag(&format!("{k}={}", v.as_str()?)).ok())
            .collect(),
    }
}

/// `rpcsh bench report REPORT...`: saved JSON reports shown again, in text or any `--output`;
/// with html, one page comparing them side by side.
pub fn report(paths: &[PathBuf], format: Option<ReportFormat>) -> anyhow::Result<()> {
    if paths.is_empty() {
        bail!(crate::sys::error::Hint::new(
            "bench report needs the reports to show",
            "rpcsh bench report a.json b.json --output html > compare.html",
        ));
    }
    if format != Some(ReportFormat::Html) {
        for path in paths {
            merge(std::slice::from_ref(path), format)?;
        }
        return Ok(());
    }
    let mut reports = Vec::new();
    for path in paths {
        let context = || format!("cannot show {}", path.display());
        let v = load(path).with_context(context)?;
        saved(&v).with_context(context)?;
        reports.push(v);
    }
    use std::io::Write;
    write!(std::io::stdout().lock(), "{}", html::page(&reports))?;
    Ok(())
}

fn deserialized(v: &serde_json::Value, field: &str) -> anyhow::Result<Histogram<u64>> {
    let Some(encoded) = v["histogram_us"].as_str() else {
        bail!("it has no {field}histogram_us: write it with rpcsh bench --output json");
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .with_context(|| format!("{field}histogram_us is not base64"))?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| anyhow::anyhow!("{field}histogram_us is not an HdrHistogram: {e:?}"))?;
    let mut fitted = super::tally::micros();
    fitted
        .add(&h)
        .map_err(|e| anyhow::anyhow!("{field}histogram_us does not fit: {e:?}"))?;
    Ok(fitted)
}

/// A saved JSON report, read once for its figures, its labels and a page.
fn load(path: &PathBuf) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).context("not JSON: write it with rpcsh bench --output json")
}

/// One report: its method, tally, wall time and rates (calls and messages per second).
fn saved(v: &serde_json::Value) -> anyhow::Result<(String, Tally, Duration, (f64, f64))> {
    let mut tally = Tally::new();
    tally.latency = deserialized(v, "")?;
    if let Some(streams) = v["streams"].as_object() {
        let mut marks = super::tally::Marks::new();
        marks.messages = streams["messages"].as_u64().unwrap_or(0);
        for (name, metric) in streams.iter().filter(|(_, m)| m.is_object()) {
            if let Some(h) = marks.metric_mut(name) {
                *h = deserialized(metric, &format!("streams.{name}."))?;
            }
        }
        tally.streams = Some(marks);
    }
    for (k, step) in v["steps"].as_array().into_iter().flatten().enumerate() {
        let mut one = StepTally::new(step["step"].as_str().unwrap_or("?").to_string());
        one.latency = deserialized(step, &format!("steps[{k}]."))?;
        for (status, n) in step["statuses"].as_object().into_iter().flatten() {
            one.statuses.insert(status.clone(), n.as_u64().unwrap_or(0));
        }
        tally.steps.push(one);
    }
    for (k, stage) in v["stages"].as_array().into_iter().flatten().enumerate() {
        let seconds = |field: &str| {
            Duration::try_from_secs_f64(stage[field].as_f64().unwrap_or(0.0)).unwrap_or_default()
        };
        tally.stages.push(StageTally {
            stage: Stage {
                label: stage["stage"].as_str().unwrap_or("?").to_string(),
                start: seconds("from_s"),
                end: seconds("to_s"),
            },
            latency: deserialized(stage, &format!("stages[{k}]."))?,
            errors: stage["errors"].as_u64().unwrap_or(0),
            done: stage["ok"].as_u64().unwrap_or(0),
        });
    }
    for (k, second) in v["seconds"].as_array().into_iter().flatten().enumerate() {
        let mut one = super::tally::Second::new();
        one.latency = deserialized(second, &format!("seconds[{k}]."))?;
        one.errors = second["errors"].as_u64().unwrap_or(0);
        let at = second["second"].as_u64().unwrap_or(k as u64);
        tally.seconds.insert(at, one);
    }
    if let Some(statuses) = v["statuses"].as_object() {
        for (k, n) in statuses {
            tally.statuses.insert(k.clone(), n.as_u64().unwrap_or(0));
        }
    }
    if let Some(errors) = v["errors"].as_array() {
        tally.errors = errors
            .iter()
            .filter_map(|e| e.as_str().map(String::from))
            .collect();
    }
    let in_streams = tally.streams.as_ref().map_or(0, |m| m.messages);
    tally.messages = v["responses"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(in_streams);
    let wall =
        Duration::try_from_secs_f64(v["total_s"].as_f64().unwrap_or(0.0)).unwrap_or_default();
    let method = v["method"].as_str().unwrap_or("?").to_string();
    let mps = v["streams"]["messages_per_s"]
        .as_f64()
        .unwrap_or(tally.responses() as f64 / wall.as_secs_f64().max(f64::EPSILON));
    Ok((method, tally, wall, (v["rps"].as_f64().unwrap_or(0.0), mps)))
}

/// Ten buckets of equal width from fastest to slowest: each one's upper bound (µs) and count.
fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    if h.is_empty() {
        return Vec::new();
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
    buckets
}

/// Ten bars from fastest to slowest.
fn histogram(h: &Histogram<u64>) -> String {
    let buckets = buckets(h);
    if buckets.is_empty() {
        return "  (no requests)\n".into();
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

    #[test]
    fn reports_merge_into_their_union_exactly() {
        let dir = std::env::temp_dir().join(format!("rpcsh-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut union = Tally::new();
        let mut paths = Vec::new();
        for run in 0..3u64 {
            let mut t = Tally::new();
            for i in 0..1000u64 {
                let us = 50 + (i * 7919 + run * 104_729) % 20_000 * (run + 1);
                t.latency.record(us).unwrap();
                union.latency.record(us).unwrap();
            }
            t.statuses.insert("OK".into(), 1000);
            let report = Report::new("/Greeter/SayHello".into(), &t, Duration::from_secs(2));
            let path = dir.join(format!("{run}.json"));
            std::fs::write(&path, report.json(&t).to_string()).unwrap();
            paths.push(path);
        }
        let mut merged = Tally::new();
        for p in &paths {
            merged.merge(saved(&load(p).unwrap()).unwrap().1);
        }
        assert_eq!(merged.latency, union.latency);
        assert_eq!(merged.statuses["OK"], 3000);
        std::fs::write(&paths[0], "{}").unwrap();
        assert!(format!(
            "{:#}",
            saved(&load(&paths[0]).unwrap()).err().expect("refused")
        )
        .contains("no histogram_us"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
