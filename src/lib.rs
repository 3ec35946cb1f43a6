//! rpcsh: a gRPC shell. The library holds everything the `rpcsh` binary does, so that examples
//! and tests can use the same pieces. Each folder of `src/` is a floor; a file imports its own
//! folder and the floors under it, never one above or beside it (`tests/cli/layers.rs` fails
//! when one does). Top floor first:
//!
//! ```text
//! cli       the command lines: rpcsh's (clap arguments, one dispatch table; only main imports
//!           it) and grpcurl's (grpcurl/: its flags and its output, byte for byte)
//! repl      the terminal front end of the engine: line editor, completion, the prompt
//! ui        the engine in a browser (rpcsh ui): the page, its schema questions, a WebSocket
//! bench     load runs, scenarios and reports       serve  the server side: server, demo/, pb,
//!                                                    fake, mock/ (serve --mock), relay/ (proxy)
//! lang      the script language: command (the parser), expect, recording, script (rpcsh run)
//!           and engine/, the shell's core without a terminal that every front end drives
//! commands  one-shot commands: call, list, describe, template, health, convert, drift (check)
//! session   settings resolved into a connection: connection, config (the file), credentials
//!           (-u, netrc), vars (${NAME} and ${env:VAR})
//! client    output (format, any_json, exchange)   input (JSON or text into messages)
//!           schema (reflection, files, protosets, the well-known types)
//!           net (transport, connect_proxy, web/: Connect and gRPC-Web, link: one per session)
//!           wire (codec, sanitize: answers tonic must not see, invoke, status: one mapping)
//! sys       error (the user's error line, exit codes), style, signals, stats, util
//! ```
//!
//! The client is a pipeline — `net` connects, `schema` learns the API, `input` turns JSON into
//! messages, `wire::invoke` makes the call and `output` prints what it reports — opened by
//! `session` and put together by `commands`, the engine and the front ends above it.
//!
//! A dynamic call, as `rpcsh call` makes it (the schema comes from the server's reflection):
//!
//! ```no_run
//! use rpcsh::commands::{self, OutputOptions};
//! use rpcsh::session::connection::Connection;
//! use rpcsh::client::input::{Data, ParseOptions};
//!
//! # async fn example() -> anyhow::Result<()> {
//! let conn = Connection { addr: "localhost:50051".into(), ..Connection::default() };
//! let data = Data::parse(Some(r#"{"name": "you"}"#));
//! commands::call(&conn, "Greeter/SayHello", data, ParseOptions::default(),
//!     OutputOptions::default(), None).await?;
//! # Ok(()) }
//! ```
//!
//! The generated code of the demo protos, and a demo service hosted in-process:
//!
//! ```no_run
//! use rpcsh::serve::pb::{greeter_client::GreeterClient, greeter_server::GreeterServer, HelloRequest};
//!
//! # async fn example() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(
//!     tonic::transport::Server::builder()
//!         .add_service(GreeterServer::new(rpcsh::serve::demo::greeter::Greeter))
//!         .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
//! );
//! let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
//! let reply = client.say_hello(HelloRequest { name: "you".into() }).await?;
//! assert_eq!(reply.into_inner().message, "hello you");
//! # Ok(()) }
//! ```
pub mod bench;
pub mod cli;
pub mod client;
pub mod commands;
pub mod lang;
pub mod repl;
pub mod serve;
pub mod session;
pub mod sys;
pub mod ui;
