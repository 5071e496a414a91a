//! Logging in to the InsForge platform and staying logged in.

pub mod callback;
pub mod login;
pub mod pkce;
pub mod session;

pub use session::Session;
