//! `insforge plugin ...`: inspecting the plugins this insforge can run.

use clap::{ArgMatches, Command};
use serde_json::json;

use crate::app::Env;
use crate::error::Result;
use crate::plugins::Registry;

pub fn command() -> Command {
    Command::new("plugin")
        .about("Inspect installed plugins")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("list")
                .about("List every plugin found, where it came from, and whether it can run"),
        )
}

pub fn run(env: &Env, m: &ArgMatches) -> Result<()> {
    match m.subcommand() {
        Some(("list", _)) => list(env),
        _ => unreachable!("clap requires a known subcommand"),
    }
}

fn list(env: &Env) -> Result<()> {
    let registry = Registry::discover(env.project.as_ref().map(|p| p.root.as_path()));
    let entries = registry.entries();
    if env.output.json_mode() {
        return env.output.json_value(&json!({ "plugins": entries }));
    }
    if entries.is_empty() {
        return env.output.line("No plugins found.");
    }
    let columns: Vec<String> = ["Name", "Version", "ABI", "Source", "Status", "Path"]
        .into_iter()
        .map(String::from)
        .collect();
    let rows: Vec<Vec<serde_json::Value>> = entries
        .iter()
        .map(|e| {
            vec![
                json!(e.name),
                json!(e.version.as_deref().unwrap_or("-")),
                json!(e.abi.as_deref().unwrap_or("-")),
                serde_json::to_value(e.source).unwrap_or_default(),
                json!(e.status),
                json!(e.path),
            ]
        })
        .collect();
    env.output.table(&columns, &rows)?;
    for e in entries
        .iter()
        .filter(|e| e.reason.is_some() && e.status != "shadowed")
    {
        env.output.warning(&format!(
            "{}: {}",
            e.name,
            e.reason.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}
