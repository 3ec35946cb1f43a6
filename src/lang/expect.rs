//! What a script's checks mean: partial matching of responses, `expect` against the outcome of
//! the last call, and `$.path` lookups for `let` (`${NAME}` substitution is `session::vars`'). Pure functions
//! over JSON; running them is the shell's job.
use serde_json::Value;
use std::time::Duration;

/// What `expect` checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// The last response contains these fields with these values (objects match partially).
    Partial(Value),
    /// The last response is exactly this.
    Exact(Value),
    /// The last call's responses, in order, each matching partially.
    Stream(Vec<Value>),
    Count(usize),
    /// The last call failed with this status (canonical name, e.g. OUT_OF_RANGE), its message
    /// containing the text if one is given.
    Error(tonic::Code, Option<String>),
    /// A watch's message matching partially arrives within the time.
    Within(Duration, Value),
    /// The last call's response headers hold this name with this value (`-bin`: base64).
    Header(String, String),
    /// The last call's trailers hold this name with this value; a status's details are the
    /// `grpc-status-details-bin` trailer.
    Trailer(String, String),
}

/// An `expect` that did not hold: what was expected and what came, as a diff.
#[derive(Debug)]
pub struct ExpectFailed(pub String);

impl std::fmt::Display for ExpectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expectation failed: {}", self.0)
    }
}

impl std::error::Error for ExpectFailed {}

impl From<&str> for ExpectFailed {
    fn from(message: &str) -> Self {
        ExpectFailed(message.to_string())
    }
}

/// A `let` path that leads to no value of the last response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoValue(pub String);

impl std::fmt::Display for NoValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoValue {}

impl From<String> for NoValue {
    fn from(message: String) -> Self {
        NoValue(message)
    }
}

/// What the last call produced: its responses (as proto3 JSON) and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub messages: Vec<Value>,
    /// None while the call runs or when it ended OK.
    pub error: Option<(tonic::Code, String)>,
    pub called: bool,
    /// The response headers and trailers as sent (binary values in base64), in order.
    pub headers: Vec<(String, String)>,
    pub trailers: Vec<(String, String)>,
    /// How long each of the first messages took: the first from the call's start, each next
    /// one from the one before.
    pub gaps: Vec<Duration>,
}

/// `actual` has every field of `expected` with the same value (objects partially, recursively;
/// arrays element by element, same length; numbers by value, so 1 matches 1.0).
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| contains(av, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| contains(a, e))
        }
        (Value::Number(a), Value::Number(e)) => a.as_f64() == e.as_f64(),
        (a, e) => a == e,
    }
}

/// Why `expectation` does not hold for `outcome`, with the expected and actual JSON as a diff.
pub fn check(expectation: &Expectation, outcome: &Outcome) -> Result<(), ExpectFailed> {
    if !outcome.called {
        return Err("no call to check: expect follows a call".into());
    }
    if let (Some((code, message)), false) = (
        &outcome.error,
        matches!(
            expectation,
            Expectation::Error(..) | Expectation::Header(..) | Expectation::Trailer(..)
        ),
    ) {
        return Err(ExpectFailed(format!(
            "the call failed: {code:?}: {message}"
        )));
    }
    let last = || outcome.messages.last().cloned().unwrap_or(Value::Null);
    match expectation {
        Expectation::Partial(expected) => {
            let actual = last();
            if contains(&actual, expected) {
                Ok(())
            } else {
                Err(ExpectFailed(diff(expected, &actual)))
            }
        }
        Expectation::Exact(expected) => {
            let actual = last();
            if contains(&actual, expected) && contains(expected, &actual) {
                Ok(())
            } else {
                Err(ExpectFailed(diff(expected, &actual)))
            }
        }
        Expectation::Stream(expected) => {
            let (e, a) = (
                Value::Array(expected.clone()),
                Value::Array(outcome.messages.clone()),
            );
            if contains(&a, &e) {
                Ok(())
            } else {
                Err(ExpectFailed(diff(&e, &a)))
            }
        }
        Expectation::Count(n) if outcome.messages.len() == *n => Ok(()),
        Expectation::Count(n) => Err(ExpectFailed(format!(
            "expected {n} message(s), got {}",
            outcome.messages.len()
        ))),
        Expectation::Error(code, text) => match &outcome.error {
            None => Err(ExpectFailed(format!(
                "expected error {}, but the call succeeded",
                canonical(*code)
            ))),
            Some((got, _)) if got != code => Err(ExpectFailed(format!(
                "expected error {}, got {}",
                canonical(*code),
                canonical(*got)
            ))),
            Some((_, message)) => match text {
                Some(t) if !message.contains(t.as_str()) => Err(ExpectFailed(format!(
                    "the error message {message:?} does not contain {t:?}"
                ))),
                _ => Ok(()),
            },
        },
        Expectation::Within(..) => Err("expect within checks watches, not the last call".into()),
        Expectation::Header(name, value) => metadata("header", &outcome.headers, name, value),
        Expectation::Trailer(name, value) => metadata("trailer", &outcome.trailers, name, value),
    }
}

