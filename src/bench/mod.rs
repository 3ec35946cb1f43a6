//! `rpcsh bench`: load on one method with the same names, JSON and connection flags as `call`,
//! or a scenario (`--script`). Owns the run: workers over connections, each making calls as the
//! load's shape says (count, duration, open-loop rates without coordinated omission, closed-loop
//! steps), recording into tallies a few workers share (memory does not grow with -c or -n), and
//! the counters every run shares; `caller` makes the calls, `report` prints them.
mod caller;
mod data;
mod details;
mod live;
mod report;
mod scenario;
mod schedule;
mod stream;
mod tally;
use crate::client::input;
use crate::client::net::transport::Target;
use crate::session::connection::Connection;
use anyhow::{bail, Context};
use caller::{decode_all, Caller, Lane, WebCaller, Worker};
use data::Requests;
use prost_reflect::MethodDescriptor;
pub use report::merge;
use report::Report;
use schedule::Shape;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally::Tally;
use tokio::time::Instant;
use tonic::{client::Grpc, Status};

/// How the load is shaped (the flags of `rpcsh bench`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Load")]
pub struct BenchOptions {
    /// Requests to make (200 by default, unless -z is given).
    #[arg(short = 'n', long = "total", value_name = "N")]
    pub total: Option<u64>,
    /// Concurrent workers.
    #[arg(short = 'c', long, default_value = "50", value_name = "C")]
    pub concurrency: usize,
    /// HTTP/2 connections to spread the workers over [default: one per 5 workers, one per 100
    /// held streams].
    #[arg(long, value_name = "K")]
    pub connections: Option<usize>,
    /// Run for this long instead of a count.
    #[arg(short = 'z', long, value_name = "DURATION", value_parser = crate::sys::util::parse_duration)]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub shape: ShapeArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Run an `rpcsh run` script over and over instead of one method: -c virtual users, -n runs
    /// (or -z); reports each call's latency and the whole script's.
    #[arg(long, value_name = "FILE",
          conflicts_with_all = ["data", "data_file", "streams", "rps", "ramp", "rps_steps", "concurrency_steps", "concurrency_ramp"])]
    pub script: Option<PathBuf>,
    /// Requests made first and left out of the report.
    #[arg(long, default_value = "0", value_name = "N")]
    pub warmup: u64,
    #[command(flatten)]
    pub held: HeldArgs,
    #[command(flatten)]
    pub pacing: StreamArgs,
    /// What becomes of calls still in flight when -z ends: wait for them and count them, close
    /// them (cancelled, counted as Cancelled), or ignore them (cancelled, left out).
    #[arg(
        help_heading = "Load",
        long,
        value_enum,
        default_value = "wait",
        value_name = "WHAT"
    )]
    pub duration_stop: DurationStop,
    /// Deadline of each call.
    #[arg(help_heading = "Load", long, value_name = "DURATION", value_parser = crate::sys::util::parse_duration)]
    pub timeout: Option<Duration>,
    /// Threads that make the calls [default: one per core].
    #[arg(help_heading = "Load", long, value_name = "N")]
    pub cpus: Option<usize>,
    /// Take the run's options from a TOML file first (keys: the long flags, method, data,
    /// metadata, tags); the command line's win.
    #[arg(help_heading = "Load", long, value_name = "FILE")]
    pub options: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where `rpcsh bench`'s requests come from besides DATA.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Load")]
pub struct DataArgs {
    /// Requests from a JSON-lines file, one a line, taken in turn (or --random).
    #[arg(long, value_name = "FILE", conflicts_with = "data")]
    pub data_file: Option<PathBuf>,
    /// Take --data-file's lines at random instead of in turn.
    #[arg(long, requires = "data_file")]
    pub random: bool,
}

