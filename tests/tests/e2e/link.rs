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
fn link_with_only_auth_and_no_terminal_fails_at_once_like_link_without_flags() {
    let t = logged_in(|c| c);
    let bare = run(&t, &["link"]);
    bare.expect_code(1);

    // --auth (valid) names no project: the same error as no flags, before the login is looked
    // at and before any request.
    let auth = run(&t, &["link", "--auth", "better-auth"]);
    assert_eq!(auth.transcript(), bare.transcript());
    let json_run = run(&t, &["link", "--json", "--auth", "better-auth"]);
    let line = assert_json_failure(&json_run, 1, "USAGE_ERROR");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("--project-id") && error.contains("--api-base-url"),
        "{line}"
    );
    assert!(!json_run.stderr.contains("warning"), "{}", json_run.stderr);
    // Also with --guard, and without a login at all.
    let guard = run(&t, &["link", "--auth", "better-auth", "--guard"]);
    assert_eq!(guard.transcript(), bare.transcript());
    let anonymous = TestEnv::with_platform();
    let anon = self::run(&anonymous, &["link", "--auth", "better-auth"]);
    assert_eq!(anon.transcript(), bare.transcript());

    assert!(requests(&t).is_empty());
    assert!(requests(&anonymous).is_empty());
    assert!(!t.cwd().join(".insforge").exists());
    assert!(config_json(&t).get("default_org_id").is_none());
}

#[test]
fn cloud_link_with_an_org_and_no_terminal_needs_the_project() {
    let t = logged_in(SandboxConfig::with_single_org);
    let run = run(&t, &["link", "--org-id", ORG_ACME_ID]);
    snapshot!("link_org_needs_project", run);
    assert_eq!(
        requests(&t),
        [format!("GET /organizations/v1/{ORG_ACME_ID}/projects")]
    );
    assert!(!t.cwd().join(".insforge").exists());
    assert!(config_json(&t).get("default_org_id").is_none());
}

