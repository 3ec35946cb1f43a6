//! Each measured call on a line, as ghz's details are: `--details FILE` (CSV when FILE ends in
//! `.csv`, InfluxDB line protocol in `.lp`, JSON lines otherwise) and `--output influx-details`
//! (the lines on stdout before the summary's). Calls are kept in their shard for a second at
//! most: `live` writes them out as seconds close, so memory does not grow with the run.
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// One call: when it ended, how long it took, its status and error text ("" when OK).
#[derive(Clone)]
pub(super) struct Detail {
    pub ended: SystemTime,
    pub latency: Duration,
    pub status: String,
    pub error: String,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    JsonLines,
    Influx,
}

/// Where details go, and as what.
pub(super) struct Sink {
    out: Box<dyn Write + Send>,
    format: Format,
    /// InfluxDB tags of every line (`method=...` and the run's tags), escaped.
    tags: String,
    header: bool,
}

impl Sink {
    /// `--details FILE`.
    pub(super) fn file(path: &Path, tags: String) -> anyhow::Result<Sink> {
        use anyhow::Context;
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write --details {}", path.display()))?;
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Format::Csv,
            Some("lp") => Format::Influx,
            _ => Format::JsonLines,
        };
        Ok(Sink {
            out: Box::new(std::io::BufWriter::new(file)),
            format,
            tags,
            header: matches!(format, Format::Csv),
        })
    }

    /// `--output influx-details`: on stdout.
    pub(super) fn stdout(tags: String) -> Sink {
        Sink {
            out: Box::new(std::io::BufWriter::new(std::io::stdout())),
            format: Format::Influx,
            tags,
            header: false,
        }
    }

    /// Writes `rows` in the order the calls ended.
    pub(super) fn write(&mut self, mut rows: Vec<Detail>) -> std::io::Result<()> {
        if self.header {
            writeln!(self.out, "timestamp,latency_ns,status,error")?;
            self.header = false;
        }
        rows.sort_by_key(|d| d.ended);
        for d in rows {
            let latency = d.latency.as_nanos();
            match self.format {
                Format::Csv => writeln!(
                    self.out,
                    "{},{latency},{},{}",
                    rfc3339(d.ended),
                    d.status,
                    csv_field(&d.error)
                )?,
                Format::JsonLines => writeln!(
                    self.out,
                    "{}",
                    serde_json::json!({
                        "timestamp": rfc3339(d.ended),
                        "latency": latency as u64,
                        "status": d.status,
                        "error": d.error,
                    })
                )?,
                Format::Influx => writeln!(
                    self.out,
                    "rpcsh_bench_call,{},status={} latency={latency}i,error=\"{}\" {}",
                    self.tags,
                    d.status,
                    field(&d.error),
                    unix_nanos(d.ended)
                )?,
            }
        }
        self.out.flush()
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

fn unix_nanos(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A CSV value on one line, quoted when it holds a comma or a quote.
fn csv_field(text: &str) -> String {
    let line = one_line(text);
    match line.contains([',', '"']) {
        true => format!("\"{}\"", line.replace('"', "\"\"")),
        false => line,
    }
}

/// A line protocol string field's inside: quotes and backslashes escaped, on one line.
fn field(text: &str) -> String {
    one_line(text).replace('\\', "\\\\").replace('"', "\\\"")
}

/// A server's text with its control characters (line breaks, escapes) as spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_text_stays_one_field_on_one_line() {
        assert_eq!(csv_field("a,\"b\"\nc"), "\"a,\"\"b\"\" c\"");
        assert_eq!(
            field("say \"hi\"\\\r\n\x1b[31m"),
            "say \\\"hi\\\"\\\\   [31m"
        );
    }
}
