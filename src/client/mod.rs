//! The client pipeline, in floors of its own: `wire` (a gRPC call's frames, compression and
//! statuses), `net` (connections: HTTP/2, HTTP CONNECT proxies, Connect and gRPC-Web, the link a
//! session calls through), `schema` (what the server's API is: reflection, files, protosets),
//! `input` (JSON or text into messages) and `output` (messages, statuses and envelopes printed).
//! A floor imports only the floors under it.
pub mod input;
pub mod net;
pub mod output;
pub mod schema;
pub mod wire;
