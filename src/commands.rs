//! The client commands — `call`, `list`, `describe`, `template`, `health` — put together from
//! the transport, schema source, input, invoker and formatter. What each prints goes to stdout;
//! `-v` traces and errors go to stderr.
use crate::error::{CallFailed, Hint};
use crate::format::{self, Format, Printer, Style, Verbose};
use crate::input::{self, Data, ParseOptions};
use crate::invoke::{self, CallError, CallOptions};
use crate::source::{reflection::Reflection, Schema};
use crate::transport::{self, Target, TransportOptions};
use anyhow::{bail, Context};
use futures_util::StreamExt;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tonic::metadata::{
    AsciiMetadataKey, AsciiMetadataValue, BinaryMetadataKey, BinaryMetadataValue, MetadataMap,
};
use tonic::transport::Channel;

/// The 4 MiB gRPC default, for calls and reflection alike.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Everything needed to reach a server and learn its schema.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub addr: String,
    pub transport: TransportOptions,
    /// `-H`: sent with calls and reflection requests.
    pub headers: Vec<String>,
    /// `--reflect-header`: sent with reflection requests only.
    pub reflect_headers: Vec<String>,
    pub protos: Vec<PathBuf>,
    pub import_paths: Vec<PathBuf>,
    pub protoset: Option<PathBuf>,
    pub max_message_size: Option<usize>,
    pub verbose: Option<Verbose>,
    /// The config file, whose server sections `resolved` applies.
    pub config: std::sync::Arc<crate::config::Config>,
}

/// A session: the channel (when one was needed) and the schema source.
pub struct Session {
    pub channel: Option<Channel>,
    pub schema: Schema,
    pub metadata: MetadataMap,
    pub connected: Duration,
    /// Whether the channel is TLS.
    pub tls: bool,
}

impl Connection {
    /// Reads local schema files first (a bad proto is reported before any connection), then
    /// connects when a call needs it or the schema comes from reflection.
    pub async fn open(&self, for_call: bool) -> anyhow::Result<Session> {
        self.resolved().open_resolved(for_call).await
    }

    async fn open_resolved(&self, for_call: bool) -> anyhow::Result<Session> {
        let started = Instant::now();
        let target = Target::parse(&self.addr, &self.transport)?;
        let metadata = parse_headers(&self.headers)?;
        let mut reflect_metadata = metadata.clone();
        for (k, v) in parse_headers(&self.reflect_headers)?.into_headers().iter() {
            reflect_metadata.as_mut().append(k.clone(), v.clone());
        }
        let local = if !self.protos.is_empty() {
            Some(Schema::from_protos(&self.protos, &self.import_paths)?)
        } else if let Some(set) = &self.protoset {
            Some(Schema::from_protoset(set)?)
        } else {
            None
        };
        let local = match local {
            Some(schema) if !for_call => {
                return Ok(Session {
                    channel: None,
                    schema,
                    metadata,
                    connected: Duration::ZERO,
                    tls: target.tls,
                })
            }
            other => other,
        };
        let channel = transport::connect(&target, &self.transport).await?;
        let connected = started.elapsed();
        if let Some(v) = &self.verbose {
            let mode = if target.tls { "TLS" } else { "plaintext" };
            v.line(format_args!(
                "Connected to {} ({mode}) in {:.1?}",
                self.addr, connected
            ));
        }
        let limit = self.max_message_size.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE);
        let schema = match local {
            Some(schema) => schema,
            None => Schema::from_reflection(Reflection::new(
                channel.clone(),
                reflect_metadata,
                limit,
                target.tls,
            )),
        };
        Ok(Session {
            channel: Some(channel),
            schema,
            metadata,
            connected,
            tls: target.tls,
        })
    }
}

