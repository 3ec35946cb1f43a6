//! rpcsh: a gRPC shell. The library holds everything the `rpcsh` binary does, so that examples
//! and tests can use the same pieces. The client is a pipeline — `transport` connects, `source`
//! learns the schema, `input` turns JSON into messages, `invoke` makes the call and `format`
//! prints what it reports — put together by `commands`. The demo servers are `demo` (services),
//! `pb` (generated code) and `server` (hosting); `cli` is the command line.
pub mod bench;
pub mod cli;
pub mod codec;
pub mod commands;
pub mod demo;
pub mod error;
pub mod expect;
pub mod format;
pub mod input;
pub mod invoke;
pub mod pb;
pub mod repl;
pub mod script;
pub mod server;
pub mod source;
pub mod transport;