/// How the messages of a client-streaming or bidi call are sent.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Streams")]
pub struct StreamArgs {
    /// Messages per call for client-streaming and bidi methods when DATA is one message.
    #[arg(long, default_value = "10", value_name = "M")]
    pub stream_messages: usize,
    /// A pause between the messages a client-streaming or bidi call sends.
    #[arg(long, value_name = "DURATION", value_parser = crate::sys::util::parse_duration)]
    pub stream_interval: Option<Duration>,
    /// Each streaming call sends N messages (DATA's in turn), then closes its sending side.
    #[arg(long, value_name = "N", conflicts_with = "streams")]
    pub stream_call_count: Option<usize>,
    /// Each streaming call closes its sending side after DURATION; a server stream is ended
    /// then and counts as OK.
    #[arg(long, value_name = "DURATION", value_parser = crate::sys::util::parse_duration, conflicts_with = "streams")]
    pub stream_call_duration: Option<Duration>,
}

/// What `rpcsh bench` writes: the report's form, its labels, each call's details.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Report")]
pub struct ReportArgs {
    /// Write each measured call (when it ended, its latency in ns, status, error) to FILE: CSV
    /// if it ends in .csv, InfluxDB line protocol in .lp, JSON lines otherwise.
    #[arg(long, value_name = "FILE")]
    pub details: Option<PathBuf>,
    /// A name for the run, in its report.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A tag for the run, in its report (and InfluxDB's tags); again for more.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = report::parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Write the report as text (the default), json, csv, prometheus, influx-summary,
    /// influx-details or html.
    #[arg(long, value_enum)]
    pub output: Option<ReportFormat>,
}

/// The load shapes of `rpcsh bench` besides a fixed count: a rate, a ramp, steps.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Load")]
pub struct ShapeArgs {
    /// A constant rate (open loop): latency counts from each request's scheduled time.
    #[arg(long, value_name = "R", value_parser = schedule::parse_rate)]
    pub rps: Option<f64>,
    /// A rate rising or falling linearly (open loop), reported in ten stages.
    #[arg(long, value_name = "FROM..TO/DURATION", value_parser = schedule::parse_ramp,
          conflicts_with_all = ["rps", "duration", "rps_steps", "concurrency_steps"])]
    pub ramp: Option<Shape>,
    /// Rates held in turn (open loop), each reported as a stage.
    #[arg(long, value_name = "R1,R2,.../EACH", value_parser = schedule::parse_rate_steps,
          conflicts_with_all = ["rps", "duration", "concurrency_steps"])]
    pub rps_steps: Option<Shape>,
    /// Workers in steps (closed loop), each reported as a stage.
    #[arg(long, value_name = "C1,C2,.../EACH", value_parser = schedule::parse_concurrency_steps,
          conflicts_with_all = ["rps", "duration", "concurrency"])]
    pub concurrency_steps: Option<Shape>,
    /// Workers rising or falling linearly (closed loop), reported in ten stages.
    #[arg(long, value_name = "FROM..TO/DURATION", value_parser = schedule::parse_concurrency_ramp,
          conflicts_with_all = ["rps", "duration", "concurrency", "ramp", "rps_steps", "concurrency_steps"])]
    pub concurrency_ramp: Option<Shape>,
}

impl BenchOptions {
    fn pacing(&self) -> stream::Pacing {
        stream::Pacing {
            interval: self.pacing.stream_interval,
            count: self.pacing.stream_call_count,
            duration: self.pacing.stream_call_duration,
        }
    }

    fn labels(&self) -> report::Labels {
        report::Labels {
            name: self.report.name.clone(),
            tags: self.report.tags.iter().cloned().collect(),
        }
    }

    /// Where each call goes: `--details FILE`, stdout for `--output influx-details`.
    fn sinks(&self, method: &str) -> anyhow::Result<Vec<details::Sink>> {
        let tags = report::influx_tags(method, &self.labels());
        let mut sinks = Vec::new();
        if let Some(path) = &self.report.details {
            sinks.push(details::Sink::file(path, tags.clone())?);
        }
        if self.report.output == Some(ReportFormat::InfluxDetails) {
            sinks.push(details::Sink::stdout(tags));
        }
        Ok(sinks)
    }
}

