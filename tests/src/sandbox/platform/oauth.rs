//! OAuth under `/api/oauth/v1/`: the authorize endpoint (approves at once with a 302 to the
//! loopback redirect URI), the token endpoint (authorization code with PKCE, refresh with
//! rotation, device code) and the device authorization endpoint, plus the `/device` page
//! that stands in for a person approving a device login in the dashboard.
//!
//! Bodies are JSON, never form-encoded, as the official CLI sends them. Errors are
//! `{"error","error_description"?}` with status 400.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::random::query_encode;
use super::store::{CodeRequest, DevicePoll, GrantError, TokenPair};
use super::ACCESS_TOKEN_LIFETIME_SECS;
use crate::sandbox::errors::json_response;
use crate::sandbox::state::SandboxState;
use crate::sandbox::url::{first_value, query_pairs};

/// The grant type of device-flow polling (RFC 8628).
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(super) fn routes() -> Router<SandboxState> {
    Router::new()
        .route("/api/oauth/v1/authorize", get(authorize))
        .route("/api/oauth/v1/token", post(token))
        .route(
            "/api/oauth/v1/device_authorization",
            post(device_authorization),
        )
        .route("/device", get(device_page))
}

/// A 400 OAuth error answer.
fn oauth_error(error: &str, description: Option<&str>) -> Response {
    let mut body = json!({ "error": error });
    if let Some(description) = description {
        body["error_description"] = json!(description);
    }
    json_response(StatusCode::BAD_REQUEST, &body)
}

fn invalid_request(description: &str) -> Response {
    oauth_error("invalid_request", Some(description))
}

impl IntoResponse for GrantError {
    fn into_response(self) -> Response {
        oauth_error(self.error, self.description)
    }
}

/// `GET /api/oauth/v1/authorize`: checks the request, stores a one-time code bound to the
/// PKCE challenge, redirect URI and client, and redirects back with `code` and `state`.
async fn authorize(State(state): State<SandboxState>, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let param = |name: &str| first_value(&pairs, name);
    let client_id = param("client_id").unwrap_or("");
    let redirect_uri = param("redirect_uri").unwrap_or("");
    let challenge = param("code_challenge").unwrap_or("");
    if client_id.is_empty() {
        return invalid_request("client_id is required");
    }
    if param("response_type") != Some("code") {
        return invalid_request("response_type must be code");
    }
    if challenge.is_empty() {
        return invalid_request("code_challenge is required");
    }
    if param("code_challenge_method") != Some("S256") {
        return invalid_request("code_challenge_method must be S256");
    }
    if !is_loopback_redirect(redirect_uri) {
        return invalid_request("redirect_uri must be http://127.0.0.1:<port>/...");
    }
    let code = state.platform.create_code(CodeRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        code_challenge: challenge.to_owned(),
        scope: param("scope").unwrap_or("").to_owned(),
    });
    let mut location = format!(
        "{redirect_uri}{}code={}",
        if redirect_uri.contains('?') { '&' } else { '?' },
        query_encode(&code)
    );
    if let Some(client_state) = param("state") {
        location.push_str("&state=");
        location.push_str(&query_encode(client_state));
    }
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => invalid_request("redirect_uri cannot be used in a Location header"),
    }
}

/// `http://127.0.0.1:<port>` followed by nothing or a path (and maybe a query).
fn is_loopback_redirect(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://127.0.0.1:") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (port, tail) = rest.split_at(digits);
    let port_ok = port.parse::<u16>().is_ok_and(|port| port != 0);
    port_ok && (tail.is_empty() || tail.starts_with('/')) && !tail.contains('#')
}

/// The JSON object a body holds; `None` for anything else.
fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A non-empty string field.
fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
}

