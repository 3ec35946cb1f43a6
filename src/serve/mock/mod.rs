//! `rpcsh serve --mock FILE...`: a server that answers as a recording did. A recording is an
//! `rpcsh run` script (`connect --record`, `proxy --record`, or written by hand): each `call`
//! with its request (the JSON argument, or a stream's messages up to `end`) and the `expect`
//! after it — `expect exact JSON`, `expect JSON`, `expect [...]` for a stream, `expect error
//! CODE "message"` — with the `expect header` / `expect trailer` lines and the `pace` that follow
//! it. Every service of the schema (`--proto`, `--protoset`, or `--from ADDR`'s
//! reflection) is hosted with reflection and health. A call whose messages are exactly a
//! recorded request's gets that answer (found by hash: 10,000 stubs cost no scan); else the first
//! stub in file order whose requests they contain (`expect`'s partial match); a call that matches
//! nothing gets UNIMPLEMENTED naming the nearest recorded request (or, `--match nearest`, that
//! request's answer).
mod interleave;
mod template;

use crate::client::wire::codec::DynamicCodec;
use crate::lang::expect::{contains, Expectation};
use crate::lang::recording::compact;
use anyhow::{anyhow, bail, Context};
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use template::{templated, Reply};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

/// `serve --mock`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct MockArgs {
    /// Answer as this recording (an `rpcsh run` script) did (repeatable; first match wins).
    #[arg(long = "mock", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// With --mock: the schema from this .proto file (repeatable).
    #[arg(long = "proto", value_name = "FILE", requires = "files")]
    pub protos: Vec<PathBuf>,
    /// With --mock: import path for --proto (repeatable).
    #[arg(
        short = 'I',
        long = "import-path",
        value_name = "DIR",
        requires = "files"
    )]
    pub import_paths: Vec<PathBuf>,
    /// With --mock: the schema from a FileDescriptorSet.
    #[arg(
        long,
        value_name = "FILE",
        requires = "files",
        conflicts_with = "protos"
    )]
    pub protoset: Option<PathBuf>,
    /// With --mock: the schema from this server's reflection.
    #[arg(long, value_name = "ADDR", requires = "files")]
    pub from: Option<String>,
    /// With --mock: the status of a call no stub matches.
    #[arg(long, value_name = "CODE", default_value = "UNIMPLEMENTED", value_parser = status,
          requires = "files")]
    pub unmatched: Code,
    /// With --mock: answer a method no stub covers with messages made up from the schema.
    #[arg(long, requires = "files")]
    pub fake: bool,
    /// With --fake: the seed of the made-up messages (the same seed, the same answers).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "fake")]
    pub seed: u64,
    /// With --mock: a stream's messages at the recorded pace (`pace` lines), or at once.
    #[arg(long, value_enum, default_value = "recorded", requires = "files")]
    pub pace: Pace,
    /// With --mock: a call no stub matches gets the first in file order whose requests it
    /// contains (`first`), or failing that the nearest recorded one (`nearest`).
    #[arg(
        long = "match",
        value_enum,
        default_value = "first",
        requires = "files"
    )]
    pub matching: Matching,
}

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum Pace {
    Recorded,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum Matching {
    First,
    Nearest,
}

/// How the stubs answer, beyond what they say.
#[derive(Debug, Clone, Copy)]
struct Behaviour {
    /// The status of a call no stub matches.
    unmatched: Code,
    /// `--fake`'s seed: methods with no stub answer made-up messages.
    fake: Option<u64>,
    pace: Pace,
    matching: Matching,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            unmatched: Code::Unimplemented,
            fake: None,
            pace: Pace::Recorded,
            matching: Matching::First,
        }
    }
}

fn status(name: &str) -> Result<Code, String> {
    crate::lang::command::status_code(name)
        .ok_or_else(|| format!("{name:?} is no gRPC status (e.g. NOT_FOUND)"))
}

