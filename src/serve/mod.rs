//! The server side: hosting services (server), the demo services and their generated code (demo,
//! pb), made-up messages (fake), a recording served as a server (mock) and `rpcsh proxy` (relay).
pub mod demo;
pub mod fake;
pub mod mock;
pub mod pb;
pub mod relay;
pub mod server;