/// Parses `-H 'name: value'` headers; `-bin` names take base64 values.
pub fn parse_headers(headers: &[String]) -> anyhow::Result<MetadataMap> {
    use base64::Engine;
    let mut map = MetadataMap::new();
    for h in headers {
        let Some((name, value)) = h.split_once(':') else {
            bail!(Hint::new(
                format!("invalid header {h:?}"),
                "write it as 'name: value'"
            ));
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name.ends_with("-bin") {
            let key = BinaryMetadataKey::from_bytes(name.as_bytes())
                .with_context(|| format!("invalid header name {name:?}"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(value))
                .map_err(|e| {
                    Hint::new(
                        format!("header {name} is not base64: {e}"),
                        "values of -bin headers are base64",
                    )
                })?;
            map.append_bin(key, BinaryMetadataValue::from_bytes(&bytes));
        } else {
            let key = AsciiMetadataKey::from_bytes(name.as_bytes())
                .with_context(|| format!("invalid header name {name:?}"))?;
            let value = AsciiMetadataValue::try_from(value)
                .with_context(|| format!("invalid value for header {name}"))?;
            map.append(key, value);
        }
    }
    Ok(map)
}

/// Output settings of `call`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    /// `None`: pretty JSON on a terminal, JSON lines otherwise.
    pub format: Option<Format>,
    /// Print fields that hold their default value.
    pub emit_defaults: bool,
    /// Proto field names instead of JSON names.
    pub proto_names: bool,
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
            color: crate::style::stdout(),
        }
    }
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
    let channel = session.channel.clone().expect("a call connects");
    let method = session.schema.resolve_method(method).await?;
    let schema_time = started.elapsed() - session.connected;
    let verbose = conn.verbose;
    if let Some(v) = &verbose {
        if let Some(version) = session.schema.reflection_version() {
            v.line(format_args!(
                "Schema from server reflection {version} in {schema_time:.1?}"
            ));
        }
        v.line(format_args!(
            "Method: {} {}",
            invoke::path(&method),
            format::describe_method(&method)
        ));
        v.metadata("Request metadata to send", &session.metadata);
    }
    let options = CallOptions {
        metadata: session.metadata.clone(),
        timeout,
        max_message_size: conn.max_message_size,
    };
    let stdout = std::io::stdout();
    let mut handler = ResolvingPrinter {
        schema: &mut session.schema,
        printer: Printer {
            out: std::io::BufWriter::new(stdout.lock()),
            style: output.style(),
            received: 0,
            first_message: None,
            verbose,
        },
    };
    let streaming_input = method.is_client_streaming();
    let result = if streaming_input && data == Data::Stdin {
        // Each message is sent as soon as it is read; a bad one cancels the call.
        let mut messages = input::stdin_messages(method.input(), parse);
        let (bad_tx, bad_rx) = tokio::sync::oneshot::channel::<anyhow::Error>();
        let (good_tx, good_rx) = tokio::sync::mpsc::channel::<DynamicMessage>(16);
        tokio::spawn(async move {
            while let Some(next) = messages.recv().await {
                match next {
                    Ok(m) => {
                        if good_tx.send(m).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = bad_tx.send(e);
                        // Keep the request stream open: ending it would half-close the call.
                        return std::future::pending::<()>().await;
                    }
                }
            }
        });
        let requests = tokio_stream::wrappers::ReceiverStream::new(good_rx);
        tokio::select! {
            r = invoke::invoke(channel.clone(), &method, requests, &options, &mut handler) => r,
            Ok(bad) = bad_rx => Err(CallError::Handler(bad.context("the call was cancelled"))),
        }
    } else {
        let messages = request_messages(&method, &data, parse, conn.max_message_size)?;
        let requests = futures_util::stream::iter(messages);
        invoke::invoke(
            channel.clone(),
            &method,
            requests.boxed(),
            &options,
            &mut handler,
        )
        .await
    };
    let mut printer = handler.printer;
    let _ = printer.out.flush();
    if let Some(v) = &verbose {
        let first = printer
            .first_message
            .map(|t| format!("{:.1?}", t - started))
            .unwrap_or_else(|| "-".into());
        v.line(format_args!(
            "Received {} response(s); connect {:.1?}, schema {:.1?}, first message {first}, total {:.1?}",
            printer.received,
            session.connected,
            schema_time,
            started.elapsed()
        ));
    }
    match result {
        Ok(()) => Ok(()),
        Err(CallError::Handler(e)) => Err(e),
        Err(CallError::Status(status)) => {
            let status = client_deadline(status);
            if crate::error::transport_cause(&status).is_some() {
                return Err(crate::error::status_error(
                    status,
                    "the call failed",
                    printer.received == 0,
                    session.tls,
                ));
            }
            let rendered = format::render_status(&status, session.schema.pool());
            Err(CallFailed {
                code: status.code(),
                rendered,
            }
            .into())
        }
    }
}

