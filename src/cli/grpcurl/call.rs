//! A call as grpcurl makes and prints it: the request data read (JSON, or text separated by
//! 0x1E), the method called through rpcsh's link, and grpcurl's default event handler's output
//! (`-v`'s blocks of headers, contents and trailers, `Sent N requests...`), then its `ERROR:`
//! block or `-format-error` status and exit code.
use super::json::JsonNames;
use super::symbols::{find, Found};
use super::{cause, fail, print, protoprint, text, Exit, Format, Run, STATUS_OFFSET};
use crate::client::schema::Schema;
use crate::client::wire::invoke::{self, CallError, CallOptions};
use prost::Message;
use prost_reflect::{DynamicMessage, MethodDescriptor, ReflectMessage};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use tonic::metadata::MetadataMap;

impl Run<'_> {
    pub(super) async fn invoke(&self, symbol: &str) -> Result<(), Exit> {
        let started = Instant::now();
        let verbosity = match (self.f.on("vv"), self.f.on("v")) {
            (true, _) => 2,
            (false, true) => 1,
            _ => 0,
        };
        let mut session = self.open(true, verbosity == 0).await?;
        let link = session.link.clone().ok_or_else(|| fail("no connection"))?;
        let failed = |msg: String| fail(format!("Error invoking method {symbol:?}: {msg}"));
        let schema = &mut session.schema;
        let (sd, md) = resolve(schema, symbol).await.map_err(failed)?;
        if verbosity > 0 {
            let docs = schema.docs(sd.full_name());
            let mut p = protoprint::ProtoPrinter::new(&docs);
            p.method(&md, 0);
            let sent: Vec<String> = self
                .headers
                .iter()
                .chain(&self.rpc_headers)
                .cloned()
                .collect();
            print(&format!(
                "\nResolved method descriptor:\n{}\nRequest metadata to send:\n{}\n",
                p.out,
                metadata_text(&parse_sent(&sent))
            ));
        }
        // A stream fed from stdin sends each message as it is read, as grpcurl does (a bidi
        // call can be typed at); the rest is read whole first.
        let from_stdin = md.is_client_streaming()
            && self.f.text("d") == Some("@")
            && self.format == Format::Json;
        let (requests, mut count) = match from_stdin {
            true => (Vec::new(), 0),
            false => self.requests(&md).map_err(failed)?,
        };
        let options = CallOptions {
            metadata: session.metadata.clone(),
            timeout: self.deadline.map(|at| {
                at.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1))
            }),
            max_message_size: self.conn.max_message_size,
            compress: None,
        };
        let mut printer = Formatter::new(self, schema, &md, verbosity);
        let result = if from_stdin {
            let (result, sent) =
                stdin_call(&link, &md, self.parse_options(), &options, &mut printer).await;
            count = sent;
            result
        } else {
            let stream = futures_util::stream::iter(requests);
            link.invoke(&md, stream, &options, &mut printer).await
        };
        let status = match result {
            Ok(()) => None,
            Err(CallError::Status(s)) => Some(s),
            Err(CallError::Handler(e)) => {
                let _ = printer.out.flush();
                if crate::sys::error::is_broken_pipe(&e) {
                    return Err(Exit::Code(crate::sys::error::EXIT_BROKEN_PIPE));
                }
                return Err(failed(cause(&e)));
            }
        };
        printer.finish(status.as_ref(), count, started);
        if let Some(e) = printer.broken.take() {
            return Err(failed(e));
        }
        drop(printer);
        match status {
            None => Ok(()),
            Some(status) => Err(self.failed_call(schema, status).await),
        }
    }

    /// The end of a failed call: grpcurl's `ERROR:` block (or `-format-error`'s status) on
    /// stderr, and 64 plus the code.
    async fn failed_call(&self, schema: &mut Schema, status: tonic::Status) -> Exit {
        // Past -max-time: grpc-go's own words.
        let status = match crate::client::wire::status::is_client_deadline(&status)
            || status.message() == crate::client::wire::status::timed_out().message()
        {
            true => tonic::Status::deadline_exceeded("context deadline exceeded"),
            false => status,
        };
        schema.load_detail_types(&status).await;
        let text = if self.f.on("format-error") {
            let names = JsonNames::default();
            let formatted = crate::client::output::format::status_proto(&status, schema.pool())
                .map(|m| match self.format {
                    Format::Json => self.json(&m, self.f.on("emit-defaults"), &names),
                    Format::Text => text::text(&m),
                })
                .unwrap_or_default();
            format!("{formatted}\n")
        } else {
            self.error_block(&status, schema)
        };
        eprint!("{}", crate::sys::style::printable(&text));
        Exit::Code(STATUS_OFFSET + status.code() as u8)
    }

    /// grpcurl's `ERROR:` block, its details as the formatter prints them.
    fn error_block(&self, status: &tonic::Status, schema: &Schema) -> String {
        let mut text = format!(
            "ERROR:\n  Code: {}\n  Message: {}\n",
            code_name(status.code()),
            status.message()
        );
        let details = crate::client::output::format::status_details(status, schema.pool());
        if !details.is_empty() {
            text.push_str("  Details:\n");
            let names = JsonNames::default();
            for (i, any) in details.iter().enumerate() {
                let printed = match self.format {
                    Format::Json => self.json(any, self.f.on("emit-defaults"), &names),
                    Format::Text => text::text(any),
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

    fn parse_options(&self) -> crate::client::input::ParseOptions {
        crate::client::input::ParseOptions {
            allow_unknown_fields: self.f.on("allow-unknown-fields"),
            ..Default::default()
        }
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
                let data = field_masks_as_strings(&data, &input).unwrap_or(data);
                crate::client::input::parse_messages(&data, &input, self.parse_options())
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

/// The service and method a grpcurl method name (`svc/method` or `svc.method`, the service
/// fully qualified) names, or grpcurl's words for why not.
async fn resolve(
    schema: &mut Schema,
    symbol: &str,
) -> Result<(prost_reflect::ServiceDescriptor, MethodDescriptor), String> {
    let (service, method) = match symbol.rfind('/').or_else(|| symbol.rfind('.')) {
        Some(i) if i > 0 && i + 1 < symbol.len() => (&symbol[..i], &symbol[i + 1..]),
        _ => {
            return Err(format!(
                "given method name {symbol:?} is not in expected format: 'service/method' or 'service.method'"
            ))
        }
    };
    let found = find(schema, service)
        .await
        .map_err(|e| format!("failed to query for service descriptor {service:?}: {e}"))?;
    let Some(Found::Service(sd)) = found else {
        return Err(format!("target server does not expose service {service:?}"));
    };
    let md = sd
        .methods()
        .find(|m| m.name() == method)
        .ok_or_else(|| format!("service {service:?} does not include a method named {method:?}"))?;
    Ok((sd, md))
}

/// JSON whose `google.protobuf.FieldMask` values are written as jhump's JSON takes them,
/// `{"paths": ["a.b", "c_d"]}`, rewritten as proto3 JSON's `"a.b,cD"`; None when there is
/// none (or the JSON is not valid: its parser says so).
fn field_masks_as_strings(data: &str, desc: &prost_reflect::MessageDescriptor) -> Option<String> {
    use serde_json::Value;
    if !data.contains("\"paths\"") {
        return None;
    }
    let mut to_string = |_: &str, kind: &prost_reflect::Kind, v: &mut Value| {
        let prost_reflect::Kind::Message(m) = kind else {
            return Ok(false);
        };
        if m.full_name() != "google.protobuf.FieldMask" {
            return Ok(false);
        }
        if let Some(Value::Array(paths)) = v.get("paths") {
            let camel: Vec<String> = paths
                .iter()
                .filter_map(Value::as_str)
                .map(|p| {
                    p.split('.')
                        .map(crate::client::schema::default_json_name)
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .collect();
            *v = Value::String(camel.join(","));
        }
        Ok(true)
    };
    let mut out = String::new();
    for value in serde_json::Deserializer::from_str(data).into_iter::<Value>() {
        let mut value = value.ok()?;
        crate::client::input::visit_fields(&mut value, desc, &mut to_string).ok()?;
        out.push_str(&value.to_string());
        out.push('\n');
    }
    Some(out)
}

/// A call whose requests come from stdin, each sent as soon as it is read (the first bad one
/// ends the call); its outcome and how many were sent.
async fn stdin_call<W: Write>(
    link: &crate::client::net::link::Link,
    md: &MethodDescriptor,
    parse: crate::client::input::ParseOptions,
    options: &CallOptions,
    printer: &mut Formatter<'_, W>,
) -> (Result<(), CallError>, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let sent = std::sync::Arc::new(AtomicUsize::new(0));
    let (stream, bad) = crate::client::input::stdin_stream(md.input(), parse);
    let counted = sent.clone();
    let stream = futures_util::StreamExt::inspect(stream, move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
    });
    let result = tokio::select! {
        r = link.invoke(md, stream, options, printer) => r,
        Ok(bad) = bad => Err(CallError::Handler(bad.context("error getting request data"))),
    };
    (result, sent.load(Ordering::Relaxed))
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
        .map(|(k, v)| format!("{k}: {}", crate::sys::style::printable(v)))
        .collect();
    lines.join("\n")
}

/// Prints a call's events as grpcurl's default handler does.
struct Formatter<'a, W: Write> {
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

impl<'a> Formatter<'a, std::io::BufWriter<std::io::StdoutLock<'static>>> {
    /// grpcurl's handler of a call to `md`, on stdout.
    fn new(run: &'a Run<'a>, schema: &'a mut Schema, md: &MethodDescriptor, verbosity: u8) -> Self {
        let mut names = JsonNames::default();
        names.learn(&md.output(), &|full| schema.raw_file_of(full));
        Formatter {
            run,
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
        }
    }
}

impl<W: Write> Formatter<'_, W> {
    fn write(&mut self, text: &str) {
        if self.broken.is_none() {
            if let Err(e) = self.out.write_all(text.as_bytes()) {
                self.broken = Some(e.to_string());
            }
        }
    }

    /// `-v`'s end of a call: headers if none came, trailers (a failed call's are its status's
    /// metadata), `Sent N requests and received M responses` and, with `-vv` as 1.9, the time.
    /// The output is flushed.
    fn finish(&mut self, status: Option<&tonic::Status>, sent: usize, started: Instant) {
        if self.verbosity > 0 {
            if !self.headers_shown && (self.unary || status.is_none()) {
                self.write_headers(&MetadataMap::new());
            }
            let trailers = match status {
                Some(s) if self.trailers.is_none() => s.metadata().clone(),
                _ => self.trailers.take().unwrap_or_default(),
            };
            let s = |n: usize| if n == 1 { "" } else { "s" };
            let mut text = format!(
                "\nResponse trailers received:\n{}\nSent {sent} request{} and received {} response{}\n",
                metadata_text(&received(&trailers)),
                s(sent),
                self.responses,
                s(self.responses)
            );
            if self.verbosity > 1 && !self.run.legacy {
                text.push_str(&format!("Timing Data: {:?}\n", started.elapsed()));
            }
            self.write(&text);
        }
        let _ = self.out.flush();
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

impl<W: Write> invoke::Handler for Formatter<'_, W> {
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
                text.push_str(&text::text(&message));
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
    fn metadata_as_grpcurl_lists_it() {
        assert_eq!(metadata_text(&[]), "(empty)");
        let pairs = parse_sent(&["B: 2".into(), "a:1".into()]);
        assert_eq!(metadata_text(&pairs), "a: 1\nb: 2");
    }
}
