//! Each command run whole against the fake host: the exact request it sends and the exact
//! output it produces.

use std::fs;
use std::path::PathBuf;

use insforge_plugin_api::ErrorKind;
use serde_json::{json, Value};

use crate::testhost::{FakeHost, Output};

/// A fresh directory for one test, standing for the user's working directory.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("insforge-db-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn human() -> FakeHost {
    FakeHost::new(false, PathBuf::new())
}

fn json_mode() -> FakeHost {
    FakeHost::new(true, PathBuf::new())
}

#[test]
fn query_sends_the_sql_untouched_and_shows_a_table() {
    let host = human().answer(
        200,
        r#"{"rows":[{"id":1,"title":null}],"rowCount":1,"fields":[]}"#,
    );
    host.run(
        &["query"],
        json!({"sql": "  SELECT id, title FROM posts;\n", "file": null}),
    )
    .unwrap();

    let (method, url, body) = host.request();
    assert_eq!(method, "POST");
    assert_eq!(url, "/api/database/advance/rawsql");
    assert_eq!(body, r#"{"query":"  SELECT id, title FROM posts;\n"}"#);
    assert_eq!(
        host.output(),
        [
            Output::Table(json!({"columns": ["id", "title"], "rows": [[1, null]]})),
            Output::Line("1 row returned.".into()),
        ]
    );
}

#[test]
fn query_reads_a_file_relative_to_the_working_directory() {
    let dir = workdir("query-file");
    fs::write(
        dir.join("init.sql"),
        "CREATE TABLE t (x int);\r\nINSERT INTO t VALUES (1);",
    )
    .unwrap();
    let host = FakeHost::new(false, dir.clone()).answer(200, r#"{"rows":[]}"#);
    host.run(
        &["query"],
        json!({"file": "init.sql", "unrestricted": true}),
    )
    .unwrap();

    let (_, url, body) = host.request();
    assert_eq!(url, "/api/database/advance/rawsql/unrestricted");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"query": "CREATE TABLE t (x int);\r\nINSERT INTO t VALUES (1);"})
    );
    assert_eq!(
        host.output(),
        [
            Output::Line("Query executed successfully.".into()),
            Output::Line("No rows returned.".into()),
        ]
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn query_refuses_a_file_that_is_not_utf8() {
    let dir = workdir("query-binary");
    fs::write(dir.join("bad.sql"), b"SELECT '\xff';").unwrap();
    let host = FakeHost::new(false, dir.clone());
    let err = host
        .run(&["query"], json!({"file": "bad.sql"}))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert_eq!(err.message(), "the SQL in bad.sql is not valid UTF-8");
    assert!(host.requests.borrow().is_empty());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn query_json_passes_the_answer_through() {
    let answer = r#"{"rows":[{"n":"12345678901234567890"}],"rowCount":1,"fields":[{"name":"n","dataTypeID":20}]}"#;
    let host = json_mode().answer(200, answer);
    host.run(&["query"], json!({"sql": "SELECT 1"})).unwrap();
    assert_eq!(host.output(), [Output::Json(answer.into())]);
}

#[test]
fn query_errors_carry_the_answer_for_the_host_to_word() {
    let body = r#"{"error":"FORBIDDEN","message":"Transaction control statements are not allowed.","statusCode":403}"#;
    let host = human().answer(403, body);
    let err = host.run(&["query"], json!({"sql": "BEGIN"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http);
    let failure = err.http_failure().unwrap();
    assert_eq!(failure.status, 403);
    assert_eq!(failure.body, body.as_bytes());
    assert!(host.output().is_empty());
}

#[test]
fn listings_get_their_endpoint_and_say_when_empty() {
    for (command, url, empty) in [
        ("tables", "/api/database/tables", "No tables found."),
        (
            "indexes",
            "/api/database/indexes",
            "No database indexes found.",
        ),
        (
            "policies",
            "/api/database/policies",
            "No RLS policies found.",
        ),
        (
            "triggers",
            "/api/database/triggers",
            "No database triggers found.",
        ),
        (
            "functions",
            "/api/database/functions",
            "No database functions found.",
        ),
    ] {
        let host = human().answer(200, &format!(r#"{{"{command}":[]}}"#));
        host.run(&[command], json!({})).unwrap();
        let (method, sent_to, _) = host.request();
        assert_eq!((method.as_str(), sent_to.as_str()), ("GET", url));
        assert_eq!(host.output(), [Output::Line(empty.into())]);
    }
}

#[test]
fn listing_json_is_the_answer_unchanged() {
    let host = json_mode().answer(200, r#"["posts","comments"]"#);
    host.run(&["tables"], json!({})).unwrap();
    assert_eq!(
        host.output(),
        [Output::Json(r#"["posts","comments"]"#.into())]
    );
}

#[test]
fn rpc_without_data_is_a_get_with_an_encoded_name() {
    let host = human().answer(200, "42");
    host.run(&["rpc"], json!({"function": "count posts", "data": null}))
        .unwrap();
    let (method, url, body) = host.request();
    assert_eq!(method, "GET");
    assert_eq!(url, "/api/database/rpc/count%20posts");
    assert_eq!(body, "");
    assert_eq!(host.output(), [Output::Json("42".into())]);
}

#[test]
fn rpc_with_data_posts_compact_json_and_prints_null_for_no_result() {
    let host = json_mode().answer(204, "");
    host.run(
        &["rpc"],
        json!({"function": "add", "data": "{ \"a\": 1,\n \"b\": 2.50 }"}),
    )
    .unwrap();
    let (method, url, body) = host.request();
    assert_eq!(method, "POST");
    assert_eq!(url, "/api/database/rpc/add");
    assert_eq!(body, r#"{"a":1,"b":2.50}"#);
    assert_eq!(host.output(), [Output::Json("null".into())]);
}

#[test]
fn export_to_stdout_writes_the_sql_byte_for_byte() {
    let host = human().answer(
        200,
        r#"{"format":"sql","data":"-- Database Export\nCREATE TABLE t ();","timestamp":"x"}"#,
    );
    host.run(&["export"], json!({"format": "sql"})).unwrap();
    let (method, url, body) = host.request();
    assert_eq!(method, "POST");
    assert_eq!(url, "/api/database/advance/export");
    assert_eq!(body, r#"{"format":"sql","includeData":true}"#);
    assert_eq!(
        host.output(),
        [Output::Stdout(
            b"-- Database Export\nCREATE TABLE t ();".to_vec()
        )]
    );
}

#[test]
fn export_to_a_file_reports_where_it_went() {
    let dir = workdir("export-file");
    let host = FakeHost::new(false, dir.clone()).answer(
        200,
        r#"{"format":"sql","data":"SELECT 1;","timestamp":"x","truncatedTables":["posts"],"rowLimit":2}"#,
    );
    host.run(
        &["export"],
        json!({"format": "sql", "output": "dump.sql", "row-limit": 2}),
    )
    .unwrap();
    assert_eq!(fs::read(dir.join("dump.sql")).unwrap(), b"SELECT 1;");
    assert_eq!(
        host.output(),
        [
            Output::Success("Exported to dump.sql".into()),
            Output::Warning(
                "the export is incomplete: table posts was cut at the row limit (2 rows per table)"
                    .into()
            ),
            Output::Hint("export more rows per table with --row-limit (at most 10000)".into()),
        ]
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn export_json_with_a_file_describes_the_file() {
    let dir = workdir("export-json");
    let host = FakeHost::new(true, dir.clone()).answer(
        200,
        r#"{"format":"json","data":{"tables":{}},"timestamp":"x"}"#,
    );
    host.run(
        &["export"],
        json!({"format": "json", "output": "dump.json"}),
    )
    .unwrap();
    let written = fs::read_to_string(dir.join("dump.json")).unwrap();
    assert_eq!(written, "{\n  \"tables\": {}\n}\n");
    assert_eq!(
        host.output(),
        [Output::Json(format!(
            r#"{{"output":"dump.json","bytes":{},"format":"json"}}"#,
            written.len()
        ))]
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn export_json_to_stdout_is_the_answer() {
    let answer = r#"{"format":"sql","data":"x","timestamp":"t"}"#;
    let host = json_mode().answer(200, answer);
    host.run(&["export"], json!({"format": "sql"})).unwrap();
    assert_eq!(host.output(), [Output::Json(answer.into())]);
}

#[test]
fn import_uploads_the_file_as_a_multipart_part() {
    let dir = workdir("import");
    fs::create_dir_all(dir.join("seeds")).unwrap();
    fs::write(dir.join("seeds/seed.sql"), "INSERT INTO t VALUES (1);").unwrap();
    let host = FakeHost::new(false, dir.clone()).answer(
        200,
        r#"{"success":true,"message":"SQL file imported successfully","filename":"seed.sql","tables":["t"],"rowsImported":1,"fileSize":25}"#,
    );
    host.run(
        &["import"],
        json!({"file": "seeds/seed.sql", "truncate": true}),
    )
    .unwrap();

    let requests = host.requests.borrow();
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.as_str(), "/api/database/advance/import");
    let parts: Vec<_> = request
        .parts
        .iter()
        .map(|p| {
            (
                p.name.to_string(),
                p.filename.as_ref().map(|f| f.to_string()).into_option(),
                p.content_type.as_ref().map(|f| f.to_string()).into_option(),
                p.path.as_ref().map(|f| f.to_string()).into_option(),
                String::from_utf8(p.bytes.to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            (
                "file".to_owned(),
                Some("seed.sql".to_owned()),
                Some("application/octet-stream".to_owned()),
                Some(dir.join("seeds/seed.sql").to_string_lossy().into_owned()),
                String::new(),
            ),
            ("truncate".to_owned(), None, None, None, "true".to_owned()),
        ]
    );
    assert_eq!(
        host.output(),
        [Output::Success("Imported seed.sql (1 table, 1 row)".into())]
    );
    drop(requests);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn import_truncate_declined_sends_nothing() {
    let dir = std::env::temp_dir();
    let host = FakeHost::new(false, dir);
    host.confirms.set(false);
    let err = host
        .run(&["import"], json!({"file": "/tmp/x.sql", "truncate": true}))
        .unwrap_err();
    assert!(err.message().contains("cancelled"), "{}", err.message());
    assert!(host.requests.borrow().is_empty());
}

#[test]
fn import_without_truncate_sends_only_the_file() {
    let host = json_mode().answer(200, r#"{"success":true}"#);
    host.run(
        &["import"],
        json!({"file": "/tmp/x.sql", "truncate": false}),
    )
    .unwrap();
    assert_eq!(host.requests.borrow()[0].parts.len(), 1);
    assert_eq!(host.output(), [Output::Json(r#"{"success":true}"#.into())]);
}

#[test]
fn an_unknown_command_is_a_plugin_error() {
    let err = human().run(&["vacuum"], json!({})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Plugin);
}
