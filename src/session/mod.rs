//! A session: settings from the command line and the config file, resolved into a connection
//! with its channel and schema. Above the client, under every front end.
pub mod config;
pub mod connection;
pub mod credentials;
pub mod vars;
