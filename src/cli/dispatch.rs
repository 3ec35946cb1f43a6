//! The table of commands: what running each needs (the config file, a server's runtime and
//! logs, signals of its own) and the code each runs, with the settings its flags give.
use super::serving::{demo, serve};
use super::{man, tools, CallArgs, Cli, ConfigAction, ConnArgs, RecordArgs, Subcommand};
use crate::client::input::{Data, ParseOptions};
use crate::commands::{self, OutputOptions};
use crate::session::config::Config;
use crate::session::connection::Connection;
use anyhow::Context;
use std::{sync::Arc, time::Duration};

/// What running a command needs.
pub(super) struct Needs {
    /// The config file (read before anything runs; a broken one stops the command).
    pub config: bool,
    /// A multi-threaded runtime and the libraries' logs: a server or a load.
    pub serving: bool,
    /// Its own handling of Ctrl-C and SIGTERM.
    pub own_signals: bool,
}

impl Subcommand {
    pub(super) fn needs(&self) -> Needs {
        let needs = |config, serving, own_signals| Needs {
            config,
            serving,
            own_signals,
        };
        match self {
            Subcommand::Serve(_) | Subcommand::Demo(_) => needs(false, true, true),
            Subcommand::Proxy { .. } | Subcommand::Bench { .. } => needs(true, true, true),
            Subcommand::Connect { .. } => needs(true, false, true),
            Subcommand::Ui { .. } => needs(true, true, true),
            Subcommand::Completions { .. }
            | Subcommand::Man { .. }
            | Subcommand::Grpcurl { .. }
            | Subcommand::Config {
                action: ConfigAction::Path,
            } => needs(false, false, false),
            _ => needs(true, false, false),
        }
    }
}

/// Runs `command`: its exit code, or the error the caller reports.
pub(super) async fn dispatch(
    command: Subcommand,
    verbose: u8,
    config: Arc<Config>,
) -> anyhow::Result<u8> {
    let done = |r: anyhow::Result<()>| r.map(|()| 0u8);
    match command {
        Subcommand::Serve(args) => done(serve(args).await),
        Subcommand::Demo(args) => demo(args).await,
        Subcommand::Proxy {
            listen,
            to,
            format,
            record,
            tls_cert,
            tls_key,
            mut conn,
        } => {
            conn.addr = Some(to);
            let options = crate::serve::relay::RelayOptions {
                jsonl: format == "jsonl",
                record: record.spec(),
                tls: tls_cert.zip(tls_key),
            };
            done(
                crate::serve::relay::run(&listen, conn.connection(verbose, &config), options).await,
            )
        }
        Subcommand::Connect {
            address,
            mut conn,
            no_history,
            record,
        } => {
            conn.addr = address.or(conn.addr);
            shell(conn.connection(verbose, &config), no_history, record).await
        }
        Subcommand::Ui {
            address,
            page,
            mut conn,
        } => {
            conn.addr = address.or(conn.addr);
            done(ui(conn, page, verbose, &config).await)
        }
        Subcommand::Run {
            files,
            conn,
            keep_going,
            junit,
        } => {
            let options = crate::lang::script::RunOptions {
                keep_going,
                junit,
                addr_given: conn.addr.is_some(),
            };
            let scripts = read_scripts(files)?;
            crate::lang::script::run(scripts, conn.connection(verbose, &config), options).await
        }
        Subcommand::Bench {
            method,
            data,
            data_flag,
            reports,
            conn,
            options,
        } => {
            let inputs = data_flag.or(data).into_iter().chain(reports).collect();
            let connection = conn.connection(verbose, &config);
            let addr_given = conn.addr.is_some();
            done(crate::bench::command(&connection, addr_given, method, inputs, *options).await)
        }
        Subcommand::Grpcurl { args } => Ok(crate::cli::grpcurl::run("rpcsh grpcurl", args).await),
        other => one_shot(other, verbose, config).await,
    }
}

/// `rpcsh ui`: with no server named (nor in the config file), the page asks for one.
async fn ui(
    conn: ConnArgs,
    page: super::UiArgs,
    verbose: u8,
    config: &Arc<Config>,
) -> anyhow::Result<()> {
    let ask_address = conn.addr.is_none() && config.address.is_none();
    let options = crate::ui::UiOptions {
        ask_address,
        ..page.page.options(&page.listen)
    };
    crate::ui::run(conn.connection(verbose, config), options).await
}

