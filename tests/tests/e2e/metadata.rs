//! `insforge metadata` against the sandbox.

use insforge_tests::kit::{Run, TestEnv, API_KEY};
use insforge_tests::sandbox::faults::Fault;
use serde_json::{json, Value};

use crate::{assert_json_failure, snapshot};

/// `GET /api/metadata` straight from the sandbox, with `key` (if any) as the bearer token.
fn fetch(t: &TestEnv, key: Option<&str>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut request = reqwest::Client::new().get(t.sandbox().url("/api/metadata"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    })
}

/// The database size is the one thing that differs between runs: the `Size:` line of the
/// Database section is replaced, after checking it shows `size_in_gb` in MB.
fn redact_database_size(run: Run, size_in_gb: f64) -> Run {
    let expected = format!("    Size: {:.2} MB", size_in_gb * 1024.0);
    let mut in_database = false;
    let mut seen = false;
    let mut stdout = String::new();
    for line in run.stdout.split_inclusive('\n') {
        if line.trim_end() == "  Database" {
            in_database = true;
        } else if in_database && line.starts_with("    Size: ") {
            assert_eq!(line.trim_end(), expected, "{}", run.stdout);
            stdout.push_str("    Size: [SIZE]\n");
            in_database = false;
            seen = true;
            continue;
        }
        stdout.push_str(line);
    }
    assert!(seen, "no database size line:\n{}", run.stdout);
    Run { stdout, ..run }
}

#[test]
fn metadata_shows_the_backends_tables_and_json_is_its_answer_unchanged() {
    let t = TestEnv::linked();
    for sql in [
        "create table posts (id serial primary key, title text not null)",
        "insert into posts (title) values ('one'), ('two'), ('three')",
        r#"create table "Comments" (id bigint, body text)"#,
    ] {
        t.run(&["db", "query", sql]).expect_code(0);
    }

    let (status, direct) = fetch(&t, Some(API_KEY));
    assert_eq!(status, 200, "{direct}");
    let direct: Value = serde_json::from_str(&direct).expect("the sandbox answers JSON");
    assert_eq!(
        direct["database"]["tables"],
        json!([
            {"tableName": "Comments", "recordCount": 0},
            {"tableName": "posts", "recordCount": 3}
        ])
    );
    let size_in_gb = direct["database"]["totalSizeInGB"]
        .as_f64()
        .expect("a numeric database size");
    assert!(
        size_in_gb > 0.001 && size_in_gb < 1.0,
        "a fresh database is some MB: {size_in_gb}"
    );

    // `--json` prints the answer unchanged: same keys in the same order, same digits.
    let json_run = t.run(&["metadata", "--json"]);
    json_run.expect_code(0);
    assert_eq!(json_run.stderr, "");
    let mut pretty = serde_json::to_string_pretty(&direct).unwrap();
    pretty.push('\n');
    assert_eq!(json_run.stdout, pretty);

    let run = t.run(&["metadata"]);
    run.expect_code(0);
    snapshot!("metadata", redact_database_size(run, size_in_gb));

    // The route needs the project's key, like the backend's.
    let (status, body) = fetch(&t, None);
    assert_eq!(status, 401, "{body}");
}

#[test]
fn metadata_unlinked_exits_3_without_sending_a_request() {
    let t = TestEnv::with_sandbox();
    snapshot!("metadata_unlinked", t.run(&["metadata"]));
    assert_json_failure(&t.run(&["metadata", "--json"]), 3, "PROJECT_NOT_LINKED");
    assert!(t.sandbox().requests().is_empty(), "no request may be sent");
}

#[test]
fn metadata_server_error_exits_1_with_the_servers_message() {
    let t = TestEnv::linked();
    let fault = || {
        Fault::answer(
            "/api/metadata",
            500,
            json!({"error": "INTERNAL_ERROR", "message": "Failed to read the metadata", "statusCode": 500}),
        )
    };
    t.sandbox().add_fault(fault());
    snapshot!("metadata_server_error", t.run(&["metadata"]));
    t.sandbox().add_fault(fault());
    let line = assert_json_failure(&t.run(&["metadata", "--json"]), 1, "INTERNAL_ERROR");
    assert_eq!(line["error"], "Failed to read the metadata");
}
