//! `insforge create`: a new project on the fake platform, polled until active, then linked.

use insforge_tests::kit::{Run, TestEnv, API_KEY};
use insforge_tests::sandbox::platform::{ORG_ACME_ID, ORG_PERSONAL_ID, PROJECT_TODO_ID};
use insforge_tests::sandbox::{Fault, SandboxConfig};
use serde_json::{json, Value};

use crate::assert_json_failure;
use crate::link::{config_json, logged_in, project_json, requests, run};

/// The project the test created (the one the seed does not have).
fn created(t: &TestEnv) -> Value {
    t.sandbox()
        .platform_projects()
        .into_iter()
        .find(|p| p["name"] == "my-app")
        .expect("the project was created")
}

/// The run with the created project's random id and app key replaced by stable names.
/// `create --json --name my-app --org-id <Acme>`, the run most tests start from.
fn create_my_app_json(t: &TestEnv) -> Run {
    run(
        t,
        &[
            "create",
            "--json",
            "--name",
            "my-app",
            "--org-id",
            ORG_ACME_ID,
        ],
    )
}

fn redacted(t: &TestEnv, run: &Run) -> String {
    let project = created(t);
    let id = project["id"].as_str().unwrap();
    let appkey = project["appkey"].as_str().unwrap();
    run.transcript()
        .replace(id, "[PROJECT_ID]")
        .replace(appkey, "[APPKEY]")
}

#[test]
fn create_with_a_name_creates_waits_and_links() {
    let mut t = logged_in(SandboxConfig::with_single_org);
    t.env("INSFORGE_FRONTEND_URL", "http://127.0.0.1:3000/");
    let run = run(&t, &["create", "--json", "--name", "my-app"]);
    run.expect_code(0);
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("create_json", redacted(&t, &run));
    });

    let project = created(&t);
    let id = project["id"].as_str().unwrap();
    assert_eq!(project["status"], "active");

    // POST, then polls until active (the sandbox needs 1 s), then the key.
    let seen = requests(&t);
    assert_eq!(seen[0], "GET /organizations/v1");
    assert_eq!(
        seen[1],
        format!("POST /organizations/v1/{ORG_ACME_ID}/projects")
    );
    let polls = seen[2..seen.len() - 1].to_vec();
    assert!(polls.len() >= 2, "{seen:?}");
    assert!(polls.iter().all(|p| *p == format!("GET /projects/v1/{id}")));
    assert_eq!(
        seen.last().unwrap(),
        &format!("GET /projects/v1/{id}/access-api-key")
    );
    let post = t
        .sandbox()
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.body, r#"{"name":"my-app"}"#);

    // The link is written from the creation answer, privately, in the official key order.
    let link = project_json(&t);
    let keys: Vec<&str> = link
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "project_id",
            "project_name",
            "org_id",
            "appkey",
            "region",
            "api_key",
            "oss_host"
        ]
    );
    assert_eq!(link["project_id"], id);
    assert_eq!(link["project_name"], "my-app");
    assert_eq!(link["org_id"], ORG_ACME_ID);
    assert_eq!(link["region"], "us-east");
    assert_eq!(link["api_key"], API_KEY);
    assert_eq!(
        link["oss_host"],
        format!(
            "https://{}.us-east.insforge.app",
            project["appkey"].as_str().unwrap()
        )
    );
    #[cfg(unix)]
    assert_eq!(
        crate::link::mode(&t.cwd().join(".insforge/project.json")),
        0o600
    );
    assert_eq!(config_json(&t)["default_org_id"], ORG_ACME_ID);
    assert!(!run.stdout.contains(API_KEY));
}

#[test]
fn create_in_human_mode_reports_progress_on_stderr() {
    let t = logged_in(|c| c);
    let run = run(
        &t,
        &[
            "create",
            "--name",
            "my-app",
            "--org-id",
            ORG_PERSONAL_ID,
            "--region",
            "eu-central",
        ],
    );
    run.expect_code(0);
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("create_human", redacted(&t, &run));
    });
    let post = t
        .sandbox()
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.body, r#"{"name":"my-app","region":"eu-central"}"#);
    assert_eq!(project_json(&t)["region"], "eu-central");
    assert_eq!(config_json(&t)["default_org_id"], ORG_PERSONAL_ID);
}

#[test]
fn create_without_a_name_and_no_terminal_names_the_flag() {
    let t = logged_in(|c| c);
    let run = run(&t, &["create", "--json", "--org-id", ORG_ACME_ID]);
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert!(line["hint"].as_str().unwrap().contains("--name"), "{line}");
    assert!(requests(&t).is_empty());

    // The missing name is found before the missing login.
    let anonymous = TestEnv::with_platform();
    let run = self::run(&anonymous, &["create"]);
    run.expect_code(1);
    assert!(run.stderr.contains("--name"), "{}", run.stderr);
    assert!(requests(&anonymous).is_empty());
}

