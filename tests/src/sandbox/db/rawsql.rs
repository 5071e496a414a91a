//! `POST /api/database/advance/rawsql` (project admin) and `.../rawsql/unrestricted` (root):
//! run SQL text and answer `{"rows","rowCount","fields"}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{connect, execute, Outcome};
use crate::sandbox::auth::AdminKey;
use crate::sandbox::errors::{json_response, ApiError};
use crate::sandbox::json_body::{request_json, type_name};
use crate::sandbox::sql_text;
use crate::sandbox::state::SandboxState;

pub(super) async fn admin(
    _key: AdminKey,
    State(state): State<SandboxState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    run(&state, &request_json(&headers, &body), false).await
}

pub(super) async fn unrestricted(
    _key: AdminKey,
    State(state): State<SandboxState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    run(&state, &request_json(&headers, &body), true).await
}

/// A validated request body.
struct RawSql {
    query: String,
    params: Vec<Value>,
}

/// Checks the body as the backend's schema does, with its messages
/// (`query: Required`, `query: Query is required`, ...).
fn parse_body(body: &Value) -> Result<RawSql, ApiError> {
    let mut problems = Vec::new();
    let query = match body.get("query") {
        None => {
            problems.push("query: Required".to_owned());
            String::new()
        }
        Some(Value::String(query)) if query.is_empty() => {
            problems.push("query: Query is required".to_owned());
            String::new()
        }
        Some(Value::String(query)) => query.clone(),
        Some(other) => {
            problems.push(format!(
                "query: Expected string, received {}",
                type_name(other)
            ));
            String::new()
        }
    };
    let params = match body.get("params") {
        None => Vec::new(),
        Some(Value::Array(params)) => params.clone(),
        Some(other) => {
            problems.push(format!(
                "params: Expected array, received {}",
                type_name(other)
            ));
            Vec::new()
        }
    };
    let explain = match body.get("explain") {
        None => false,
        Some(Value::Bool(explain)) => *explain,
        Some(other) => {
            problems.push(format!(
                "explain: Expected boolean, received {}",
                type_name(other)
            ));
            false
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid_input(problems.join(", ")));
    }
    let query = if explain {
        format!("EXPLAIN {query}")
    } else {
        query
    };
    Ok(RawSql { query, params })
}

async fn run(state: &SandboxState, body: &Value, unrestricted: bool) -> Result<Response, ApiError> {
    let request = parse_body(body)?;
    sql_text::guard(&request.query, unrestricted).map_err(ApiError::forbidden)?;

    let client = connect(state).await?;
    let timeout_ms = state.statement_timeout.as_millis();
    client
        .batch_execute(&format!("SET statement_timeout = {timeout_ms}"))
        .await
        .map_err(|err| super::pg_error(&err))?;

    let outcome = execute(&client, &request.query, &request.params)
        .await
        .map_err(|err| err.into_api_error())?;
    let body = match outcome {
        Outcome::Multi => json!({ "rows": [] }),
        Outcome::Single(result) => {
            let fields: Vec<Value> = result
                .fields
                .iter()
                .map(|(name, type_oid)| json!({ "name": name, "dataTypeID": type_oid }))
                .collect();
            json!({
                "rows": result.rows,
                "rowCount": result.row_count,
                "fields": fields,
            })
        }
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: Value) -> String {
        match parse_body(&body) {
            Ok(_) => String::new(),
            Err(err) => err.message,
        }
    }

    #[test]
    fn validates_like_the_backend() {
        assert_eq!(message(json!({})), "query: Required");
        assert_eq!(message(json!({"query": ""})), "query: Query is required");
        assert_eq!(
            message(json!({"query": 1})),
            "query: Expected string, received number"
        );
        assert_eq!(
            message(json!({"query": null, "params": "x"})),
            "query: Expected string, received null, params: Expected array, received string"
        );
        assert_eq!(message(json!({"query": "select 1", "params": [1]})), "");
    }
}
