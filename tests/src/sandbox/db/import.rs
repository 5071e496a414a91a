//! `POST /api/database/advance/import`: runs an uploaded `.sql`/`.txt` file (multipart part
//! `file`, optional text part `truncate=true`) in one transaction.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, State};
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use serde_json::json;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::{connect, is_syntax_error, query_rows};
use crate::sandbox::auth::AdminKey;
use crate::sandbox::errors::{json_response, ApiError};
use crate::sandbox::sql_text::{self, format_ident};
use crate::sandbox::state::SandboxState;

/// The uploaded file.
struct Upload {
    filename: String,
    bytes: Vec<u8>,
}

pub(super) async fn import(
    _key: AdminKey,
    State(state): State<SandboxState>,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let (upload, truncate) = read_form(request, &state).await?;
    let Some(upload) = upload else {
        return Err(ApiError::invalid_input("SQL file is required"));
    };
    let extension = match upload.filename.rfind('.') {
        Some(at) => upload.filename[at..].to_lowercase(),
        None => upload.filename.to_lowercase(),
    };
    if extension != ".sql" && extension != ".txt" {
        return Err(ApiError::invalid_input("Only .sql/.txt files are allowed"));
    }
    let sql = String::from_utf8_lossy(&upload.bytes).into_owned();
    sql_text::guard(&sql, false).map_err(ApiError::forbidden)?;
    if sql.is_empty() {
        return Err(ApiError::invalid_input(
            "Invalid SQL file format. Please ensure the file contains valid SQL statements.",
        ));
    }

    let client = connect(&state).await?;
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|err| super::pg_error(&err))?;
    match run_import(&client, &sql, truncate).await {
        Ok((tables, rows)) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|err| import_failed(&err))?;
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "success": true,
                    "message": "SQL file imported successfully",
                    "filename": upload.filename,
                    "tables": tables,
                    "rowsImported": rows,
                    "fileSize": upload.bytes.len(),
                }),
            ))
        }
        Err(err) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(err)
        }
    }
}

/// The `file` part and the `truncate` flag. A file part under any other name is refused,
/// as the backend's upload middleware refuses it.
async fn read_form(
    request: Request<Body>,
    state: &SandboxState,
) -> Result<(Option<Upload>, bool), ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !is_multipart {
        return Ok((None, false));
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| ApiError::invalid_input("SQL file is required"))?;
    let mut upload = None;
    let mut truncate = false;
    let malformed = |err: axum::extract::multipart::MultipartError| {
        ApiError::invalid_input(format!("Malformed multipart body: {}", err.body_text()))
    };
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(filename) => {
                if name != "file" || upload.is_some() {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "STORAGE_INVALID_PARAMETER",
                        "Unexpected field",
                    ));
                }
                let bytes = field.bytes().await.map_err(malformed)?.to_vec();
                upload = Some(Upload { filename, bytes });
            }
            None if name == "truncate" => {
                truncate = field.text().await.map_err(malformed)?.trim() == "true";
            }
            None => {}
        }
    }
    Ok((upload, truncate))
}

fn import_failed(err: &tokio_postgres::Error) -> ApiError {
    if is_syntax_error(err) {
        return ApiError::forbidden(sql_text::UNPARSEABLE);
    }
    let message = match err.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => err.to_string(),
    };
    ApiError::invalid_input(format!("Import failed: {message}"))
}

