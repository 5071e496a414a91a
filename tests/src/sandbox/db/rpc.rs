//! `GET|POST /api/database/rpc/<function>`. The backend forwards these to PostgREST; the
//! sandbox has no PostgREST, so it does what PostgREST does for the common cases: finds the
//! function in `public` by name and argument names, calls it with the JSON object's fields
//! (or the query string's, for GET) as named arguments, and answers with its result: a JSON
//! value for a scalar function, an object for a composite one, an array for a set-returning
//! one, and 204 for `void`. Errors use PostgREST's body `{"code","details","hint","message"}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use tokio_postgres::Client;

use super::{connect, execute, query_rows, Outcome, QueryError};
use crate::sandbox::auth::AdminKey;
use crate::sandbox::errors::{json_response, ApiError};
use crate::sandbox::json_body::request_json;
use crate::sandbox::sql_text::quote_ident;
use crate::sandbox::state::SandboxState;
use crate::sandbox::url::{percent_decode, query_pairs};

const ROUTE_PREFIX: &str = "/api/database/rpc/";

pub(super) async fn call(
    _key: AdminKey,
    State(state): State<SandboxState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let raw = uri.path().strip_prefix(ROUTE_PREFIX).unwrap_or_default();
    let name = percent_decode(raw)
        .ok_or_else(|| ApiError::internal(format!("Failed to decode param '{raw}'")))?;
    validate_name(&name)?;

    let args: Map<String, Value> = if method == Method::POST {
        match request_json(&headers, &body) {
            Value::Object(args) => args,
            _ => Map::new(),
        }
    } else {
        query_pairs(uri.query())
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };

    let client = connect(&state).await?;
    let candidates = candidates(&client, &name).await?;
    let Some((function, binding)) = resolve(&candidates, &args) else {
        return Ok(not_found(&name, &args));
    };
    let body_text = Value::Object(args).to_string();
    let sql = call_sql(&name, function, &binding);
    let params = if binding == Binding::None {
        Vec::new()
    } else {
        vec![Value::String(body_text)]
    };
    match execute(&client, &sql, &params).await {
        Ok(Outcome::Single(result)) => {
            if function.returns_void {
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            let text = result
                .rows
                .into_iter()
                .next()
                .and_then(|mut row| row.remove("result"))
                .unwrap_or(Value::Null);
            let value = match text {
                Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
                other => other,
            };
            Ok(json_response(StatusCode::OK, &value))
        }
        Ok(Outcome::Multi) => Ok(json_response(StatusCode::OK, &Value::Null)),
        Err(QueryError::Pg(err)) => Ok(postgrest_error(&err)),
        Err(err) => Err(err.into_api_error()),
    }
}

/// The backend's own check of the name, before PostgREST sees it.
fn validate_name(name: &str) -> Result<(), ApiError> {
    const NEXT: &str = "The function name cannot contain double quotes or control characters (tabs, newlines, etc.)";
    let invalid = |message: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "DATABASE_VALIDATION_ERROR",
            message,
        )
        .with_next_actions(NEXT)
    };
    if name.trim().is_empty() {
        return Err(invalid("Invalid function name: cannot be empty"));
    }
    if name.chars().any(|c| c == '"' || c.is_control()) {
        return Err(invalid(
            "Invalid function name: cannot contain quotes or control characters",
        ));
    }
    Ok(())
}

/// One overload of the function, as far as calling it is concerned.
#[derive(Debug)]
struct Function {
    /// Input arguments in order: name (possibly empty) and type as SQL.
    inputs: Vec<(String, String)>,
    /// How many trailing inputs have defaults.
    defaults: usize,
    returns_set: bool,
    returns_composite: bool,
    returns_void: bool,
}

/// How the request's arguments reach the function.
#[derive(Debug, PartialEq)]
enum Binding {
    /// No arguments.
    None,
    /// These named inputs, taken from the JSON object.
    Named(Vec<(String, String)>),
    /// The whole JSON object as the single unnamed json/jsonb argument of this type.
    WholeBody(String),
}

const CANDIDATES: &str = r#"SELECT p.pronargdefaults AS "defaults", p.proretset AS "retset",
       p.prorettype = 'void'::regtype AS "void",
       (t.typtype = 'c' OR p.prorettype = 'record'::regtype) AS "composite",
       coalesce(p.proargnames, '{}'::text[]) AS "names",
       coalesce(p.proargmodes::text[], '{}'::text[]) AS "modes",
       array(SELECT format_type(u.t, NULL)
             FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS u(t, i)
             ORDER BY u.i) AS "types"
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_type t ON t.oid = p.prorettype
WHERE n.nspname = 'public' AND p.proname = $1 AND p.prokind = 'f'
ORDER BY p.oid"#;

async fn candidates(client: &Client, name: &str) -> Result<Vec<Function>, ApiError> {
    let rows = query_rows(client, CANDIDATES, &[Value::String(name.to_owned())]).await?;
    let strings = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().unwrap_or_default().to_owned())
                .collect(),
            _ => Vec::new(),
        }
    };
    Ok(rows
        .iter()
        .map(|row| {
            let names = strings(row.get("names"));
            let modes = strings(row.get("modes"));
            let types = strings(row.get("types"));
            let inputs = types
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    matches!(
                        modes.get(*i).map(String::as_str),
                        None | Some("i" | "b" | "v")
                    )
                })
                .map(|(i, ty)| (names.get(i).cloned().unwrap_or_default(), ty.clone()))
                .collect();
            Function {
                inputs,
                defaults: row.get("defaults").and_then(Value::as_u64).unwrap_or(0) as usize,
                returns_set: row.get("retset") == Some(&Value::Bool(true)),
                returns_composite: row.get("composite") == Some(&Value::Bool(true)),
                returns_void: row.get("void") == Some(&Value::Bool(true)),
            }
        })
        .collect())
}