#[test]
fn create_needs_a_login_before_any_request() {
    let t = TestEnv::with_platform();
    let run = run(&t, &["create", "--json", "--name", "my-app"]);
    assert_json_failure(&run, 2, "AUTH_ERROR");
    assert!(requests(&t).is_empty());
}

#[test]
fn create_checks_its_flags_before_the_login() {
    let t = TestEnv::with_platform();
    for (args, message) in [
        (
            vec!["--template", "vue"],
            "Invalid template \"vue\". Valid options: react, nextjs, chatbot, crm, e-commerce, todo, empty",
        ),
        (
            vec!["--template", "react", "--marketplace", "shop"],
            "--marketplace and --template are mutually exclusive",
        ),
        (
            vec!["--marketplace", "Shop!"],
            "Invalid --marketplace slug \"Shop!\". Slugs must match /^[a-z0-9][a-z0-9-]{0,99}$/.",
        ),
        (vec!["--auth", "clerk"], "Invalid --auth \"clerk\". Valid: better-auth"),
        (
            vec!["--name", "x"],
            "Project name must be at least 2 safe characters (letters, numbers, hyphens).",
        ),
        (
            vec!["--name", "名前"],
            "Project name must be at least 2 safe characters (letters, numbers, hyphens).",
        ),
        (vec!["--template", "react"], "templates are not available"),
    ] {
        let mut all = vec!["create", "--json"];
        if !args.contains(&"--name") {
            all.extend(["--name", "my-app"]);
        }
        all.extend(args);
        let run = run(&t, &all);
        let line = assert_json_failure(&run, 1, "USAGE_ERROR");
        assert!(
            line["error"].as_str().unwrap().contains(message),
            "{all:?}: {line}"
        );
    }
    assert!(requests(&t).is_empty());
}

#[test]
fn create_with_several_orgs_and_no_terminal_names_org_id() {
    let t = logged_in(|c| c);
    let run = run(&t, &["create", "--json", "--name", "my-app"]);
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert!(
        line["hint"].as_str().unwrap().contains("--org-id"),
        "{line}"
    );
    // The organisations to choose from, by name and id.
    let hint = line["hint"].as_str().unwrap();
    assert!(
        hint.contains(ORG_PERSONAL_ID) && hint.contains(ORG_ACME_ID),
        "{line}"
    );
    assert_eq!(requests(&t), ["GET /organizations/v1"]);
    assert!(!t.cwd().join(".insforge").exists());
    assert!(config_json(&t).get("default_org_id").is_none());

    // In human mode: the same error, and the hint listing them.
    let human = self::run(&t, &["create", "--name", "my-app"]);
    human.expect_code(1);
    assert!(
        human.stderr.starts_with(
            "error: you belong to several organizations, and there is no terminal to ask on\n\
             hint: pass --org-id\nhint: your organizations: "
        ),
        "{}",
        human.stderr
    );
}

#[test]
fn create_with_one_org_uses_it_and_says_so() {
    let t = logged_in(|c| {
        c.with_single_org()
            .with_project_ready_delay(std::time::Duration::ZERO)
    });
    let run = run(&t, &["create", "--name", "my-app"]);
    run.expect_code(0);
    assert!(
        run.stderr.starts_with("Using organization: Acme Labs\n"),
        "{}",
        run.stderr
    );
    let seen = requests(&t);
    assert_eq!(seen[0], "GET /organizations/v1");
    assert_eq!(
        seen[1],
        format!("POST /organizations/v1/{ORG_ACME_ID}/projects")
    );
    assert_eq!(config_json(&t)["default_org_id"], ORG_ACME_ID);
    assert_eq!(project_json(&t)["org_id"], ORG_ACME_ID);
}

#[cfg(unix)]
#[test]
fn create_whose_config_json_cannot_be_written_warns_and_the_project_stays_linked() {
    let t = logged_in(|c| c.with_project_ready_delay(std::time::Duration::ZERO));
    crate::link::break_config_json(&t);
    let human = run(&t, &["create", "--name", "my-app", "--org-id", ORG_ACME_ID]);
    human.expect_code(0);
    assert!(
        human.stderr.contains(&format!(
            "warning: the link is written, but organization {ORG_ACME_ID} could not be saved \
             as your default: cannot "
        )),
        "{}",
        human.stderr
    );
    assert!(
        human
            .stdout
            .contains("Project \"my-app\" created and linked"),
        "{}",
        human.stdout
    );
    let id = created(&t)["id"].as_str().unwrap().to_owned();
    assert_eq!(project_json(&t)["project_id"], id.as_str());

    // With --json: the answer on stdout, the warning as a JSON line on stderr.
    let json_run = run(
        &t,
        &[
            "create",
            "--json",
            "--name",
            "my-other-app",
            "--org-id",
            ORG_ACME_ID,
        ],
    );
    json_run.expect_code(0);
    let answer = json_run.json();
    assert_eq!(answer["success"], true);
    assert_eq!(project_json(&t)["project_id"], answer["project"]["id"]);
    let warned = json_run.stderr.lines().any(|line| {
        serde_json::from_str::<Value>(line).is_ok_and(|v| {
            v["warning"]
                .as_str()
                .is_some_and(|w| w.contains("could not be saved as your default"))
        })
    });
    assert!(warned, "{}", json_run.stderr);
}