impl ShapeArgs {
    /// The shape asked for, if any.
    fn shape(&self) -> Option<Shape> {
        self.rps
            .map(Shape::Rate)
            .or(self.ramp.clone())
            .or(self.rps_steps.clone())
            .or(self.concurrency_steps.clone())
            .or(self.concurrency_ramp.clone())
    }
}

/// Streams held open at once, for a while (`--streams N --hold D`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Load")]
pub struct HeldArgs {
    /// Hold N streams open at once (server-streaming and bidi methods), for --hold.
    #[arg(long, value_name = "N", requires = "hold",
          conflicts_with_all = ["total", "duration", "rps", "ramp", "rps_steps", "concurrency_steps", "concurrency_ramp"])]
    pub streams: Option<usize>,
    /// How long --streams are held open before they are cancelled (a stream that ends before
    /// counts by its status).
    #[arg(long, value_name = "DURATION", value_parser = crate::sys::util::parse_duration, requires = "streams")]
    pub hold: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurationStop {
    Wait,
    Close,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// The default: for a person to read.
    Text,
    Json,
    Csv,
    /// Prometheus's text exposition format.
    Prometheus,
    /// InfluxDB line protocol: the run's figures and its statuses (ghz's name).
    InfluxSummary,
    /// InfluxDB line protocol: each call as it ends, then the summary's lines.
    InfluxDetails,
    /// One self-contained page with the report's plots.
    Html,
}

/// `rpcsh bench`: METHOD [DATA], `merge REPORT...` or `--script FILE`. `args` are the
/// words after METHOD; `addr_given`: -a was, and wins over a script's `connect`.
pub async fn command(
    conn: &Connection,
    addr_given: bool,
    method: Option<String>,
    mut args: Vec<String>,
    options: BenchOptions,
) -> anyhow::Result<()> {
    match (method.as_deref(), options.script.clone()) {
        (Some(verb @ ("merge" | "report")), _) => {
            let paths: Vec<PathBuf> = args.into_iter().map(PathBuf::from).collect();
            match verb {
                "merge" => merge(&paths, options.report.output),
                _ => report::report(&paths, options.report.output),
            }
        }
        (_, _) if args.len() > 1 => bail!(crate::sys::error::Hint::new(
            format!("unexpected argument {:?}", args[1]),
            "bench takes METHOD [DATA]; rpcsh bench merge REPORT... merges reports",
        )),
        (Some(method), None) => run(conn, method, args.pop(), options).await,
        (None, Some(script)) => scenario::run(conn, &script, addr_given, options).await,
        (Some(method), Some(_)) => bail!(crate::sys::error::Hint::new(
            format!("--script runs the script's calls; {method:?} is one METHOD too many"),
            "rpcsh bench --script FILE -c 10 -n 1000 (no METHOD or DATA)",
        )),
        (None, None) => bail!(crate::sys::error::Hint::new(
            "bench needs a METHOD, or --script FILE",
            "rpcsh bench Greeter/SayHello '{\"name\": \"x\"}' -n 1000",
        )),
    }
}

/// What the workers of any run share: how many calls (the warmup's included), until when, the
/// Ctrl-C stop, the count of calls done (for the progress bar) and the tallies.
struct Counters {
    start: Instant,
    total: u64,
    warmup: u64,
    end: Option<Instant>,
    next: AtomicU64,
    stop: AtomicBool,
    done: Arc<AtomicU64>,
    /// A tally per few workers: one each would grow memory with -c, one for all would be
    /// contended.
    shards: Vec<Mutex<Tally>>,
}

