//! `rpcsh grpcurl ARGS...`, and rpcsh run through a link named `grpcurl`: grpcurl's command
//! line on rpcsh's engine (its connection, schema sources and calls), printing what grpcurl
//! prints on stdout, its error blocks on stderr and its exit codes (1 for an error, 2 for a
//! mistake in the command line, 64 plus the code of a failed call). grpcurl 1.9's JSON unless
//! `RPCSH_GRPCURL=1.8` asks for 1.8's (which differs in empty messages and `Any`s).
mod call;
mod flags;
mod go;
mod json;
mod jsonpb;
mod protoprint;
mod symbols;
mod text;

use crate::client::net::transport::TransportOptions;
use crate::client::schema::Schema;
use crate::session::connection::{Connection, SchemaSettings, Session};
use flags::{FlagError, Flags};
use json::JsonNames;
use prost_reflect::DynamicMessage;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use symbols::{find, lookup_in, template, Found};

/// grpcurl's exit codes past a call's status: 64 plus its code.
const STATUS_OFFSET: u8 = 64;

/// The arguments grpcurl should read, when the binary is run as `grpcurl` (a link) or as
/// `rpcsh grpcurl`; the name to print in its messages.
pub fn invoked(args: &[OsString]) -> Option<(String, Vec<String>)> {
    let strings: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let program = strings.first()?;
    let base = std::path::Path::new(program)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base == "grpcurl" {
        return Some((program.clone(), strings[1..].to_vec()));
    }
    if strings.get(1).map(String::as_str) == Some("grpcurl") {
        return Some(("rpcsh grpcurl".into(), strings[2..].to_vec()));
    }
    None
}

