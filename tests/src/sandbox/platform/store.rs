//! The platform's in-memory state: issued tokens, pending authorization codes and device
//! codes, organisations and projects. All of it sits behind one mutex; no operation holds it
//! across an await.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::random;
use super::seed::{seed_time, PlatformOrg, DEFAULT_REGION, USER_API_KEY};
use super::PlatformConfig;

/// How long an authorization code stays usable.
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// An access token and a refresh token, freshly issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// Why an OAuth grant was refused: the RFC 6749 / 8628 `error` code and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantError {
    pub error: &'static str,
    pub description: Option<&'static str>,
}

impl GrantError {
    fn new(error: &'static str, description: &'static str) -> Self {
        Self {
            error,
            description: Some(description),
        }
    }

    fn bare(error: &'static str) -> Self {
        Self {
            error,
            description: None,
        }
    }
}

/// What the client bound an authorization code to at `/authorize`.
#[derive(Debug, Clone)]
pub(crate) struct CodeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
}

struct AuthCode {
    request: CodeRequest,
    expires_at: Instant,
}

/// Where a device login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Approved and its tokens handed out: the device code is spent.
    Used,
}

impl DeviceStatus {
    fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Used => "used",
        }
    }
}

struct Device {
    device_code: String,
    user_code: String,
    client_id: String,
    scope: String,
    status: DeviceStatus,
    expires_at: Instant,
}

/// A device authorization just started.
#[derive(Debug, Clone)]
pub(crate) struct NewDevice {
    pub device_code: String,
    pub user_code: String,
}

/// What a device poll found.
pub(crate) enum DevicePoll {
    Tokens { pair: TokenPair, scope: String },
    Refused(GrantError),
}

struct Org {
    id: String,
    name: String,
    kind: Option<String>,
    created_at: String,
}

struct Project {
    id: String,
    organization_id: String,
    name: String,
    appkey: String,
    region: String,
    status: String,
    /// When a project still `creating` turns `active`.
    ready_at: Option<Instant>,
    created_at: String,
}

impl Project {
    fn status(&self, now: Instant) -> &str {
        match self.ready_at {
            Some(ready_at) if now >= ready_at => "active",
            _ => &self.status,
        }
    }

    fn to_json(&self, now: Instant) -> Value {
        json!({
            "id": self.id,
            "organization_id": self.organization_id,
            "name": self.name,
            "appkey": self.appkey,
            "region": self.region,
            "status": self.status(now),
            "operation_status": null,
            "instance_type": "nano",
            "service_version": "1.9.3",
            "customized_domain": null,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        })
    }
}

#[derive(Default)]
struct Data {
    access_tokens: HashSet<String>,
    refresh_tokens: HashSet<String>,
    codes: HashMap<String, AuthCode>,
    devices: Vec<Device>,
    orgs: Vec<Org>,
    projects: Vec<Project>,
}

/// The fake platform's state, one per sandbox.
pub(crate) struct PlatformStore {
    config: PlatformConfig,
    data: Mutex<Data>,
}

impl PlatformStore {
    /// A platform seeded with `config.orgs`.
    pub fn new(config: &PlatformConfig) -> Self {
        let mut data = Data::default();
        for org in &config.orgs {
            data.add_seed_org(org);
        }
        Self {
            config: config.clone(),
            data: Mutex::new(data),
        }
    }

    /// The settings it runs with.
    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        // A panic elsewhere while holding the lock leaves consistent data: keep serving.
        self.data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    // --- tokens -------------------------------------------------------------------------

    /// Issues a new access token and refresh token for the test user.
    pub fn issue_tokens(&self) -> TokenPair {
        self.lock().issue_tokens()
    }

    /// Whether a bearer token is accepted: a live access token or the user API key.
    pub fn accepts_bearer(&self, token: &str) -> bool {
        token == USER_API_KEY || self.lock().access_tokens.contains(token)
    }

