//! `GET /api/metadata`: the backend's description of the project.

use axum::Router;

use super::state::SandboxState;

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new()
}
