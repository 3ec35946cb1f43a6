//! `rpcsh bench --options FILE`: a run's options from a TOML file (ghz's `--config`), spliced
//! into the command line before it is parsed, right after `bench`: a key is a long flag's name
//! (`total = 10000`, `rps_steps = "100,500/10s"`, `insecure = true`), `method` (or ghz's `call`)
//! the METHOD, `data` the request (a TOML table is turned into JSON), `metadata` a table of
//! headers and `tags` a table of tags. Flags on the command line come after the file's, and win.
use anyhow::{bail, Context};
use std::ffi::OsString;

/// `args` with the file of bench's `--options` spliced in; as they are without one.
pub fn expand(args: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let Some(bench) = args.iter().position(|a| a == "bench") else {
        return Ok(args);
    };
    let mut path = None;
    for (k, a) in args.iter().enumerate().skip(bench + 1) {
        let a = a.to_string_lossy();
        if a == "--options" {
            path = args.get(k + 1).cloned();
        } else if let Some(p) = a.strip_prefix("--options=") {
            path = Some(p.into());
        }
    }
    let Some(path) = path else {
        return Ok(args);
    };
    let shown = std::path::Path::new(&path).display().to_string();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("cannot read --options {shown}"))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map_or(1, |s| text[..s.start].matches('\n').count() + 1);
        crate::sys::error::Hint::new(
            format!("--options {shown}:{line}: {}", e.message()),
            "the file is TOML: total = 1000, concurrency = 20, data = { name = \"x\" }",
        )
    })?;
    let words = words(&table).with_context(|| format!("--options {shown}"))?;
    let mut out = args[..=bench].to_vec();
    out.extend(words.into_iter().map(OsString::from));
    out.extend(args[bench + 1..].iter().cloned());
    Ok(out)
}

/// The command-line words of the file's keys.
fn words(table: &toml::Table) -> anyhow::Result<Vec<String>> {
    let flags = bench_flags();
    let mut method = Vec::new();
    let mut out = Vec::new();
    for (key, value) in table {
        match (key.as_str(), value) {
            ("method" | "call", toml::Value::String(m)) => method.push(m.clone()),
            ("data", toml::Value::String(d)) => out.extend(["--data".into(), d.clone()]),
            ("data", other) => out.extend(["--data".into(), json(other)?.to_string()]),
            ("metadata", toml::Value::Table(headers)) => {
                for (name, v) in headers {
                    out.extend(["--header".into(), format!("{name}: {}", scalar(v)?)]);
                }
            }
            ("tags", toml::Value::Table(tags)) => {
                for (name, v) in tags {
                    out.extend(["--tag".into(), format!("{name}={}", scalar(v)?)]);
                }
            }
            (key, value) => {
                let flag = key.replace('_', "-");
                let flag = match flag.as_str() {
                    "host" => "addr".to_string(),
                    _ => flag,
                };
                if !flags.contains(&flag) {
                    bail!(crate::sys::error::Hint::new(
                        format!("unknown option {key:?}"),
                        "keys are bench's long flags (rpcsh bench --help), method, data, metadata and tags",
                    ));
                }
                let values = match value {
                    toml::Value::Array(items) => items.iter().collect(),
                    one => vec![one],
                };
                for v in values {
                    match v {
                        toml::Value::Boolean(true) => out.push(format!("--{flag}")),
                        toml::Value::Boolean(false) => {}
                        v => out.extend([format!("--{flag}"), scalar(v)?]),
                    }
                }
            }
        }
    }
    Ok(method.into_iter().chain(out).collect())
}

/// The long flags of `rpcsh bench`.
fn bench_flags() -> Vec<String> {
    use clap::CommandFactory;
    let cli = super::Cli::command();
    let bench = cli.find_subcommand("bench").expect("bench is a subcommand");
    (bench.get_arguments().chain(cli.get_arguments()))
        .filter_map(|a| a.get_long().map(String::from))
        .collect()
}

fn scalar(v: &toml::Value) -> anyhow::Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => bail!("{other} is not a single value"),
    })
}

fn json(v: &toml::Value) -> anyhow::Result<serde_json::Value> {
    serde_json::to_value(v).context("data cannot be JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_keys_become_flags_before_the_command_lines() {
        let table: toml::Table = r#"
            call = "Greeter/SayHello"
            total = 100
            rps_steps = "10,20/1s"
            insecure = true
            random = false
            data = { name = "x", n = 2 }
            metadata = { x-id = "{{uuid}}" }
            tags = { env = "ci" }
        "#
        .parse()
        .unwrap();
        let said = words(&table).unwrap();
        assert_eq!(said[0], "Greeter/SayHello");
        let line = said.join(" ");
        for part in [
            "--total 100",
            "--rps-steps 10,20/1s",
            "--insecure",
            "--header x-id: {{uuid}}",
            "--tag env=ci",
        ] {
            assert!(line.contains(part), "{part}: {line}");
        }
        assert!(!line.contains("random"), "{line}");
        let data = &said[said.iter().position(|w| w == "--data").unwrap() + 1];
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(data, serde_json::json!({"name": "x", "n": 2}));
        let bad: toml::Table = "totl = 1".parse().unwrap();
        assert!(format!("{:#}", words(&bad).unwrap_err()).contains("unknown option \"totl\""));
    }
}
