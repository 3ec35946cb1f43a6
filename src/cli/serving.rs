//! The servers of the command line: `rpcsh serve` and `rpcsh demo` (the demo services started,
//! then the shell on them), and the log the servers write.
use super::{DemoArgs, ServeArgs};
use crate::serve::demo::{DemoConfig, DemoService};
use crate::serve::server::{self, Bound, ServeOptions, TlsFiles};
use crate::session::connection::Connection;
use anyhow::Context;

pub(super) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let services = if args.services.is_empty() {
        DemoService::ALL.to_vec()
    } else {
        args.services
            .iter()
            .map(|s| DemoService::parse(s))
            .collect::<anyhow::Result<_>>()?
    };
    let client_ca = args.tls_client_ca;
    let tls = args.tls_cert.zip(args.tls_key).map(|(cert, key)| TlsFiles {
        cert,
        key,
        client_ca,
    });
    let options = args.demo.serve_options(tls);
    if !args.mock.files.is_empty() {
        return crate::serve::mock::serve(args.mock, &args.listen, options, shutdown_signal())
            .await;
    }
    let config = args.demo.config(services)?;
    let (addr, server) = start(&args.listen, config, options, shutdown_signal()).await?;
    println!("listening on {addr}");
    if let Some(every) = args.stats.filter(|d| !d.is_zero()) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                eprintln!("stats: {}", crate::sys::stats::Stats::now());
            }
        });
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.await.context("server task failed")?
}

pub(super) async fn demo(args: DemoArgs) -> anyhow::Result<u8> {
    use std::io::IsTerminal;
    let config = args.demo.config(DemoService::ALL.to_vec())?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = async move {
        let _ = stop_rx.await;
    };
    let options = args.demo.serve_options(None);
    let (addr, server) = start(&args.listen, config, options, stop).await?;
    println!("listening on {addr}");
    if std::io::stdin().is_terminal() && !args.ui {
        let names: Vec<_> = DemoService::ALL.iter().map(|s| s.full_name()).collect();
        println!("demo services: {}", names.join(", "));
        println!("`help` lists the commands; from another terminal: rpcsh connect {addr}");
        super::tools::note_if_not_on_path();
    }
    let conn = Connection {
        addr,
        ..Connection::default()
    };
    if args.ui {
        let served = crate::ui::run(conn, args.page.options(&args.ui_listen)).await;
        let _ = stop_tx.send(());
        server.await.context("server task failed")??;
        return served.map(|()| 0);
    }
    let code = crate::repl::run(
        conn,
        crate::repl::ReplOptions {
            record: None,
            no_history: args.no_history,
        },
    )
    .await;
    let _ = stop_tx.send(());
    server.await.context("server task failed")??;
    code
}

/// Binds and serves the demo services in the background until `stop` completes; returns the
/// real address and the server's task. TLS problems are reported here, before anyone is told
/// the address.
async fn start(
    listen: &str,
    config: DemoConfig,
    options: ServeOptions,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(String, tokio::task::JoinHandle<anyhow::Result<()>>)> {
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let routes = crate::serve::demo::routes(config, shutdown_rx).await?;
    let bound = Bound::bind(listen).await?;
    let addr = bound.address();
    let signal = async move {
        stop.await;
        let _ = shutdown_tx.send(true);
    };
    let mut served = Box::pin(server::serve(bound, routes, options, signal));
    tokio::select! {
        biased;
        result = &mut served => {
            result?;
            anyhow::bail!("the server stopped as soon as it started");
        }
        () = tokio::task::yield_now() => {}
    }
    Ok((addr, tokio::spawn(served)))
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

pub(super) fn init_logging(verbose: bool) {
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
