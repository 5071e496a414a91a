//! The fake InsForge cloud platform: OAuth, login, organisations and projects.

use axum::Router;

use super::state::SandboxState;

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new()
}
