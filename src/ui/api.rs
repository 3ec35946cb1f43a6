//! The page's questions about the schema, answered from one session of the run (the client's
//! schema source, as the shell's commands use it): the services, a service's methods, the
//! `describe` text of a symbol and a message's fields for a request form.
use super::Ui;
use crate::client::schema::Symbol;
use crate::session::connection::{Connection, Session};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The page's server and the session its questions are answered from, opened at the first
/// (again when the page switches servers).
pub(super) struct Api {
    conn: std::sync::RwLock<Connection>,
    session: tokio::sync::Mutex<Option<Session>>,
}

impl Api {
    pub(super) fn new(conn: Connection) -> Api {
        Api {
            conn: std::sync::RwLock::new(conn),
            session: tokio::sync::Mutex::new(None),
        }
    }

    /// The server's connection as it is now.
    pub(super) fn conn(&self) -> Connection {
        self.conn.read().unwrap().clone()
    }

    /// Runs `ask` on the session (opened if it is not yet); an error is the page's to show.
    async fn with<T>(
        &self,
        ask: impl AsyncFnOnce(&mut Session) -> anyhow::Result<T>,
    ) -> Result<T, Response> {
        let mut slot = self.session.lock().await;
        if slot.is_none() {
            *slot = Some(self.conn().open(true).await.map_err(failure)?);
        }
        let session = slot.as_mut().expect("opened above");
        ask(session).await.map_err(failure)
    }

    /// Switches to `addr` once a session on it opens; the server in use stays otherwise.
    async fn switch(&self, addr: &str) -> anyhow::Result<()> {
        let mut conn = self.conn();
        conn.addr = addr.to_string();
        let session = conn.open(true).await?;
        *self.session.lock().await = Some(session);
        *self.conn.write().unwrap() = conn;
        Ok(())
    }
}

