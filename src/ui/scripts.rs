//! Saved requests are `rpcsh run` scripts: the page opens one as the steps the shell takes (each
//! run on the page's engine as if typed), and records what it does into one with the shell's
//! own `record FILE` (its lines go over the WebSocket like any other).
use super::Ui;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// A script's steps: `{steps: [statement...]}`, or the line `rpcsh run` would fail it with.
pub(super) async fn steps(
    State(_ui): State<Arc<Ui>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let path = params.get("path").cloned().unwrap_or_default();
    let read = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {path}: {e}"))
        .and_then(|text| crate::lang::script::steps(&path, &text).map_err(|e| e.to_string()));
    match read {
        Ok(steps) => Json(json!({ "steps": steps })).into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response(),
    }
}
