//! The read-only listings: `GET /api/database/tables`, `/indexes`, `/policies`, `/triggers`
//! and `/functions`, each for the schema in `?schema=` (default `public`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::{connect, query_rows};
use crate::sandbox::auth::AdminKey;
use crate::sandbox::errors::{json_response, ApiError};
use crate::sandbox::state::SandboxState;
use crate::sandbox::url::query_param;

/// The schema named by `?schema=`, `public` when absent or blank.
fn schema(query: &Option<String>) -> Value {
    let schema = query_param(query.as_deref(), "schema");
    let schema = schema.as_deref().map(str::trim).filter(|s| !s.is_empty());
    Value::String(schema.unwrap_or("public").to_owned())
}

const TABLES: &str = "SELECT table_name FROM information_schema.tables \
    WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name";

const INDEXES: &str = r#"SELECT pi.tablename AS "tableName", pi.indexname AS "indexName",
       pi.indexdef AS "indexDef", ix.indisunique AS "isUnique", ix.indisprimary AS "isPrimary"
FROM pg_indexes pi
JOIN pg_namespace ns ON ns.nspname = pi.schemaname
JOIN pg_class ic ON ic.relname = pi.indexname AND ic.relnamespace = ns.oid
JOIN pg_index ix ON ix.indexrelid = ic.oid
WHERE pi.schemaname = $1
ORDER BY pi.tablename, pi.indexname"#;

const POLICIES: &str = r#"SELECT tablename AS "tableName", policyname AS "policyName", cmd,
       roles, qual, with_check AS "withCheck"
FROM pg_policies WHERE schemaname = $1 ORDER BY tablename, policyname"#;

const TRIGGERS: &str = r#"SELECT event_object_table AS "tableName", trigger_name AS "triggerName",
       action_timing AS "actionTiming", event_manipulation AS "eventManipulation",
       action_orientation AS "actionOrientation", action_condition AS "actionCondition",
       action_statement AS "actionStatement"
FROM information_schema.triggers WHERE event_object_schema = $1
ORDER BY event_object_table, trigger_name"#;

/// Functions, procedures and window functions of the schema, without those an extension
/// owns.
pub(super) const FUNCTIONS: &str = r#"SELECT p.proname AS "functionName",
       pg_get_functiondef(p.oid) AS "functionDef", p.prokind AS "kind"
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1 AND p.prokind IN ('f', 'p', 'w')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY p.proname"#;

/// A bare array of table names.
pub(super) async fn tables(
    _key: AdminKey,
    State(state): State<SandboxState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let client = connect(&state).await?;
    let rows = query_rows(&client, TABLES, &[schema(&query)]).await?;
    let names: Vec<Value> = rows
        .into_iter()
        .filter_map(|mut row| row.remove("table_name"))
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(names)))
}

async fn listing(
    state: &SandboxState,
    query: &Option<String>,
    sql: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let client = connect(state).await?;
    let rows = query_rows(&client, sql, &[schema(query)]).await?;
    Ok(json_response(StatusCode::OK, &json!({ key: rows })))
}

pub(super) async fn indexes(
    _key: AdminKey,
    State(state): State<SandboxState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    listing(&state, &query, INDEXES, "indexes").await
}

pub(super) async fn policies(
    _key: AdminKey,
    State(state): State<SandboxState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    listing(&state, &query, POLICIES, "policies").await
}

pub(super) async fn triggers(
    _key: AdminKey,
    State(state): State<SandboxState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    listing(&state, &query, TRIGGERS, "triggers").await
}

pub(super) async fn functions(
    _key: AdminKey,
    State(state): State<SandboxState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    listing(&state, &query, FUNCTIONS, "functions").await
}
