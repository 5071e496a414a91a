//! The fake platform over HTTP: a sandbox on a free port (no database needed) and reqwest.

use std::time::Duration;

use reqwest::{redirect, Client, StatusCode};
use serde_json::{json, Value};

use super::store::pkce_challenge;
use super::*;
use crate::sandbox::{Fault, Sandbox, SandboxConfig, SandboxHandle};

const API_KEY: &str = "ik_platform_test";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1:5123/callback";
const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

struct Env {
    sandbox: SandboxHandle,
    http: Client,
}

impl Env {
    async fn start(adjust: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Self {
        let sandbox = Sandbox::start(adjust(SandboxConfig::new(API_KEY)))
            .await
            .expect("sandbox starts");
        let http = Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .expect("client");
        Self { sandbox, http }
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.sandbox.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.sandbox.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// Runs `/authorize` and returns the `code` from the redirect.
    async fn authorize(&self, state: &str) -> String {
        let response = self
            .http
            .get(self.sandbox.url("/api/oauth/v1/authorize"))
            .query(&[
                ("client_id", OAUTH_CLIENT_ID),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", OAUTH_SCOPES),
                ("code_challenge", &pkce_challenge(VERIFIER)),
                ("code_challenge_method", "S256"),
                ("state", state),
            ])
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()["location"].to_str().expect("ascii");
        let query = location
            .strip_prefix(&format!("{REDIRECT}?"))
            .expect("redirects to the callback");
        let pairs = crate::sandbox::url::query_pairs(Some(query));
        assert_eq!(pairs[1], ("state".to_owned(), state.to_owned()));
        assert_eq!(pairs[0].0, "code");
        pairs[0].1.clone()
    }

    async fn exchange(&self, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.post(
            "/api/oauth/v1/token",
            json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                   "client_id": OAUTH_CLIENT_ID, "code_verifier": verifier}),
        )
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.post(
            "/api/oauth/v1/token",
            json!({"grant_type": "refresh_token", "refresh_token": refresh_token,
                   "client_id": OAUTH_CLIENT_ID}),
        )
        .await
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn unauthorized() -> Value {
    json!({"error": "Unauthorized", "message": "Invalid or expired token"})
}

fn text(value: &Value) -> &str {
    value.as_str().expect("a string")
}

#[tokio::test]
async fn pkce_code_flow_issues_tokens_once() {
    let env = Env::start(|c| c).await;
    let code = env.authorize("s t/ä=&").await;
    let (status, body) = env.exchange(&code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], json!(3600));
    assert_eq!(body["scope"], json!(OAUTH_SCOPES));
    let (status, profile) = env
        .get("/auth/v1/profile", text(&body["access_token"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["user"]["email"], json!(TEST_USER_EMAIL));
    assert_eq!(profile["user"]["id"], json!(TEST_USER_ID));

    let (status, again) = env.exchange(&code, VERIFIER).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(again["error"], json!("invalid_grant"));
}

#[tokio::test]
async fn pkce_mismatch_is_refused() {
    let env = Env::start(|c| c).await;
    let code = env.authorize("x").await;
    let (status, body) = env.exchange(&code, "another-verifier").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], json!("invalid_grant"));
}

#[tokio::test]
async fn authorize_checks_its_parameters() {
    let env = Env::start(|c| c).await;
    let challenge = pkce_challenge(VERIFIER);
    let good = [
        ("client_id", OAUTH_CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (name, bad) in [
        ("client_id", ""),
        ("redirect_uri", "http://localhost:5123/callback"),
        ("redirect_uri", "https://evil.example/cb"),
        ("response_type", "token"),
        ("code_challenge", ""),
        ("code_challenge_method", "plain"),
    ] {
        let query: Vec<(&str, &str)> = good
            .iter()
            .map(|&(key, value)| (key, if key == name { bad } else { value }))
            .collect();
        let response = env
            .http
            .get(env.sandbox.url("/api/oauth/v1/authorize"))
            .query(&query)
            .send()
            .await
            .expect("authorize");
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}={bad}");
        assert_eq!(body["error"], json!("invalid_request"));
        assert!(body["error_description"].is_string());
    }
}

#[tokio::test]
async fn refresh_rotates_and_revokes() {
    let env = Env::start(|c| c).await;
    let (_, first_refresh) = env.sandbox.issue_tokens();
    let (status, body) = env.refresh(&first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second_refresh = text(&body["refresh_token"]).to_owned();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(body["expires_in"], json!(3600));

    let (status, body) = env.refresh(&first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Refresh token is invalid or expired"})
    );
    let (status, _) = env.refresh(&second_refresh).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn expired_access_tokens_get_401_and_refresh_still_works() {
    let env = Env::start(|c| c).await;
    let (access, refresh) = env.sandbox.issue_tokens();
    assert_eq!(
        env.get("/organizations/v1", &access).await.0,
        StatusCode::OK
    );
    env.sandbox.expire_access_tokens();
    let (status, body) = env.get("/organizations/v1", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, unauthorized());

    let (status, body) = env.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = env
        .get("/organizations/v1", text(&body["access_token"]))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bearer_tokens_are_checked() {
    let env = Env::start(|c| c).await;
    let key = env.sandbox.valid_user_api_key();
    assert!(key.starts_with("uak_"));
    let (status, body) = env.get("/auth/v1/profile", key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["name"], json!(TEST_USER_NAME));
    for bad in ["uak_other", API_KEY, "at_unknown", ""] {
        let (status, body) = env.get("/auth/v1/profile", bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(body, unauthorized());
    }
    let response = env
        .http
        .get(env.sandbox.url("/organizations/v1"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn device_flow_pending_then_approved() {
    let env = Env::start(|c| c).await;
    let (status, device) = env
        .post(
            "/api/oauth/v1/device_authorization",
            json!({"client_id": OAUTH_CLIENT_ID, "scope": OAUTH_SCOPES}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(device["interval"], json!(1));
    assert_eq!(device["expires_in"], json!(600));
    let user_code = text(&device["user_code"]).to_owned();
    let complete = text(&device["verification_uri_complete"]).to_owned();
    assert_eq!(
        complete,
        env.sandbox.url(&format!("/device?user_code={user_code}"))
    );
    assert_eq!(env.sandbox.pending_device_codes(), vec![user_code.clone()]);
    let poll = json!({"grant_type": GRANT_DEVICE, "device_code": device["device_code"],
                      "client_id": OAUTH_CLIENT_ID});

    let (status, body) = env.post("/api/oauth/v1/token", poll.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "authorization_pending"}));

    let page = env.http.get(&complete).send().await.expect("device page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("approved"));

    let (status, body) = env.post("/api/oauth/v1/token", poll.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["refresh_token"].is_string());
    let (status, _) = env
        .get("/auth/v1/profile", text(&body["access_token"]))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = env.post("/api/oauth/v1/token", poll).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], json!("invalid_grant"));
}

#[tokio::test]
async fn device_flow_denied_and_expired() {
    let env = Env::start(|c| c.with_device_interval(Duration::from_millis(250))).await;
    let start = || {
        env.post(
            "/api/oauth/v1/device_authorization",
            json!({"client_id": "c", "scope": ""}),
        )
    };
    let (_, device) = start().await;
    assert_eq!(device["interval"], json!(0.25));
    assert!(env
        .sandbox
        .deny_device(&text(&device["user_code"]).to_lowercase()));
    assert!(!env.sandbox.approve_device(text(&device["user_code"])));
    let poll = json!({"grant_type": GRANT_DEVICE, "device_code": device["device_code"],
                      "client_id": "c"});
    let (status, body) = env.post("/api/oauth/v1/token", poll).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "access_denied"}));

    let env = Env::start(|c| c.with_device_expiry(Duration::ZERO)).await;
    let (_, device) = env
        .post(
            "/api/oauth/v1/device_authorization",
            json!({"client_id": "c"}),
        )
        .await;
    assert!(!env.sandbox.approve_device(text(&device["user_code"])));
    let poll = json!({"grant_type": GRANT_DEVICE, "device_code": device["device_code"],
                      "client_id": "c"});
    let (_, body) = env.post("/api/oauth/v1/token", poll).await;
    assert_eq!(body, json!({"error": "expired_token"}));
}

#[tokio::test]
async fn password_login_sets_the_refresh_cookie() {
    let env = Env::start(|c| c).await;
    let response = env
        .http
        .post(env.sandbox.url("/auth/v1/login"))
        .json(&json!({"email": "someone@example.com", "password": "pw"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let (_, body) = read(response).await;
    assert_eq!(body["user"]["email"], json!(TEST_USER_EMAIL));
    let refresh = cookie
        .strip_prefix("refreshToken=")
        .and_then(|rest| rest.split(';').next())
        .expect("refreshToken cookie");
    assert!(cookie.ends_with("; Path=/; HttpOnly; SameSite=Lax"));
    let (status, _) = env.get("/auth/v1/profile", text(&body["token"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(env.refresh(refresh).await.0, StatusCode::OK);

    for bad in [
        json!({"email": "a@b.c", "password": ""}),
        json!({"email": "a@b.c"}),
    ] {
        let (status, body) = env.post("/auth/v1/login", bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, json!({"error": "Invalid email or password"}));
    }
}

#[tokio::test]
async fn seeded_organizations_and_projects() {
    let env = Env::start(|c| c).await;
    let key = USER_API_KEY;
    let (_, body) = env.get("/organizations/v1", key).await;
    let orgs = body["organizations"].as_array().expect("array");
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[0]["id"], json!(ORG_ACME_ID));
    assert_eq!(orgs[0]["name"], json!(ORG_ACME_NAME));
    assert_eq!(orgs[0]["type"], json!("team"));
    assert_eq!(orgs[1]["id"], json!(ORG_PERSONAL_ID));

    let (_, body) = env
        .get(&format!("/organizations/v1/{ORG_ACME_ID}/projects"), key)
        .await;
    let projects = body["projects"].as_array().expect("array");
    assert_eq!(projects.len(), 2);
    assert_eq!(projects[0]["id"], json!(PROJECT_TODO_ID));
    assert_eq!(projects[0]["appkey"], json!(PROJECT_TODO_APPKEY));
    assert_eq!(projects[1]["region"], json!(PROJECT_CRM_REGION));
    assert!(projects.iter().all(|p| p["status"] == json!("active")));
    let (_, body) = env
        .get(
            &format!("/organizations/v1/{ORG_PERSONAL_ID}/projects"),
            key,
        )
        .await;
    assert_eq!(body, json!({"projects": []}));
    let (status, body) = env.get("/organizations/v1/nope/projects", key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "NOT_FOUND", "message": "Organization not found"})
    );

    let env = Env::start(SandboxConfig::with_single_org).await;
    let (_, body) = env.get("/organizations/v1", key).await;
    assert_eq!(body["organizations"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn created_projects_become_active_after_the_delay() {
    let env = Env::start(|c| c.with_project_ready_delay(Duration::from_millis(300))).await;
    let (access, _) = env.sandbox.issue_tokens();
    let path = format!("/organizations/v1/{ORG_PERSONAL_ID}/projects");
    let response = env
        .http
        .post(env.sandbox.url(&path))
        .bearer_auth(&access)
        .json(&json!({"name": "my-app"}))
        .send()
        .await
        .expect("create");
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let project = &body["project"];
    assert_eq!(project["status"], json!("creating"));
    assert_eq!(project["region"], json!("us-east"));
    assert_eq!(project["organization_id"], json!(ORG_PERSONAL_ID));
    assert_eq!(text(&project["appkey"]).len(), 8);
    let id = text(&project["id"]).to_owned();

    let (_, body) = env.get(&format!("/projects/v1/{id}"), &access).await;
    assert_eq!(body["project"]["status"], json!("creating"));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, body) = env.get(&format!("/projects/v1/{id}"), &access).await;
    assert_eq!(body["project"]["status"], json!("active"));
    assert_eq!(body["project"]["name"], json!("my-app"));
    let (_, body) = env.get(&path, &access).await;
    assert_eq!(body["projects"][0]["id"], json!(id));

    for (bad, org) in [
        (json!({"name": "a"}), ORG_ACME_ID),
        (json!({}), ORG_ACME_ID),
        (json!({"name": "ok", "region": 3}), ORG_ACME_ID),
    ] {
        let response = env
            .http
            .post(
                env.sandbox
                    .url(&format!("/organizations/v1/{org}/projects")),
            )
            .bearer_auth(&access)
            .json(&bad)
            .send()
            .await
            .expect("create");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let response = env
        .http
        .post(env.sandbox.url("/organizations/v1/nope/projects"))
        .bearer_auth(&access)
        .json(&json!({"name": "ok", "region": "eu-central"}))
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn access_api_key_is_the_sandbox_key() {
    let env = Env::start(|c| c).await;
    let path = format!("/projects/v1/{PROJECT_TODO_ID}/access-api-key");
    let (status, body) = env.get(&path, USER_API_KEY).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"access_api_key": API_KEY}));
    let (status, body) = env
        .get("/projects/v1/unknown/access-api-key", USER_API_KEY)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "NOT_FOUND", "message": "Project not found"})
    );
    let (status, body) = env.get("/projects/v1/unknown", USER_API_KEY).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], json!("Project not found"));
}

#[tokio::test]
async fn faults_apply_to_platform_routes() {
    let env = Env::start(|c| c).await;
    env.sandbox.add_fault(
        Fault::answer("/api/oauth/v1/token", 503, json!({"error": "down"})).method("POST"),
    );
    let (_, refresh) = env.sandbox.issue_tokens();
    let (status, body) = env.refresh(&refresh).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, json!({"error": "down"}));
    let (status, _) = env.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK);
    let logged = env.sandbox.requests();
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0].status, Some(503));
}