/// `{address}`: the page's server from now on (its engine switches with `connect`).
pub(super) async fn connect(State(ui): State<Arc<Ui>>, Json(asked): Json<Value>) -> Response {
    let addr = asked["address"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    if addr.is_empty() {
        return failure(anyhow::anyhow!(
            "give the server's address, as in localhost:50051"
        ));
    }
    match ui.api.switch(&addr).await {
        Ok(()) => Json(json!({ "address": addr })).into_response(),
        Err(e) => failure(e),
    }
}

/// An error as the page shows it: the line the shell would print.
fn failure(e: anyhow::Error) -> Response {
    let text = crate::sys::error::render(&e);
    (StatusCode::BAD_GATEWAY, Json(json!({ "error": text }))).into_response()
}

type Params = Query<HashMap<String, String>>;

fn param(params: &Params, name: &str) -> String {
    params.0.get(name).cloned().unwrap_or_default()
}

pub(super) async fn services(State(ui): State<Arc<Ui>>) -> Response {
    match ui.api.with(async |s| s.schema.services().await).await {
        Ok(names) => Json(json!({ "services": names })).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn methods(State(ui): State<Arc<Ui>>, params: Params) -> Response {
    let name = param(&params, "service");
    let service = ui
        .api
        .with(async |s| s.schema.resolve_service(&name).await)
        .await;
    match service {
        Ok(service) => {
            let methods: Vec<Value> = service
                .methods()
                .map(|m| {
                    json!({
                        "name": m.name(),
                        "path": format!("{}/{}", service.full_name(), m.name()),
                        "client_streaming": m.is_client_streaming(),
                        "server_streaming": m.is_server_streaming(),
                        "input": m.input().full_name(),
                        "output": m.output().full_name(),
                    })
                })
                .collect();
            Json(json!({ "service": service.full_name(), "methods": methods })).into_response()
        }
        Err(r) => r,
    }
}

pub(super) async fn describe(State(ui): State<Arc<Ui>>, params: Params) -> Response {
    let symbol = param(&params, "symbol");
    let text = ui
        .api
        .with(async |s| {
            let found = s.schema.find_symbol(&symbol).await?;
            let docs = s.schema.docs(found.full_name());
            Ok(crate::client::output::format::describe_symbol(
                &found, &docs,
            ))
        })
        .await;
    match text {
        Ok(text) => Json(json!({ "text": text })).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn message(State(ui): State<Arc<Ui>>, params: Params) -> Response {
    let name = param(&params, "name");
    let found = ui
        .api
        .with(async |s| s.schema.find_symbol(&name).await)
        .await;
    match found {
        Ok(Symbol::Message(m)) => Json(fields(&m)).into_response(),
        Ok(other) => failure(anyhow::anyhow!("{} is not a message", other.full_name())),
        Err(r) => r,
    }
}

/// A message's fields as a form needs them: one level (nested messages are asked for when
/// opened), with what each field's input is.
fn fields(message: &MessageDescriptor) -> Value {
    let fields: Vec<Value> = message.fields().map(|f| field(&f)).collect();
    json!({ "name": message.full_name(), "fields": fields })
}

fn field(f: &FieldDescriptor) -> Value {
    let oneof = f
        .containing_oneof()
        .filter(|o| !o.is_synthetic())
        .map(|o| o.name().to_string());
    let mut out = json!({
        "name": f.json_name(),
        "number": f.number(),
        "repeated": f.is_list(),
        "oneof": oneof,
    });
    if f.is_map() {
        if let Kind::Message(entry) = f.kind() {
            out["map"] = json!({
                "key": input(&entry.map_entry_key_field().kind()),
                "value": input(&entry.map_entry_value_field().kind()),
            });
        }
        out["input"] = json!({ "kind": "map" });
    } else {
        out["input"] = input(&f.kind());
    }
    out
}

/// What a value of `kind` is typed as: a scalar, an enum's choices, a well-known type as its
/// JSON form (Timestamp and Duration as text, wrappers as their value), or a nested message.
fn input(kind: &Kind) -> Value {
    match kind {
        Kind::Enum(e) => json!({
            "kind": "enum",
            "type": e.full_name(),
            "values": e.values().map(|v| v.name().to_string()).collect::<Vec<_>>(),
        }),
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp" => json!({ "kind": "timestamp" }),
            "google.protobuf.Duration" => json!({ "kind": "duration" }),
            "google.protobuf.StringValue" | "google.protobuf.BytesValue" => {
                json!({ "kind": "string" })
            }
            "google.protobuf.BoolValue" => json!({ "kind": "bool" }),
            "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value" => json!({ "kind": "number" }),
            "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.Any"
            | "google.protobuf.FieldMask"
            | "google.protobuf.Empty" => {
                json!({ "kind": "json", "type": m.full_name() })
            }
            name => json!({ "kind": "message", "type": name }),
        },
        Kind::Bool => json!({ "kind": "bool" }),
        Kind::String => json!({ "kind": "string" }),
        Kind::Bytes => json!({ "kind": "bytes" }),
        // 64-bit integers are strings in proto3 JSON; the form takes digits either way.
        _ => json!({ "kind": "number" }),
    }
}

/// A request as the bytes of a gRPC-Web call's body, base64 (`application/grpc-web-text`): what
/// "copy as curl" sends for a gRPC-Web server. `{method: "Svc/M", json}` in.
pub(super) async fn encode(State(ui): State<Arc<Ui>>, Json(asked): Json<Value>) -> Response {
    let method = asked["method"].as_str().unwrap_or_default().to_string();
    let text = asked["json"].as_str().unwrap_or("{}").to_string();
    let encoded = ui
        .api
        .with(async |s| {
            let method = s.schema.resolve_method(&method).await?;
            let options = crate::client::input::ParseOptions::default();
            let messages = crate::client::input::parse_messages(&text, &method.input(), options)?;
            let mut body = Vec::new();
            for m in messages {
                body.extend_from_slice(&crate::client::wire::codec::envelope(
                    0,
                    &prost::Message::encode_to_vec(&m),
                ));
            }
            use base64::Engine;
            Ok(base64::engine::general_purpose::STANDARD.encode(body))
        })
        .await;
    match encoded {
        Ok(base64) => Json(json!({ "base64": base64 })).into_response(),
        Err(r) => r,
    }
}