/// Resolves the types of `Any` fields through the schema source before the printer sees them.
struct ResolvingPrinter<'a, W: Write> {
    schema: &'a mut Schema,
    printer: Printer<W>,
}

impl<W: Write> invoke::Handler for ResolvingPrinter<'_, W> {
    fn on_headers(&mut self, headers: &MetadataMap) {
        self.printer.on_headers(headers)
    }

    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()> {
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

/// tonic reports a deadline it enforced itself as `Cancelled` (with the timer's error as its
/// source); to the user it is a deadline, and not a broken connection.
pub fn client_deadline(status: tonic::Status) -> tonic::Status {
    if status.code() == tonic::Code::Cancelled && status.message() == "Timeout expired" {
        tonic::Status::deadline_exceeded("the call did not finish within --timeout")
    } else {
        status
    }
}

/// The request messages from inline, file or stdin data, checked against the method's shape:
/// one for unary and server-streaming methods (an empty one when there is no data).
pub fn request_messages(
    method: &MethodDescriptor,
    data: &Data,
    parse: ParseOptions,
    limit: Option<usize>,
) -> anyhow::Result<Vec<DynamicMessage>> {
    use prost::Message;
    let text = data.read_text()?;
    let mut messages = input::parse_messages(&text, &method.input(), parse)?;
    if !method.is_client_streaming() {
        match messages.len() {
            // An empty pipe or file is more likely a mistake upstream than a wish for defaults.
            0 if matches!(data, Data::Stdin | Data::File(_)) => bail!(Hint::new(
                format!("no request message in {}", data.describe()),
                "give one JSON object; '{}' sends a message with every field at its default",
            )),
            0 => messages.push(DynamicMessage::new(method.input())),
            1 => {}
            n => bail!(Hint::new(
                format!("{} takes one request message, got {n}", method.full_name()),
                "only client-streaming and bidi methods take a sequence of messages",
            )),
        }
    }
    // Checked here so that nothing is sent: the server would only fail the call after the upload.
    let limit = limit.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE);
    if let Some((i, big)) = messages
        .iter()
        .map(|m| m.encoded_len())
        .enumerate()
        .find(|(_, len)| *len > limit)
    {
        bail!(Hint::new(
            format!(
                "request message {} is {big} bytes, over the {limit}-byte limit",
                i + 1
            ),
            "--max-msg-size raises the limit (the server has its own)",
        ));
    }
    Ok(messages)
}

/// `rpcsh list [SERVICE]`: the services, or one service's methods.
pub async fn list(conn: &Connection, service: Option<&str>) -> anyhow::Result<()> {
    let mut session = conn.open(false).await?;
    let mut out = std::io::stdout().lock();
    match service {
        None => {
            for s in session.schema.services().await? {
                writeln!(out, "{s}")?;
            }
        }
        Some(name) => {
            let service = session.schema.resolve_service(name).await?;
            for m in service.methods() {
                writeln!(out, "{}.{}", service.full_name(), m.name())?;
            }
        }
    }
    Ok(())
}

/// `rpcsh describe SYMBOL`: a service, method, message or enum, as proto text or JSON.
pub async fn describe(conn: &Connection, symbol: &str, json: bool) -> anyhow::Result<()> {
    let mut session = conn.open(false).await?;
    let found = find_symbol(&mut session.schema, symbol).await?;
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
    let text = found.describe();
    out.write_all(text.as_bytes())?;
    Ok(())
}

pub enum Symbol {
    Service(prost_reflect::ServiceDescriptor),
    Method(MethodDescriptor),
    Message(prost_reflect::MessageDescriptor),
    Enum(prost_reflect::EnumDescriptor),
}