#[tokio::test]
async fn control_routes_script_the_platform() {
    let env = Env::start(|c| c).await;
    let (status, tokens) = env.post("/_sandbox/platform/tokens", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let access = text(&tokens["access_token"]).to_owned();
    assert_eq!(env.get("/auth/v1/profile", &access).await.0, StatusCode::OK);
    let (status, _) = env
        .post("/_sandbox/platform/expire-access-tokens", json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        env.get("/auth/v1/profile", &access).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (_, device) = env
        .post(
            "/api/oauth/v1/device_authorization",
            json!({"client_id": "c"}),
        )
        .await;
    let user_code = text(&device["user_code"]);
    let (_, devices) = env.get("/_sandbox/platform/devices", "").await;
    assert_eq!(
        devices,
        json!([{"user_code": user_code, "status": "pending", "expired": false}])
    );
    let approve = format!("/_sandbox/platform/devices/{user_code}/approve");
    assert_eq!(
        env.post(&approve, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(env.post(&approve, json!({})).await.0, StatusCode::NOT_FOUND);

    let (_, projects) = env.get("/_sandbox/platform/projects", "").await;
    assert_eq!(projects.as_array().map(Vec::len), Some(2));
    // Control requests are not logged; the three platform requests are.
    assert_eq!(env.sandbox.requests().len(), 3);
}

#[tokio::test]
async fn unknown_platform_paths_get_the_route_404() {
    let env = Env::start(|c| c).await;
    let (status, body) = env.get("/projects/v1", USER_API_KEY).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], json!("Endpoint /projects/v1 not found"));
    let (status, _) = env.post("/auth/v1/profile", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
