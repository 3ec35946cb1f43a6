//! `rpcsh check`: a live server's schema, as its reflection gives it, against the files a client
//! was built from. Every service, method, message and enum the files' services reach is compared
//! with the server's of the same name, by buf breaking's WIRE_JSON rules where they apply (a
//! client may speak JSON: Connect, gRPC-Web with JSON, gateways): what would break such a client
//! is `breaking`, what the server has beyond the files `additive`.
use crate::session::connection::Connection;
use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};
use std::collections::HashSet;
use std::io::Write;

/// One difference between the files and the server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub breaking: bool,
    /// buf's rule name (`FIELD_NO_DELETE`), or `ADDED` for what is only additive.
    pub rule: &'static str,
    /// Where: `Service/Method`, `package.Message.field`, `package.Enum.VALUE`.
    pub place: String,
    pub what: String,
}

/// The rules this check applies, as buf names them.
pub const RULES: &[&str] = &[
    "SERVICE_NO_DELETE",
    "RPC_NO_DELETE",
    "RPC_SAME_REQUEST_TYPE",
    "RPC_SAME_RESPONSE_TYPE",
    "RPC_SAME_CLIENT_STREAMING",
    "RPC_SAME_SERVER_STREAMING",
    "MESSAGE_NO_DELETE",
    "FIELD_NO_DELETE",
    "FIELD_SAME_NAME",
    "FIELD_SAME_JSON_NAME",
    "FIELD_SAME_TYPE",
    "FIELD_SAME_CARDINALITY",
    "FIELD_SAME_ONEOF",
    "ENUM_NO_DELETE",
    "ENUM_VALUE_NO_DELETE",
    "ENUM_VALUE_SAME_NAME",
];