/// One recorded call: where, its requests as JSON, its answer.
struct Stub {
    at: String,
    requests: Vec<Value>,
    answer: Result<Reply, (Code, String)>,
    delay: Option<Duration>,
    pace: Vec<Duration>,
    /// A bidi stream's answers before each request (`interleave`): empty, all after the last.
    interleave: Vec<usize>,
    headers: MetadataMap,
    trailers: MetadataMap,
    /// A failed answer's `grpc-status-details-bin`.
    details: bytes::Bytes,
}

/// What a call is answered: its metadata, messages and pace, or the status it fails with.
#[derive(Default)]
struct Given {
    delay: Option<Duration>,
    pace: Vec<Duration>,
    headers: MetadataMap,
    trailers: MetadataMap,
    messages: Vec<DynamicMessage>,
}

/// The stubs of one exact request in file order: the first call gets the first answer, the
/// next the second, the last one repeating.
#[derive(Default)]
struct Sequence {
    stubs: Vec<usize>,
    next: std::sync::atomic::AtomicUsize,
}

impl Sequence {
    fn take(&self) -> usize {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.stubs[i.min(self.stubs.len() - 1)]
    }
}

struct Method {
    descriptor: MethodDescriptor,
    stubs: Vec<Stub>,
    /// The first stub of each exact request (its messages as canonical JSON): a call that
    /// sends one is answered without a scan of the stubs.
    exact: HashMap<String, Sequence>,
    /// Some stub answers before the client's stream ends (`interleave`).
    interleaved: bool,
}

/// The recorded answers, by request path (`/pkg.Service/Method`).
pub struct Mock {
    methods: HashMap<String, Method>,
    settings: Behaviour,
}

impl Mock {
    /// Reads the recordings against the schema: every recorded call must name a method of it and
    /// every answer fit its response type.
    pub fn load(pool: &DescriptorPool, files: &[PathBuf]) -> anyhow::Result<Mock> {
        let mut methods: HashMap<String, Method> = HashMap::new();
        for service in pool.services() {
            for m in service.methods() {
                let path = format!("/{}/{}", service.full_name(), m.name());
                let method = Method {
                    descriptor: m,
                    stubs: Vec::new(),
                    exact: HashMap::new(),
                    interleaved: false,
                };
                methods.insert(path, method);
            }
        }
        for file in files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read --mock {}", file.display()))?;
            let calls = crate::lang::script::calls(&file.display().to_string(), &text)
                .map_err(|e| anyhow!("{e}"))?;
            for call in calls {
                let path = method_path(pool, &call.method)
                    .with_context(|| format!("{}: {}", call.at, call.method))?;
                let method = methods.get_mut(&path).expect("every method is listed");
                let stub = stub(&method.descriptor, call)?;
                let key = compact(&Value::Array(stub.requests.clone()));
                let next = method.stubs.len();
                method.exact.entry(key).or_default().stubs.push(next);
                method.interleaved |= !stub.interleave.is_empty();
                method.stubs.push(stub);
            }
        }
        Ok(Mock {
            methods,
            settings: Behaviour::default(),
        })
    }

    /// How many recorded calls it answers with.
    pub fn stubs(&self) -> usize {
        self.methods.values().map(|m| m.stubs.len()).sum()
    }

    /// The answer to `received`.
    fn answer(&self, method: &Method, received: &[Value]) -> Result<Given, Status> {
        if let (Some(seed), true) = (self.settings.fake, method.stubs.is_empty()) {
            let descriptor = &method.descriptor;
            let mut rng = crate::serve::fake::rng(seed, descriptor.full_name());
            let count = if descriptor.is_server_streaming() {
                3
            } else {
                1
            };
            let output = descriptor.output();
            let made = (0..count).map(|_| crate::serve::fake::message(&output, &mut rng));
            return Ok(Given {
                messages: made.collect(),
                ..Given::default()
            });
        }
        let key = compact(&Value::Array(received.to_vec()));
        let matched = match method.exact.get(&key) {
            Some(sequence) => Some(&method.stubs[sequence.take()]),
            None => method.stubs.iter().find(|s| {
                s.requests.len() == received.len()
                    && received
                        .iter()
                        .zip(&s.requests)
                        .all(|(a, e)| contains(a, e))
            }),
        };
        let matched = match (matched, self.settings.matching) {
            (None, Matching::Nearest) => nearest(&method.stubs, received),
            (matched, _) => matched,
        };
        let Some(stub) = matched else {
            let name = method.descriptor.full_name();
            let nearest = nearest(&method.stubs, received).map_or_else(
                || "none is recorded".to_string(),
                |s| {
                    let requests = Value::Array(s.requests.clone());
                    format!("nearest ({}): {}", s.at, compact(&requests))
                },
            );
            let got = compact(&Value::Array(received.to_vec()));
            let message = format!("no recorded call of {name} matches {got}; {nearest}");
            return Err(Status::new(self.settings.unmatched, message));
        };
        let messages = match &stub.answer {
            Ok(reply) => reply.messages(received.first())?,
            Err((code, message)) => {
                let mut metadata = stub.headers.clone();
                for entry in stub.trailers.iter() {
                    append(&mut metadata, entry);
                }
                let details = stub.details.clone();
                return Err(Status::with_details_and_metadata(
                    *code,
                    message.clone(),
                    details,
                    metadata,
                ));
            }
        };
        let pace = match self.settings.pace {
            Pace::Recorded => stub.pace.clone(),
            Pace::None => Vec::new(),
        };
        Ok(Given {
            delay: stub.delay,
            pace,
            headers: stub.headers.clone(),
            trailers: stub.trailers.clone(),
            messages,
        })
    }
}