/// Runs a grpcurl command line; the exit code is grpcurl's.
pub fn main(program: &str, args: Vec<String>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async {
        tokio::select! {
            code = run(program, args) => code,
            code = crate::sys::signals::interrupted(true) => code,
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(code)
}

/// How a grpcurl run ends other than well.
enum Exit {
    /// A mistake in the command line: the line, then grpcurl's pointer to `-help` (exit 2).
    Usage(String),
    /// An error: its line (exit 1).
    Fail(String),
    /// The code to exit with, what to say already said.
    Code(u8),
}

fn usage(msg: impl Into<String>) -> Exit {
    Exit::Usage(msg.into())
}

fn fail(msg: impl Into<String>) -> Exit {
    Exit::Fail(msg.into())
}

fn warn(msg: &str) {
    eprintln!("Warning: {msg}");
}

/// Runs a grpcurl command line on the current runtime; the exit code is grpcurl's.
pub async fn run(program: &str, args: Vec<String>) -> u8 {
    match command(program, args).await {
        Ok(()) => 0,
        Err(Exit::Code(code)) => code,
        Err(Exit::Usage(msg)) => {
            eprintln!("{}", crate::sys::style::printable(&msg));
            eprintln!("Try '{program} -help' for more details.");
            2
        }
        Err(Exit::Fail(msg)) => {
            eprintln!("{}", crate::sys::style::printable(&msg));
            1
        }
    }
}

/// What the command line asks for.
enum Action {
    List(Option<String>),
    Describe(Option<String>),
    Invoke(String),
}

async fn command(program: &str, args: Vec<String>) -> Result<(), Exit> {
    let f = match Flags::parse(&args) {
        Ok(f) => f,
        Err(FlagError::Help) => {
            eprint!("{}", flags::usage(program));
            return Err(Exit::Code(0));
        }
        Err(FlagError::Bad(msg)) => {
            eprintln!("{msg}");
            eprint!("{}", flags::usage(program));
            return Err(Exit::Code(2));
        }
    };
    if f.on("help") {
        eprint!("{}", flags::usage(program));
        return Ok(());
    }
    if f.on("version") {
        eprintln!(
            "{program} v1.9.3 (rpcsh {}: grpcurl's command line)",
            env!("CARGO_PKG_VERSION")
        );
        return Ok(());
    }
    let format = check_flags(&f)?;
    let (target, action) = positional(&f)?;
    let reflection = check_sources(&f, target.as_deref(), &action)?;
    let deadline = seconds(&f, "max-time").and_then(|d| Instant::now().checked_add(d));
    let run = Run {
        f: &f,
        conn: connection(&f, target, reflection)?,
        format,
        deadline,
        rpc_headers: expand(&f, "rpc-header", "rpc headers")?,
        headers: expand(&f, "H", "additional headers")?,
        legacy: std::env::var("RPCSH_GRPCURL").is_ok_and(|v| v.starts_with("1.8")),
    };
    let limited = async {
        match action {
            Action::List(service) => run.list(service).await,
            Action::Describe(symbol) => run.describe(symbol).await,
            Action::Invoke(method) => run.invoke(&method).await,
        }
    };
    // A little after the call's own deadline, so that a call past -max-time ends as grpcurl's
    // does, with DEADLINE_EXCEEDED; this bounds what comes before it (reflection).
    match deadline.and_then(|at| at.checked_add(Duration::from_millis(250))) {
        None => limited.await,
        Some(at) => tokio::time::timeout_at(at.into(), limited)
            .await
            .unwrap_or_else(|_| Err(fail("rpcsh: error: context deadline exceeded (-max-time)"))),
    }
}

/// grpcurl's checks of its flags, in its words; the format of requests and responses.
fn check_flags(f: &Flags) -> Result<Format, Exit> {
    for (flag, what) in [
        ("connect-timeout", "-connect-timeout"),
        ("keepalive-time", "-keepalive-time"),
        ("max-time", "-max-time"),
    ] {
        if f.float(flag).is_some_and(|v| v < 0.0) {
            return Err(usage(format!("The {what} argument must not be negative.")));
        }
    }
    if f.int("max-msg-sz").is_some_and(|v| v < 0) {
        return Err(usage("The -max-msg-sz argument must not be negative."));
    }
    let plaintext = f.on("plaintext");
    if plaintext && f.on("alts") {
        return Err(usage(
            "The -plaintext and -alts arguments are mutually exclusive.",
        ));
    }
    if plaintext && f.on("insecure") {
        return Err(usage(
            "The -plaintext and -insecure arguments are mutually exclusive.",
        ));
    }
    if plaintext && f.given("cert") {
        return Err(usage(
            "The -plaintext and -cert arguments are mutually exclusive.",
        ));
    }
    if plaintext && f.given("key") {
        return Err(usage(
            "The -plaintext and -key arguments are mutually exclusive.",
        ));
    }
    if f.given("key") != f.given("cert") {
        return Err(usage(
            "The -cert and -key arguments must be used together and both be present.",
        ));
    }
    if f.given("alts-handshaker-service") && !f.on("alts") {
        return Err(usage(
            "The -alts-handshaker-service argument must be used with the -alts argument.",
        ));
    }
    if f.given("alts-target-service-account") && !f.on("alts") {
        return Err(usage(
            "The -alts-target-service-account argument must be used with the -alts argument.",
        ));
    }
    let format = f.text("format").unwrap_or("json");
    if format != "json" && format != "text" {
        return Err(usage("The -format option must be 'json' or 'text'."));
    }
    if f.on("emit-defaults") && format != "json" {
        warn("The -emit-defaults is only used when using json format.");
    }
    Ok(match format {
        "text" => Format::Text,
        _ => Format::Json,
    })
}

/// The address (when given) and what to do, from the positional arguments.
fn positional(f: &Flags) -> Result<(Option<String>, Action), Exit> {
    let mut rest = f.args.clone().into_iter().peekable();
    let target = match rest.peek().map(String::as_str) {
        None => return Err(usage("Too few arguments.")),
        Some("list" | "describe") => None,
        Some(_) => rest.next(),
    };
    let verb = rest.next().ok_or_else(|| usage("Too few arguments."))?;
    let action = match verb.as_str() {
        "list" => Action::List(rest.next()),
        "describe" => Action::Describe(rest.next()),
        _ => Action::Invoke(verb),
    };
    if !matches!(action, Action::Invoke(_)) {
        if f.given("d") {
            warn("The -d argument is not used with 'list' or 'describe' verb.");
        }
        if f.given("rpc-header") {
            warn("The -rpc-header argument is not used with 'list' or 'describe' verb.");
        }
    }
    if rest.next().is_some() {
        return Err(usage("Too many arguments."));
    }
    Ok((target, action))
}

/// grpcurl's checks of where the schema comes from; whether reflection is used.
fn check_sources(f: &Flags, target: Option<&str>, action: &Action) -> Result<bool, Exit> {
    let (protosets, protos) = (f.list("protoset"), f.list("proto"));
    if matches!(action, Action::Invoke(_)) && target.is_none() {
        return Err(usage("No host:port specified."));
    }
    if protosets.is_empty() && protos.is_empty() && target.is_none() {
        return Err(usage(
            "No host:port specified, no protoset specified, and no proto sources specified.",
        ));
    }
    if !protosets.is_empty() && f.given("reflect-header") {
        warn("The -reflect-header argument is not used when -protoset files are used.");
    }
    if !protosets.is_empty() && !protos.is_empty() {
        return Err(usage(
            "Use either -protoset files or -proto files, but not both.",
        ));
    }
    if f.given("import-path") && protos.is_empty() {
        warn("The -import-path argument is not used unless -proto files are used.");
    }
    let files = !protosets.is_empty() || !protos.is_empty();
    let reflection = match f.text("use-reflection") {
        Some(v) => v == "true",
        None => !files,
    };
    if !reflection && !files {
        return Err(usage(
            "No protoset files or proto files specified and -use-reflection set to false.",
        ));
    }
    if let (Some(a), Some(s)) = (f.text("authority"), f.text("servername")) {
        if a == s {
            warn("Both -servername and -authority are present; prefer only -authority.");
        } else if !f.on("plaintext") {
            return Err(usage(
                "Cannot specify different values for -servername and -authority.",
            ));
        }
    }
    if f.on("alts") {
        return Err(fail(
            "rpcsh: error: -alts is not supported: rpcsh has no ALTS (Google's transport security between its own services); use TLS",
        ));
    }
    if let Some(t) = target.filter(|t| t.starts_with("xds:")) {
        return Err(fail(format!(
            "rpcsh: error: xds targets ({t}) are not supported: give the address of a server or a proxy"
        )));
    }
    Ok(reflection)
}

/// The headers of a repeatable flag, `${NAME}`s expanded with `-expand-headers`.
fn expand(f: &Flags, flag: &str, what: &str) -> Result<Vec<String>, Exit> {
    let list: Vec<String> = f.list(flag).into_iter().filter(|h| !h.is_empty()).collect();
    if !f.on("expand-headers") {
        return Ok(list);
    }
    list.iter()
        .map(|h| expand_env(h))
        .collect::<Result<_, _>>()
        .map_err(|e| fail(format!("Failed to expand {what}: {e}")))
}

/// The connection grpcurl's flags describe.
fn connection(f: &Flags, target: Option<String>, reflection: bool) -> Result<Connection, Exit> {
    let (protosets, protos) = (f.list("protoset"), f.list("proto"));
    let files = !protosets.is_empty() || !protos.is_empty();
    let plaintext = f.on("plaintext");
    let headers = expand(f, "H", "additional headers")?;
    let reflect_headers = expand(f, "reflect-header", "reflection headers")?;
    // Files without an address are only read: the placeholder is never dialled.
    let addr = target.clone().unwrap_or_else(|| "127.0.0.1:0".into());
    let addr = match (
        f.on("unix"),
        addr.strip_prefix("unix://").or(addr.strip_prefix("unix:")),
    ) {
        (true, _) => format!("unix:{addr}"),
        (false, Some(path)) => format!("unix:{path}"),
        (false, None) => addr.strip_prefix("dns:///").unwrap_or(&addr).to_string(),
    };
    let mut protoset_files = protosets.iter().map(std::path::PathBuf::from);
    let mut conn = Connection {
        addr,
        transport: TransportOptions {
            plaintext,
            tls: !plaintext,
            cacert: f
                .text("cacert")
                .filter(|_| !f.on("insecure"))
                .map(Into::into),
            cert: f.text("cert").map(Into::into),
            key: f.text("key").map(Into::into),
            authority: f
                .text("authority")
                .or(f.text("servername"))
                .map(String::from),
            connect_timeout: Some(seconds(f, "connect-timeout").unwrap_or(Duration::from_secs(10))),
            keepalive: seconds(f, "keepalive-time"),
            user_agent: Some(match f.text("user-agent") {
                Some(ua) => format!("{ua} grpcurl/v1.9.3"),
                None => "grpcurl/v1.9.3".into(),
            }),
            insecure: f.on("insecure"),
            ..TransportOptions::default()
        },
        headers: headers.iter().map(|h| as_header(h)).collect(),
        reflect_headers: reflect_headers.iter().map(|h| as_header(h)).collect(),
        rpc_headers: expand(f, "rpc-header", "rpc headers")?
            .iter()
            .map(|h| as_header(h))
            .collect(),
        schema: SchemaSettings {
            protos: protos.iter().map(Into::into).collect(),
            import_paths: f.list("import-path").iter().map(Into::into).collect(),
            protoset: protoset_files.next(),
            ..SchemaSettings::default()
        },
        max_message_size: f.int("max-msg-sz").filter(|n| *n > 0).map(|n| n as usize),
        ..Connection::default()
    };
    conn.schema.schema_add = protoset_files.collect();
    if reflection && files {
        // Reflection first, the files beside it (grpcurl's composite source).
        conn.schema.schema_add.extend(conn.schema.protoset.take());
        conn.schema.schema_add.append(&mut conn.schema.protos);
    }
    Ok(conn)
}

/// A flag's seconds as a duration: none when not given, zero, or too long to be one (`inf`).
fn seconds(f: &Flags, name: &str) -> Option<Duration> {
    let t = f.float(name).filter(|t| *t > 0.0)?;
    Duration::try_from_secs_f64(t).ok()
}

/// `name: value`, as grpcurl takes a header without a colon (an empty value).
fn as_header(h: &str) -> String {
    if h.contains(':') {
        h.to_string()
    } else {
        format!("{h}:")
    }
}

/// `${NAME}` in a header replaced by the environment's value, as `-expand-headers` asks.
fn expand_env(header: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = header;
    while let Some(at) = rest.find("${") {
        let Some(end) = rest[at + 2..].find('}') else {
            break;
        };
        let name = &rest[at + 2..at + 2 + end];
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
            continue;
        }
        let value = std::env::var(name).map_err(|_| {
            format!("header {header:?} refers to missing environment variable {name:?}")
        })?;
        out.push_str(&rest[..at]);
        out.push_str(&value);
        rest = &rest[at + 3 + end..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Text,
}

/// One run's settings.
struct Run<'a> {
    f: &'a Flags,
    conn: Connection,
    format: Format,
    deadline: Option<Instant>,
    headers: Vec<String>,
    rpc_headers: Vec<String>,
    /// grpcurl 1.8's JSON rather than 1.9's.
    legacy: bool,
}

impl Run<'_> {
    /// A session; `shallow` builds only what a call's messages need (no options' extensions).
    async fn open(&self, for_call: bool, shallow: bool) -> Result<Session, Exit> {
        let mut session = self.conn.open(for_call).await.map_err(|e| {
            let cause = cause(&e);
            if self.conn.schema.protos.is_empty() && self.conn.schema.protoset.is_none() || for_call
            {
                fail(format!(
                    "Failed to dial target host {:?}: {cause}",
                    self.conn.addr
                ))
            } else {
                fail(format!("Failed to process proto descriptor sets.: {cause}"))
            }
        })?;
        match shallow {
            true => session.schema.shallow(),
            false => session.schema.only_what_is_used(),
        }
        Ok(session)
    }

    async fn list(&self, service: Option<String>) -> Result<(), Exit> {
        let mut session = self.open(false, true).await?;
        let schema = &mut session.schema;
        let mut out = String::new();
        let symbols = match &service {
            None => {
                let services = schema
                    .services()
                    .await
                    .map_err(|e| fail(format!("Failed to list services: {}", cause(&e))))?;
                if services.is_empty() {
                    out.push_str("(No services)\n");
                }
                for s in &services {
                    out.push_str(s);
                    out.push('\n');
                }
                services
            }
            Some(name) => {
                let found = find(schema, name).await.map_err(|e| {
                    fail(format!("Failed to list methods for service {name:?}: {e}"))
                })?;
                let Some(Found::Service(s)) = found else {
                    let why = match found {
                        None => format!("Symbol not found: {name}"),
                        Some(_) => format!("Service not found: {name}"),
                    };
                    return Err(fail(format!(
                        "Failed to list methods for service {name:?}: {why}"
                    )));
                };
                let mut methods: Vec<String> =
                    s.methods().map(|m| m.full_name().to_string()).collect();
                methods.sort();
                if methods.is_empty() {
                    out.push_str("(No methods)\n");
                }
                for m in methods {
                    out.push_str(&m);
                    out.push('\n');
                }
                vec![name.clone()]
            }
        };
        print(&out);
        self.write_out(schema, &symbols).await
    }

    async fn describe(&self, symbol: Option<String>) -> Result<(), Exit> {
        let mut session = self.open(false, false).await?;
        let schema = &mut session.schema;
        let symbols = match symbol {
            Some(s) => vec![s],
            None => {
                let services = schema
                    .services_as_listed()
                    .await
                    .map_err(|e| fail(format!("Failed to list services: {}", cause(&e))))?;
                if services.is_empty() {
                    print("Server returned an empty list of exposed services\n");
                }
                services
            }
        };
        let mut whole = std::collections::HashMap::new();
        for symbol in &symbols {
            let name = symbol.strip_prefix('.').unwrap_or(symbol);
            let found = find(schema, name)
                .await
                .map_err(|e| fail(format!("Failed to resolve symbol {name:?}: {e}")))?
                // Extensions are not indexed by name: looked for in every file at hand.
                .or_else(|| lookup_in(&schema.unpruned_all()?, name));
            let Some(found) = found else {
                return Err(fail(format!(
                    "Failed to resolve symbol {name:?}: Symbol not found: {name}"
                )));
            };
            // Printed from the whole of its file: a pruned build lacks what options use. (One
            // pool a file: `describe` of every service builds each file's once.)
            let file = found.file_name().to_string();
            let pool = whole
                .entry(file)
                .or_insert_with_key(|file| schema.unpruned(file));
            let found = pool
                .as_ref()
                .and_then(|pool| lookup_in(pool, name))
                .unwrap_or(found);
            let top = found.top_name();
            let docs = schema.docs(&top);
            let mut p = protoprint::ProtoPrinter::new(&docs);
            let (kind, full) = found.print(&mut p);
            let mut text = format!("{full} is {kind}:\n{}", p.out);
            if let (Found::Message(m), true) = (&found, self.f.on("msg-template")) {
                let template = template(m);
                let mut names = JsonNames::default();
                names.learn(m, &|full| schema.raw_file_of(full));
                let printed = match self.format {
                    Format::Json => self.json(&template, true, &names),
                    Format::Text => text::text(&template),
                };
                text.push_str(&format!("\nMessage template:\n{printed}\n"));
            }
            print(&text);
        }
        self.write_out(schema, &symbols).await
    }

    /// `-protoset-out` and `-proto-out-dir`: what was listed, described or called, written.
    async fn write_out(&self, schema: &mut Schema, symbols: &[String]) -> Result<(), Exit> {
        let (set_out, dir_out) = (self.f.text("protoset-out"), self.f.text("proto-out-dir"));
        if set_out.is_none() && dir_out.is_none() {
            return Ok(());
        }
        let (set, _, _) = schema.export(symbols).await.map_err(|e| {
            fail(format!(
                "Failed to write protoset to {}: {}",
                set_out.or(dir_out).unwrap_or_default(),
                cause(&e)
            ))
        })?;
        if let Some(path) = set_out {
            std::fs::write(path, &set)
                .map_err(|e| fail(format!("Failed to write protoset to {path}: {e}")))?;
        }
        if let Some(dir) = dir_out {
            crate::client::schema::write_protos(&set, std::path::Path::new(dir))
                .map_err(|e| fail(format!("Failed to write protos to {dir}: {}", cause(&e))))?;
        }
        Ok(())
    }

    fn json(&self, message: &DynamicMessage, emit_defaults: bool, names: &JsonNames) -> String {
        if self.legacy {
            json::message(message, emit_defaults, names)
        } else {
            json::indent(&json::compact(message, emit_defaults, names))
        }
    }
}

/// Writes `text` to stdout: names and comments a server sent, their control characters shown
/// escaped (grpcurl writes them raw; a terminal would obey them).
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(crate::sys::style::printable(text).as_bytes());
    let _ = out.flush();
}

/// An error's chain in one line.
fn cause(e: &anyhow::Error) -> String {
    if e.chain().any(|c| c.is::<crate::sys::error::NoReflection>()) {
        return "server does not support the reflection API".into();
    }
    format!("{e:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_in_headers() {
        std::env::set_var("RPCSH_GRPCURL_TEST", "s3cret");
        assert_eq!(
            expand_env("x: ${RPCSH_GRPCURL_TEST}!").unwrap(),
            "x: s3cret!"
        );
        assert!(expand_env("x: ${RPCSH_GRPCURL_NOPE}").is_err());
        assert_eq!(expand_env("x: $1 ${").unwrap(), "x: $1 ${");
    }
}
