//! `insforge whoami`: the logged-in user, as the platform describes them.

use clap::{ArgMatches, Command};
use serde_json::Value;

use crate::app::Env;
use crate::commands::projects::{profile, text};
use crate::error::Result;

pub fn command() -> Command {
    Command::new("whoami").about("Show the user you are logged in as")
}

pub fn run(env: &Env, _m: &ArgMatches) -> Result<()> {
    let session = env.session()?;
    session.require_login()?;
    let user = profile(env)?;
    remember(env, &user);
    if env.output.json_mode() {
        return env.output.json_value(&user);
    }
    let email = match user.get("email") {
        Some(Value::String(e)) => e.clone(),
        _ => text(&user, "name"),
    };
    let mut fields = vec![("Logged in as".to_owned(), email)];
    for (label, key) in [("Name", "name"), ("ID", "id")] {
        let value = text(&user, key);
        if !value.is_empty() {
            fields.push((label.to_owned(), value));
        }
    }
    env.output.record(&fields)
}

/// Fills in the stored user when the login could not read the profile and stored the
/// placeholder, unless this profile came from `INSFORGE_ACCESS_TOKEN` (maybe someone else's).
fn remember(env: &Env, user: &Value) {
    let Ok(session) = env.session() else { return };
    if session.uses_env_token() {
        return;
    }
    let Ok(net) = env.net() else { return };
    let filled = net.runtime.block_on(session.update(&net.client, |creds| {
        if creds.identity().is_none() {
            creds.user = Some(user.clone());
        }
    }));
    if let Err(e) = filled {
        tracing::debug!("could not update the stored user: {}", e.message);
    }
}
