//! `insforge current`: who is logged in and which project this directory is linked to, and the
//! project `INSFORGE_PROJECT_ID` selects instead when it is set. Reads files only (no network)
//! and never shows a token or the project's API key.

use clap::{ArgMatches, Command};
use serde_json::{json, Value};

use crate::app::Env;
use crate::commands::projects::text;
use crate::error::{CliError, Result};
use crate::output::table::sanitize;

pub fn command() -> Command {
    Command::new("current").about("Show the login and the project this directory is linked to")
}

pub fn run(env: &Env, _m: &ArgMatches) -> Result<()> {
    let files = env.user_files()?;
    let credentials = files.load_credentials()?;
    let settings = files.load_settings()?;
    let env_token = crate::auth::session::env_token().is_some();
    let authenticated = env_token || credentials.as_ref().is_some_and(|c| c.usable());
    let user = credentials.and_then(|c| c.user);
    let default_org = settings.default_org_id.filter(|s| !s.is_empty());
    let project_id_env = crate::app::project_id_from_env();
    let project = match env.linked_project()? {
        Some(p) => {
            let mut value =
                serde_json::to_value(&p.config).map_err(|e| CliError::general(e.to_string()))?;
            if let Value::Object(map) = &mut value {
                map.remove("api_key");
            }
            Some((value, p))
        }
        None => None,
    };

    if env.output.json_mode() {
        let mut doc = json!({
            "authenticated": authenticated,
            "user": user,
            "default_org_id": default_org,
            "project": project.as_ref().map(|(v, _)| v),
        });
        if let (Some(id), Value::Object(map)) = (&project_id_env, &mut doc) {
            map.insert("project_id_env".into(), json!(id));
        }
        return env.output.json_value(&doc);
    }

    let mut out = String::from("\n  InsForge CLI Context\n\n");
    let line =
        |label: &str, value: &str| format!("  {:<15}{}\n", format!("{label}:"), sanitize(value));
    if authenticated {
        out.push_str(&line("User", &who(user.as_ref(), env_token)));
        out.push_str(&line(
            "Default Org",
            default_org.as_deref().unwrap_or("(none)"),
        ));
    } else {
        out.push_str(&line("User", "(not logged in)"));
    }
    out.push('\n');
    match &project {
        Some((_, p)) => {
            let c = &p.config;
            out.push_str(&line(
                "Project",
                &format!("{} ({})", c.project_name, c.project_id),
            ));
            if c.is_self_hosted() {
                out.push_str(&line("Kind", "self-hosted"));
            } else {
                out.push_str(&line("App Key", &c.appkey));
                out.push_str(&line("Region", &c.region));
            }
            out.push_str(&line("OSS Host", &c.oss_host));
            out.push_str(&line("Linked in", &p.root.display().to_string()));
        }
        None => out.push_str(&line("Project", "(not linked — run `insforge link`)")),
    }
    if let Some(id) = &project_id_env {
        let how = if project.is_some() {
            "INSFORGE_PROJECT_ID, used instead of the link"
        } else {
            "INSFORGE_PROJECT_ID, used by project commands"
        };
        out.push_str(&format!("  Project ID env: {} ({how})\n", sanitize(id)));
    }
    out.push('\n');
    env.output.stdout_bytes(out.as_bytes())
}

/// The `User:` line of a login: the stored user's name and email, else `(unknown user)` (a
/// stored login whose user is `null` or missing). With `INSFORGE_ACCESS_TOKEN` set, that token is
/// what platform requests use, and it may be someone else's: the line says so first.
fn who(user: Option<&Value>, env_token: bool) -> String {
    let (name, email) = user.map_or_else(Default::default, |u| (text(u, "name"), text(u, "email")));
    let stored = match (name.is_empty(), email.is_empty()) {
        (false, false) => Some(format!("{name} <{email}>")),
        (true, false) => Some(email),
        (false, true) => Some(name),
        (true, true) => None,
    };
    match (env_token, stored) {
        (true, Some(stored)) => format!("(from INSFORGE_ACCESS_TOKEN; stored login: {stored})"),
        (true, None) => "(from INSFORGE_ACCESS_TOKEN)".to_owned(),
        (false, Some(stored)) => stored,
        (false, None) => "(unknown user)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_line_names_the_environment_only_when_its_token_is_set() {
        for user in [None, Some(json!(null)), Some(json!({})), Some(json!("x"))] {
            assert_eq!(who(user.as_ref(), false), "(unknown user)", "{user:?}");
            assert_eq!(
                who(user.as_ref(), true),
                "(from INSFORGE_ACCESS_TOKEN)",
                "{user:?}"
            );
        }
        let ada = json!({"name": "Ada", "email": "ada@example.com"});
        assert_eq!(who(Some(&ada), false), "Ada <ada@example.com>");
        assert_eq!(
            who(Some(&ada), true),
            "(from INSFORGE_ACCESS_TOKEN; stored login: Ada <ada@example.com>)"
        );
        assert_eq!(who(Some(&json!({"email": "e@x"})), false), "e@x");
        assert_eq!(who(Some(&json!({"name": "n"})), false), "n");
    }
}
