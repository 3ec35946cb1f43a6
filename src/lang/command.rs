//! The shell's command language: one table of commands (the help text and completion come from
//! it) and the parser from a line to a `Command`. Parsing only; running is the engine's.
use crate::lang::expect::Expectation;
use std::time::Duration;

/// A line the language does not read: what is wrong with it, and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyntaxError {}

impl From<String> for SyntaxError {
    fn from(message: String) -> Self {
        SyntaxError(message)
    }
}

impl From<&str> for SyntaxError {
    fn from(message: &str) -> Self {
        SyntaxError(message.to_string())
    }
}

/// A command of the table: its name, aliases, arguments and what it does.
pub struct Spec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub args: &'static str,
    pub help: &'static str,
}

pub const COMMANDS: &[Spec] = &[
    Spec { name: "list", aliases: &["ls"], args: "[SERVICE]", help: "list the services, or one service's methods" },
    Spec { name: "describe", aliases: &["desc"], args: "SYMBOL", help: "show a service, method, message or enum" },
    Spec { name: "template", aliases: &[], args: "MESSAGE|METHOD", help: "a JSON skeleton of a message with every field" },
    Spec { name: "use", aliases: &[], args: "[SERVICE]", help: "make bare method names refer to SERVICE (no argument: forget it)" },
    Spec { name: "call", aliases: &[], args: "METHOD [JSON|@FILE]", help: "call a method; `METHOD JSON` alone does the same. Streams open a >> prompt: one JSON message per line, an empty line or .end to finish, .cancel or Ctrl-C to cancel" },
    Spec { name: "watch", aliases: &[], args: "METHOD [JSON]", help: "run a server stream in the background; its messages print tagged [N]" },
    Spec { name: "jobs", aliases: &[], args: "", help: "list the background watches" },
    Spec { name: "stop", aliases: &[], args: "N", help: "cancel watch N" },
    Spec { name: "header", aliases: &[], args: "set NAME VALUE | unset NAME", help: "add or remove a header sent with every call" },
    Spec { name: "headers", aliases: &[], args: "", help: "show the headers sent with every call" },
    Spec { name: "set", aliases: &[], args: "timeout DURATION|off | format json|jsonl|text | emit-defaults on|off | allow-unknown-fields on|off | compress gzip|zstd|deflate|off | protocol grpc|grpc-web|connect | http2 on|off", help: "change a setting" },
    Spec { name: "edit", aliases: &[], args: "[METHOD]", help: "write the request in $VISUAL/$EDITOR (the last one sent to METHOD, or its template), then send it; streams: one message a line" },
    Spec { name: "record", aliases: &[], args: "FILE [--partial] [--ignore a.b,c] | stop", help: "record what follows as an rpcsh run script, each call with the expectation its answer met (--partial: only fields, leaving out --ignore ones)" },
    Spec { name: "connect", aliases: &[], args: "ADDR", help: "switch to another server or config alias (same flags)" },
    Spec { name: "expect", aliases: &[], args: "JSON | exact JSON | [JSON, ...] | count N | error CODE [\"text\"] | header NAME VALUE | trailer NAME VALUE | within 2s JSON", help: "check the last call's response (partial match), its stream, its error, its headers and trailers, or a watch's messages" },
    Spec { name: "let", aliases: &[], args: "NAME = $.PATH", help: "keep a value of the last response ($.a.b, $[2].name for stream messages); ${NAME} puts it in later lines, ${env:VAR} reads the environment" },
    Spec { name: "sleep", aliases: &[], args: "DURATION", help: "wait, as in sleep 500ms" },
    Spec { name: "interleave", aliases: &[], args: "N...", help: "how a recorded bidi stream went: how many answers had come before each of its requests (serve --mock answers so; running passes over it)" },
    Spec { name: "pace", aliases: &[], args: "DURATION...", help: "how the last call's answer was paced, as a recording says it (the wait before each message): serve --mock keeps it, running passes over it" },
    Spec { name: "health", aliases: &[], args: "[SERVICE]", help: "ask grpc.health.v1 whether the server or a SERVICE is SERVING" },
    Spec { name: "clear", aliases: &[], args: "", help: "clear the screen (Ctrl-L too)" },
    Spec { name: "history", aliases: &[], args: "", help: "show the commands typed so far" },
    Spec { name: "stats", aliases: &[], args: "", help: "the shell's own resident memory, open files and live tasks" },
    Spec { name: "help", aliases: &["?"], args: "[COMMAND|all]", help: "the commands, one line each; `help all` with their arguments; `help COMMAND` one of them" },
    Spec { name: "exit", aliases: &["quit"], args: "", help: "leave the shell (Ctrl-D too)" },
];