/// Empties the public tables if asked, then runs each statement; answers the tables the
/// file inserted into or created, and the number of rows its INSERTs added.
async fn run_import(
    client: &Client,
    sql: &str,
    truncate: bool,
) -> Result<(Vec<String>, u64), ApiError> {
    if truncate {
        let tables = query_rows(
            client,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await?;
        for table in tables {
            let Some(name) = table.get("tablename").and_then(|name| name.as_str()) else {
                continue;
            };
            // A savepoint keeps one failed TRUNCATE from aborting the whole import.
            let statement = format!(
                "SAVEPOINT truncate_attempt; TRUNCATE TABLE {} CASCADE; RELEASE SAVEPOINT truncate_attempt",
                format_ident(name)
            );
            if client.batch_execute(&statement).await.is_err() {
                let _ = client
                    .batch_execute(
                        "ROLLBACK TO SAVEPOINT truncate_attempt; RELEASE SAVEPOINT truncate_attempt",
                    )
                    .await;
            }
        }
    }

    let mut tables: Vec<String> = Vec::new();
    let mut rows = 0;
    for statement in sql_text::split(sql) {
        let messages = client
            .simple_query(&statement.text)
            .await
            .map_err(|err| import_failed(&err))?;
        let upper = statement.text.to_uppercase();
        if upper.starts_with("INSERT") {
            for message in &messages {
                if let SimpleQueryMessage::CommandComplete(count) = message {
                    rows += count;
                }
            }
            if let Some(table) = name_after(&statement.text, &["INSERT", "INTO"], false) {
                if !tables.contains(&table) {
                    tables.push(table);
                }
            }
        }
        if upper.contains("CREATE TABLE") {
            if let Some(table) = name_after(&statement.text, &["CREATE", "TABLE"], true) {
                if !tables.contains(&table) {
                    tables.push(table);
                }
            }
        }
    }
    Ok((tables, rows))
}

/// The first place in `text` where the `keywords` follow each other (case-insensitive,
/// separated by whitespace), optionally followed by `IF NOT EXISTS`, and then a plain
/// identifier (`[A-Za-z_][A-Za-z0-9_]*`): that identifier. A schema-qualified name gives
/// its schema, as the backend's pattern does.
fn name_after(text: &str, keywords: &[&str], if_not_exists: bool) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let first = keywords[0].to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(&first) {
        let start = from + found;
        if let Some(name) = match_at(&lower, text, start, keywords, if_not_exists) {
            return Some(name);
        }
        from = start + 1;
    }
    None
}

fn match_at(
    lower: &str,
    text: &str,
    start: usize,
    keywords: &[&str],
    if_not_exists: bool,
) -> Option<String> {
    let mut pos = start;
    let expect_word = |pos: &mut usize, word: &str| -> bool {
        let word = word.to_ascii_lowercase();
        if lower[*pos..].starts_with(&word) {
            *pos += word.len();
            true
        } else {
            false
        }
    };
    let skip_ws = |pos: &mut usize| -> bool {
        let before = *pos;
        while lower[*pos..].starts_with(|c: char| c.is_whitespace()) {
            *pos += lower[*pos..].chars().next().map_or(1, char::len_utf8);
        }
        *pos > before
    };
    for (i, keyword) in keywords.iter().enumerate() {
        if i > 0 && !skip_ws(&mut pos) {
            return None;
        }
        if !expect_word(&mut pos, keyword) {
            return None;
        }
    }
    if !skip_ws(&mut pos) {
        return None;
    }
    if if_not_exists {
        let mut probe = pos;
        if expect_word(&mut probe, "if")
            && skip_ws(&mut probe)
            && expect_word(&mut probe, "not")
            && skip_ws(&mut probe)
            && expect_word(&mut probe, "exists")
            && skip_ws(&mut probe)
        {
            pos = probe;
        }
    }
    let rest = &text[pos..];
    let mut chars = rest.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return None,
    }
    let end = chars
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(at, _)| at);
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::name_after;

    #[test]
    fn finds_table_names_like_the_backend() {
        let insert = |s: &str| name_after(s, &["INSERT", "INTO"], false);
        let create = |s: &str| name_after(s, &["CREATE", "TABLE"], true);
        assert_eq!(
            insert("INSERT INTO posts (id) VALUES (1)").as_deref(),
            Some("posts")
        );
        assert_eq!(
            insert("insert  into\npublic.posts VALUES (1)").as_deref(),
            Some("public")
        );
        assert_eq!(insert("INSERT INTO \"Posts\" VALUES (1)"), None);
        assert_eq!(
            create("CREATE TABLE IF NOT EXISTS t1 (id int)").as_deref(),
            Some("t1")
        );
        assert_eq!(
            create("create table comments(id int)").as_deref(),
            Some("comments")
        );
    }
}
