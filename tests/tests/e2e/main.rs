//! End-to-end tests: the real `insforge` binary and the real plugin libraries, in a temporary
//! HOME, against the sandbox on a real PostgreSQL. Outputs users read are compared whole
//! (snapshots under `snapshots/`).

mod auth;
mod create;
mod db_errors;
mod db_export_import;
mod db_query;
mod link;
mod list;
mod metadata;
mod plugins;
mod project_scope;
mod retries;
mod terminal;
mod usage;

use insforge_tests::kit::{Run, TestEnv};

/// Snapshots a run's whole transcript (exit code, stdout, stderr).
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $run:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $run.transcript());
        })
    };
}

/// The bodies of the requests the sandbox received on `path`, in order.
pub fn bodies(t: &TestEnv, path: &str) -> Vec<String> {
    t.sandbox()
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| r.body)
        .collect()
}

/// Asserts the `--json` failure contract: stdout empty, the last stderr line the error object.
#[track_caller]
pub fn assert_json_failure(run: &Run, exit: i32, code: &str) -> serde_json::Value {
    run.expect_code(exit);
    assert_eq!(run.stdout, "", "stdout must stay empty on failure");
    let line = run.json_error();
    assert_eq!(line["code"], code, "{}", run.stderr);
    assert!(line["error"].as_str().is_some_and(|m| !m.is_empty()));
    line
}
