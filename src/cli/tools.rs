//! The schema tools' arguments and dispatch: `describe` (and its export), `check` (drift),
//! `encode` and `decode`.
use super::ConnArgs;
use crate::client::input::Data;
use crate::session::config::Config;
use crate::session::connection::Connection;
use crate::sys::util::parse_duration;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "With --protoset-out, the files the symbols need (every service's when none is named) are\nwritten as a FileDescriptorSet, imports included, as protoc --include_imports writes one;\nwith --proto-out, as .proto sources under DIR (google/protobuf/* files are left to\nprotoc's own copies) that protoc and protox compile back to the same descriptors.\n\nExamples:\n  rpcsh describe RouteGuide\n  rpcsh describe RouteGuide/RouteChat\n  rpcsh describe RouteNote --format json\n  rpcsh describe --protoset-out api.pb\n  rpcsh describe RouteGuide --protoset-out routeguide.pb\n  rpcsh describe -a localhost:50051 --proto-out protos/"
)]
pub struct DescribeArgs {
    /// The symbols: fully-qualified names, or services or methods as `call` takes them; every
    /// service the server lists when none is named.
    #[arg(value_name = "SYMBOL")]
    pub symbols: Vec<String>,
    #[command(flatten)]
    pub export: ExportArgs,
    /// `text` (proto-like, the default) or `json` (the descriptor proto).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Longest the command may take, connecting and reflection included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The files are --proto FILE (with -I DIR) or --protoset FILE; the server's schema comes from its\nreflection. Each service the files define is compared with the server's by buf breaking's\nWIRE_JSON rules (services, methods, streaming, request and response types, fields by number:\nremoved, renamed, retyped, cardinality, oneof; enum values removed or renamed); what only the\nserver has is additive.\n\nExit status: 0 compatible, 1 breaking (or an error).\n\nExamples:\n  rpcsh check localhost:50051 --proto proto/routeguide.proto\n  rpcsh check api.example.com:443 --protoset client.pb --format json"
)]
pub struct CheckArgs {
    /// The server's address (or --addr).
    #[arg(value_name = "ADDR")]
    pub address: Option<String>,
    /// text (a line per difference, then the verdict) or json.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Longest the command may take, connecting and reflection included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The schema comes from --proto/--protoset, or from a server's reflection (-a).\nBinary output is not written to a terminal: redirect it, or give --base64.\n\nExamples:\n  rpcsh encode --proto proto/routeguide.proto Point '{\"latitude\": 1}' > point.bin\n  rpcsh encode -a localhost:50051 RouteGuide/RouteChat @notes.json --framed --base64\n  rpcsh encode --protoset api.pb Point '{\"latitude\": 1}' --format text"
)]
pub struct EncodeArgs {
    /// A message, or a method (its request; --response: its response).
    #[arg(value_name = "TYPE")]
    pub message: String,
    /// The JSON: inline, @FILE, or - (the default) for stdin; several messages with --framed.
    pub data: Option<String>,
    #[command(flatten)]
    pub wire: WireArgs,
    /// binary (the default) or text (protobuf text format).
    #[arg(long, value_name = "FORMAT", default_value = "binary", value_parser = ["binary", "text"])]
    pub format: String,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The schema comes from --proto/--protoset, or from a server's reflection (-a). --raw needs\nnone: it prints field numbers and values as protoc --decode_raw does, nested messages guessed.\n\nExamples:\n  rpcsh decode --proto proto/routeguide.proto Point point.bin\n  rpcsh decode -a localhost:50051 RouteGuide/ListFeature --response --framed body.bin\n  echo CJqmjMMB | rpcsh decode --raw --base64"
)]
pub struct DecodeArgs {
    /// A message, or a method (its request; --response: its response). Not with --raw.
    #[arg(value_name = "TYPE")]
    pub message: Option<String>,
    /// The bytes: a file, or - (the default) for stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<String>,
    /// No schema: field numbers, wire types and values, as protoc --decode_raw prints them.
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub wire: WireArgs,
    /// Output format: json (pretty; the default on a terminal), jsonl (the default when piped) or text.
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<crate::client::output::format::Format>,
    /// Print fields that have their default value.
    #[arg(long)]
    pub emit_defaults: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// What `encode` writes and `decode` reads.
#[derive(Debug, clap::Args)]
pub struct WireArgs {
    /// A method's response message instead of its request.
    #[arg(long)]
    pub response: bool,
    /// gRPC length-prefixed messages, several in a row, as a call's body carries them.
    #[arg(long)]
    pub framed: bool,
    /// Base64 text instead of bytes.
    #[arg(long)]
    pub base64: bool,
}

impl WireArgs {
    fn wire(&self) -> crate::commands::convert::Wire {
        crate::commands::convert::Wire {
            framed: self.framed,
            base64: self.base64,
        }
    }
}

/// `--protoset-out` and `--proto-out` of `describe`, `list` and `call`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExportArgs {
    /// Write the schema files of what the command names (a symbol, a service, the method;
    /// every service's with none) as a FileDescriptorSet.
    #[arg(long, value_name = "FILE")]
    pub protoset_out: Option<PathBuf>,
    /// Write the same files as .proto sources under DIR.
    #[arg(long, value_name = "DIR")]
    pub proto_out: Option<PathBuf>,
}