fn append(map: &mut MetadataMap, entry: tonic::metadata::KeyAndValueRef<'_>) {
    match entry {
        tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
            map.append(k.clone(), v.clone());
        }
        tonic::metadata::KeyAndValueRef::Binary(k, v) => {
            map.append_bin(k.clone(), v.clone());
        }
    }
}

/// `Service/Method` as a script names it (short or full service name, `/` or `.`) as a
/// request path.
fn method_path(pool: &DescriptorPool, name: &str) -> anyhow::Result<String> {
    let (service, method) = name
        .rsplit_once('/')
        .or_else(|| name.rsplit_once('.'))
        .ok_or_else(|| anyhow!("not a method (Service/Method)"))?;
    let found: Vec<_> = pool
        .services()
        .filter(|s| s.full_name() == service || s.full_name().ends_with(&format!(".{service}")))
        .filter(|s| s.methods().any(|m| m.name() == method))
        .collect();
    match found.as_slice() {
        [one] => Ok(format!("/{}/{method}", one.full_name())),
        [] => bail!("no method of the schema is named so"),
        _ => bail!("more than one service of the schema is named {service}: give its full name"),
    }
}

fn stub(
    method: &MethodDescriptor,
    call: crate::lang::script::ScriptedCall,
) -> anyhow::Result<Stub> {
    let at = call.at.clone();
    let input = method.input();
    let mut requests = Vec::new();
    for text in &call.requests {
        let value: Value =
            serde_json::from_str(text).with_context(|| format!("{at}: the request is not JSON"))?;
        requests.push(canonical(&input, value));
    }
    let output = method.output();
    let message = |v: Value| {
        DynamicMessage::deserialize(output.clone(), v)
            .with_context(|| format!("{at}: the recorded answer is not a {}", output.full_name()))
    };
    let built = |values: Vec<Value>| -> anyhow::Result<Reply> {
        if values.iter().any(templated) {
            return Ok(Reply::Templated(output.clone(), values));
        }
        let messages = values
            .into_iter()
            .map(message)
            .collect::<anyhow::Result<_>>()?;
        Ok(Reply::Built(messages))
    };
    let answer = match call.expect {
        Some(Expectation::Exact(v) | Expectation::Partial(v)) => Ok(built(vec![v])?),
        Some(Expectation::Stream(values)) => Ok(built(values)?),
        Some(Expectation::Error(code, text)) => Err((code, text.unwrap_or_default())),
        Some(Expectation::Count(n)) => bail!(crate::sys::error::Hint::new(
            format!("{at}: the recording says only that {n} messages came, not which"),
            "a recording lists a stream's messages up to 10,000; write them in as expect [...]",
        )),
        Some(Expectation::Within(..)) => bail!("{at}: `expect within` is a watch's, not an answer"),
        // Kept apart by `script::calls`: never the answer itself.
        Some(Expectation::Header(..) | Expectation::Trailer(..)) => {
            bail!("{at}: a header is not an answer")
        }
        None if method.is_server_streaming() => Ok(Reply::Built(Vec::new())),
        None => Ok(Reply::Built(vec![DynamicMessage::new(output.clone())])),
    };
    let metadata = |pairs: &[(String, String)]| {
        let lines: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        crate::session::connection::parse_headers(&lines)
            .with_context(|| format!("{at}: expect header"))
    };
    let mut trailers = metadata(&call.trailers)?;
    let details = trailers
        .remove_bin("grpc-status-details-bin")
        .and_then(|v| v.to_bytes().ok())
        .unwrap_or_default();
    Ok(Stub {
        headers: metadata(&call.headers)?,
        trailers,
        details,
        at,
        requests,
        answer,
        delay: call.delay,
        pace: call.pace,
        interleave: call.interleave,
    })
}

