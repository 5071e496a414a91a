//! The host's own commands, one module each, with their arguments beside their code.

pub mod completion;
pub mod create;
pub mod current;
pub mod link;
pub mod list;
pub mod login;
pub mod logout;
pub mod metadata;
pub mod plugin;
pub mod projects;
pub mod whoami;

use clap::{ArgMatches, Command};

use crate::app::Env;
use crate::error::Result;

/// The core commands, in help order.
pub fn all() -> Vec<Command> {
    vec![
        login::command(),
        logout::command(),
        whoami::command(),
        create::command(),
        link::command(),
        current::command(),
        list::command(),
        metadata::command(),
        plugin::command(),
        completion::command(),
    ]
}

/// Runs core command `name`; `None` when it is a plugin's.
pub fn dispatch(env: &Env, name: &str, m: &ArgMatches) -> Option<Result<()>> {
    Some(match name {
        "login" => login::run(env, m),
        "logout" => logout::run(env, m),
        "whoami" => whoami::run(env, m),
        "create" => create::run(env, m),
        "link" => link::run(env, m),
        "current" => current::run(env, m),
        "list" => list::run(env, m),
        "metadata" => metadata::run(env, m),
        "plugin" => plugin::run(env, m),
        "completion" => completion::run(env, m),
        _ => return None,
    })
}
