//! `POST /api/usage/mcp`: the usage record the official CLI sends after commands. The
//! sandbox checks it like the backend and keeps nothing.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use super::auth::AdminKey;
use super::errors::{json_response, ApiError};
use super::state::SandboxState;

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new().route("/api/usage/mcp", post(record_usage))
}

async fn record_usage(_key: AdminKey, body: Bytes) -> Result<Response, ApiError> {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match body.get("tool_name") {
        Some(Value::String(name)) if !name.is_empty() => {
            Ok(json_response(StatusCode::OK, &json!({ "success": true })))
        }
        _ => Err(ApiError::invalid_input("tool_name is required")),
    }
}
