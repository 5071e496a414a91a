//! The platform's fixed data: the test user, the user API key, and the organisations and
//! projects a fresh sandbox starts with. Tests refer to them through the constants here.

use serde::{Deserialize, Serialize};

/// The id of the one user every login signs in as.
pub const TEST_USER_ID: &str = "5b0e8f2a-3c41-4d7e-9a55-1f2e3d4c5b6a";
/// The test user's name.
pub const TEST_USER_NAME: &str = "Ada Example";
/// The test user's email.
pub const TEST_USER_EMAIL: &str = "ada@example.com";

/// The user API key the platform accepts as a bearer token; any other `uak_` key is refused.
pub const USER_API_KEY: &str = "uak_sandbox_5f1d3b9e7a2c4806";

/// The OAuth client id the official CLI sends. The sandbox accepts any non-empty client id;
/// this is here for tests that drive the OAuth flow by hand.
pub const OAUTH_CLIENT_ID: &str = "clf_NK8cMUs41gm8ZcfdtSguVw";

/// The scopes the official CLI asks for.
pub const OAUTH_SCOPES: &str = "user:read organizations:read projects:read projects:write";

/// The first seeded organisation, which holds both seeded projects.
pub const ORG_ACME_ID: &str = "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f";
/// Its name.
pub const ORG_ACME_NAME: &str = "Acme Labs";
/// The second seeded organisation, without projects (absent with `with_single_org`).
pub const ORG_PERSONAL_ID: &str = "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5";
/// Its name.
pub const ORG_PERSONAL_NAME: &str = "Personal";

/// The first seeded project (in Acme Labs, active).
pub const PROJECT_TODO_ID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
/// Its name.
pub const PROJECT_TODO_NAME: &str = "todo-app";
/// Its app key.
pub const PROJECT_TODO_APPKEY: &str = "k7m2p9qx";
/// Its region.
pub const PROJECT_TODO_REGION: &str = "us-east";

/// The second seeded project (in Acme Labs, active).
pub const PROJECT_CRM_ID: &str = "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091";
/// Its name.
pub const PROJECT_CRM_NAME: &str = "crm-dashboard";
/// Its app key.
pub const PROJECT_CRM_APPKEY: &str = "x4c8v2bn";
/// Its region.
pub const PROJECT_CRM_REGION: &str = "eu-central";

/// The region of a project created without one.
pub const DEFAULT_REGION: &str = "us-east";

/// The timestamp seeded records carry.
const SEED_TIME: &str = "2025-03-01T10:00:00.000Z";

/// An organisation to seed, with its projects. Also the format of `--platform-orgs FILE`:
/// `[{"id","name","type"?,"projects":[{"id","name","appkey","region","status"?}]}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformOrg {
    /// Organisation id (any string; the platform uses UUIDs).
    pub id: String,
    /// Display name.
    pub name: String,
    /// `type` in the API (`team`, `personal`, ...); `null` when `None`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Its projects, in listing order.
    #[serde(default)]
    pub projects: Vec<PlatformProject>,
}

/// A project to seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformProject {
    /// Project id.
    pub id: String,
    /// Project name.
    pub name: String,
    /// The app key (first label of its host name).
    pub appkey: String,
    /// Region (`us-east`, `eu-central`, ...).
    pub region: String,
    /// Status as listed; only `active` means ready.
    #[serde(default = "active")]
    pub status: String,
}

fn active() -> String {
    "active".to_owned()
}

impl PlatformOrg {
    /// An organisation without projects.
    pub fn new(id: impl Into<String>, name: impl Into<String>, kind: Option<&str>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            kind: kind.map(str::to_owned),
            projects: Vec::new(),
        }
    }

    /// Adds a project to it.
    pub fn with_project(mut self, project: PlatformProject) -> Self {
        self.projects.push(project);
        self
    }
}

impl PlatformProject {
    /// An active project.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        appkey: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            appkey: appkey.into(),
            region: region.into(),
            status: active(),
        }
    }

    /// Sets its status (anything but `active` reads as "not ready").
    pub fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }
}

/// Acme Labs with its two active projects.
pub fn acme_org() -> PlatformOrg {
    PlatformOrg::new(ORG_ACME_ID, ORG_ACME_NAME, Some("team"))
        .with_project(PlatformProject::new(
            PROJECT_TODO_ID,
            PROJECT_TODO_NAME,
            PROJECT_TODO_APPKEY,
            PROJECT_TODO_REGION,
        ))
        .with_project(PlatformProject::new(
            PROJECT_CRM_ID,
            PROJECT_CRM_NAME,
            PROJECT_CRM_APPKEY,
            PROJECT_CRM_REGION,
        ))
}

/// The default seed: Acme Labs (two projects), then Personal (none).
pub fn default_orgs() -> Vec<PlatformOrg> {
    vec![
        acme_org(),
        PlatformOrg::new(ORG_PERSONAL_ID, ORG_PERSONAL_NAME, Some("personal")),
    ]
}

/// The user object of profile and login answers.
pub(crate) fn test_user() -> serde_json::Value {
    serde_json::json!({
        "id": TEST_USER_ID,
        "name": TEST_USER_NAME,
        "email": TEST_USER_EMAIL,
        "avatar_url": null,
        "email_verified": true,
    })
}

/// The creation time of seeded records.
pub(crate) fn seed_time() -> String {
    SEED_TIME.to_owned()
}
