//! Command-line definitions (clap) and the dispatch from a parsed command to the code that runs it.
mod address;
mod dispatch;
pub mod grpcurl;
mod man;
pub mod options_file;
mod serving;
mod tools;

pub use address::first_as_addr;
use serving::init_logging;

use crate::client::net::transport::TransportOptions;
use crate::client::net::web::{Codec, Protocol};
use crate::client::output::format::Verbose;
use crate::client::wire::invoke::Compression;
use crate::serve::demo::{route_guide::FeatureDb, DemoConfig, DemoService};
use crate::serve::server::{ServeOptions, TlsFiles};
use crate::session::config::{Config, DEFAULT_ADDRESS};
use crate::session::connection::{Connection, SchemaSettings};
use crate::session::credentials::Credentials;
use crate::sys::style::ColorChoice;
use crate::sys::util::parse_duration;
use anyhow::Context;
use clap::{Args, Parser};
use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

#[derive(Debug, Parser)]
#[command(
    name = "rpcsh",
    version,
    about = "A gRPC shell: call any gRPC server from the command line or a REPL"
)]
#[command(arg_required_else_help = true)]
pub struct Cli {
    /// Say more: headers, trailers and timings of a call; each call a server handles (-vv: the size of each message too).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colours: auto (a terminal without NO_COLOR), always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    #[command(subcommand)]
    pub command: Subcommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Open the interactive shell on a server: rpcsh connect localhost:50051
    #[command(
        after_help = "In the shell, `help` lists the commands. With stdin not a terminal, commands are read\nline by line (no prompt), and the exit status is 1 if any failed.\n\nExamples:\n  rpcsh connect localhost:50051\n  rpcsh connect unix:/tmp/rpcsh.sock\n  rpcsh connect localhost:50051 < session.txt"
    )]
    Connect {
        /// The server's address (or --addr, or RPCSH_ADDR).
        #[arg(value_name = "ADDR")]
        address: Option<String>,
        /// Keep no history file.
        #[arg(long)]
        no_history: bool,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Explore a server in a browser: its services, a form per method, calls of every style.
    #[command(
        after_help = "The page is served from rpcsh itself on loopback; the address printed carries the run's\ntoken. Examples:\n  rpcsh ui localhost:50051\n  rpcsh ui --no-browser prod          # a config alias\n  rpcsh demo --ui"
    )]
    Ui {
        /// The server's address (or --addr, or RPCSH_ADDR).
        #[arg(value_name = "ADDR")]
        address: Option<String>,
        #[command(flatten)]
        page: UiArgs,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Run scripts of shell commands with expectations: rpcsh run smoke.rpcsh --addr localhost:50051
    #[command(
        after_help = "A script is what you would type in the shell, plus:\n  expect JSON | expect exact JSON | expect [JSON, ...] | expect count N\n  expect error CODE [\"text\"] | expect within 2s JSON (a watch's messages)\n  let NAME = $.path ... ${NAME}, ${env:VAR} | sleep 500ms\nStream calls take one JSON message per line, then `end`. The whole script is checked before\nanything is sent.\n\nExit status: 0 all passed, 1 a failure, 2 a syntax error, 3 cannot connect.\n\nExamples:\n  rpcsh run examples/scripts/route_guide.rpcsh --addr localhost:50051\n  rpcsh run a.rpcsh b.rpcsh --keep-going --junit report.xml\n  echo 'Greeter/SayHello {}' | rpcsh run -"
    )]
    Run {
        /// Script files; - reads one from stdin.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Go on after a failed expectation instead of stopping at the first.
        #[arg(long)]
        keep_going: bool,
        /// Write a JUnit XML report (one testcase per expect).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Load-test a method: rpcsh bench Greeter/SayHello '{"name": "x"}' -n 10000 -c 50
    #[command(
        after_help = "DATA (or each line of --data-file, or a -H value) may vary per request with {{request}} (the request number; also written with n), {{worker}}, {{uuid}}, {{now}}, {{unix}}, {{unix_ms}}, {{unix_ns}}, {{random A B}}, {{random_string N}}, {{method}}, {{service}}, and ghz's spellings ({{.UUID}}, {{randomString 8}}, ...).\nStreaming methods: a JSON array is the stream, or one message sent --stream-messages times; streams add time to first message, gaps between messages and (bidi) each answer's latency from its send.\nCtrl-C stops the load and prints the report so far.\n\nExamples:\n  rpcsh bench Greeter/SayHello '{\"name\": \"x\"}' -n 10000 -c 50\n  rpcsh bench Cal/Add '{\"number1\": {{request}}, \"number2\": 1}' -z 10s --rps 2000\n  rpcsh bench RouteGuide/RecordRoute '[{\"latitude\": 1}, {\"latitude\": 2}]' -n 1000 --output json\n  rpcsh bench Testing/Generate '{\"count\": 100000, \"interval\": \"0.1s\"}' --streams 500 --hold 30s\n  rpcsh bench Greeter/SayHello '{\"name\": \"{{uuid}}\"}' --rps-steps 100,500,1000/10s\n  rpcsh bench Cal/Add --data-file adds.jsonl --ramp 100..2000/30s\n  rpcsh bench --script login-then-browse.rpcsh -c 20 -z 30s\n\nOn a terminal the figures of the last second and of the run so far are shown as it goes. --output html writes one page with the report's plots (requests/s, latency and errors over time, the histogram, percentiles, stages, steps, stream metrics).\n  rpcsh bench Greeter/SayHello '{\"name\": \"x\"}' -z 30s --output html > run.html\n\nrpcsh bench merge REPORT... merges the JSON reports of runs made at the same time (on N machines): counts added, percentiles from their merged latency histograms.\n  rpcsh bench merge run-0.json run-1.json run-2.json\nrpcsh bench report REPORT... shows saved JSON reports again; with --output html, side by side on one page.\n  rpcsh bench report before.json after.json --output html > compare.html\n\n--options FILE takes a run's options from a TOML file: keys are the long flags (total = 10000, rps_steps = \"100,500/10s\"), method, data (a table is JSON), metadata and tags (tables); flags on the command line win.\n  rpcsh bench --options run.toml -z 1m",
        args_override_self = true
    )]
    Bench {
        /// The method, as `call` takes it (none with --script).
        method: Option<String>,
        /// Request JSON (inline or @FILE); placeholders ({{request}}, {{uuid}}, ...) vary it per request.
        data: Option<String>,
        /// The request as grpcurl takes it, instead of DATA: JSON or @FILE.
        #[arg(short = 'd', long = "data", value_name = "DATA",
              conflicts_with_all = ["data", "data_file", "script"])]
        data_flag: Option<String>,
        /// `rpcsh bench merge|report REPORT...`: the JSON reports after the first (which is DATA).
        #[arg(hide = true)]
        reports: Vec<String>,
        #[command(flatten)]
        options: Box<crate::bench::BenchOptions>,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Call a method: rpcsh call RouteGuide/GetFeature '{"latitude": 409146138, "longitude": -746188906}'
    #[command(after_help = CALL_EXAMPLES)]
    Call(CallArgs),
    /// grpcurl's command line, run by rpcsh (or run rpcsh as `grpcurl`): rpcsh grpcurl -plaintext localhost:50051 list
    #[command(disable_help_flag = true)]
    Grpcurl {
        /// grpcurl's flags and arguments, as grpcurl takes them (`rpcsh grpcurl -help` lists them).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "GRPCURL ARGS"
        )]
        args: Vec<String>,
    },
    /// List the server's services, or one service's methods.
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  rpcsh list\n  rpcsh list RouteGuide\n  rpcsh list --proto api.proto"
    )]
    List {
        /// A service whose methods to list.
        service: Option<String>,
        /// Longest the command may take, connecting and reflection included.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        #[command(flatten)]
        export: tools::ExportArgs,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Describe a service, method, message or enum; or write the schema out.
    #[command(visible_alias = "desc")]
    Describe(tools::DescribeArgs),
    /// Print a JSON skeleton of a message (or a method's request) with every field, to fill in.
    #[command(
        after_help = "Examples:\n  rpcsh template RouteGuide/RouteChat\n  rpcsh template Rectangle"
    )]
    Template {
        /// A message name, or a method as `call` takes it.
        symbol: String,
        /// Longest the command may take, connecting and reflection included.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Compare a live server's schema with the files a client was built from: what would break it.
    Check(tools::CheckArgs),
    /// Encode a message from JSON to protobuf binary (gRPC-framed, base64 or text format with flags).
    Encode(tools::EncodeArgs),
    /// Decode protobuf binary (or base64, or gRPC-framed) to JSON; --raw without a schema.
    Decode(tools::DecodeArgs),
    /// Ask grpc.health.v1.Health whether the server (or one service) is SERVING.
    #[command(
        after_help = "Exit status: 0 when SERVING, 1 otherwise, 64 + code when the check itself fails.\n\nExamples:\n  rpcsh health\n  rpcsh health RouteGuide"
    )]
    Health {
        /// The service to check; the whole server when omitted.
        service: Option<String>,
        /// Deadline of the check.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Stand between a client and its server: every call passes through unchanged and is printed as it happens.
    #[command(
        after_help = "The client connects to --listen (gRPC over plaintext HTTP/2, or TLS with --tls-cert; gRPC-Web\nover HTTP/1.1 or 2); calls go on to --to as gRPC with the connection flags (TLS; headers of its\nown are not added). Messages are decoded with the upstream's reflection, or --proto/--protoset;\nwhat cannot be decoded is shown as bytes. -v shows headers and trailers. Ctrl-C stops it.\n\nExamples:\n  rpcsh proxy --listen 127.0.0.1:7000 --to localhost:50051\n  rpcsh proxy --to api.example.com:443 --format jsonl -v\n  rpcsh proxy --to localhost:50051 --record seen.rpcsh --ignore elapsedTime   (then: rpcsh run seen.rpcsh)"
    )]
    Proxy {
        /// Address the client connects to.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7000")]
        listen: String,
        /// The server calls go on to.
        #[arg(long, value_name = "ADDR")]
        to: String,
        /// How calls are printed: text (a line per event) or jsonl (a JSON object per event).
        #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "jsonl"])]
        format: String,
        /// Offer TLS to the clients with this PEM certificate chain (needs --tls-key).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        record: RecordArgs,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Host the demo services (Greeter, RouteGuide, compute.Compute, Cal, Contact, Testing) with reflection and health; with --mock, a schema's services answering as a recording did.
    #[command(
        after_help = "Examples:\n  rpcsh serve\n  rpcsh serve greeter routeguide --listen 127.0.0.1:0\n  rpcsh serve --listen unix:/tmp/rpcsh.sock\n  rpcsh serve --mock seen.rpcsh --proto routeguide.proto --listen 127.0.0.1:50052"
    )]
    Serve(ServeArgs),
    /// Start every demo service in-process on a free loopback port and open the shell on it.
    #[command(
        after_help = "Examples:\n  rpcsh demo\n  rpcsh demo --task-interval 2s\n  rpcsh demo < session.txt"
    )]
    Demo(DemoArgs),
    /// Print a shell completion script: rpcsh completions bash > ~/.local/share/bash-completion/completions/rpcsh
    #[command(
        after_help = "Install:\n  bash:       rpcsh completions bash > ~/.local/share/bash-completion/completions/rpcsh\n  zsh:        rpcsh completions zsh > ~/.zfunc/_rpcsh   (with fpath+=~/.zfunc before compinit)\n  fish:       rpcsh completions fish > ~/.config/fish/completions/rpcsh.fish\n  powershell: rpcsh completions powershell >> $PROFILE\n\nExamples:\n  rpcsh completions zsh\n  source <(rpcsh completions bash)"
    )]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): rpcsh man | man -l -
    #[command(
        after_help = "Examples:\n  rpcsh man | man -l -\n  rpcsh man call | man -l -\n  rpcsh man > ~/.local/share/man/man1/rpcsh.1"
    )]
    Man {
        /// A subcommand whose page to print; rpcsh's own page when omitted.
        command: Option<String>,
    },
    /// Show the config file's path or the settings in effect.
    #[command(
        after_help = "The file is $RPCSH_CONFIG, else $XDG_CONFIG_HOME/rpcsh/config.toml, else\n~/.config/rpcsh/config.toml. Flags beat environment variables, which beat the file.\n\nExample config.toml:\n  address = \"localhost:50051\"    # default server (an address or an alias below)\n  format = \"json\"                 # json, jsonl or text\n  timeout = \"10s\"                 # default call deadline\n  color = \"auto\"                  # auto, always or never\n\n  [servers.prod]                  # rpcsh connect prod, rpcsh call -a prod ...\n  address = \"grpc.example.com:443\"\n  headers = { authorization = \"Bearer ...\" }\n  cacert = \"ca.pem\"               # relative to the config file\n  timeout = \"2s\"\n  # also: reflect-headers, plaintext, tls, insecure, cert, key, authority,\n  #       user-agent, protos, import-paths, protoset, schema-add, max-msg-size, max-schema-size,\n  #       compress, proxy, header-command,\n  #       protocol (grpc, grpc-web, connect), http2, codec (proto, json)\n\nExamples:\n  rpcsh config show\n  rpcsh config show -a prod\n  rpcsh config path"
    )]
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigAction {
    /// Print the settings in effect for a server (secrets redacted), then the file's sections.
    Show {
        #[command(flatten)]
        conn: Box<ConnArgs>,
    },
    /// Print where the config file is looked for.
    Path,
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
    /// Largest message a service accepts or sends (bytes, or with a unit: 16MiB, 1MB) [default: 4MiB].
    #[arg(long, value_name = "SIZE", default_value = "4MiB", hide_default_value = true,
          value_parser = crate::sys::util::parse_size)]
    pub max_msg_size: usize,
    /// Compress responses: gzip, zstd or deflate (compressed requests are always accepted).
    #[arg(long, value_name = "ENCODING", value_enum)]
    pub compress: Option<Compression>,
    /// Streams one connection may have open at once [default: 200].
    #[arg(long, value_name = "N")]
    pub max_concurrent_streams: Option<u32>,
    /// Longest a call may take to answer (CANCELLED past it); none by default.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub call_timeout: Option<Duration>,
    /// HTTP/2 keepalive: ping a client silent this long, and drop it when the ping goes
    /// unanswered as long; `off` to never.
    #[arg(long, value_name = "DURATION|off", value_parser = crate::sys::util::parse_optional_duration, default_value = "30s")]
    pub keepalive: std::option::Option<Duration>, // fully qualified: clap's Option means "optional"
}

