//! `POST /api/database/advance/export`: the `public` schema (or some of its tables) as a SQL
//! script or a JSON document, answered as `{"format","data","timestamp"}` plus
//! `truncatedTables`/`rowLimit` when a table had more rows than the limit.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use tokio_postgres::Client;

use super::meta::FUNCTIONS;
use super::{connect, execute, query_rows, Outcome};
use crate::sandbox::auth::AdminKey;
use crate::sandbox::errors::{json_response, ApiError};
use crate::sandbox::json_body::{request_json, type_name};
use crate::sandbox::pg_json::iso_from_millis;
use crate::sandbox::sql_text::{format_ident, quote_literal};
use crate::sandbox::state::SandboxState;

const DEFAULT_ROW_LIMIT: u64 = 1000;
const MAX_ROW_LIMIT: u64 = 10_000;

#[derive(Debug, PartialEq)]
struct ExportRequest {
    json: bool,
    include_data: bool,
    tables: Vec<String>,
    include_functions: bool,
    include_sequences: bool,
    include_views: bool,
    row_limit: u64,
}

pub(super) async fn export(
    _key: AdminKey,
    State(state): State<SandboxState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = parse_body(&request_json(&headers, &body))?;
    let client = connect(&state).await?;
    let timestamp = iso_from_millis(now_millis());

    let tables = if request.tables.is_empty() {
        let rows = query_rows(
            &client,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
            &[],
        )
        .await?;
        rows.into_iter()
            .filter_map(|mut row| match row.remove("tablename") {
                Some(Value::String(name)) => Some(name),
                _ => None,
            })
            .collect()
    } else {
        request.tables.clone()
    };

    let mut truncated = Vec::new();
    let data = if request.json {
        json_export(&client, &request, &tables, &timestamp, &mut truncated).await?
    } else {
        Value::String(sql_export(&client, &request, &tables, &timestamp, &mut truncated).await?)
    };

    let mut body = Map::new();
    body.insert(
        "format".into(),
        json!(if request.json { "json" } else { "sql" }),
    );
    body.insert("data".into(), data);
    body.insert("timestamp".into(), json!(timestamp));
    if !truncated.is_empty() {
        body.insert("truncatedTables".into(), json!(truncated));
        body.insert("rowLimit".into(), json!(request.row_limit));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Checks the body as the backend's schema does, with its messages.
fn parse_body(body: &Value) -> Result<ExportRequest, ApiError> {
    let mut problems = Vec::new();
    let json = match body.get("format") {
        None => false,
        Some(Value::String(format)) if format == "sql" => false,
        Some(Value::String(format)) if format == "json" => true,
        Some(Value::String(other)) => {
            problems.push(format!(
                "format: Invalid enum value. Expected 'sql' | 'json', received '{other}'"
            ));
            false
        }
        Some(other) => {
            problems.push(format!(
                "format: Expected 'sql' | 'json', received {}",
                type_name(other)
            ));
            false
        }
    };
    let mut flag = |name: &str, default: bool| match body.get(name) {
        None => default,
        Some(Value::Bool(value)) => *value,
        Some(other) => {
            problems.push(format!(
                "{name}: Expected boolean, received {}",
                type_name(other)
            ));
            default
        }
    };
    let include_data = flag("includeData", true);
    let include_functions = flag("includeFunctions", false);
    let include_sequences = flag("includeSequences", false);
    let include_views = flag("includeViews", false);
    let tables = match body.get("tables") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut tables = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(name) => tables.push(name.clone()),
                    other => problems.push(format!(
                        "tables.{i}: Expected string, received {}",
                        type_name(other)
                    )),
                }
            }
            tables
        }
        Some(other) => {
            problems.push(format!(
                "tables: Expected array, received {}",
                type_name(other)
            ));
            Vec::new()
        }
    };
    let row_limit = match body.get("rowLimit") {
        None => DEFAULT_ROW_LIMIT,
        Some(Value::Number(number)) => match number.as_f64() {
            Some(n) if n.fract() != 0.0 => {
                problems.push("rowLimit: Expected integer, received float".to_owned());
                DEFAULT_ROW_LIMIT
            }
            Some(n) if n <= 0.0 => {
                problems.push("rowLimit: Number must be greater than 0".to_owned());
                DEFAULT_ROW_LIMIT
            }
            Some(n) if n > MAX_ROW_LIMIT as f64 => {
                problems.push(format!(
                    "rowLimit: Number must be less than or equal to {MAX_ROW_LIMIT}"
                ));
                DEFAULT_ROW_LIMIT
            }
            Some(n) => n as u64,
            None => DEFAULT_ROW_LIMIT,
        },
        Some(other) => {
            problems.push(format!(
                "rowLimit: Expected number, received {}",
                type_name(other)
            ));
            DEFAULT_ROW_LIMIT
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid_input(problems.join(", ")));
    }
    Ok(ExportRequest {
        json,
        include_data,
        tables,
        include_functions,
        include_sequences,
        include_views,
        row_limit,
    })
}

