//! Test-only control routes under `/_sandbox/`: script faults and read the request log.
//! They need no API key and are never logged or faulted; the real backend has no such
//! routes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::errors::{json_response, ApiError};
use super::faults::parse_faults;
use super::state::SandboxState;

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new()
        .route(
            "/_sandbox/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route(
            "/_sandbox/requests",
            get(list_requests).delete(clear_requests),
        )
}

async fn list_faults(State(state): State<SandboxState>) -> Response {
    json_response(StatusCode::OK, &json!(state.faults.list()))
}

/// Appends the faults in the body (an array, or one object) and answers with every fault
/// now scripted.
async fn add_faults(State(state): State<SandboxState>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match parse_faults(&text) {
        Ok(faults) => {
            state.faults.add(faults);
            json_response(StatusCode::OK, &json!(state.faults.list()))
        }
        Err(message) => {
            ApiError::invalid_input(format!("invalid faults: {message}")).into_response()
        }
    }
}

async fn clear_faults(State(state): State<SandboxState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

async fn list_requests(State(state): State<SandboxState>) -> Response {
    json_response(StatusCode::OK, &json!(state.requests.snapshot()))
}

async fn clear_requests(State(state): State<SandboxState>) -> StatusCode {
    state.requests.clear();
    StatusCode::NO_CONTENT
}