#[test]
fn create_tries_a_failing_status_check_again() {
    let t = logged_in(|c| c.with_project_ready_delay(std::time::Duration::ZERO));
    t.sandbox().add_fault(
        Fault::answer("/projects/v1/*", 503, json!({"error": "UNAVAILABLE"}))
            .method("GET")
            .times(Some(2)),
    );
    let run = create_my_app_json(&t);
    run.expect_code(0);
    assert_eq!(run.json()["success"], true);
}

#[test]
fn create_gives_up_when_the_status_check_keeps_failing() {
    let t = logged_in(|c| c);
    t.sandbox().add_fault(
        Fault::answer(
            "/projects/v1/*",
            503,
            json!({"error": "UNAVAILABLE", "message": "platform overloaded"}),
        )
        .method("GET")
        .times(None),
    );
    let run = run(&t, &["create", "--name", "my-app", "--org-id", ORG_ACME_ID]);
    let text = redacted(&t, &run);
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("create_poll_failure", text);
    });
    // Two looks (one more after the first fails), each sent three times by the HTTP client's
    // own retries of a 503.
    let polls = requests(&t)
        .into_iter()
        .filter(|r| r.starts_with("GET /projects/v1/"))
        .count();
    assert_eq!(polls, 6);
    assert!(!t.cwd().join(".insforge").exists());
    assert!(config_json(&t).get("default_org_id").is_none());
}

#[test]
fn create_in_an_unknown_org_is_not_found() {
    let t = logged_in(|c| c);
    let run = run(
        &t,
        &["create", "--json", "--name", "my-app", "--org-id", "nope"],
    );
    let line = assert_json_failure(&run, 4, "NOT_FOUND");
    assert_eq!(line["error"], "Organization nope not found.");
}

#[cfg(unix)]
#[test]
fn create_stops_cleanly_on_ctrl_c_while_waiting() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let t = logged_in(|c| c.with_project_ready_delay(Duration::from_secs(600)));
    let url = t.sandbox().base_url().to_owned();
    let mut cmd = t.command(
        t.cwd(),
        &[
            "create",
            "--name",
            "my-app",
            "--org-id",
            ORG_ACME_ID,
            "--api-url",
            &url,
        ],
    );
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("insforge starts");

    // Once it is polling, interrupt it as Ctrl-C would.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !requests(&t)
        .iter()
        .any(|r| r.starts_with("GET /projects/v1/"))
    {
        assert!(Instant::now() < deadline, "insforge never polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let started = Instant::now();
    let out = child.wait_with_output().expect("insforge finishes");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("--project-id"), "{stderr}");
    assert!(!t.cwd().join(".insforge").exists());
}