impl Counters {
    /// `total` calls (200 unless the run has a `length`) after `warmup` ones, from `start`.
    fn new(
        (total, warmup): (Option<u64>, u64),
        (start, length): (Instant, Option<Duration>),
        workers: usize,
        tally: impl Fn() -> Tally,
    ) -> Counters {
        let parallelism = std::thread::available_parallelism().map_or(4, |n| n.get());
        let total = total.unwrap_or(if length.is_some() { u64::MAX } else { 200 });
        Counters {
            start,
            total: total.saturating_add(warmup),
            warmup,
            end: length.map(|d| start + d),
            next: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            done: Arc::default(),
            shards: (0..workers.clamp(1, 4 * parallelism))
                .map(|_| Mutex::new(tally()))
                .collect(),
        }
    }

    /// The number of the next call (from 0, the warmup's first), or None once the run is over.
    fn take(&self) -> Option<u64> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let over = i >= self.total
            || self.stop.load(Ordering::Relaxed)
            || self.end.is_some_and(|e| Instant::now() >= e);
        (!over).then_some(i)
    }

    fn shard(&self, worker: usize) -> &Mutex<Tally> {
        &self.shards[worker % self.shards.len()]
    }

    /// The second of the run it is now (from 0).
    fn second(&self) -> u64 {
        self.start.elapsed().as_secs()
    }
}

/// What the workers of a method's run share: what to send, when, and the counters.
struct Plan {
    method: MethodDescriptor,
    requests: Requests,
    start: Instant,
    /// Held streams are cut here, and count as OK: they were held as long as asked.
    held: Option<Instant>,
    shape: Option<Shape>,
    counters: Arc<Counters>,
    /// `-H` metadata whose values hold placeholders: filled per call.
    templates: Vec<(String, String)>,
    /// Calls in flight at the end of -z.
    duration_stop: DurationStop,
    /// A server stream (not a client one: its sending side closes) ends this long after it
    /// starts, and counts as OK.
    stream_call_duration: Option<Duration>,
}

/// Runs the load and prints the report.
pub async fn run(
    conn: &Connection,
    method: &str,
    data: Option<String>,
    options: BenchOptions,
) -> anyhow::Result<()> {
    let mut session = setting_up(conn.open(true)).await?;
    let loaded = load_requests(&mut session.schema, method, data, &options);
    let (method, requests) = setting_up(loaded).await?;
    let templates = metadata_templates(&session.metadata, &method)?;
    let shape = options.shape.shape();
    let (workers, connections) = spread(&options, shape.as_ref());
    let conn = &conn.resolved();
    let target = Target::parse(&conn.addr, &conn.transport)?;
    let (channels, webs) = setting_up(links(&session, conn, &target, &method, connections)).await?;
    let mut setup = GrpcSetup::new(conn, &target, &method, &session.metadata, options.timeout)?;
    setup.pacing = options.pacing();
    let length = options.duration.or(shape.as_ref().and_then(Shape::length));
    // Held streams: one call each.
    let total = options.held.streams.map(|n| n as u64).or(options.total);
    // Ctrl-C: calls in flight are given up (a stalled server would hold them for ever).
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let stages = shape.as_ref().map(Shape::stages).unwrap_or_default();
    let sinks = options.sinks(&crate::client::wire::invoke::path(&method))?;
    let start = Instant::now();
    let plan = Arc::new(Plan {
        method: method.clone(),
        requests: requests.clone(),
        start,
        held: options.held.hold.map(|d| start + d),
        shape,
        templates,
        duration_stop: options.duration_stop,
        stream_call_duration: options
            .pacing
            .stream_call_duration
            .filter(|_| !method.is_client_streaming() && method.is_server_streaming()),
        counters: Arc::new(Counters::new(
            (total, options.warmup),
            (start, length),
            workers,
            || Tally {
                details: (!sinks.is_empty()).then(Vec::new),
                ..Tally::for_method(&method, &stages)
            },
        )),
    });
    let live =
        live::Live::start(plan.counters.clone(), (options.total, length), "requests").with(sinks);
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let caller = if !webs.is_empty() {
            let client = webs[worker % webs.len()].clone();
            let held = plan.held.is_some();
            setup.web_worker(client, conn, &method, &requests, held)?
        } else {
            let link = channels[worker % channels.len()].clone();
            setup.worker(link, conn, &method, &requests, plan.held.is_some())
        };
        tasks.push(tokio::spawn(work(
            plan.clone(),
            worker,
            caller,
            cancelled.clone(),
        )));
    }
    let counters = &plan.counters;
    let wall = join(tasks, counters, cancel, start, &live).await;
    let seconds = live.finish()?;
    let wall = wall?;
    if let Some(shape) = plan.shape.as_ref().filter(|s| s.is_open()) {
        note_unsent(shape, counters, wall, workers);
    }
    let mut tally = merged(Tally::new(), &counters.shards);
    tally.seconds = seconds;
    let mut report = Report::new(crate::client::wire::invoke::path(&method), &tally, wall);
    report.labels = options.labels();
    report.print(&tally, options.report.output)
}

