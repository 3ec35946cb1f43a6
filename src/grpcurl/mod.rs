//! `rpcsh grpcurl ARGS...`, and rpcsh run through a link named `grpcurl`: grpcurl's command
//! line on rpcsh's engine (its connection, schema sources and calls), printing what grpcurl
//! prints on stdout, its error blocks on stderr and its exit codes (1 for an error, 2 for a
//! mistake in the command line, 64 plus the code of a failed call). grpcurl 1.9's JSON unless
//! `RPCSH_GRPCURL=1.8` asks for 1.8's (which differs in empty messages and `Any`s).
mod flags;
mod json;
mod protoprint;

use crate::connection::{Connection, Session};
use crate::invoke::{self, CallError, CallOptions};
use crate::source::Schema;
use crate::transport::TransportOptions;
use flags::Flags;
use json::JsonNames;
use prost::Message;
use prost_reflect::{DynamicMessage, MethodDescriptor, ReflectMessage};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tonic::metadata::MetadataMap;

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
        return Some((format!("{program} grpcurl"), strings[2..].to_vec()));
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
            code = crate::signals::interrupted(true) => code,
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
            eprintln!("{}", crate::style::printable(&msg));
            eprintln!("Try '{program} -help' for more details.");
            2
        }
        Err(Exit::Fail(msg)) => {
            eprintln!("{}", crate::style::printable(&msg));
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
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            eprint!("{}", flags::usage(program));
            return Err(Exit::Code(if msg.is_empty() { 0 } else { 2 }));
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
        } else if !plaintext {
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
    if let Some(t) = target.as_deref().filter(|t| t.starts_with("xds:")) {
        return Err(fail(format!(
            "rpcsh: error: xds targets ({t}) are not supported: give the address of a server or a proxy"
        )));
    }
    let deadline = f
        .float("max-time")
        .filter(|t| *t > 0.0)
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let expand = |list: Vec<String>, what: &str| -> Result<Vec<String>, Exit> {
        let list: Vec<String> = list.into_iter().filter(|h| !h.is_empty()).collect();
        if !f.on("expand-headers") {
            return Ok(list);
        }
        list.iter()
            .map(|h| expand_env(h))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(format!("Failed to expand {what}: {e}")))
    };
    let headers = expand(f.list("H"), "additional headers")?;
    let rpc_headers = expand(f.list("rpc-header"), "rpc headers")?;
    let reflect_headers = expand(f.list("reflect-header"), "reflection headers")?;
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
            connect_timeout: Some(Duration::from_secs_f64(
                f.float("connect-timeout")
                    .filter(|t| *t > 0.0)
                    .unwrap_or(10.0),
            )),
            keepalive: f
                .float("keepalive-time")
                .filter(|t| *t > 0.0)
                .map(Duration::from_secs_f64),
            user_agent: Some(match f.text("user-agent") {
                Some(ua) => format!("{ua} grpcurl/v1.9.3"),
                None => "grpcurl/v1.9.3".into(),
            }),
            insecure: f.on("insecure"),
            ..TransportOptions::default()
        },
        headers: headers.iter().map(|h| as_header(h)).collect(),
        reflect_headers: reflect_headers.iter().map(|h| as_header(h)).collect(),
        protos: protos.iter().map(Into::into).collect(),
        import_paths: f.list("import-path").iter().map(Into::into).collect(),
        protoset: protoset_files.next(),
        max_message_size: f.int("max-msg-sz").filter(|n| *n > 0).map(|n| n as usize),
        ..Connection::default()
    };
    conn.schema_add = protoset_files.collect();
    if reflection && files {
        // Reflection first, the files beside it (grpcurl's composite source).
        conn.schema_add.extend(conn.protoset.take());
        conn.schema_add.append(&mut conn.protos);
    }
    let run = Run {
        f: &f,
        conn,
        format: if format == "text" {
            Format::Text
        } else {
            Format::Json
        },
        deadline,
        rpc_headers,
        headers,
        legacy: std::env::var("RPCSH_GRPCURL").is_ok_and(|v| v.starts_with("1.8")),
    };
    let limited = async {
        match action {
            Action::List(service) => run.list(service).await,
            Action::Describe(symbol) => run.describe(symbol).await,
            Action::Invoke(method) => run.invoke(&method).await,
        }
    };
    match deadline {
        None => limited.await,
        Some(at) => tokio::time::timeout_at(at.into(), limited)
            .await
            .unwrap_or_else(|_| Err(fail("rpcsh: error: context deadline exceeded (-max-time)"))),
    }
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
            if self.conn.protos.is_empty() && self.conn.protoset.is_none() || for_call {
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
            // Printed from the whole of its file: a pruned build lacks what options use.
            let found = schema
                .unpruned(found.file_name())
                .and_then(|pool| lookup_in(&pool, name))
                .unwrap_or(found);
            let top = found.top_name();
            let docs = schema.docs(&top);
            let mut p = protoprint::Printer::new(&docs);
            let (kind, full) = found.print(&mut p);
            let mut text = format!("{full} is {kind}:\n{}", p.out);
            if let (Found::Message(m), true) = (&found, self.f.on("msg-template")) {
                let template = crate::grpcurl::template(m);
                let mut names = JsonNames::default();
                names.learn(m, &|full| schema.raw_file_of(full));
                let printed = match self.format {
                    Format::Json => self.json(&template, true, &names),
                    Format::Text => json::text(&template),
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
            crate::source::write_protos(&set, std::path::Path::new(dir))
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

    async fn invoke(&self, symbol: &str) -> Result<(), Exit> {
        let started = Instant::now();
        let verbose = self.f.on("v") || self.f.on("vv");
        let mut session = self.open(true, !verbose).await?;
        let link = session.link.clone().ok_or_else(|| fail("no connection"))?;
        let failed = |msg: String| fail(format!("Error invoking method {symbol:?}: {msg}"));
        let (service, method) = match symbol.rfind('/').or_else(|| symbol.rfind('.')) {
            Some(i) if i > 0 && i + 1 < symbol.len() => (&symbol[..i], &symbol[i + 1..]),
            _ => {
                return Err(failed(format!(
                    "given method name {symbol:?} is not in expected format: 'service/method' or 'service.method'"
                )))
            }
        };
        let schema = &mut session.schema;
        let found = find(schema, service).await.map_err(|e| {
            failed(format!(
                "failed to query for service descriptor {service:?}: {e}"
            ))
        })?;
        let Some(Found::Service(sd)) = found else {
            return Err(failed(format!(
                "target server does not expose service {service:?}"
            )));
        };
        let Some(md) = sd.methods().find(|m| m.name() == method) else {
            return Err(failed(format!(
                "service {service:?} does not include a method named {method:?}"
            )));
        };
        let verbosity = if self.f.on("vv") {
            2
        } else if self.f.on("v") {
            1
        } else {
            0
        };
        let mut out = String::new();
        let mut metadata = session.metadata.clone();
        let rpc = crate::connection::parse_headers(
            &self
                .rpc_headers
                .iter()
                .map(|h| as_header(h))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| failed(cause(&e)))?;
        for (k, v) in rpc.into_headers().iter() {
            metadata.as_mut().append(k.clone(), v.clone());
        }
        if verbosity > 0 {
            let docs = schema.docs(sd.full_name());
            let mut p = protoprint::Printer::new(&docs);
            p.method(&md, 0);
            out.push_str(&format!("\nResolved method descriptor:\n{}", p.out));
            let sent: Vec<String> = self
                .headers
                .iter()
                .chain(&self.rpc_headers)
                .cloned()
                .collect();
            out.push_str(&format!(
                "\nRequest metadata to send:\n{}\n",
                metadata_text(&parse_sent(&sent))
            ));
        }
        print(&out);
        let (requests, count) = self.requests(&md).map_err(failed)?;
        let timeout = self.deadline.map(|at| {
            at.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        let options = CallOptions {
            metadata,
            timeout,
            max_message_size: self.conn.max_message_size,
            compress: None,
        };
        let mut names = JsonNames::default();
        names.learn(&md.output(), &|full| schema.raw_file_of(full));
        let mut printer = Printer {
            run: self,
            schema,
            names,
            verbosity,
            separators: verbosity == 0,
            out: std::io::BufWriter::new(std::io::stdout().lock()),
            headers_shown: false,
            responses: 0,
            unary: !md.is_client_streaming() && !md.is_server_streaming(),
            trailers: None,
            broken: None,
        };
        let stream = futures_util::stream::iter(requests);
        let result = link.invoke(&md, stream, &options, &mut printer).await;
        let status = match result {
            Ok(()) => None,
            Err(CallError::Status(s)) => Some(s),
            Err(CallError::Handler(e)) => {
                let _ = printer.out.flush();
                if crate::error::is_broken_pipe(&e) {
                    return Err(Exit::Code(crate::error::EXIT_BROKEN_PIPE));
                }
                return Err(failed(cause(&e)));
            }
        };
        if verbosity > 0 {
            if !printer.headers_shown && (printer.unary || status.is_none()) {
                printer.write_headers(&MetadataMap::new());
            }
            let trailers = match &status {
                Some(s) if printer.trailers.is_none() => s.metadata().clone(),
                _ => printer.trailers.take().unwrap_or_default(),
            };
            let text = format!(
                "\nResponse trailers received:\n{}\n",
                metadata_text(&received(&trailers))
            );
            printer.write(&text);
            let s = |n: usize| if n == 1 { "" } else { "s" };
            let text = format!(
                "Sent {count} request{} and received {} response{}\n",
                s(count),
                printer.responses,
                s(printer.responses)
            );
            printer.write(&text);
            if verbosity > 1 && !self.legacy {
                let text = format!("Timing Data: {:?}\n", started.elapsed());
                printer.write(&text);
            }
        }
        if let Some(e) = printer.broken.take() {
            let _ = printer.out.flush();
            return Err(failed(e));
        }
        let _ = printer.out.flush();
        drop(printer);
        let Some(status) = status else {
            return Ok(());
        };
        // Past -max-time: grpc-go's own words.
        let status = match crate::error::is_client_deadline(&status)
            || status.message() == crate::error::timed_out().message()
        {
            true => tonic::Status::deadline_exceeded("context deadline exceeded"),
            false => status,
        };
        schema.load_detail_types(&status).await;
        let names = JsonNames::default();
        let text = if self.f.on("format-error") {
            let formatted = status_message(&status, schema.pool())
                .map(|m| match self.format {
                    Format::Json => self.json(&m, self.f.on("emit-defaults"), &names),
                    Format::Text => json::text(&m),
                })
                .unwrap_or_default();
            formatted
        } else {
            self.error_block(&status, schema)
        };
        eprint!("{}", crate::style::printable(&text));
        if self.f.on("format-error") {
            eprintln!();
        }
        Err(Exit::Code(STATUS_OFFSET + status.code() as u8))
    }

    /// grpcurl's `ERROR:` block, its details as the formatter prints them.
    fn error_block(&self, status: &tonic::Status, schema: &Schema) -> String {
        let mut text = format!(
            "ERROR:\n  Code: {}\n  Message: {}\n",
            code_name(status.code()),
            status.message()
        );
        let details = status_message(status, schema.pool())
            .and_then(|m| {
                let f = m.descriptor().get_field_by_name("details")?;
                match &*m.get_field(&f) {
                    prost_reflect::Value::List(items) => Some(items.clone()),
                    _ => None,
                }
            })
            .unwrap_or_default();
        if !details.is_empty() {
            text.push_str("  Details:\n");
            let names = JsonNames::default();
            for (i, detail) in details.iter().enumerate() {
                let prost_reflect::Value::Message(any) = detail else {
                    continue;
                };
                let printed = match self.format {
                    Format::Json => self.json(any, self.f.on("emit-defaults"), &names),
                    Format::Text => json::text(any),
                };
                let prefix = format!("  {})", i + 1);
                let pad = " ".repeat(prefix.len());
                for (j, line) in printed.lines().enumerate() {
                    match j {
                        0 => text.push_str(&format!("{prefix}\t{line}\n")),
                        _ => text.push_str(&format!("{pad}\t{line}\n")),
                    }
                }
            }
        }
        text
    }

    /// The request messages of `-d` and how many grpcurl would count: none for no JSON data
    /// (unary and server-streaming calls then send an empty message).
    fn requests(&self, md: &MethodDescriptor) -> Result<(Vec<DynamicMessage>, usize), String> {
        let data = match self.f.text("d") {
            Some("@") => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| format!("error getting request data: {e}"))?;
                text
            }
            Some(d) => d.to_string(),
            None => String::new(),
        };
        let input = md.input();
        let messages = match self.format {
            Format::Json => {
                let parse = crate::input::ParseOptions {
                    allow_unknown_fields: self.f.on("allow-unknown-fields"),
                    ..Default::default()
                };
                crate::input::parse_messages(&data, &input, parse)
                    .map_err(|e| format!("error getting request data: {}", cause(&e)))?
            }
            Format::Text => data
                .split('\x1e')
                .map(|chunk| DynamicMessage::parse_text_format(input.clone(), chunk))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("error getting request data: {e}"))?,
        };
        let count = messages.len();
        if !md.is_client_streaming() {
            let kind = if md.is_server_streaming() {
                "a server-streaming"
            } else {
                "a unary"
            };
            if count > 1 {
                return Err(format!(
                    "method {:?} is {kind} RPC, but request data contained more than 1 message",
                    md.full_name()
                ));
            }
            if count == 0 {
                return Ok((vec![DynamicMessage::new(input)], 0));
            }
        }
        Ok((messages, count))
    }
}

/// What a name grpcurl takes turns out to be (fully qualified names only, as grpcurl's).
enum Found {
    Service(prost_reflect::ServiceDescriptor),
    Method(MethodDescriptor),
    Message(prost_reflect::MessageDescriptor),
    Enum(prost_reflect::EnumDescriptor),
    Field(prost_reflect::FieldDescriptor),
    Oneof(prost_reflect::OneofDescriptor),
    Value(prost_reflect::EnumValueDescriptor),
    Extension(prost_reflect::ExtensionDescriptor),
}

impl Found {
    /// The name whose file and comments describe it.
    fn top_name(&self) -> String {
        match self {
            Found::Service(s) => s.full_name().into(),
            Found::Method(m) => m.parent_service().full_name().into(),
            Found::Message(m) => m.full_name().into(),
            Found::Enum(e) => e.full_name().into(),
            Found::Field(f) => f.parent_message().full_name().into(),
            Found::Oneof(o) => o.parent_message().full_name().into(),
            Found::Value(v) => v.parent_enum().full_name().into(),
            Found::Extension(e) => e.full_name().into(),
        }
    }

    /// The name of the file that defines it.
    fn file_name(&self) -> &str {
        match self {
            Found::Service(s) => s.parent_file_descriptor_proto().name(),
            Found::Method(m) => m.parent_service().parent_file_descriptor_proto().name(),
            Found::Message(m) => m.parent_file_descriptor_proto().name(),
            Found::Enum(e) => e.parent_file_descriptor_proto().name(),
            Found::Field(f) => f.parent_message().parent_file_descriptor_proto().name(),
            Found::Oneof(o) => o.parent_message().parent_file_descriptor_proto().name(),
            Found::Value(v) => v.parent_enum().parent_file_descriptor_proto().name(),
            Found::Extension(e) => e.parent_file_descriptor_proto().name(),
        }
    }

    /// Prints it; what kind of element it is ("a message") and its full name.
    fn print(&self, p: &mut protoprint::Printer) -> (&'static str, String) {
        match self {
            Found::Service(s) => {
                p.service(s, 0);
                ("a service", s.full_name().into())
            }
            Found::Method(m) => {
                p.method(m, 0);
                ("a method", m.full_name().into())
            }
            Found::Message(m) => {
                if let Some((field, kind)) = field_of_type(m) {
                    p.field(&field, 0);
                    return (kind, m.full_name().into());
                }
                p.message(m, 0);
                ("a message", m.full_name().into())
            }
            Found::Enum(e) => {
                p.enumeration(e, 0);
                ("an enum", e.full_name().into())
            }
            Found::Field(f) => {
                p.field(f, 0);
                let kind = if f.is_group() {
                    "a group field"
                } else {
                    "a field"
                };
                (kind, f.full_name().into())
            }
            Found::Oneof(o) => {
                p.oneof(o, 0);
                (
                    "a one-of",
                    format!("{}.{}", o.parent_message().full_name(), o.name()),
                )
            }
            Found::Value(v) => {
                p.enum_value(v, 0);
                let full = format!("{}.{}", v.parent_enum().full_name(), v.name());
                ("an enum value", full)
            }
            Found::Extension(e) => {
                p.out.push_str(&format!(
                    "extend .{} {{\n",
                    e.containing_message().full_name()
                ));
                p.extension(e, 1);
                p.out.push_str("}\n");
                let kind = if e.is_group() {
                    "a group field"
                } else {
                    "an extension"
                };
                (kind, e.full_name().into())
            }
        }
    }
}

/// The map or group field whose type is `m`, described in its place as grpcurl does.
fn field_of_type(
    m: &prost_reflect::MessageDescriptor,
) -> Option<(prost_reflect::FieldDescriptor, &'static str)> {
    let parent = m.parent_message()?;
    let typed = |f: &prost_reflect::FieldDescriptor| matches!(f.kind(), prost_reflect::Kind::Message(t) if t == *m);
    let found = if m.is_map_entry() {
        parent
            .fields()
            .find(|f| f.is_map() && typed(f))
            .map(|f| (f, "the entry type for a map field"))
    } else {
        parent
            .fields()
            .find(|f| f.is_group() && typed(f))
            .map(|f| (f, "the type of a group field"))
    };
    found
}

/// Looks a fully-qualified name up, loading its file from the source first. `Err` is a
/// failure to ask (reflection broke), not a name the source lacks.
async fn find(schema: &mut Schema, name: &str) -> Result<Option<Found>, String> {
    let loaded = schema.load_symbol(name).await;
    match (lookup(schema, name).await, loaded) {
        (Some(found), _) => Ok(Some(found)),
        (None, Err(e)) if !e.chain().any(|c| c.is::<crate::source::NotFound>()) => Err(cause(&e)),
        (None, _) => Ok(None),
    }
}

async fn lookup(schema: &mut Schema, name: &str) -> Option<Found> {
    if let Some((parent, _)) = name.rsplit_once('.') {
        if schema.pool().get_message_by_name(name).is_none()
            && schema.pool().get_service_by_name(name).is_none()
            && schema.pool().get_enum_by_name(name).is_none()
        {
            let _ = schema.load_symbol(parent).await;
        }
    }
    lookup_in(schema.pool(), name)
}

/// A fully-qualified name in `pool`: a type, a service, or a member of one.
fn lookup_in(pool: &prost_reflect::DescriptorPool, name: &str) -> Option<Found> {
    if let Some(s) = pool.get_service_by_name(name) {
        return Some(Found::Service(s));
    }
    if let Some(m) = pool.get_message_by_name(name) {
        return Some(Found::Message(m));
    }
    if let Some(e) = pool.get_enum_by_name(name) {
        return Some(Found::Enum(e));
    }
    if let Some(e) = pool.get_extension_by_name(name) {
        return Some(Found::Extension(e));
    }
    let (parent, last) = name.rsplit_once('.')?;
    if let Some(s) = pool.get_service_by_name(parent) {
        return s.methods().find(|m| m.name() == last).map(Found::Method);
    }
    if let Some(m) = pool.get_message_by_name(parent) {
        if let Some(f) = m.get_field_by_name(last) {
            return Some(Found::Field(f));
        }
        if let Some(o) = m.oneofs().find(|o| o.name() == last) {
            return Some(Found::Oneof(o));
        }
    }
    // grpcurl names an enum value inside its enum (`pkg.Enum.VALUE`), not beside it.
    pool.get_enum_by_name(parent)
        .and_then(|e| e.get_value_by_name(last))
        .map(Found::Value)
}

/// grpcurl's template of a message: every message field filled (once on a path), a repeated
/// field holding one element, a map one entry; printed with every default.
fn template(m: &prost_reflect::MessageDescriptor) -> DynamicMessage {
    fn fill(m: &prost_reflect::MessageDescriptor, path: &mut Vec<String>) -> DynamicMessage {
        use prost_reflect::{Kind, MapKey, Value};
        let mut message = DynamicMessage::new(m.clone());
        let wkt = |text: &str, key: &str| {
            let mut s = DynamicMessage::new(m.clone());
            let _ = s.transcode_from(&prost_types::Struct {
                fields: [(
                    key.to_string(),
                    prost_types::Value {
                        kind: Some(prost_types::value::Kind::StringValue(text.into())),
                    },
                )]
                .into(),
            });
            s
        };
        match m.full_name() {
            "google.protobuf.Any" => {
                let _ = message.transcode_from(&prost_types::Any {
                    type_url: "type.googleapis.com/google.protobuf.Empty".into(),
                    value: Vec::new(),
                });
                return message;
            }
            "google.protobuf.Struct" => {
                return wkt("supports arbitrary JSON objects", "google.protobuf.Struct")
            }
            "google.protobuf.Value" => {
                let inner = prost_types::Value {
                    kind: Some(prost_types::value::Kind::StructValue(prost_types::Struct {
                        fields: [(
                            "google.protobuf.Value".to_string(),
                            prost_types::Value {
                                kind: Some(prost_types::value::Kind::StringValue(
                                    "supports arbitrary JSON".into(),
                                )),
                            },
                        )]
                        .into(),
                    })),
                };
                let _ = message.transcode_from(&inner);
                return message;
            }
            "google.protobuf.ListValue" => {
                let inner = prost_types::ListValue {
                    values: vec![prost_types::Value {
                        kind: Some(prost_types::value::Kind::StructValue(prost_types::Struct {
                            fields: [(
                                "google.protobuf.ListValue".to_string(),
                                prost_types::Value {
                                    kind: Some(prost_types::value::Kind::StringValue(
                                        "is an array of arbitrary JSON values".into(),
                                    )),
                                },
                            )]
                            .into(),
                        })),
                    }],
                };
                let _ = message.transcode_from(&inner);
                return message;
            }
            _ => {}
        }
        if path.iter().any(|p| p == m.full_name()) {
            return message;
        }
        path.push(m.full_name().to_string());
        for field in m.fields() {
            let one = |kind: &Kind, path: &mut Vec<String>| match kind {
                Kind::Message(inner) => Value::Message(fill(inner, path)),
                Kind::Enum(_) => Value::EnumNumber(0),
                other => Value::default_value(other),
            };
            if field.is_map() {
                let Kind::Message(entry) = field.kind() else {
                    continue;
                };
                let key = match Value::default_value(&entry.map_entry_key_field().kind()) {
                    Value::Bool(b) => MapKey::Bool(b),
                    Value::I32(n) => MapKey::I32(n),
                    Value::I64(n) => MapKey::I64(n),
                    Value::U32(n) => MapKey::U32(n),
                    Value::U64(n) => MapKey::U64(n),
                    _ => MapKey::String(String::new()),
                };
                let value = one(&entry.map_entry_value_field().kind(), path);
                message.set_field(&field, Value::Map([(key, value)].into()));
            } else if field.is_list() {
                let value = one(&field.kind(), path);
                message.set_field(&field, Value::List(vec![value]));
            } else if let Kind::Message(inner) = field.kind() {
                message.set_field(&field, Value::Message(fill(&inner, path)));
            }
        }
        path.pop();
        message
    }
    fill(m, &mut Vec::new())
}

/// The `google.rpc.Status` of a failed call: from `grpc-status-details-bin`, else made of its
/// code and message.
fn status_message(
    status: &tonic::Status,
    pool: &prost_reflect::DescriptorPool,
) -> Option<DynamicMessage> {
    let pool = crate::source::with_status_types(pool);
    let desc = pool.get_message_by_name("google.rpc.Status")?;
    if !status.details().is_empty() {
        if let Ok(m) = DynamicMessage::decode(desc.clone(), status.details()) {
            return Some(m);
        }
    }
    let mut m = DynamicMessage::new(desc);
    let _ = m.transcode_from(&tonic_types::pb::Status {
        code: status.code() as i32,
        message: status.message().to_string(),
        details: Vec::new(),
    });
    Some(m)
}

/// grpc-go's name of a status code.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// The headers grpcurl says it sends: as given (lower-cased names, trimmed values).
fn parse_sent(headers: &[String]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            let (name, value) = h.split_once(':').unwrap_or((h, ""));
            (name.trim().to_ascii_lowercase(), value.trim().to_string())
        })
        .collect()
}

