//! `insforge list`: organisations and their projects from the fake platform.

use insforge_tests::kit::TestEnv;
use insforge_tests::sandbox::platform::{
    PlatformOrg, PlatformProject, ORG_ACME_ID, ORG_PERSONAL_ID, USER_API_KEY,
};
use insforge_tests::sandbox::Fault;
use serde_json::json;

use crate::link::{logged_in, requests, run};
use crate::{assert_json_failure, snapshot};

#[test]
fn list_shows_every_org_with_its_projects() {
    let t = logged_in(|c| {
        c.with_platform_orgs(vec![
            insforge_tests::sandbox::platform::acme_org(),
            PlatformOrg::new(ORG_PERSONAL_ID, "Personal", Some("personal")),
            PlatformOrg::new(
                "3e4f5a6b-0000-4000-8000-000000000003",
                "Side Projects",
                None,
            )
            .with_project(
                PlatformProject::new(
                    "3e4f5a6b-0000-4000-8000-0000000000a1",
                    "paused-thing",
                    "q1w2e3r4",
                    "ap-southeast",
                )
                .with_status("paused"),
            ),
        ])
    });
    let human = run(&t, &["list"]);
    snapshot!("list_human", human);
    let json = run(&t, &["list", "--json"]);
    snapshot!("list_json", json);

    // The organisations, then each one's projects.
    let seen = requests(&t);
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(seen[0], "GET /organizations/v1");
    assert!(seen.contains(&format!("GET /organizations/v1/{ORG_ACME_ID}/projects")));
}

#[test]
fn list_without_login_exits_2_before_any_request() {
    let t = TestEnv::with_platform();
    let run = run(&t, &["list", "--json"]);
    assert_json_failure(&run, 2, "AUTH_ERROR");
    assert!(requests(&t).is_empty(), "{:?}", requests(&t));
}

#[test]
fn list_with_a_token_from_the_environment() {
    let mut t = TestEnv::with_platform();
    t.env("INSFORGE_ACCESS_TOKEN", USER_API_KEY);
    let run = run(&t, &["list", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()[0]["id"], ORG_ACME_ID);
    assert_eq!(run.json()[0]["type"], "team");
    assert_eq!(run.json()[1]["projects"], json!([]));
    assert!(!run.stdout.contains(USER_API_KEY) && !run.stderr.contains(USER_API_KEY));
}

#[test]
fn list_without_organizations() {
    let t = logged_in(|c| c.with_platform_orgs(vec![]));
    let human = run(&t, &["list"]);
    human.expect_code(0);
    assert_eq!(human.stdout, "No organizations found.\n");
    let json = run(&t, &["list", "--json"]);
    json.expect_code(0);
    assert_eq!(json.json(), json!([]));
    assert_eq!(
        requests(&t),
        ["GET /organizations/v1", "GET /organizations/v1"]
    );
}

#[test]
fn list_fails_whole_when_one_org_fails() {
    let t = logged_in(|c| c);
    // Every answer, so the client's own retries of a 503 do not get past it.
    t.sandbox().add_fault(
        Fault::answer(
            format!("/organizations/v1/{ORG_PERSONAL_ID}/projects"),
            503,
            json!({"error": "SERVICE_UNAVAILABLE", "message": "try again later"}),
        )
        .times(None),
    );
    let run = run(&t, &["list"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "", "nothing is printed when one request fails");
    assert!(run.stderr.contains("try again later"), "{}", run.stderr);
}