/// The method and the requests of a run (inline, a file, `--data-file`, random), checked
/// against what the run asks of the method. The requests are known before the method is
/// resolved: the schema is built as far as they go, not every type a request could reach (a
/// big schema's whole closure was most of a run's start).
async fn load_requests(
    schema: &mut crate::client::schema::Schema,
    method: &str,
    data: Option<String>,
    options: &BenchOptions,
) -> anyhow::Result<(MethodDescriptor, Requests)> {
    let text = match options.data.data_file {
        Some(_) => String::new(),
        None => input::Data::parse(data.as_deref()).read_text()?,
    };
    let texts = data::texts(text, options.data.data_file.as_deref())?;
    schema.lazy_request();
    let method = schema.resolve_method(method).await?;
    let stand_ins = data::stand_ins(&texts, &method);
    let method = schema.expand_request(method, &stand_ins).await?;
    let requests = Requests::load(
        &method,
        &texts,
        options.data.data_file.as_deref(),
        options.data.random,
        options.pacing.stream_messages,
    )?;
    if options.held.streams.is_some() && !method.is_server_streaming() {
        bail!(crate::sys::error::Hint::new(
            format!(
                "--streams holds streams open; {} is not a server-streaming or bidi method",
                method.full_name()
            ),
            "use -c for concurrent calls of unary and client-streaming methods",
        ));
    }
    Ok((method, requests))
}

/// The `-H` metadata whose values hold placeholders (`x-id: {{uuid}}`), checked once.
fn metadata_templates(
    metadata: &tonic::metadata::MetadataMap,
    method: &MethodDescriptor,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut templates = Vec::new();
    for kv in metadata.iter() {
        if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = kv {
            let Ok(text) = value.to_str() else { continue };
            if data::fill(text, 0, 0, method)? != text {
                templates.push((key.as_str().to_string(), text.to_string()));
            }
        }
    }
    Ok(templates)
}

/// An open loop sends when requests are due only while a worker is free: what was due and not
/// sent is said.
fn note_unsent(shape: &Shape, counters: &Counters, wall: Duration, workers: usize) {
    let due = shape.due_within(wall).min(counters.total);
    let sent = counters.next.load(Ordering::Relaxed).min(counters.total);
    if due > sent + sent / 100 + 1 {
        eprintln!(
            "rpcsh: note: {} of the {due} requests due were not sent: all {workers} workers were busy (raise -c)",
            due - sent
        );
    }
}

/// The connections a run's workers share: gRPC links, or the Connect and gRPC-Web clients
/// (the session's first, then more).
async fn links(
    session: &crate::session::connection::Session,
    conn: &Connection,
    target: &Target,
    method: &MethodDescriptor,
    connections: usize,
) -> anyhow::Result<(Vec<Lane>, Vec<Arc<crate::client::net::web::Client>>)> {
    let (mut channels, mut webs) = (Vec::new(), Vec::new());
    match &session.link {
        Some(crate::client::net::link::Link::Web(first)) => {
            if let Some(refused) = first.refuses(method) {
                return Err(refused);
            }
            webs.push(first.clone());
            for _ in 1..connections {
                if let crate::client::net::link::Link::Web(client) = conn.link(target).await? {
                    webs.push(client);
                }
            }
        }
        _ => {
            for _ in 0..connections {
                channels.push(Lane::open(target, conn).await?);
            }
        }
    }
    Ok((channels, webs))
}