/// A parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Empty,
    List(Option<String>),
    Describe(String),
    Template(String),
    Use(Option<String>),
    Call {
        method: String,
        data: Option<String>,
    },
    Watch {
        method: String,
        data: Option<String>,
    },
    Jobs,
    Stats,
    Health(Option<String>),
    Clear,
    Stop(usize),
    HeaderSet(String, String),
    HeaderUnset(String),
    Headers,
    SetTimeout(Option<Duration>),
    SetFormat(crate::client::output::format::Format),
    SetEmitDefaults(bool),
    SetAllowUnknownFields(bool),
    SetCompress(Option<crate::client::wire::invoke::Compression>),
    /// `set protocol P` and `set http2 on|off`: how calls travel from now on.
    SetProtocol(crate::client::net::web::Protocol),
    SetHttp2(bool),
    Connect(String),
    Expect(Expectation),
    Let(String, String),
    Sleep(Duration),
    /// A recording's pacing of the answer above it: for `serve --mock`.
    Pace(Vec<Duration>),
    /// A recording's count of answers before each request of the bidi stream above it.
    Interleave(Vec<usize>),
    History,
    Help(Option<String>),
    Exit,
    Edit(Option<String>),
    Record(RecordSpec),
    RecordStop,
}

pub use crate::lang::recording::RecordSpec;

/// The table entry for a name or alias.
pub fn spec(name: &str) -> Option<&'static Spec> {
    COMMANDS
        .iter()
        .find(|s| s.name == name || s.aliases.contains(&name))
}

/// The help table, or one command's help.
pub fn help(topic: Option<&str>) -> Result<String, SyntaxError> {
    // Two lines a command: the usage, then what it does (long usages wrap badly in columns).
    let line = |s: &Spec| {
        let names = std::iter::once(s.name)
            .chain(s.aliases.iter().copied())
            .collect::<Vec<_>>()
            .join(", ");
        format!("  {names} {}\n      {}\n", s.args, s.help)
    };
    // One line a command: its name and the first clause of what it does.
    let short = |s: &Spec| {
        let end = ["; ", " (", ". "]
            .iter()
            .filter_map(|sep| s.help.find(sep))
            .min()
            .unwrap_or(s.help.len());
        let what = &s.help[..end];
        format!("  {:<11}{what}\n", s.name)
    };
    match topic {
        None => Ok(COMMANDS.iter().map(short).collect::<String>()
            + "  METHOD JSON  shorthand for call METHOD JSON\n"
            + "help COMMAND shows its arguments; help all, every command's\n"),
        Some("all") => Ok(COMMANDS.iter().map(line).collect::<String>()
            + "  METHOD JSON    (shorthand for call METHOD JSON)\n"),
        Some(t) => spec(t).map(line).ok_or_else(|| SyntaxError(unknown(t))),
    }
}

fn unknown(word: &str) -> String {
    let best = COMMANDS
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
        .map(|n| (strsim::jaro_winkler(word, n), n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, name)) => {
            format!("unknown command {word:?}: did you mean {name}? (help lists the commands)")
        }
        None => format!("unknown command {word:?} (help lists the commands)"),
    }
}

/// Splits `line` into its first word and the rest, trimmed.
fn split(line: &str) -> (&str, &str) {
    let line = line.trim();
    match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    }
}

fn opt(rest: &str) -> Option<String> {
    (!rest.is_empty()).then(|| rest.to_string())
}

/// Parses one (possibly multi-line) input. A first word that is no command but looks like a
/// method (`Svc/Method`, `Svc.Method`, or a bare name after `use`) is a call.
/// The value of `set NAME on|off`.
fn on_off(name: &str, value: &str) -> Result<bool, SyntaxError> {
    match value {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(SyntaxError(format!("set {name} takes on or off"))),
    }
}

