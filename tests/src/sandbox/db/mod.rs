//! The database routes (`/api/database/...`), backed by real PostgreSQL at `DATABASE_URL`.
//!
//! Every request opens its own connection, so session settings never leak from one request
//! to the next. Values come back as node-postgres would give them to the backend (see
//! [`crate::sandbox::pg_json`]): statements are prepared to learn their column types, then
//! run with the simple-query protocol, whose results are text.

mod export;
mod import;
mod meta;
mod rawsql;
mod rpc;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{Map, Value};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use super::errors::ApiError;
use super::pg_json;
use super::sql_text;
use super::state::SandboxState;

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new()
        .route("/api/database/advance/rawsql", post(rawsql::admin))
        .route(
            "/api/database/advance/rawsql/unrestricted",
            post(rawsql::unrestricted),
        )
        .route("/api/database/advance/export", post(export::export))
        .route("/api/database/advance/import", post(import::import))
        .route("/api/database/tables", get(meta::tables))
        .route("/api/database/indexes", get(meta::indexes))
        .route("/api/database/policies", get(meta::policies))
        .route("/api/database/triggers", get(meta::triggers))
        .route("/api/database/functions", get(meta::functions))
        .route("/api/database/rpc/{name}", get(rpc::call).post(rpc::call))
}

/// Hints the backend attaches to mapped PostgreSQL errors.
mod next_actions {
    pub const CHECK_TABLE_EXISTS: &str = "The resource you are trying to access does not exist. Please check the table with get metadata tool and try again.";
    pub const CHECK_REFERENCE_EXISTS: &str = "The referenced record does not exist. Please check the reference with get metadata tool and try again.";
    pub const CHECK_RLS_POLICY: &str = "A row-level security policy denied this operation. Verify the calling user owns the row (uploaded_by / user_id matches the JWT sub), or that an appropriate INSERT/UPDATE/DELETE policy exists for this role.";

    pub fn check_unique_field(field: &str) -> String {
        format!("A record with this field({field}) already exists. You can query the existing record by using the query tool and then try again.")
    }

    pub fn fill_required_field(field: &str) -> String {
        format!("The {field} field is required and cannot be empty. Please fill in a value and try again.")
    }
}

/// Session settings that make PostgreSQL's text output match what the conversion expects.
const SESSION_OPTIONS: &str =
    "-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c bytea_output=hex";

/// Opens a connection to the sandbox's database.
pub(crate) async fn connect(state: &SandboxState) -> Result<Client, ApiError> {
    let Some(url) = state.database_url.as_deref() else {
        return Err(ApiError::internal(
            "The sandbox has no database: start it with DATABASE_URL set to a PostgreSQL URL",
        ));
    };
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|err| ApiError::internal(format!("Invalid DATABASE_URL: {err}")))?;
    config
        .options(SESSION_OPTIONS)
        .application_name("insforge-sandbox");
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|err| ApiError::internal(format!("Could not connect to the database: {err}")))?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "database connection ended");
        }
    });
    Ok(client)
}

/// Roles every InsForge database has, which policies and grants name (`TO anon`). Roles
/// belong to the whole server, so they are made once, if missing.
const INSFORGE_ROLES: &str = r#"DO $roles$
DECLARE name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['anon', 'authenticated', 'project_admin'] LOOP
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', name);
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- another sandbox made it meanwhile
    END;
  END LOOP;
END
$roles$"#;

/// Makes sure the database server has InsForge's roles. Failures are only logged: the
/// sandbox still starts, and the database routes report the problem when used.
pub(crate) async fn prepare_database(state: &SandboxState) {
    if state.database_url.is_none() {
        return;
    }
    let attempt = async {
        let client = connect(state).await.map_err(|err| err.message)?;
        client
            .batch_execute(INSFORGE_ROLES)
            .await
            .map_err(|err| err.to_string())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), attempt).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!("could not prepare the database: {err}"),
        Err(_) => tracing::warn!("could not prepare the database: timed out"),
    }
}

