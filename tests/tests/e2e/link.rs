//! `insforge link` (self-hosted and cloud) and `insforge current`.

use insforge_tests::kit::{Run, TestEnv, API_KEY};
use insforge_tests::sandbox::platform::{
    ORG_ACME_ID, ORG_PERSONAL_ID, PROJECT_CRM_ID, PROJECT_TODO_APPKEY, PROJECT_TODO_ID,
    PROJECT_TODO_NAME, PROJECT_TODO_REGION, USER_API_KEY,
};
use insforge_tests::sandbox::{Fault, SandboxConfig};
use serde_json::{json, Value};

use crate::{assert_json_failure, snapshot};

// --- helpers shared by the cloud tests (list, create, link) ----------------------------------

/// A platform sandbox (no database) set up by `configure`, logged in as the test user through
/// the real `insforge login --email`; the login's own requests are forgotten.
pub fn logged_in(configure: impl FnOnce(SandboxConfig) -> SandboxConfig) -> TestEnv {
    let t = TestEnv::with_config(false, configure);
    t.login();
    t.sandbox().clear_requests();
    t
}

/// Runs `insforge args` against the sandbox's platform, named explicitly with `--api-url`.
pub fn run(t: &TestEnv, args: &[&str]) -> Run {
    let url = t.sandbox().base_url().to_owned();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--api-url", url.as_str()]);
    t.run(&all)
}