pub fn parse(line: &str) -> Result<Command, SyntaxError> {
    let (word, rest) = split(line);
    if word.is_empty() || word.starts_with('#') {
        return Ok(Command::Empty);
    }
    let need = |what: &str| -> Result<String, SyntaxError> {
        opt(rest).ok_or_else(|| SyntaxError(format!("{word} needs {what} (help {word})")))
    };
    let Some(spec) = spec(word) else {
        return shorthand(word, rest);
    };
    Ok(match spec.name {
        "list" => Command::List(opt(rest)),
        "describe" => Command::Describe(need("a symbol")?),
        "template" => Command::Template(need("a message or method")?),
        "use" => Command::Use(opt(rest)),
        "call" | "watch" => {
            let (method, data) = split(rest);
            if method.is_empty() {
                return Err(SyntaxError(format!("{word} needs a method (help {word})")));
            }
            let (method, data) = (method.to_string(), opt(data));
            if spec.name == "call" {
                Command::Call { method, data }
            } else {
                Command::Watch { method, data }
            }
        }
        "jobs" => Command::Jobs,
        "stop" => Command::Stop(
            rest.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| "stop needs a watch number, as jobs shows them".to_string())?,
        ),
        "header" => parse_header(rest)?,
        "headers" => Command::Headers,
        "set" => parse_set(rest)?,
        "connect" => Command::Connect(need("an address")?),
        "edit" => Command::Edit(opt(rest)),
        "record" if rest == "stop" => Command::RecordStop,
        "record" => Command::Record(parse_record(rest)?),
        "expect" => Command::Expect(parse_expectation(rest)?),
        "let" => parse_let(rest)?,
        "sleep" => Command::Sleep(
            crate::sys::util::parse_duration(rest).map_err(|e| format!("sleep: {e}"))?,
        ),
        "pace" => Command::Pace(
            rest.split_whitespace()
                .map(crate::sys::util::parse_duration)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("pace: {e}"))?,
        ),
        "interleave" => Command::Interleave(
            rest.split_whitespace()
                .map(|n| {
                    n.parse()
                        .map_err(|_| format!("interleave: {n:?} is no count"))
                })
                .collect::<Result<_, _>>()?,
        ),
        "health" => Command::Health(opt(rest)),
        "clear" => Command::Clear,
        "history" => Command::History,
        "stats" => Command::Stats,
        "help" => Command::Help(opt(rest)),
        "exit" => Command::Exit,
        other => unreachable!("{other} is in the table but not parsed"),
    })
}

/// A line whose first word is no command: `Service/Method JSON` calls the method.
fn shorthand(word: &str, rest: &str) -> Result<Command, SyntaxError> {
    if word.starts_with('{') || word.starts_with('@') {
        return Err(SyntaxError(format!(
            "{word:?} is no command: name the method first, as in RouteGuide/GetFeature {{}}"
        )));
    }
    if word.contains('/')
        || word.contains('.')
        || word.chars().next().is_some_and(char::is_uppercase)
    {
        return Ok(Command::Call {
            method: word.to_string(),
            data: opt(rest),
        });
    }
    Err(SyntaxError(unknown(word)))
}

/// `header set NAME VALUE`, `header unset NAME`.
fn parse_header(rest: &str) -> Result<Command, SyntaxError> {
    let (action, rest) = split(rest);
    let (name, value) = split(rest);
    match (action, name.is_empty()) {
        ("set", false) if !value.is_empty() => Ok(Command::HeaderSet(
            name.to_ascii_lowercase(),
            value.to_string(),
        )),
        ("unset", false) => Ok(Command::HeaderUnset(name.to_ascii_lowercase())),
        _ => Err("usage: header set NAME VALUE | header unset NAME".into()),
    }
}

/// `set KEY VALUE`: the shell's settings.
fn parse_set(rest: &str) -> Result<Command, SyntaxError> {
    use crate::client::output::format::Format;
    let (key, value) = split(rest);
    Ok(match key {
        "timeout" if matches!(value, "off" | "none" | "0") => Command::SetTimeout(None),
        "timeout" => Command::SetTimeout(Some(
            crate::sys::util::parse_duration(value).map_err(|e| format!("set timeout: {e}"))?,
        )),
        "format" => Command::SetFormat(match value {
            "json" => Format::Json,
            "jsonl" => Format::Jsonl,
            "text" => Format::Text,
            _ => return Err("set format takes json, jsonl or text".into()),
        }),
        "emit-defaults" => Command::SetEmitDefaults(on_off("emit-defaults", value)?),
        "allow-unknown-fields" => {
            Command::SetAllowUnknownFields(on_off("allow-unknown-fields", value)?)
        }
        "compress" => Command::SetCompress(
            crate::client::wire::invoke::Compression::parse(value)
                .map_err(|e| format!("set compress: {e}"))?,
        ),
        "protocol" => Command::SetProtocol(
            <crate::client::net::web::Protocol as clap::ValueEnum>::from_str(value, true)
                .map_err(|_| "set protocol takes grpc, grpc-web or connect".to_string())?,
        ),
        "http2" => Command::SetHttp2(on_off("http2", value)?),
        _ => return Err(SET_USAGE.into()),
    })
}

