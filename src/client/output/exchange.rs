//! `call --envelope`: the whole exchange of a call as one JSON document (the method, the headers
//! and messages each way, the trailers, the status with its details, and timings), printed when
//! the call ends, as evans's `--enrich` and grpcurl#575 ask: for scripts that need more than
//! the responses.
use crate::client::output::format::{message_json, status_json};
use crate::client::schema::Schema;
use crate::client::wire::invoke::Handler;
use prost_reflect::DynamicMessage;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use tonic::metadata::{KeyAndValueRef, MetadataMap};

/// Collects what a call reports.
pub struct Envelope<'a> {
    pub schema: &'a mut Schema,
    pub headers: Option<MetadataMap>,
    pub responses: Vec<Value>,
    pub trailers: Option<MetadataMap>,
    pub first_message: Option<Instant>,
}

impl<'a> Envelope<'a> {
    pub fn new(schema: &'a mut Schema) -> Self {
        Envelope {
            schema,
            headers: None,
            responses: Vec::new(),
            trailers: None,
            first_message: None,
        }
    }
}

impl Handler for Envelope<'_> {
    fn on_headers(&mut self, headers: &MetadataMap) {
        self.headers = Some(headers.clone());
    }

    async fn on_message(&mut self, message: DynamicMessage) -> anyhow::Result<()> {
        self.first_message.get_or_insert_with(Instant::now);
        let message = self.schema.resolve_any(message).await;
        self.responses.push(message_json(&message)?);
        Ok(())
    }

    fn on_trailers(&mut self, trailers: &MetadataMap) {
        self.trailers = Some(trailers.clone());
    }
}

/// Timings of a call, from the command's start.
pub struct Timings {
    pub connect: Duration,
    pub schema: Duration,
    pub first_message: Option<Duration>,
    pub total: Duration,
}

impl Envelope<'_> {
    /// The document: `status` is the call's end (None: OK); a failed call's trailers are its
    /// status's metadata.
    pub fn document(
        &self,
        method: &str,
        sent: &MetadataMap,
        requests: &[Value],
        status: Option<&tonic::Status>,
        timings: &Timings,
    ) -> Value {
        let mut trailers = match (status, &self.trailers) {
            (Some(s), None) => metadata_json(s.metadata()),
            (_, t) => t.as_ref().map(metadata_json).unwrap_or_else(|| json!({})),
        };
        // The status has its own place.
        if let Value::Object(map) = &mut trailers {
            for key in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
                map.remove(key);
            }
        }
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        json!({
            "method": method,
            "requestHeaders": metadata_json(sent),
            "requests": requests,
            "responseHeaders": self.headers.as_ref().map(metadata_json).unwrap_or_else(|| json!({})),
            "responses": self.responses,
            "trailers": trailers,
            "status": status_json(status, self.schema.pool()),
            "timings": {
                "connectMs": ms(timings.connect),
                "schemaMs": ms(timings.schema),
                "firstMessageMs": timings.first_message.map(ms),
                "totalMs": ms(timings.total),
            },
        })
    }
}

/// Metadata as `{"name": ["value", ...]}`, binary values in base64 as on the wire; secret
/// values are shown: the document is the exchange, written where the user sends it.
pub fn metadata_json(map: &MetadataMap) -> Value {
    let mut out = Map::new();
    for entry in map.iter() {
        let (key, value) = match entry {
            KeyAndValueRef::Ascii(k, v) => (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ),
            KeyAndValueRef::Binary(k, v) => (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_encoded_bytes()).into_owned(),
            ),
        };
        if let Value::Array(values) = out.entry(key).or_insert_with(|| json!([])) {
            values.push(Value::String(value));
        }
    }
    Value::Object(out)
}