/// Whether `sent` holds `name` with `value`.
fn metadata(
    kind: &str,
    sent: &[(String, String)],
    name: &str,
    value: &str,
) -> Result<(), ExpectFailed> {
    // Base64 may or may not be padded: the same bytes either way.
    let unpadded = |v: &str| v.trim_end_matches('=').to_string();
    let same = |v: &str| v == value || (name.ends_with("-bin") && unpadded(v) == unpadded(value));
    let values: Vec<&str> = sent
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect();
    match values.as_slice() {
        _ if values.iter().any(|v| same(v)) => Ok(()),
        [] => Err(ExpectFailed(format!("the call sent no {kind} {name}"))),
        got => Err(ExpectFailed(format!(
            "{kind} {name} is {got:?}, not {value:?}"
        ))),
    }
}

/// `NOT_FOUND` for `Code::NotFound`.
pub fn canonical(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Expected and actual, pretty-printed, as a unified diff.
pub fn diff(expected: &Value, actual: &Value) -> String {
    let e = serde_json::to_string_pretty(expected).unwrap_or_default() + "\n";
    let a = serde_json::to_string_pretty(actual).unwrap_or_default() + "\n";
    let text = similar::TextDiff::from_lines(&e, &a);
    format!(
        "{}",
        text.unified_diff()
            .context_radius(3)
            .header("expected", "actual")
    )
}

/// The value at `path` (`$`, `$.a.b`, `$[2].name`, `$.list[0]`) of the last call: `$[i]` indexes
/// its messages, `$.x` reads the last message.
pub fn lookup(outcome: &Outcome, path: &str) -> Result<Value, NoValue> {
    // `[i]` at the start of `text`: the index and what follows.
    let index = |text: &str| -> Result<(usize, String), String> {
        let (i, after) = text
            .split_once(']')
            .ok_or_else(|| format!("unclosed [ in {path:?}"))?;
        let i = i
            .parse()
            .map_err(|_| format!("{i:?} is no index in {path:?}"))?;
        Ok((i, after.to_string()))
    };
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("{path:?} does not start with $"))?;
    let (mut current, mut rest) = match rest.strip_prefix('[') {
        Some(after) => {
            let (i, after) = index(after)?;
            let count = outcome.messages.len();
            let message = outcome
                .messages
                .get(i)
                .ok_or_else(|| format!("{path}: the call returned {count} message(s)"))?;
            (message.clone(), after)
        }
        None => {
            let last = outcome.messages.last().cloned();
            (
                last.ok_or_else(|| format!("{path}: the last call returned no message"))?,
                rest.to_string(),
            )
        }
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            current = current
                .get(key)
                .cloned()
                .ok_or_else(|| format!("{path}: no field {key:?}"))?;
            rest = after[end..].to_string();
        } else if let Some(after) = rest.strip_prefix('[') {
            let (i, after) = index(after)?;
            current = current
                .get(i)
                .cloned()
                .ok_or_else(|| format!("{path}: no element {i}"))?;
            rest = after;
        } else {
            return Err(NoValue(format!("cannot read {rest:?} in {path:?}")));
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(messages: Vec<Value>) -> Outcome {
        Outcome {
            messages,
            called: true,
            ..Outcome::default()
        }
    }

    #[test]
    fn headers_and_trailers() {
        let failed = Outcome {
            error: Some((tonic::Code::InvalidArgument, "no".into())),
            headers: vec![("x-id".into(), "7".into())],
            trailers: vec![("x-trace-bin".into(), "AAE=".into())],
            ..outcome(vec![])
        };
        let header = |n: &str, v: &str| Expectation::Header(n.into(), v.into());
        assert!(check(&header("x-id", "7"), &failed).is_ok());
        assert_eq!(
            check(&header("x-id", "8"), &failed).unwrap_err().0,
            "header x-id is [\"7\"], not \"8\""
        );
        assert!(check(&header("x-trace-bin", "AAE"), &failed).is_err());
        let trailer = |n: &str, v: &str| Expectation::Trailer(n.into(), v.into());
        // Base64 padded or not: the same bytes.
        assert!(check(&trailer("x-trace-bin", "AAE"), &failed).is_ok());
        assert!(check(&trailer("x-id", "7"), &failed)
            .unwrap_err()
            .to_string()
            .contains("no trailer x-id"));
    }

    #[test]
    fn partial_and_exact() {
        let got = outcome(vec![
            json!({"name": "x", "location": {"latitude": 1, "longitude": 2}}),
        ]);
        assert!(check(
            &Expectation::Partial(json!({"location": {"latitude": 1}})),
            &got
        )
        .is_ok());
        let err = check(
            &Expectation::Partial(json!({"location": {"latitude": 9}})),
            &got,
        )
        .unwrap_err()
        .0;
        assert!(
            err.contains("--- expected")
                && err.contains("-    \"latitude\": 9")
                && err.contains("+    \"latitude\": 1"),
            "{err}"
        );
        assert!(check(&Expectation::Exact(json!({"name": "x"})), &got).is_err());
        assert!(contains(&json!(1.0), &json!(1)));
    }

    #[test]
    fn streams_counts_and_errors() {
        let got = outcome(vec![json!({"seq": "1"}), json!({"seq": "2"})]);
        assert!(check(
            &Expectation::Stream(vec![json!({}), json!({"seq": "2"})]),
            &got
        )
        .is_ok());
        assert!(check(&Expectation::Stream(vec![json!({})]), &got).is_err());
        assert!(check(&Expectation::Count(2), &got).is_ok());
        let failed = Outcome {
            error: Some((tonic::Code::OutOfRange, "2 + 2 does not fit".into())),
            ..outcome(vec![])
        };
        assert!(check(
            &Expectation::Error(tonic::Code::OutOfRange, Some("not fit".into())),
            &failed
        )
        .is_ok());
        assert!(
            check(&Expectation::Error(tonic::Code::NotFound, None), &failed)
                .unwrap_err()
                .to_string()
                .contains("got OUT_OF_RANGE")
        );
        assert!(check(&Expectation::Count(0), &failed)
            .unwrap_err()
            .to_string()
            .contains("the call failed"));
        assert_eq!(
            canonical(tonic::Code::DeadlineExceeded),
            "DEADLINE_EXCEEDED"
        );
    }

    #[test]
    fn paths_and_variables() {
        let got = outcome(vec![
            json!({"a": [{"b": 1}]}),
            json!({"name": "last", "n": 5}),
        ]);
        assert_eq!(lookup(&got, "$.name").unwrap(), json!("last"));
        assert_eq!(lookup(&got, "$[0].a[0].b").unwrap(), json!(1));
        assert!(lookup(&got, "$.nope")
            .unwrap_err()
            .to_string()
            .contains("no field"));
    }
}
