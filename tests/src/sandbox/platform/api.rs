//! The platform API: password login, the profile, organisations and projects. Everything
//! but login needs `Authorization: Bearer <token>`, where the token is a live access token
//! or the sandbox's user API key.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::seed::test_user;
use crate::sandbox::errors::json_response;
use crate::sandbox::state::SandboxState;

pub(super) fn routes() -> Router<SandboxState> {
    Router::new()
        .route("/auth/v1/login", post(login))
        .route("/auth/v1/profile", get(profile))
        .route("/organizations/v1", get(organizations))
        .route(
            "/organizations/v1/{org_id}/projects",
            get(org_projects).post(create_project),
        )
        .route("/projects/v1/{project_id}", get(project))
        .route(
            "/projects/v1/{project_id}/access-api-key",
            get(access_api_key),
        )
}

/// A platform error body: `{"error","message"?}`.
fn platform_error(status: StatusCode, error: &str, message: Option<&str>) -> Response {
    let mut body = json!({ "error": error });
    if let Some(message) = message {
        body["message"] = json!(message);
    }
    json_response(status, &body)
}

fn not_found(message: &str) -> Response {
    platform_error(StatusCode::NOT_FOUND, "NOT_FOUND", Some(message))
}

/// Extractor admitting requests with a bearer token the platform accepts. Put it first in
/// a handler's arguments, so the token is checked before anything else.
pub(crate) struct SignedIn;

impl FromRequestParts<SandboxState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SandboxState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        if !token.is_empty() && state.platform.accepts_bearer(token) {
            Ok(SignedIn)
        } else {
            Err(platform_error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                Some("Invalid or expired token"),
            ))
        }
    }
}

/// `POST /auth/v1/login`: any non-empty email and password sign in as the test user. The
/// refresh token comes only in the `refreshToken` cookie.
async fn login(State(state): State<SandboxState>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let non_empty = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .is_some_and(|value| !value.is_empty())
    };
    if !(non_empty("email") && non_empty("password")) {
        return platform_error(StatusCode::UNAUTHORIZED, "Invalid email or password", None);
    }
    let pair = state.platform.issue_tokens();
    let mut response = json_response(
        StatusCode::OK,
        &json!({ "token": pair.access, "user": test_user() }),
    );
    let cookie = format!(
        "refreshToken={}; Path=/; HttpOnly; SameSite=Lax",
        pair.refresh
    );
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /auth/v1/profile`.
async fn profile(_: SignedIn) -> Response {
    json_response(StatusCode::OK, &json!({ "user": test_user() }))
}

/// `GET /organizations/v1`.
async fn organizations(_: SignedIn, State(state): State<SandboxState>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "organizations": state.platform.organizations() }),
    )
}

/// A path parameter as extracted; a failure (a bad percent escape) reads as "not found".
type PathParam = Result<Path<String>, PathRejection>;

/// The path parameter, or `None` when it does not decode.
fn path_id(path: PathParam) -> Option<String> {
    path.ok().map(|Path(id)| id)
}

/// `GET /organizations/v1/{orgId}/projects`.
async fn org_projects(
    _: SignedIn,
    State(state): State<SandboxState>,
    org_id: PathParam,
) -> Response {
    match path_id(org_id).and_then(|id| state.platform.org_projects(&id)) {
        Some(projects) => json_response(StatusCode::OK, &json!({ "projects": projects })),
        None => not_found("Organization not found"),
    }
}

/// `POST /organizations/v1/{orgId}/projects` `{"name","region"?}`: a new project, `creating`
/// until the configured delay has passed.
async fn create_project(
    _: SignedIn,
    State(state): State<SandboxState>,
    org_id: PathParam,
    body: Bytes,
) -> Response {
    let Some(org_id) = path_id(org_id) else {
        return not_found("Organization not found");
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let invalid =
        |message: &str| platform_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", Some(message));
    let name = match body.get("name") {
        Some(Value::String(name)) if name.chars().count() >= 2 => name.as_str(),
        _ => return invalid("Project name must be at least 2 characters"),
    };
    let region = match body.get("region") {
        None | Some(Value::Null) => None,
        Some(Value::String(region)) if region.is_empty() => None,
        Some(Value::String(region)) => Some(region.as_str()),
        Some(_) => return invalid("region must be a string"),
    };
    match state.platform.create_project(&org_id, name, region) {
        Some(project) => json_response(StatusCode::CREATED, &json!({ "project": project })),
        None => not_found("Organization not found"),
    }
}

/// `GET /projects/v1/{projectId}`, with the project's current status.
async fn project(
    _: SignedIn,
    State(state): State<SandboxState>,
    project_id: PathParam,
) -> Response {
    match path_id(project_id).and_then(|id| state.platform.project(&id)) {
        Some(project) => json_response(StatusCode::OK, &json!({ "project": project })),
        None => not_found("Project not found"),
    }
}

/// `GET /projects/v1/{projectId}/access-api-key`: the sandbox's own project API key, so a
/// cloud link made against the sandbox also works on its backend routes.
async fn access_api_key(
    _: SignedIn,
    State(state): State<SandboxState>,
    project_id: PathParam,
) -> Response {
    match path_id(project_id).and_then(|id| state.platform.project(&id)) {
        Some(_) => json_response(StatusCode::OK, &json!({ "access_api_key": state.api_key })),
        None => not_found("Project not found"),
    }
}