    /// Makes every access token issued so far invalid; refresh tokens stay valid.
    pub fn expire_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// The refresh grant: a live refresh token is exchanged for a new pair and revoked.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair, GrantError> {
        let mut data = self.lock();
        if !data.refresh_tokens.remove(refresh_token) {
            return Err(GrantError::new(
                "invalid_grant",
                "Refresh token is invalid or expired",
            ));
        }
        Ok(data.issue_tokens())
    }

    // --- authorization code + PKCE ------------------------------------------------------

    /// Stores a one-time code for an approved `/authorize` request and returns it.
    pub fn create_code(&self, request: CodeRequest) -> String {
        let code = random::token("ac_");
        let entry = AuthCode {
            request,
            expires_at: Instant::now() + CODE_LIFETIME,
        };
        self.lock().codes.insert(code.clone(), entry);
        code
    }

    /// The authorization-code grant. The code is spent by any attempt, successful or not.
    pub fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        client_id: &str,
        code_verifier: &str,
    ) -> Result<(TokenPair, String), GrantError> {
        let mut data = self.lock();
        let Some(entry) = data.codes.remove(code) else {
            return Err(GrantError::new(
                "invalid_grant",
                "Authorization code is invalid, expired or already used",
            ));
        };
        if Instant::now() >= entry.expires_at {
            return Err(GrantError::new(
                "invalid_grant",
                "Authorization code is invalid, expired or already used",
            ));
        }
        if entry.request.redirect_uri != redirect_uri {
            return Err(GrantError::new(
                "invalid_grant",
                "redirect_uri does not match the authorization request",
            ));
        }
        if entry.request.client_id != client_id {
            return Err(GrantError::new(
                "invalid_grant",
                "client_id does not match the authorization request",
            ));
        }
        if pkce_challenge(code_verifier) != entry.request.code_challenge {
            return Err(GrantError::new(
                "invalid_grant",
                "code_verifier does not match the code_challenge",
            ));
        }
        Ok((data.issue_tokens(), entry.request.scope))
    }

    // --- device flow --------------------------------------------------------------------

    /// Starts a device login, pending until approved or denied.
    pub fn create_device(&self, client_id: &str, scope: &str) -> NewDevice {
        let mut data = self.lock();
        let mut user_code = random::user_code();
        while data
            .devices
            .iter()
            .any(|device| device.user_code == user_code)
        {
            user_code = random::user_code();
        }
        let device = Device {
            device_code: random::token("dvc_"),
            user_code: user_code.clone(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            status: DeviceStatus::Pending,
            expires_at: Instant::now() + self.config.device_expiry,
        };
        let new = NewDevice {
            device_code: device.device_code.clone(),
            user_code,
        };
        data.devices.push(device);
        new
    }

    /// Approves (or denies) the pending device login with this user code. `false` when no
    /// pending, unexpired login has it.
    pub fn decide_device(&self, user_code: &str, approve: bool) -> bool {
        let wanted = random::normalise_user_code(user_code);
        let now = Instant::now();
        let mut data = self.lock();
        let Some(device) = data.devices.iter_mut().find(|device| {
            random::normalise_user_code(&device.user_code) == wanted
                && device.status == DeviceStatus::Pending
                && now < device.expires_at
        }) else {
            return false;
        };
        device.status = if approve {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        true
    }

    /// The device-code grant.
    pub fn poll_device(&self, device_code: &str, client_id: &str) -> DevicePoll {
        let now = Instant::now();
        let mut data = self.lock();
        let Some(index) = data
            .devices
            .iter()
            .position(|device| device.device_code == device_code)
        else {
            return DevicePoll::Refused(GrantError::new("invalid_grant", "Device code is invalid"));
        };
        let device = &mut data.devices[index];
        if device.client_id != client_id {
            return DevicePoll::Refused(GrantError::new(
                "invalid_grant",
                "client_id does not match the device authorization",
            ));
        }
        match device.status {
            DeviceStatus::Used => DevicePoll::Refused(GrantError::new(
                "invalid_grant",
                "Device code was already used",
            )),
            DeviceStatus::Denied => DevicePoll::Refused(GrantError::bare("access_denied")),
            _ if now >= device.expires_at => DevicePoll::Refused(GrantError::bare("expired_token")),
            DeviceStatus::Pending => DevicePoll::Refused(GrantError::bare("authorization_pending")),
            DeviceStatus::Approved => {
                device.status = DeviceStatus::Used;
                let scope = device.scope.clone();
                DevicePoll::Tokens {
                    pair: data.issue_tokens(),
                    scope,
                }
            }
        }
    }

    /// Every device login so far, oldest first: `{"user_code","status","expired"}`.
    pub fn devices(&self) -> Vec<Value> {
        let now = Instant::now();
        self.lock()
            .devices
            .iter()
            .map(|device| {
                json!({
                    "user_code": device.user_code,
                    "status": device.status.name(),
                    "expired": now >= device.expires_at,
                })
            })
            .collect()
    }

    /// The user codes of device logins waiting for a decision, oldest first.
    pub fn pending_user_codes(&self) -> Vec<String> {
        let now = Instant::now();
        self.lock()
            .devices
            .iter()
            .filter(|device| device.status == DeviceStatus::Pending && now < device.expires_at)
            .map(|device| device.user_code.clone())
            .collect()
    }

    // --- organisations and projects -----------------------------------------------------

    /// The organisations, in seed order.
    pub fn organizations(&self) -> Vec<Value> {
        self.lock()
            .orgs
            .iter()
            .map(|org| {
                json!({
                    "id": org.id,
                    "name": org.name,
                    "type": org.kind,
                    "created_at": org.created_at,
                    "updated_at": org.created_at,
                })
            })
            .collect()
    }

    /// An organisation's projects; `None` for an unknown organisation.
    pub fn org_projects(&self, org_id: &str) -> Option<Vec<Value>> {
        let now = Instant::now();
        let data = self.lock();
        data.orgs.iter().find(|org| org.id == org_id)?;
        Some(
            data.projects
                .iter()
                .filter(|project| project.organization_id == org_id)
                .map(|project| project.to_json(now))
                .collect(),
        )
    }

    /// Every project, with its current status.
    pub fn all_projects(&self) -> Vec<Value> {
        let now = Instant::now();
        let data = self.lock();
        data.projects
            .iter()
            .map(|project| project.to_json(now))
            .collect()
    }

    /// One project, with its current status.
    pub fn project(&self, id: &str) -> Option<Value> {
        let now = Instant::now();
        let data = self.lock();
        data.projects
            .iter()
            .find(|project| project.id == id)
            .map(|project| project.to_json(now))
    }

    /// Creates a project, `creating` until the configured delay has passed; `None` for an
    /// unknown organisation.
    pub fn create_project(&self, org_id: &str, name: &str, region: Option<&str>) -> Option<Value> {
        let now = Instant::now();
        let mut data = self.lock();
        data.orgs.iter().find(|org| org.id == org_id)?;
        let project = Project {
            id: random::uuid_v4(),
            organization_id: org_id.to_owned(),
            name: name.to_owned(),
            appkey: random::appkey(),
            region: region.unwrap_or(DEFAULT_REGION).to_owned(),
            status: "creating".to_owned(),
            ready_at: Some(now + self.config.project_ready_delay),
            created_at: random::now_iso(),
        };
        // The creation answer always says `creating`, even with no delay.
        let mut body = project.to_json(now);
        body["status"] = json!("creating");
        data.projects.push(project);
        Some(body)
    }
}

impl Data {
    fn issue_tokens(&mut self) -> TokenPair {
        let pair = TokenPair {
            access: random::token("at_"),
            refresh: random::token("rt_"),
        };
        self.access_tokens.insert(pair.access.clone());
        self.refresh_tokens.insert(pair.refresh.clone());
        pair
    }

    fn add_seed_org(&mut self, org: &PlatformOrg) {
        self.orgs.push(Org {
            id: org.id.clone(),
            name: org.name.clone(),
            kind: org.kind.clone(),
            created_at: seed_time(),
        });
        for project in &org.projects {
            self.projects.push(Project {
                id: project.id.clone(),
                organization_id: org.id.clone(),
                name: project.name.clone(),
                appkey: project.appkey.clone(),
                region: project.region.clone(),
                status: project.status.clone(),
                ready_at: None,
                created_at: seed_time(),
            });
        }
    }
}

/// The S256 PKCE challenge of a verifier: base64url(SHA-256(verifier)) without padding.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