fn text(row: &Map<String, Value>, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn opt_text(row: &Map<String, Value>, key: &str) -> Option<String> {
    match row.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    }
}

/// A table's rows (up to the limit), and its full row count when that is larger.
async fn table_rows(
    client: &Client,
    table: &str,
    limit: u64,
) -> Result<(Vec<Map<String, Value>>, Option<u64>), ApiError> {
    let ident = format_ident(table);
    // The count is only a hint: a failure here surfaces from the SELECT below.
    let total = match query_rows(
        client,
        &format!("SELECT count(*) AS count FROM {ident}"),
        &[],
    )
    .await
    {
        Ok(rows) => rows
            .first()
            .map(|row| text(row, "count"))
            .and_then(|n| n.parse::<u64>().ok()),
        Err(_) => None,
    };
    let rows = match execute(client, &format!("SELECT * FROM {ident} LIMIT {limit}"), &[]).await {
        Ok(Outcome::Single(result)) => result.rows,
        Ok(Outcome::Multi) => Vec::new(),
        Err(err) => return Err(err.into_api_error()),
    };
    Ok((rows, total.filter(|total| *total > limit)))
}

/// A row value written as the backend writes it into an INSERT: strings (dates included)
/// quoted, JSON values as quoted JSON text, numbers and booleans bare.
fn sql_value(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::String(text) => quote_literal(text),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => quote_literal(&value.to_string()),
    }
}

const COLUMNS: &str = r#"SELECT column_name AS "columnName", data_type AS "dataType",
       character_maximum_length AS "characterMaximumLength", is_nullable AS "isNullable",
       column_default AS "columnDefault"
FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = $1
ORDER BY ordinal_position"#;

const INDEXES: &str = r#"SELECT pi.indexname, pi.indexdef, ix.indisunique AS "isUnique",
       ix.indisprimary AS "isPrimary"
FROM pg_indexes pi
JOIN pg_namespace ns ON ns.nspname = pi.schemaname
JOIN pg_class ic ON ic.relname = pi.indexname AND ic.relnamespace = ns.oid
JOIN pg_index ix ON ix.indexrelid = ic.oid
WHERE pi.schemaname = 'public' AND pi.tablename = $1
ORDER BY pi.indexname"#;

const FOREIGN_KEYS: &str = r#"SELECT c.conname AS "constraintName", src.attname AS "columnName",
       ref_table.relname AS "foreignTableName", ref.attname AS "foreignColumnName",
       k.pos AS "ordinalPosition",
       CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
            WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
       END AS "deleteRule",
       CASE c.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
            WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
       END AS "updateRule"
FROM pg_constraint c
JOIN pg_class tbl ON tbl.oid = c.conrelid
JOIN pg_namespace ns ON ns.oid = tbl.relnamespace
JOIN pg_class ref_table ON ref_table.oid = c.confrelid
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(src_num, ref_num, pos)
JOIN pg_attribute src ON src.attrelid = c.conrelid AND src.attnum = k.src_num
JOIN pg_attribute ref ON ref.attrelid = c.confrelid AND ref.attnum = k.ref_num
WHERE c.contype = 'f' AND ns.nspname = 'public' AND tbl.relname = $1
ORDER BY c.conname, k.pos"#;

const RLS: &str = "SELECT c.relrowsecurity AS enabled FROM pg_class c \
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = $1";

const POLICIES_JSON: &str = r#"SELECT policyname, cmd, roles, qual, with_check AS "withCheck"
FROM pg_policies WHERE schemaname = 'public' AND tablename = $1 ORDER BY policyname"#;