/// grpc-go's view of response metadata: its reserved names left out, `-bin` values in base64.
fn received(map: &MetadataMap) -> Vec<(String, String)> {
    use base64::Engine;
    const RESERVED: &[&str] = &[
        "user-agent",
        "grpc-message-type",
        "grpc-encoding",
        "grpc-message",
        "grpc-status",
        "grpc-timeout",
        "grpc-status-details-bin",
        "te",
    ];
    let mut out = Vec::new();
    for entry in map.iter() {
        match entry {
            tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
                let k = k.as_str();
                if k.starts_with(':') || RESERVED.contains(&k) || k.starts_with("rpcsh-") {
                    continue;
                }
                out.push((
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                ));
            }
            tonic::metadata::KeyAndValueRef::Binary(k, v) => {
                if RESERVED.contains(&k.as_str()) {
                    continue;
                }
                let bytes = v.to_bytes().unwrap_or_default();
                let text = base64::engine::general_purpose::STANDARD.encode(bytes);
                out.push((k.as_str().to_string(), text));
            }
        }
    }
    out
}

/// grpcurl's `MetadataToString`: `name: value` lines sorted by name, or `(empty)`.
fn metadata_text(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return "(empty)".into();
    }
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let lines: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("{k}: {}", crate::style::printable(v)))
        .collect();
    lines.join("\n")
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// An error's chain in one line.
fn cause(e: &anyhow::Error) -> String {
    if e.chain().any(|c| c.is::<crate::error::NoReflection>()) {
        return "server does not support the reflection API".into();
    }
    format!("{e:#}")
}