/// `rpcsh check`: exit status 0 compatible, 1 breaking.
pub async fn check(conn: &Connection, json: bool) -> anyhow::Result<u8> {
    let files = local_pool(conn).await?;
    let mut session = conn.open_reflection().await?;
    let services: Vec<String> = files
        .services()
        .map(|s| s.full_name().to_string())
        .collect();
    let listed = session.schema.services().await.map_err(|e| {
        match e.chain().any(|c| c.is::<crate::sys::error::NoReflection>()) {
            true => crate::sys::error::Hint::new(
                format!("{}: check compares the files with what the server's reflection says", e.root_cause()),
                "without reflection there is nothing to compare the files with; `rpcsh call --proto FILE` still calls it",
            )
            .into(),
            false => e,
        }
    })?;
    let present: Vec<String> = services
        .iter()
        .filter(|s| listed.contains(s))
        .cloned()
        .collect();
    let server = if present.is_empty() {
        DescriptorPool::new()
    } else {
        let (set, _, _) = session.schema.export(&present).await?;
        DescriptorPool::decode(set.as_slice())?
    };
    let findings = compare(&files, &server, &listed);
    let breaking = findings.iter().filter(|f| f.breaking).count();
    let mut out = std::io::stdout().lock();
    if json {
        let report = serde_json::json!({
            "compatible": breaking == 0,
            "breaking": findings.iter().filter(|f| f.breaking).collect::<Vec<_>>(),
            "additive": findings.iter().filter(|f| !f.breaking).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        for f in &findings {
            let kind = if f.breaking { "breaking" } else { "additive" };
            let place = crate::sys::style::printable(&f.place);
            let what = crate::sys::style::printable(&f.what);
            writeln!(out, "{kind:<9} {:<26} {place}: {what}", f.rule)?;
        }
        let additive = findings.len() - breaking;
        let verdict = match breaking {
            0 => "a client built from the files works with this server",
            _ => "a client built from the files would break",
        };
        writeln!(out, "{breaking} breaking, {additive} additive: {verdict}")?;
    }
    Ok(u8::from(breaking > 0))
}

/// The client's files, as a pool.
async fn local_pool(conn: &Connection) -> anyhow::Result<DescriptorPool> {
    let conn = conn.resolved();
    if conn.schema.protos.is_empty() && conn.schema.protoset.is_none() {
        anyhow::bail!(crate::sys::error::Hint::new(
            "check compares the server with the files a client was built from: none given",
            "give them: --proto FILE (with -I DIR) or --protoset FILE",
        ));
    }
    let mut schema = match &conn.schema.protoset {
        Some(set) if conn.schema.protos.is_empty() => {
            crate::client::schema::Schema::from_protoset(set)?
        }
        _ => crate::client::schema::Schema::from_protos(
            &conn.schema.protos,
            &conn.schema.import_paths,
        )?,
    };
    let (set, _, _) = schema.export(&[]).await?;
    Ok(DescriptorPool::decode(set.as_slice())?)
}

struct Comparison<'a> {
    server: &'a DescriptorPool,
    findings: Vec<Finding>,
    /// Messages and enums compared already (a type reaches itself, and others more than once).
    seen: HashSet<String>,
}

/// What would break a client of `files` talking to `server`, and what the server adds.
pub fn compare(files: &DescriptorPool, server: &DescriptorPool, listed: &[String]) -> Vec<Finding> {
    let mut c = Comparison {
        server,
        findings: Vec::new(),
        seen: HashSet::new(),
    };
    for service in files.services() {
        let name = service.full_name();
        let Some(theirs) = server.get_service_by_name(name) else {
            let what = match listed.iter().any(|l| l == name) {
                true => "the server lists it but its reflection gives no file for it",
                false => "the server does not serve it",
            };
            c.found(true, "SERVICE_NO_DELETE", name, what.into());
            continue;
        };
        for method in service.methods() {
            let place = format!("{name}/{}", method.name());
            let Some(their) = theirs.methods().find(|m| m.name() == method.name()) else {
                c.found(
                    true,
                    "RPC_NO_DELETE",
                    &place,
                    "the server has no such method".into(),
                );
                continue;
            };
            for (rule, ours, theirs) in [
                ("RPC_SAME_REQUEST_TYPE", method.input(), their.input()),
                ("RPC_SAME_RESPONSE_TYPE", method.output(), their.output()),
            ] {
                if ours.full_name() != theirs.full_name() {
                    let what = format!(
                        "{} in the files, {} on the server",
                        ours.full_name(),
                        theirs.full_name()
                    );
                    c.found(true, rule, &place, what);
                } else {
                    c.message(&ours);
                }
            }
            let streams = |client: bool, server: bool| match (client, server) {
                (true, true) => "bidi streaming",
                (true, false) => "client streaming",
                (false, true) => "server streaming",
                (false, false) => "unary",
            };
            let (ours, theirs) = (
                streams(method.is_client_streaming(), method.is_server_streaming()),
                streams(their.is_client_streaming(), their.is_server_streaming()),
            );
            if method.is_client_streaming() != their.is_client_streaming() {
                let what = format!("{ours} in the files, {theirs} on the server");
                c.found(true, "RPC_SAME_CLIENT_STREAMING", &place, what);
            }
            if method.is_server_streaming() != their.is_server_streaming() {
                let what = format!("{ours} in the files, {theirs} on the server");
                c.found(true, "RPC_SAME_SERVER_STREAMING", &place, what);
            }
        }
        for their in theirs.methods() {
            if service.methods().all(|m| m.name() != their.name()) {
                let place = format!("{name}/{}", their.name());
                c.found(
                    false,
                    "ADDED",
                    &place,
                    "a method the files do not have".into(),
                );
            }
        }
    }
    c.findings
}

impl Comparison<'_> {
    fn found(&mut self, breaking: bool, rule: &'static str, place: &str, what: String) {
        self.findings.push(Finding {
            breaking,
            rule,
            place: place.to_string(),
            what,
        });
    }

    fn message(&mut self, ours: &MessageDescriptor) {
        if !self.seen.insert(ours.full_name().to_string()) {
            return;
        }
        let Some(theirs) = self.server.get_message_by_name(ours.full_name()) else {
            let what = "the server's schema does not have it".into();
            self.found(true, "MESSAGE_NO_DELETE", ours.full_name(), what);
            return;
        };
        for field in ours.fields() {
            let place = format!("{}.{}", ours.full_name(), field.name());
            let Some(their) = theirs.get_field(field.number()) else {
                let what = format!("field {} is not on the server", field.number());
                self.found(true, "FIELD_NO_DELETE", &place, what);
                continue;
            };
            self.field(&place, &field, &their);
        }
        for their in theirs.fields() {
            if ours.get_field(their.number()).is_none() {
                let place = format!("{}.{}", ours.full_name(), their.name());
                let what = format!("field {}, which the files do not have", their.number());
                self.found(false, "ADDED", &place, what);
            }
        }
    }

    fn field(&mut self, place: &str, ours: &FieldDescriptor, theirs: &FieldDescriptor) {
        let number = ours.number();
        if ours.name() != theirs.name() {
            let what = format!("field {number} is {} on the server", theirs.name());
            self.found(true, "FIELD_SAME_NAME", place, what);
        } else if ours.json_name() != theirs.json_name() {
            let what = format!("JSON name {} on the server", theirs.json_name());
            self.found(true, "FIELD_SAME_JSON_NAME", place, what);
        }
        let (a, b) = (type_name(ours), type_name(theirs));
        if a != b {
            let what = format!("{a} in the files, {b} on the server");
            self.found(true, "FIELD_SAME_TYPE", place, what);
        } else {
            match map_value(ours).map_or_else(|| ours.kind(), |v| v.kind()) {
                Kind::Message(m) => self.message(&m),
                Kind::Enum(e) => self.enumeration(&e),
                _ => {}
            }
        }
        let cardinality = |f: &FieldDescriptor| match (f.is_map(), f.cardinality()) {
            (true, _) => "a map",
            (false, Cardinality::Repeated) => "repeated",
            _ => "singular",
        };
        if cardinality(ours) != cardinality(theirs) {
            let what = format!(
                "{} in the files, {} on the server",
                cardinality(ours),
                cardinality(theirs)
            );
            self.found(true, "FIELD_SAME_CARDINALITY", place, what);
        }
        let oneof = |f: &FieldDescriptor| {
            f.containing_oneof()
                .filter(|o| !o.is_synthetic())
                .map(|o| o.name().to_string())
        };
        if oneof(ours) != oneof(theirs) {
            let name =
                |o: Option<String>| o.map_or("no oneof".to_string(), |o| format!("oneof {o}"));
            let what = format!(
                "{} in the files, {} on the server",
                name(oneof(ours)),
                name(oneof(theirs))
            );
            self.found(true, "FIELD_SAME_ONEOF", place, what);
        }
    }

    fn enumeration(&mut self, ours: &EnumDescriptor) {
        if !self.seen.insert(ours.full_name().to_string()) {
            return;
        }
        let Some(theirs) = self.server.get_enum_by_name(ours.full_name()) else {
            let what = "the server's schema does not have it".into();
            self.found(true, "ENUM_NO_DELETE", ours.full_name(), what);
            return;
        };
        for value in ours.values() {
            let place = format!("{}.{}", ours.full_name(), value.name());
            match theirs.get_value(value.number()) {
                None => {
                    let what = format!("value {} is not on the server", value.number());
                    self.found(true, "ENUM_VALUE_NO_DELETE", &place, what);
                }
                Some(their) if their.name() != value.name() => {
                    let what =
                        format!("value {} is {} on the server", value.number(), their.name());
                    self.found(true, "ENUM_VALUE_SAME_NAME", &place, what);
                }
                Some(_) => {}
            }
        }
        for their in theirs.values() {
            if ours.get_value(their.number()).is_none() {
                let place = format!("{}.{}", ours.full_name(), their.name());
                let what = format!("value {}, which the files do not have", their.number());
                self.found(false, "ADDED", &place, what);
            }
        }
    }
}

/// A field's type as the check compares it: scalars by kind, messages and enums by full name.
/// A field's type; a map's by its key and value (grpc-js names entries `Stock`, protoc
/// `StockEntry`: the wire is the same).
fn type_name(field: &FieldDescriptor) -> String {
    match (field.kind().as_message(), map_value(field)) {
        (Some(entry), Some(value)) => {
            let key = entry.map_entry_key_field().kind();
            format!("map<{}, {}>", kind_name(&key), kind_name(&value.kind()))
        }
        _ => kind_name(&field.kind()),
    }
}

fn map_value(field: &FieldDescriptor) -> Option<FieldDescriptor> {
    field
        .is_map()
        .then(|| field.kind().as_message().map(|e| e.map_entry_value_field()))
        .flatten()
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}
