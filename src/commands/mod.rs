//! The one-shot commands — `call`, `list`, `describe`, `template`, `health` — put together from
//! the client's floors (net, schema, input, wire, output) through a session. What each prints goes to stdout;
//! `-v` traces and errors go to stderr.
pub mod convert;
pub mod drift;

use crate::client::input::{self, request_messages, Data, DataFormat, ParseOptions};
use crate::client::net::transport::Target;
use crate::client::output::format::{self, Format, Printer, Style};
use crate::client::schema::{Schema, Symbol};
use crate::client::wire::invoke::{self, CallError, CallOptions};
use crate::client::wire::status::client_deadline;
use crate::session::connection::{parse_headers, Connection};
use crate::sys::error::CallFailed;
use anyhow::bail;
use futures_util::StreamExt;
use prost_reflect::DynamicMessage;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use tonic::metadata::MetadataMap;

/// Output settings of `call`.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// `None`: pretty JSON on a terminal, JSON lines otherwise.
    pub format: Option<Format>,
    /// Print fields that hold their default value.
    pub emit_defaults: bool,
    /// Proto field names instead of JSON names.
    pub proto_names: bool,
    /// `--save-bytes FIELD=PATH`: a bytes field of the responses (`a.b`) written to a file, each
    /// message's appended (a stream of chunks makes the whole file), and left out of what prints.
    pub save_bytes: Option<(String, std::path::PathBuf)>,
    /// `--format-error`: a failed call's status as JSON on stderr.
    pub format_error: bool,
    /// `--envelope`: the whole exchange as one JSON document.
    pub envelope: bool,
}

impl OutputOptions {
    /// Pretty JSON on a terminal, one message per line when piped, unless told.
    pub fn style(&self) -> Style {
        let format = self.format.unwrap_or(if std::io::stdout().is_terminal() {
            Format::Json
        } else {
            Format::Jsonl
        });
        Style {
            format,
            emit_defaults: self.emit_defaults,
            proto_names: self.proto_names,
            color: crate::sys::style::stdout(),
        }
    }
}

/// The request's text when it is read whole before the call, its schema then built as far as
/// its JSON goes (`Schema::lazy_request`); one streamed from stdin, or not JSON, may name any
/// type: its types are built whole.
fn lazy_request(schema: &mut Schema, data: &Data, parse: &ParseOptions) -> String {
    let text = match (data, parse.format) {
        (Data::None, DataFormat::Json) => Some(String::new()),
        (Data::Inline(text), DataFormat::Json) => Some(text.clone()),
        (Data::File(path), DataFormat::Json) => std::fs::read_to_string(path).ok(),
        _ => None,
    };
    match text {
        Some(text) => {
            schema.lazy_request();
            text
        }
        None => {
            schema.shallow();
            String::new()
        }
    }
}

/// `method`, with the types its `request` fills built.
async fn resolve_for(
    schema: &mut Schema,
    method: &str,
    request: &str,
) -> anyhow::Result<prost_reflect::MethodDescriptor> {
    let method = schema.resolve_method(method).await?;
    schema.expand_request(method, request).await
}

/// `rpcsh call`.
pub async fn call(
    conn: &Connection,
    method: &str,
    data: Data,
    parse: ParseOptions,
    output: OutputOptions,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut session = conn.open(true).await?;
    let deadline = (started, timeout);
    let called = call_on(conn, &mut session, method, data, parse, output, deadline).await;
    session.schema.leave();
    called
}