/// `--record FILE [--partial] [--ignore FIELDS]`, of the shell and of the proxy.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Record the calls as an `rpcsh run` script: each with its request as sent and the
    /// expectation its answer met.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// With --record: partial expectations (`expect JSON`) instead of exact ones.
    #[arg(long, requires = "record")]
    pub partial: bool,
    /// With --record: fields left out of the expectations (values that change on every
    /// call), as in --ignore id,meta.time; implies --partial.
    #[arg(
        long,
        value_name = "FIELDS",
        value_delimiter = ',',
        requires = "record"
    )]
    pub ignore: Vec<String>,
}

impl RecordArgs {
    fn spec(self) -> Option<crate::lang::recording::RecordSpec> {
        let partial = self.partial || !self.ignore.is_empty();
        self.record.map(|path| crate::lang::recording::RecordSpec {
            path,
            partial,
            ignore: self.ignore,
        })
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Services to host (greeter, routeguide, compute, cal, contact, testing); all of them when none is named.
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
    /// Require client certificates signed by this PEM CA (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Print the server's resident memory, open files and live tasks to stderr this often.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stats: Option<Duration>,
    #[command(flatten)]
    pub demo: DemoServiceArgs,
    #[command(flatten)]
    pub mock: crate::serve::mock::MockArgs,
}

/// Where `rpcsh ui` serves its page.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Page")]
pub struct UiArgs {
    /// Address the page is served on; a free loopback port by default.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    #[command(flatten)]
    pub page: PageFlags,
}

/// How the page of `rpcsh ui` (and `rpcsh demo --ui`) is opened.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Page")]
pub struct PageFlags {
    /// Serve the page on an address that is not loopback (anyone who reaches it can call your
    /// servers).
    #[arg(long)]
    pub allow_remote: bool,
    /// Print the page's address only; open no browser.
    #[arg(long)]
    pub no_browser: bool,
}

impl PageFlags {
    pub fn options(&self, listen: &str) -> crate::ui::UiOptions {
        crate::ui::UiOptions {
            listen: listen.to_string(),
            allow_remote: self.allow_remote,
            no_browser: self.no_browser,
            ask_address: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on; a free loopback port by default.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Keep no shell history file.
    #[arg(long)]
    pub no_history: bool,
    /// Open the demo in a browser (`rpcsh ui`) instead of the shell.
    #[arg(long)]
    pub ui: bool,
    /// With --ui: the address the page is served on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        requires = "ui"
    )]
    pub ui_listen: String,
    #[command(flatten)]
    pub page: PageFlags,
    #[command(flatten)]
    pub demo: DemoServiceArgs,
}

const CALL_EXAMPLES: &str = "Examples:
  rpcsh call Greeter/SayHello '{\"name\": \"you\"}'
  rpcsh call RouteGuide.GetFeature @point.json
  rpcsh call --addr localhost:50051 RouteGuide/ListFeature '{\"lo\": {}, \"hi\": {\"latitude\": 420000000}}'
  echo '{\"latitude\": 1} {\"latitude\": 2}' | rpcsh call RouteGuide/RecordRoute -
  rpcsh call RouteGuide/RouteChat -            # type one JSON note per line, Ctrl-D to finish

Exit status: 0 OK, 64 + gRPC status code when the call fails (NOT_FOUND: 69),
1 for rpcsh's own errors (cannot connect, bad JSON, unknown method), 2 for usage errors.";

/// Where the server is and how to reach it and learn its schema.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct ConnArgs {
    /// Server: HOST:PORT, http(s)://HOST:PORT, unix:PATH or a config file alias [default: the
    /// config file's `address`, else localhost:50051]
    #[arg(long, short = 'a', value_name = "ADDR", env = "RPCSH_ADDR")]
    pub addr: Option<String>,
    /// Plaintext HTTP/2 even to a non-loopback host.
    #[arg(long, conflicts_with = "tls")]
    pub plaintext: bool,
    /// TLS even to a loopback host or unix socket.
    #[arg(long)]
    pub tls: bool,
    #[command(flatten)]
    pub tls_args: TlsArgs,
    #[command(flatten)]
    pub header_args: HeaderArgs,
    #[command(flatten)]
    pub link_args: LinkArgs,
    #[command(flatten)]
    pub schema_args: SchemaArgs,
    /// Show secret header values (authorization, cookie, *-token, *-key) in -v output.
    #[arg(long)]
    pub show_secrets: bool,
}

