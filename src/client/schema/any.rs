//! `google.protobuf.Any` values decoded as what they hold: the types their URLs name are loaded
//! from the source (and, after a shallow build, the messages a response turned out to hold),
//! bounded in depth and in rounds.
use super::Schema;
use prost::Message;
use prost_reflect::{DynamicMessage, ReflectMessage};

impl Schema {
    /// `message` again, decoded with a pool that knows every type its `google.protobuf.Any`
    /// fields hold, as far as the source can tell, and, after a shallow build, every message it
    /// holds: JSON printing needs them. Types the source does not know are left for the
    /// printer to report.
    pub async fn resolve_any(&mut self, mut message: DynamicMessage) -> DynamicMessage {
        // Levels of a response expanded one at a time before the rest is built whole.
        const ROUNDS: usize = 4;
        let mut round = 0;
        loop {
            round += 1;
            let mut urls = Vec::new();
            let mut stubs = Vec::new();
            unresolved(&message, &mut urls, &mut stubs);
            let expanded = self.reflected.shallow.as_ref();
            stubs.retain(|s| expanded.is_some_and(|e| !e.contains(s)));
            if urls.is_empty() && stubs.is_empty() {
                return message;
            }
            // A fresh schema (the shell's handlers) knows nothing yet, not even the message.
            let own = message.descriptor().full_name().to_string();
            let mut loaded = false;
            if self.pool.get_message_by_name(&own).is_none() {
                loaded = self.load_symbol(&own).await.is_ok();
            }
            if !stubs.is_empty() {
                match &mut self.reflected.shallow {
                    Some(expanded) if round <= ROUNDS => expanded.extend(stubs),
                    shallow => *shallow = None,
                }
                loaded |= self.rebuild().await.is_ok();
            }
            let own_pool = message.descriptor().parent_pool().clone();
            for url in urls {
                let name = url.rsplit('/').next().unwrap_or(&url);
                if self.pool.get_message_by_name(name).is_none()
                    && self.load_symbol(name).await.is_ok()
                {
                    loaded = true;
                }
                // Loaded for an earlier message: this one was decoded with the pool before.
                loaded |= own_pool.get_message_by_name(name).is_none()
                    && self.pool.get_message_by_name(name).is_some();
            }
            if !loaded {
                return message;
            }
            let Some(desc) = self
                .pool
                .get_message_by_name(message.descriptor().full_name())
            else {
                return message;
            };
            match DynamicMessage::decode(desc, message.encode_to_vec().as_slice()) {
                Ok(decoded) => message = decoded,
                Err(_) => return message,
            }
        }
    }
}

impl Schema {
    /// Loads the types a failed status's details name (`google.rpc.Status` in
    /// `grpc-status-details-bin`) that the pool lacks: the schema may define them though the
    /// method does not use them (a lazy build leaves them out). Types it does not define stay
    /// unknown, for the printer's placeholder.
    pub async fn load_detail_types(&mut self, status: &tonic::Status) {
        if status.details().is_empty() {
            return;
        }
        let pool = super::with_status_types(&self.pool);
        let Some(desc) = pool.get_message_by_name("google.rpc.Status") else {
            return;
        };
        let Ok(decoded) = DynamicMessage::decode(desc, status.details()) else {
            return;
        };
        let details = decoded.get_field_by_name("details");
        let urls: Vec<String> = details
            .as_deref()
            .and_then(|d| d.as_list())
            .unwrap_or_default()
            .iter()
            .filter_map(|any| any.as_message()?.get_field_by_name("type_url"))
            .filter_map(|url| url.as_str().map(str::to_string))
            .collect();
        for url in urls {
            let name = url.rsplit('/').next().unwrap_or(&url);
            if self.pool.get_message_by_name(name).is_none() {
                let _ = self.load_symbol(name).await;
            }
        }
    }
}

/// The type URLs of every `Any` in `message` (inside the `Any`s whose type is known too, to a
/// bounded depth: the printer refuses deeper ones), and the messages in it that a shallow build
/// left as stubs but that hold fields (unknown to the stub).
fn unresolved(message: &DynamicMessage, urls: &mut Vec<String>, stubs: &mut Vec<String>) {
    within(message, urls, stubs, 0)
}

fn within(message: &DynamicMessage, urls: &mut Vec<String>, stubs: &mut Vec<String>, depth: usize) {
    use prost_reflect::Value;
    const ANY_DEPTH: usize = 64;
    fn visit(value: &Value, urls: &mut Vec<String>, stubs: &mut Vec<String>, depth: usize) {
        match value {
            Value::Message(m) => within(m, urls, stubs, depth),
            Value::List(items) => items.iter().for_each(|v| visit(v, urls, stubs, depth)),
            Value::Map(entries) => entries.values().for_each(|v| visit(v, urls, stubs, depth)),
            _ => {}
        }
    }
    let desc = message.descriptor();
    if desc.fields().len() == 0 && message.unknown_fields().next().is_some() {
        let name = desc.full_name().to_string();
        if !stubs.contains(&name) {
            stubs.push(name);
        }
        return;
    }
    if desc.full_name() == "google.protobuf.Any" {
        let Some(url) = message
            .get_field_by_name("type_url")
            .and_then(|v| v.as_str().map(str::to_string))
        else {
            return;
        };
        let inner = desc
            .parent_pool()
            .get_message_by_name(url.rsplit('/').next().unwrap_or(&url));
        if !urls.contains(&url) {
            urls.push(url);
        }
        let value = message.get_field_by_name("value");
        let bytes = value.as_deref().and_then(Value::as_bytes);
        if let (Some(inner), Some(bytes), true) = (inner, bytes, depth < ANY_DEPTH) {
            if let Ok(decoded) = DynamicMessage::decode(inner, bytes.clone()) {
                within(&decoded, urls, stubs, depth + 1);
            }
        }
        return;
    }
    for (_, value) in message.fields() {
        visit(value, urls, stubs, depth);
    }
}
