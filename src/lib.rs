//! rpcsh: a gRPC shell. The library holds everything the `rpcsh` binary does, so that examples
//! and tests can use the same pieces: the generated demo code (`pb`), the demo services (`demo`),
//! the server host (`server`) and the command line (`cli`).
pub mod cli;
pub mod demo;
pub mod error;
pub mod pb;
pub mod server;