/// TLS: whom to trust, what to present, which name to check.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct TlsArgs {
    /// PEM file of the CA that signed the server's certificate (instead of the system's roots); implies TLS.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Skip verifying the server's certificate (TLS without authentication); implies TLS.
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// PEM client certificate, for mutual TLS (with --key); implies TLS.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The :authority and TLS server name to use instead of the address's host.
    #[arg(long, value_name = "NAME")]
    pub authority: Option<String>,
    /// The TLS server name (SNI, and the name the certificate must have) apart from --authority.
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
}

/// Headers sent with calls and reflection, and credentials.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct HeaderArgs {
    /// Header sent with the call and reflection requests: 'name: value' (repeatable; -bin names take base64).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// A command whose output adds headers (`name: value` lines), run once: for short-lived
    /// tokens (gcloud, vault, a credential helper).
    #[arg(long, value_name = "COMMAND")]
    pub header_command: Option<String>,
    /// Header sent with reflection requests only.
    #[arg(long = "reflect-header", value_name = "NAME: VALUE")]
    pub reflect_headers: Vec<String>,
    /// Header sent with the call only, not with reflection requests.
    #[arg(long = "rpc-header", value_name = "NAME: VALUE")]
    pub rpc_headers: Vec<String>,
    /// HTTP Basic credentials for calls and reflection: USER:PASSWORD.
    #[arg(short = 'u', long, value_name = "USER:PASSWORD", conflicts_with_all = ["netrc", "netrc_file"])]
    pub user: Option<String>,
    /// Take Basic credentials from ~/.netrc's entry for the server's host, as curl does.
    #[arg(long)]
    pub netrc: bool,
    /// Take Basic credentials from this netrc file's entry for the server's host.
    #[arg(long, value_name = "FILE")]
    pub netrc_file: Option<PathBuf>,
}

