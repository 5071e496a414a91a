//! How failures reach the user: exit codes, messages, and the `--json` error line.

use insforge_tests::kit::{TestEnv, API_KEY};
use insforge_tests::sandbox::faults::Fault;
use serde_json::json;

use crate::{assert_json_failure, snapshot};

#[test]
fn unlinked_directory_exits_3_without_sending_a_request() {
    let t = TestEnv::with_sandbox();
    let run = t.run(&["db", "tables"]);
    snapshot!("unlinked", run);
    let json_run = t.run(&["db", "query", "select 1", "--json"]);
    assert_json_failure(&json_run, 3, "PROJECT_NOT_LINKED");
    assert!(t.sandbox().requests().is_empty(), "no request may be sent");
}

#[test]
fn wrong_api_key_exits_2_with_the_servers_message() {
    let t = TestEnv::with_sandbox();
    let url = t.sandbox().base_url().to_owned();
    t.run(&["link", "--api-base-url", &url, "--api-key", "ik_wrong"])
        .expect_code(0);
    let run = t.run(&["db", "tables"]);
    snapshot!("wrong_key", run);
    let json_run = t.run(&["db", "tables", "--json"]);
    assert_json_failure(&json_run, 2, "AUTH_INVALID_API_KEY");
}

#[test]
fn forbidden_sql_exits_5() {
    let t = TestEnv::linked();
    let run = t.run(&["db", "query", "BEGIN"]);
    snapshot!("forbidden", run);
    assert_json_failure(&t.run(&["db", "query", "BEGIN", "--json"]), 5, "FORBIDDEN");
}

#[test]
fn named_resource_404_exits_4_and_route_miss_exits_1() {
    let t = TestEnv::linked();
    let named = t.run(&["db", "rpc", "no_such_function"]);
    snapshot!("rpc_missing_function", named);
    named.expect_code(4);
    t.sandbox().add_fault(Fault::answer(
        "/api/database/indexes",
        404,
        json!({"error": "NOT_FOUND", "message": "Endpoint /api/database/indexes not found", "statusCode": 404,
               "nextActions": "Please check the API documentation for available endpoints"}),
    ));
    let miss = t.run(&["db", "indexes"]);
    snapshot!("route_miss", miss);
}

#[test]
fn server_errors_exit_1_with_the_servers_message() {
    let t = TestEnv::linked();
    let run = t.run(&["db", "query", "select 1/0"]);
    snapshot!("division_by_zero", run);
    assert_json_failure(
        &t.run(&["db", "query", "select 1/0", "--json"]),
        1,
        "INTERNAL_ERROR",
    );
    let missing = t.run(&["db", "query", "select * from nowhere"]);
    snapshot!("missing_relation", missing);
}

#[test]
fn refused_connection_exits_1_with_a_network_error() {
    let t = TestEnv::new();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    t.run(&["link", "--api-base-url", &url, "--api-key", API_KEY])
        .expect_code(0);
    let run = t.run(&["db", "tables", "--json"]);
    let line = assert_json_failure(&run, 1, "NETWORK_ERROR");
    assert_eq!(
        line["error"],
        format!("Connection to 127.0.0.1:{port} refused. The server may be down or blocked by a firewall.")
    );
}

#[test]
fn dropped_connection_exits_1_and_writes_no_file() {
    let t = TestEnv::linked();
    t.sandbox()
        .add_fault(Fault::drop_connection("/api/database/advance/export"));
    let run = t.run(&["db", "export", "--output", "dump.sql", "--json"]);
    assert_json_failure(&run, 1, "NETWORK_ERROR");
    assert!(!t.cwd().join("dump.sql").exists());
}

#[test]
fn json_output_has_no_escape_bytes_on_a_terminal_either() {
    let t = TestEnv::linked();
    let base = t.command(t.cwd(), &[]);
    // `script` gives the command a pseudo-terminal for stdin, stdout and stderr.
    let bin = insforge_tests::kit::insforge_bin();
    let line = format!(
        "{} db query \"select null as n, 'x' as s\" --json",
        bin.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(t.cwd())
        .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("HOME", t.home())
        .output()
        .expect("script runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains('\u{1b}'),
        "escape byte in --json output: {text:?}"
    );
    let doc: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON document");
    assert_eq!(doc["rows"][0]["s"], "x");
    // And through a pipe.
    let piped = t.run(&["db", "query", "select null as n", "--json"]);
    assert!(!piped.stdout.contains('\u{1b}') && !piped.stderr.contains('\u{1b}'));
}

#[test]
fn escape_sequences_in_server_messages_are_shown_not_obeyed() {
    let t = TestEnv::linked();
    let run = t.run(&[
        "db",
        "query",
        "select * from \"\u{1b}]0;pwned\u{7}\u{1b}[2Jtbl\"",
    ]);
    run.expect_code(1);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(run.stderr.contains(r"\u{1b}]0;pwned"), "{}", run.stderr);
}

#[test]
fn a_terse_server_error_names_the_status_it_came_with() {
    let t = TestEnv::linked();
    t.sandbox().add_fault(Fault::answer(
        "/api/database/indexes",
        500,
        json!({"message": "kaput"}),
    ));
    let run = t.run(&["db", "indexes"]);
    snapshot!("terse_server_error", run);
    // A 500 is not retried: it is often for good.
    let sent = t
        .sandbox()
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/database/indexes")
        .count();
    assert_eq!(sent, 1);
}
