//! placeholder
pub mod sandbox;