/// How calls travel: the proxy, timeouts, limits, compression, the protocol.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct LinkArgs {
    /// The user-agent to send.
    #[arg(long, value_name = "TEXT")]
    pub user_agent: Option<String>,
    /// An HTTP proxy to connect through (CONNECT): http://[USER:PASSWORD@]HOST:PORT, or `none`
    /// [default: grpc_proxy, else HTTPS_PROXY, else HTTP_PROXY, for every target, less NO_PROXY; never loopback].
    #[arg(long, value_name = "URL|none", value_parser = parse_proxy)]
    pub proxy: Option<crate::client::net::connect_proxy::Setting>,
    /// Give up connecting, or on a server that accepted the connection but sends nothing, after
    /// this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive: ping a server silent this long, and give the connection up when the
    /// ping goes unanswered as long (a dead link, a frozen server); `off` to never.
    #[arg(long, value_name = "DURATION|off", value_parser = crate::sys::util::parse_optional_duration, default_value = "20s")]
    pub keepalive: std::option::Option<Duration>, // fully qualified: clap's Option means "optional"
    /// Largest message to send or receive, reflection included: bytes, or 100MB, 64MiB.
    #[arg(long, value_name = "SIZE", value_parser = crate::sys::util::parse_size)]
    pub max_msg_size: Option<usize>,
    /// Largest response header list (trailers included) to read, decoded [default: 16MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_header_size)]
    pub max_header_size: Option<u32>,
    /// Most memory a server's schema may take, received through reflection, before rpcsh stops
    /// asking for more [default: 128MiB].
    #[arg(long, value_name = "SIZE", value_parser = crate::sys::util::parse_size)]
    pub max_schema_size: Option<usize>,
    /// Compress request messages: gzip, zstd or deflate (responses in any of them are read).
    #[arg(long, value_name = "ENCODING", value_enum)]
    pub compress: Option<Compression>,
    /// The protocol of calls: grpc, grpc-web or connect (reflection is asked over gRPC).
    #[arg(long, value_name = "PROTOCOL", value_enum)]
    pub protocol: Option<Protocol>,
    /// Connect and gRPC-Web over HTTP/2 without TLS (h2c); HTTP/1.1 otherwise (TLS: ALPN decides).
    #[arg(long)]
    pub http2: bool,
    /// How Connect and gRPC-Web messages are encoded: proto (binary) or json.
    #[arg(long, value_name = "CODEC", value_enum)]
    pub codec: Option<Codec>,
}