impl ExportArgs {
    /// Writes what `symbols` need (every service's files, with none), if asked.
    pub async fn write(&self, conn: &Connection, symbols: &[String]) -> anyhow::Result<()> {
        if self.protoset_out.is_none() && self.proto_out.is_none() {
            return Ok(());
        }
        let (set, out) = (self.protoset_out.as_deref(), self.proto_out.as_deref());
        crate::commands::export(conn, symbols, set, out).await
    }
}

pub async fn describe(conn: &Connection, args: DescribeArgs) -> anyhow::Result<()> {
    if args.export.protoset_out.is_some() || args.export.proto_out.is_some() {
        return args.export.write(conn, &args.symbols).await;
    }
    crate::commands::describe(conn, &args.symbols, args.format == "json").await
}

pub async fn check(args: CheckArgs, verbose: u8, config: &Arc<Config>) -> anyhow::Result<u8> {
    let mut conn = args.conn;
    conn.addr = args.address.or(conn.addr);
    let conn = conn.connection(verbose, config);
    let timeout = args.timeout.or_else(|| config.timeout_for(&conn.addr));
    let checking = crate::commands::drift::check(&conn, args.format == "json");
    crate::commands::within(timeout, "check", checking).await
}

pub async fn encode(args: EncodeArgs, verbose: u8, config: &Arc<Config>) -> anyhow::Result<u8> {
    let conn = args.conn.connection(verbose, config);
    let data = Data::parse(args.data.as_deref());
    let (wire, text) = (args.wire.wire(), args.format == "text");
    crate::commands::convert::encode(&conn, &args.message, data, args.wire.response, wire, text)
        .await?;
    Ok(0)
}

pub async fn decode(args: DecodeArgs, verbose: u8, config: &Arc<Config>) -> anyhow::Result<u8> {
    let wire = args.wire.wire();
    if args.raw {
        // With --raw, a lone argument is the input.
        let input = args.input.or(args.message);
        crate::commands::convert::decode_raw(input.as_deref(), wire)?;
        return Ok(0);
    }
    let Some(message) = args.message else {
        anyhow::bail!(crate::sys::error::Hint::new(
            "decode needs the message TYPE",
            "name one (rpcsh list shows the services), or --raw to decode without",
        ));
    };
    let conn = args.conn.connection(verbose, config);
    let style = crate::commands::OutputOptions {
        format: args.format,
        emit_defaults: args.emit_defaults,
        proto_names: false,
        ..Default::default()
    }
    .style();
    let input = args.input.as_deref();
    let response = args.wire.response;
    crate::commands::convert::decode(&conn, &message, input, response, wire, style).await?;
    Ok(0)
}

/// Says how to put `rpcsh` on the PATH when it is not there (a clone run with `cargo run`): the
/// README's and the shell's examples all call it `rpcsh`.
pub(super) fn note_if_not_on_path() {
    use std::os::unix::fs::PermissionsExt;
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join("rpcsh"))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if !on_path {
        println!("(rpcsh is not on your PATH: `cargo install --path .` puts it in ~/.cargo/bin)");
    }
}