impl Symbol {
    /// What `describe` shows: what the symbol is, then its proto-like text.
    pub fn describe(&self) -> String {
        match self {
            Symbol::Service(s) => format!(
                "{} is a service:\n{}",
                s.full_name(),
                format::describe_service(s)
            ),
            Symbol::Method(m) => format!(
                "{} is a method:\n{}\n",
                m.full_name(),
                format::describe_method(m)
            ),
            Symbol::Message(m) => format!(
                "{} is a message:\n{}",
                m.full_name(),
                format::describe_message(m)
            ),
            Symbol::Enum(e) => format!(
                "{} is an enum:\n{}",
                e.full_name(),
                format::describe_enum(e)
            ),
        }
    }

    /// The message a `template` is made for: the message itself, or a method's request.
    pub fn request_message(self) -> anyhow::Result<prost_reflect::MessageDescriptor> {
        match self {
            Symbol::Message(m) => Ok(m),
            Symbol::Method(m) => Ok(m.input()),
            Symbol::Service(s) => {
                let first = s
                    .methods()
                    .next()
                    .map(|m| m.name().to_string())
                    .unwrap_or_default();
                bail!(Hint::new(
                    format!("{} is a service", s.full_name()),
                    format!("name one of its methods, as in {}/{first}", s.name()),
                ))
            }
            Symbol::Enum(e) => bail!(
                "{} is an enum; templates are made for messages and methods",
                e.full_name()
            ),
        }
    }
}

/// Looks a symbol up: fully-qualified names first, then the names people type for services and
/// methods (`Compute`, `RouteGuide/GetFeature`).
pub async fn find_symbol(schema: &mut Schema, symbol: &str) -> anyhow::Result<Symbol> {
    let name = symbol
        .trim()
        .trim_start_matches('.')
        .trim_start_matches('/');
    if !name.contains('/') && schema.load_symbol(name).await.is_ok() {
        let pool = schema.pool();
        if let Some(s) = pool.get_service_by_name(name) {
            return Ok(Symbol::Service(s));
        }
        if let Some(m) = pool.get_message_by_name(name) {
            return Ok(Symbol::Message(m));
        }
        if let Some(e) = pool.get_enum_by_name(name) {
            return Ok(Symbol::Enum(e));
        }
    }
    if let Some(message) = schema.pool().get_message_by_name(name) {
        return Ok(Symbol::Message(message));
    }
    if !name.contains('/') {
        if let Ok(s) = schema.resolve_service(name).await {
            return Ok(Symbol::Service(s));
        }
    }
    match schema.resolve_method(name).await {
        Ok(m) => Ok(Symbol::Method(m)),
        Err(e) if name.contains('/') => Err(e),
        Err(_) => bail!(Hint::new(
            format!("symbol {symbol:?} not found"),
            "name a service, method, message or enum by its full name, as `rpcsh list` shows them",
        )),
    }
}

/// `rpcsh template MESSAGE|METHOD`: a JSON skeleton of the message (a method's request).
pub async fn template(conn: &Connection, symbol: &str) -> anyhow::Result<()> {
    let mut session = conn.open(false).await?;
    let message = find_symbol(&mut session.schema, symbol)
        .await?
        .request_message()?;
    let json = serde_json::to_string_pretty(&format::template(&message))?;
    println!("{json}");
    Ok(())
}

/// `rpcsh health [SERVICE]`: grpc.health.v1 Check. Prints the status; not SERVING is an error.
pub async fn health(
    conn: &Connection,
    service: Option<&str>,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let conn = &conn.resolved();
    let target = Target::parse(&conn.addr, &conn.transport)?;
    let channel = transport::connect(&target, &conn.transport).await?;
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: service.unwrap_or_default().to_string(),
    });
    *request.metadata_mut() = parse_headers(&conn.headers)?;
    if let Some(t) = timeout {
        request.set_timeout(t);
    }
    let reply = HealthClient::new(channel)
        .check(request)
        .await
        .map_err(|status| {
            let mut rendered =
                format::render_status(&status, &prost_reflect::DescriptorPool::new());
            if status.code() == tonic::Code::Unimplemented {
                rendered.push_str("  hint: the server does not implement grpc.health.v1.Health\n");
            }
            CallFailed {
                code: status.code(),
                rendered,
            }
        })?;
    let status = reply.into_inner().status();
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