/// What every gRPC worker sends: the origin and path of the method, and the headers tonic
/// would send (the call's metadata, `-H`, and gRPC's own).
struct GrpcSetup {
    origin: http::Uri,
    uri: http::Uri,
    path: http::uri::PathAndQuery,
    headers: http::HeaderMap,
    metadata: tonic::metadata::MetadataMap,
    timeout: Option<Duration>,
    pacing: stream::Pacing,
}

impl GrpcSetup {
    fn new(
        conn: &Connection,
        target: &Target,
        method: &MethodDescriptor,
        metadata: &tonic::metadata::MetadataMap,
        timeout: Option<Duration>,
    ) -> anyhow::Result<GrpcSetup> {
        // The :authority the connection uses (a unix socket's is localhost, as tonic sends it).
        let authority = conn
            .transport
            .authority
            .clone()
            .unwrap_or_else(|| match target.unix {
                true => "localhost".to_string(),
                false => target.address.clone(),
            });
        let origin: http::Uri = format!("http://{authority}")
            .parse()
            .with_context(|| format!("invalid authority {authority:?}"))?;
        let uri: http::Uri = format!(
            "http://{authority}{}",
            crate::client::wire::invoke::path(method)
        )
        .parse()
        .context("invalid method path")?;
        let mut headers = metadata.clone().into_headers();
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/grpc"),
        );
        headers.insert("te", http::HeaderValue::from_static("trailers"));
        if let Some(t) = timeout {
            let value = format!("{}m", t.as_millis().max(1));
            headers.insert("grpc-timeout", value.parse().context("invalid --timeout")?);
        }
        let path = http::uri::PathAndQuery::try_from(crate::client::wire::invoke::path(method))
            .context("invalid method path")?;
        Ok(GrpcSetup {
            origin,
            uri,
            path,
            headers,
            metadata: metadata.clone(),
            timeout,
            pacing: stream::Pacing::default(),
        })
    }

    /// A Connect or gRPC-Web worker's caller on `client`.
    fn web_worker(
        &self,
        client: Arc<crate::client::net::web::Client>,
        conn: &Connection,
        method: &MethodDescriptor,
        requests: &Requests,
        open: bool,
    ) -> anyhow::Result<Worker> {
        let options = crate::client::wire::invoke::CallOptions {
            metadata: self.metadata.clone(),
            timeout: self.timeout,
            max_message_size: conn.max_message_size,
            compress: conn.compress,
        };
        let fixed = match requests.fixed() {
            Some(m) => Some(decode_all(method, m)?),
            None => None,
        };
        Ok(Worker::Web(Box::new(WebCaller {
            client,
            method: method.clone(),
            options,
            fixed,
            open,
            pacing: self.pacing,
        })))
    }

    /// A gRPC worker's caller on `link`.
    fn worker(
        &self,
        link: Lane,
        conn: &Connection,
        method: &MethodDescriptor,
        requests: &Requests,
        open: bool,
    ) -> Worker {
        let mut grpc = Grpc::with_origin(
            crate::client::wire::sanitize::Sanitize(link.clone()),
            self.origin.clone(),
        );
        if let Some(limit) = conn.max_message_size {
            grpc = grpc
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit);
        }
        for encoding in crate::client::wire::invoke::ACCEPTED_ENCODINGS {
            grpc = grpc.accept_compressed(encoding);
        }
        if let Some(c) = conn.compress {
            grpc = grpc.send_compressed(c.encoding());
        }
        let unary = !method.is_client_streaming() && !method.is_server_streaming();
        Worker::Grpc(Box::new(Caller {
            grpc,
            link,
            uri: self.uri.clone(),
            path: self.path.clone(),
            headers: self.headers.clone(),
            metadata: self.metadata.clone(),
            unary,
            bidi: method.is_client_streaming() && method.is_server_streaming(),
            open,
            raw: unary && conn.compress.is_none(),
            timeout: self.timeout,
            pacing: self.pacing,
            fixed: requests
                .fixed()
                .and_then(|m| m.first())
                .map(|m| crate::client::wire::codec::envelope(0, m)),
        }))
    }
}