/// The 200 answer of a successful grant; `scope` is left out when `None`.
fn tokens_response(pair: TokenPair, scope: Option<String>) -> Response {
    let mut body = json!({
        "access_token": pair.access,
        "refresh_token": pair.refresh,
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
        body["token_type"] = json!("Bearer");
    }
    json_response(StatusCode::OK, &body)
}

/// `POST /api/oauth/v1/token`: the three grants the CLI uses.
async fn token(State(state): State<SandboxState>, body: Bytes) -> Response {
    let Some(body) = json_object(&body) else {
        return invalid_request("the request body must be a JSON object");
    };
    let platform = &state.platform;
    match field(&body, "grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(client_id), Some(verifier)) = (
                field(&body, "code"),
                field(&body, "redirect_uri"),
                field(&body, "client_id"),
                field(&body, "code_verifier"),
            ) else {
                return invalid_request(
                    "code, redirect_uri, client_id and code_verifier are required",
                );
            };
            match platform.exchange_code(code, redirect_uri, client_id, verifier) {
                Ok((pair, scope)) => tokens_response(pair, Some(scope)),
                Err(error) => error.into_response(),
            }
        }
        Some("refresh_token") => {
            let Some(refresh_token) = field(&body, "refresh_token") else {
                return invalid_request("refresh_token is required");
            };
            match platform.refresh(refresh_token) {
                Ok(pair) => tokens_response(pair, None),
                Err(error) => error.into_response(),
            }
        }
        Some(DEVICE_GRANT) => {
            let (Some(device_code), Some(client_id)) =
                (field(&body, "device_code"), field(&body, "client_id"))
            else {
                return invalid_request("device_code and client_id are required");
            };
            match platform.poll_device(device_code, client_id) {
                DevicePoll::Tokens { pair, scope } => tokens_response(pair, Some(scope)),
                DevicePoll::Refused(error) => error.into_response(),
            }
        }
        Some(_) => oauth_error(
            "unsupported_grant_type",
            Some("grant_type is not supported"),
        ),
        None => invalid_request("grant_type is required"),
    }
}

/// Seconds as JSON: an integer when whole, else a fraction.
fn seconds(duration: Duration) -> Value {
    if duration.subsec_nanos() == 0 {
        json!(duration.as_secs())
    } else {
        json!(duration.as_secs_f64())
    }
}

/// `POST /api/oauth/v1/device_authorization`: starts a device login.
async fn device_authorization(State(state): State<SandboxState>, body: Bytes) -> Response {
    let Some(body) = json_object(&body) else {
        return invalid_request("the request body must be a JSON object");
    };
    let Some(client_id) = field(&body, "client_id") else {
        return invalid_request("client_id is required");
    };
    let scope = field(&body, "scope").unwrap_or("");
    let device = state.platform.create_device(client_id, scope);
    let config = state.platform.config();
    let verification_uri = format!("{}/device", state.base_url);
    let expiry = config.device_expiry;
    let expires_in = expiry.as_secs() + u64::from(expiry.subsec_nanos() > 0);
    json_response(
        StatusCode::OK,
        &json!({
            "device_code": device.device_code,
            "user_code": device.user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": format!(
                "{verification_uri}?user_code={}", query_encode(&device.user_code)
            ),
            "expires_in": expires_in,
            "interval": seconds(config.device_interval),
        }),
    )
}

/// `GET /device?user_code=X[&deny=1]`: approves (or denies) a pending device login, as a
/// person confirming the code in the dashboard would.
async fn device_page(State(state): State<SandboxState>, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let param = |name: &str| first_value(&pairs, name);
    let Some(user_code) = param("user_code").filter(|code| !code.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Missing code",
            "Add ?user_code=...",
        );
    };
    let approve = !param("deny").is_some_and(|value| !matches!(value, "0" | "false"));
    if !state.platform.decide_device(user_code, approve) {
        return page(
            StatusCode::NOT_FOUND,
            "Unknown code",
            "No pending device login has this code (or it expired).",
        );
    }
    if approve {
        page(
            StatusCode::OK,
            "Device approved",
            "You can return to your terminal.",
        )
    } else {
        page(StatusCode::OK, "Device denied", "The login was refused.")
    }
}

/// A tiny HTML page; `title` and `text` are fixed strings, never request data.
fn page(status: StatusCode, title: &'static str, text: &'static str) -> Response {
    let html = format!(
        "<!doctype html><html><head><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_only() {
        assert!(is_loopback_redirect("http://127.0.0.1:5123/callback"));
        assert!(is_loopback_redirect("http://127.0.0.1:5123"));
        assert!(is_loopback_redirect("http://127.0.0.1:5123/cb?x=1"));
        assert!(!is_loopback_redirect("http://localhost:5123/callback"));
        assert!(!is_loopback_redirect("https://127.0.0.1:5123/callback"));
        assert!(!is_loopback_redirect("http://127.0.0.1/callback"));
        assert!(!is_loopback_redirect("http://127.0.0.1:0/callback"));
        assert!(!is_loopback_redirect("http://127.0.0.1:99999/callback"));
        assert!(!is_loopback_redirect("http://127.0.0.1:80@evil.example/"));
        assert!(!is_loopback_redirect("http://127.0.0.1:80/cb#frag"));
    }
}