async fn call_on(
    conn: &Connection,
    session: &mut crate::session::connection::Session,
    method: &str,
    data: Data,
    parse: ParseOptions,
    output: OutputOptions,
    (started, timeout): (Instant, Option<Duration>),
) -> anyhow::Result<()> {
    let request = lazy_request(&mut session.schema, &data, &parse);
    let link = session.link()?;
    // --timeout bounds reflection too (a silent or endless server); the call gets the rest.
    let resolved = resolve_for(&mut session.schema, method, &request);
    let method = within(timeout, "the call", resolved).await?;
    let timeout = timeout.map(|t| {
        t.saturating_sub(started.elapsed())
            .max(Duration::from_millis(1))
    });
    let schema_time = started.elapsed() - session.connected;
    let verbose = conn.verbose;
    if let Some(v) = &verbose {
        trace_start(v, conn, session, &method, schema_time);
    }
    let options = CallOptions {
        metadata: session.metadata.clone(),
        timeout,
        max_message_size: conn.max_message_size,
        compress: conn.compress,
    };
    if output.envelope {
        let timing = (started, session.connected, schema_time);
        let format_error = output.format_error;
        return enveloped(session, &method, data, parse, options, timing, format_error).await;
    }
    let mut handler = ResolvingPrinter::new(&mut session.schema, &output, verbose);
    let result = send(
        &link,
        &method,
        &data,
        parse,
        &options,
        &mut handler,
        verbose,
    )
    .await?;
    let mut printer = handler.printer;
    let _ = printer.out.flush();
    if let Some(v) = &verbose {
        let first = printer.first_message.map(|t| t - started);
        trace_end(
            v,
            printer.received,
            (session.connected, schema_time, first, started.elapsed()),
        );
    }
    match result {
        Ok(()) => Ok(()),
        Err(CallError::Handler(e)) => Err(e),
        Err(CallError::Status(status)) => {
            session.schema.load_detail_types(&status).await;
            Err(format::call_failure_as(
                status,
                session.schema.pool(),
                printer.received == 0,
                session.tls,
                output.format_error,
            ))
        }
    }
}

/// Sends `data` as `method`'s requests, each message of a stream from stdin as soon as it is
/// read (a bad one cancels the call), the rest read first; the call's outcome.
async fn send<W: Write>(
    link: &crate::client::net::link::Link,
    method: &prost_reflect::MethodDescriptor,
    data: &Data,
    parse: ParseOptions,
    options: &CallOptions,
    handler: &mut ResolvingPrinter<'_, W>,
    verbose: Option<crate::client::output::format::Verbose>,
) -> anyhow::Result<Result<(), CallError>> {
    if method.is_client_streaming() && *data == Data::Stdin && parse.format == DataFormat::Json {
        let (requests, bad) = input::stdin_stream(method.input(), parse);
        return Ok(tokio::select! {
            r = link.invoke(method, requests, options, handler) => r,
            Ok(bad) = bad => Err(CallError::Handler(bad.context("the call was cancelled"))),
        });
    }
    let messages = request_messages(method, data, parse, options.max_message_size)?;
    if let Some(v) = verbose.filter(|v| v.sizes) {
        for (i, m) in messages.iter().enumerate() {
            let size = prost::Message::encoded_len(m);
            v.line(format_args!("Request message {}: {size} bytes", i + 1));
        }
    }
    let requests = futures_util::stream::iter(messages);
    Ok(link
        .invoke(method, requests.boxed(), options, handler)
        .await)
}

/// `-v` after a call: how many answers, and the times of connecting, of the schema, of the
/// first message and of the whole.
fn trace_end(
    v: &crate::client::output::format::Verbose,
    received: usize,
    (connect, schema, first, total): (Duration, Duration, Option<Duration>, Duration),
) {
    let first = first
        .map(|t| format!("{t:.1?}"))
        .unwrap_or_else(|| "-".into());
    v.line(format_args!(
        "Received {received} response(s); connect {connect:.1?}, schema {schema:.1?}, first message {first}, total {total:.1?}"
    ));
}

/// `-v` before a call: where the schema came from, the method, the headers sent.
fn trace_start(
    v: &crate::client::output::format::Verbose,
    conn: &Connection,
    session: &crate::session::connection::Session,
    method: &prost_reflect::MethodDescriptor,
    schema_time: Duration,
) {
    if let Some(version) = session.schema.reflection_version() {
        let (built, received) = session.schema.built();
        v.line(format_args!(
            "Schema from server reflection {version} in {schema_time:.1?} (built {built} of the {received} messages received: what the method uses)"
        ));
    }
    v.line(format_args!(
        "Method: {} {}",
        invoke::path(method),
        format::describe_method(method)
    ));
    v.metadata("Request metadata to send", &session.metadata);
    if let Some(c) = conn.compress {
        v.line(format_args!(
            "Request compression: grpc-encoding: {}",
            c.name()
        ));
    }
}

