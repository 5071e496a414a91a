//! The host's own commands, one module each, with their arguments beside their code.

pub mod current;
pub mod link;
pub mod plugin;
