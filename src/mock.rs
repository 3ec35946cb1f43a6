//! `rpcsh serve --mock FILE...`: a server that answers as a recording did. A recording is an
//! `rpcsh run` script (`connect --record`, `proxy --record`, or written by hand): each `call`
//! with its request (the JSON argument, or a stream's messages up to `end`) and the `expect`
//! after it — `expect exact JSON`, `expect JSON`, `expect [...]` for a stream, `expect error
//! CODE "message"`. Every service of the schema (`--proto`, `--protoset`, or `--from ADDR`'s
//! reflection) is hosted with reflection and health. A call whose messages are exactly a
//! recorded request's gets that answer (found by hash: 10,000 stubs cost no scan); else the first
//! stub in file order whose requests they contain (`expect`'s partial match); a call that matches
//! nothing gets UNIMPLEMENTED naming the nearest recorded request.
use crate::codec::DynamicCodec;
use crate::expect::{contains, Expectation};
use crate::recording::compact;
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
use tonic::{Code, Status};

type Answered = Result<Vec<DynamicMessage>, Status>;

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
}

fn status(name: &str) -> Result<Code, String> {
    crate::repl::command::status_code(name)
        .ok_or_else(|| format!("{name:?} is no gRPC status (e.g. NOT_FOUND)"))
}

/// One recorded call: where, its requests as JSON, its answer.
struct Stub {
    at: String,
    requests: Vec<Value>,
    answer: Result<Reply, (Code, String)>,
    delay: Option<Duration>,
}

/// A stub's messages: built once, or, when they name the request (`${request.name}`), built
/// for each call from the JSON.
#[derive(Clone)]
enum Reply {
    Built(Vec<DynamicMessage>),
    Templated(MessageDescriptor, Vec<Value>),
}

impl Reply {
    fn messages(&self, request: Option<&Value>) -> Answered {
        let (output, values) = match self {
            Reply::Built(messages) => return Ok(messages.clone()),
            Reply::Templated(output, values) => (output, values),
        };
        values
            .iter()
            .map(|v| {
                let filled = fill(v, request.unwrap_or(&Value::Null));
                DynamicMessage::deserialize(output.clone(), filled).map_err(|e| {
                    Status::internal(format!(
                        "the templated answer is not a {}: {e}",
                        output.full_name()
                    ))
                })
            })
            .collect()
    }
}

fn templated(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("${request."),
        Value::Array(items) => items.iter().any(templated),
        Value::Object(map) => map.values().any(templated),
        _ => false,
    }
}

/// `value` with each `${request.a.b}` replaced by that field of `request`: a string that is
/// one template whole takes the field's value (a number stays a number), others its text.
fn fill(value: &Value, request: &Value) -> Value {
    let field = |path: &str| {
        path.split('.')
            .try_fold(request, |v, part| v.get(part))
            .cloned()
            .unwrap_or(Value::Null)
    };
    match value {
        Value::String(s) => {
            if let Some(path) = s
                .strip_prefix("${request.")
                .and_then(|p| p.strip_suffix('}'))
                .filter(|p| !p.contains('}'))
            {
                return field(path);
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find("${request.") {
                out.push_str(&rest[..i]);
                let after = &rest[i + "${request.".len()..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[i..]);
                    rest = "";
                    break;
                };
                match field(&after[..end]) {
                    Value::String(text) => out.push_str(&text),
                    Value::Null => {}
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[end + 1..];
            }
            Value::String(out + rest)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| fill(i, request)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, request)))
                .collect(),
        ),
        other => other.clone(),
    }
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
}