/// Prints a call's events as grpcurl's default handler does.
struct Printer<'a, W: Write> {
    run: &'a Run<'a>,
    schema: &'a mut Schema,
    names: JsonNames,
    verbosity: u8,
    /// Text responses after the first begin with grpcurl's record separator (not in -v).
    separators: bool,
    out: W,
    headers_shown: bool,
    responses: usize,
    unary: bool,
    trailers: Option<MetadataMap>,
    /// Output that could not be written: the call is over for us.
    broken: Option<String>,
}

impl<W: Write> Printer<'_, W> {
    fn write(&mut self, text: &str) {
        if self.broken.is_none() {
            if let Err(e) = self.out.write_all(text.as_bytes()) {
                self.broken = Some(e.to_string());
            }
        }
    }

    fn write_headers(&mut self, headers: &MetadataMap) {
        self.headers_shown = true;
        if self.verbosity > 0 {
            let text = format!(
                "\nResponse headers received:\n{}\n",
                metadata_text(&received(headers))
            );
            self.write(&text);
        }
    }
}

impl<W: Write> invoke::Handler for Printer<'_, W> {
    fn on_headers(&mut self, headers: &MetadataMap) {
        self.write_headers(headers);
    }

    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()> {
        if !self.headers_shown {
            self.write_headers(&MetadataMap::new());
        }
        self.responses += 1;
        let message = self.schema.resolve_any(message).await;
        let mut text = String::new();
        if self.verbosity > 1 {
            text.push_str(&format!(
                "\nEstimated response size: {} bytes\n",
                message.encoded_len()
            ));
        }
        if self.verbosity > 0 {
            text.push_str("\nResponse contents:\n");
        }
        let schema = &*self.schema;
        self.names
            .learn(&message.descriptor(), &|full| schema.raw_file_of(full));
        match self.run.format {
            Format::Json => {
                let emit = self.run.f.on("emit-defaults");
                text.push_str(&self.run.json(&message, emit, &self.names));
            }
            Format::Text => {
                if self.separators && self.responses > 1 {
                    text.push('\x1e');
                }
                text.push_str(&json::text(&message));
            }
        }
        text.push('\n');
        self.write(&text);
        match &self.broken {
            Some(e) => Err(anyhow::anyhow!(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                e.clone()
            ))),
            None => Ok(()),
        }
    }

    fn on_idle(&mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }

    fn on_trailers(&mut self, trailers: &MetadataMap) {
        self.trailers = Some(trailers.clone());
    }
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

    #[test]
    fn metadata_as_grpcurl_lists_it() {
        assert_eq!(metadata_text(&[]), "(empty)");
        let pairs = parse_sent(&["B: 2".into(), "a:1".into()]);
        assert_eq!(metadata_text(&pairs), "a: 1\nb: 2");
    }
}
