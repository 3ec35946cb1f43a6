//! rpcsh: a gRPC shell. The library holds everything the `rpcsh` binary does, so that examples
//! and tests can use the same pieces. Its modules are layered; an import points down, never up
//! or sideways into a cycle (`tests/cli/layers.rs` fails when one comes back):
//!
//! ```text
//! front ends    cli (flags, dispatch: only main imports it)  commands (one-shot call, list, ...)
//!               convert (encode, decode)  drift (check)  repl/ (the shell)  script (rpcsh run,
//!               over the shell)  bench  grpcurl/ (grpcurl's command line and output)
//!               relay/ (rpcsh proxy)  mock/ (serve --mock: a recording as a server)
//! session       connection (settings + config section -> channel and schema)  config (the file)
//!               expect (checks the shell and scripts run)  recording (calls written as scripts)
//! client core   link (gRPC or web/ per session)  transport  proxy (HTTP CONNECT)  source/
//!               input  invoke  web/ (Connect, gRPC-Web)  format  exchange (call --envelope's
//!               document)  any_json (Anys prost-reflect cannot print)  codec  credentials (-u,
//!               netrc)  sanitize (answers tonic must not see: non-gRPC ones among them)  error
//!               style  stats  signals (exit codes and the terminal on a signal)
//! bottom        util (durations, sizes): everyone may use it
//! demo          demo/  server  pb  fake (made-up messages) — beside the client, importing
//!               nothing of it
//! ```
//!
//! The client is a pipeline — `transport` connects, `source` learns the schema, `input` turns
//! JSON into messages, `invoke` makes the call and `format` prints what it reports — opened by
//! `connection` and put together by `commands`, the shell and scripts.
//!
//! A dynamic call, as `rpcsh call` makes it (the schema comes from the server's reflection):
//!
//! ```no_run
//! use rpcsh::commands::{self, OutputOptions};
//! use rpcsh::connection::Connection;
//! use rpcsh::input::{Data, ParseOptions};
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
//! use rpcsh::pb::{greeter_client::GreeterClient, greeter_server::GreeterServer, HelloRequest};
//!
//! # async fn example() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(
//!     tonic::transport::Server::builder()
//!         .add_service(GreeterServer::new(rpcsh::demo::greeter::Greeter))
//!         .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
//! );
//! let mut client = GreeterClient::connect(format!("http://{addr}")).await?;
//! let reply = client.say_hello(HelloRequest { name: "you".into() }).await?;
//! assert_eq!(reply.into_inner().message, "hello you");
//! # Ok(()) }
//! ```
pub mod any_json;
pub mod bench;
pub mod cli;
pub mod codec;
pub mod commands;
pub mod config;
pub mod connection;
pub mod convert;
pub mod credentials;
pub mod demo;
pub mod drift;
pub mod error;
pub mod exchange;
pub mod expect;
pub mod fake;
pub mod format;
pub mod grpcurl;
pub mod input;
pub mod invoke;
pub mod link;
pub mod mock;
pub mod pb;
pub mod proxy;
pub mod recording;
pub mod relay;
pub mod repl;
pub mod sanitize;
pub mod script;
pub mod server;
pub mod signals;
pub mod source;
pub mod stats;
pub mod style;
pub mod transport;
pub mod util;
pub mod web;
