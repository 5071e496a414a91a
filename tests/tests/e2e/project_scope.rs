//! Which project a command acts on: the nearest link, or `INSFORGE_PROJECT_ID` through the
//! login; and a self-hosted link never needs a login.

use insforge_tests::kit::{TestEnv, API_KEY};
use insforge_tests::sandbox::platform::PROJECT_TODO_ID;
use insforge_tests::sandbox::Fault;
use serde_json::json;

use crate::assert_json_failure;

fn official_self_hosted_link(t: &TestEnv) {
    // The official tool's legacy sentinel ids, as older versions wrote them.
    t.write(
        ".insforge/project.json",
        format!(
            "{{\n  \"project_id\": \"oss-project\",\n  \"project_name\": \"oss-project\",\n  \"org_id\": \"oss-org\",\n  \"appkey\": \"ossfkey\",\n  \"region\": \"us-test\",\n  \"api_key\": \"{API_KEY}\",\n  \"oss_host\": \"{}/\"\n}}",
            t.sandbox().base_url()
        ),
    );
}

#[test]
fn an_official_self_hosted_link_never_asks_for_a_login() {
    let t = TestEnv::with_config(true, |c| c);
    official_self_hosted_link(&t);
    let nested = t.cwd().join("src/deep");
    std::fs::create_dir_all(&nested).unwrap();
    let run = t.run_in(&nested, &["db", "tables", "--json"]);
    run.expect_code(0);
    let run = t.run_in(&nested, &["metadata", "--json"]);
    run.expect_code(0);
    let platform: Vec<_> = t
        .sandbox()
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/api/database") && !r.path.starts_with("/api/metadata"))
        .map(|r| r.path)
        .collect();
    assert!(platform.is_empty(), "unexpected requests: {platform:?}");
    assert!(!t.credentials_path().exists());
    assert!(!t.browser_log().exists());
}

#[test]
fn link_then_current_from_a_subdirectory_finds_the_project_without_its_key() {
    let t = TestEnv::with_platform();
    let url = t.sandbox().base_url().to_owned();
    t.run(&["link", "--api-base-url", &url, "--api-key", API_KEY])
        .expect_code(0);
    let nested = t.cwd().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    let run = t.run_in(&nested, &["current", "--json"]);
    run.expect_code(0);
    let doc = run.json();
    assert_eq!(doc["authenticated"], false);
    assert_eq!(
        doc["project"]["project_id"],
        "fa4e0000-1234-5678-90ab-cd1234567890"
    );
    assert_eq!(doc["project"]["oss_host"], "[SANDBOX]");
    assert!(doc["project"].get("api_key").is_none());
    assert!(!run.stdout.contains(API_KEY));
    assert!(t.sandbox().requests().is_empty(), "current sends nothing");
}

#[test]
fn insforge_project_id_without_a_login_exits_2_before_any_request() {
    let t = TestEnv::with_platform();
    let run = t.run_with_env(
        &["db", "tables", "--json"],
        &[("INSFORGE_PROJECT_ID", PROJECT_TODO_ID)],
    );
    assert_json_failure(&run, 2, "AUTH_ERROR");
    assert!(t.sandbox().requests().is_empty());
}

#[test]
fn insforge_project_id_of_an_unknown_project_exits_4_with_the_platforms_message() {
    let t = TestEnv::with_platform();
    t.login();
    let run = t.run_with_env(
        &["metadata", "--json"],
        &[(
            "INSFORGE_PROJECT_ID",
            "00000000-0000-4000-8000-000000000000",
        )],
    );
    let line = assert_json_failure(&run, 4, "NOT_FOUND");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("Project not found"),
        "{line}"
    );
}

#[test]
fn without_a_link_or_project_id_project_commands_exit_3_even_when_logged_in() {
    let t = TestEnv::with_platform();
    t.login();
    t.sandbox().clear_requests();
    let run = t.run(&["metadata", "--json"]);
    assert_json_failure(&run, 3, "PROJECT_NOT_LINKED");
    assert!(t.sandbox().requests().is_empty());
    assert!(!t.browser_log().exists());
}