/// Where the schema comes from when not (only) from reflection.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct SchemaArgs {
    /// Take the schema from this .proto file instead of reflection (repeatable).
    #[arg(help_heading = "Schema", long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,
    /// Import path for --proto (repeatable); the files' folders by default.
    #[arg(
        help_heading = "Schema",
        short = 'I',
        long = "import-path",
        value_name = "DIR"
    )]
    pub import_paths: Vec<PathBuf>,
    /// Take the schema from FileDescriptorSet files instead of reflection (repeatable).
    #[arg(
        help_heading = "Schema",
        long,
        value_name = "FILE",
        conflicts_with = "protos"
    )]
    pub protoset: Vec<PathBuf>,
    /// The server reflection service to ask: auto (v1, else v1alpha), v1 or v1alpha.
    #[arg(
        help_heading = "Schema",
        long,
        value_name = "VERSION",
        value_enum,
        default_value = "auto"
    )]
    pub reflect_version: crate::client::schema::reflection::ReflectVersion,
    /// Add a .proto or protoset to the schema: what the server's reflection lacks (an Any's
    /// type, a file it cannot give) is taken from it (repeatable).
    #[arg(help_heading = "Schema", long, value_name = "FILE")]
    pub schema_add: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The method: Service/Method, Service.Method or /package.Service/Method; a service's short name works when unambiguous.
    pub method: String,
    /// Request JSON: inline, @FILE, or - for stdin. Streams take a sequence of JSON objects.
    pub data: Option<String>,
    /// The request as grpcurl takes it, instead of DATA: JSON, @FILE, or @- for stdin.
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data"
    )]
    pub data_flag: Option<String>,
    /// Output format of responses: json (pretty; the default on a terminal), jsonl (the default when piped) or text.
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<crate::client::output::format::Format>,
    /// Print fields that have their default value.
    #[arg(long)]
    pub emit_defaults: bool,
    /// Print fields with their proto names (point_count) instead of JSON names (pointCount).
    #[arg(long)]
    pub proto_names: bool,
    /// Write a bytes field of the responses (FIELD or a.b) to PATH: each message's appended, the
    /// field left out of what prints.
    #[arg(long, value_name = "FIELD=PATH", value_parser = parse_save_bytes)]
    pub save_bytes: Option<(String, PathBuf)>,
    /// Skip unknown fields in the request JSON instead of failing.
    #[arg(long)]
    pub allow_unknown_fields: bool,
    /// What the request data is written in: json, text (protobuf text format; several
    /// messages separated by 0x1E) or binary (encoded protobuf; base64 when inline).
    #[arg(long, value_name = "FORMAT", value_enum, default_value = "json")]
    pub data_format: crate::client::input::DataFormat,
    /// On a failed call, print its status (code, message, details) as JSON on stderr.
    #[arg(long)]
    pub format_error: bool,
    /// Print the whole exchange as one JSON document at the end: request and response
    /// headers, the messages each way, trailers, status and timings.
    #[arg(long)]
    pub envelope: bool,
    /// Deadline of the call, sent to the server as grpc-timeout.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub export: tools::ExportArgs,
    #[command(flatten)]
    pub conn: ConnArgs,
}

