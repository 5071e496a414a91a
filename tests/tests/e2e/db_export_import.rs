//! `insforge db export` and `db import`: bytes on disk and on the wire, unchanged.

use insforge_tests::kit::TestEnv;
use insforge_tests::sandbox::faults::Fault;
use serde_json::{json, Value};

use crate::snapshot;

const EXPORT: &str = "/api/database/advance/export";
const IMPORT: &str = "/api/database/advance/import";

/// SQL with the bytes that tend to get mangled: CRLF and LF mixed, non-ASCII, no final newline.
const TRICKY_SQL: &str =
    "-- Database Export\r\nCREATE TABLE t (x text);\nINSERT INTO t VALUES ('é ✓ \"q\"');\r\n-- end";

#[test]
fn export_to_a_file_writes_the_sql_byte_for_byte() {
    let t = TestEnv::linked();
    t.sandbox().add_fault(Fault::answer(
        EXPORT,
        200,
        json!({"format": "sql", "data": TRICKY_SQL, "timestamp": "2025-06-03T09:00:00.000Z"}),
    ));
    let run = t.run(&["db", "export", "--output", "dump.sql"]);
    snapshot!("export_to_file", run);
    let written = std::fs::read(t.cwd().join("dump.sql")).unwrap();
    assert_eq!(
        written,
        TRICKY_SQL.as_bytes(),
        "no BOM, no newline changes, no wrapper"
    );
}

#[test]
fn export_without_output_prints_the_sql_and_with_json_the_answer() {
    let t = TestEnv::linked();
    let answer =
        json!({"format": "sql", "data": TRICKY_SQL, "timestamp": "2025-06-03T09:00:00.000Z"});
    t.sandbox()
        .add_fault(Fault::answer(EXPORT, 200, answer.clone()));
    t.sandbox()
        .add_fault(Fault::answer(EXPORT, 200, answer.clone()));
    let plain = t.run(&["db", "export"]);
    plain.expect_code(0);
    assert_eq!(plain.stdout_bytes, TRICKY_SQL.as_bytes());
    let json_run = t.run(&["db", "export", "--json"]);
    json_run.expect_code(0);
    assert_eq!(json_run.json(), answer);
}

#[test]
fn export_to_dash_writes_the_sql_to_stdout_and_no_file() {
    let t = TestEnv::linked();
    let answer =
        json!({"format": "sql", "data": TRICKY_SQL, "timestamp": "2025-06-03T09:00:00.000Z"});
    t.sandbox().add_fault(Fault::answer(EXPORT, 200, answer));
    let run = t.run(&["db", "export", "-o", "-"]);
    run.expect_code(0);
    assert_eq!(run.stdout_bytes, TRICKY_SQL.as_bytes());
    assert!(!t.cwd().join("-").exists(), "a file named - was written");
}

#[test]
fn export_to_dash_writes_to_stdout_even_where_a_directory_named_dash_exists() {
    let t = TestEnv::linked();
    // The host passes `-` on unchecked (the output allows stdout); as a file name it would be
    // refused: "- is a directory".
    std::fs::create_dir(t.cwd().join("-")).unwrap();
    let answer =
        json!({"format": "sql", "data": TRICKY_SQL, "timestamp": "2025-06-03T09:00:00.000Z"});
    t.sandbox().add_fault(Fault::answer(EXPORT, 200, answer));
    let run = t.run(&["db", "export", "-o", "-"]);
    run.expect_code(0);
    assert_eq!(run.stdout_bytes, TRICKY_SQL.as_bytes());
    assert_eq!(run.stderr, "");
    let inside: Vec<_> = std::fs::read_dir(t.cwd().join("-")).unwrap().collect();
    assert!(inside.is_empty(), "nothing was written into ./-");

    // Any other directory is still refused before anything is sent.
    t.sandbox().clear_requests();
    std::fs::create_dir(t.cwd().join("dumps")).unwrap();
    let refused = t.run(&["db", "export", "-o", "dumps"]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("dumps is a directory (--output)"),
        "{}",
        refused.stderr
    );
    assert!(t.sandbox().requests().is_empty());
}