#[test]
fn a_project_json_in_the_home_insforge_directory_is_never_a_project() {
    let t = TestEnv::with_platform();
    // Some tool left a link in ~/.insforge, beside the login.
    std::fs::create_dir_all(t.home().join(".insforge")).unwrap();
    std::fs::write(
        t.home().join(".insforge/project.json"),
        format!(
            r#"{{"project_id":"fa4e0000-1234-5678-90ab-cd1234567890","project_name":"oss-project","org_id":"fa4e0001-1234-5678-90ab-cd1234567890","appkey":"ossfkey","region":"us-test","api_key":"{API_KEY}","oss_host":"{}"}}"#,
            t.sandbox().base_url()
        ),
    )
    .unwrap();
    let below = t.home().join("code/app");
    std::fs::create_dir_all(&below).unwrap();
    for dir in [t.home(), below.as_path()] {
        let current = t.run_in(dir, &["current", "--json"]);
        current.expect_code(0);
        assert_eq!(current.json()["project"], serde_json::Value::Null);
        let run = t.run_in(dir, &["metadata", "--json"]);
        assert_json_failure(&run, 3, "PROJECT_NOT_LINKED");
    }
    assert!(t.sandbox().requests().is_empty(), "nothing was sent");
}

#[test]
fn a_hand_written_self_hosted_link_with_an_upper_case_scheme_keeps_its_host() {
    let t = TestEnv::with_config(true, |c| c);
    let url = t.sandbox().base_url().to_owned();
    let upper = format!("HTTP://{}", url.strip_prefix("http://").unwrap());
    for project_id in ["fa4e0000-1234-5678-90ab-cd1234567890", "oss-project"] {
        t.write(
            ".insforge/project.json",
            format!(
                r#"{{"project_id":"{project_id}","project_name":"oss-project","org_id":"oss-org","appkey":"ossfkey","region":"us-test","api_key":"{API_KEY}","oss_host":"{upper}"}}"#
            ),
        );
        let current = t.run(&["current", "--json"]);
        current.expect_code(0);
        // Not rebuilt as `https://ossfkey.us-test.insforge.app`; checked before anything is sent.
        assert_eq!(current.json()["project"]["oss_host"], upper.as_str());

        t.sandbox().clear_requests();
        t.run(&["db", "tables", "--json"]).expect_code(0);
        t.run(&["metadata", "--json"]).expect_code(0);
        let paths: Vec<String> = t.sandbox().requests().into_iter().map(|r| r.path).collect();
        assert!(
            paths.iter().any(|p| p.starts_with("/api/database"))
                && paths.iter().any(|p| p.starts_with("/api/metadata")),
            "{paths:?}"
        );
    }
}

#[test]
fn insforge_project_id_of_a_project_with_a_bad_appkey_is_refused_before_its_backend_is_called() {
    let t = TestEnv::with_platform();
    t.login();
    t.sandbox().add_fault(
        Fault::answer(
            format!("/projects/v1/{PROJECT_TODO_ID}"),
            200,
            json!({"id": PROJECT_TODO_ID, "name": "todo-app", "appkey": "127.0.0.1:40491/#", "region": "us-east"}),
        )
        .method("GET"),
    );
    t.sandbox().clear_requests();
    let run = t.run_with_env(
        &["metadata", "--json"],
        &[("INSFORGE_PROJECT_ID", PROJECT_TODO_ID)],
    );
    let line = assert_json_failure(&run, 1, "UNKNOWN_ERROR");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("has an invalid appkey \"127.0.0.1:40491/#\""),
        "{line}"
    );
    let paths: Vec<String> = t.sandbox().requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/projects/v1/")),
        "{paths:?}"
    );
}