const SET_USAGE: &str = "usage: set timeout DURATION|off | set format json|jsonl|text | set emit-defaults on|off | set allow-unknown-fields on|off | set compress gzip|zstd|deflate|off | set protocol grpc|grpc-web|connect | set http2 on|off";

/// `record FILE [--partial] [--ignore a.b,c]`.
fn parse_record(rest: &str) -> Result<RecordSpec, SyntaxError> {
    let mut spec = RecordSpec::default();
    let mut words = rest.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "--partial" => spec.partial = true,
            "--ignore" => {
                let fields = words
                    .next()
                    .ok_or("record: --ignore needs fields, as in --ignore id,meta.time")?;
                spec.ignore.extend(fields.split(',').map(str::to_string));
                spec.partial = true;
            }
            path if spec.path.as_os_str().is_empty() => spec.path = path.into(),
            other => {
                return Err(SyntaxError(format!(
                    "record: unexpected {other:?} (help record)"
                )))
            }
        }
    }
    if spec.path.as_os_str().is_empty() {
        return Err("record needs a file, or stop (help record)".into());
    }
    Ok(spec)
}

/// `let NAME = $.PATH`.
fn parse_let(rest: &str) -> Result<Command, SyntaxError> {
    let (name, path) = rest.split_once('=').ok_or("usage: let NAME = $.PATH")?;
    let (name, path) = (name.trim(), path.trim());
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(SyntaxError(format!(
            "let: {name:?} is no variable name (letters, digits, _)"
        )));
    }
    if !path.starts_with('$') {
        return Err(SyntaxError(format!(
            "let: the path {path:?} starts with $ ($.field, $[0].field)"
        )));
    }
    Ok(Command::Let(name.to_string(), path.to_string()))
}

fn json(text: &str) -> Result<serde_json::Value, SyntaxError> {
    serde_json::from_str(text).map_err(|e| SyntaxError(format!("expect: invalid JSON: {e}")))
}

fn parse_expectation(rest: &str) -> Result<Expectation, SyntaxError> {
    let (word, after) = split(rest);
    Ok(match word {
        "" => return Err("expect needs what to expect (help expect)".into()),
        "exact" => Expectation::Exact(json(after)?),
        "count" => Expectation::Count(
            after
                .parse()
                .map_err(|_| format!("expect count: {after:?} is no number"))?,
        ),
        "error" => {
            let (code, text) = split(after);
            let code = status_code(code).ok_or_else(|| {
                format!("expect error: {code:?} is no gRPC status (e.g. NOT_FOUND)")
            })?;
            let text = match text {
                "" => None,
                t => Some(serde_json::from_str::<String>(t).map_err(|_| {
                    "expect error: the message text goes in double quotes".to_string()
                })?),
            };
            Expectation::Error(code, text)
        }
        "header" | "trailer" => {
            let (name, value) = split(after);
            if name.is_empty() || value.is_empty() {
                return Err(SyntaxError(format!("usage: expect {word} NAME VALUE")));
            }
            let (name, value) = (name.to_ascii_lowercase(), value.to_string());
            if word == "header" {
                Expectation::Header(name, value)
            } else {
                Expectation::Trailer(name, value)
            }
        }
        "within" => {
            let (d, value) = split(after);
            let d =
                crate::sys::util::parse_duration(d).map_err(|e| format!("expect within: {e}"))?;
            Expectation::Within(d, json(value)?)
        }
        _ => match json(rest)? {
            serde_json::Value::Array(items) => Expectation::Stream(items),
            other => Expectation::Partial(other),
        },
    })
}

/// A status code by its canonical name (`NOT_FOUND`) or tonic's (`NotFound`).
pub fn status_code(name: &str) -> Option<tonic::Code> {
    let wanted = name.replace('_', "").to_ascii_lowercase();
    (0..=16)
        .map(tonic::Code::from_i32)
        .find(|c| format!("{c:?}").to_ascii_lowercase() == wanted)
}