const POLICIES_SQL: &str = r#"SELECT quote_ident(policyname) AS name, quote_ident(tablename) AS tbl,
       cmd, roles <> '{}'::name[] AS has_roles, array_to_string(roles, ', ') AS roles,
       qual, with_check
FROM pg_policies WHERE schemaname = 'public' AND tablename = $1 ORDER BY policyname"#;

const TRIGGERS_JSON: &str = r#"SELECT trigger_name AS "triggerName", action_timing AS "actionTiming",
       event_manipulation AS "eventManipulation", action_orientation AS "actionOrientation",
       action_condition AS "actionCondition", action_statement AS "actionStatement",
       action_reference_new_table AS "newTable", action_reference_old_table AS "oldTable"
FROM information_schema.triggers
WHERE event_object_schema = 'public' AND event_object_table = $1
ORDER BY trigger_name"#;

const TRIGGERS_SQL: &str = r#"SELECT quote_ident(trigger_name) AS name, action_timing,
       event_manipulation, quote_ident(event_object_table) AS tbl,
       quote_ident(action_reference_new_table) AS new_table,
       quote_ident(action_reference_old_table) AS old_table,
       action_orientation, action_condition, action_statement
FROM information_schema.triggers
WHERE event_object_schema = 'public' AND event_object_table = $1
ORDER BY trigger_name"#;

const SEQUENCES_JSON: &str = r#"SELECT sequence_name AS "sequenceName", start_value AS "startValue",
       increment, minimum_value AS "minValue", maximum_value AS "maxValue", cycle_option AS "cycle"
FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY sequence_name"#;

const SEQUENCES_SQL: &str = r#"SELECT quote_ident(sequence_name) AS name, start_value, increment,
       minimum_value, maximum_value, cycle_option
FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY sequence_name"#;

const VIEWS_JSON: &str = r#"SELECT table_name AS "viewName", view_definition AS "definition"
FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name"#;

const VIEWS_SQL: &str = r#"SELECT table_name AS name, quote_ident(table_name) AS ident,
       view_definition AS definition
FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name"#;

async fn json_export(
    client: &Client,
    request: &ExportRequest,
    tables: &[String],
    timestamp: &str,
    truncated: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let mut out_tables = Map::new();
    for table in tables {
        let name = [Value::String(table.clone())];
        let schema = query_rows(client, COLUMNS, &name).await?;
        let indexes = query_rows(client, INDEXES, &name).await?;
        let foreign_keys = query_rows(client, FOREIGN_KEYS, &name).await?;
        let rls = query_rows(client, RLS, &name).await?;
        let rls_enabled =
            rls.first().and_then(|row| row.get("enabled")) == Some(&Value::Bool(true));
        let policies = query_rows(client, POLICIES_JSON, &name).await?;
        let triggers = query_rows(client, TRIGGERS_JSON, &name).await?;
        let rows = if request.include_data {
            let (rows, total) = table_rows(client, table, request.row_limit).await?;
            if total.is_some() {
                truncated.push(table.clone());
            }
            rows
        } else {
            Vec::new()
        };
        out_tables.insert(
            table.clone(),
            json!({
                "schema": schema,
                "indexes": indexes,
                "foreignKeys": foreign_keys,
                "rlsEnabled": rls_enabled,
                "policies": policies,
                "triggers": triggers,
                "rows": rows,
            }),
        );
    }
    let public = [Value::String("public".to_owned())];
    let functions = if request.include_functions {
        query_rows(client, FUNCTIONS, &public).await?
    } else {
        Vec::new()
    };
    let sequences = if request.include_sequences {
        query_rows(client, SEQUENCES_JSON, &[]).await?
    } else {
        Vec::new()
    };
    let views = if request.include_views {
        query_rows(client, VIEWS_JSON, &[]).await?
    } else {
        Vec::new()
    };
    Ok(json!({
        "timestamp": timestamp,
        "tables": out_tables,
        "functions": functions,
        "sequences": sequences,
        "views": views,
    }))
}

