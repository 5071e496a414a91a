//! End-to-end test support: the sandbox backend and the fixture kit.
pub mod kit;
pub mod sandbox;