/// Whether a multi-line input is complete: every brace and bracket outside strings closed.
pub fn is_complete(input: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in input.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    depth <= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_shorthand() {
        assert_eq!(parse("ls").unwrap(), Command::List(None));
        assert_eq!(
            parse("  list  RouteGuide ").unwrap(),
            Command::List(Some("RouteGuide".into()))
        );
        assert_eq!(
            parse("call RouteGuide/GetFeature {\"latitude\": 1}").unwrap(),
            Command::Call {
                method: "RouteGuide/GetFeature".into(),
                data: Some("{\"latitude\": 1}".into())
            }
        );
        assert_eq!(
            parse("GetFeature {}").unwrap(),
            Command::Call {
                method: "GetFeature".into(),
                data: Some("{}".into())
            }
        );
        assert_eq!(
            parse("Greeter.SayHello").unwrap(),
            Command::Call {
                method: "Greeter.SayHello".into(),
                data: None
            }
        );
        assert_eq!(
            parse("header set Authorization Bearer x y").unwrap(),
            Command::HeaderSet("authorization".into(), "Bearer x y".into())
        );
        assert_eq!(
            parse("set timeout 5s").unwrap(),
            Command::SetTimeout(Some(Duration::from_secs(5)))
        );
        assert_eq!(parse("stop 2").unwrap(), Command::Stop(2));
        assert_eq!(parse("# comment").unwrap(), Command::Empty);
        assert_eq!(parse("quit").unwrap(), Command::Exit);
        assert_eq!(
            parse("expect {\"a\": 1}").unwrap(),
            Command::Expect(Expectation::Partial(serde_json::json!({"a": 1})))
        );
        assert_eq!(
            parse("expect count 3").unwrap(),
            Command::Expect(Expectation::Count(3))
        );
        assert_eq!(
            parse("expect error OUT_OF_RANGE \"does not fit\"").unwrap(),
            Command::Expect(Expectation::Error(
                tonic::Code::OutOfRange,
                Some("does not fit".into())
            ))
        );
        assert_eq!(
            parse("expect [{}, {\"a\": 2}]").unwrap(),
            Command::Expect(Expectation::Stream(vec![
                serde_json::json!({}),
                serde_json::json!({"a": 2})
            ]))
        );
        assert_eq!(
            parse("expect header X-Id some value").unwrap(),
            Command::Expect(Expectation::Header("x-id".into(), "some value".into()))
        );
        assert!(parse("expect trailer x-id").is_err());
        assert_eq!(
            parse("pace 100ms 2s").unwrap(),
            Command::Pace(vec![Duration::from_millis(100), Duration::from_secs(2)])
        );
        assert_eq!(
            parse("interleave 0 1 1").unwrap(),
            Command::Interleave(vec![0, 1, 1])
        );
        assert!(parse("interleave 0 x").is_err());
        assert_eq!(
            parse("let lat = $.location.latitude").unwrap(),
            Command::Let("lat".into(), "$.location.latitude".into())
        );
        assert_eq!(
            parse("sleep 500ms").unwrap(),
            Command::Sleep(Duration::from_millis(500))
        );
        assert!(parse("expect error NOPE")
            .unwrap_err()
            .to_string()
            .contains("no gRPC status"));
        assert!(parse("expect {")
            .unwrap_err()
            .to_string()
            .contains("invalid JSON"));
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(parse("lst")
            .unwrap_err()
            .to_string()
            .contains("did you mean list?"));
        assert!(parse("describe")
            .unwrap_err()
            .to_string()
            .contains("describe needs a symbol"));
        assert!(parse("set format yaml")
            .unwrap_err()
            .to_string()
            .contains("json, jsonl or text"));
        assert!(parse("stop x")
            .unwrap_err()
            .to_string()
            .contains("watch number"));
        assert!(parse("{}")
            .unwrap_err()
            .to_string()
            .contains("name the method first"));
        assert!(help(Some("nope")).is_err());
        // `help` is one line a command; `help all` has the aliases and arguments.
        assert!(help(None).unwrap().lines().count() < COMMANDS.len() + 3);
        assert!(help(None).unwrap().contains("  describe   show a service"));
        assert!(help(Some("all")).unwrap().contains("describe, desc SYMBOL"));
    }

    #[test]
    fn multi_line_json_is_complete_when_balanced() {
        assert!(is_complete("call X {\"a\": 1}"));
        assert!(!is_complete("call X {\"a\": {"));
        assert!(!is_complete("X [1, 2,"));
        assert!(is_complete("X {\"s\": \"}{\"}"));
    }
}
