//! The page's history, kept across runs in the state folder (`ui-history.jsonl`, mode 0600):
//! each call sent, newest last, its secret headers redacted as the shell's history redacts
//! them; the last thousand kept.
use super::Ui;
use crate::client::output::format::is_secret;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// Calls the history keeps.
const KEPT: usize = 1000;

pub(super) fn file() -> Option<PathBuf> {
    crate::sys::state::path("ui-history.jsonl")
}

/// The entries, oldest first; none when there is no file or no home.
fn read(path: &Option<PathBuf>) -> Vec<Value> {
    let Some(text) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub(super) async fn list(State(ui): State<Arc<Ui>>) -> Response {
    let mut entries = read(&ui.history);
    entries.reverse();
    Json(json!({ "entries": entries })).into_response()
}

/// Adds a call: `{method, request, metadata: [lines], status}`; what else the page sends is
/// not kept.
pub(super) async fn add(State(ui): State<Arc<Ui>>, Json(entry): Json<Value>) -> Response {
    let Some(path) = &ui.history else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let text = |k: &str| entry[k].as_str().unwrap_or_default().to_string();
    let metadata: Vec<String> = entry["metadata"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(redacted)
        .collect();
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let kept = json!({
        "method": text("method"),
        "request": text("request"),
        "metadata": metadata,
        "status": text("status"),
        "at": at,
    });
    let _guard = ui.history_lock.lock().await;
    let mut entries = read(&ui.history);
    entries.push(kept);
    let skip = entries.len().saturating_sub(KEPT);
    let body: String = entries[skip..].iter().map(|e| format!("{e}\n")).collect();
    let written = crate::sys::state::create_private(path).and_then(|()| std::fs::write(path, body));
    match written {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": format!("cannot keep the history in {}: {e}", path.display()) })),
        )
            .into_response(),
    }
}

/// A `name: value` line with a secret's value left out.
fn redacted(line: &str) -> String {
    match line.split_once(':') {
        Some((name, _)) if is_secret(&name.trim().to_ascii_lowercase()) => {
            format!("{}: <redacted>", name.trim())
        }
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            super::redacted("Authorization: Bearer x"),
            "Authorization: <redacted>"
        );
        assert_eq!(super::redacted("x-api-key: k"), "x-api-key: <redacted>");
        assert_eq!(super::redacted("x-team: core"), "x-team: core");
    }
}