fn parse_proxy(text: &str) -> Result<crate::client::net::connect_proxy::Setting, String> {
    Ok(crate::client::net::connect_proxy::Setting::parse(text))
}

/// A header limit: HTTP/2 counts it in 32 bits.
fn parse_save_bytes(text: &str) -> Result<(String, PathBuf), String> {
    let (field, path) = text
        .split_once('=')
        .filter(|(f, p)| !f.is_empty() && !p.is_empty())
        .ok_or("expected FIELD=PATH, as in payload=out.bin")?;
    Ok((field.to_string(), PathBuf::from(path)))
}

fn parse_header_size(text: &str) -> Result<u32, String> {
    let size = crate::sys::util::parse_size(text)?;
    u32::try_from(size).map_err(|_| format!("{text:?} is over HTTP/2's limit of 4GiB"))
}

impl ConnArgs {
    /// The connection these flags ask for; the config file fills in the rest when it is opened.
    pub fn connection(&self, verbose: u8, config: &Arc<Config>) -> Connection {
        let addr = self.addr.clone().or_else(|| config.address.clone());
        Connection {
            addr: addr.unwrap_or_else(|| DEFAULT_ADDRESS.to_string()),
            config: config.clone(),
            transport: TransportOptions {
                plaintext: self.plaintext,
                tls: self.tls,
                cacert: self.tls_args.cacert.clone(),
                cert: self.tls_args.cert.clone(),
                key: self.tls_args.key.clone(),
                authority: self.tls_args.authority.clone(),
                servername: self.tls_args.servername.clone(),
                connect_timeout: Some(self.link_args.connect_timeout),
                keepalive: self.link_args.keepalive,
                user_agent: self.link_args.user_agent.clone(),
                proxy: self.link_args.proxy.clone().unwrap_or_default(),
                insecure: self.tls_args.insecure,
                max_header_size: self.link_args.max_header_size,
            },
            headers: self.header_args.headers.clone(),
            reflect_headers: self.header_args.reflect_headers.clone(),
            rpc_headers: self.header_args.rpc_headers.clone(),
            credentials: match (
                &self.header_args.user,
                self.header_args.netrc,
                &self.header_args.netrc_file,
            ) {
                (Some(user), ..) => Some(Credentials::User(user.clone())),
                (None, _, Some(file)) => Some(Credentials::Netrc(Some(file.clone()))),
                (None, true, None) => Some(Credentials::Netrc(None)),
                (None, false, None) => None,
            },
            header_command: self.header_args.header_command.clone(),
            schema: SchemaSettings {
                protos: self.schema_args.protos.clone(),
                import_paths: self.schema_args.import_paths.clone(),
                // Several protosets make one schema: the first, the others beside it.
                protoset: self.schema_args.protoset.first().cloned(),
                schema_add: self
                    .schema_args
                    .protoset
                    .iter()
                    .skip(1)
                    .chain(&self.schema_args.schema_add)
                    .cloned()
                    .collect(),
                max_schema_size: self.link_args.max_schema_size,
                reflect_version: self.schema_args.reflect_version,
            },
            max_message_size: self.link_args.max_msg_size,
            compress: self.link_args.compress,
            protocol: self.link_args.protocol,
            http2: self.link_args.http2,
            codec: self.link_args.codec,
            verbose: (verbose > 0).then_some(Verbose {
                show_secrets: self.show_secrets,
                sizes: verbose > 1,
            }),
        }
    }
}

