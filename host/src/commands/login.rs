//! `insforge login`: browser (default), device code, email and password, or a user API key.
//!
//! Only this command ever opens a browser or starts a callback server.

use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use clap::{value_parser, Arg, ArgAction, ArgGroup, ArgMatches, Command};
use serde_json::{json, Value};

use crate::app::Env;
use crate::auth::login::{self, BrowserOptions};
use crate::config::user::{user_identity, Credentials};
use crate::error::{CliError, Result};
use crate::prompt;

pub fn command() -> Command {
    Command::new("login")
        .about("Log in to the InsForge platform")
        .long_about(
            "Log in to the InsForge platform.\n\n\
             By default a browser page asks you to approve the login (its URL is also printed \
             on stderr). On a machine without a browser use --device; in CI use \
             --user-api-key, or --email with INSFORGE_EMAIL and INSFORGE_PASSWORD set. The \
             login is stored in ~/.insforge/credentials.json, readable only by you.",
        )
        .arg(
            Arg::new("email")
                .long("email")
                .action(ArgAction::SetTrue)
                .help("Log in with email and password (INSFORGE_EMAIL and INSFORGE_PASSWORD, or prompts)"),
        )
        .arg(
            Arg::new("device")
                .long("device")
                .action(ArgAction::SetTrue)
                .help("Log in with a code approved on another device"),
        )
        .arg(
            Arg::new("user-api-key")
                .long("user-api-key")
                .value_name("KEY")
                .help("Log in with a user API key (uak_...); `-` reads it from stdin"),
        )
        .group(
            ArgGroup::new("mode")
                .args(["email", "device", "user-api-key"])
                .multiple(false),
        )
        .arg(
            Arg::new("no-browser")
                .long("no-browser")
                .action(ArgAction::SetTrue)
                .help("Print the login URL instead of opening a browser"),
        )
        .arg(
            Arg::new("timeout")
                .long("timeout")
                .value_name("SECONDS")
                .value_parser(value_parser!(u64).range(1..=3600))
                .default_value("300")
                .help("How long the login waits for you (a device login: at most as long as its code lives)"),
        )
        .arg(
            Arg::new("client-id")
                .long("client-id")
                .value_name("ID")
                .help("The OAuth client to log in with (default: the InsForge CLI's)"),
        )
        .after_help(
            "Examples:\n  insforge login\n  insforge login --no-browser\n  insforge login --device\n  \
             INSFORGE_EMAIL=you@example.com INSFORGE_PASSWORD=... insforge login --email\n  \
             printenv INSFORGE_USER_KEY | insforge login --user-api-key -",
        )
}

pub fn run(env: &Env, m: &ArgMatches) -> Result<()> {
    let options = BrowserOptions {
        no_browser: m.get_flag("no-browser"),
        timeout: Duration::from_secs(*m.get_one::<u64>("timeout").unwrap_or(&300)),
        timeout_given: m.value_source("timeout") == Some(clap::parser::ValueSource::CommandLine),
    };
    // Built before any prompt, so Ctrl-C during one gives the terminal back.
    env.net_with(m.get_one::<String>("client-id").map(String::as_str))?;
    // Check what can be checked before any request.
    let api_key = match m.get_one::<String>("user-api-key") {
        Some(key) => Some(api_key_argument(key)?),
        None => None,
    };
    // A login that cannot be stored is not worth asking the platform for.
    env.user_files()?.check_writable()?;
    let email_login = if m.get_flag("email") {
        Some(email_and_password()?)
    } else {
        None
    };

    let mut credentials = if let Some(key) = api_key {
        login::user_api_key(env, &key)?
    } else if let Some((email, password)) = email_login {
        login::password(env, &email, &password)?
    } else if m.get_flag("device") {
        login::device(env, options)?
    } else {
        login::browser(env, options)?
    };

    let session = env.session()?;
    let net = env.net()?;
    net.runtime
        .block_on(session.replace(&net.client, &credentials))?;
    let needs_profile = credentials
        .user
        .as_ref()
        .is_none_or(|u| user_identity(u).is_none());
    if needs_profile {
        if let Some(bearer) = credentials.bearer().map(str::to_owned) {
            // Read without holding the lock; stored only where the file still has no user (a
            // renewal elsewhere may have rotated the tokens meanwhile, and that is fine).
            match login::profile_with(env, &bearer) {
                Ok(user) => {
                    credentials.user = Some(user.clone());
                    net.runtime.block_on(session.update(&net.client, |stored| {
                        if stored.identity().is_none() {
                            stored.user = Some(user);
                        }
                    }))?;
                }
                Err(e) => env.output.warning(&format!(
                    "logged in, but your profile could not be read: {}",
                    e.message
                )),
            }
        }
    }
    if session.uses_env_token() {
        env.output.warning(
            "INSFORGE_ACCESS_TOKEN is set and is used instead of this login until you unset it",
        );
    }
    report(env, &credentials)
}

fn report(env: &Env, credentials: &Credentials) -> Result<()> {
    let user = credentials.user.clone().unwrap_or(Value::Null);
    if env.output.json_mode() {
        return env
            .output
            .json_value(&json!({"success": true, "user": user}));
    }
    match user_identity(&user) {
        Some(who) => env.output.success(&format!("Logged in as {who}")),
        None => env.output.success("Logged in"),
    }
}

/// The key from `--user-api-key`, read from stdin for `-`.
fn api_key_argument(value: &str) -> Result<String> {
    let key = if value == "-" {
        if std::io::stdin().is_terminal() {
            // Typed or pasted on a terminal: hidden, like a password.
            prompt::password("User API key")?
        } else {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CliError::general(format!("cannot read the key from stdin: {e}")))?;
            line
        }
    } else {
        value.to_owned()
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(CliError::usage("no user API key was given")
            .with_hint("pass --user-api-key uak_..., or pipe the key into --user-api-key -"));
    }
    if !key.starts_with("uak_") {
        return Err(
            CliError::usage("Invalid API key — must start with \"uak_\".")
                .with_hint("user API keys are created in the dashboard under your account"),
        );
    }
    Ok(key)
}

/// Email and password: from INSFORGE_EMAIL and INSFORGE_PASSWORD when both are set, else asked
/// on the terminal.
fn email_and_password() -> Result<(String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(email), Some(password)) = (var("INSFORGE_EMAIL"), var("INSFORGE_PASSWORD")) {
        return Ok((email, password));
    }
    if !prompt::interactive() {
        return Err(CliError::usage(
            "Email and password are required, and there is no terminal to ask on",
        )
        .with_hint("set INSFORGE_EMAIL and INSFORGE_PASSWORD"));
    }
    let email = prompt::text("Email", var("INSFORGE_EMAIL"), |s| {
        if s.contains('@') {
            Ok(())
        } else {
            Err("Please enter a valid email".to_owned())
        }
    })?;
    let password = prompt::password("Password")?;
    if password.is_empty() {
        return Err(CliError::usage("Email and password are required."));
    }
    Ok((email, password))
}
