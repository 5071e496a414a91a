//! The HTTP client's retries: an idempotent request (`GET`, `HEAD`) answered 502, 503 or 504 is
//! sent again, at most twice, after `Retry-After` or a short wait; any other method never is.

use std::process::Stdio;
use std::time::{Duration, Instant};

use insforge_tests::kit::TestEnv;
use insforge_tests::sandbox::Fault;
use serde_json::json;

use crate::assert_json_failure;
use crate::link::{logged_in, requests, run};

const TABLES: &str = "/api/database/tables";
const RAWSQL: &str = "/api/database/advance/rawsql";

/// How many requests the sandbox received on `path`.
fn count(t: &TestEnv, path: &str) -> usize {
    t.sandbox()
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .count()
}

fn unavailable(path: &str, status: u16, times: Option<u64>) -> Fault {
    Fault::answer(
        path,
        status,
        json!({"error": "SERVICE_UNAVAILABLE", "message": "kaput"}),
    )
    .times(times)
}

#[test]
fn a_get_answered_503_once_is_retried_and_recovers() {
    let t = TestEnv::linked();
    t.sandbox().clear_requests();
    t.sandbox()
        .add_fault(unavailable(TABLES, 503, Some(1)).method("GET"));
    let started = Instant::now();
    let run = t.run(&["db", "tables", "--json", "-v"]);
    run.expect_code(0);
    run.json();
    assert_eq!(count(&t, TABLES), 2);
    // The default first wait, logged with -v.
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(
        run.stderr.contains(&format!(
            "GET [SANDBOX]{TABLES} answered 503; retrying in 0.5 s (1 of 2)"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn gateway_errors_are_retried_too() {
    for status in [502, 504] {
        let t = TestEnv::linked();
        t.sandbox().clear_requests();
        t.sandbox().add_fault(unavailable(TABLES, status, Some(1)));
        t.run(&["db", "tables", "--json"]).expect_code(0);
        assert_eq!(count(&t, TABLES), 2, "{status}");
    }
}

#[test]
fn a_get_that_stays_unavailable_fails_with_the_servers_message_after_three_requests() {
    let t = TestEnv::linked();
    t.sandbox().clear_requests();
    t.sandbox().add_fault(unavailable(TABLES, 503, None));
    let started = Instant::now();
    let run = t.run(&["db", "tables", "--json"]);
    let line = assert_json_failure(&run, 1, "SERVICE_UNAVAILABLE");
    assert_eq!(line["error"], "kaput");
    assert_eq!(
        line["hint"],
        "the server answered HTTP 503; this is usually temporary, try again"
    );
    assert_eq!(count(&t, TABLES), 3);
    // 0.5 s, then 1.5 s.
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn retry_after_says_how_long_to_wait() {
    let t = TestEnv::linked();
    t.sandbox().clear_requests();
    let mut fault = unavailable(TABLES, 503, Some(1));
    fault.headers.insert("Retry-After".into(), "1".into());
    t.sandbox().add_fault(fault);
    let started = Instant::now();
    let run = t.run(&["db", "tables", "-v"]);
    run.expect_code(0);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        run.stderr
            .contains("answered 503; retrying in 1.0 s (1 of 2)"),
        "{}",
        run.stderr
    );
    assert_eq!(count(&t, TABLES), 2);
}

#[test]
fn a_post_answered_503_is_never_retried() {
    let t = TestEnv::linked();
    t.sandbox().clear_requests();
    t.sandbox()
        .add_fault(unavailable(RAWSQL, 503, Some(1)).method("POST"));
    let run = t.run(&["db", "query", "select 1", "--json"]);
    let line = assert_json_failure(&run, 1, "SERVICE_UNAVAILABLE");
    assert_eq!(line["error"], "kaput");
    assert_eq!(count(&t, RAWSQL), 1, "the SQL must not run twice");
}

#[test]
fn platform_reads_are_retried_as_well() {
    let t = logged_in(|c| c);
    t.sandbox()
        .add_fault(unavailable("/organizations/v1", 502, Some(2)).method("GET"));
    let run = run(&t, &["list", "--json"]);
    run.expect_code(0);
    let orgs = requests(&t)
        .into_iter()
        .filter(|r| r == "GET /organizations/v1")
        .count();
    assert_eq!(orgs, 3);
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_the_wait_before_a_retry() {
    let t = TestEnv::linked();
    t.sandbox().clear_requests();
    let mut fault = unavailable(TABLES, 503, None);
    fault.headers.insert("Retry-After".into(), "5".into());
    t.sandbox().add_fault(fault);
    let mut cmd = t.command(t.cwd(), &["db", "tables"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("insforge starts");

    // Once the first answer came back, it is waiting (5 s) before the retry: interrupt it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&t, TABLES) == 0 {
        assert!(Instant::now() < deadline, "insforge never sent the request");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().expect("insforge finishes");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "it waited on after Ctrl-C"
    );
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(count(&t, TABLES), 1);
}
