//! `insforge link` (self-hosted) and `insforge current`.

use insforge_tests::kit::{TestEnv, API_KEY};

use crate::snapshot;

#[test]
fn self_hosted_link_writes_the_official_tools_fields_privately() {
    let t = TestEnv::new();
    let run = t.run(&[
        "link",
        "--api-base-url",
        "http://127.0.0.1:7130/",
        "--api-key",
        API_KEY,
    ]);
    snapshot!("link_self_hosted", run);
    let path = t.cwd().join(".insforge/project.json");
    let text = std::fs::read_to_string(&path).unwrap();
    insta::assert_snapshot!("link_project_json", text);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn a_link_written_by_the_official_tool_works_and_unknown_fields_are_kept() {
    let t = TestEnv::new();
    // Legacy sentinel ids, an extra field, no trailing newline: as the official tool writes them.
    t.write(
        ".insforge/project.json",
        r#"{
  "project_id": "oss-project",
  "project_name": "oss-project",
  "org_id": "oss-org",
  "appkey": "ossfkey",
  "region": "us-test",
  "api_key": "ik_official",
  "oss_host": "http://127.0.0.1:9",
  "guard": true
}"#,
    );
    let run = t.run(&["current"]);
    snapshot!("current_official_link", run);
    let json = t.run(&["current", "--json"]);
    json.expect_code(0);
    let doc = json.json();
    assert_eq!(doc["project_id"], "fa4e0000-1234-5678-90ab-cd1234567890");
    assert_eq!(doc["guard"], true);
    assert!(doc.get("api_key").is_none());
    assert!(!json.stdout.contains("ik_official"));
}

#[test]
fn current_outside_a_project_exits_3() {
    let t = TestEnv::new();
    snapshot!("current_unlinked", t.run(&["current"]));
}

#[test]
fn link_rejects_a_url_that_is_not_http() {
    let t = TestEnv::new();
    let run = t.run(&[
        "link",
        "--api-base-url",
        "localhost:7130",
        "--api-key",
        API_KEY,
    ]);
    snapshot!("link_bad_url", run);
    assert!(
        !t.cwd().join(".insforge").exists(),
        "nothing is written on bad input"
    );
}

#[test]
fn the_api_key_never_appears_in_verbose_logs() {
    let t = TestEnv::linked();
    let run = t.run(&["db", "tables", "-v"]);
    run.expect_code(0);
    assert!(run.stderr.contains("Bearer ***"), "{}", run.stderr);
    assert!(!run.stderr.contains(API_KEY) && !run.stdout.contains(API_KEY));
}