/// A recorded request as the server's JSON of it says it (`point_count` as `pointCount`,
/// defaults left out), when it is one of the type; as written otherwise.
fn canonical(input: &MessageDescriptor, value: Value) -> Value {
    match DynamicMessage::deserialize(input.clone(), value.clone()) {
        Ok(message) => serde_json::to_value(&message).unwrap_or(value),
        Err(_) => value,
    }
}

/// The stub of the most fields in common with what was received; of those, the one whose
/// differing text fields begin the most alike.
fn nearest<'a>(stubs: &'a [Stub], received: &[Value]) -> Option<&'a Stub> {
    fn alike(e: &Value, a: &Value) -> (usize, usize) {
        match (e, a) {
            (Value::Object(e), Value::Object(a)) => e
                .iter()
                .filter_map(|(k, v)| a.get(k).map(|a| alike(v, a)))
                .fold((0, 0), |(s, p), (s2, p2)| (s + s2, p + p2)),
            (e, a) if e == a => (1, 0),
            (Value::String(e), Value::String(a)) => (
                0,
                e.chars().zip(a.chars()).take_while(|(x, y)| x == y).count(),
            ),
            _ => (0, 0),
        }
    }
    let score = |s: &Stub| {
        s.requests
            .iter()
            .zip(received)
            .map(|(e, a)| alike(e, a))
            .fold((0, 0), |(s, p), (s2, p2)| (s + s2, p + p2))
    };
    stubs.iter().rev().max_by_key(|s| score(s))
}

/// The stub files as they are now: read again when one has changed since (an edit takes
/// effect on the next call); a file that no longer reads leaves the previous stubs answering.
pub struct Reloading {
    pool: DescriptorPool,
    files: Vec<PathBuf>,
    settings: Behaviour,
    state: std::sync::Mutex<(Vec<Stamp>, Arc<Mock>)>,
}

type Stamp = Option<(std::time::SystemTime, u64)>;

fn stamps(files: &[PathBuf]) -> Vec<Stamp> {
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}

impl Reloading {
    fn new(pool: DescriptorPool, files: Vec<PathBuf>, settings: Behaviour) -> anyhow::Result<Self> {
        let stamped = stamps(&files);
        let mock = Mock::load(&pool, &files)?;
        let mock = Arc::new(Mock { settings, ..mock });
        Ok(Reloading {
            pool,
            files,
            settings,
            state: std::sync::Mutex::new((stamped, mock)),
        })
    }

    fn current(&self) -> Arc<Mock> {
        let now = stamps(&self.files);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now != state.0 {
            state.0 = now;
            match Mock::load(&self.pool, &self.files) {
                Ok(mock) => {
                    let mock = Mock {
                        settings: self.settings,
                        ..mock
                    };
                    eprintln!("reloaded the stubs: {} call(s)", mock.stubs());
                    state.1 = Arc::new(mock);
                }
                Err(e) => eprintln!(
                    "rpcsh: warning: {}; the previous stubs still answer",
                    crate::sys::style::printable(&format!("{e:#}"))
                ),
            }
        }
        state.1.clone()
    }
}

