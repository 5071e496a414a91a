//! `GET /api/metadata`: the backend's description of the project, behind the project's API
//! key, with the keys in the backend's order.
//!
//! `database` comes from the real PostgreSQL: the base tables of schema `public` with an
//! exact `count(*)` each (the backend may estimate; tests want stable numbers), and
//! `pg_database_size` in GiB. The rest is fixed, since the sandbox has no auth settings,
//! storage, functions or realtime to report: `auth` holds constant settings shaped like a
//! configured backend's, `storage` has no buckets, `functions` and the realtime channels and
//! policies are empty, and `version` is `"1.0.0"`, as the self-hosted backend reports.
//!
//! `?format=markdown` is ignored: the answer is always JSON (the backend would answer
//! `text/markdown`, which the CLI never asks for).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;

use super::auth::AdminKey;
use super::db::{connect, pg_error};
use super::errors::{json_response, ApiError};
use super::pg_json::js_number;
use super::sql_text::quote_ident;
use super::state::SandboxState;

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new().route("/api/metadata", get(metadata))
}

const TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name";

const DATABASE_SIZE: &str = "SELECT pg_database_size(current_database())";

const HINT: &str = "Record counts are exact. The database endpoints list each table's \
    indexes, policies and triggers.";

const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

async fn metadata(_key: AdminKey, State(state): State<SandboxState>) -> Result<Response, ApiError> {
    let database = database(&state).await?;
    let body = json!({
        "auth": auth(),
        "database": database,
        "storage": { "buckets": [], "totalSizeInGB": 0 },
        "functions": [],
        "realtime": {
            "channels": [],
            "permissions": {
                "subscribe": { "policies": [] },
                "publish": { "policies": [] }
            }
        },
        "version": "1.0.0"
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// Constant auth settings with every field the backend sends.
fn auth() -> Value {
    json!({
        "oAuthProviders": ["google", "github"],
        "customOAuthProviders": [],
        "smtpConfig": {
            "enabled": false,
            "host": "",
            "port": 587,
            "username": "",
            "hasPassword": false,
            "senderEmail": "",
            "senderName": "",
            "minIntervalSeconds": 60
        },
        "requireEmailVerification": false,
        "passwordMinLength": 6,
        "requireNumber": false,
        "requireLowercase": false,
        "requireUppercase": false,
        "requireSpecialChar": false,
        "verifyEmailMethod": "code",
        "resetPasswordMethod": "code",
        "allowedRedirectUrls": [],
        "disableSignup": false
    })
}

async fn database(state: &SandboxState) -> Result<Value, ApiError> {
    let client = connect(state).await?;
    let names: Vec<String> = client
        .query(TABLES, &[])
        .await
        .map_err(|err| pg_error(&err))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let sql = format!("SELECT count(*) FROM public.{}", quote_ident(&name));
        let count: i64 = match client.query_one(&sql, &[]).await {
            Ok(row) => row.get(0),
            // Dropped since it was listed.
            Err(err) if err.code() == Some(&SqlState::UNDEFINED_TABLE) => continue,
            Err(err) => return Err(pg_error(&err)),
        };
        tables.push(json!({ "tableName": name, "recordCount": count }));
    }
    let bytes: i64 = client
        .query_one(DATABASE_SIZE, &[])
        .await
        .map_err(|err| pg_error(&err))?
        .get(0);
    Ok(json!({
        "tables": tables,
        "totalSizeInGB": js_number(bytes as f64 / BYTES_PER_GB),
        "hint": HINT,
    }))
}
