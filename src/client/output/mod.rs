//! What the client shows of a call: messages and statuses printed (format), `Any`s prost-reflect
//! cannot print (any_json), and `call --envelope`'s document (exchange).
pub mod any_json;
pub mod exchange;
pub mod format;
