//! Test-only control routes under `/_sandbox/`: script faults, read the request log, and
//! script the fake platform (`/_sandbox/platform/...`).
//! They need no API key and are never logged or faulted; the real backend has no such
//! routes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
        .route(
            "/_sandbox/platform/expire-access-tokens",
            post(expire_access_tokens),
        )
        .route("/_sandbox/platform/tokens", post(issue_tokens))
        .route("/_sandbox/platform/devices", get(list_devices))
        .route(
            "/_sandbox/platform/devices/{user_code}/approve",
            post(approve_device),
        )
        .route(
            "/_sandbox/platform/devices/{user_code}/deny",
            post(deny_device),
        )
        .route("/_sandbox/platform/projects", get(list_projects))
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

/// Makes every platform access token issued so far invalid; refresh tokens stay valid.
async fn expire_access_tokens(State(state): State<SandboxState>) -> StatusCode {
    state.platform.expire_access_tokens();
    StatusCode::NO_CONTENT
}

/// Issues tokens for the test user: `{"access_token","refresh_token"}`.
async fn issue_tokens(State(state): State<SandboxState>) -> Response {
    let pair = state.platform.issue_tokens();
    json_response(
        StatusCode::OK,
        &json!({ "access_token": pair.access, "refresh_token": pair.refresh }),
    )
}

/// Every device login so far: `[{"user_code","status","expired"}]`, oldest first.
async fn list_devices(State(state): State<SandboxState>) -> Response {
    json_response(StatusCode::OK, &json!(state.platform.devices()))
}

async fn approve_device(
    State(state): State<SandboxState>,
    Path(user_code): Path<String>,
) -> Response {
    decide_device(&state, &user_code, true)
}

async fn deny_device(State(state): State<SandboxState>, Path(user_code): Path<String>) -> Response {
    decide_device(&state, &user_code, false)
}

/// 204 when a pending device login had this code, else 404.
fn decide_device(state: &SandboxState, user_code: &str, approve: bool) -> Response {
    if state.platform.decide_device(user_code, approve) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no pending device login has the code {user_code}"),
        )
        .into_response()
    }
}

/// Every platform project with its current status.
async fn list_projects(State(state): State<SandboxState>) -> Response {
    json_response(StatusCode::OK, &json!(state.platform.all_projects()))
}