/// The backend's answer to a PostgreSQL error.
pub(crate) fn pg_error(err: &tokio_postgres::Error) -> ApiError {
    let Some(db) = err.as_db_error() else {
        return ApiError::internal(err.to_string());
    };
    let message = db.message().to_owned();
    match db.code().code() {
        "23505" => {
            let field = db.detail().and_then(unique_field).unwrap_or("field");
            ApiError::new(StatusCode::CONFLICT, "DATABASE_DUPLICATE", message)
                .with_next_actions(next_actions::check_unique_field(field))
        }
        "23503" => ApiError::new(
            StatusCode::BAD_REQUEST,
            "DATABASE_CONSTRAINT_VIOLATION",
            message,
        )
        .with_next_actions(next_actions::CHECK_REFERENCE_EXISTS),
        "23502" => ApiError::new(StatusCode::BAD_REQUEST, "MISSING_FIELD", message)
            .with_next_actions(next_actions::fill_required_field(db.column().unwrap_or(""))),
        "42P01" | "42703" => ApiError::new(
            StatusCode::BAD_REQUEST,
            "DATABASE_VALIDATION_ERROR",
            message,
        )
        .with_next_actions(next_actions::CHECK_TABLE_EXISTS),
        "42501" => ApiError::forbidden(message).with_next_actions(next_actions::CHECK_RLS_POLICY),
        "57014" => {
            ApiError::internal("Query timeout: The query took longer than 30 seconds to execute")
        }
        _ => ApiError::internal(message),
    }
}

/// The column named in a unique violation's detail, `Key (id)=(1) already exists.`; only a
/// single plain column name counts.
fn unique_field(detail: &str) -> Option<&str> {
    let rest = detail.strip_prefix("Key (")?;
    let (name, after) = rest.split_once(')')?;
    let plain = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    (plain && after.starts_with('=')).then_some(name)
}

/// The outcome of running SQL text.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// One statement: its rows, columns and (for commands that report one) row count.
    Single(QueryResult),
    /// Several statements: node-postgres hands back a list, of which the backend keeps
    /// nothing.
    Multi,
}

#[derive(Debug, Default)]
pub(crate) struct QueryResult {
    pub rows: Vec<Map<String, Value>>,
    /// Column names and type OIDs.
    pub fields: Vec<(String, u32)>,
    pub row_count: Option<u64>,
}

/// Why SQL could not be run.
#[derive(Debug)]
pub(crate) enum QueryError {
    /// PostgreSQL could not parse it (the guard's 403).
    Unparseable,
    Pg(tokio_postgres::Error),
}

impl QueryError {
    pub fn into_api_error(self) -> ApiError {
        match self {
            Self::Unparseable => ApiError::forbidden(sql_text::UNPARSEABLE),
            Self::Pg(err) => pg_error(&err),
        }
    }
}

fn is_syntax_error(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&tokio_postgres::error::SqlState::SYNTAX_ERROR)
}

fn is_multiple_commands(err: &tokio_postgres::Error) -> bool {
    err.as_db_error()
        .is_some_and(|db| db.message().contains("cannot insert multiple commands"))
}