/// `call --envelope`: the call made with every request read first, and the exchange printed
/// as one JSON document when it ends (a failed call's too, before its error).
async fn enveloped(
    session: &mut crate::session::connection::Session,
    method: &prost_reflect::MethodDescriptor,
    data: Data,
    parse: ParseOptions,
    options: CallOptions,
    (started, connected, schema_time): (Instant, Duration, Duration),
    format_error: bool,
) -> anyhow::Result<()> {
    use crate::client::output::exchange::{Envelope, Timings};
    use crate::client::output::format::message_json;
    let link = session.link()?;
    let messages = request_messages(method, &data, parse, options.max_message_size)?;
    let requests = messages
        .iter()
        .map(message_json)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut envelope = Envelope::new(&mut session.schema);
    let stream = futures_util::stream::iter(messages);
    let result = link
        .invoke(method, stream.boxed(), &options, &mut envelope)
        .await;
    let status = match result {
        Ok(()) => None,
        Err(CallError::Handler(e)) => return Err(e),
        Err(CallError::Status(status)) => {
            envelope.schema.load_detail_types(&status).await;
            Some(status)
        }
    };
    let timings = Timings {
        connect: connected,
        schema: schema_time,
        first_message: envelope.first_message.map(|t| t - started),
        total: started.elapsed(),
    };
    let path = invoke::path(method);
    let document = envelope.document(
        &path,
        &options.metadata,
        &requests,
        status.as_ref(),
        &timings,
    );
    let first_exchange = envelope.responses.is_empty();
    println!("{}", serde_json::to_string_pretty(&document)?);
    match status {
        None => Ok(()),
        Some(status) => Err(format::call_failure_as(
            status,
            session.schema.pool(),
            first_exchange,
            session.tls,
            format_error,
        )),
    }
}

/// `fut` bounded by `timeout`: past it, the DeadlineExceeded a call ends with, saying what ran
/// out of time (`what`, as in "the call", "reflection").
pub async fn within<T>(
    timeout: Option<Duration>,
    what: &str,
    fut: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let Some(limit) = timeout else {
        return fut.await;
    };
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => {
            let status = tonic::Status::deadline_exceeded(format!(
                "{what} did not finish within {}",
                humantime::format_duration(limit)
            ));
            Err(CallFailed {
                code: status.code(),
                rendered: format::render_status(&status, &Default::default()),
            }
            .into())
        }
    }
}

/// Resolves the types of `Any` fields through the schema source before the printer sees them.
struct ResolvingPrinter<'a, W: Write> {
    schema: &'a mut Schema,
    save: Option<SaveBytes>,
    printer: Printer<W>,
}

impl<'a> ResolvingPrinter<'a, std::io::BufWriter<std::io::StdoutLock<'static>>> {
    /// The one-shot call's printer: stdout, `output`'s style, `--save-bytes`'s file.
    fn new(
        schema: &'a mut Schema,
        output: &OutputOptions,
        verbose: Option<crate::client::output::format::Verbose>,
    ) -> Self {
        ResolvingPrinter {
            schema,
            save: output.save_bytes.clone().map(|(field, path)| SaveBytes {
                field,
                path,
                file: None,
            }),
            printer: Printer {
                out: std::io::BufWriter::new(std::io::stdout().lock()),
                style: output.style(),
                received: 0,
                first_message: None,
                verbose,
            },
        }
    }
}