/// The recorded answers, by request path (`/pkg.Service/Method`).
pub struct Mock {
    methods: HashMap<String, Method>,
    /// The status of a call no stub matches.
    pub unmatched: Code,
    /// `--fake`'s seed: methods with no stub answer made-up messages.
    fake: Option<u64>,
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
                };
                methods.insert(path, method);
            }
        }
        for file in files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read --mock {}", file.display()))?;
            let calls = crate::script::calls(&file.display().to_string(), &text)
                .map_err(|e| anyhow!("{e}"))?;
            for call in calls {
                let path = method_path(pool, &call.method)
                    .with_context(|| format!("{}: {}", call.at, call.method))?;
                let method = methods.get_mut(&path).expect("every method is listed");
                let stub = stub(&method.descriptor, call)?;
                let key = compact(&Value::Array(stub.requests.clone()));
                let next = method.stubs.len();
                method.exact.entry(key).or_default().stubs.push(next);
                method.stubs.push(stub);
            }
        }
        Ok(Mock {
            methods,
            unmatched: Code::Unimplemented,
            fake: None,
        })
    }

    fn unmatched(mut self, code: Code, fake: Option<u64>) -> Self {
        self.unmatched = code;
        self.fake = fake;
        self
    }

    /// How many recorded calls it answers with.
    pub fn stubs(&self) -> usize {
        self.methods.values().map(|m| m.stubs.len()).sum()
    }

    /// The answer to `received`, and how long to wait before giving it.
    fn answer(&self, method: &Method, received: &[Value]) -> (Option<Duration>, Answered) {
        if let (Some(seed), true) = (self.fake, method.stubs.is_empty()) {
            let descriptor = &method.descriptor;
            let mut rng = crate::fake::rng(seed, descriptor.full_name());
            let count = if descriptor.is_server_streaming() {
                3
            } else {
                1
            };
            let output = descriptor.output();
            let made = (0..count).map(|_| crate::fake::message(&output, &mut rng));
            return (None, Ok(made.collect()));
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
        match matched {
            Some(stub) => (
                stub.delay,
                match &stub.answer {
                    Ok(reply) => reply.messages(received.first()),
                    Err((code, message)) => Err(Status::new(*code, message.clone())),
                },
            ),
            None => {
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
                (None, Err(Status::new(self.unmatched, message)))
            }
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

fn stub(method: &MethodDescriptor, call: crate::script::ScriptedCall) -> anyhow::Result<Stub> {
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
        Some(Expectation::Count(n)) => bail!(crate::error::Hint::new(
            format!("{at}: the recording says only that {n} messages came, not which"),
            "a recording lists a stream's messages up to 10,000; write them in as expect [...]",
        )),
        Some(Expectation::Within(..)) => bail!("{at}: `expect within` is a watch's, not an answer"),
        None if method.is_server_streaming() => Ok(Reply::Built(Vec::new())),
        None => Ok(Reply::Built(vec![DynamicMessage::new(output.clone())])),
    };
    Ok(Stub {
        at,
        requests,
        answer,
        delay: call.delay,
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

/// The stub of the most fields in common with what was received.
fn nearest<'a>(stubs: &'a [Stub], received: &[Value]) -> Option<&'a Stub> {
    let score = |s: &Stub| -> usize {
        s.requests
            .iter()
            .zip(received)
            .map(|(e, a)| match (e, a) {
                (Value::Object(e), Value::Object(a)) => {
                    e.iter().filter(|(k, v)| a.get(*k) == Some(v)).count()
                }
                (e, a) => usize::from(e == a),
            })
            .sum()
    };
    stubs.iter().rev().max_by_key(|s| score(s))
}

/// The stub files as they are now: read again when one has changed since (an edit takes
/// effect on the next call); a file that no longer reads leaves the previous stubs answering.
pub struct Reloading {
    pool: DescriptorPool,
    files: Vec<PathBuf>,
    unmatched: Code,
    fake: Option<u64>,
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
    pub fn new(
        pool: DescriptorPool,
        files: Vec<PathBuf>,
        unmatched: Code,
        fake: Option<u64>,
    ) -> anyhow::Result<Self> {
        let stamped = stamps(&files);
        let mock = Arc::new(Mock::load(&pool, &files)?.unmatched(unmatched, fake));
        Ok(Reloading {
            pool,
            files,
            unmatched,
            fake,
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
                    let mock = mock.unmatched(self.unmatched, self.fake);
                    eprintln!("reloaded the stubs: {} call(s)", mock.stubs());
                    state.1 = Arc::new(mock);
                }
                Err(e) => eprintln!(
                    "rpcsh: warning: {}; the previous stubs still answer",
                    crate::style::printable(&format!("{e:#}"))
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

type Messages = tokio_stream::Iter<std::vec::IntoIter<Result<DynamicMessage, Status>>>;

impl tonic::server::StreamingService<DynamicMessage> for Answer {
    type Response = DynamicMessage;
    type ResponseStream = Messages;
    type Future = BoxFuture<'static, Result<tonic::Response<Messages>, Status>>;

    fn call(&mut self, request: tonic::Request<tonic::Streaming<DynamicMessage>>) -> Self::Future {
        let (mock, path) = (self.mock.clone(), self.path.clone());
        Box::pin(async move {
            let mut incoming = request.into_inner();
            let mut received = Vec::new();
            while let Some(message) = incoming.next().await {
                // A client that streams on and on is not kept in memory.
                if received.len() == crate::recording::LISTED_MESSAGES {
                    return Err(Status::resource_exhausted(format!(
                        "the mock reads at most {} messages of a call",
                        crate::recording::LISTED_MESSAGES
                    )));
                }
                received.push(serde_json::to_value(&message?).unwrap_or(Value::Null));
            }
            let method = &mock.methods[&path];
            let (delay, answers) = mock.answer(method, &received);
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let answers = answers?;
            let stream = tokio_stream::iter(answers.into_iter().map(Ok).collect::<Vec<_>>());
            Ok(tonic::Response::new(stream))
        })
    }
}

/// Hosts the schema's services answering from the recordings, with reflection and health,
/// until `shutdown`.
pub async fn serve(
    args: MockArgs,
    listen: &str,
    options: crate::server::ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if args.protos.is_empty() && args.protoset.is_none() && args.from.is_none() {
        bail!(crate::error::Hint::new(
            "serve --mock needs the schema it answers for",
            "give --proto FILE, --protoset FILE or --from ADDR (a server with reflection)",
        ));
    }
    let conn = crate::connection::Connection {
        // A local schema connects nowhere; the address only has to parse.
        addr: args
            .from
            .clone()
            .unwrap_or_else(|| crate::config::DEFAULT_ADDRESS.to_string()),
        protos: args.protos.clone(),
        import_paths: args.import_paths.clone(),
        protoset: args.protoset.clone(),
        ..Default::default()
    };
    let mut session = conn.open(false).await?;
    let (set, _, _) = session.schema.export(&[]).await?;
    let pool = session.schema.pool().clone();
    let fake = args.fake.then_some(args.seed);
    let stubs = Reloading::new(pool.clone(), args.files.clone(), args.unmatched, fake)?;
    let names: Vec<String> = pool
        .services()
        .map(|s| s.full_name().to_string())
        .filter(|n| !crate::demo::INFRA_SERVICES.contains(&n.as_str()))
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
            .chain(crate::demo::INFRA_SERVICES)
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
    let bound = crate::server::Bound::bind(listen).await?;
    println!("listening on {}", bound.address());
    eprintln!("mock of {} service(s), {stubs}", names.len());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    crate::server::serve(bound, router.into(), options, shutdown).await
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
        let mock = Mock::load(&crate::source::demo_pool(), &[file]).unwrap();
        assert_eq!(mock.stubs(), 2);
        let method = &mock.methods["/Greeter/SayHello"];
        let answer = |name: &str| {
            let got = mock
                .answer(method, &[serde_json::json!({ "name": name })])
                .1
                .unwrap();
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
        let mock = Mock::load(&crate::source::demo_pool(), &[dir.join("stubs.rpcsh")]).unwrap();
        let method = &mock.methods["/Greeter/SayHello"];
        let said: Vec<Value> = (0..3)
            .map(|_| {
                let got = mock
                    .answer(method, &[serde_json::json!({"name": "p"})])
                    .1
                    .unwrap();
                serde_json::to_value(&got[0]).unwrap()["message"].clone()
            })
            .collect();
        assert_eq!(said, ["A", "B", "B"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