/// The tower service behind every path: decodes the call's messages with its request type,
/// reads them all, and answers.
#[derive(Clone)]
pub struct MockService(pub Arc<Reloading>);

impl tower::Service<http::Request<axum::body::Body>> for MockService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<axum::body::Body>) -> Self::Future {
        let mock = self.0.current();
        Box::pin(async move {
            let path = request.uri().path().to_string();
            let Some(method) = mock.methods.get(&path) else {
                let status = Status::unimplemented(format!("{path} is not in the mock's schema"));
                return Ok(status.into_http());
            };
            let input = method.descriptor.input();
            let mut grpc = tonic::server::Grpc::new(DynamicCodec::new(input));
            Ok(grpc.streaming(Answer { mock, path }, request).await)
        })
    }
}

struct Answer {
    mock: Arc<Mock>,
    path: String,
}

type Messages = futures_util::stream::BoxStream<'static, Result<DynamicMessage, Status>>;

impl tonic::server::StreamingService<DynamicMessage> for Answer {
    type Response = DynamicMessage;
    type ResponseStream = Messages;
    type Future = BoxFuture<'static, Result<tonic::Response<Messages>, Status>>;

    fn call(&mut self, request: tonic::Request<tonic::Streaming<DynamicMessage>>) -> Self::Future {
        let (mock, path) = (self.mock.clone(), self.path.clone());
        Box::pin(async move {
            let mut incoming = request.into_inner();
            let mut received = Vec::new();
            if mock.methods[&path].interleaved {
                if let Some(first) = incoming.next().await {
                    let first = serde_json::to_value(&first?).unwrap_or(Value::Null);
                    if let Some(stub) = interleave::stub(&mock.methods[&path], &first) {
                        return interleave::answer(mock, path, stub, first, incoming).await;
                    }
                    received.push(first);
                }
            }
            while let Some(message) = incoming.next().await {
                // A client that streams on and on is not kept in memory.
                if received.len() == crate::lang::recording::LISTED_MESSAGES {
                    return Err(Status::resource_exhausted(format!(
                        "the mock reads at most {} messages of a call",
                        crate::lang::recording::LISTED_MESSAGES
                    )));
                }
                received.push(serde_json::to_value(&message?).unwrap_or(Value::Null));
            }
            let method = &mock.methods[&path];
            let given = mock.answer(method, &received)?;
            if let Some(delay) = given.delay {
                tokio::time::sleep(delay).await;
            }
            let Given {
                pace,
                headers,
                trailers,
                messages,
                ..
            } = given;
            let paced = messages
                .into_iter()
                .enumerate()
                .map(move |(i, m)| (pace.get(i).copied(), m));
            let stream = futures_util::stream::iter(paced).then(|(wait, message)| async move {
                if let Some(wait) = wait {
                    tokio::time::sleep(wait).await;
                }
                Ok(message)
            });
            // Trailers of an OK answer go with its status, as an OK status.
            let end =
                (!trailers.is_empty()).then(|| Err(Status::with_metadata(Code::Ok, "", trailers)));
            let mut response =
                tonic::Response::new(stream.chain(futures_util::stream::iter(end)).boxed());
            *response.metadata_mut() = headers;
            Ok(response)
        })
    }
}

