//! The fake InsForge cloud platform: OAuth (authorization code with PKCE, refresh, device
//! flow), password login, the profile, organisations and projects.
//!
//! It shares the sandbox's port with the project backend. Every login signs in as one fixed
//! test user ([`TEST_USER_EMAIL`]); tokens are opaque random strings kept in memory, and the
//! user API key [`USER_API_KEY`] is accepted too. The organisations and projects come from
//! [`PlatformConfig::orgs`] (by default [`default_orgs`]); created projects stay `creating`
//! for [`PlatformConfig::project_ready_delay`]. A project's access API key is the sandbox's
//! own project key, so a cloud link made against the sandbox works on its backend routes.
//! Tests script it through [`SandboxHandle`](super::SandboxHandle) methods or the
//! `/_sandbox/platform/...` control routes (`docs/sandbox.md`).

mod api;
mod oauth;
mod random;
mod seed;
pub(crate) mod store;
#[cfg(test)]
mod tests;

use std::time::Duration;

use axum::Router;

pub use seed::*;

use super::state::SandboxState;

/// `expires_in` of every access token, in seconds (nothing enforces it: tokens stay valid
/// until [`SandboxHandle::expire_access_tokens`](super::SandboxHandle::expire_access_tokens)).
pub const ACCESS_TOKEN_LIFETIME_SECS: u64 = 3600;

/// How long a created project stays `creating` by default.
pub const DEFAULT_PROJECT_READY_DELAY: Duration = Duration::from_secs(1);

/// The device flow's default polling interval (short, so tests are fast).
pub const DEFAULT_DEVICE_INTERVAL: Duration = Duration::from_secs(1);

/// How long a device code stays valid by default.
pub const DEFAULT_DEVICE_EXPIRY: Duration = Duration::from_secs(600);

/// How the fake platform is set up; part of [`SandboxConfig`](super::SandboxConfig), whose
/// `with_platform_orgs`, `with_single_org`, `with_project_ready_delay`,
/// `with_device_interval` and `with_device_expiry` set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformConfig {
    /// The organisations (with their projects) the platform starts with.
    pub orgs: Vec<PlatformOrg>,
    /// How long after creation a project turns from `creating` to `active`.
    pub project_ready_delay: Duration,
    /// The `interval` the device authorization answers with (whole seconds are sent as an
    /// integer, anything else as a fraction).
    pub device_interval: Duration,
    /// How long a device code stays valid (`expires_in`, rounded up to whole seconds).
    pub device_expiry: Duration,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            orgs: default_orgs(),
            project_ready_delay: DEFAULT_PROJECT_READY_DELAY,
            device_interval: DEFAULT_DEVICE_INTERVAL,
            device_expiry: DEFAULT_DEVICE_EXPIRY,
        }
    }
}

/// The platform's routes (OAuth, login, profile, organisations, projects).
pub(crate) fn routes() -> Router<SandboxState> {
    Router::new().merge(oauth::routes()).merge(api::routes())
}
