//! Error answers in the backend's shape: `{"error", "message", "statusCode", "nextActions"?}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The hint the backend attaches to a request whose JSON body does not parse.
pub const NEXT_ACTIONS_INVALID_JSON: &str = "Please ensure your request body contains valid JSON";

/// An error answer as the backend sends it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Upper-snake error code (`error` field).
    pub code: String,
    /// Human text (`message` field).
    pub message: String,
    /// Optional hint (`nextActions` field), left out of the body when `None`.
    pub next_actions: Option<String>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            next_actions: None,
        }
    }

    /// Adds the `nextActions` hint.
    pub fn with_next_actions(mut self, next_actions: impl Into<String>) -> Self {
        self.next_actions = Some(next_actions.into());
        self
    }

    /// 400 `INVALID_INPUT`.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_INPUT", message)
    }

    /// 403 `FORBIDDEN`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 500 `INTERNAL_ERROR`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
    }

    /// The answer to a path (or method) the backend does not serve. `original_url` is the
    /// path with its query, as received.
    pub fn route_not_found(original_url: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Endpoint {original_url} not found"),
        )
        .with_next_actions("Please check the API documentation for available endpoints")
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "error": self.code,
            "message": self.message,
            "statusCode": self.status.as_u16(),
        });
        if let Some(next) = &self.next_actions {
            body["nextActions"] = Value::String(next.clone());
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// A JSON answer with Express's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec());
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
