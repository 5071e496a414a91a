//! `insforge current`: which project this directory is linked to. Never shows the API key.

use clap::Command;
use serde_json::{json, Value};

use crate::app::Env;
use crate::error::{CliError, Result};

pub fn command() -> Command {
    Command::new("current").about("Show the project this directory is linked to")
}

pub fn run(env: &Env) -> Result<()> {
    let project = env.project.as_ref().ok_or_else(CliError::not_linked)?;
    let c = &project.config;
    let self_hosted = c.is_self_hosted();
    if env.output.json_mode() {
        let mut value = serde_json::to_value(c).map_err(|e| CliError::general(e.to_string()))?;
        if let Value::Object(map) = &mut value {
            map.remove("api_key");
            map.insert("self_hosted".into(), json!(self_hosted));
            map.insert(
                "project_root".into(),
                json!(project.root.display().to_string()),
            );
        }
        return env.output.json_value(&value);
    }
    let mut fields = vec![
        (
            "Project".to_owned(),
            format!("{} ({})", c.project_name, c.project_id),
        ),
        ("Organisation".to_owned(), c.org_id.clone()),
        ("Host".to_owned(), c.oss_host.clone()),
        (
            "Kind".to_owned(),
            if self_hosted { "self-hosted" } else { "cloud" }.to_owned(),
        ),
        ("Linked in".to_owned(), project.root.display().to_string()),
    ];
    if !self_hosted {
        fields.insert(3, ("Region".to_owned(), c.region.clone()));
    }
    env.output.record(&fields)
}
