//! `login`, `logout`, `whoami`, the stored login and its one refresh, against the sandbox's
//! fake platform.

use insforge_tests::kit::{TestEnv, API_KEY};
use insforge_tests::sandbox::platform::{
    ORG_ACME_ID, PROJECT_TODO_ID, TEST_USER_EMAIL, USER_API_KEY,
};
use insforge_tests::sandbox::Fault;
use serde_json::json;

use crate::{assert_json_failure, snapshot};

/// GET without following redirects; returns (status, Location).
fn get(url: &str, follow: bool) -> (u16, Option<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let policy = if follow {
            reqwest::redirect::Policy::limited(3)
        } else {
            reqwest::redirect::Policy::none()
        };
        let client = reqwest::Client::builder().redirect(policy).build().unwrap();
        let response = client
            .get(url)
            .send()
            .await
            .expect("the request is answered");
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    })
}

fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn paths_of(t: &TestEnv) -> Vec<String> {
    t.sandbox()
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn browser_login_with_no_browser_follows_the_printed_url_and_stores_the_login() {
    let t = TestEnv::with_platform();
    let mut login = t.spawn(&["login", "--no-browser"]);
    let url = login.wait_for_line(|l| l.starts_with("http"));

    // The URL carries a PKCE challenge and a state, and the callback is a loopback port.
    assert_eq!(
        query_param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&url, "code_challenge").map(|c| c.len()),
        Some(43)
    );
    assert_eq!(query_param(&url, "state").map(|s| s.len()), Some(22));
    assert_eq!(query_param(&url, "response_type").as_deref(), Some("code"));
    let redirect = query_param(&url, "redirect_uri").unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));

    // Following it is what a browser does: the sandbox approves at once and redirects to the
    // CLI's callback server.
    let (status, _) = get(&url, true);
    assert_eq!(status, 200);
    let run = login.finish(&t);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("✓ Logged in as {TEST_USER_EMAIL}\n"));
    assert!(!t.browser_log().exists(), "--no-browser opened a browser");

    let creds = t.credentials();
    assert!(creds["access_token"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(creds["refresh_token"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(creds["user"]["email"], TEST_USER_EMAIL);
    #[cfg(unix)]
    {
        assert_eq!(mode(&t.credentials_path()), 0o600);
        assert_eq!(mode(&t.home().join(".insforge")), 0o700);
    }
    snapshot!("whoami", t.run(&["whoami"]));
}

#[test]
fn a_callback_with_the_wrong_state_is_refused_and_nothing_is_stored() {
    let t = TestEnv::with_platform();
    let mut login = t.spawn(&["login", "--no-browser"]);
    let url = login.wait_for_line(|l| l.starts_with("http"));
    let (status, location) = get(&url, false);
    assert_eq!(status, 302);
    let location = location.expect("the authorize endpoint redirects");
    let state = query_param(&location, "state").unwrap();
    let forged = location.replace(&format!("state={state}"), "state=forged");
    assert_ne!(forged, location);
    let (status, _) = get(&forged, false);
    assert_eq!(status, 400);

    let run = login.finish(&t);
    run.expect_code(1);
    assert!(
        run.stderr.contains("State mismatch. Possible CSRF attack."),
        "{}",
        run.stderr
    );
    assert!(!t.credentials_path().exists());
    assert!(
        !paths_of(&t).iter().any(|p| p == "POST /api/oauth/v1/token"),
        "the code was exchanged despite the wrong state"
    );
}

#[test]
fn browser_login_times_out_with_a_clear_message() {
    let t = TestEnv::with_platform();
    let run = t.run(&["login", "--no-browser", "--timeout", "1"]);
    run.expect_code(1);
    assert!(run
        .stderr
        .contains("Authentication timed out. Please try again."));
    assert!(!t.credentials_path().exists());
}

#[test]
fn password_login_from_the_environment_needs_no_terminal() {
    let t = TestEnv::with_platform();
    let run = t.run_with_env(
        &["login", "--email"],
        &[
            ("INSFORGE_EMAIL", "ada@example.com"),
            ("INSFORGE_PASSWORD", "s3cret-pw"),
        ],
    );
    snapshot!("login_email_env", run);
    let creds = t.credentials();
    assert!(creds["refresh_token"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    let bodies = crate::bodies(&t, "/auth/v1/login");
    assert_eq!(bodies.len(), 1);
}

#[test]
fn password_login_without_the_environment_and_no_terminal_names_the_variables() {
    let t = TestEnv::with_platform();
    let run = t.run(&["login", "--email", "--json"]);
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert!(line["hint"].as_str().unwrap().contains("INSFORGE_EMAIL"));
    assert!(t.sandbox().requests().is_empty(), "nothing may be sent");
}

#[test]
fn rejected_password_login_exits_2_with_the_platforms_message() {
    let t = TestEnv::with_platform();
    t.sandbox().add_fault(Fault::answer(
        "/auth/v1/login",
        401,
        json!({"error": "Invalid email or password"}),
    ));
    let run = t.run_with_env(
        &["login", "--email"],
        &[
            ("INSFORGE_EMAIL", "ada@example.com"),
            ("INSFORGE_PASSWORD", "nope"),
        ],
    );
    snapshot!("login_email_rejected", run);
    assert!(!t.credentials_path().exists());
}

#[test]
fn device_login_completes_once_the_code_is_approved() {
    let t = TestEnv::with_platform();
    let mut login = t.spawn(&["login", "--device", "--no-browser", "--json"]);
    let url = login.wait_for_line(|l| l.starts_with("http"));
    assert!(url.contains("/device?user_code="), "{url}");
    assert!(t.home().join(".insforge/pending-device.json").exists());
    let (status, _) = get(&url, true);
    assert_eq!(status, 200);
    let run = login.finish(&t);
    run.expect_code(0);
    assert_eq!(run.json()["user"]["email"], TEST_USER_EMAIL);
    assert!(!t.home().join(".insforge/pending-device.json").exists());
    assert!(t.credentials()["access_token"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
}

#[test]
fn device_login_denied_exits_2_and_forgets_the_code() {
    let t = TestEnv::with_platform();
    let mut login = t.spawn(&["login", "--device", "--no-browser"]);
    let url = login.wait_for_line(|l| l.starts_with("http"));
    let (status, _) = get(&format!("{url}&deny=1"), true);
    assert_eq!(status, 200);
    let run = login.finish(&t);
    run.expect_code(2);
    assert!(run
        .stderr
        .contains("Login request was denied in the dashboard."));
    assert!(!t.home().join(".insforge/pending-device.json").exists());
    assert!(!t.credentials_path().exists());
}

#[test]
fn user_api_key_login_stores_the_key_and_whoami_uses_it() {
    let t = TestEnv::with_platform();
    let run = t.run(&["login", "--user-api-key", USER_API_KEY]);
    run.expect_code(0);
    let creds = t.credentials();
    assert_eq!(creds["user_api_key"], USER_API_KEY);
    assert_eq!(creds["access_token"], "");
    t.sandbox().clear_requests();
    t.run(&["whoami"]).expect_code(0);
    // The platform accepts only the key here, and no refresh happened.
    assert_eq!(paths_of(&t), ["GET /auth/v1/profile"]);
}

#[test]
fn user_api_key_login_checks_the_prefix_and_the_key() {
    let t = TestEnv::with_platform();
    snapshot!(
        "login_api_key_prefix",
        t.run(&["login", "--user-api-key", "ik_nope"])
    );
    assert!(t.sandbox().requests().is_empty());
    let run = t.run(&["login", "--user-api-key", "uak_revoked"]);
    run.expect_code(2);
    assert!(run.stderr.contains("API key is invalid or revoked"));
    assert!(!t.credentials_path().exists());
}

#[test]
fn no_credentials_with_json_exits_2_with_the_error_line_only() {
    let t = TestEnv::with_platform();
    let run = t.run(&["whoami", "--json"]);
    assert_json_failure(&run, 2, "AUTH_ERROR");
    assert!(t.sandbox().requests().is_empty(), "nothing may be sent");
}

#[test]
fn insforge_access_token_counts_as_a_login() {
    let t = TestEnv::with_platform();
    let (access, _) = t.sandbox().issue_tokens();
    let run = t.run_with_env(&["whoami", "--json"], &[("INSFORGE_ACCESS_TOKEN", &access)]);
    run.expect_code(0);
    assert_eq!(run.json()["email"], TEST_USER_EMAIL);
    assert!(!t.credentials_path().exists());
}

#[test]
fn an_expired_access_token_is_refreshed_once_and_the_request_retried() {
    let t = TestEnv::with_platform();
    t.login();
    let before = t.credentials();
    #[cfg(unix)]
    let inode_before =
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(t.credentials_path()).unwrap());
    t.sandbox().expire_access_tokens();
    t.sandbox().clear_requests();

    let run = t.run(&["whoami", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["email"], TEST_USER_EMAIL);
    assert_eq!(
        paths_of(&t),
        [
            "GET /auth/v1/profile",
            "POST /api/oauth/v1/token",
            "GET /auth/v1/profile"
        ]
    );
    let after = t.credentials();
    assert_ne!(after["access_token"], before["access_token"]);
    assert_ne!(
        after["refresh_token"], before["refresh_token"],
        "the rotated token is kept"
    );
    assert_eq!(after["user"], before["user"]);
    #[cfg(unix)]
    {
        assert_eq!(mode(&t.credentials_path()), 0o600);
        let inode_after =
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(t.credentials_path()).unwrap());
        assert_ne!(
            inode_before, inode_after,
            "the file is replaced, not rewritten in place"
        );
    }
}

/// A logged-in environment whose access token has expired and whose next refresh meets
/// `fault`; also returns the credentials file's bytes before anything ran.
fn expired_login_with_refresh_fault(fault: Fault) -> (TestEnv, Vec<u8>) {
    let t = TestEnv::with_platform();
    t.login();
    let before = std::fs::read(t.credentials_path()).unwrap();
    t.sandbox().expire_access_tokens();
    t.sandbox().add_fault(fault);
    t.sandbox().clear_requests();
    (t, before)
}

#[test]
fn a_refused_refresh_exits_2_and_never_starts_a_browser_login() {
    let (t, before) = expired_login_with_refresh_fault(Fault::answer(
        "/api/oauth/v1/token",
        401,
        json!({"error": "invalid_grant", "error_description": "Refresh token is invalid or expired"}),
    ));
    let run = t.run(&["whoami"]);
    snapshot!("refresh_refused", run);
    assert!(!t.browser_log().exists(), "a browser was opened");
    assert!(
        !run.stderr.contains("127.0.0.1"),
        "a callback server was started"
    );
    assert!(!paths_of(&t).iter().any(|p| p.contains("authorize")));
    assert_eq!(std::fs::read(t.credentials_path()).unwrap(), before);
}

#[test]
fn a_refresh_failing_with_503_is_temporary_and_keeps_the_login_byte_for_byte() {
    let (t, before) = expired_login_with_refresh_fault(Fault::answer(
        "/api/oauth/v1/token",
        503,
        json!({"error": "unavailable"}),
    ));
    let run = t.run(&["whoami", "--json"]);
    let line = assert_json_failure(&run, 1, "HTTP_ERROR");
    assert!(
        line["error"].as_str().unwrap().contains("temporary"),
        "{line}"
    );
    assert_eq!(std::fs::read(t.credentials_path()).unwrap(), before);
}

#[test]
fn a_refresh_failing_on_the_network_is_temporary_too() {
    let (t, before) =
        expired_login_with_refresh_fault(Fault::drop_connection("/api/oauth/v1/token"));
    let run = t.run(&["whoami", "--json"]);
    let line = assert_json_failure(&run, 1, "NETWORK_ERROR");
    assert!(line["error"].as_str().unwrap().contains("temporary"));
    assert_eq!(std::fs::read(t.credentials_path()).unwrap(), before);
}

#[test]
fn logout_forgets_the_login_and_the_default_org() {
    let t = TestEnv::with_platform();
    t.login();
    std::fs::write(
        t.home().join(".insforge/config.json"),
        r#"{"platform_api_url":"https://api.insforge.dev","default_org_id":"o1","other":1}"#,
    )
    .unwrap();
    snapshot!("logout", t.run(&["logout"]));
    assert!(!t.credentials_path().exists());
    let config = std::fs::read_to_string(t.home().join(".insforge/config.json")).unwrap();
    assert_eq!(
        config,
        "{\n  \"platform_api_url\": \"https://api.insforge.dev\",\n  \"other\": 1\n}"
    );
    t.run(&["whoami"]).expect_code(2);
    // Logging out twice is fine.
    t.run(&["logout"]).expect_code(0);
}

#[test]
fn credentials_written_by_the_official_tool_work_and_survive_a_refresh() {
    let t = TestEnv::with_platform();
    let (_, refresh) = t.sandbox().issue_tokens();
    // As the official tool writes it: an expired token, extra user fields, no trailing newline.
    let official = format!(
        "{{\n  \"access_token\": \"expired\",\n  \"refresh_token\": \"{refresh}\",\n  \"user\": {{\n    \"id\": \"u1\",\n    \"name\": \"Ada\",\n    \"email\": \"ada@example.com\",\n    \"avatar_url\": null,\n    \"email_verified\": true,\n    \"plan\": \"pro\"\n  }}\n}}"
    );
    std::fs::create_dir_all(t.home().join(".insforge")).unwrap();
    std::fs::write(t.credentials_path(), &official).unwrap();
    t.run(&["whoami"]).expect_code(0);
    let text = std::fs::read_to_string(t.credentials_path()).unwrap();
    assert!(!text.ends_with('\n'));
    let after: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(after["user"]["plan"], "pro");
    let keys: Vec<_> = after.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["access_token", "refresh_token", "user"]);
}

#[test]
fn no_secret_appears_in_output_or_verbose_logs() {
    let t = TestEnv::with_platform();
    let password = "pw-very-secret-123";
    let login = t.run_with_env(
        &["-vv", "login", "--email"],
        &[
            ("INSFORGE_EMAIL", "ada@example.com"),
            ("INSFORGE_PASSWORD", password),
        ],
    );
    login.expect_code(0);
    let creds = t.credentials();
    t.sandbox().expire_access_tokens();
    let whoami = t.run(&["whoami", "-vvv"]);
    whoami.expect_code(0);
    let refreshed = t.credentials();
    let key_login = TestEnv::with_platform();
    let key_run = key_login.run(&["login", "-v", "--user-api-key", USER_API_KEY]);
    key_run.expect_code(0);
    // The project commands handle the project's API key (the sandbox's own key).
    let list = t.run(&["list", "-v"]);
    list.expect_code(0);
    let link = t.run(&["link", "-v", "--project-id", PROJECT_TODO_ID]);
    link.expect_code(0);
    let current = t.run(&["current", "-v", "--json"]);
    current.expect_code(0);
    let create = t.run(&[
        "create",
        "-v",
        "--name",
        "secret-check",
        "--org-id",
        ORG_ACME_ID,
    ]);
    create.expect_code(0);
    let logout = t.run(&["logout", "-v"]);
    logout.expect_code(0);

    let secrets = [
        password.to_owned(),
        creds["access_token"].as_str().unwrap().to_owned(),
        creds["refresh_token"].as_str().unwrap().to_owned(),
        refreshed["access_token"].as_str().unwrap().to_owned(),
        refreshed["refresh_token"].as_str().unwrap().to_owned(),
        USER_API_KEY.to_owned(),
        API_KEY.to_owned(),
    ];
    for run in [
        &login, &whoami, &key_run, &list, &link, &current, &create, &logout,
    ] {
        for secret in &secrets {
            assert!(
                !run.stdout.contains(secret.as_str()),
                "secret on stdout:\n{}",
                run.stdout
            );
            assert!(
                !run.stderr.contains(secret.as_str()),
                "secret on stderr:\n{}",
                run.stderr
            );
        }
    }
    // -vv shows response headers; the refresh token's cookie is not among what it shows.
    assert!(login.stderr.contains("Set-Cookie: ***"), "{}", login.stderr);
    assert!(
        whoami.stderr.contains("Authorization: Bearer ***"),
        "{}",
        whoami.stderr
    );
    assert!(
        key_run.stderr.contains("Authorization: Bearer ***"),
        "{}",
        key_run.stderr
    );
}

#[test]
fn api_url_flag_beats_the_environment_which_beats_config_json() {
    let t = TestEnv::with_platform();
    let sandbox = t.sandbox().base_url().to_owned();
    let dead = "http://127.0.0.1:9";
    t.login();

    // --api-url wins over INSFORGE_API_URL.
    let run = t.run_with_env(
        &["whoami", "--api-url", &sandbox],
        &[("INSFORGE_API_URL", dead)],
    );
    run.expect_code(0);
    // INSFORGE_API_URL wins over config.json.
    std::fs::write(
        t.home().join(".insforge/config.json"),
        format!("{{\"platform_api_url\": \"{dead}\"}}"),
    )
    .unwrap();
    t.run(&["whoami"]).expect_code(0);
    // config.json is used when neither is given.
    let mut cmd = t.command(t.cwd(), &["whoami", "--json"]);
    cmd.env_remove("INSFORGE_API_URL");
    let run = t.run_command(cmd);
    let line = assert_json_failure(&run, 1, "NETWORK_ERROR");
    assert!(
        line["error"].as_str().unwrap().contains("127.0.0.1:9"),
        "{line}"
    );
}

#[test]
fn parallel_commands_with_an_expired_token_share_one_refresh() {
    let t = TestEnv::with_platform();
    t.login();
    t.sandbox().expire_access_tokens();
    t.sandbox().clear_requests();
    // Separate processes, as in parallel CI steps: the platform rotates refresh tokens, so
    // only one of them may renew the login; the others must pick up its result.
    let runs: Vec<_> = (0..4).map(|_| t.spawn(&["whoami", "--json"])).collect();
    for run in runs {
        run.finish(&t).expect_code(0);
    }
    let refreshes = paths_of(&t)
        .iter()
        .filter(|p| *p == "POST /api/oauth/v1/token")
        .count();
    assert_eq!(refreshes, 1, "{:?}", paths_of(&t));
}

#[test]
fn a_login_that_could_not_be_stored_is_not_asked_for() {
    let t = TestEnv::with_platform();
    // ~/.insforge exists as a file, so nothing can be stored under it (even as root).
    std::fs::write(t.home().join(".insforge"), "not a directory").unwrap();
    let run = t.run_with_env(
        &["login", "--email", "--json"],
        &[
            ("INSFORGE_EMAIL", "ada@example.com"),
            ("INSFORGE_PASSWORD", "pw"),
        ],
    );
    let line = assert_json_failure(&run, 1, "UNKNOWN_ERROR");
    assert!(
        line["error"].as_str().unwrap().contains(".insforge"),
        "the error names the path: {line}"
    );
    assert!(t.sandbox().requests().is_empty(), "nothing may be sent");
}

#[test]
fn a_server_error_on_password_login_does_not_blame_the_password() {
    let t = TestEnv::with_platform();
    t.sandbox().add_fault(Fault::answer(
        "/auth/v1/login",
        500,
        json!({"error": "db down"}),
    ));
    let run = t.run_with_env(
        &["login", "--email"],
        &[
            ("INSFORGE_EMAIL", "ada@example.com"),
            ("INSFORGE_PASSWORD", "pw"),
        ],
    );
    snapshot!("login_email_server_error", run);
}

#[test]
fn device_login_survives_a_passing_server_error_while_polling() {
    let t = TestEnv::with_platform();
    t.sandbox().add_fault(Fault::answer(
        "/api/oauth/v1/token",
        500,
        json!({"error": "boom"}),
    ));
    let mut login = t.spawn(&["login", "--device", "--no-browser"]);
    let url = login.wait_for_line(|l| l.starts_with("http"));
    // Let the first poll meet the fault, then approve.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, _) = get(&url, true);
    assert_eq!(status, 200);
    login.finish(&t).expect_code(0);
}

#[test]
fn user_api_key_from_stdin_is_trimmed_and_empty_stdin_is_refused() {
    let t = TestEnv::with_platform();
    let run = t.run_with_stdin(
        &["login", "--user-api-key", "-"],
        format!("  {USER_API_KEY}  \r\n").as_bytes(),
    );
    run.expect_code(0);
    assert_eq!(t.credentials()["user_api_key"], USER_API_KEY);
    let empty = TestEnv::with_platform();
    let run = empty.run_with_stdin(&["login", "--user-api-key", "-", "--json"], b"");
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert_eq!(line["error"], "no user API key was given");
    assert!(empty.sandbox().requests().is_empty());
}

#[test]
fn logout_with_a_broken_config_still_logs_out_and_says_what_it_left() {
    let t = TestEnv::with_platform();
    t.login();
    std::fs::write(t.home().join(".insforge/config.json"), "{broken").unwrap();
    let run = t.run(&["logout"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("could not remove default_org_id"),
        "{}",
        run.stderr
    );
    assert!(!t.credentials_path().exists());
    snapshot!("logout_not_logged_in", t.run(&["logout"]));
}

#[test]
fn whoami_fills_in_a_user_the_login_could_not_read() {
    let t = TestEnv::with_platform();
    let (access, refresh) = t.sandbox().issue_tokens();
    std::fs::create_dir_all(t.home().join(".insforge")).unwrap();
    std::fs::write(
        t.credentials_path(),
        json!({"access_token": access, "refresh_token": refresh,
               "user": {"id": "", "name": "", "email": "", "avatar_url": null, "email_verified": true}})
        .to_string(),
    )
    .unwrap();
    t.run(&["whoami"]).expect_code(0);
    assert_eq!(t.credentials()["user"]["email"], TEST_USER_EMAIL);
}

/// A logged-in environment whose access token has expired and whose next renewal takes
/// `delay_ms` at the platform.
fn expired_login_with_slow_refresh(delay_ms: u64) -> TestEnv {
    let t = TestEnv::with_platform();
    t.login();
    t.sandbox().expire_access_tokens();
    t.sandbox().add_fault(Fault::slow(
        "/api/oauth/v1/token",
        std::time::Duration::from_millis(delay_ms),
    ));
    t.sandbox().clear_requests();
    t
}

/// Waits until the sandbox has received a renewal request.
fn wait_for_refresh_request(t: &TestEnv) {
    for _ in 0..200 {
        if paths_of(t).iter().any(|p| p == "POST /api/oauth/v1/token") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("no renewal reached the platform");
}

#[test]
fn logout_during_another_processes_renewal_stays_logged_out() {
    let t = expired_login_with_slow_refresh(1500);
    let whoami = t.spawn(&["whoami"]);
    wait_for_refresh_request(&t);
    // logout waits for the renewal, then removes its result too.
    t.run(&["logout"]).expect_code(0);
    whoami.finish(&t);
    assert!(
        !t.credentials_path().exists(),
        "the renewal brought the login back"
    );
}

#[test]
fn ctrl_c_while_waiting_for_another_processes_renewal_exits_130_at_once() {
    let t = expired_login_with_slow_refresh(4000);
    let mut renewing = t.spawn(&["whoami"]);
    wait_for_refresh_request(&t);
    let mut waiting = t.spawn(&["whoami", "--json"]);
    waiting.wait_for_line(|l| l.contains("waiting for another insforge process"));
    waiting.interrupt();
    let run = waiting.finish(&t);
    assert!(
        renewing.is_running(),
        "the Ctrl-C waited for the other process"
    );
    assert_json_failure(&run, 130, "INTERRUPTED");
    renewing.finish(&t).expect_code(0);
}

#[test]
fn an_idle_connection_to_the_callback_port_does_not_hold_up_the_login() {
    let t = TestEnv::with_platform();
    // The callback's reader gives a silent connection 10 s; the login allows 5.
    let mut login = t.spawn(&["login", "--no-browser", "--timeout", "5"]);
    let url = login.wait_for_line(|l| l.starts_with("http"));
    let redirect = query_param(&url, "redirect_uri").unwrap();
    let port = reqwest::Url::parse(&redirect).unwrap().port().unwrap();
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (status, _) = get(&url, true);
    assert_eq!(status, 200);
    login.finish(&t).expect_code(0);
}

#[test]
fn a_platform_url_without_the_platform_says_to_check_the_url() {
    let t = TestEnv::with_platform();
    let wrong = format!("{}/v2", t.sandbox().base_url());
    t.login();
    let run = t.run(&["whoami", "--json", "--api-url", &wrong]);
    let line = assert_json_failure(&run, 1, "HTTP_ERROR");
    assert!(
        line["hint"].as_str().unwrap().contains("--api-url"),
        "{line}"
    );
    let run = t.run_with_env(
        &["login", "--email", "--json", "--api-url", &wrong],
        &[
            ("INSFORGE_EMAIL", "ada@example.com"),
            ("INSFORGE_PASSWORD", "pw"),
        ],
    );
    assert_json_failure(&run, 1, "HTTP_ERROR");
}

#[test]
fn escape_sequences_in_the_profile_are_shown_not_obeyed() {
    let t = TestEnv::with_platform();
    t.login();
    t.sandbox().add_fault(Fault::answer(
        "/auth/v1/profile",
        200,
        json!({"user": {"id": "u1", "name": "Eve\u{1b}[2J\u{1b}]0;pwned\u{7}", "email": "eve@example.com"}}),
    ));
    let run = t.run(&["whoami"]);
    run.expect_code(0);
    assert!(!run.stdout.contains('\u{1b}'), "{:?}", run.stdout);
    assert!(run.stdout.contains("\\u{1b}[2J"), "{}", run.stdout);
}

#[test]
fn an_access_token_variable_with_a_line_ending_still_works() {
    let t = TestEnv::with_platform();
    let (access, _) = t.sandbox().issue_tokens();
    let run = t.run_with_env(
        &["whoami"],
        &[("INSFORGE_ACCESS_TOKEN", &format!("{access}\r\n"))],
    );
    run.expect_code(0);
}

#[test]
fn device_login_gives_up_at_the_timeout_and_keeps_the_code_for_later() {
    let t = TestEnv::with_platform();
    let run = t.run(&["login", "--device", "--no-browser", "--timeout", "2"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("Authentication timed out"),
        "{}",
        run.stderr
    );
    assert!(t.home().join(".insforge/pending-device.json").exists());
}

#[test]
fn a_device_page_that_is_not_http_is_neither_shown_nor_opened() {
    let t = TestEnv::with_platform();
    t.sandbox().add_fault(Fault::answer(
        "/api/oauth/v1/device_authorization",
        200,
        json!({"device_code": "d", "user_code": "ABCD-EFGH", "verification_uri": "x",
               "verification_uri_complete": "javascript:alert(1)", "expires_in": 600, "interval": 1}),
    ));
    let run = t.run(&["login", "--device"]);
    run.expect_code(1);
    assert!(!run.stderr.contains("javascript:"), "{}", run.stderr);
    assert!(!t.browser_log().exists());
}

#[test]
fn api_url_with_surrounding_spaces_is_trimmed() {
    let t = TestEnv::with_platform();
    t.login();
    let padded = format!("  {}  ", t.sandbox().base_url());
    t.run(&["whoami", "--api-url", &padded]).expect_code(0);
}

#[test]
fn absurd_device_timings_from_the_platform_are_bounded_not_a_crash() {
    let t = TestEnv::with_platform();
    t.sandbox().add_fault(Fault::answer(
        "/api/oauth/v1/device_authorization",
        200,
        json!({"device_code": "d", "user_code": "ABCD-EFGH", "verification_uri": "http://x",
               "verification_uri_complete": format!("{}/device?user_code=ABCD-EFGH", t.sandbox().base_url()),
               "expires_in": 1e300, "interval": 1e300}),
    ));
    let run = t.run(&["login", "--device", "--no-browser", "--timeout", "1"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("Authentication timed out"),
        "{}",
        run.stderr
    );
    // Resuming the stored code is just as safe.
    t.run(&["login", "--device", "--no-browser", "--timeout", "1"])
        .expect_code(1);
}

#[test]
fn a_device_code_the_platform_calls_invalid_is_not_resumed() {
    let t = TestEnv::with_platform();
    t.sandbox().add_fault(Fault::answer(
        "/api/oauth/v1/token",
        400,
        json!({"error": "invalid_grant", "error_description": "Device code is invalid"}),
    ));
    let run = t.run(&["login", "--device", "--no-browser"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("Device code is invalid"),
        "{}",
        run.stderr
    );
    assert!(!t.home().join(".insforge/pending-device.json").exists());
}