/// PostgREST's choice of overload: every given key names an input, and every input without
/// a default is given; failing that, one unnamed json/jsonb input takes the whole body.
fn resolve<'a>(
    candidates: &'a [Function],
    args: &Map<String, Value>,
) -> Option<(&'a Function, Binding)> {
    for function in candidates {
        let required = function.inputs.len().saturating_sub(function.defaults);
        let keys_known = args
            .keys()
            .all(|key| function.inputs.iter().any(|(name, _)| name == key));
        let required_given = function.inputs[..required]
            .iter()
            .all(|(name, _)| args.contains_key(name));
        if keys_known && required_given {
            let named: Vec<(String, String)> = function
                .inputs
                .iter()
                .filter(|(name, _)| args.contains_key(name))
                .cloned()
                .collect();
            let binding = if named.is_empty() {
                Binding::None
            } else {
                Binding::Named(named)
            };
            return Some((function, binding));
        }
    }
    candidates
        .iter()
        .find_map(|function| match &function.inputs[..] {
            [(name, ty)] if name.is_empty() && (ty == "json" || ty == "jsonb") => {
                Some((function, Binding::WholeBody(ty.clone())))
            }
            _ => None,
        })
}

/// The SQL calling the function, producing one text column `result` with the JSON answer;
/// `$1` is the request's JSON object.
fn call_sql(name: &str, function: &Function, binding: &Binding) -> String {
    let callee = format!("public.{}", quote_ident(name));
    let (source, call) = match binding {
        Binding::None => (String::new(), format!("{callee}()")),
        Binding::WholeBody(ty) => (String::new(), format!("{callee}($1::{ty})")),
        Binding::Named(named) => {
            let columns: Vec<String> = named
                .iter()
                .map(|(arg, ty)| format!("{} {ty}", quote_ident(arg)))
                .collect();
            let passed: Vec<String> = named
                .iter()
                .map(|(arg, _)| format!("{0} => pgrst_args.{0}", quote_ident(arg)))
                .collect();
            (
                format!(
                    " FROM json_to_record($1::json) AS pgrst_args({})",
                    columns.join(", ")
                ),
                format!("{callee}({})", passed.join(", ")),
            )
        }
    };
    let join = if source.is_empty() {
        " FROM "
    } else {
        ", LATERAL "
    };
    if function.returns_void {
        format!("SELECT count(*)::text AS result FROM (SELECT {call} AS pgrst_void{source}) AS pgrst_call")
    } else if function.returns_set {
        format!("SELECT coalesce(json_agg(pgrst_row), '[]')::text AS result{source}{join}{call} AS pgrst_row")
    } else if function.returns_composite {
        format!("SELECT row_to_json(pgrst_row)::text AS result{source}{join}{call} AS pgrst_row")
    } else {
        format!("SELECT to_json({call})::text AS result{source}")
    }
}

/// PostgREST's 404 for a function it cannot find with the given argument names.
fn not_found(name: &str, args: &Map<String, Value>) -> Response {
    let mut keys: Vec<&str> = args.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let (message, details) = if keys.is_empty() {
        (
            format!("Could not find the function public.{name} without parameters in the schema cache"),
            format!("Searched for the function public.{name} without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."),
        )
    } else {
        let list = keys.join(", ");
        (
            format!("Could not find the function public.{name}({list}) in the schema cache"),
            format!("Searched for the function public.{name} with parameters {list} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."),
        )
    };
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "code": "PGRST202", "details": details, "hint": null, "message": message }),
    )
}

/// A PostgreSQL error raised by the function, in PostgREST's body and status.
fn postgrest_error(err: &tokio_postgres::Error) -> Response {
    let Some(db) = err.as_db_error() else {
        return ApiError::internal(err.to_string()).into_response();
    };
    let code = db.code().code();
    let status = match code {
        "23503" | "23505" => StatusCode::CONFLICT,
        "42883" | "42P01" => StatusCode::NOT_FOUND,
        "42501" => StatusCode::FORBIDDEN,
        "P0001" => StatusCode::BAD_REQUEST,
        _ if code.starts_with("22") || code.starts_with("23") || code.starts_with("42") => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_response(
        status,
        &json!({
            "code": code,
            "details": db.detail(),
            "hint": db.hint(),
            "message": db.message(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(inputs: &[(&str, &str)], defaults: usize) -> Function {
        Function {
            inputs: inputs
                .iter()
                .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
                .collect(),
            defaults,
            returns_set: false,
            returns_composite: false,
            returns_void: false,
        }
    }

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn resolves_by_argument_names() {
        let candidates = vec![function(&[("a", "integer"), ("b", "integer")], 1)];
        assert!(resolve(&candidates, &args(json!({"a": 1}))).is_some());
        assert!(resolve(&candidates, &args(json!({"a": 1, "b": 2}))).is_some());
        assert!(resolve(&candidates, &args(json!({"b": 2}))).is_none());
        assert!(resolve(&candidates, &args(json!({"a": 1, "c": 2}))).is_none());
        let json_fn = vec![function(&[("", "jsonb")], 0)];
        let (_, binding) = resolve(&json_fn, &args(json!({"x": 1}))).unwrap();
        assert_eq!(binding, Binding::WholeBody("jsonb".into()));
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("get_count").is_ok());
        assert!(validate_name("with space-and-hyphen").is_ok());
        assert_eq!(
            validate_name(" ").unwrap_err().message,
            "Invalid function name: cannot be empty"
        );
        assert_eq!(
            validate_name("a\"b").unwrap_err().message,
            "Invalid function name: cannot contain quotes or control characters"
        );
    }
}