/// Waits for the workers, or on Ctrl-C stops them (`counters.stop`, `cancel`) and waits for them
/// to give up. The wall time of the run.
/// `step` of a run's set-up (connecting, reflection), unless Ctrl-C or SIGTERM comes first:
/// then the process ends at once with the signal's code, as other commands do (the run's own
/// handling, which reports what was measured, starts with the load).
pub(super) async fn setting_up<T>(step: impl std::future::Future<Output = T>) -> T {
    tokio::select! {
        done = step => done,
        code = crate::sys::signals::interrupted(true) => std::process::exit(code.into()),
    }
}

async fn join(
    tasks: Vec<tokio::task::JoinHandle<()>>,
    counters: &Counters,
    cancel: tokio::sync::watch::Sender<bool>,
    start: Instant,
    live: &live::Live,
) -> anyhow::Result<Duration> {
    let all = futures_util::future::join_all(tasks);
    tokio::pin!(all);
    let results = tokio::select! {
        r = &mut all => r,
        _ = tokio::signal::ctrl_c() => {
            counters.stop.store(true, Ordering::Relaxed);
            let _ = cancel.send(true);
            live.say("rpcsh: bench stopped: reporting what was measured so far (Ctrl-C again quits)");
            tokio::select! {
                r = &mut all => r,
                _ = tokio::signal::ctrl_c() => std::process::exit(130),
            }
        }
    };
    let wall = start.elapsed();
    for r in results {
        r.context("a bench worker failed")?;
    }
    Ok(wall)
}

/// `into` with every shard's tally merged in.
fn merged(mut into: Tally, shards: &[Mutex<Tally>]) -> Tally {
    for shard in shards {
        let mut shard = shard.lock().expect("tally");
        into.merge(std::mem::replace(&mut *shard, Tally::new()));
    }
    into
}

/// One worker's calls until the run ends: each when the shape says, timed from then.
async fn work(
    plan: Arc<Plan>,
    worker: usize,
    mut caller: Worker,
    mut cancelled: tokio::sync::watch::Receiver<bool>,
) {
    let shard = plan.counters.shard(worker);
    let open = plan.shape.as_ref().filter(|s| s.is_open());
    loop {
        // Closed-loop steps: a worker waits for its first step and stops after its last.
        if let Some(shape) = plan.shape.as_ref().filter(|s| !s.is_open()) {
            let now = plan.start.elapsed();
            match shape.runs_from(worker, now) {
                None => break,
                Some(at) if at > now => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(plan.start + at) => continue,
                        _ = cancelled.wait_for(|c| *c) => break,
                    }
                }
                Some(_) => {}
            }
        }
        let Some(i) = plan.counters.take() else {
            break;
        };
        // Open loop: request i is due when the shape has sent i requests, and its latency counts
        // from then: a slow server shows as latency, not as fewer requests.
        let due = match open {
            Some(shape) => {
                let Some(at) = shape.due(i) else { break };
                let due = plan.start + at;
                // Not sent when due after the run's end (-z): a worker takes its number early.
                if plan.counters.end.is_some_and(|end| due >= end) {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => due,
                    _ = cancelled.wait_for(|c| *c) => break,
                }
            }
            None => Instant::now(),
        };
        let measured = i >= plan.counters.warmup;
        let clock = measured.then_some(shard);
        let headers = set_metadata(&plan, &mut caller, i, worker);
        let call = async {
            headers?;
            match plan.requests.fixed() {
                Some(messages) => caller.call(messages, clock).await,
                None => match plan.requests.render(&plan.method, i, worker) {
                    Ok(messages) => caller.call(&messages, clock).await,
                    Err(e) => Err(Status::invalid_argument(format!("{e:#}"))),
                },
            }
        };
        let outcome = tokio::select! {
            outcome = call => outcome,
            cut = cut_short(&plan) => match cut {
                Some(outcome) => outcome,
                None => break,
            },
            // A held stream stopped early was still held.
            _ = cancelled.wait_for(|c| *c) => match plan.held {
                Some(_) => Ok(0),
                None => break,
            },
        };
        if !measured {
            continue;
        }
        record(&plan, shard, due, outcome);
    }
}