/// Hosts the schema's services answering from the recordings, with reflection and health,
/// until `shutdown`.
pub async fn serve(
    args: MockArgs,
    listen: &str,
    options: crate::serve::server::ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (set, pool) = schema_of(&args).await?;
    let settings = Behaviour {
        unmatched: args.unmatched,
        fake: args.fake.then_some(args.seed),
        pace: args.pace,
        matching: args.matching,
    };
    let stubs = Reloading::new(pool.clone(), args.files.clone(), settings)?;
    let names: Vec<String> = pool
        .services()
        .map(|s| s.full_name().to_string())
        .filter(|n| !crate::serve::demo::INFRA_SERVICES.contains(&n.as_str()))
        .collect();
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in &names {
        health
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(&set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .include_reflection_service(false);
        for name in names
            .iter()
            .map(String::as_str)
            .chain(crate::serve::demo::INFRA_SERVICES)
        {
            b = b.with_service_name(name);
        }
        b
    };
    let mut builder = tonic::service::RoutesBuilder::default();
    builder.add_service(health_service);
    builder.add_service(
        reflection()
            .build_v1()
            .context("cannot serve the schema's reflection")?,
    );
    builder.add_service(reflection().build_v1alpha()?);
    let router = builder
        .routes()
        .into_axum_router()
        .fallback_service(MockService(Arc::new(stubs)));
    let stubs = router_stubs(&args.files);
    let bound = crate::serve::server::Bound::bind(listen).await?;
    println!("listening on {}", bound.address());
    eprintln!("mock of {} service(s), {stubs}", names.len());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    crate::serve::server::serve(bound, router.into(), options, shutdown).await
}

/// The schema the mock answers for, from files or a server's reflection: encoded for its own
/// reflection, and as a pool.
async fn schema_of(args: &MockArgs) -> anyhow::Result<(Vec<u8>, prost_reflect::DescriptorPool)> {
    if args.protos.is_empty() && args.protoset.is_none() && args.from.is_none() {
        bail!(crate::sys::error::Hint::new(
            "serve --mock needs the schema it answers for",
            "give --proto FILE, --protoset FILE or --from ADDR (a server with reflection)",
        ));
    }
    let conn = crate::session::connection::Connection {
        // A local schema connects nowhere; the address only has to parse.
        addr: args
            .from
            .clone()
            .unwrap_or_else(|| crate::session::config::DEFAULT_ADDRESS.to_string()),
        schema: crate::session::connection::SchemaSettings {
            protos: args.protos.clone(),
            import_paths: args.import_paths.clone(),
            protoset: args.protoset.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut session = conn.open(false).await?;
    let (set, _, _) = session.schema.export(&[]).await?;
    let pool = session.schema.pool().clone();
    Ok((set, pool))
}

fn router_stubs(files: &[PathBuf]) -> String {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    format!("answering from {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_request_wins_then_the_first_partial_one_in_file_order() {
        let dir = std::env::temp_dir().join(format!("rpcsh-mock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("stubs.rpcsh");
        std::fs::write(
            &file,
            "call Greeter/SayHello {}\nexpect exact {\"message\": \"anyone\"}\n\
             call Greeter/SayHello {\"name\": \"x\"}\nexpect exact {\"message\": \"x\"}\n",
        )
        .unwrap();
        let mock = Mock::load(&crate::serve::pb::pool(), &[file]).unwrap();
        assert_eq!(mock.stubs(), 2);
        let method = &mock.methods["/Greeter/SayHello"];
        let answer = |name: &str| {
            let got = mock
                .answer(method, &[serde_json::json!({ "name": name })])
                .unwrap()
                .messages;
            serde_json::to_value(&got[0]).unwrap()["message"].clone()
        };
        assert_eq!(answer("x"), "x");
        assert_eq!(answer("y"), "anyone");
        // The same request recorded twice answers in sequence, the last answer repeating.
        std::fs::write(
            dir.join("stubs.rpcsh"),
            "call Greeter/SayHello {\"name\": \"p\"}\nexpect exact {\"message\": \"A\"}\n\
             call Greeter/SayHello {\"name\": \"p\"}\nexpect exact {\"message\": \"B\"}\n",
        )
        .unwrap();
        let mock = Mock::load(&crate::serve::pb::pool(), &[dir.join("stubs.rpcsh")]).unwrap();
        let method = &mock.methods["/Greeter/SayHello"];
        let said: Vec<Value> = (0..3)
            .map(|_| {
                let got = mock
                    .answer(method, &[serde_json::json!({"name": "p"})])
                    .unwrap()
                    .messages;
                serde_json::to_value(&got[0]).unwrap()["message"].clone()
            })
            .collect();
        assert_eq!(said, ["A", "B", "B"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
