//! One gRPC call on the wire: the codec of dynamic messages, compression, the answers that are
//! not gRPC (sanitize), the call itself (invoke) and what a failed status means (status).
pub mod codec;
pub mod invoke;
pub mod sanitize;
pub mod status;