/// The one-shot commands: a call, a look at the schema, a file made.
async fn one_shot(command: Subcommand, verbose: u8, config: Arc<Config>) -> anyhow::Result<u8> {
    let done = |r: anyhow::Result<()>| r.map(|()| 0u8);
    // A command's connection and deadline: its --timeout, else its server's in the config.
    let deadline = |conn: &ConnArgs, timeout: Option<Duration>| {
        let conn = conn.connection(verbose, &config);
        let timeout = timeout.or_else(|| config.timeout_for(&conn.addr));
        (conn, timeout)
    };
    match command {
        Subcommand::Call(args) => {
            let (conn, timeout) = deadline(&args.conn, args.timeout);
            done(call(args, &conn, timeout, &config).await)
        }
        Subcommand::List {
            service,
            timeout,
            export,
            conn,
        } => {
            let (conn, timeout) = deadline(&conn, timeout);
            let listing = async {
                commands::list(&conn, service.as_deref()).await?;
                export.write(&conn, &Vec::from_iter(service)).await
            };
            done(commands::within(timeout, "list", listing).await)
        }
        Subcommand::Describe(args) => {
            let (conn, timeout) = deadline(&args.conn, args.timeout);
            done(commands::within(timeout, "describe", tools::describe(&conn, args)).await)
        }
        Subcommand::Template {
            symbol,
            timeout,
            conn,
        } => {
            let (conn, timeout) = deadline(&conn, timeout);
            let templating = commands::template(&conn, &symbol);
            done(commands::within(timeout, "template", templating).await)
        }
        Subcommand::Health {
            service,
            timeout,
            conn,
        } => {
            let (conn, timeout) = deadline(&conn, timeout);
            done(commands::health(&conn, service.as_deref(), timeout).await)
        }
        Subcommand::Check(args) => tools::check(args, verbose, &config).await,
        Subcommand::Encode(args) => tools::encode(args, verbose, &config).await,
        Subcommand::Decode(args) => tools::decode(args, verbose, &config).await,
        Subcommand::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "rpcsh", &mut std::io::stdout());
            Ok(0)
        }
        Subcommand::Man { command } => done(man::page(command.as_deref())),
        Subcommand::Config { action } => done(config_command(action, verbose, &config)),
        // `dispatch` runs the servers, the shell, scripts, bench and grpcurl itself.
        other => anyhow::bail!("not a one-shot command: {other:?}"),
    }
}

/// `rpcsh connect`: the shell on `conn`.
async fn shell(conn: Connection, no_history: bool, record: RecordArgs) -> anyhow::Result<u8> {
    let record = record.spec();
    crate::repl::run(conn, crate::repl::ReplOptions { no_history, record }).await
}

/// The scripts `rpcsh run` was given, by name (`-` is stdin).
fn read_scripts(files: Vec<String>) -> anyhow::Result<Vec<(String, String)>> {
    files
        .into_iter()
        .map(|f| {
            let text = if f == "-" {
                std::io::read_to_string(std::io::stdin())
                    .context("cannot read the script from stdin")?
            } else {
                std::fs::read_to_string(&f).with_context(|| format!("cannot read script {f}"))?
            };
            Ok((f, text))
        })
        .collect()
}

/// `rpcsh call`, its schema written out first when asked.
async fn call(
    args: CallArgs,
    conn: &Connection,
    timeout: Option<Duration>,
    config: &Config,
) -> anyhow::Result<()> {
    let parse = ParseOptions {
        allow_unknown_fields: args.allow_unknown_fields,
        format: args.data_format,
    };
    let output = OutputOptions {
        format: args.format.or(config.format),
        emit_defaults: args.emit_defaults,
        proto_names: args.proto_names,
        save_bytes: args.save_bytes,
        format_error: args.format_error,
        envelope: args.envelope,
    };
    let data = Data::parse(args.data_flag.or(args.data).as_deref());
    args.export
        .write(conn, std::slice::from_ref(&args.method))
        .await?;
    commands::call(conn, &args.method, data, parse, output, timeout).await
}

/// `rpcsh config show|path`.
fn config_command(action: ConfigAction, verbose: u8, config: &Arc<Config>) -> anyhow::Result<()> {
    match action {
        ConfigAction::Show { conn } => {
            print!("{}", conn.connection(verbose, config).effective_config());
        }
        ConfigAction::Path => {
            let path = Config::default_path()
                .context("no config path: neither XDG_CONFIG_HOME nor HOME is set")?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
