//! Connections: HTTP/2 channels (transport), HTTP CONNECT proxies on the way (connect_proxy),
//! Connect and gRPC-Web over HTTP/1.1 or 2 (web), and the link a session calls through.
pub mod connect_proxy;
pub mod link;
pub mod transport;
pub mod web;
