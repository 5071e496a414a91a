//! Logging in to the InsForge platform and staying logged in.

pub mod session;

pub use session::Session;