#[test]
fn create_warns_when_it_cleans_the_name_and_says_which_name_it_used() {
    let t = logged_in(|c| c.with_project_ready_delay(std::time::Duration::ZERO));
    let run = run(
        &t,
        &["create", "--name", "Ünïcödé 名前", "--org-id", ORG_ACME_ID],
    );
    run.expect_code(0);
    assert!(
        run.stderr.starts_with(
            "warning: using the project name \"-n-c-d----\", cleaned from \"Ünïcödé 名前\": a name has only letters, digits, '.', '_' and '-'\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(project_json(&t)["project_name"], "-n-c-d----");
    let post = t
        .sandbox()
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.body, r#"{"name":"-n-c-d----"}"#);

    // With --json the warning is a JSON line on stderr; stdout stays one document.
    let run = self::run(
        &t,
        &[
            "create",
            "--json",
            "--name",
            "a/b/My App",
            "--org-id",
            ORG_ACME_ID,
        ],
    );
    run.expect_code(0);
    assert_eq!(run.json()["project"]["name"], "My-App");
    let first: Value = serde_json::from_str(run.stderr.lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        json!({"warning": "using the project name \"My-App\", cleaned from \"a/b/My App\": a name has only letters, digits, '.', '_' and '-'"})
    );

    // A name that needs no cleaning: no warning.
    let run = self::create_my_app_json(&t);
    run.expect_code(0);
    assert!(
        !run.stderr.contains("using the project name"),
        "{}",
        run.stderr
    );
}

#[test]
fn create_refuses_a_name_without_ascii_letters_or_digits_before_any_request() {
    let t = logged_in(|c| c);
    let run = run(&t, &["create", "--name", "名前 ✓", "--org-id", ORG_ACME_ID]);
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: Project name must be at least 2 safe characters (letters, numbers, hyphens).\n\
         hint: \"名前 ✓\" would become \"----\": use ASCII letters or digits, for example --name my-app\n"
    );
    assert!(requests(&t).is_empty());
}

#[test]
fn create_replacing_a_link_warns_about_the_one_replaced() {
    let t = logged_in(|c| c.with_project_ready_delay(std::time::Duration::ZERO));
    run(
        &t,
        &[
            "link",
            "--api-base-url",
            "http://127.0.0.1:7130",
            "--api-key",
            API_KEY,
        ],
    )
    .expect_code(0);
    let run = run(&t, &["create", "--name", "my-app", "--org-id", ORG_ACME_ID]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("warning: replacing the link to oss-project (http://127.0.0.1:7130)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(project_json(&t)["project_name"], "my-app");
}

#[test]
fn create_in_the_home_directory_is_refused_before_any_request() {
    let t = logged_in(|c| c);
    let url = t.sandbox().base_url().to_owned();
    let run = t.run_in(
        t.home(),
        &[
            "create",
            "--json",
            "--name",
            "my-app",
            "--org-id",
            ORG_ACME_ID,
            "--api-url",
            &url,
        ],
    );
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert_eq!(
        line["error"],
        "cannot link [HOME] to a project: your home directory's .insforge/ holds your login, not a project link"
    );
    assert!(
        line["hint"]
            .as_str()
            .unwrap()
            .contains("`insforge create` in a project directory"),
        "{line}"
    );
    assert!(requests(&t).is_empty(), "no project was created");
    assert!(!t.home().join(".insforge/project.json").exists());
}

#[test]
fn create_with_auth_but_no_template_warns_that_auth_is_ignored() {
    let t = logged_in(|c| c.with_project_ready_delay(std::time::Duration::ZERO));
    let warning = "--auth better-auth is ignored: --auth applies to templates only, and this \
                   project starts blank";
    let human = run(
        &t,
        &[
            "create",
            "--name",
            "my-app",
            "--org-id",
            ORG_ACME_ID,
            "--auth",
            "better-auth",
        ],
    );
    human.expect_code(0);
    assert!(
        human.stderr.starts_with(&format!("warning: {warning}\n")),
        "{}",
        human.stderr
    );

    // With `--template empty` too; with --json the warning is a JSON line on stderr.
    let json_run = run(
        &t,
        &[
            "create",
            "--json",
            "--name",
            "my-app",
            "--org-id",
            ORG_ACME_ID,
            "--template",
            "empty",
            "--auth",
            "better-auth",
        ],
    );
    json_run.expect_code(0);
    assert_eq!(json_run.json()["success"], true);
    let first: Value = serde_json::from_str(json_run.stderr.lines().next().unwrap()).unwrap();
    assert_eq!(first, json!({ "warning": warning }));

    // Without --auth: no warning.
    let plain = run(&t, &["create", "--name", "my-app", "--org-id", ORG_ACME_ID]);
    plain.expect_code(0);
    assert!(!plain.stderr.contains("--auth"), "{}", plain.stderr);
}

#[test]
fn create_refuses_a_new_project_whose_appkey_is_not_a_host_name_label() {
    let t = logged_in(|c| c.with_project_ready_delay(std::time::Duration::ZERO));
    // The platform answers the creation with a seeded (active) project's id and a bad appkey.
    t.sandbox().add_fault(
        Fault::answer(
            format!("/organizations/v1/{ORG_ACME_ID}/projects"),
            201,
            json!({
                "id": PROJECT_TODO_ID,
                "organization_id": ORG_ACME_ID,
                "name": "my-app",
                "appkey": "127.0.0.1:40491/#",
                "region": "us-east",
                "status": "creating",
            }),
        )
        .method("POST"),
    );
    let run = create_my_app_json(&t);
    let line = assert_json_failure(&run, 1, "UNKNOWN_ERROR");
    assert!(
        line["error"].as_str().unwrap().starts_with(&format!(
            "the platform's answer for project {PROJECT_TODO_ID} has an invalid appkey \"127.0.0.1:40491/#\""
        )),
        "{line}"
    );
    assert!(
        line["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("the project {PROJECT_TODO_ID} was created")),
        "{line}"
    );
    assert!(!t.cwd().join(".insforge").exists());
    assert!(config_json(&t).get("default_org_id").is_none());
}