async fn sql_export(
    client: &Client,
    request: &ExportRequest,
    tables: &[String],
    timestamp: &str,
    truncated: &mut Vec<String>,
) -> Result<String, ApiError> {
    let mut out = format!(
        "-- Database Export\n-- Generated on: {timestamp}\n-- Format: SQL\n-- Include Data: {}\n\
         -- Row Limit: {} rows per table\n\n",
        request.include_data, request.row_limit
    );
    for table in tables {
        out.push_str(&table_schema_sql(client, table).await?);
        if request.include_data {
            let (rows, total) = table_rows(client, table, request.row_limit).await?;
            let mut section = String::new();
            if let Some(total) = total {
                section.push_str(&format!(
                    "-- WARNING: Table contains {total} rows, but only {} rows exported due to row limit\n",
                    request.row_limit
                ));
                truncated.push(table.clone());
            }
            if !rows.is_empty() {
                section.push_str(&format!("-- Data for table: {table}\n"));
                for row in &rows {
                    let columns: Vec<String> = row.keys().map(|c| format_ident(c)).collect();
                    let values: Vec<String> = row.values().map(sql_value).collect();
                    section.push_str(&format!(
                        "INSERT INTO {} ({}) VALUES ({});\n",
                        format_ident(table),
                        columns.join(", "),
                        values.join(", ")
                    ));
                }
            }
            if !section.is_empty() {
                out.push_str(&section);
                out.push('\n');
            }
        }
    }
    if request.include_functions {
        let functions = query_rows(client, FUNCTIONS, &[Value::String("public".into())]).await?;
        if !functions.is_empty() {
            out.push_str("-- Functions and Procedures\n");
            for function in &functions {
                out.push_str(&format!(
                    "-- Function: {}\n{};\n\n",
                    text(function, "functionName"),
                    text(function, "functionDef")
                ));
            }
        }
    }
    if request.include_sequences {
        let sequences = query_rows(client, SEQUENCES_SQL, &[]).await?;
        if !sequences.is_empty() {
            out.push_str("-- Sequences\n");
            for sequence in &sequences {
                let min = opt_text(sequence, "minimum_value")
                    .map_or(" NO MINVALUE".to_owned(), |v| format!(" MINVALUE {v}"));
                let max = opt_text(sequence, "maximum_value")
                    .map_or(" NO MAXVALUE".to_owned(), |v| format!(" MAXVALUE {v}"));
                let cycle = if text(sequence, "cycle_option") == "YES" {
                    " CYCLE"
                } else {
                    " NO CYCLE"
                };
                out.push_str(&format!(
                    "CREATE SEQUENCE IF NOT EXISTS {} START WITH {} INCREMENT BY {}{min}{max}{cycle};\n",
                    text(sequence, "name"),
                    text(sequence, "start_value"),
                    text(sequence, "increment"),
                ));
            }
            out.push('\n');
        }
    }
    if request.include_views {
        let views = query_rows(client, VIEWS_SQL, &[]).await?;
        if !views.is_empty() {
            out.push_str("-- Views\n");
            for view in &views {
                out.push_str(&format!(
                    "-- View: {}\nCREATE OR REPLACE VIEW {} AS {}\n\n",
                    text(view, "name"),
                    text(view, "ident"),
                    text(view, "definition")
                ));
            }
        }
    }
    Ok(out)
}