/// Runs SQL text as node-postgres's `client.query(text, params)` would: one statement
/// (bound to `params` if any) gives rows and fields; several statements, allowed only
/// without parameters, run in one implicit transaction and give nothing back.
pub(crate) async fn execute(
    client: &Client,
    sql: &str,
    params: &[Value],
) -> Result<Outcome, QueryError> {
    let statement = match client.prepare(sql).await {
        Ok(statement) => statement,
        Err(err) if is_multiple_commands(&err) && params.is_empty() => {
            return match client.simple_query(sql).await {
                Ok(_) => Ok(Outcome::Multi),
                Err(err) if is_syntax_error(&err) => Err(QueryError::Unparseable),
                Err(err) => Err(QueryError::Pg(err)),
            };
        }
        Err(err) if is_syntax_error(&err) && !is_multiple_commands(&err) => {
            return Err(QueryError::Unparseable)
        }
        Err(err) => return Err(QueryError::Pg(err)),
    };
    let fields: Vec<(String, u32)> = statement
        .columns()
        .iter()
        .map(|column| (column.name().to_owned(), column.type_().oid()))
        .collect();

    let messages = if params.is_empty() {
        client.simple_query(sql).await
    } else {
        run_with_params(client, sql, params).await
    }
    .map_err(QueryError::Pg)?;

    let mut result = QueryResult {
        fields,
        ..QueryResult::default()
    };
    let mut count = 0;
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => {
                let mut object = Map::new();
                for i in 0..row.len() {
                    let (name, type_oid) = match result.fields.get(i) {
                        Some((name, type_oid)) => (name.clone(), *type_oid),
                        None => (row.columns()[i].name().to_owned(), pg_json::oid::TEXT),
                    };
                    object.insert(name, pg_json::to_json(type_oid, row.get(i)));
                }
                result.rows.push(object);
            }
            SimpleQueryMessage::CommandComplete(rows) => count = rows,
            _ => {}
        }
    }
    let counts = sql_text::split(sql)
        .first()
        .is_some_and(sql_text::Statement::reports_row_count);
    result.row_count = counts.then_some(count);
    Ok(Outcome::Single(result))
}

/// Binds parameters the way node-postgres sends them (as text of unspecified type), through
/// a prepared statement executed with literal arguments so that results still come back as
/// text.
async fn run_with_params(
    client: &Client,
    sql: &str,
    params: &[Value],
) -> Result<Vec<SimpleQueryMessage>, tokio_postgres::Error> {
    client
        .simple_query(&format!("PREPARE insforge_sandbox_stmt AS {sql}"))
        .await?;
    let arguments: Vec<String> = params.iter().map(param_literal).collect();
    let result = client
        .simple_query(&format!(
            "EXECUTE insforge_sandbox_stmt({})",
            arguments.join(", ")
        ))
        .await;
    let _ = client
        .simple_query("DEALLOCATE insforge_sandbox_stmt")
        .await;
    result
}

/// A parameter as node-postgres prepares it, written as an untyped SQL literal.
fn param_literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        other => sql_text::quote_literal(&param_text(other)),
    }
}

fn param_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => array_literal(items),
        Value::Object(_) => value.to_string(),
    }
}

/// node-postgres's array parameter: `{"a","b",NULL,{"nested"}}`.
fn array_literal(items: &[Value]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::Null => "NULL".to_owned(),
            Value::Array(inner) => array_literal(inner),
            other => Value::String(param_text(other)).to_string(),
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Rows of a query the sandbox itself makes (catalog lookups), converted like user rows.
pub(crate) async fn query_rows(
    client: &Client,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Map<String, Value>>, ApiError> {
    match execute(client, sql, params).await {
        Ok(Outcome::Single(result)) => Ok(result.rows),
        Ok(Outcome::Multi) => Ok(Vec::new()),
        Err(err) => Err(err.into_api_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unique_field_reads_single_columns() {
        assert_eq!(unique_field("Key (id)=(1) already exists."), Some("id"));
        assert_eq!(unique_field("Key (a, b)=(1, 2) already exists."), None);
    }

    #[test]
    fn params_are_prepared_like_node_postgres() {
        assert_eq!(param_literal(&json!(null)), "NULL");
        assert_eq!(param_literal(&json!(true)), "'true'");
        assert_eq!(param_literal(&json!(12)), "'12'");
        assert_eq!(param_literal(&json!("it's")), "'it''s'");
        assert_eq!(param_literal(&json!({"a": 1})), "'{\"a\":1}'");
        assert_eq!(
            param_literal(&json!(["a", null, 2, ["b"]])),
            "'{\"a\",NULL,\"2\",{\"b\"}}'"
        );
    }
}