#[test]
fn export_with_output_and_json_reports_the_file() {
    let t = TestEnv::linked();
    t.run(&[
        "db",
        "query",
        "create table posts (id int primary key, title text)",
    ])
    .expect_code(0);
    t.run(&["db", "query", "insert into posts values (1, 'it''s')"])
        .expect_code(0);
    let run = t.run(&[
        "db", "export", "--output", "out.sql", "--json", "--tables", "posts",
    ]);
    run.expect_code(0);
    let report = run.json();
    let bytes = std::fs::read(t.cwd().join("out.sql")).unwrap();
    assert_eq!(
        report,
        json!({"output": "out.sql", "bytes": bytes.len(), "format": "sql"})
    );
    let sql = String::from_utf8(bytes).unwrap();
    assert!(sql.contains("INSERT INTO"), "{sql}");
    assert!(sql.contains("it''s"), "{sql}");
    // The request carries every flag in the contract's key order.
    let sent: Vec<Value> = crate::bodies(&t, EXPORT)
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(
        serde_json::to_string(&sent[0]).unwrap(),
        r#"{"format":"sql","includeData":true,"tables":["posts"]}"#
    );
}

#[test]
fn export_flags_are_sent_in_order() {
    let t = TestEnv::linked();
    t.run(&["db", "query", "create table a (id int)"])
        .expect_code(0);
    t.run(&[
        "db",
        "export",
        "--format",
        "json",
        "--tables",
        " a , a",
        "--no-data",
        "--include-functions",
        "--include-sequences",
        "--include-views",
        "--row-limit",
        "10",
        "-o",
        "out.json",
    ])
    .expect_code(0);
    let sent = crate::bodies(&t, EXPORT);
    assert_eq!(
        sent[0],
        r#"{"format":"json","includeData":false,"tables":["a","a"],"includeFunctions":true,"includeSequences":true,"includeViews":true,"rowLimit":10}"#
    );
    let written: Value =
        serde_json::from_slice(&std::fs::read(t.cwd().join("out.json")).unwrap()).unwrap();
    assert!(written["tables"]["a"].is_object(), "{written}");
}

#[test]
fn import_sends_the_file_unchanged_and_reports_the_answer() {
    let t = TestEnv::linked();
    let sql = "CREATE TABLE seed (id int primary key, v text);\r\nINSERT INTO seed VALUES (1, 'ü'), (2, 'x;y');\n";
    t.write("seed.sql", sql);
    let run = t.run(&["db", "import", "seed.sql"]);
    snapshot!("import_ok", run);
    let logged = t
        .sandbox()
        .requests()
        .into_iter()
        .find(|r| r.path == IMPORT)
        .expect("the import request");
    assert!(logged.body.contains(sql), "the file travels unchanged");
    let rows = t.run(&["db", "query", "select count(*) as n from seed", "--json"]);
    assert_eq!(rows.json()["rows"][0]["n"], "2");
}

#[test]
fn import_failure_exits_1_with_the_servers_message() {
    let t = TestEnv::linked();
    t.write(
        "dup.sql",
        "CREATE TABLE d (id int primary key);\nINSERT INTO d VALUES (1), (1);\n",
    );
    let run = t.run(&["db", "import", "dup.sql"]);
    snapshot!("import_duplicate", run);
    let json_run = t.run(&["db", "import", "dup.sql", "--json"]);
    let line = crate::assert_json_failure(&json_run, 1, "INVALID_INPUT");
    assert!(line["error"]
        .as_str()
        .unwrap()
        .starts_with("Import failed: "));
}

#[test]
fn import_truncate_needs_yes_without_a_terminal() {
    let t = TestEnv::linked();
    t.run(&[
        "db",
        "query",
        "create table keep (id int); insert into keep values (1)",
    ])
    .expect_code(0);
    t.write("more.sql", "INSERT INTO keep VALUES (2);\n");
    let refused = t.run(&["db", "import", "more.sql", "--truncate"]);
    snapshot!("import_truncate_without_yes", refused);
    assert!(
        crate::bodies(&t, IMPORT).is_empty(),
        "nothing is sent without consent"
    );
    t.run(&["db", "import", "more.sql", "--truncate", "-y"])
        .expect_code(0);
    let rows = t.run(&["db", "query", "select id from keep", "--json"]);
    assert_eq!(rows.json()["rows"], json!([{"id": 2}]));
}

#[test]
fn export_of_a_broken_answer_fails_and_keeps_the_existing_file() {
    let t = TestEnv::linked();
    t.write("keep.sql", "-- the good dump\n");
    t.sandbox().add_fault(Fault::answer(
        EXPORT,
        200,
        json!("<html>proxy error</html>"),
    ));
    let run = t.run(&["db", "export", "-o", "keep.sql"]);
    snapshot!("export_broken_answer", run);
    assert_eq!(
        std::fs::read_to_string(t.cwd().join("keep.sql")).unwrap(),
        "-- the good dump\n"
    );
}
