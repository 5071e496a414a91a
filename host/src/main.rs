//! `insforge`: the command-line tool for InsForge, a host that runs feature plugins.

mod api;
mod app;
mod auth;
mod cli;
mod commands;
mod config;
mod error;
mod output;
mod plugins;
mod prompt;

fn main() -> std::process::ExitCode {
    app::main(std::env::args_os().collect())
}