/// The table's `CREATE TABLE`, its secondary indexes, policies and triggers.
async fn table_schema_sql(client: &Client, table: &str) -> Result<String, ApiError> {
    let name = [Value::String(table.to_owned())];
    let mut out = String::new();

    let columns = query_rows(client, COLUMNS, &name).await?;
    if !columns.is_empty() {
        let definitions: Vec<String> = columns
            .iter()
            .map(|column| {
                let data_type = text(column, "dataType");
                let data_type = match data_type.as_str() {
                    "character varying" => match column.get("characterMaximumLength") {
                        Some(Value::Number(n)) => format!("varchar({n})"),
                        _ => "varchar".to_owned(),
                    },
                    "timestamp with time zone" => "timestamptz".to_owned(),
                    _ => data_type,
                };
                let not_null = if text(column, "isNullable") == "NO" {
                    " NOT NULL"
                } else {
                    ""
                };
                let default = opt_text(column, "columnDefault")
                    .map_or(String::new(), |d| format!(" DEFAULT {d}"));
                format!(
                    "{} {data_type}{not_null}{default}",
                    text(column, "columnName")
                )
            })
            .collect();
        out.push_str(&format!(
            "-- Table: {table}\nCREATE TABLE IF NOT EXISTS {table} ({});\n\n",
            definitions.join(", ")
        ));
    }

    let indexes: Vec<_> = query_rows(client, INDEXES, &name)
        .await?
        .into_iter()
        .filter(|index| {
            let name = text(index, "indexname");
            !(name.len() >= 5 && name.ends_with("pkey"))
        })
        .collect();
    if !indexes.is_empty() {
        out.push_str(&format!("-- Indexes for table: {table}\n"));
        for index in &indexes {
            out.push_str(&format!("{};\n", text(index, "indexdef")));
        }
        out.push('\n');
    }

    let policies = query_rows(client, POLICIES_SQL, &name).await?;
    if !policies.is_empty() {
        out.push_str(&format!("-- RLS policies for table: {table}\n"));
        for policy in &policies {
            let roles = if policy.get("has_roles") == Some(&Value::Bool(true)) {
                format!(" TO {}", text(policy, "roles"))
            } else {
                String::new()
            };
            let using = opt_text(policy, "qual").map_or(String::new(), |q| format!(" USING ({q})"));
            let check = opt_text(policy, "with_check")
                .map_or(String::new(), |c| format!(" WITH CHECK ({c})"));
            out.push_str(&format!(
                "CREATE POLICY {} ON {} FOR {}{roles}{using}{check};\n",
                text(policy, "name"),
                text(policy, "tbl"),
                text(policy, "cmd")
            ));
        }
        out.push('\n');
    }

    let triggers = query_rows(client, TRIGGERS_SQL, &name).await?;
    if !triggers.is_empty() {
        out.push_str(&format!("-- Triggers for table: {table}\n"));
        for trigger in &triggers {
            let new_table = opt_text(trigger, "new_table");
            let old_table = opt_text(trigger, "old_table");
            let referencing = if new_table.is_some() || old_table.is_some() {
                format!(
                    " REFERENCING{}{}",
                    new_table.map_or(String::new(), |t| format!(" NEW TABLE AS {t}")),
                    old_table.map_or(String::new(), |t| format!(" OLD TABLE AS {t}"))
                )
            } else {
                String::new()
            };
            let condition = opt_text(trigger, "action_condition")
                .map_or(String::new(), |c| format!(" WHEN ({c})"));
            out.push_str(&format!(
                "CREATE TRIGGER {} {} {} ON {}{referencing} FOR EACH {}{condition} {};\n",
                text(trigger, "name"),
                text(trigger, "action_timing"),
                text(trigger, "event_manipulation"),
                text(trigger, "tbl"),
                text(trigger, "action_orientation"),
                text(trigger, "action_statement")
            ));
        }
        out.push('\n');
    }
    Ok(out)
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
    fn defaults() {
        let request = parse_body(&json!({})).unwrap();
        assert!(!request.json && request.include_data && request.tables.is_empty());
        assert_eq!(request.row_limit, 1000);
    }

    #[test]
    fn validates_like_the_backend() {
        assert_eq!(
            message(json!({"format": "csv"})),
            "format: Invalid enum value. Expected 'sql' | 'json', received 'csv'"
        );
        assert_eq!(
            message(json!({"rowLimit": 0})),
            "rowLimit: Number must be greater than 0"
        );
        assert_eq!(
            message(json!({"rowLimit": "5"})),
            "rowLimit: Expected number, received string"
        );
        assert_eq!(
            message(json!({"rowLimit": null})),
            "rowLimit: Expected number, received null"
        );
        assert_eq!(
            message(json!({"rowLimit": 10001})),
            "rowLimit: Number must be less than or equal to 10000"
        );
        assert_eq!(
            message(json!({"tables": "posts"})),
            "tables: Expected array, received string"
        );
        assert_eq!(message(json!({"rowLimit": 10000, "tables": ["a"]})), "");
    }

    #[test]
    fn values_are_written_like_the_backend() {
        assert_eq!(sql_value(&json!(null)), "NULL");
        assert_eq!(sql_value(&json!("it's")), "'it''s'");
        assert_eq!(sql_value(&json!(1.5)), "1.5");
        assert_eq!(sql_value(&json!(false)), "false");
        assert_eq!(sql_value(&json!({"a": "b'c"})), "'{\"a\":\"b''c\"}'");
    }
}