/// What ends a call before it ends itself: a held stream's hold or a server stream's
/// `--stream-call-duration` (OK), or the end of -z with `--duration-stop close` (Cancelled) or
/// `ignore` (None: not counted).
async fn cut_short(plan: &Plan) -> Option<Result<u64, Status>> {
    let hold = async {
        match (plan.held, plan.stream_call_duration) {
            (Some(at), _) => tokio::time::sleep_until(at).await,
            (None, Some(d)) => tokio::time::sleep(d).await,
            (None, None) => std::future::pending().await,
        }
    };
    let end = async {
        match (plan.duration_stop, plan.counters.end) {
            (DurationStop::Wait, _) | (_, None) => std::future::pending().await,
            (_, Some(end)) => tokio::time::sleep_until(end).await,
        }
    };
    tokio::select! {
        _ = hold => Some(Ok(0)),
        _ = end => match plan.duration_stop {
            DurationStop::Ignore => None,
            _ => Some(Err(Status::cancelled("in flight when the run's duration ended"))),
        },
    }
}

/// The worker's `-H` templates filled for call `i`.
fn set_metadata(plan: &Plan, caller: &mut Worker, i: u64, worker: usize) -> Result<(), Status> {
    for (key, template) in &plan.templates {
        let value = data::fill(template, i, worker, &plan.method)
            .map_err(|e| Status::invalid_argument(format!("{e:#}")))?;
        caller.set_metadata(key, &value)?;
    }
    Ok(())
}

/// A measured call in its worker's shard: its latency from when it was due, and the stages of
/// the load shape it was due in and ended in.
fn record(plan: &Plan, shard: &Mutex<Tally>, due: Instant, outcome: Result<u64, Status>) {
    plan.counters.done.fetch_add(1, Ordering::Relaxed);
    let elapsed = due.elapsed();
    let second = plan.counters.second();
    let stages = match &plan.shape {
        Some(shape) => (
            shape.stage_at(due - plan.start),
            shape.stage_at(plan.start.elapsed()),
            second,
        ),
        None => (None, None, second),
    };
    shard
        .lock()
        .expect("tally")
        .record(elapsed, stages, outcome);
}

/// The workers and connections of a load: `-c` workers (or one per held stream, or the most a
/// step runs) over `--connections`, by default one connection per 5 workers — HTTP/2
/// serializes each connection's writes, and 50 workers on one connection reach 0.74x of
/// h2load's 50 connections — and one per 100 held streams (the most concurrent streams many
/// servers allow a connection).
fn spread(options: &BenchOptions, shape: Option<&Shape>) -> (usize, usize) {
    let (workers, per_connection) = match (options.held.streams, shape.and_then(Shape::workers)) {
        (Some(n), _) => (n.max(1), 100),
        (None, Some(n)) => (n, 5),
        (None, None) => (options.concurrency.max(1), 5),
    };
    let connections = options
        .connections
        .unwrap_or_else(|| workers.div_ceil(per_connection));
    (workers, connections.clamp(1, workers))
}