impl DemoServiceArgs {
    fn serve_options(&self, tls: Option<TlsFiles>) -> ServeOptions {
        ServeOptions {
            tls,
            grace: self.grace,
            max_concurrent_streams: self.max_concurrent_streams,
            call_timeout: self.call_timeout,
            keepalive: self.keepalive,
        }
    }

    fn config(&self, services: Vec<DemoService>) -> anyhow::Result<DemoConfig> {
        let mut config = DemoConfig {
            services,
            task_interval: self.task_interval,
            max_message_size: self.max_msg_size,
            compress: self.compress.map(Compression::encoding),
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
    let needs = cli.command.needs();
    // The servers and generators never read the file, so a broken one cannot stop them.
    let config = match needs.config {
        true => Config::load()?,
        false => Config::default(),
    };
    crate::sys::style::init(cli.color.or(config.color).unwrap_or_default());
    let verbose = cli.verbose;
    // Only the servers log through tracing; a one-shot client skips the subscriber (and the
    // pages of code it would touch) unless RPCSH_LOG asks for the libraries' logs.
    if needs.serving || std::env::var_os("RPCSH_LOG").is_some() {
        init_logging(verbose > 0);
    }
    // One-shot client commands start faster and smaller on one thread.
    // bench --cpus: its worker threads (ghz's --cpus).
    let cpus = match &cli.command {
        Subcommand::Bench { options, .. } => options.cpus,
        _ => None,
    };
    // The proxy relays on one thread (its printer has its own): a call's frames handed
    // between worker threads cost more in wake-ups than the relaying itself (bench/relay.py).
    let one_thread = matches!(cli.command, Subcommand::Proxy { .. });
    let runtime = if let (true, Some(n)) = (needs.serving, cpus) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.max(1))
            .enable_all()
            .build()
    } else if needs.serving && !one_thread {
        tokio::runtime::Runtime::new()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .context("cannot start the tokio runtime")?;
    let code = runtime.block_on(async {
        let command = dispatch::dispatch(cli.command, verbose, Arc::new(config));
        // The servers, the shell and bench have their own ways with signals; the rest stop at
        // once, printing what they received (dropping the command flushes its output).
        if needs.own_signals {
            return command.await;
        }
        tokio::select! {
            code = command => code,
            code = crate::sys::signals::interrupted(true) => Ok(code),
        }
    })?;
    // A blocking task still running (a write to a terminal that stopped reading) must not keep
    // the process from ending.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(ExitCode::from(code))
}