/// `METHOD path` of every request the sandbox received.
pub fn requests(t: &TestEnv) -> Vec<String> {
    t.sandbox()
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// `.insforge/project.json` under the working directory, parsed.
pub fn project_json(t: &TestEnv) -> Value {
    let text = std::fs::read_to_string(t.cwd().join(".insforge/project.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `~/.insforge/config.json`, parsed (`null` when missing).
pub fn config_json(t: &TestEnv) -> Value {
    match std::fs::read_to_string(t.home().join(".insforge/config.json")) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => Value::Null,
    }
}

#[cfg(unix)]
pub fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// --- self-hosted -----------------------------------------------------------------------------

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
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn self_hosted_link_answers_json_like_the_official_tool() {
    let t = TestEnv::new();
    let run = t.run(&[
        "link",
        "--json",
        "--guard",
        "off",
        "--api-base-url",
        "http://127.0.0.1:7130",
        "--api-key",
        API_KEY,
    ]);
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({"success": true, "project": {"id": "fa4e0000-1234-5678-90ab-cd1234567890", "name": "oss-project", "region": "us-test"}})
    );
    assert_eq!(run.stderr, "");
    assert_eq!(project_json(&t)["guard"], false);
    assert!(!run.stdout.contains(API_KEY));
}

#[test]
fn self_hosted_link_needs_both_url_and_key() {
    let t = TestEnv::new();
    let run = t.run(&["link", "--api-base-url", "http://127.0.0.1:7130"]);
    run.expect_code(1);
    assert!(run.stderr.contains(
        "Both --api-base-url and --api-key must be provided together for direct linking."
    ));
    assert!(!t.cwd().join(".insforge").exists());
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
    let doc = &json.json()["project"];
    assert_eq!(doc["project_id"], "fa4e0000-1234-5678-90ab-cd1234567890");
    assert_eq!(doc["guard"], true);
    assert!(doc.get("api_key").is_none());
    assert!(!json.stdout.contains("ik_official"));
}

#[test]
fn current_outside_a_project_says_it_is_not_linked() {
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

// --- cloud -----------------------------------------------------------------------------------

#[test]
fn cloud_link_by_project_id_writes_the_project_and_its_key() {
    let t = logged_in(|c| c);
    let run = run(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    snapshot!("link_cloud", run);

    // The project and its key, read together; nothing else.
    let mut seen = requests(&t);
    seen.sort();
    assert_eq!(
        seen,
        [
            format!("GET /projects/v1/{PROJECT_TODO_ID}"),
            format!("GET /projects/v1/{PROJECT_TODO_ID}/access-api-key"),
        ]
    );
    let path = t.cwd().join(".insforge/project.json");
    insta::assert_snapshot!(
        "link_cloud_project_json",
        std::fs::read_to_string(&path).unwrap()
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    // No organisation was chosen, so the default stays as it was (unset).
    assert!(config_json(&t).get("default_org_id").is_none());

    // `current --json` shows the link without its key.
    let current = t.run(&["current", "--json"]);
    current.expect_code(0);
    let doc = &current.json()["project"];
    assert_eq!(doc["project_id"], PROJECT_TODO_ID);
    assert_eq!(doc["appkey"], PROJECT_TODO_APPKEY);
    assert_eq!(
        doc["oss_host"],
        format!("https://{PROJECT_TODO_APPKEY}.{PROJECT_TODO_REGION}.insforge.app")
    );
    assert!(doc.get("api_key").is_none());
    assert!(!current.stdout.contains(API_KEY));
}

#[test]
fn cloud_link_with_org_answers_json_and_remembers_the_org() {
    let t = logged_in(|c| c);
    let run = run(
        &t,
        &[
            "link",
            "--json",
            "--org-id",
            ORG_ACME_ID,
            "--project-id",
            PROJECT_TODO_ID,
            "--guard",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({"success": true, "project": {"id": PROJECT_TODO_ID, "name": PROJECT_TODO_NAME, "region": PROJECT_TODO_REGION}})
    );
    assert_eq!(run.stderr, "");
    assert!(!run.stdout.contains(API_KEY));
    assert_eq!(config_json(&t)["default_org_id"], ORG_ACME_ID);
    let link = project_json(&t);
    assert_eq!(link["guard"], true);
    assert_eq!(link["org_id"], ORG_ACME_ID);

    // Linking again without --guard keeps the directory's guard setting.
    run_ok(&t, &["link", "--project-id", PROJECT_CRM_ID]);
    let link = project_json(&t);
    assert_eq!(link["project_id"], PROJECT_CRM_ID);
    assert_eq!(link["guard"], true);
}

fn run_ok(t: &TestEnv, args: &[&str]) -> Run {
    let r = run(t, args);
    r.expect_code(0);
    r
}

#[test]
fn cloud_link_with_several_orgs_and_no_terminal_names_org_id() {
    let t = logged_in(|c| c);
    // --auth alone asks for a cloud link without naming the organisation.
    let run = run(&t, &["link", "--json", "--auth", "better-auth"]);
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert!(
        line["hint"].as_str().unwrap().contains("--org-id"),
        "{line}"
    );
    assert!(line["hint"].as_str().unwrap().contains(ORG_PERSONAL_ID));
    assert_eq!(requests(&t), ["GET /organizations/v1"]);
    assert!(!t.cwd().join(".insforge").exists());
    assert!(config_json(&t).get("default_org_id").is_none());
}

#[test]
fn cloud_link_with_one_org_uses_it_and_then_needs_the_project() {
    let t = logged_in(SandboxConfig::with_single_org);
    let run = run(&t, &["link", "--auth", "better-auth"]);
    snapshot!("link_single_org_needs_project", run);
    assert_eq!(
        requests(&t),
        [
            "GET /organizations/v1".to_owned(),
            format!("GET /organizations/v1/{ORG_ACME_ID}/projects")
        ]
    );
    assert!(!t.cwd().join(".insforge").exists());
}

#[test]
fn cloud_link_in_an_org_without_projects_says_so() {
    let t = logged_in(|c| c);
    let run = run(&t, &["link", "--org-id", ORG_PERSONAL_ID]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("No projects found in this organization."),
        "{}",
        run.stderr
    );
}

#[test]
fn cloud_link_in_an_unknown_org_is_not_found() {
    let t = logged_in(|c| c);
    let run = run(&t, &["link", "--json", "--org-id", "no-such-org"]);
    let line = assert_json_failure(&run, 4, "NOT_FOUND");
    assert_eq!(line["error"], "Organization no-such-org not found.");
}

#[test]
fn cloud_link_to_an_unknown_project_is_no_access() {
    let t = logged_in(|c| c);
    let run = run(&t, &["link", "--project-id", "0000-unknown"]);
    snapshot!("link_no_access", run);
    assert!(!t.cwd().join(".insforge").exists());

    let json_run = self::run(&t, &["link", "--json", "--project-id", "0000-unknown"]);
    let line = assert_json_failure(&json_run, 5, "PERMISSION_DENIED");
    assert_eq!(
        line["error"],
        "No access to project 0000-unknown as ada@example.com. Double-check the project ID, or run `insforge logout` to switch accounts."
    );
}

#[test]
fn cloud_link_to_a_project_of_another_account_is_no_access() {
    let t = logged_in(|c| c);
    t.sandbox().add_fault(
        Fault::answer(
            format!("/projects/v1/{PROJECT_CRM_ID}/access-api-key"),
            403,
            json!({"error": "FORBIDDEN", "message": "You do not have access to this project"}),
        )
        .method("GET"),
    );
    let run = run(&t, &["link", "--json", "--project-id", PROJECT_CRM_ID]);
    let line = assert_json_failure(&run, 5, "PERMISSION_DENIED");
    assert!(line["error"].as_str().unwrap().starts_with(&format!(
        "No access to project {PROJECT_CRM_ID} as ada@example.com."
    )));
    assert!(!t.cwd().join(".insforge").exists());
}

#[test]
fn cloud_link_with_a_token_from_the_environment_does_not_guess_who_it_is() {
    let mut t = TestEnv::with_platform();
    t.env("INSFORGE_ACCESS_TOKEN", USER_API_KEY);
    let ok = run(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    ok.expect_code(0);
    let denied = run(&t, &["link", "--json", "--project-id", "0000-unknown"]);
    let line = assert_json_failure(&denied, 5, "PERMISSION_DENIED");
    assert!(line["error"].as_str().unwrap().contains("as unknown user."));
    assert!(line["hint"]
        .as_str()
        .unwrap()
        .contains("INSFORGE_ACCESS_TOKEN"));
    assert!(!denied.stderr.contains(USER_API_KEY));
}

#[test]
fn cloud_link_needs_a_login_before_any_request() {
    let t = TestEnv::with_platform();
    let run = run(&t, &["link", "--json", "--project-id", PROJECT_TODO_ID]);
    assert_json_failure(&run, 2, "AUTH_ERROR");
    assert!(requests(&t).is_empty());
}

#[test]
fn link_without_flags_and_no_terminal_says_what_to_pass() {
    let t = logged_in(|c| c);
    let run = run(&t, &["link"]);
    snapshot!("link_no_flags", run);
    assert!(requests(&t).is_empty());
}

#[test]
fn link_checks_template_and_auth_before_anything_else() {
    let t = TestEnv::with_platform();
    let bad = run(&t, &["link", "--template", "vue", "--project-id", "x"]);
    bad.expect_code(1);
    assert!(bad.stderr.contains(
        "Invalid template \"vue\". Valid options: react, nextjs, chatbot, crm, e-commerce, todo"
    ));
    let bad = run(&t, &["link", "--auth", "clerk"]);
    bad.expect_code(1);
    assert!(bad
        .stderr
        .contains("Invalid --auth \"clerk\". Valid: better-auth"));
    let refused = run(&t, &["link", "--template", "react", "--project-id", "x"]);
    snapshot!("link_template_refused", refused);
    assert!(requests(&t).is_empty());
}
