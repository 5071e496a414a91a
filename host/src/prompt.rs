//! Questions to the user. Asked only on a terminal: without one, a command that would ask
//! fails at once and names the flag that answers the question instead.
#![allow(clippy::print_stderr)]

use std::io::IsTerminal;

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, Password, Select};

use crate::error::{CliError, Kind, Result};

/// Whether prompts can be shown: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The error for a question that cannot be asked: exit 1, naming the flag to use.
pub fn needs_flag(flag: &str, what: &str) -> CliError {
    CliError::usage(format!("{what}, and there is no terminal to ask on"))
        .with_hint(format!("pass {flag}"))
}

fn cancelled(err: dialoguer::Error) -> CliError {
    match err {
        dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            CliError::new(Kind::Interrupted, "cancelled")
        }
        dialoguer::Error::IO(e) => CliError::general(format!("cannot read the answer: {e}")),
    }
}

/// Lets the user pick one of `items`; `None` when they pressed Esc or q.
pub fn select(prompt: &str, items: &[String]) -> Result<Option<usize>> {
    Select::with_theme(&ColorfulTheme::default())
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact_opt()
        .map_err(cancelled)
}

/// Asks for a line of text, checked by `valid`.
pub fn text(
    prompt: &str,
    default: Option<String>,
    valid: impl Fn(&String) -> std::result::Result<(), String>,
) -> Result<String> {
    let theme = ColorfulTheme::default();
    let mut input = Input::<String>::with_theme(&theme).with_prompt(prompt);
    if let Some(d) = default {
        input = input.default(d);
    }
    input
        .validate_with(|s: &String| valid(s))
        .interact_text()
        .map_err(cancelled)
}

/// Asks for a secret without echoing it.
pub fn password(prompt: &str) -> Result<String> {
    Password::with_theme(&ColorfulTheme::default())
        .with_prompt(prompt)
        .interact()
        .map_err(cancelled)
}
