//! Command-line definitions (clap) and the dispatch from a parsed command to the code that runs it.
use crate::demo::{route_guide::FeatureDb, DemoConfig, DemoService};
use crate::server::{self, Bound, ServeOptions, TlsFiles};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

#[derive(Debug, Parser)]
#[command(
    name = "rpcsh",
    version,
    about = "A gRPC shell: call any gRPC server from the command line or a REPL"
)]
#[command(arg_required_else_help = true)]
pub struct Cli {
    /// Log more: each call the server handles, with status and duration.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Host the demo services (Greeter, RouteGuide, compute.Compute, Cal, Contact) with reflection and health.
    #[command(
        after_help = "Examples:\n  rpcsh serve\n  rpcsh serve greeter routeguide --listen 127.0.0.1:0\n  rpcsh serve --listen unix:/tmp/rpcsh.sock"
    )]
    Serve(ServeArgs),
    /// Start every demo service on a free loopback port and show how to call it.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoServiceArgs {
    /// Feature database for RouteGuide (the seed's JSON format); the seed's 100 features by default.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// How often Contact pushes a batch of generated tasks to getTask subscribers; 0 disables it.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub task_interval: Duration,
    /// How long in-flight calls may run on after Ctrl-C or SIGTERM.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub grace: Duration,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Services to host (greeter, routeguide, compute, cal, contact); all of them when none is named.
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Address to listen on: HOST:PORT (port 0 picks a free port) or unix:PATH.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    pub listen: String,
    /// Serve TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub demo: DemoServiceArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on; a free loopback port by default.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    #[command(flatten)]
    pub demo: DemoServiceArgs,
}

/// Accepts `0` and humantime durations such as `500ms`, `10s`, `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text.trim()).map_err(|e| format!("{e} (examples: 500ms, 10s, 1m)"))
}

impl DemoServiceArgs {
    fn config(&self, services: Vec<DemoService>) -> anyhow::Result<DemoConfig> {
        let mut config = DemoConfig {
            services,
            task_interval: self.task_interval,
            ..DemoConfig::default()
        };
        if let Some(path) = &self.db {
            config.db = Arc::new(FeatureDb::load(path)?);
        }
        Ok(config)
    }
}

/// Runs a parsed command line; errors are reported by the caller.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logging(cli.verbose);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Demo(args) => demo(args).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let services = if args.services.is_empty() {
        DemoService::ALL.to_vec()
    } else {
        args.services
            .iter()
            .map(|s| DemoService::parse(s))
            .collect::<anyhow::Result<_>>()?
    };
    let tls = args
        .tls_cert
        .zip(args.tls_key)
        .map(|(cert, key)| TlsFiles { cert, key });
    host(
        &args.listen,
        args.demo.config(services)?,
        tls,
        args.demo.grace,
        |_| {},
    )
    .await
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let config = args.demo.config(DemoService::ALL.to_vec())?;
    host(&args.listen, config, None, args.demo.grace, |addr| {
        let names: Vec<_> = DemoService::ALL.iter().map(|s| s.full_name()).collect();
        println!("demo services: {}", names.join(", "));
        println!("with server reflection (v1, v1alpha) and grpc.health.v1.Health. Try, from another terminal:");
        println!("  grpcurl -plaintext {addr} list");
        println!("  grpcurl -plaintext -d '{{\"name\": \"you\"}}' {addr} Greeter/SayHello");
        println!(
            "  grpcurl -plaintext -d '{{\"latitude\": 409146138, \"longitude\": -746188906}}' {addr} RouteGuide/GetFeature"
        );
        println!("Ctrl-C stops the servers.");
    })
    .await
}

/// Binds, prints `listening on ADDR` (the one line scripts wait for), then serves until Ctrl-C or
/// SIGTERM. `ready` prints anything more the command wants to say once the address is known.
async fn host(
    listen: &str,
    config: DemoConfig,
    tls: Option<TlsFiles>,
    grace: Duration,
    ready: impl FnOnce(&str),
) -> anyhow::Result<()> {
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let routes = crate::demo::routes(config, shutdown_rx).await?;
    let bound = Bound::bind(listen).await?;
    let addr = bound.address();
    let signal = async move {
        shutdown_signal().await;
        let _ = shutdown_tx.send(true);
    };
    let options = ServeOptions { tls, grace };
    // TLS problems surface from `serve` before anything is printed: check them first so that
    // `listening on` is never printed for a server that then fails to start.
    let served = server::serve(bound, routes, options, signal);
    let mut served = std::pin::pin!(served);
    tokio::select! {
        biased;
        result = &mut served => return result,
        () = tokio::task::yield_now() => {}
    }
    println!("listening on {addr}");
    ready(&addr);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    served.await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn init_logging(verbose: bool) {
    use std::io::IsTerminal;
    let default = if verbose { "rpcsh=info" } else { "rpcsh=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RPCSH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}
