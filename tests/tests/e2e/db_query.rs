//! `insforge db query`: tables, JSON, and SQL reaching the server unchanged.

use insforge_tests::kit::TestEnv;
use insforge_tests::sandbox::faults::Fault;
use serde_json::{json, Value};

use crate::{bodies, snapshot};

const RAWSQL: &str = "/api/database/advance/rawsql";

#[test]
fn query_table_shows_null_as_null_and_empty_string_as_empty() {
    let t = TestEnv::linked();
    let run = t.run(&["db", "query", "select 1 as one, null as n, '' as e"]);
    snapshot!("query_null_and_empty", run);
}

#[test]
fn query_json_is_the_servers_answer_with_order_and_digits_kept() {
    let t = TestEnv::linked();
    let sql = "select 9223372036854775807::int8 as big, \
               123456789012345678901234567890.123456789012::numeric as dec, \
               '{\"z\": 12345678901234567890123, \"a\": 0.1000000000000000055511151231257827}'::jsonb as j, \
               1 as one";
    let run = t.run(&["db", "query", sql, "--json"]);
    run.expect_code(0);
    snapshot!("query_json_digits", run);
    // Exactly one JSON document, whose number text is the server's, digit for digit.
    let doc: Value = run.json();
    assert_eq!(doc["rows"][0]["big"], "9223372036854775807");
    assert!(run.stdout.contains("12345678901234567890123"));
    assert!(run.stdout.contains("0.1000000000000000055511151231257827"));
    let keys: Vec<&String> = doc["rows"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["big", "dec", "j", "one"]);
}

#[test]
fn json_and_jsonb_cells_print_compact_and_false_and_zero_as_themselves() {
    let t = TestEnv::linked();
    let run = t.run(&[
        "db",
        "query",
        "select '{\"a\": [1, 2], \"b\": {\"c\": null}}'::jsonb as doc, \
         '[true, \"x\"]'::json as arr, false as f, 0 as zero, 0.0::float8 as fz",
    ]);
    snapshot!("query_json_cells", run);
}

#[test]
fn sql_reaches_the_server_byte_for_byte_in_one_request() {
    let t = TestEnv::linked();
    let sql = "create function f_semis() returns text language plpgsql as $$ \
               begin return 'a;b''c \"d\"'; end; $$;\n\
               select f_semis() as s; select 'x;y' as t;";
    let run = t.run(&["db", "query", sql]);
    run.expect_code(0);
    let sent = bodies(&t, RAWSQL);
    assert_eq!(sent.len(), 1, "one request, never split: {sent:?}");
    let body: Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(body, json!({ "query": sql }));
    assert_eq!(body["query"].as_str().unwrap(), sql);
}

#[test]
fn query_from_file_and_stdin_send_the_contents_unchanged() {
    let t = TestEnv::linked();
    let sql = "select 'from file' as src;\n-- trailing comment\n";
    t.write("q.sql", sql);
    t.run(&["db", "query", "--file", "q.sql"]).expect_code(0);
    t.run_with_stdin(&["db", "query", "--file", "-"], sql.as_bytes())
        .expect_code(0);
    let sent = bodies(&t, RAWSQL);
    assert_eq!(sent.len(), 2);
    for body in sent {
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["query"], sql);
    }
}

#[test]
fn unrestricted_uses_the_root_endpoint() {
    let t = TestEnv::linked();
    t.run(&["db", "query", "select 1", "--unrestricted"])
        .expect_code(0);
    assert_eq!(bodies(&t, &format!("{RAWSQL}/unrestricted")).len(), 1);
}

#[test]
fn reply_with_null_or_missing_row_count_and_fields_does_not_crash() {
    let t = TestEnv::linked();
    t.sandbox().add_fault(Fault::answer(
        RAWSQL,
        200,
        json!({"rows": [{"a": 1, "b": null}], "rowCount": null, "fields": null}),
    ));
    t.sandbox()
        .add_fault(Fault::answer(RAWSQL, 200, json!({"rows": []})));
    t.sandbox()
        .add_fault(Fault::answer(RAWSQL, 200, json!({"rowCount": 3})));
    let first = t.run(&["db", "query", "select 1"]);
    let second = t.run(&["db", "query", "select 1; select 2"]);
    let third = t.run(&["db", "query", "update x set y = 1"]);
    snapshot!("query_null_row_count", first);
    snapshot!("query_rows_only", second);
    snapshot!("query_row_count_only", third);
}

#[test]
fn writes_and_ddl_report_what_happened() {
    let t = TestEnv::linked();
    let ddl = t.run(&[
        "db",
        "query",
        "create table notes (id int primary key, body text)",
    ]);
    let insert = t.run(&[
        "db",
        "query",
        "insert into notes values (1, 'a'), (2, 'b'), (3, '日本語')",
    ]);
    let select = t.run(&["db", "query", "select * from notes order by id"]);
    snapshot!("query_ddl", ddl);
    snapshot!("query_insert", insert);
    snapshot!("query_select_wide_chars", select);
}

#[test]
fn from_a_subdirectory_the_nearest_link_above_is_used() {
    let t = TestEnv::linked();
    let nested = t.cwd().join("src/deep/er");
    std::fs::create_dir_all(&nested).unwrap();
    let run = t.run_in(
        &nested,
        &["db", "query", "select 'found' as link", "--json"],
    );
    run.expect_code(0);
    assert_eq!(run.json()["rows"][0]["link"], "found");
    let current = t.run_in(&nested, &["current", "--json"]);
    current.expect_code(0);
    assert!(!current.stdout.contains("api_key"), "{}", current.stdout);
    assert!(!current.stdout.contains(insforge_tests::kit::API_KEY));
}

#[test]
fn rpc_without_data_is_a_get_and_with_data_a_post() {
    let t = TestEnv::linked();
    t.run(&[
        "db",
        "query",
        "create function add_one(n int) returns int language sql as $$ select n + 1 $$; \
         create function answer() returns int language sql as $$ select 42 $$",
    ])
    .expect_code(0);
    let get = t.run(&["db", "rpc", "answer", "--data", ""]);
    let post = t.run(&["db", "rpc", "add_one", "--data", "{\"n\": 41}"]);
    snapshot!("rpc_get", get);
    snapshot!("rpc_post", post);
    let methods: Vec<(String, String)> = t
        .sandbox()
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/database/rpc/"))
        .map(|r| (r.method, r.body))
        .collect();
    assert_eq!(
        methods,
        [
            ("GET".to_owned(), String::new()),
            ("POST".to_owned(), r#"{"n":41}"#.to_owned())
        ]
    );
}
