//! `insforge logout`: forgets the login. No network.

use clap::{ArgMatches, Command};
use serde_json::json;

use crate::app::Env;
use crate::error::Result;

pub fn command() -> Command {
    Command::new("logout").about("Log out: remove the stored login from this machine")
}

pub fn run(env: &Env, _m: &ArgMatches) -> Result<()> {
    let files = env.user_files()?;
    // Wait for a renewal in another insforge process, or it would write the login back.
    let _lock = if files.credentials_path().exists() {
        Some(files.lock_credentials_blocking()?)
    } else {
        None
    };
    let was_logged_in = files.remove(&files.credentials_path())?;
    files.remove(&files.pending_device_path())?;
    // The default organisation belongs to the account that logged out. A broken config.json
    // does not undo the logout; it is only reported.
    if files.config_path().is_file() {
        match files.load_settings() {
            Ok(mut settings) => {
                if settings
                    .default_org_id
                    .take()
                    .is_some_and(|id| !id.is_empty())
                {
                    files.save_settings(&settings)?;
                }
            }
            Err(e) => env
                .output
                .warning(&format!("could not remove default_org_id: {}", e.message)),
        }
    }
    if crate::auth::session::env_token().is_some() {
        env.output
            .warning("INSFORGE_ACCESS_TOKEN is still set, so commands stay logged in with it");
    }
    let message = if was_logged_in {
        "Logged out successfully"
    } else {
        "Not logged in; nothing to remove"
    };
    if env.output.json_mode() {
        env.output
            .json_value(&json!({"success": true, "message": message}))
    } else {
        env.output.success(&format!("{message}."))
    }
}