#[test]
fn link_with_auth_warns_that_auth_is_ignored() {
    let t = logged_in(|c| c);
    let warning = "--auth better-auth is ignored: --auth applies to templates only, and this \
                   link uses no template";
    let self_hosted = run(
        &t,
        &[
            "link",
            "--auth",
            "better-auth",
            "--api-base-url",
            "http://127.0.0.1:7130",
            "--api-key",
            API_KEY,
        ],
    );
    self_hosted.expect_code(0);
    assert_eq!(self_hosted.stderr, format!("warning: {warning}\n"));
    assert_eq!(project_json(&t)["oss_host"], "http://127.0.0.1:7130");

    // A cloud link too; with --json the warning is a JSON line on stderr.
    let cloud = run(
        &t,
        &[
            "link",
            "--json",
            "--auth",
            "better-auth",
            "--project-id",
            PROJECT_TODO_ID,
        ],
    );
    cloud.expect_code(0);
    assert_eq!(cloud.json()["success"], true);
    let first: Value = serde_json::from_str(cloud.stderr.lines().next().unwrap()).unwrap();
    assert_eq!(first, json!({ "warning": warning }));
    assert_eq!(project_json(&t)["project_id"], PROJECT_TODO_ID);

    // Without --auth: no warning.
    let plain = run_ok(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    assert!(!plain.stderr.contains("--auth"), "{}", plain.stderr);
}

/// Makes `~/.insforge/config.json` impossible to write, for root too, while it still reads as
/// absent: a symbolic link into a directory that does not exist. (A directory in its place
/// would not do: every platform command reads config.json when it starts.)
#[cfg(unix)]
pub fn break_config_json(t: &TestEnv) {
    let dir = t.home().join(".insforge");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.json");
    let _ = std::fs::remove_file(&path);
    std::os::unix::fs::symlink(dir.join("no-such-dir/config.json"), &path).unwrap();
}

#[cfg(unix)]
#[test]
fn cloud_link_whose_config_json_cannot_be_written_warns_and_the_link_stands() {
    let t = logged_in(|c| c);
    break_config_json(&t);
    let human = run(
        &t,
        &[
            "link",
            "--org-id",
            ORG_ACME_ID,
            "--project-id",
            PROJECT_TODO_ID,
        ],
    );
    human.expect_code(0);
    let warning = format!(
        "warning: the link is written, but organization {ORG_ACME_ID} could not be saved as \
         your default: cannot "
    );
    assert!(human.stderr.starts_with(&warning), "{}", human.stderr);
    assert!(human.stderr.contains("config.json"), "{}", human.stderr);
    assert!(
        human.stdout.contains("Linked to project"),
        "{}",
        human.stdout
    );
    assert_eq!(project_json(&t)["project_id"], PROJECT_TODO_ID);

    // With --json: the answer on stdout, the warning as a JSON line.
    let json_run = run(
        &t,
        &[
            "link",
            "--json",
            "--org-id",
            ORG_ACME_ID,
            "--project-id",
            PROJECT_CRM_ID,
        ],
    );
    json_run.expect_code(0);
    assert_eq!(json_run.json()["project"]["id"], PROJECT_CRM_ID);
    let first: Value = serde_json::from_str(json_run.stderr.lines().next().unwrap()).unwrap();
    assert!(
        first["warning"]
            .as_str()
            .unwrap()
            .contains("could not be saved as your default"),
        "{first}"
    );
    assert_eq!(project_json(&t)["project_id"], PROJECT_CRM_ID);
    assert!(
        std::fs::symlink_metadata(t.home().join(".insforge/config.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
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
fn cloud_link_to_an_unknown_project_is_not_found() {
    let t = logged_in(|c| c);
    let run = run(&t, &["link", "--project-id", "0000-unknown"]);
    snapshot!("link_not_found", run);
    assert!(!t.cwd().join(".insforge").exists());

    let json_run = self::run(&t, &["link", "--json", "--project-id", "0000-unknown"]);
    let line = assert_json_failure(&json_run, 4, "NOT_FOUND");
    assert_eq!(
        line["error"],
        "Project 0000-unknown not found as ada@example.com. Double-check the project ID, or run `insforge logout` to switch accounts."
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
        .method("GET")
        .times(Some(2)),
    );
    let human = run(&t, &["link", "--project-id", PROJECT_CRM_ID]);
    snapshot!("link_no_access", human);
    let run = run(&t, &["link", "--json", "--project-id", PROJECT_CRM_ID]);
    let line = assert_json_failure(&run, 5, "PERMISSION_DENIED");
    assert_eq!(
        line["error"],
        format!("No access to project {PROJECT_CRM_ID} as ada@example.com. Double-check the project ID, or run `insforge logout` to switch accounts.")
    );
    assert!(!t.cwd().join(".insforge").exists());
}

#[test]
fn cloud_link_with_a_token_from_the_environment_does_not_guess_who_it_is() {
    let mut t = TestEnv::with_platform();
    t.env("INSFORGE_ACCESS_TOKEN", USER_API_KEY);
    let ok = run(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    ok.expect_code(0);
    let missing = run(&t, &["link", "--json", "--project-id", "0000-unknown"]);
    let line = assert_json_failure(&missing, 4, "NOT_FOUND");
    assert!(line["error"].as_str().unwrap().contains("as unknown user."));
    assert!(line["hint"]
        .as_str()
        .unwrap()
        .contains("INSFORGE_ACCESS_TOKEN"));
    assert!(!missing.stderr.contains(USER_API_KEY));
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

#[test]
fn link_help_says_the_guard_is_recorded_but_not_enforced() {
    let t = TestEnv::new();
    let run = t.run(&["link", "--help"]);
    run.expect_code(0);
    let help = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("Record the official tool's guard setting in the link"),
        "{help}"
    );
    assert!(
        help.contains("This version does not enforce the guard"),
        "{help}"
    );
    assert!(!help.contains("Turn the guard"), "{help}");
}

#[test]
fn link_in_the_home_directory_is_refused() {
    let t = TestEnv::new();
    let run = t.run_in(
        t.home(),
        &[
            "link",
            "--api-base-url",
            "http://127.0.0.1:7130",
            "--api-key",
            API_KEY,
        ],
    );
    snapshot!("link_in_home", run);
    assert!(!t.home().join(".insforge/project.json").exists());

    // Cloud links too, before the login is even looked at.
    let json_run = t.run_in(
        t.home(),
        &["link", "--json", "--project-id", PROJECT_TODO_ID],
    );
    let line = assert_json_failure(&json_run, 1, "USAGE_ERROR");
    assert!(line["error"]
        .as_str()
        .unwrap()
        .contains("your home directory's .insforge/ holds your login, not a project link"));
    assert!(!t.home().join(".insforge/project.json").exists());
}

#[test]
fn link_where_insforge_is_a_file_names_the_path() {
    let t = TestEnv::new();
    t.write(".insforge", "not a directory");
    let run = t.run(&[
        "link",
        "--api-base-url",
        "http://127.0.0.1:7130",
        "--api-key",
        API_KEY,
    ]);
    snapshot!("link_insforge_is_a_file", run);
    assert_eq!(
        std::fs::read_to_string(t.cwd().join(".insforge")).unwrap(),
        "not a directory"
    );
}

#[test]
fn relinking_to_another_project_warns_about_the_one_replaced() {
    let t = logged_in(|c| c);
    run_ok(&t, &["link", "--project-id", PROJECT_TODO_ID]);

    // The same project again: nothing is replaced.
    let again = run_ok(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    assert!(!again.stderr.contains("replacing"), "{}", again.stderr);

    let other = run_ok(&t, &["link", "--project-id", PROJECT_CRM_ID]);
    assert_eq!(
        other.stderr,
        format!("warning: replacing the link to {PROJECT_TODO_NAME} ({PROJECT_TODO_ID})\n")
    );
    assert_eq!(project_json(&t)["project_id"], PROJECT_CRM_ID);

    // A self-hosted backend is named by its URL; with --json the warning is a JSON line.
    let json_run = run_ok(
        &t,
        &[
            "link",
            "--json",
            "--api-base-url",
            "http://127.0.0.1:7130",
            "--api-key",
            API_KEY,
        ],
    );
    assert_eq!(
        json_run.stderr,
        format!(
            "{}\n",
            json!({"warning": "replacing the link to crm-dashboard (2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091)"})
        )
    );
    let back = run_ok(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    assert_eq!(
        back.stderr,
        "warning: replacing the link to oss-project (http://127.0.0.1:7130)\n"
    );
}

#[test]
fn linking_in_a_git_repository_hints_when_gitignore_misses_insforge() {
    let t = TestEnv::new();
    std::fs::create_dir(t.cwd().join(".git")).unwrap();
    let link = |t: &TestEnv| {
        t.run(&[
            "link",
            "--api-base-url",
            "http://127.0.0.1:7130",
            "--api-key",
            API_KEY,
        ])
    };

    // A repository without a .gitignore.
    let run = link(&t);
    snapshot!("link_hint_gitignore", run);
    assert!(!t.cwd().join(".gitignore").exists(), "never created");

    // A .gitignore that misses .insforge: hinted, never edited.
    t.write(".gitignore", "node_modules/\n");
    let run = link(&t);
    run.expect_code(0);
    assert!(
        run.stderr.contains(
            "hint: .insforge/ holds the project's API key and should not be committed: add a line `.insforge/` to [WORK]/.gitignore"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(t.cwd().join(".gitignore")).unwrap(),
        "node_modules/\n"
    );

    // Also with --json, on stderr.
    let run = t.run(&[
        "link",
        "--json",
        "--api-base-url",
        "http://127.0.0.1:7130",
        "--api-key",
        API_KEY,
    ]);
    run.expect_code(0);
    assert!(
        run.stderr.starts_with("hint: .insforge/ holds"),
        "{}",
        run.stderr
    );
    run.json();

    // Covered, from a subdirectory of the repository: quiet.
    t.write(".gitignore", "node_modules/\n.insforge\n");
    let sub = t.cwd().join("app");
    std::fs::create_dir(&sub).unwrap();
    let run = t.run_in(
        &sub,
        &[
            "link",
            "--api-base-url",
            "http://127.0.0.1:7130",
            "--api-key",
            API_KEY,
        ],
    );
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert!(sub.join(".insforge/project.json").is_file());
}

#[test]
fn current_shows_insforge_project_id_when_it_is_set() {
    let t = TestEnv::new();
    t.write(
        ".insforge/project.json",
        r#"{"project_id":"p-linked","project_name":"linked","org_id":"o","appkey":"abc","region":"us-east","api_key":"ik_x","oss_host":"https://abc.us-east.insforge.app"}"#,
    );
    let env = [("INSFORGE_PROJECT_ID", " p-from-env ")];
    let human = t.run_with_env(&["current"], &env);
    snapshot!("current_project_id_env", human);

    let json_run = t.run_with_env(&["current", "--json"], &env);
    json_run.expect_code(0);
    let doc = json_run.json();
    assert_eq!(doc["project_id_env"], "p-from-env");
    assert_eq!(doc["project"]["project_id"], "p-linked");

    // Only when set (and not blank).
    for vars in [&[][..], &[("INSFORGE_PROJECT_ID", "  ")][..]] {
        let plain = t.run_with_env(&["current", "--json"], vars);
        plain.expect_code(0);
        assert!(
            plain.json().get("project_id_env").is_none(),
            "{}",
            plain.stdout
        );
        let human = t.run_with_env(&["current"], vars);
        assert!(!human.stdout.contains("Project ID env"), "{}", human.stdout);
    }
}

// --- URLs as typed, fields kept, values from the platform ------------------------------------

/// `http://127.0.0.1:<port>` with the scheme as `scheme` spells it.
fn respelled(url: &str, scheme: &str) -> String {
    format!("{scheme}{}", url.strip_prefix("http://").unwrap())
}

#[test]
fn link_with_an_upper_case_scheme_stores_the_parsed_url_and_reaches_the_sandbox() {
    let t = TestEnv::with_sandbox();
    let url = t.sandbox().base_url().to_owned();
    for typed in [
        respelled(&url, "HTTP://"),
        respelled(&url, "Http://"),
        format!(" {}/ ", respelled(&url, "hTTp://")),
    ] {
        t.run(&["link", "--api-base-url", &typed, "--api-key", API_KEY])
            .expect_code(0);
        // Stored as parsed (lower-case scheme, no spaces, one trailing `/` gone): the official
        // tool would take anything else for a cloud host and rebuild it.
        assert_eq!(project_json(&t)["oss_host"], url.as_str(), "{typed:?}");
        let current = t.run(&["current", "--json"]);
        current.expect_code(0);
        // Checked before anything is sent: a wrong host here would be an internet name.
        assert_eq!(
            current.json()["project"]["oss_host"],
            "[SANDBOX]",
            "{typed:?}"
        );

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
fn link_stores_the_url_normalised_but_keeps_its_path() {
    let t = TestEnv::new();
    for (typed, stored) in [
        ("HTTP://LOCALHOST:7130/Base/", "http://localhost:7130/Base"),
        ("https://127.0.0.1:443/", "https://127.0.0.1"),
        ("http://127.0.0.1:7130/api//", "http://127.0.0.1:7130/api/"),
        ("\thttp://127.0.0.1:7130 ", "http://127.0.0.1:7130"),
    ] {
        let run = t.run(&["link", "--api-base-url", typed, "--api-key", API_KEY]);
        run.expect_code(0);
        assert_eq!(project_json(&t)["oss_host"], stored, "{typed:?}");
        assert!(
            run.stdout
                .contains(&format!("Linked to direct project at {stored}\n")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn current_says_unknown_user_for_a_stored_login_without_a_user() {
    let t = TestEnv::new();
    std::fs::create_dir_all(t.home().join(".insforge")).unwrap();
    for credentials in [
        r#"{"access_token":"tok_stored","user":null}"#,
        r#"{"access_token":"tok_stored"}"#,
        r#"{"access_token":"tok_stored","user":{}}"#,
    ] {
        std::fs::write(t.credentials_path(), credentials).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(t.credentials_path(), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        let run = t.run(&["current"]);
        run.expect_code(0);
        assert!(
            run.stdout.contains("  User:          (unknown user)\n"),
            "{credentials}: {}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("INSFORGE_ACCESS_TOKEN"),
            "{}",
            run.stdout
        );

        // Only a token in the environment is named as the source.
        let env = t.run_with_env(&["current"], &[("INSFORGE_ACCESS_TOKEN", "tok_env")]);
        env.expect_code(0);
        assert!(
            env.stdout
                .contains("  User:          (from INSFORGE_ACCESS_TOKEN)\n"),
            "{credentials}: {}",
            env.stdout
        );
        assert!(!env.stdout.contains("tok_"), "{}", env.stdout);
    }
}

/// Adds fields this tool does not know to the link in the working directory.
fn add_unknown_fields(t: &TestEnv) {
    let mut link = project_json(t);
    let map = link.as_object_mut().unwrap();
    map.insert(
        "branched_from".into(),
        json!({"project_id": "p-parent", "project_name": "parent"}),
    );
    map.insert("extra_field".into(), json!([1, {"a": null}]));
    map.insert("guard".into(), json!(true));
    t.write(
        ".insforge/project.json",
        serde_json::to_string_pretty(&link).unwrap(),
    );
}

fn keys(link: &Value) -> Vec<String> {
    link.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn relinking_the_same_cloud_project_keeps_unknown_fields_and_another_starts_fresh() {
    let t = logged_in(|c| c);
    run_ok(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    add_unknown_fields(&t);

    let again = run_ok(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    assert!(!again.stderr.contains("replacing"), "{}", again.stderr);
    let link = project_json(&t);
    assert_eq!(
        link["branched_from"],
        json!({"project_id": "p-parent", "project_name": "parent"})
    );
    assert_eq!(link["extra_field"], json!([1, {"a": null}]));
    assert_eq!(link["guard"], true);
    assert_eq!(link["api_key"], API_KEY);
    assert_eq!(
        keys(&link),
        [
            "project_id",
            "project_name",
            "org_id",
            "appkey",
            "region",
            "api_key",
            "oss_host",
            "branched_from",
            "extra_field",
            "guard"
        ]
    );

    // --guard given: its value wins, the rest stays.
    run_ok(
        &t,
        &["link", "--project-id", PROJECT_TODO_ID, "--guard", "off"],
    );
    let link = project_json(&t);
    assert_eq!(link["guard"], false);
    assert_eq!(link["extra_field"], json!([1, {"a": null}]));

    // Another project: only the guard setting of the directory carries over.
    run_ok(&t, &["link", "--project-id", PROJECT_CRM_ID, "--guard"]);
    let link = project_json(&t);
    assert_eq!(link["project_id"], PROJECT_CRM_ID);
    assert!(link.get("branched_from").is_none(), "{link}");
    assert!(link.get("extra_field").is_none(), "{link}");
    assert_eq!(link["guard"], true);
}

#[test]
fn relinking_the_same_self_hosted_backend_keeps_unknown_fields_and_another_starts_fresh() {
    let t = TestEnv::new();
    let link = |url: &str| {
        t.run(&["link", "--api-base-url", url, "--api-key", API_KEY])
            .expect_code(0)
            .stderr
            .clone()
    };
    link("http://127.0.0.1:7130");
    add_unknown_fields(&t);

    // The same backend, spelled differently.
    let stderr = link("HTTP://127.0.0.1:7130/");
    assert!(!stderr.contains("replacing"), "{stderr}");
    let kept = project_json(&t);
    assert_eq!(kept["branched_from"]["project_id"], "p-parent");
    assert_eq!(kept["extra_field"], json!([1, {"a": null}]));
    assert_eq!(kept["oss_host"], "http://127.0.0.1:7130");

    let stderr = link("http://127.0.0.1:7131");
    assert!(stderr.contains("replacing the link"), "{stderr}");
    let fresh = project_json(&t);
    assert!(fresh.get("branched_from").is_none(), "{fresh}");
    assert!(fresh.get("extra_field").is_none(), "{fresh}");
    assert_eq!(fresh["guard"], true);
}

/// A fault answering the project `id` with `field` set to `value`, for the next `times` reads.
fn project_answer_with(id: &str, field: &str, value: &str, times: u64) -> Fault {
    let mut project = json!({
        "id": id,
        "organization_id": ORG_ACME_ID,
        "name": PROJECT_TODO_NAME,
        "appkey": PROJECT_TODO_APPKEY,
        "region": PROJECT_TODO_REGION,
        "status": "active",
    });
    project[field] = json!(value);
    Fault::answer(format!("/projects/v1/{id}"), 200, project)
        .method("GET")
        .times(Some(times))
}

#[test]
fn cloud_link_refuses_an_appkey_or_region_that_is_not_a_host_name_label() {
    let t = logged_in(|c| c);
    // A link already here stays as it was.
    t.write(".insforge/project.json", r#"{"project_id":"p-old"}"#);
    for (field, value) in [
        ("appkey", "127.0.0.1:40491/#"),
        ("appkey", "K7M2P9QX"),
        ("region", "us-east.evil.example"),
        ("region", ""),
    ] {
        t.sandbox()
            .add_fault(project_answer_with(PROJECT_TODO_ID, field, value, 1));
        let run = run(&t, &["link", "--json", "--project-id", PROJECT_TODO_ID]);
        let line = assert_json_failure(&run, 1, "UNKNOWN_ERROR");
        let error = line["error"].as_str().unwrap();
        assert!(
            error.starts_with(&format!(
                "the platform's answer for project {PROJECT_TODO_ID} has an invalid {field} {value:?}"
            )),
            "{error}"
        );
        assert!(error.contains("1 to 63 lower-case letters, digits or '-'"));
        assert_eq!(
            std::fs::read_to_string(t.cwd().join(".insforge/project.json")).unwrap(),
            r#"{"project_id":"p-old"}"#
        );
    }
    assert!(config_json(&t).get("default_org_id").is_none());

    // In human mode, the same words on stderr.
    t.sandbox().add_fault(project_answer_with(
        PROJECT_TODO_ID,
        "appkey",
        "127.0.0.1:40491/#",
        1,
    ));
    let human = run(&t, &["link", "--project-id", PROJECT_TODO_ID]);
    human.expect_code(1);
    assert!(
        human.stderr.starts_with(&format!(
            "error: the platform's answer for project {PROJECT_TODO_ID} has an invalid appkey \"127.0.0.1:40491/#\""
        )),
        "{}",
        human.stderr
    );
    assert_eq!(human.stdout, "");
}
