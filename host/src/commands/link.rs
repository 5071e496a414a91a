//! `insforge link`: connects the current directory to a project.

use clap::{Arg, ArgMatches, Command};

use crate::app::Env;
use crate::config::project::{self, ProjectConfig};
use crate::error::{CliError, Result};

pub fn command() -> Command {
    Command::new("link")
        .about("Link the current directory to a project")
        .long_about(
            "Link the current directory to a project.\n\n\
             A self-hosted backend is linked by its URL and API key; commands run in this \
             directory or any directory below it then talk to that backend. The link is stored \
             in .insforge/project.json (readable only by you); keep .insforge/ out of version \
             control.",
        )
        .arg(
            Arg::new("api-base-url")
                .long("api-base-url")
                .value_name("URL")
                .requires("api-key")
                .help("Base URL of a self-hosted backend, e.g. http://localhost:7130"),
        )
        .arg(
            Arg::new("api-key")
                .long("api-key")
                .value_name("KEY")
                .requires("api-base-url")
                .help("The backend's API key (ik_...)"),
        )
        .arg(
            Arg::new("project-id")
                .long("project-id")
                .value_name("ID")
                .conflicts_with("api-base-url")
                .help("A cloud project to link"),
        )
        .arg(
            Arg::new("org-id")
                .long("org-id")
                .value_name("ID")
                .conflicts_with("api-base-url")
                .help("The organisation of the cloud project"),
        )
        .after_help(
            "Examples:\n  # Link a self-hosted backend\n  insforge link --api-base-url http://localhost:7130 --api-key ik_...",
        )
}

pub fn run(env: &Env, m: &ArgMatches) -> Result<()> {
    let (Some(url), Some(key)) = (
        m.get_one::<String>("api-base-url"),
        m.get_one::<String>("api-key"),
    ) else {
        return Err(CliError::usage(
            "linking a cloud project needs a platform login, which this version does not have yet",
        )
        .with_hint("link a self-hosted backend with --api-base-url URL --api-key KEY"));
    };
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            CliError::usage(format!("--api-base-url {url} is not an http(s) URL"))
                .with_hint("for example --api-base-url http://localhost:7130")
        })?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(CliError::usage(format!(
            "--api-base-url {url} must not have a query or fragment"
        )));
    }
    if key.trim().is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CliError::usage(
            "--api-key must be a non-empty key without spaces",
        ));
    }

    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(CliError::usage(
            "--api-base-url must not contain a user or password; the API key is the credential",
        ));
    }

    let config = ProjectConfig::self_hosted(url, key);
    let path = project::save(&env.cwd, &config)?;
    if env.output.json_mode() {
        env.output.json_value(&serde_json::json!({
            "linked": true,
            "path": path.display().to_string(),
            "oss_host": config.oss_host,
            "project_id": config.project_id,
        }))
    } else {
        env.output.success(&format!(
            "Linked to the self-hosted backend at {}",
            config.oss_host
        ))?;
        env.output
            .line(&format!("  link saved in {}", path.display()))
    }
}