/// Where `--save-bytes` writes; the file is made at the first message.
struct SaveBytes {
    field: String,
    path: std::path::PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl SaveBytes {
    /// Takes the field's bytes out of `message` into the file.
    fn take(&mut self, message: &mut DynamicMessage) -> anyhow::Result<()> {
        let mut at = message;
        let mut parts = self.field.split('.').peekable();
        while let Some(part) = parts.next() {
            let desc = prost_reflect::ReflectMessage::descriptor(&*at);
            let field = desc
                .get_field_by_name(part)
                .or_else(|| desc.get_field_by_json_name(part))
                .ok_or_else(|| {
                    anyhow::anyhow!(crate::sys::error::Hint::new(
                        format!("--save-bytes: {} has no field {part}", desc.full_name()),
                        format!("its fields: {}", field_names(&desc)),
                    ))
                })?;
            if parts.peek().is_some() {
                match at.get_field_mut(&field) {
                    prost_reflect::Value::Message(m) => at = m,
                    _ => bail!("--save-bytes: {part} is not a message field"),
                }
                continue;
            }
            let bytes = match at.get_field(&field).as_ref() {
                prost_reflect::Value::Bytes(b) => b.clone(),
                _ => bail!("--save-bytes: {part} is not a bytes field"),
            };
            at.clear_field(&field);
            if self.file.is_none() {
                let file = std::fs::File::create(&self.path).map_err(|e| {
                    anyhow::anyhow!("--save-bytes: cannot write {}: {e}", self.path.display())
                })?;
                self.file = Some(std::io::BufWriter::new(file));
            }
            if let Some(file) = &mut self.file {
                file.write_all(&bytes)?;
            }
        }
        Ok(())
    }
}

fn field_names(desc: &prost_reflect::MessageDescriptor) -> String {
    desc.fields()
        .map(|f| f.name().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl<W: Write> invoke::Handler for ResolvingPrinter<'_, W> {
    fn on_headers(&mut self, headers: &MetadataMap) {
        self.printer.on_headers(headers)
    }

    async fn on_message(&mut self, mut message: DynamicMessage) -> anyhow::Result<()> {
        if let Some(save) = &mut self.save {
            save.take(&mut message)?;
        }
        let message = self.schema.resolve_any(message).await;
        self.printer.on_message(message).await
    }

    fn on_idle(&mut self) -> anyhow::Result<()> {
        self.printer.on_idle()
    }

    fn on_trailers(&mut self, trailers: &MetadataMap) {
        self.printer.on_trailers(trailers)
    }
}

/// `rpcsh list [SERVICE]`: the services, or one service's methods.
pub async fn list(conn: &Connection, service: Option<&str>) -> anyhow::Result<()> {
    let mut session = conn.open(false).await?;
    session.schema.shallow();
    let mut out = std::io::stdout().lock();
    match service {
        None => {
            for s in session.schema.services().await? {
                writeln!(out, "{}", crate::sys::style::printable(&s))?;
            }
        }
        Some(name) => {
            let service = session.schema.resolve_service(name).await?;
            for m in service.methods() {
                let name = format!("{}.{}", service.full_name(), m.name());
                writeln!(out, "{}", crate::sys::style::printable(&name))?;
            }
        }
    }
    Ok(())
}

/// `rpcsh describe SYMBOL`: a service, method, message or enum, as proto text or JSON.
/// `describe --protoset-out FILE [SYMBOL...]`: the schema's files as a FileDescriptorSet.
/// `describe --protoset-out FILE` and `--proto-out DIR`: the schema the symbols need, written.
pub async fn export(
    conn: &Connection,
    symbols: &[String],
    protoset: Option<&Path>,
    protos: Option<&Path>,
) -> anyhow::Result<()> {
    let mut session = conn.open(false).await?;
    let (set, files, missing) = session.schema.export(symbols).await?;
    if let Some(dir) = protos {
        let tree = crate::client::schema::write_protos(&set, dir)?;
        eprintln!(
            "wrote {} .proto file(s) under {}",
            tree.written.len(),
            dir.display()
        );
        if !tree.well_known.is_empty() {
            eprintln!(
                "left to protoc's own copies: {}",
                tree.well_known.join(", ")
            );
        }
        for dropped in tree.dropped {
            let dropped = crate::sys::style::printable(&dropped);
            eprintln!("rpcsh: warning: cannot be written in .proto, left out: {dropped}");
        }
    }
    if let Some(out) = protoset {
        std::fs::write(out, set)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
        eprintln!("wrote {files} file(s) to {}", out.display());
    }
    if !missing.is_empty() {
        eprintln!(
            "rpcsh: warning: not in the schema, left out: {}",
            missing.join(", ")
        );
    }
    Ok(())
}

/// `rpcsh describe [SYMBOL...]`: each symbol, or every service the server lists.
pub async fn describe(conn: &Connection, symbols: &[String], json: bool) -> anyhow::Result<()> {
    let mut session = conn.open(false).await?;
    session.schema.shallow();
    let symbols = match symbols {
        [] => session.schema.services().await?,
        some => some.to_vec(),
    };
    for symbol in &symbols {
        describe_one(&mut session.schema, symbol, json).await?;
    }
    Ok(())
}

async fn describe_one(schema: &mut Schema, symbol: &str, json: bool) -> anyhow::Result<()> {
    let found = schema.find_symbol(symbol).await?;
    let mut out = std::io::stdout().lock();
    if json {
        let value = match &found {
            Symbol::Service(s) => format::descriptor_json(
                format::encode(s.service_descriptor_proto()),
                "google.protobuf.ServiceDescriptorProto",
            )?,
            Symbol::Method(m) => format::descriptor_json(
                format::encode(m.method_descriptor_proto()),
                "google.protobuf.MethodDescriptorProto",
            )?,
            Symbol::Message(m) => format::descriptor_json(
                format::encode(m.descriptor_proto()),
                "google.protobuf.DescriptorProto",
            )?,
            Symbol::Enum(e) => format::descriptor_json(
                format::encode(e.enum_descriptor_proto()),
                "google.protobuf.EnumDescriptorProto",
            )?,
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    let docs = schema.docs(found.full_name());
    let text = format::describe_symbol(&found, &docs);
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// `rpcsh template MESSAGE|METHOD`: a JSON skeleton of the message (a method's request).
pub async fn template(conn: &Connection, symbol: &str) -> anyhow::Result<()> {
    let mut session = conn.open(false).await?;
    session.schema.only_what_is_used();
    let message = session
        .schema
        .find_symbol(symbol)
        .await?
        .request_message()?;
    let (template, note) = format::template(&message);
    println!("{}", serde_json::to_string_pretty(&template)?);
    if let Some(note) = note {
        eprintln!("rpcsh: note: {note}");
    }
    Ok(())
}

/// `rpcsh health [SERVICE]`: grpc.health.v1 Check, in any protocol. Prints the status; not
/// SERVING is an error.
pub async fn health(
    conn: &Connection,
    service: Option<&str>,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    use prost_reflect::{DescriptorPool, Value};
    use tonic_health::pb::health_check_response::ServingStatus;
    let conn = &conn.resolved();
    let target = Target::parse(&conn.addr, &conn.transport)?;
    let link = conn.link(&target).await?;
    let pool = DescriptorPool::decode(tonic_health::pb::FILE_DESCRIPTOR_SET)?;
    let check = pool
        .get_service_by_name("grpc.health.v1.Health")
        .and_then(|s| s.methods().find(|m| m.name() == "Check"))
        .ok_or_else(|| anyhow::anyhow!("grpc.health.v1.Health/Check is not in tonic-health"))?;
    let options = CallOptions {
        metadata: parse_headers(&conn.header_lines()?)?,
        timeout,
        max_message_size: conn.max_message_size,
        compress: conn.compress,
    };
    let ask = |name: &str| {
        let mut request = DynamicMessage::new(check.input());
        request.set_field_by_name("service", Value::String(name.into()));
        let (link, check, options) = (&link, &check, &options);
        async move {
            let mut reply = Reply(None);
            let requests = futures_util::stream::iter([request]);
            let called = link.invoke(check, requests, options, &mut reply).await;
            called.map(|()| reply)
        }
    };
    let mut called = ask(service.unwrap_or_default()).await;
    // A short name (`RouteGuide` for `routeguide.RouteGuide`) is resolved as `call` resolves
    // it, through the schema, when the server does not know it as it is.
    let not_found =
        matches!(&called, Err(CallError::Status(s)) if s.code() == tonic::Code::NotFound);
    let full = match service {
        Some(name) if not_found && !name.contains('.') => full_service_name(conn, name).await,
        _ => None,
    };
    if let Some(full) = &full {
        called = ask(full).await;
    }
    let service = full.as_deref().or(service);
    let reply = match called {
        Ok(reply) => reply,
        Err(CallError::Handler(e)) => return Err(e),
        Err(CallError::Status(status)) => {
            let status = client_deadline(status);
            let mut rendered = format::render_status(&status, &pool);
            if status.code() == tonic::Code::Unimplemented {
                rendered.push_str("  hint: the server does not implement grpc.health.v1.Health\n");
            }
            bail!(CallFailed {
                code: status.code(),
                rendered,
            });
        }
    };
    let number = reply
        .0
        .and_then(|m| m.get_field_by_name("status")?.as_enum_number())
        .unwrap_or_default();
    let status = ServingStatus::try_from(number).unwrap_or(ServingStatus::Unknown);
    println!("{}", status.as_str_name());
    if status != ServingStatus::Serving {
        bail!(
            "{} is {}",
            service.filter(|s| !s.is_empty()).unwrap_or("the server"),
            status.as_str_name()
        );
    }
    Ok(())
}

/// The full name of the one service whose short name is `name`, from the schema (reflection
/// or the files given), if there is one.
async fn full_service_name(conn: &Connection, name: &str) -> Option<String> {
    let mut session = conn.open(false).await.ok()?;
    session.schema.shallow();
    let services = session.schema.services().await.ok()?;
    match crate::client::schema::symbol::matching_services(name, &services).as_slice() {
        [one] if *one != name => Some(one.to_string()),
        _ => None,
    }
}

/// Keeps the one answer of a unary call.
struct Reply(Option<DynamicMessage>);

impl invoke::Handler for Reply {
    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()> {
        self.0 = Some(message);
        Ok(())
    }
}
